"""Screen 7 of the back office: plages d'ouverture (lists, create, edit, delete) for oneself and for
colleagues as the policy allows, the recurrence form's French errors, warnings accepted with a checkbox,
pinned query counts, and wall-clock hours kept across DST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from scheduling.models import AgentRole, Availability, Location
from scheduling.recurrence import occurrence_intervals
from scheduling.recurrence_text import describe_window
from scheduling.selectors import recurrence_of
from scheduling.services import AvailabilityWarnings, availability_create
from tests.conftest import login_client
from tests.scheduling.api_world import MONDAY, build_world
from tests.scheduling.factories import AppointmentTypeFactory, AvailabilityFactory, LocationFactory
from tests.scheduling.web.agenda_support import client_for, count_queries, text

LIST = "/agents/plages/"
NEW = "/agents/plages/nouvelle/"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def form(world, **overrides) -> dict:
    """A valid plage of ``basic`` that overlaps nothing: Tuesdays 14:00-17:00 at the org's location."""
    data = {
        "organisation": world.org.pk, "location": world.location.pk, "appointment_types": [world.pmi_type.pk],
        "title": "Permanence", "first_day": MONDAY.isoformat(), "start_time": "14:00", "end_time": "17:00",
        "recurrence": "weekly", "interval": "1", "weekdays": ["1"], "until": "", "excluded_dates": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def count(world, **filters) -> int:
    with tenant_context(world.administration):
        return Availability.objects.filter(**filters).count()


# --- Persona matrix -------------------------------------------------------------------------------

@pytest.mark.parametrize(("persona", "target", "expected"), [
    ("anonymous", None, 302),
    ("no_profile", None, 403),
    ("basic", None, 200),
    ("basic", "admin", 200),  # same service (PMI): may read
    ("basic", "colleague", 404),  # another service
    ("colleague", "basic", 404),
    ("secretary", "basic", 200),
    ("admin", "colleague", 200),
    ("outsider", None, 200),
    ("outsider", "basic", 404),  # another organisation
])
def test_list_persona_matrix(world, persona, target, expected):
    query = f"?agent={world.agents[target].pk}" if target else ""
    response = client_for(world, persona).get(LIST + query)
    assert response.status_code == expected
    if expected == 302:
        assert "/connexion" in response["Location"] or "login" in response["Location"]
    if expected == 403:
        assert "profil d'agent" in text(response)


def test_own_list_shows_his_plages_only_with_actions(world):
    page = client_for(world, "basic").get(LIST)
    body = text(page)
    assert "Plages d'ouverture" in body and "Consultation PMI" in body and "Entretien social" not in body
    assert f"/agents/plages/{world.availabilities['basic'].pk}/" in body
    assert "Toutes les semaines du lundi au vendredi, de 09:00 à 12:00" in body
    assert "Nouvelle plage d'ouverture" in body


def test_colleagues_plages_are_read_only_unless_admin(world):
    colleague = world.availabilities["colleague"]
    secretary = text(client_for(world, "secretary").get(f"{LIST}?agent={world.agents['colleague'].pk}"))
    assert "Entretien social" in secretary and f"/agents/plages/{colleague.pk}/" not in secretary
    assert "Nouvelle plage d'ouverture" not in secretary
    admin = text(client_for(world, "admin").get(f"{LIST}?agent={world.agents['colleague'].pk}"))
    assert f"/agents/plages/{colleague.pk}/" in admin and "Nouvelle plage d'ouverture" in admin


def test_a_session_of_another_administration_is_worthless_here(world, administration_b):
    from tests.factories import UserFactory
    from tests.scheduling.factories import AgentFactory, OrganisationFactory

    with tenant_context(administration_b):
        user = UserFactory()
        AgentFactory(user=user, organisation=OrganisationFactory(), organisation__level="admin")
    client = login_client(administration_b, user)
    client.defaults["HTTP_HOST"] = world.administration.primary_domain
    assert client.get(LIST).status_code == 302
    assert client.post(NEW, form(world)).status_code == 302
    assert count(world, title="Permanence") == 0


@pytest.mark.parametrize(("persona", "target", "expected"), [
    ("basic", None, 302),
    ("basic", "colleague", 404),
    ("basic", "admin", 403),  # visible, not his agenda
    ("secretary", "basic", 403),
    ("colleague", "basic", 404),
    ("admin", "basic", 302),
    ("outsider", "basic", 404),
    ("anonymous", None, 302),
])
def test_create_persona_matrix(world, persona, target, expected):
    agent = world.agents[target or persona] if persona != "anonymous" else world.agents["basic"]
    query = f"?agent={world.agents[target].pk}" if target else ""
    response = client_for(world, persona).post(NEW + query, form(world))
    assert response.status_code == expected
    created = count(world, title="Permanence", agent=agent)
    assert created == (1 if expected == 302 and persona != "anonymous" else 0)


@pytest.mark.parametrize(("persona", "owner", "expected"), [
    ("basic", "basic", 200), ("colleague", "basic", 404), ("secretary", "basic", 403), ("admin", "basic", 200),
    ("outsider", "basic", 404), ("basic", "colleague", 404), ("admin", "outsider", 404),
])
def test_edit_and_delete_persona_matrix(world, persona, owner, expected):
    availability = world.availabilities[owner]
    client = client_for(world, persona)
    assert client.get(f"/agents/plages/{availability.pk}/").status_code == expected
    assert client.get(f"/agents/plages/{availability.pk}/supprimer/").status_code == expected
    response = client.post(f"/agents/plages/{availability.pk}/supprimer/")
    assert response.status_code == (302 if expected == 200 else expected)
    assert count(world, pk=availability.pk) == (0 if expected == 200 else 1)


def test_unknown_and_malformed_ids_are_404(world):
    client = client_for(world, "basic")
    assert client.get("/agents/plages/99999999/").status_code == 404
    assert client.get(f"{LIST}?agent=abc").status_code == 404
    assert client.get(f"{LIST}?agent=99999999").status_code == 404
    assert client.get(f"{NEW}?agent=%00").status_code == 404


# --- Create and edit ------------------------------------------------------------------------------

def test_basic_creates_edits_and_deletes_his_plage(world):
    client = client_for(world, "basic")
    page = client.get(NEW)
    assert page.status_code == 200
    body = text(page)
    for label in ("Lundi", "Dimanche", "Jusqu'au (inclus)", "Dates exclues", "Motifs reçus sur cette plage",
                  "Une seule fois", "Chaque mois"):
        assert label in body
    assert "Entretien social" not in body and "PMI Nord" not in body  # not his service / organisation
    created = client.post(NEW, form(world, weekdays=["0", "3"], interval="2", until="2027-03-31",
                                    start_time="13:00", end_time="13:30",
                                    excluded_dates=f"{(MONDAY + timedelta(days=14)):%d/%m/%Y}"))
    assert created.status_code == 302 and created["Location"] == LIST
    with tenant_context(world.administration):
        availability = Availability.objects.get(title="Permanence")
        assert availability.agent == world.agents["basic"] and availability.organisation == world.org
        assert availability.weekdays == [0, 3] and availability.interval == 2
        assert availability.until == date(2027, 3, 31) and availability.excluded_dates == [MONDAY + timedelta(14)]
        assert list(availability.appointment_types.all()) == [world.pmi_type]
    listing = text(client.get(LIST))
    assert "Toutes les 2 semaines le lundi et le jeudi, de 13:00 à 13:30" in listing
    assert "jusqu'au 31/03/2027" in listing

    url = f"/agents/plages/{availability.pk}/"
    assert "Permanence" in text(client.get(url))
    edited = client.post(url, form(world, title="Matin", recurrence="monthly", weekdays=[], start_time="07:00",
                                   end_time="08:00"))
    assert edited.status_code == 302
    with tenant_context(world.administration):
        availability.refresh_from_db()
        assert availability.title == "Matin" and availability.recurrence == "monthly"
        assert availability.weekdays == [] and availability.start_time == time(7)
    assert client.post(f"{url}supprimer/").status_code == 302
    assert count(world, pk=availability.pk) == 0


def test_once_is_stored_without_repetition_and_listed_as_expired_when_past(world):
    client = client_for(world, "basic")
    yesterday = date.today() - timedelta(days=1)
    response = client.post(NEW, form(world, recurrence="none", first_day=yesterday.isoformat(),
                                     weekdays=["1", "2"], until="2027-01-01", interval="3"))
    assert response.status_code == 302 and response["Location"] == f"{LIST}?periode=passees"
    with tenant_context(world.administration):
        availability = Availability.objects.get(title="Permanence")
        assert (availability.weekdays, availability.until, availability.interval) == ([], None, 1)
    current, expired = text(client.get(LIST)), text(client.get(f"{LIST}?periode=passees"))
    assert f"/agents/plages/{availability.pk}/" not in current and f"/agents/plages/{availability.pk}/" in expired
    assert describe_window(availability) in expired and describe_window(availability).startswith("Le ")


def test_admin_creates_for_a_colleague_with_the_colleagues_types(world):
    client = client_for(world, "admin")
    query = f"?agent={world.agents['colleague'].pk}"
    page = text(client.get(NEW + query))
    assert "Entretien social" in page and "Consultation PMI" not in page  # the colleague's service
    response = client.post(NEW + query, form(world, appointment_types=[world.social_type.pk]))
    assert response.status_code == 302 and response["Location"] == LIST + query
    assert count(world, agent=world.agents["colleague"], title="Permanence") == 1


# --- Bad input: French field errors, nothing saved, never a 500 --------------------------------------

def _bad(world, client, data, field, fragment, url=NEW):
    before = count(world)
    response = client.post(url, data)
    assert response.status_code == 400, response.status_code
    errors = response.context["form"].errors
    assert field in errors, errors
    assert fragment in " ".join(errors[field]), errors[field]
    assert count(world) == before
    return response


@pytest.mark.parametrize(("overrides", "field", "fragment"), [
    ({"end_time": "13:00"}, "end_time", "après l'heure de début"),
    ({"end_time": "14:00"}, "end_time", "après l'heure de début"),
    ({"weekdays": []}, "weekdays", "au moins un jour"),
    ({"weekdays": ["9"]}, "weekdays", "Sélectionnez un choix valide"),
    ({"interval": "9"}, "interval", "Sélectionnez un choix valide"),
    ({"interval": "deux"}, "interval", "Sélectionnez un choix valide"),
    ({"recurrence": "daily"}, "recurrence", "Sélectionnez un choix valide"),
    ({"first_day": "2026-13-45"}, "first_day", "date valide"),
    ({"first_day": "demain"}, "first_day", "date valide"),
    ({"first_day": ""}, "first_day", "obligatoire"),
    ({"first_day": "2206-01-05"}, "first_day", "pas réaliste"),
    ({"until": "31/02/2027"}, "until", "date valide"),
    ({"until": "2020-01-01"}, "until", "après le premier jour"),
    ({"excluded_dates": "25/12/2026, noël"}, "excluded_dates", "« noël » n'est pas une date"),
    ({"excluded_dates": "01/01/1990"}, "excluded_dates", "pas réaliste"),
    ({"start_time": "25:00"}, "start_time", "heure valide"),
    ({"appointment_types": []}, "appointment_types", "au moins un motif"),
    ({"appointment_types": ["abc"]}, "appointment_types", "invalide"),
    ({"title": "x" * 201}, "title", "200 caractères"),
])
def test_bad_input_gives_french_field_errors_and_saves_nothing(world, overrides, field, fragment):
    _bad(world, client_for(world, "basic"), form(world, **overrides), field, fragment)


def test_foreign_ids_are_refused(world, administration_b):
    client = client_for(world, "basic")
    _bad(world, client, form(world, location=world.other_location.pk), "location", "Ce lieu n'est pas disponible")
    _bad(world, client, form(world, appointment_types=[world.other_type.pk]), "appointment_types", "pas disponible")
    _bad(world, client, form(world, appointment_types=[world.social_type.pk]), "appointment_types", "pas disponible")
    _bad(world, client, form(world, organisation=world.other_org.pk), "organisation", "Vous ne pouvez pas")
    with tenant_context(world.administration):
        collective = AppointmentTypeFactory(organisation=world.org, service=world.services["pmi"], collective=True)
        disabled = LocationFactory(organisation=world.org, availability=Location.Availability.DISABLED)
        single_use = LocationFactory(organisation=world.org, availability=Location.Availability.SINGLE_USE)
        allowed_locations = {world.location.pk}
    _bad(world, client, form(world, appointment_types=[collective.pk]), "appointment_types", "pas disponible")
    _bad(world, client, form(world, location=disabled.pk), "location", "Ce lieu n'est pas disponible")
    _bad(world, client, form(world, location=single_use.pk), "location", "Ce lieu n'est pas disponible")
    with tenant_context(administration_b):
        from tests.scheduling.factories import OrganisationFactory

        other_place = LocationFactory(organisation=OrganisationFactory(), pk=max(allowed_locations) + 10_000)
    _bad(world, client, form(world, location=other_place.pk), "location", "Ce lieu n'est pas disponible")
    _bad(world, client, form(world, location=""), "location", "est sur place : choisissez un lieu")


def test_services_check_organisation_of_location_and_types_for_multi_organisation_agents(world):
    """An admin of two organisations is offered both organisations' locations and types: the service refuses
    mixing them (and the API shares it)."""
    with tenant_context(world.administration):
        AgentRole.objects.create(agent=world.agents["admin"], organisation=world.other_org, level="admin")
    client = client_for(world, "admin")
    page = text(client.get(NEW))
    assert "PMI Nord" in page and "Nord (MDS Nord)" in page
    _bad(world, client, form(world, location=world.other_location.pk), "location", "n'appartient pas à cette")
    _bad(world, client, form(world, appointment_types=[world.other_type.pk]), "appointment_types",
         "n'appartient pas à cette organisation")
    with tenant_context(world.administration):
        with pytest.raises(Exception) as raised:
            availability_create(agent=world.agents["admin"], organisation=world.org, location=world.other_location,
                                appointment_types=[world.pmi_type], first_day=MONDAY, start_time=time(14),
                                end_time=time(15), recurrence="weekly", weekdays=[1])
        assert "location" in raised.value.message_dict


def test_edit_with_bad_input_changes_nothing(world):
    availability = world.availabilities["basic"]
    client = client_for(world, "basic")
    url = f"/agents/plages/{availability.pk}/"
    _bad(world, client, form(world, title="Changé", end_time="08:00"), "end_time", "après", url=url)
    with tenant_context(world.administration):
        availability.refresh_from_db()
        assert availability.title == "" and availability.end_time == time(12)


# --- Warnings -------------------------------------------------------------------------------------

def test_warnings_are_shown_then_accepted_with_the_checkbox(world):
    client = client_for(world, "basic")
    data = form(world, weekdays=["0"], start_time="11:00", end_time="11:20", title="Chevauche")
    warned = client.post(NEW, data)
    assert warned.status_code == 200
    body = text(warned)
    assert "chevauche la plage" in body and "plus que la plage (20 min)" in body
    assert "Je confirme malgré ces avertissements" in body
    assert count(world, title="Chevauche") == 0
    accepted = client.post(NEW, {**data, "accept_warnings": "on"})
    assert accepted.status_code == 302 and count(world, title="Chevauche") == 1


def test_warnings_service_raises_without_confirmation(world):
    with tenant_context(world.administration):
        with pytest.raises(AvailabilityWarnings) as raised:
            availability_create(agent=world.agents["basic"], organisation=world.org, location=world.location,
                                appointment_types=[world.pmi_type], first_day=MONDAY, start_time=time(10),
                                end_time=time(11), recurrence="weekly", weekdays=[0])
        assert "chevauche" in raised.value.warnings[0]
        assert not Availability.objects.filter(start_time=time(10)).exists()


# --- Query counts ---------------------------------------------------------------------------------

def _grow(world, n):
    with tenant_context(world.administration):
        for index in range(n):
            kind = AppointmentTypeFactory(organisation=world.org, service=world.services["pmi"])
            place = LocationFactory(organisation=world.org)
            AvailabilityFactory(agent=world.agents["basic"], location=place, first_day=MONDAY + timedelta(days=index),
                                appointment_types=[kind, world.pmi_type], title=f"Plage {index}")
            AvailabilityFactory(agent=world.agents["basic"], location=place, first_day=MONDAY - timedelta(days=400),
                                until=MONDAY - timedelta(days=200), appointment_types=[kind])


@pytest.mark.parametrize("persona", ["basic", "admin"])
def test_list_query_count_is_pinned(world, persona):
    client = client_for(world, persona)
    query = "" if persona == "basic" else f"?agent={world.agents['basic'].pk}"
    _grow(world, 1)
    client.get(LIST + query)
    counts = []
    for grow in (2, 6):
        connection.set_schema_to_public()
        current, response = count_queries(lambda: client.get(LIST + query))
        connection.set_schema_to_public()
        expired, expired_response = count_queries(lambda: client.get(f"{LIST}{query}{'&' if query else '?'}"
                                                                     "periode=passees"))
        counts.append((current, expired))
        assert response.status_code == 200 and expired_response.status_code == 200
        _grow(world, grow)
    assert counts[0] == counts[1], counts
    assert counts[0][0] <= 14, counts


# --- Time -----------------------------------------------------------------------------------------

def test_weekly_plage_keeps_its_wall_clock_hours_across_dst(world):
    """Europe/Paris goes to summer time on 28 March 2027: 09:00 stays 09:00 (08:00 UTC, then 07:00 UTC)."""
    client = client_for(world, "basic")
    response = client.post(NEW, form(world, first_day="2027-03-22", until="2027-04-05", weekdays=["0"],
                                     start_time="09:00", end_time="12:00", title="Printemps"))
    assert response.status_code in (200, 302)
    if response.status_code == 200:  # overlap warning with the world's plage: accept it
        response = client.post(NEW, form(world, first_day="2027-03-22", until="2027-04-05", weekdays=["0"],
                                         start_time="09:00", end_time="12:00", title="Printemps",
                                         accept_warnings="on"))
    assert response.status_code == 302
    with tenant_context(world.administration):
        row = Availability.objects.filter(title="Printemps").values(
            "first_day", "start_time", "end_time", "recurrence", "interval", "weekdays", "until", "excluded_dates"
        ).get()
    start = datetime(2027, 3, 1, tzinfo=PARIS)
    intervals = list(occurrence_intervals(row["first_day"], row["start_time"], row["end_time"], recurrence_of(row),
                                          PARIS, start, start + timedelta(days=60)))
    assert [s.astimezone(PARIS).strftime("%d/%m %H:%M") for s, _ in intervals] == [
        "22/03 09:00", "29/03 09:00", "05/04 09:00"]
    assert [s.hour for s, _ in intervals] == [8, 7, 7]  # UTC
    assert all(e.astimezone(PARIS).time() == time(12) for _, e in intervals)
    assert "Toutes les semaines le lundi, de 09:00 à 12:00, à partir du 22/03/2027, jusqu'au 05/04/2027" in text(
        client.get(LIST))


# --- Description ----------------------------------------------------------------------------------

def _window(**fields):
    base = {"first_day": date(2026, 12, 7), "start_time": time(9), "end_time": time(12), "recurrence": "none",
            "interval": 1, "weekdays": [], "until": None, "excluded_dates": []}
    return SimpleNamespace(**{**base, **fields})


@pytest.mark.parametrize(("fields", "expected"), [
    ({"recurrence": "weekly", "interval": 2, "weekdays": [0, 3], "until": date(2027, 3, 31)},
     "Toutes les 2 semaines le lundi et le jeudi, de 09:00 à 12:00, jusqu'au 31/03/2027"),
    ({}, "Le lundi 7 décembre 2026, de 09:00 à 12:00"),
    ({"recurrence": "weekly", "weekdays": [0, 1, 2, 3, 4]},
     "Toutes les semaines du lundi au vendredi, de 09:00 à 12:00"),
    ({"recurrence": "weekly", "weekdays": [6, 1, 4]},
     "Toutes les semaines le mardi, le vendredi et le dimanche, de 09:00 à 12:00"),
    ({"recurrence": "monthly", "first_day": date(2026, 6, 9)}, "Tous les mois le 2e mardi, de 09:00 à 12:00"),
    ({"recurrence": "monthly", "interval": 3, "first_day": date(2026, 12, 1)},
     "Tous les 3 mois le 1er mardi, de 09:00 à 12:00"),
    ({"recurrence": "weekly", "weekdays": [2], "excluded_dates": [date(2026, 12, 30), date(2026, 12, 23)]},
     "Toutes les semaines le mercredi, de 09:00 à 12:00, sauf le 23/12/2026 et le 30/12/2026"),
    ({"start_time": time(22), "end_time": time(6)}, "Le lundi 7 décembre 2026, de 22:00 à 06:00 (le lendemain)"),
    ({"recurrence": "weekly", "weekdays": []}, "Toutes les semaines, de 09:00 à 12:00"),
    ({"end_day": date(2026, 12, 9), "end_time": time(18)},
     "Du lundi 7 décembre 2026 à 09:00 au mercredi 9 décembre 2026 à 18:00"),
])
def test_describe_window_in_french(fields, expected):
    assert describe_window(_window(**fields)) == expected


def test_describe_says_from_when_it_starts_later():
    window = _window(recurrence="weekly", weekdays=[0])
    assert describe_window(window, today=date(2026, 12, 1)).endswith(", à partir du 07/12/2026")
    assert "à partir" not in describe_window(window, today=date(2026, 12, 7))


def test_no_500_on_odd_requests(world):
    client = client_for(world, "basic")
    assert client.get(f"{LIST}?page=abc").status_code == 200
    assert client.get(f"{LIST}?page=99999").status_code == 200
    assert client.put(f"/agents/plages/{world.availabilities['basic'].pk}/supprimer/").status_code == 405
    assert client.post(NEW, {}).status_code == 400
    assert Client(HTTP_HOST=world.administration.primary_domain).post(NEW, form(world)).status_code == 302

