"""API v1: /slots and /next-availability (times with the organisation's offset, French 400s, pinned
query counts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from scheduling.services import Actor, appointment_create
from tests.scheduling.api_world import MONDAY, TUESDAY, at, build_world
from tests.scheduling.factories import AgentFactory, AvailabilityFactory, CitizenFactory


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def slots(world, persona="basic", **params):
    return world.client(persona).get("/api/v1/slots", params)


def pmi(world, **params):
    return {"appointment_type": world.pmi_type.pk, "location": world.location.pk, **params}


def test_usager_slots_of_a_day_sorted_with_offset(world):
    response = slots(world, **pmi(world, start=MONDAY.isoformat(), end=MONDAY.isoformat()))
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [row["starts_at"] for row in results] == [at(h, m).isoformat() for h in (9, 10, 11) for m in (0, 30)]
    assert results[0] == {"starts_at": at(9).isoformat(), "ends_at": at(9, 30).isoformat(),
                          "location": world.location.pk, "agents": [world.agents["basic"].pk]}
    assert results[0]["starts_at"].endswith(("+01:00", "+02:00"))


def test_taken_time_is_not_a_slot_and_datetimes_bound_the_range(world):
    response = slots(world, **pmi(world, start=at(9, day=TUESDAY).isoformat(), end=at(11, day=TUESDAY).isoformat()))
    starts = [row["starts_at"] for row in response.json()["results"]]
    assert starts == [at(9, 30, TUESDAY).isoformat(), at(10, day=TUESDAY).isoformat(),
                      at(10, 30, TUESDAY).isoformat()]


def test_naive_datetimes_are_the_organisations_local_time(world):
    response = slots(world, **pmi(world, start=f"{MONDAY}T10:00:00", end=f"{MONDAY}T11:00:00"))
    assert [row["starts_at"] for row in response.json()["results"]] == [at(10).isoformat(), at(10, 30).isoformat()]


def test_agent_audience_gives_one_slot_per_agent_and_agent_filter(world):
    with tenant_context(world.administration):
        second = AgentFactory(services=[world.services["pmi"]], organisation=world.org)
        AvailabilityFactory(agent=second, location=world.location, first_day=MONDAY, appointment_types=[world.pmi_type])
    day = {"start": MONDAY.isoformat(), "end": MONDAY.isoformat()}
    usager = slots(world, "admin", **pmi(world, **day)).json()["results"]
    assert len(usager) == 6 and usager[0]["agents"] == sorted([world.agents["basic"].pk, second.pk])
    agent = slots(world, "admin", **pmi(world, audience="agent", **day)).json()["results"]
    assert len(agent) == 12 and {tuple(row["agents"]) for row in agent} == {(world.agents["basic"].pk,), (second.pk,)}
    only = slots(world, "admin", **pmi(world, agent=second.pk, **day)).json()["results"]
    assert {tuple(row["agents"]) for row in only} == {(second.pk,)}


def test_agent_audience_needs_the_right_to_book_the_type(world):
    day = {"start": MONDAY.isoformat(), "end": MONDAY.isoformat()}
    assert slots(world, "colleague", **pmi(world, **day)).status_code == 200
    refused = slots(world, "colleague", **pmi(world, audience="agent", **day))
    assert refused.status_code == 403
    assert "autre service" in refused.json()["detail"]
    assert slots(world, "secretary", **pmi(world, audience="agent", **day)).status_code == 200


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": None}, "start", "Ce champ est obligatoire."),
        ({"appointment_type": None}, "appointment_type", "Ce champ est obligatoire."),
        ({"start": "07/12/2026"}, "start", "Date invalide"),
        ({"end": "2026-13-45"}, "end", "Date invalide"),
        ({"start": "2026-12-07T25:00"}, "start", "Date invalide"),
        ({"appointment_type": "abc"}, "appointment_type", "Un nombre entier valide est requis."),
        ({"appointment_type": 999999999}, "appointment_type", "Motif introuvable."),
        ({"location": 999999999}, "location", "Lieu introuvable pour ce motif."),
        ({"agent": 999999999}, "agent", "Agent introuvable pour ce motif."),
        ({"audience": "robot"}, "audience", "n'est pas un choix valide"),
        ({"start": "+10 days", "end": "+9 days"}, "end", "La fin doit être après le début."),
        ({"start": "+0 days", "end": "+31 days"}, "end", "La période demandée dépasse 31 jours."),
    ],
)
def test_bad_slot_queries_get_french_field_errors(world, params, field, message):
    query = pmi(world, start=MONDAY.isoformat(), end=(MONDAY + timedelta(days=6)).isoformat())
    for key, value in params.items():
        if value is None:
            query.pop(key)
        elif isinstance(value, str) and value.startswith("+"):
            query[key] = (MONDAY + timedelta(days=int(value.split()[0]))).isoformat()
        else:
            query[key] = value
    response = slots(world, **query)
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


def test_invisible_type_location_or_agent_read_as_unknown(world):
    day = {"start": MONDAY.isoformat(), "end": MONDAY.isoformat()}
    other = {"appointment_type": world.other_type.pk, **day}
    assert slots(world, **other).json() == {"appointment_type": ["Motif introuvable."]}
    wrong_place = pmi(world, location=world.other_location.pk, **day)
    assert slots(world, **wrong_place).json() == {"location": ["Lieu introuvable pour ce motif."]}
    outsider = pmi(world, agent=world.agents["outsider"].pk, **day)
    assert slots(world, **outsider).json() == {"agent": ["Agent introuvable pour ce motif."]}
    assert slots(world, "outsider", **other).status_code == 200


def test_thirty_one_days_is_the_longest_range(world):
    ok = slots(world, **pmi(world, start=MONDAY.isoformat(), end=(MONDAY + timedelta(days=30)).isoformat()))
    assert ok.status_code == 200


def _grow(world, count):
    """More agents, availabilities and appointments of the same type: must not cost more queries."""
    with tenant_context(world.administration):
        for index in range(count):
            agent = AgentFactory(services=[world.services["pmi"]], organisation=world.org)
            AvailabilityFactory(agent=agent, location=world.location, first_day=MONDAY,
                                appointment_types=[world.pmi_type])
            appointment_create(
                appointment_type=world.pmi_type, starts_at=at(9 + index % 3, day=TUESDAY), agents=[agent],
                citizens=[CitizenFactory()], actor=Actor.for_agent(agent), location=world.location,
                accept_warnings=True,
            )


# search_path, token, agent, roles, services, type, location, then availabilities, appointments, absences.
SLOTS_QUERIES = 10
NEXT_QUERIES = 9  # the same without the location check: next availability per location of the type


def measured(assert_num_queries, count):
    """Each measured request starts from the public schema, as a request on a pooled connection may."""
    connection.set_schema_to_public()
    return assert_num_queries(count)


def test_slots_query_count_is_pinned_and_does_not_grow(world, django_assert_num_queries):
    client = world.client("basic")
    params = pmi(world, start=MONDAY.isoformat(), end=(MONDAY + timedelta(days=13)).isoformat())
    client.get("/api/v1/slots", params)  # warm the host cache
    with measured(django_assert_num_queries, SLOTS_QUERIES):
        assert client.get("/api/v1/slots", params).status_code == 200
    _grow(world, 6)
    with measured(django_assert_num_queries, SLOTS_QUERIES):
        assert len(client.get("/api/v1/slots", params).json()["results"]) > 0


def test_next_availability_per_location_and_for_one(world, django_assert_num_queries):
    client = world.client("basic")
    params = {"appointment_type": world.pmi_type.pk, "after": TUESDAY.isoformat()}
    client.get("/api/v1/next-availability", params)
    with measured(django_assert_num_queries, NEXT_QUERIES):
        response = client.get("/api/v1/next-availability", params)
    assert response.json() == {"results": [{
        "starts_at": at(9, 30, TUESDAY).isoformat(), "ends_at": at(10, day=TUESDAY).isoformat(),
        "location": world.location.pk, "agents": [world.agents["basic"].pk],
    }]}
    _grow(world, 4)
    with measured(django_assert_num_queries, NEXT_QUERIES):
        client.get("/api/v1/next-availability", params)
    one = client.get("/api/v1/next-availability", {**params, "location": world.location.pk}).json()["results"]
    assert [row["location"] for row in one] == [world.location.pk]


def test_next_availability_defaults_to_now_and_checks_its_input(world):
    client = world.client("basic")
    found = client.get("/api/v1/next-availability", {"appointment_type": world.pmi_type.pk}).json()["results"]
    assert found and found[0]["location"] == world.location.pk
    bad = client.get("/api/v1/next-availability", {"appointment_type": world.pmi_type.pk, "after": "demain"})
    assert bad.status_code == 400 and "Date invalide" in bad.json()["after"][0]
    missing = client.get("/api/v1/next-availability", {})
    assert missing.json() == {"appointment_type": ["Ce champ est obligatoire."]}
