"""Trouver un créneau: persona matrix, results per location, the week grid and its buttons into the wizard,
agents not held by the booking window, bad input, and a query count that does not grow with the data."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from scheduling.models import Team
from scheduling.services import Actor, appointment_create
from tests.conftest import login_client, make_client
from tests.scheduling.api_world import MONDAY, at, build_world
from tests.scheduling.factories import (
    AgentFactory,
    AvailabilityFactory,
    CitizenFactory,
    LocationFactory,
)

URL = "/agents/creneaux/"


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def client_for(world, persona):
    if persona == "anonymous":
        return make_client(world.administration)
    if persona == "no_profile":
        return login_client(world.administration, world.no_profile)
    return login_client(world.administration, world.agents[persona].user)


def search(world, persona="basic", **params):
    query = {"appointment_type": world.pmi_type.pk, "start": MONDAY.isoformat(), **params}
    return client_for(world, persona).get(URL, query)


def html(response) -> str:
    return response.content.decode()


# --- Persona matrix ---------------------------------------------------------------------------------

def test_anonymous_is_sent_to_the_login_page(world):
    response = search(world, "anonymous")
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]


def test_account_without_agent_profile_is_refused_in_french(world):
    response = search(world, "no_profile")
    assert response.status_code == 403


def test_agent_of_another_administration_is_refused(world, agent_b_client):
    response = agent_b_client.get(URL, {"appointment_type": world.pmi_type.pk})
    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["basic", "secretary", "admin"])
def test_agents_who_may_book_the_type_see_its_slots(world, persona):
    response = search(world, persona)
    assert response.status_code == 200
    page = html(response)
    assert "Prochaines disponibilités" in page
    assert world.location.name in page
    assert "/agents/prendre-rdv/?" in page


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
def test_agents_who_may_not_book_the_type_get_a_french_field_error(world, persona):
    response = search(world, persona)
    assert response.status_code == 200
    page = html(response)
    assert "n&#x27;est pas valide" in page or "n'est pas valide" in page
    assert "/agents/prendre-rdv/?" not in page
    assert world.pmi_type.name not in page.split("<form")[0]


def test_the_menu_shows_the_entry(world):
    page = html(client_for(world, "basic").get(URL))
    assert 'href="/agents/creneaux/"' in page and "Trouver un créneau" in page


# --- Results -----------------------------------------------------------------------------------------

def test_next_availability_per_location_then_a_week_with_one_button_per_agent_and_time(world):
    with tenant_context(world.administration):
        second = AgentFactory(services=[world.services["pmi"]], organisation=world.org)
        AvailabilityFactory(agent=second, location=world.location, first_day=MONDAY,
                            appointment_types=[world.pmi_type])
        annex = LocationFactory(organisation=world.org, name="Annexe du Port")
        AvailabilityFactory(agent=second, location=annex, first_day=MONDAY, weekdays=[5],
                            appointment_types=[world.pmi_type])
    response = search(world)
    page = html(response)
    assert "Annexe du Port" in page and world.location.name in page
    days = response.context["days"]
    monday = next(day for day in days if day["date"] == MONDAY)
    nine = [slot for slot in monday["slots"] if slot["time"].hour == 9 and slot["time"].minute == 0]
    assert {slot["agent"].pk for slot in nine} == {world.agents["basic"].pk, second.pk}
    # A button opens the wizard prefilled with the type, the agent, the place and the start.
    query = parse_qs(urlparse(nine[0]["url"]).query)
    assert query["type"] == [str(world.pmi_type.pk)]
    assert query["location"] == [str(world.location.pk)]
    assert query["start"][0].startswith(f"{MONDAY.isoformat()}T09:00")
    # The grid of another location, and the next week.
    annex_page = client_for(world, "basic").get(URL, {"appointment_type": world.pmi_type.pk,
                                                     "start": MONDAY.isoformat(), "lieu": annex.pk})
    assert annex_page.context["grid_location"] == annex
    assert all(slot["agent"] == second for day in annex_page.context["days"] for slot in day["slots"])
    following = client_for(world, "basic").get(URL, {"appointment_type": world.pmi_type.pk,
                                                    "start": MONDAY.isoformat(),
                                                    "semaine": (MONDAY + timedelta(days=7)).isoformat()})
    assert following.context["week"] == MONDAY + timedelta(days=7)


def test_booked_times_are_not_offered(world):
    with tenant_context(world.administration):
        appointment_create(appointment_type=world.pmi_type, starts_at=at(9), agents=[world.agents["basic"]],
                           citizens=[world.citizen], actor=Actor.for_agent(world.agents["basic"]),
                           location=world.location)
    monday = next(day for day in search(world).context["days"] if day["date"] == MONDAY)
    times = {slot["time"].strftime("%H:%M") for slot in monday["slots"]}
    assert "09:00" not in times and "09:30" in times


def test_agents_and_teams_narrow_the_search(world):
    with tenant_context(world.administration):
        second = AgentFactory(services=[world.services["pmi"]], organisation=world.org)
        AvailabilityFactory(agent=second, location=world.location, first_day=MONDAY,
                            appointment_types=[world.pmi_type])
        team = Team.objects.create(organisation=world.org, name="Équipe du matin")
        team.agents.add(second)
    by_agent = search(world, agents=[world.agents["basic"].pk])
    agents = {slot["agent"].pk for day in by_agent.context["days"] for slot in day["slots"]}
    assert agents == {world.agents["basic"].pk}
    by_team = search(world, teams=[team.pk])
    agents = {slot["agent"].pk for day in by_team.context["days"] for slot in day["slots"]}
    assert agents == {second.pk}


def test_agents_are_not_held_by_the_booking_window(world):
    with tenant_context(world.administration):
        world.pmi_type.min_booking_delay = timedelta(0)
        world.pmi_type.max_booking_delay = timedelta(hours=1)
        world.pmi_type.save()
    response = search(world)
    assert response.context["slot_count"] > 0  # weeks beyond the usagers' one-hour window


def test_no_slot_says_so(world):
    with tenant_context(world.administration):
        world.availabilities["basic"].until = MONDAY + timedelta(days=7)
        world.availabilities["basic"].save()
    response = search(world, start=(MONDAY + timedelta(days=14)).isoformat())
    assert "Aucun créneau libre" in html(response)


# --- Bad input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"appointment_type": "abc"},
    {"appointment_type": "999999"},
    {"start": "2026-02-30"},
    {"start": "demain"},
    {"locations": ["999999"]},
    {"agents": ["x"]},
    {"teams": ["999999"]},
])
def test_bad_input_gives_french_errors_never_a_500(world, params):
    response = search(world, **params)
    assert response.status_code == 200
    page = html(response)
    assert "pas valide" in page or "date valide" in page
    assert "Prochaines disponibilités" not in page


def test_foreign_location_and_agent_are_refused(world):
    response = search(world, locations=[world.other_location.pk], agents=[world.agents["outsider"].pk])
    assert "Prochaines disponibilités" not in html(response)
    assert set(response.context["form"].errors) == {"locations", "agents"}


def test_absurd_week_falls_back_to_the_next_availability(world):
    response = client_for(world, "basic").get(URL, {"appointment_type": world.pmi_type.pk,
                                                   "start": MONDAY.isoformat(), "semaine": "9999-12-31"})
    assert response.status_code == 200
    assert response.context["week"] == MONDAY


# --- Query count --------------------------------------------------------------------------------------

def test_query_count_does_not_grow_with_the_data(world):
    client = client_for(world, "basic")
    params = {"appointment_type": world.pmi_type.pk, "start": MONDAY.isoformat()}
    client.get(URL, params)  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL, params).status_code == 200
    with tenant_context(world.administration):
        for index in range(6):
            agent = AgentFactory(services=[world.services["pmi"]], organisation=world.org)
            location = LocationFactory(organisation=world.org)
            AvailabilityFactory(agent=agent, location=location, first_day=MONDAY, appointment_types=[world.pmi_type])
            AvailabilityFactory(agent=agent, location=world.location, first_day=MONDAY,
                                appointment_types=[world.pmi_type])
            appointment_create(appointment_type=world.pmi_type, starts_at=at(9 + index % 3), agents=[agent],
                               citizens=[CitizenFactory()], actor=Actor.for_agent(agent), location=world.location)
            Team.objects.create(organisation=world.org, name=f"Équipe {index}").agents.add(agent)
    with CaptureQueriesContext(connection) as large:
        response = client.get(URL, params)
    assert response.status_code == 200
    assert len(response.context["results"]) == 7
    def counted(queries):  # the schema switch depends on what the test did before, not on the view
        return [q for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]

    # 17 for the page itself, plus one for the shared header (is the signed-in user also a usager?)
    assert len(counted(large)) == len(counted(small)) <= 18


def test_chosen_locations_filter_the_results(world):
    with tenant_context(world.administration):
        annex = LocationFactory(organisation=world.org, name="Annexe du Port")
        AvailabilityFactory(agent=world.agents["basic"], location=annex, first_day=MONDAY, weekdays=[5],
                            appointment_types=[world.pmi_type])
    both = search(world)
    assert {row["location"] for row in both.context["results"]} == {world.location, annex}
    only = search(world, locations=[annex.pk])
    assert [row["location"] for row in only.context["results"]] == [annex]
    assert only.context["grid_location"] == annex


def test_a_type_without_place_has_its_own_grid(world):
    """A phone type: availabilities without a location give a "Sans lieu" row and its week."""
    with tenant_context(world.administration):
        world.pmi_type.mode = "phone"
        world.pmi_type.save()
        world.availabilities["basic"].location = None
        world.availabilities["basic"].save()
    response = search(world, lieu="aucun")
    assert response.context["grid_key"] == "aucun" and response.context["grid_location"] is None
    assert "Sans lieu (par téléphone)" in html(response)
    monday = next(day for day in response.context["days"] if day["date"] == MONDAY)
    assert monday["slots"] and "location" not in parse_qs(urlparse(monday["slots"][0]["url"]).query)


@pytest.mark.parametrize("value", ["²", "١٢", "-1", "0", "99999999999999999999999"])
def test_odd_ids_never_break_the_search(world, value):
    for name in ("appointment_type", "locations", "agents", "teams"):
        response = search(world, **{name: value})
        assert response.status_code == 200
        assert name in response.context["form"].errors
