"""Booking: agents' bookings with warnings, computed slots for usagers, statuses, and the database
guarantee against double booking (including a real race between connections)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from scheduling import events
from scheduling.models import Appointment, AppointmentAgent, AppointmentChange, Participation
from scheduling.selectors import slots_for
from scheduling.services import (
    Actor,
    BookingWarnings,
    SlotUnavailable,
    appointment_book_slot,
    appointment_create,
    appointment_set_status,
    participation_set_status,
)
from tests.scheduling.factories import (
    AbsenceFactory,
    AgentFactory,
    AppointmentTypeFactory,
    AvailabilityFactory,
    CitizenFactory,
    LocationFactory,
    ServiceFactory,
)

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2027, 1, 4)
NOW = datetime(2027, 1, 1, 8, 0, tzinfo=PARIS)


def at(hour, minute=0, day=MONDAY):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        location = LocationFactory()
        organisation = location.organisation
        service = ServiceFactory()
        kind = AppointmentTypeFactory(organisation=organisation, service=service, duration_minutes=30)
        agents = [AgentFactory(services=[service], organisation=organisation) for _ in range(2)]
        for agent in agents:
            AvailabilityFactory(agent=agent, location=location, first_day=MONDAY, appointment_types=[kind])
        citizens = [CitizenFactory() for _ in range(4)]
        yield {"location": location, "type": kind, "agents": agents, "citizens": citizens, "organisation": organisation}


def actor(agent):
    return Actor.for_agent(agent)


def test_agent_books_and_everything_is_recorded(world):
    received = []
    events.appointment_booked.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t1")
    try:
        agent = world["agents"][0]
        appointment = appointment_create(
            appointment_type=world["type"], starts_at=at(9), agents=[agent], citizens=world["citizens"][:1],
            actor=actor(agent), location=world["location"],
        )
    finally:
        events.appointment_booked.disconnect(dispatch_uid="t1")
    assert appointment.ends_at == at(9, 30)
    link = AppointmentAgent.objects.get(appointment=appointment)
    assert (link.agent, link.starts_at, link.ends_at, link.blocks) == (agent, at(9), at(9, 30), True)
    assert Participation.objects.get(appointment=appointment).citizen == world["citizens"][0]
    assert AppointmentChange.objects.get(appointment=appointment).action == "created"
    assert len(received) == 1 and received[0]["appointment"] == appointment
    assert world["organisation"] in world["citizens"][0].organisations.all()


def test_overlap_asks_for_confirmation_then_is_an_accepted_overlap(world):
    agent = world["agents"][0]
    kwargs = {"appointment_type": world["type"], "agents": [agent], "actor": actor(agent),
              "location": world["location"]}
    appointment_create(starts_at=at(9), citizens=world["citizens"][:1], **kwargs)
    with pytest.raises(BookingWarnings) as warned:
        appointment_create(starts_at=at(9, 15), citizens=world["citizens"][1:2], **kwargs)
    assert "a déjà un rendez-vous de 09:00 à 09:30" in warned.value.warnings[0]
    assert Appointment.objects.count() == 1
    second = appointment_create(starts_at=at(9, 15), citizens=world["citizens"][1:2], accept_warnings=True, **kwargs)
    assert second.accepted_overlap
    assert not AppointmentAgent.objects.get(appointment=second).blocks


def test_absence_and_same_day_warnings(world):
    agent = world["agents"][0]
    AbsenceFactory(agent=agent, first_day=MONDAY, start_time=at(10).time(), end_time=at(11).time())
    kwargs = {"appointment_type": world["type"], "agents": [agent], "actor": actor(agent),
              "location": world["location"], "citizens": world["citizens"][:1]}
    appointment_create(starts_at=at(9), **kwargs)
    with pytest.raises(BookingWarnings) as warned:
        appointment_create(starts_at=at(10, 30), **kwargs)
    text = " ".join(warned.value.warnings)
    assert "absent(e)" in text and "même jour" in text


def test_exact_duplicate_is_refused_even_when_accepting_warnings(world):
    agent = world["agents"][0]
    kwargs = {"appointment_type": world["type"], "agents": [agent], "actor": actor(agent), "starts_at": at(9),
              "location": world["location"], "citizens": world["citizens"][:1], "accept_warnings": True}
    appointment_create(**kwargs)
    with pytest.raises(ValidationError, match="existe déjà"):
        appointment_create(**kwargs)


def test_in_person_needs_a_location(world):
    agent = world["agents"][0]
    with pytest.raises(ValidationError) as error:
        appointment_create(appointment_type=world["type"], starts_at=at(9), agents=[agent],
                           citizens=world["citizens"][:1], actor=actor(agent))
    assert "besoin d'un lieu" in str(error.value)


def test_database_forbids_two_blocking_rows_of_one_agent_overlapping(world):
    agent = world["agents"][0]
    first = appointment_create(appointment_type=world["type"], starts_at=at(9), agents=[agent],
                               citizens=world["citizens"][:1], actor=actor(agent), location=world["location"])
    other = Appointment.objects.create(organisation=first.organisation, appointment_type=first.appointment_type,
                                       location=first.location, starts_at=at(9, 29), ends_at=at(9, 59))
    with pytest.raises(IntegrityError, match="no_double_booking"), transaction.atomic():
        AppointmentAgent.objects.create(appointment=other, agent=agent, starts_at=at(9, 29), ends_at=at(9, 59))
    # Touching is not overlapping.
    AppointmentAgent.objects.create(appointment=other, agent=agent, starts_at=at(9, 30), ends_at=at(10))


def test_usager_books_a_computed_slot_and_agents_are_shared_fairly(world):
    kind, location = world["type"], world["location"]
    citizen_actor = Actor(kind="citizen", label="usager")
    made = [
        appointment_book_slot(appointment_type=kind, location=location, starts_at=at(9), citizens=[c],
                              actor=citizen_actor, now=NOW)
        for c in world["citizens"][:2]
    ]
    assert {m.agents.get() for m in made} == set(world["agents"])
    with pytest.raises(SlotUnavailable):
        appointment_book_slot(appointment_type=kind, location=location, starts_at=at(9),
                              citizens=world["citizens"][2:3], actor=citizen_actor, now=NOW)
    # The least booked agent of the day gets the next booking.
    third = appointment_book_slot(appointment_type=kind, location=location, starts_at=at(9, 30),
                                  citizens=world["citizens"][2:3], actor=citizen_actor, now=NOW)
    fourth = appointment_book_slot(appointment_type=kind, location=location, starts_at=at(10),
                                   citizens=world["citizens"][3:4], actor=citizen_actor, now=NOW)
    assert third.agents.get() != fourth.agents.get()


@pytest.mark.parametrize(
    ("starts_at", "why"),
    [
        (at(9, 10), "off the grid"),
        (at(12), "after the opening"),
        (at(9, day=MONDAY - timedelta(days=7)), "before the first day"),
        (at(9, day=date(2027, 6, 7)), "beyond the booking window"),
        (at(8, 50, day=date(2027, 1, 1)), "inside the minimum delay"),
    ],
)
def test_not_a_slot(world, starts_at, why):
    with pytest.raises(SlotUnavailable, match="n'est pas disponible"):
        appointment_book_slot(appointment_type=world["type"], location=world["location"], starts_at=starts_at,
                              citizens=world["citizens"][:1], actor=Actor(kind="citizen", label="u"), now=NOW)
    assert Appointment.objects.count() == 0


def test_cancelling_frees_the_time_and_cancels_participations(world):
    agent = world["agents"][0]
    appointment = appointment_create(appointment_type=world["type"], starts_at=at(9), agents=[agent],
                                     citizens=world["citizens"][:2], actor=actor(agent), location=world["location"])
    busy = slots_for(appointment_type=world["type"], start=at(9), end=at(9, 30), audience="agent", now=NOW)
    assert [s.agent_ids for s in busy] == [(world["agents"][1].pk,)]
    appointment_set_status(appointment=appointment, status="excused", actor=actor(agent))
    appointment.refresh_from_db()
    assert appointment.status == "excused" and appointment.cancelled_at
    assert set(appointment.participations.values_list("status", flat=True)) == {"excused"}
    assert not AppointmentAgent.objects.get(appointment=appointment).blocks
    freed = slots_for(appointment_type=world["type"], start=at(9), end=at(9, 30), audience="agent", now=NOW)
    assert len(freed) == 2
    # Back to "à venir": the time must be free again, or the reset is refused.
    appointment_set_status(appointment=appointment, status="unknown", actor=actor(agent))
    assert AppointmentAgent.objects.get(appointment=appointment).blocks
    assert set(appointment.participations.values_list("status", flat=True)) == {"unknown"}


def test_reset_refused_when_the_time_was_taken(world):
    agent = world["agents"][0]
    kwargs = {"appointment_type": world["type"], "agents": [agent], "actor": actor(agent), "starts_at": at(9),
              "location": world["location"]}
    first = appointment_create(citizens=world["citizens"][:1], **kwargs)
    appointment_set_status(appointment=first, status="revoked", actor=actor(agent))
    appointment_create(citizens=world["citizens"][1:2], **kwargs)
    with pytest.raises(SlotUnavailable):
        appointment_set_status(appointment=first, status="unknown", actor=actor(agent))
    first.refresh_from_db()
    assert first.status == "revoked"


def test_participations_drive_the_appointment_status(world):
    agent = world["agents"][0]
    appointment = appointment_create(appointment_type=world["type"], starts_at=at(9), agents=[agent],
                                     citizens=world["citizens"][:2], actor=actor(agent), location=world["location"])
    first, second = appointment.participations.order_by("pk")
    participation_set_status(participation=first, status="noshow", actor=actor(agent))
    appointment.refresh_from_db()
    assert appointment.status == "unknown"
    participation_set_status(participation=second, status="noshow", actor=actor(agent))
    appointment.refresh_from_db()
    assert appointment.status == "noshow"
    participation_set_status(participation=second, status="seen", actor=actor(agent))
    appointment.refresh_from_db()
    assert appointment.status == "seen"
    history = list(appointment.changes.values_list("action", flat=True))
    assert history.count("participation_status") == 3


def test_collective_sessions_refuse_individual_statuses(administration_a):
    with tenant_context(administration_a):
        location = LocationFactory()
        service = ServiceFactory()
        kind = AppointmentTypeFactory(organisation=location.organisation, service=service, collective=True,
                                      default_capacity=10)
        agent = AgentFactory(services=[service], organisation=location.organisation)
        session = appointment_create(appointment_type=kind, starts_at=at(14), agents=[agent], citizens=[],
                                     actor=actor(agent), location=location, title="Atelier budget")
        assert session.capacity == 10
        with pytest.raises(ValidationError, match="RDV collectif"):
            appointment_set_status(appointment=session, status="noshow", actor=actor(agent))


def test_many_clients_racing_for_one_slot_book_it_once(django_db_setup, django_db_blocker):
    """Real concurrency: each thread has its own database connection and transaction, so the data is
    committed (no ``db`` fixture here) and removed at the end."""
    from tenants.models import Administration

    with django_db_blocker.unblock():
        administration_a = Administration.objects.get(slug="test-a")
    with django_db_blocker.unblock(), tenant_context(administration_a):
        location = LocationFactory()
        service = ServiceFactory()
        kind = AppointmentTypeFactory(organisation=location.organisation, service=service)
        agent = AgentFactory(services=[service], organisation=location.organisation)
        AvailabilityFactory(agent=agent, location=location, first_day=MONDAY, appointment_types=[kind])
        citizens = [CitizenFactory() for _ in range(8)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(citizens))

    def book(citizen):
        from django.db import connections

        try:
            with django_db_blocker.unblock(), tenant_context(administration_a):
                barrier.wait()
                try:
                    appointment_book_slot(appointment_type=kind, location=location, starts_at=at(9),
                                          citizens=[citizen], actor=Actor(kind="citizen", label="u"), now=NOW)
                    outcomes.append("booked")
                except SlotUnavailable:
                    outcomes.append("taken")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=(c,)) for c in citizens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert sorted(outcomes) == ["booked"] + ["taken"] * (len(citizens) - 1)
        with django_db_blocker.unblock(), tenant_context(administration_a):
            assert Appointment.objects.filter(appointment_type=kind).count() == 1
    finally:
        with django_db_blocker.unblock(), tenant_context(administration_a):
            Appointment.objects.filter(appointment_type=kind).delete()
            for model_object in (*citizens, agent):
                type(model_object).objects.filter(pk=model_object.pk).delete()
            kind.availabilities.all().delete()
            kind.delete()
            user = agent.user
            location.delete()
            location.organisation.delete()
            service.delete()
            if user is not None:
                type(user).objects.filter(pk=user.pk).delete()
        connection.set_schema_to_public()


def test_moving_an_appointment(world):
    from scheduling.services import appointment_move

    first, second = world["agents"]
    received = []
    appointment = appointment_create(appointment_type=world["type"], starts_at=at(9), agents=[first],
                                     citizens=world["citizens"][:1], actor=actor(first), location=world["location"])
    events.appointment_moved.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="move-test")
    try:
        moved = appointment_move(appointment=appointment, actor=actor(first), starts_at=at(10), agents=[second])
    finally:
        events.appointment_moved.disconnect(dispatch_uid="move-test")
    assert (moved.starts_at, moved.ends_at) == (at(10), at(10, 30))
    link = AppointmentAgent.objects.get(appointment=moved)
    assert (link.agent, link.starts_at, link.blocks) == (second, at(10), True)
    assert received[0]["previous"]["starts_at"] == at(9) and received[0]["previous"]["agent_ids"] == [first.pk]
    assert moved.changes.filter(action="moved").exists()
    # The old time is free again, the new one taken.
    free = slots_for(appointment_type=world["type"], start=at(9), end=at(9, 30), audience="agent", now=NOW)
    assert {s.agent_ids for s in free} == {(first.pk,), (second.pk,)}


def test_moving_onto_a_colleagues_appointment_warns_then_overlaps(world):
    from scheduling.services import appointment_move

    agent = world["agents"][0]
    kwargs = {"appointment_type": world["type"], "agents": [agent], "actor": actor(agent),
              "location": world["location"]}
    appointment_create(starts_at=at(9), citizens=world["citizens"][:1], **kwargs)
    other = appointment_create(starts_at=at(11), citizens=world["citizens"][1:2], **kwargs)
    with pytest.raises(BookingWarnings):
        appointment_move(appointment=other, actor=actor(agent), starts_at=at(9, 15))
    other.refresh_from_db()
    assert other.starts_at == at(11)
    moved = appointment_move(appointment=other, actor=actor(agent), starts_at=at(9, 15), accept_warnings=True)
    assert moved.accepted_overlap and not AppointmentAgent.objects.get(appointment=moved).blocks


def test_a_cancelled_appointment_is_not_moved(world):
    from scheduling.services import appointment_move

    agent = world["agents"][0]
    appointment = appointment_create(appointment_type=world["type"], starts_at=at(9), agents=[agent],
                                     citizens=world["citizens"][:1], actor=actor(agent), location=world["location"])
    appointment_set_status(appointment=appointment, status="revoked", actor=actor(agent))
    with pytest.raises(ValidationError, match="annulé"):
        appointment_move(appointment=appointment, actor=actor(agent), starts_at=at(10))
