"""API v1: booking (computed slots and the agent path with warnings), 409 on a taken slot, French 400s,
statuses of appointments and participations, and pinned query counts of the lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from scheduling.models import Appointment, AppointmentChange, Location, Participation
from scheduling.services import Actor, appointment_create
from tests.scheduling.api_world import MONDAY, TUESDAY, at, build_world
from tests.scheduling.factories import AbsenceFactory, AgentFactory, CitizenFactory


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def book(world, persona="basic", **payload):
    body = {"appointment_type": world.pmi_type.pk, "location": world.location.pk,
            "starts_at": at(9).isoformat(), "citizens": [world.citizen.pk], **payload}
    return world.client(persona).post("/api/v1/appointments/", body, content_type="application/json")


def test_booking_a_computed_slot_returns_201_with_the_appointment(world):
    response = book(world, context="Premier rendez-vous")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["starts_at"] == at(9).isoformat() and body["ends_at"] == at(9, 30).isoformat()
    assert body["agents"] == [world.agents["basic"].pk]
    assert body["created_by"] == "api" and body["status"] == "unknown" and body["context"] == "Premier rendez-vous"
    assert [p["citizen"] for p in body["participations"]] == [world.citizen.pk]
    with tenant_context(world.administration):
        change = AppointmentChange.objects.get(appointment_id=body["id"])
        assert change.actor_agent == world.agents["basic"]


def test_naive_start_is_the_organisations_local_time(world):
    response = book(world, starts_at=f"{MONDAY}T09:30:00")
    assert response.status_code == 201
    assert response.json()["starts_at"] == at(9, 30).isoformat()


def test_a_taken_slot_is_a_409_in_french(world):
    assert book(world).status_code == 201
    again = book(world)
    assert again.status_code == 409
    assert again.json() == {"detail": "Ce créneau n'est pas disponible. Choisissez un autre horaire."}
    not_a_slot = book(world, starts_at=at(9, 10).isoformat())
    assert not_a_slot.status_code == 409
    assert "n'est pas disponible" in not_a_slot.json()["detail"]
    with tenant_context(world.administration):
        assert Appointment.objects.filter(appointment_type=world.pmi_type, starts_at=at(9)).count() == 1


def test_within_the_minimum_delay_usager_rules_refuse_and_agent_rules_accept(world):
    with tenant_context(world.administration):
        world.pmi_type.min_booking_delay = timedelta(days=30)
        world.pmi_type.max_booking_delay = timedelta(days=60)
        world.pmi_type.save()
    assert book(world).status_code == 409
    assert book(world, audience="agent").status_code == 201


def test_agent_path_returns_warnings_unless_accepted(world):
    with tenant_context(world.administration):
        AbsenceFactory(agent=world.agents["basic"], first_day=MONDAY, title="Formation")
    payload = {"agents": [world.agents["basic"].pk], "starts_at": at(14).isoformat()}
    warned = book(world, **payload)
    assert warned.status_code == 400
    body = warned.json()
    assert "accept_warnings" in body["detail"]
    assert any("absent(e)" in warning for warning in body["warnings"])
    with tenant_context(world.administration):
        assert not Appointment.objects.filter(starts_at=at(14)).exists()
    accepted = book(world, accept_warnings=True, **payload)
    assert accepted.status_code == 201
    assert accepted.json()["agents"] == [world.agents["basic"].pk]


def test_agent_path_overlap_is_an_accepted_overlap_not_a_409(world):
    with tenant_context(world.administration):
        someone_else = CitizenFactory()
        someone_else.organisations.add(world.org)
    payload = {"agents": [world.agents["basic"].pk], "starts_at": at(9, day=TUESDAY).isoformat(),
               "citizens": [someone_else.pk]}
    assert book(world, **payload).status_code == 400  # basic already has pmi_appt then
    accepted = book(world, accept_warnings=True, **payload).json()
    assert accepted["accepted_overlap"] is True


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"appointment_type": None}, "appointment_type", "Ce champ est obligatoire."),
        ({"appointment_type": 999999999}, "appointment_type", "introuvable"),
        ({"appointment_type": "x"}, "appointment_type", "un nombre entier est attendu"),
        ({"starts_at": "lundi 9h"}, "starts_at", "La date + heure n'a pas le bon format"),
        ({"citizens": [999999999]}, "citizens", "introuvable"),
        ({"citizens": "1"}, "citizens", "liste"),
        ({"location": 999999999}, "location", "introuvable"),
        ({"agents": []}, "agents", "vide"),
        ({"agents": [999999999]}, "agents", "introuvable"),
        ({"audience": "robot"}, "audience", "n'est pas un choix valide"),
        ({"location": None}, "location", "besoin d'un lieu"),
        ({"citizens": [], "agents": "basic"}, "citizens", "au moins un usager"),
    ],
)
def test_bad_bookings_get_french_field_errors(world, payload, field, message):
    body = {"appointment_type": world.pmi_type.pk, "location": world.location.pk, "starts_at": at(9).isoformat(),
            "citizens": [world.citizen.pk]}
    for key, value in payload.items():
        if value is None and key != "location":
            body.pop(key)
        elif value == "basic":
            body[key] = [world.agents["basic"].pk]
        else:
            body[key] = value
    response = world.client("basic").post("/api/v1/appointments/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert message.lower() in " ".join(response.json()[field]).lower(), response.json()
    with tenant_context(world.administration):
        assert not Appointment.objects.filter(starts_at=at(9)).exists()


def test_invisible_things_cannot_be_booked(world):
    other_citizen = book(world, citizens=[world.other_citizen.pk])
    assert other_citizen.status_code == 400 and "citizens" in other_citizen.json()
    other_place = book(world, location=world.other_location.pk)
    assert other_place.status_code == 400 and "location" in other_place.json()
    outsider = book(world, agents=[world.agents["outsider"].pk])
    assert outsider.status_code == 400 and "agents" in outsider.json()
    with tenant_context(world.administration):
        stranger = AgentFactory(services=[world.services["pmi"]], organisation=world.other_org)
        from scheduling.models import AgentRole

        AgentRole.objects.create(agent=world.agents["basic"], organisation=world.other_org)
    # Visible (basic now has a role in both), but without a role in the type's organisation.
    no_role = book(world, agents=[stranger.pk])
    assert no_role.status_code == 400
    assert "sans rôle dans l'organisation du motif" in no_role.json()["agents"][0]


def test_persona_matrix_for_booking(world):
    assert book(world, "colleague").status_code == 403  # PMI type, social service
    assert "autre service" in book(world, "colleague").json()["detail"]
    assert book(world, "outsider").status_code == 400  # the type is invisible to him
    assert book(world, "secretary", starts_at=at(9, 30).isoformat()).status_code == 201
    assert book(world, "admin", starts_at=at(10).isoformat()).status_code == 201
    assert book(world, "basic", starts_at=at(10, 30).isoformat()).status_code == 201
    assert book(world, "no_profile").status_code == 403
    assert book(world, "anonymous").status_code == 401


def test_appointments_are_not_patched_and_deleted_by_admins_only_with_their_trail_kept(world):
    appointment = world.appointments["pmi_appt"]
    url = f"/api/v1/appointments/{appointment.pk}/"
    assert world.client("admin").patch(url, {}, content_type="application/json").status_code == 405
    assert world.client("basic").delete(url).json() == {
        "detail": "Seuls les administrateurs de l'organisation suppriment un rendez-vous."
    }
    assert world.client("outsider").delete(url).status_code == 404
    assert world.client("admin").delete(url).status_code == 204
    assert world.client("admin").get(url).status_code == 404
    with tenant_context(world.administration):
        trail = list(AppointmentChange.objects.filter(appointment_uuid=appointment.uuid).order_by("at", "id"))
        assert [change.action for change in trail][-1] == "deleted"
        assert all(change.appointment_id is None and change.organisation_id == world.org.pk for change in trail)
        deleted = trail[-1]
        assert deleted.actor_agent == world.agents["admin"]
        assert deleted.changes["citizens"] == [world.citizen.pk]
        assert deleted.changes["agents"] == [world.agents["basic"].pk]
        assert not Participation.objects.filter(citizen=world.citizen, appointment_id=appointment.pk).exists()
    # The agent's time is free again.
    again = world.client("admin").post("/api/v1/appointments/", {
        "appointment_type": world.pmi_type.pk, "location": world.location.pk, "citizens": [world.citizen.pk],
        "starts_at": appointment.starts_at.isoformat(), "agents": [world.agents["basic"].pk],
    }, content_type="application/json")
    assert again.status_code == 201, again.content


# --- Statuses ------------------------------------------------------------------------------------

def set_status(world, persona, kind, pk, value):
    return world.client(persona).post(f"/api/v1/{kind}/{pk}/status/", {"status": value},
                                      content_type="application/json")


def test_appointment_status_propagates_to_participations(world):
    appointment = world.appointments["pmi_appt"]
    response = set_status(world, "basic", "appointments", appointment.pk, "revoked")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "revoked" and body["cancelled_at"]
    assert [p["status"] for p in body["participations"]] == ["revoked"]
    # The slot is free again: it can be booked through the API.
    free = book(world, starts_at=at(9, day=TUESDAY).isoformat())
    assert free.status_code == 201
    # Back to unknown collides with the new booking: 409, nothing changed.
    back = set_status(world, "basic", "appointments", appointment.pk, "unknown")
    assert back.status_code == 409
    with tenant_context(world.administration):
        assert Appointment.objects.get(pk=appointment.pk).status == "revoked"


def test_participation_status_drives_the_appointment(world):
    with tenant_context(world.administration):
        participation = Participation.objects.get(appointment=world.appointments["pmi_appt"])
    response = set_status(world, "basic", "participations", participation.pk, "excused")
    assert response.status_code == 200
    assert response.json()["status"] == "excused"
    assert response.json()["appointment_status"] == "excused"
    with tenant_context(world.administration):
        assert Appointment.objects.get(pk=world.appointments["pmi_appt"].pk).status == "excused"


@pytest.mark.parametrize(("persona", "code"), [
    ("basic", 200), ("colleague", 404), ("secretary", 200), ("admin", 200), ("outsider", 404),
    ("no_profile", 403), ("anonymous", 401),
])
def test_status_persona_matrix(world, persona, code):
    appointment = world.appointments["pmi_appt"]
    assert set_status(world, persona, "appointments", appointment.pk, "seen").status_code == code
    with tenant_context(world.administration):
        participation = Participation.objects.get(appointment=appointment)
    assert set_status(world, persona, "participations", participation.pk, "seen").status_code == code


@pytest.mark.parametrize("value", ["", "annulé", None])
def test_bad_status_is_a_french_400(world, value):
    client = world.client("basic")
    pk = world.appointments["pmi_appt"].pk
    body = {} if value is None else {"status": value}
    response = client.post(f"/api/v1/appointments/{pk}/status/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["status"]


def test_collective_rules_of_the_service_become_400(world):
    with tenant_context(world.administration):
        from tests.scheduling.factories import AppointmentTypeFactory

        workshop = AppointmentTypeFactory(organisation=world.org, service=world.services["pmi"], collective=True,
                                          default_capacity=5)
        session = appointment_create(
            appointment_type=workshop, starts_at=at(15), agents=[world.agents["basic"]], citizens=[],
            actor=Actor.for_agent(world.agents["basic"]), location=world.location, accept_warnings=True,
        )
    response = set_status(world, "basic", "appointments", session.pk, "noshow")
    assert response.status_code == 400
    assert "collectif" in response.json()["status"][0]


# --- Lists: filters and query counts -------------------------------------------------------------

def test_appointment_filters(world):
    client = world.client("admin")
    pmi_appt = world.appointments["pmi_appt"]

    def ids(**params):
        return {row["id"] for row in client.get("/api/v1/appointments/", params).json()["results"]}

    assert ids(agent=world.agents["basic"].pk) == {pmi_appt.pk, world.appointments["assigned_appt"].pk}
    assert ids(status="seen") == set()
    assert ids(start=TUESDAY.isoformat(), end=TUESDAY.isoformat()) == {
        world.appointments[name].pk for name in ("pmi_appt", "social_appt", "assigned_appt")}
    assert ids(start=(TUESDAY + timedelta(days=1)).isoformat()) == set()
    assert ids(citizen=world.citizen.pk, organisation=world.org.pk) == {
        world.appointments[name].pk for name in ("pmi_appt", "social_appt", "assigned_appt")}
    bad = client.get("/api/v1/appointments/", {"start": "hier", "status": "x"})
    assert bad.status_code == 400 and set(bad.json()) == {"start", "status"}
    assert client.get("/api/v1/appointments/", {"organisation": "x"}).status_code == 400


LIST_QUERIES = {
    # search_path, token, agent, roles, services, count, page, then prefetches
    "appointments": 9,  # + agent links, participations
    "participations": 7,
    "agents": 9,  # + services, roles
    "availabilities": 8,  # + types
    "citizens": 8,  # + organisations
    "absences": 7,
    "locations": 7,
    "appointment-types": 7,
    "organisations": 7,
    "services": 7,
}


def _more_data(world, count):
    with tenant_context(world.administration):
        for index in range(count):
            agent = AgentFactory(services=[world.services["pmi"]], organisation=world.org)
            citizen = CitizenFactory()
            appointment_create(
                appointment_type=world.pmi_type, starts_at=at(8, day=TUESDAY + timedelta(days=index)), agents=[agent],
                citizens=[citizen, CitizenFactory()], actor=Actor.for_agent(agent), location=world.location,
                accept_warnings=True,
            )
            AbsenceFactory(agent=agent, first_day=MONDAY)


@pytest.mark.parametrize("resource", sorted(LIST_QUERIES))
def test_list_query_count_is_pinned_and_does_not_grow(world, resource, django_assert_num_queries):
    client = world.client("admin")
    client.get(f"/api/v1/{resource}/")
    counts = []
    for _ in range(2):
        connection.set_schema_to_public()
        with django_assert_num_queries(LIST_QUERIES[resource]):
            counts.append(len(client.get(f"/api/v1/{resource}/").json()["results"]))
        _more_data(world, 3)
    if resource not in ("organisations", "locations", "appointment-types", "services", "availabilities"):
        assert counts[1] > counts[0]


def test_agent_audience_booking_shares_agents_fairly(world):
    """Agents' slots are one per agent: booking such a time chooses among every free agent by the fair rule
    (the least booked that day), as for usagers, not only the first agent's slot."""
    with tenant_context(world.administration):
        from tests.scheduling.factories import AvailabilityFactory

        second = AgentFactory(services=[world.services["pmi"]], organisation=world.org)
        AvailabilityFactory(agent=second, location=world.location, first_day=MONDAY,
                            appointment_types=[world.pmi_type])
        lower, higher = sorted([world.agents["basic"], second], key=lambda agent: agent.pk)
        appointment_create(appointment_type=world.pmi_type, starts_at=at(11), agents=[lower],
                           citizens=[CitizenFactory()], actor=Actor.for_agent(lower), location=world.location,
                           accept_warnings=True)
    made = book(world, "admin", audience="agent")
    assert made.status_code == 201
    assert made.json()["agents"] == [higher.pk]  # the less booked that day


def test_moving_through_the_api(world):
    created = book(world)
    assert created.status_code == 201
    url = f"/api/v1/appointments/{created.json()['id']}/move/"
    client = world.client("basic")
    moved = client.post(url, {"starts_at": at(10).isoformat()}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["starts_at"] == at(10).isoformat() and moved.json()["ends_at"] == at(10, 30).isoformat()
    with tenant_context(world.administration):
        assert AppointmentChange.objects.filter(appointment_id=created.json()["id"], action="moved").exists()
    bad = client.post(url, {"duration_minutes": 0}, content_type="application/json")
    assert bad.status_code == 400 and "duration_minutes" in bad.json()
    invisible = world.client("colleague").post(url, {"starts_at": at(11).isoformat()},
                                               content_type="application/json")
    assert invisible.status_code == 404


def test_registering_usagers_to_a_collective_session(world):
    from tests.scheduling.factories import AppointmentTypeFactory

    with tenant_context(world.administration):
        workshop = AppointmentTypeFactory(organisation=world.org, service=world.pmi_type.service, collective=True,
                                          default_capacity=1, name="Atelier")
        session = appointment_create(appointment_type=workshop, starts_at=at(14), agents=[world.agents["basic"]],
                                     citizens=[], actor=Actor.for_agent(world.agents["basic"]),
                                     location=world.location, title="Atelier parents")
        second = CitizenFactory()
        second.organisations.add(world.org)
    connection.set_schema_to_public()
    url = f"/api/v1/appointments/{session.pk}/participants/"
    client = world.client("basic")
    first = client.post(url, {"citizen": world.citizen.pk}, content_type="application/json")
    assert first.status_code == 201, first.content
    full = client.post(url, {"citizen": second.pk}, content_type="application/json")
    assert full.status_code == 400 and "complet" in str(full.json())
    not_collective = client.post(f"/api/v1/appointments/{world.appointments['pmi_appt'].pk}/participants/",
                                 {"citizen": second.pk}, content_type="application/json")
    assert not_collective.status_code == 400 and "collectif" in str(not_collective.json())


def test_single_use_location_is_created_with_an_agent_booking(world):
    body = {"appointment_type": world.pmi_type.pk, "citizens": [world.citizen.pk],
            "starts_at": at(15, day=TUESDAY).isoformat(), "agents": [world.agents["basic"].pk],
            "single_use_location": {"name": "Mairie de Crest", "address": "1 place du Marché, 26400 Crest"},
            "accept_warnings": True}
    client = world.client("basic")
    both = client.post("/api/v1/appointments/", {**body, "location": world.location.pk},
                       content_type="application/json")
    assert both.status_code == 400 and "pas les deux" in both.json()["single_use_location"][0]
    without_agents = client.post("/api/v1/appointments/", {**body, "agents": None} | {"agents": []},
                                 content_type="application/json")
    assert without_agents.status_code == 400
    no_address = client.post("/api/v1/appointments/", {**body, "single_use_location": {"name": "X"}},
                             content_type="application/json")
    assert no_address.status_code == 400 and "address" in no_address.json()["single_use_location"]
    created = client.post("/api/v1/appointments/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    with tenant_context(world.administration):
        place = Location.objects.get(pk=created.json()["location"])
        assert place.availability == Location.Availability.SINGLE_USE and place.organisation == world.org
    # Never offered for a plage d'ouverture.
    plage = client.post("/api/v1/availabilities/", {
        "agent": world.agents["basic"].pk, "organisation": world.org.pk, "location": place.pk,
        "appointment_types": [world.pmi_type.pk], "first_day": str(MONDAY), "start_time": "09:00",
        "end_time": "12:00",
    }, content_type="application/json")
    assert plage.status_code == 400 and "lieu actif" in plage.json()["location"][0]


def test_a_failed_booking_leaves_no_single_use_location_behind(world):
    with tenant_context(world.administration):
        before = Location.objects.count()
    taken = world.appointments["pmi_appt"]
    refused = world.client("basic").post("/api/v1/appointments/", {
        "appointment_type": world.pmi_type.pk, "citizens": [world.citizen.pk], "agents": [world.agents["basic"].pk],
        "starts_at": taken.starts_at.isoformat(),
        "single_use_location": {"name": "Ailleurs", "address": "2 rue Basse, 26000 Valence"},
    }, content_type="application/json")
    assert refused.status_code == 400, refused.content
    with tenant_context(world.administration):
        assert Location.objects.count() == before
