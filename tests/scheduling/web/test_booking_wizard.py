"""The booking wizard: type → usagers → time and place → warnings → summary → confirm. Persona matrix, the
usager search (accents, case, phone), creation with the likely-duplicate hint and relatives, warnings, the
per-usager message switches, and bad input on every step (French errors, nothing booked, never a 500)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import signing
from django_tenants.utils import tenant_context

from messaging.models import Message
from scheduling.models import Appointment, AppointmentType, Citizen, Location
from scheduling.services import Actor, appointment_create
from tests.conftest import login_client, make_client
from tests.scheduling.api_world import MONDAY, TUESDAY, at, build_world
from tests.scheduling.factories import AbsenceFactory, CitizenFactory

START = "/agents/prendre-rdv/"


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def client_for(world, persona):
    if persona == "anonymous":
        return make_client(world.administration)
    if persona == "no_profile":
        return login_client(world.administration, world.no_profile)
    return login_client(world.administration, world.agents[persona].user)


def html(response) -> str:
    return response.content.decode()


def count(world, model, **filters) -> int:
    with tenant_context(world.administration):
        return model.objects.filter(**filters).count()


def start_wizard(client, world, kind=None) -> str:
    response = client.post(START, {"appointment_type": (kind or world.pmi_type).pk})
    assert response.status_code == 302, html(response)
    match = re.match(r"^/agents/prendre-rdv/([^/]+)/usagers/$", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def step(wid, name) -> str:
    return f"/agents/prendre-rdv/{wid}/{name}/"


def details(world, **overrides) -> dict:
    data = {"agents": [world.agents["basic"].pk], "date": MONDAY.isoformat(), "time": "10:00",
            "duration_minutes": "30", "location": world.location.pk, "context": "Premier rendez-vous"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def prepare(world, client, citizens=None, kind=None, **detail_overrides) -> str:
    """A wizard up to the summary (or the warnings) for the world's citizen."""
    wid = start_wizard(client, world, kind)
    for citizen in citizens if citizens is not None else [world.citizen]:
        assert client.post(step(wid, "usagers"), {"action": "add", "citizen": citizen.pk}).status_code == 302
    assert client.post(step(wid, "usagers"), {"action": "next"}).status_code == 302
    response = client.post(step(wid, "horaire"), details(world, **detail_overrides))
    assert response.status_code == 302, html(response)
    return wid


def confirm(client, wid, **switches):
    summary = client.get(step(wid, "recapitulatif"))
    assert summary.status_code == 200, summary.get("Location")
    data = {"version": summary.context["form"]["version"].value()}
    for name in summary.context["form"].fields:
        if name.startswith("notify_") and summary.context["form"][name].value():
            data[name] = "on"
    data.update(switches)
    return client.post(step(wid, "recapitulatif"), {k: v for k, v in data.items() if v is not None})


# --- Persona matrix --------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_the_login_page(world):
    for path in (START, step("abc", "usagers"), step("abc", "recapitulatif")):
        response = client_for(world, "anonymous").get(path)
        assert response.status_code == 302 and "/comptes/login/" in response["Location"]


def test_no_profile_and_other_administration_are_refused(world, agent_b_client):
    assert client_for(world, "no_profile").get(START).status_code == 403
    assert agent_b_client.get(START).status_code == 403


@pytest.mark.parametrize("persona, allowed", [
    ("basic", {"pmi"}), ("colleague", {"social"}), ("secretary", {"pmi", "social"}), ("admin", {"pmi", "social"}),
    ("outsider", {"other"}),
])
def test_each_agent_is_offered_the_types_he_may_book(world, persona, allowed):
    form = client_for(world, persona).get(START).context["form"]
    offered = set(form.fields["appointment_type"].queryset)
    kinds = {"pmi": world.pmi_type, "social": world.social_type, "other": world.other_type}
    assert offered == {kinds[name] for name in allowed}


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
def test_a_type_he_may_not_book_is_refused_in_french(world, persona):
    client = client_for(world, persona)
    response = client.post(START, {"appointment_type": world.pmi_type.pk})
    assert response.status_code == 200
    assert "pas valide" in html(response)
    assert not client.session.get("booking_wizards")


def test_a_wizard_belongs_to_its_session(world):
    wid = start_wizard(client_for(world, "basic"), world)
    response = client_for(world, "admin").get(step(wid, "usagers"))
    assert response.status_code == 302 and response["Location"] == START


# --- Happy path ------------------------------------------------------------------------------------------

def test_booking_from_a_slot_link_with_a_new_usager_and_no_messages_for_him(world):
    client = client_for(world, "basic")
    start = at(10).isoformat()
    response = client.get(START, {"type": world.pmi_type.pk, "agent": world.agents["basic"].pk,
                                  "location": world.location.pk, "start": start})
    assert response.status_code == 302
    wid = response["Location"].split("/")[3]
    created = client.post(step(wid, "usagers"), {
        "action": "create", "nouveau-first_name": "Éloïse", "nouveau-last_name": "Lefèvre",
        "nouveau-email": "eloise@example.fr", "nouveau-phone": "06 12 34 56 78",
    })
    assert created.status_code == 302
    assert client.post(step(wid, "usagers"), {"action": "next"})["Location"] == step(wid, "horaire")
    form = client.get(step(wid, "horaire")).context["form"]
    assert form.initial["agents"] == [world.agents["basic"].pk]
    assert form.initial["location"] == world.location.pk
    assert form.initial["date"] == MONDAY and form.initial["time"].hour == 10
    assert client.post(step(wid, "horaire"), details(world))["Location"] == step(wid, "recapitulatif")
    summary = client.get(step(wid, "recapitulatif"))
    page = html(summary)
    assert "E-mail à eloise@example.fr" in page and "SMS au +33612345678" in page
    with tenant_context(world.administration):
        citizen = Citizen.objects.get(email="eloise@example.fr")
        assert citizen.phone == "+33612345678"
        assert list(citizen.organisations.all()) == [world.org]
    response = confirm(client, wid, **{f"notify_{citizen.pk}": None})
    assert response.status_code == 302
    with tenant_context(world.administration):
        appointment = Appointment.objects.get(participations__citizen=citizen)
        assert response["Location"] == f"/agents/rdv/{appointment.pk}/"
        assert appointment.starts_at == at(10) and appointment.location == world.location
        assert appointment.context == "Premier rendez-vous"
        assert list(appointment.agents.all()) == [world.agents["basic"]]
        participation = appointment.participations.get()
        assert not participation.send_lifecycle_notifications and not participation.send_reminder_notification
        assert not Message.objects.filter(appointment=appointment, recipient_kind="citizen").exclude(
            status="skipped").exists()
    assert not client.session["booking_wizards"].get(wid)


def test_messages_go_to_a_notified_usager(world):
    client = client_for(world, "basic")
    wid = prepare(world, client)
    assert confirm(client, wid).status_code == 302
    with tenant_context(world.administration):
        appointment = Appointment.objects.get(starts_at=at(10), participations__citizen=world.citizen)
        assert appointment.participations.get().send_lifecycle_notifications
        assert Message.objects.filter(appointment=appointment, recipient_kind="citizen", kind="booked",
                                      channel="email", status="pending").exists()


def test_a_single_use_location_is_created_with_the_booking(world):
    client = client_for(world, "basic")
    wid = prepare(world, client, location="", single_use_name="Domicile", single_use_address="3 rue Haute, Valence")
    assert confirm(client, wid).status_code == 302
    with tenant_context(world.administration):
        appointment = Appointment.objects.get(starts_at=at(10), participations__citizen=world.citizen)
        assert appointment.location.name == "Domicile"
        assert appointment.location.availability == Location.Availability.SINGLE_USE


def test_several_usagers_and_agents(world):
    client = client_for(world, "admin")
    with tenant_context(world.administration):
        other = CitizenFactory()
        other.organisations.add(world.org)
    wid = prepare(world, client, citizens=[world.citizen, other],
                  agents=[world.agents["basic"].pk, world.agents["admin"].pk])
    assert confirm(client, wid).status_code == 302
    with tenant_context(world.administration):
        appointment = Appointment.objects.get(starts_at=at(10))
        assert set(appointment.agents.all()) == {world.agents["basic"], world.agents["admin"]}
        assert {p.citizen for p in appointment.participations.all()} == {world.citizen, other}


# --- Usagers: search, creation, relatives ------------------------------------------------------------

@pytest.mark.parametrize("text", ["eloise", "ELOÏSE", "lefevre", "Éloïse LEFÈVRE", "eloise@exemple", "06 98 76 54 32",
                                  "+33698765432"])
def test_search_ignores_accents_and_case_and_reads_phones(world, text):
    with tenant_context(world.administration):
        target = CitizenFactory(first_name="Éloïse", last_name="Lefèvre", email="eloise@exemple.fr",
                                phone="+33698765432")
        target.organisations.add(world.org)
        hidden = CitizenFactory(first_name="Eloise", last_name="Lefevre", phone="+33698765432")
        hidden.organisations.add(world.other_org)
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    results = client.get(step(wid, "usagers"), {"q": text}).context["results"]
    assert results == [target]


def test_likely_duplicate_is_shown_before_creating(world):
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    data = {"action": "create", "nouveau-first_name": "Jean", "nouveau-last_name": "Neuf",
            "nouveau-email": world.citizen.email}
    response = client.post(step(wid, "usagers"), data)
    assert response.status_code == 400
    assert "Des fiches semblables existent" in html(response)
    assert response.context["duplicates"] == [world.citizen]
    assert count(world, Citizen, first_name="Jean", last_name="Neuf") == 0
    assert client.post(step(wid, "usagers"), {**data, "nouveau-confirm_duplicate": "on"}).status_code == 302
    assert count(world, Citizen, first_name="Jean", last_name="Neuf") == 1


def test_a_relative_is_created_and_offered(world):
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    client.post(step(wid, "usagers"), {"action": "add", "citizen": world.citizen.pk})
    form = client.get(step(wid, "usagers"), {"proche_de": world.citizen.pk}).context["create"]
    assert form.initial["responsible"] == str(world.citizen.pk)
    response = client.post(step(wid, "usagers"), {"action": "create", "nouveau-first_name": "Lou",
                                                  "nouveau-last_name": "Enfant",
                                                  "nouveau-responsible": world.citizen.pk})
    assert response.status_code == 302
    with tenant_context(world.administration):
        child = Citizen.objects.get(first_name="Lou", last_name="Enfant")
        assert child.responsible == world.citizen
    client.post(step(wid, "usagers"), {"action": "remove", "citizen": child.pk})
    assert client.get(step(wid, "usagers")).context["relatives"] == [child]


@pytest.mark.parametrize("data, message", [
    ({"nouveau-first_name": "", "nouveau-last_name": "X"}, "Ce champ est obligatoire."),
    ({"nouveau-first_name": "A", "nouveau-last_name": "B", "nouveau-phone": "123"}, "numéro de téléphone"),
    ({"nouveau-first_name": "A", "nouveau-last_name": "B", "nouveau-email": "pas-une-adresse"}, "adresse e-mail"),
    ({"nouveau-first_name": "A", "nouveau-last_name": "B", "nouveau-birth_date": "2020-02-30"}, "date valide"),
    ({"nouveau-first_name": "A", "nouveau-last_name": "B", "nouveau-birth_date": "2999-01-01"}, "pas plausible"),
    ({"nouveau-first_name": "A", "nouveau-last_name": "B", "nouveau-responsible": "999999"}, "pas valide"),
])
def test_bad_usager_creation_is_refused_in_french(world, data, message):
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    before = count(world, Citizen)
    response = client.post(step(wid, "usagers"), {"action": "create", **data})
    assert response.status_code == 200
    assert message in html(response).replace("&#x27;", "'")
    assert count(world, Citizen) == before


@pytest.mark.parametrize("value", ["999999", "abc", ""])
def test_unknown_or_foreign_usager_ids_are_refused(world, value):
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    response = client.post(step(wid, "usagers"), {"action": "add", "citizen": value})
    assert response.status_code == 400
    assert "n'existe pas ou ne vous est pas accessible" in html(response).replace("&#x27;", "'")


def test_usager_of_another_organisation_or_administration_is_refused(world, administration_b):
    with tenant_context(administration_b):
        foreign = CitizenFactory()
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    for pk in (world.other_citizen.pk, foreign.pk):
        if pk == world.citizen.pk:
            continue
        response = client.post(step(wid, "usagers"), {"action": "add", "citizen": pk})
        assert response.status_code == 400
    assert client.session["booking_wizards"][wid]["citizens"] == []


def test_an_individual_booking_needs_a_usager(world):
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    response = client.post(step(wid, "usagers"), {"action": "next"})
    assert response.status_code == 400 and "Choisissez au moins un usager." in html(response)
    assert client.get(step(wid, "recapitulatif")).status_code == 302


# --- Time and place: bad input -----------------------------------------------------------------------

@pytest.mark.parametrize("overrides, field", [
    ({"date": "2026-02-30"}, "date"),
    ({"date": "demain"}, "date"),
    ({"date": "2150-01-01"}, "date"),
    ({"time": "25:00"}, "time"),
    ({"duration_minutes": "0"}, "duration_minutes"),
    ({"duration_minutes": "abc"}, "duration_minutes"),
    ({"agents": []}, "agents"),
    ({"agents": ["999999"]}, "agents"),
    ({"agents": ["x"]}, "agents"),
    ({"location": "999999"}, "location"),
    ({"location": ""}, "location"),
    ({"single_use_name": "Domicile"}, "single_use_name"),
])
def test_bad_details_are_refused_in_french(world, overrides, field):
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    client.post(step(wid, "usagers"), {"action": "add", "citizen": world.citizen.pk})
    response = client.post(step(wid, "horaire"), details(world, **overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "erreurs" in html(response)
    assert client.session["booking_wizards"][wid]["details"] is None


def test_agents_and_locations_of_another_organisation_are_refused(world):
    client = client_for(world, "admin")
    wid = start_wizard(client, world)
    client.post(step(wid, "usagers"), {"action": "add", "citizen": world.citizen.pk})
    response = client.post(step(wid, "horaire"), details(world, agents=[world.agents["outsider"].pk],
                                                         location=world.other_location.pk))
    assert set(response.context["form"].errors) == {"agents", "location"}


def test_invalid_prefill_is_ignored_with_a_message(world):
    client = client_for(world, "basic")
    response = client.get(START, {"type": world.pmi_type.pk, "agent": world.agents["outsider"].pk,
                                  "location": world.other_location.pk, "start": "hier"}, follow=True)
    assert response.status_code == 200
    assert "a été ignorée" in html(response)
    assert response.context["form"].initial.get("agents") is None


def test_unknown_wizard_says_so_in_french(world):
    client = client_for(world, "basic")
    for name in ("usagers", "horaire", "avertissements", "recapitulatif"):
        response = client.get(step("n-importe-quoi", name), follow=True)
        assert "n'existe plus" in html(response).replace("&#x27;", "'")


# --- Warnings --------------------------------------------------------------------------------------------

def test_overlap_is_a_warning_to_accept(world):
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    client.post(step(wid, "usagers"), {"action": "add", "citizen": world.citizen.pk})
    response = client.post(step(wid, "horaire"), details(world, date=TUESDAY.isoformat(), time="09:15"))
    assert response["Location"] == step(wid, "avertissements")
    page = client.get(step(wid, "avertissements"))
    warnings = page.context["warnings"]
    assert any("a déjà un rendez-vous" in w for w in warnings)
    assert any("même jour" in w for w in warnings)
    refused = client.post(step(wid, "avertissements"), {})
    assert refused.status_code == 400 and "Cochez la case" in html(refused)
    assert client.get(step(wid, "recapitulatif"))["Location"] == step(wid, "avertissements")
    assert client.post(step(wid, "avertissements"), {"accept": "oui"})["Location"] == step(wid, "recapitulatif")
    assert confirm(client, wid).status_code == 302
    with tenant_context(world.administration):
        appointment = Appointment.objects.get(starts_at=at(9, 15, day=TUESDAY))
        assert appointment.accepted_overlap


def test_absence_and_past_start_are_warnings(world):
    with tenant_context(world.administration):
        AbsenceFactory(agent=world.agents["basic"], first_day=MONDAY, title="Formation")
    client = client_for(world, "basic")
    wid = prepare(world, client)
    warnings = client.get(step(wid, "avertissements")).context["warnings"]
    assert any("absent(e)" in w and "Formation" in w for w in warnings)
    past = MONDAY - timedelta(days=30)
    wid = prepare(world, client, date=past.isoformat())
    warnings = client.get(step(wid, "avertissements")).context["warnings"]
    assert "Ce rendez-vous commence dans le passé." in warnings
    client.post(step(wid, "avertissements"), {"accept": "oui"})
    assert "commence dans le passé" in html(client.get(step(wid, "recapitulatif")))


def test_a_new_conflict_after_the_summary_books_nothing(world):
    client = client_for(world, "basic")
    wid = prepare(world, client)
    summary = client.get(step(wid, "recapitulatif"))
    version = summary.context["form"]["version"].value()
    with tenant_context(world.administration):
        other = CitizenFactory()
        appointment_create(appointment_type=world.pmi_type, starts_at=at(10), agents=[world.agents["basic"]],
                           citizens=[other], actor=Actor.for_agent(world.agents["basic"]), location=world.location)
    response = client.post(step(wid, "recapitulatif"), {"version": version}, follow=True)
    assert "de nouveaux avertissements" in html(response)
    assert count(world, Appointment, starts_at=at(10)) == 1


def test_a_slot_taken_at_the_last_moment_books_nothing(world, monkeypatch):
    """The race: another booking commits between the checks and the insert; the exclusion constraint wins."""
    client = client_for(world, "basic")
    wid = prepare(world, client, location="", single_use_name="Domicile", single_use_address="1 rue Basse")
    summary = client.get(step(wid, "recapitulatif"))
    with tenant_context(world.administration):
        appointment_create(appointment_type=world.pmi_type, starts_at=at(10), agents=[world.agents["basic"]],
                           citizens=[CitizenFactory()], actor=Actor.for_agent(world.agents["basic"]),
                           location=world.location)
    monkeypatch.setattr("scheduling.services._conflict_warnings", lambda **kwargs: [])
    monkeypatch.setattr("scheduling.views.booking.booking_warnings", lambda **kwargs: [])
    response = client.post(step(wid, "recapitulatif"), {"version": summary.context["form"]["version"].value()})
    assert response.status_code == 400
    assert "n'est plus disponible" in html(response).replace("&#x27;", "'")
    assert "Rien n'a été enregistré" in html(response).replace("&#x27;", "'")
    assert count(world, Appointment, starts_at=at(10)) == 1
    assert count(world, Location, name="Domicile") == 0  # the single-use place went with the failed booking


# --- Summary: tampering ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["", "abc", "tampered:value"])
def test_tampered_summary_books_nothing(world, version):
    client = client_for(world, "basic")
    wid = prepare(world, client)
    response = client.post(step(wid, "recapitulatif"), {"version": version})
    assert response.status_code == 400
    assert "altéré" in html(response)
    assert count(world, Appointment, starts_at=at(10)) == 0


def test_a_summary_signed_for_other_details_books_nothing(world):
    client = client_for(world, "basic")
    wid = prepare(world, client)
    version = client.get(step(wid, "recapitulatif")).context["form"]["version"].value()
    client.post(step(wid, "horaire"), details(world, time="11:00"))
    response = client.post(step(wid, "recapitulatif"), {"version": version})
    assert response.status_code == 400
    assert count(world, Appointment, participations__citizen=world.citizen, starts_at__in=[at(10), at(11)]) == 0


def test_a_signed_value_of_another_purpose_is_refused(world):
    client = client_for(world, "basic")
    wid = prepare(world, client)
    state = client.session["booking_wizards"][wid]
    from scheduling.views.booking import _fingerprint

    forged = signing.dumps(_fingerprint(state), salt="another.purpose")
    assert client.post(step(wid, "recapitulatif"), {"version": forged}).status_code == 400
    assert count(world, Appointment, starts_at=at(10)) == 0


def test_a_right_lost_during_the_wizard_books_nothing(world):
    client = client_for(world, "basic")
    wid = prepare(world, client)
    with tenant_context(world.administration):
        AppointmentType.objects.filter(pk=world.pmi_type.pk).update(archived_at=at(8))
    response = client.get(step(wid, "recapitulatif"), follow=True)
    assert "plus disponible" in html(response)
    assert count(world, Appointment, starts_at=at(10)) == 0


# --- Summary: the messages it announces are those written ------------------------------------------

def test_summary_announces_the_messages_that_booking_writes(world):
    with tenant_context(world.administration):
        no_email = CitizenFactory(email="", phone="+33611111111")
        landline = CitizenFactory(phone="+33475000000", notify_by_email=False)
        for citizen in (no_email, landline):
            citizen.organisations.add(world.org)
    client = client_for(world, "basic")
    wid = prepare(world, client, citizens=[no_email, landline])
    page = html(client.get(step(wid, "recapitulatif")))
    assert "Pas d'e-mail (aucune adresse)" in page.replace("&#x27;", "'") and "SMS au +33611111111" in page
    assert "Pas d'e-mail (refusé)" in page.replace("&#x27;", "'") and "Pas de SMS (pas un mobile)" in page
    assert confirm(client, wid).status_code == 302
    with tenant_context(world.administration):
        appointment = Appointment.objects.get(starts_at=at(10))
        booked = Message.objects.filter(appointment=appointment, recipient_kind="citizen", kind="booked")
        sent = {(row.channel, row.recipient) for row in booked.exclude(status="skipped")}
        assert sent == {("sms", "+33611111111")}


def test_a_type_that_does_not_notify_says_so_and_sends_nothing(world):
    with tenant_context(world.administration):
        AppointmentType.objects.filter(pk=world.pmi_type.pk).update(visibility="visible_not_notified")
    client = client_for(world, "basic")
    wid = prepare(world, client)
    summary = client.get(step(wid, "recapitulatif"))
    assert "ce motif n'envoie pas de notification" in html(summary).replace("&#x27;", "'")
    assert confirm(client, wid).status_code == 302
    with tenant_context(world.administration):
        appointment = Appointment.objects.get(starts_at=at(10))
        assert not Message.objects.filter(appointment=appointment, recipient_kind="citizen").exclude(
            status="skipped").exists()


def test_a_relative_listed_is_added_with_one_button(world):
    with tenant_context(world.administration):
        child = CitizenFactory(responsible=world.citizen)
        child.organisations.add(world.org)
    client = client_for(world, "basic")
    wid = start_wizard(client, world)
    client.post(step(wid, "usagers"), {"action": "add", "citizen": world.citizen.pk})
    page = client.get(step(wid, "usagers"))
    assert page.context["relatives"] == [child]
    client.post(step(wid, "usagers"), {"action": "add", "citizen": child.pk})
    assert client.session["booking_wizards"][wid]["citizens"] == [world.citizen.pk, child.pk]
    summary = html(client.post(step(wid, "horaire"), details(world), follow=True))
    assert f"messages adressés à {world.citizen}" in summary


@pytest.mark.parametrize("value", ["²", "١٢", "-1", "1e3", "0", "99999999999999999999999"])
def test_odd_ids_never_break_a_page(world, value):
    client = client_for(world, "basic")
    response = client.get(START, {"type": world.pmi_type.pk, "agent": value, "location": value, "start": value})
    assert response.status_code == 302
    wid = response["Location"].split("/")[3]
    assert client.post(step(wid, "usagers"), {"action": "add", "citizen": value}).status_code == 400
    assert client.get(step(wid, "usagers"), {"proche_de": value, "q": value}).status_code == 200
    assert client.get(START, {"type": value}).status_code == 200
