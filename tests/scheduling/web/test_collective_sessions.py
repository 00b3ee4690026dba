"""Collective sessions in the back office: created through the wizard (seats or unlimited, title, agents,
place), participants registered and withdrawn, "Complet" when full, duplicated on another date; persona
matrix and bad input (French errors, nothing changed, never a 500)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from scheduling.models import Appointment, Participation
from scheduling.services import Actor, appointment_create, participant_add
from tests.conftest import login_client, make_client
from tests.scheduling.api_world import MONDAY, at, build_world
from tests.scheduling.factories import AppointmentTypeFactory, CitizenFactory


@pytest.fixture
def world(administration_a):
    world = build_world(administration_a)
    with tenant_context(administration_a):
        world.workshop_type = AppointmentTypeFactory(organisation=world.org, service=world.services["pmi"],
                                                     name="Atelier portage", collective=True, default_capacity=8,
                                                     duration_minutes=90)
        world.citizens = [CitizenFactory() for _ in range(3)]
        for citizen in world.citizens:
            citizen.organisations.add(world.org)
    return world


def client_for(world, persona):
    if persona == "anonymous":
        return make_client(world.administration)
    return login_client(world.administration, world.agents[persona].user)


def html(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


def session(world, capacity=2, starts_at=None, **kwargs):
    with tenant_context(world.administration):
        return appointment_create(
            appointment_type=world.workshop_type, starts_at=starts_at or at(14), agents=[world.agents["basic"]],
            citizens=[], actor=Actor.for_agent(world.agents["basic"]), location=world.location, capacity=capacity,
            title="Portage en écharpe", **kwargs)


# --- Creation through the wizard ---------------------------------------------------------------------

def _wizard_to_details(client, world):
    response = client.post("/agents/prendre-rdv/", {"appointment_type": world.workshop_type.pk})
    wid = response["Location"].split("/")[3]
    assert client.post(f"/agents/prendre-rdv/{wid}/usagers/", {"action": "next"}).status_code == 302
    return wid


def test_a_session_is_created_without_participants(world):
    client = client_for(world, "basic")
    wid = _wizard_to_details(client, world)
    form = client.get(f"/agents/prendre-rdv/{wid}/horaire/").context["form"]
    assert form.initial["capacity"] == 8 and form.initial["duration_minutes"] == 90
    response = client.post(f"/agents/prendre-rdv/{wid}/horaire/", {
        "agents": [world.agents["basic"].pk, world.agents["admin"].pk], "date": MONDAY.isoformat(), "time": "14:00",
        "duration_minutes": "120", "location": world.location.pk, "title": "Massage bébé", "capacity": "12",
    })
    assert response["Location"].endswith("/recapitulatif/")
    summary = client.get(response["Location"])
    assert "Massage bébé" in html(summary) and "12" in html(summary)
    confirmed = client.post(response["Location"], {"version": summary.context["form"]["version"].value()})
    with tenant_context(world.administration):
        created = Appointment.objects.get(title="Massage bébé")
        assert confirmed["Location"] == f"/agents/ateliers/{created.pk}/"
        assert created.capacity == 12 and created.ends_at - created.starts_at == at(16) - at(14)
        assert set(created.agents.all()) == {world.agents["basic"], world.agents["admin"]}
        assert not created.participations.exists()


def test_seats_are_required_unless_unlimited(world):
    client = client_for(world, "basic")
    wid = _wizard_to_details(client, world)
    data = {"agents": [world.agents["basic"].pk], "date": MONDAY.isoformat(), "time": "14:00",
            "duration_minutes": "90", "location": world.location.pk, "title": "Atelier"}
    response = client.post(f"/agents/prendre-rdv/{wid}/horaire/", data)
    assert response.status_code == 400 and "Indiquez le nombre de places" in html(response)
    for bad in ("0", "-3", "beaucoup"):
        assert client.post(f"/agents/prendre-rdv/{wid}/horaire/", {**data, "capacity": bad}).status_code == 400
    response = client.post(f"/agents/prendre-rdv/{wid}/horaire/", {**data, "unlimited": "on"})
    assert response.status_code == 302
    assert client.session["booking_wizards"][wid]["details"]["capacity"] is None
    summary = client.get(f"/agents/prendre-rdv/{wid}/recapitulatif/")
    assert "illimitées" in html(summary)
    client.post(f"/agents/prendre-rdv/{wid}/recapitulatif/", {"version": summary.context["form"]["version"].value()})
    with tenant_context(world.administration):  # unlimited, although the type has a default of 8 seats
        assert Appointment.objects.get(appointment_type=world.workshop_type).capacity is None


def test_an_unlimited_session_takes_everyone_and_duplicates_unlimited(world):
    workshop = session(world, capacity=None, unlimited=True)
    client = client_for(world, "basic")
    for citizen in world.citizens:
        assert client.post(f"/agents/ateliers/{workshop.pk}/", {"action": "add", "citizen": citizen.pk}
                           ).status_code == 302
    page = client.get(f"/agents/ateliers/{workshop.pk}/")
    assert not page.context["full"] and "places illimitées" in html(page)
    new_day = MONDAY + timedelta(days=7)
    response = client.post(f"/agents/ateliers/{workshop.pk}/dupliquer/", {"date": new_day.isoformat(),
                                                                          "time": "14:00"})
    with tenant_context(world.administration):
        assert Appointment.objects.get(pk=int(response["Location"].split("/")[3])).capacity is None


# --- Participants ----------------------------------------------------------------------------------------

def test_register_until_full_then_withdraw(world):
    workshop = session(world, capacity=2)
    client = client_for(world, "basic")
    url = f"/agents/ateliers/{workshop.pk}/"
    first, second, third = world.citizens
    found = client.get(url, {"q": first.last_name}).context["results"]
    assert first in found
    for citizen in (first, second):
        assert client.post(url, {"action": "add", "citizen": citizen.pk}).status_code == 302
    page = client.get(url)
    assert page.context["full"] and "Complet" in html(page)
    assert "Complet" in html(client.get("/agents/ateliers/"))
    refused = client.post(url, {"action": "add", "citizen": third.pk})
    assert refused.status_code == 400 and "Cet atelier est complet." in html(refused)
    with tenant_context(world.administration):
        participation = Participation.objects.get(appointment=workshop, citizen=first)
    assert client.post(url, {"action": "remove", "participation": participation.pk}).status_code == 302
    with tenant_context(world.administration):
        participation.refresh_from_db()
        assert participation.status == "excused"
    assert not client.get(url).context["full"]
    assert client.post(url, {"action": "add", "citizen": third.pk}).status_code == 302


def test_a_registered_usager_is_not_registered_twice(world):
    workshop = session(world, capacity=5)
    client = client_for(world, "basic")
    url = f"/agents/ateliers/{workshop.pk}/"
    client.post(url, {"action": "add", "citizen": world.citizen.pk})
    response = client.post(url, {"action": "add", "citizen": world.citizen.pk})
    assert response.status_code == 400 and "déjà inscrit" in html(response)


@pytest.mark.parametrize("data, message", [
    ({"action": "add", "citizen": "999999"}, "pas valide"),
    ({"action": "add", "citizen": "abc"}, "pas valide"),
    ({"action": "add"}, "obligatoire"),
    ({"action": "remove", "participation": "999999"}, "n'existe pas"),
    ({"action": "remove", "participation": "x"}, "n'existe pas"),
    ({"action": "détruire"}, "Action inconnue"),
])
def test_bad_participant_input_is_refused_in_french(world, data, message):
    workshop = session(world)
    response = client_for(world, "basic").post(f"/agents/ateliers/{workshop.pk}/", data)
    assert response.status_code == 400 and message in html(response)
    with tenant_context(world.administration):
        assert not workshop.participations.exists()


def test_usager_of_another_organisation_cannot_be_registered(world):
    workshop = session(world)
    response = client_for(world, "basic").post(f"/agents/ateliers/{workshop.pk}/",
                                               {"action": "add", "citizen": world.other_citizen.pk})
    assert response.status_code == 400
    with tenant_context(world.administration):
        assert not workshop.participations.exists()


def test_participation_of_another_session_cannot_be_withdrawn_here(world):
    workshop, other = session(world), session(world, starts_at=at(16))
    with tenant_context(world.administration):
        participation = participant_add(appointment=other, citizen=world.citizen,
                                        actor=Actor.for_agent(world.agents["basic"]))
    response = client_for(world, "basic").post(f"/agents/ateliers/{workshop.pk}/",
                                               {"action": "remove", "participation": participation.pk})
    assert response.status_code == 400
    with tenant_context(world.administration):
        participation.refresh_from_db()
        assert participation.status == "unknown"


# --- Duplicate ---------------------------------------------------------------------------------------

def test_duplicate_on_a_new_date(world):
    workshop = session(world, capacity=6)
    with tenant_context(world.administration):
        participant_add(appointment=workshop, citizen=world.citizen, actor=Actor.for_agent(world.agents["basic"]))
    client = client_for(world, "basic")
    url = f"/agents/ateliers/{workshop.pk}/dupliquer/"
    assert client.get(url).context["form"].initial["date"] == MONDAY + timedelta(days=7)
    new_day = MONDAY + timedelta(days=14)
    response = client.post(url, {"date": new_day.isoformat(), "time": "15:00"})
    assert response.status_code == 302
    with tenant_context(world.administration):
        copy = Appointment.objects.get(pk=int(response["Location"].split("/")[3]))
        assert copy.starts_at == at(15, day=new_day)
        assert (copy.title, copy.capacity, copy.location, copy.appointment_type) == (
            workshop.title, 6, workshop.location, workshop.appointment_type)
        assert copy.ends_at - copy.starts_at == workshop.ends_at - workshop.starts_at
        assert list(copy.agents.all()) == [world.agents["basic"]]
        assert not copy.participations.exists()


def test_duplicate_warns_of_a_conflict_then_accepts(world):
    workshop = session(world)
    client = client_for(world, "basic")
    url = f"/agents/ateliers/{workshop.pk}/dupliquer/"
    data = {"date": MONDAY.isoformat(), "time": "14:30"}
    response = client.post(url, data)
    assert response.status_code == 400 and "a déjà un rendez-vous" in html(response)
    with tenant_context(world.administration):
        assert Appointment.objects.filter(appointment_type=world.workshop_type).count() == 1
    assert client.post(url, {**data, "accept": "oui"}).status_code == 302
    with tenant_context(world.administration):
        assert Appointment.objects.filter(appointment_type=world.workshop_type).count() == 2


@pytest.mark.parametrize("data", [{"date": "2026-02-30", "time": "10:00"}, {"date": "", "time": "10:00"},
                                  {"date": "2026-03-01", "time": "midi"}])
def test_bad_duplicate_input_is_refused(world, data):
    workshop = session(world)
    response = client_for(world, "basic").post(f"/agents/ateliers/{workshop.pk}/dupliquer/", data)
    assert response.status_code == 400
    assert "valide" in html(response) or "obligatoire" in html(response)
    with tenant_context(world.administration):
        assert Appointment.objects.filter(appointment_type=world.workshop_type).count() == 1


# --- Persona matrix ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("persona, page, duplicate", [
    ("basic", 200, 200), ("secretary", 200, 200), ("admin", 200, 200),
    ("colleague", 404, 404), ("outsider", 404, 404),
])
def test_who_sees_and_manages_a_session(world, persona, page, duplicate):
    workshop = session(world)
    client = client_for(world, persona)
    assert client.get(f"/agents/ateliers/{workshop.pk}/").status_code == page
    assert client.get(f"/agents/ateliers/{workshop.pk}/dupliquer/").status_code == duplicate
    listed = workshop.title in html(client.get("/agents/ateliers/"))
    assert listed == (page == 200)


def test_anonymous_and_other_administration(world, agent_b_client):
    workshop = session(world)
    for path in ("/agents/ateliers/", f"/agents/ateliers/{workshop.pk}/", f"/agents/ateliers/{workshop.pk}/dupliquer/"):
        response = client_for(world, "anonymous").get(path)
        assert response.status_code == 302 and "/comptes/login/" in response["Location"]
        assert agent_b_client.get(path).status_code == 403


def test_an_individual_appointment_is_not_a_session(world):
    response = client_for(world, "basic").get(f"/agents/ateliers/{world.appointments['pmi_appt'].pk}/")
    assert response.status_code == 404


def test_assigned_agent_of_another_service_sees_but_may_not_manage(world):
    """Assigned to a session of a type he may not book: he sees it, its buttons are not offered, posts are 403."""
    with tenant_context(world.administration):
        workshop = appointment_create(
            appointment_type=world.workshop_type, starts_at=at(14), agents=[world.agents["colleague"]], citizens=[],
            actor=Actor.for_agent(world.agents["admin"]), location=world.location, capacity=3)
    client = client_for(world, "colleague")
    page = client.get(f"/agents/ateliers/{workshop.pk}/")
    assert page.status_code == 200 and not page.context["may_book"]
    assert client.post(f"/agents/ateliers/{workshop.pk}/", {"action": "add", "citizen": world.citizen.pk}
                       ).status_code == 403
    assert client.get(f"/agents/ateliers/{workshop.pk}/dupliquer/").status_code == 403


@pytest.mark.parametrize("value", ["²", "١٢", "-1", "0", "99999999999999999999999"])
def test_odd_ids_never_break_the_session_page(world, value):
    workshop = session(world)
    client = client_for(world, "basic")
    for data in ({"action": "add", "citizen": value}, {"action": "remove", "participation": value}):
        assert client.post(f"/agents/ateliers/{workshop.pk}/", data).status_code == 400
    assert client.get(f"/agents/ateliers/{workshop.pk}/", {"q": value}).status_code == 200


def test_session_list_query_count_does_not_grow(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world, "basic")
    session(world)
    client.get("/agents/ateliers/")

    def counted():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/agents/ateliers/").status_code == 200
        return len([q for q in queries.captured_queries if not q["sql"].startswith("SET search_path")])

    small = counted()
    for hour in (8, 10, 12, 16, 18):
        workshop = session(world, starts_at=at(hour), capacity=3)
        with tenant_context(world.administration):
            participant_add(appointment=workshop, citizen=world.citizens[0],
                            actor=Actor.for_agent(world.agents["basic"]))
    client.get("/agents/ateliers/")
    assert counted() == small <= 10
