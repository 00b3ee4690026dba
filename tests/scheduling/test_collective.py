"""Collective sessions: seats counted under a row lock, registrations and withdrawals."""

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from scheduling import events
from scheduling.models import Appointment
from scheduling.services import (
    Actor,
    appointment_create,
    appointment_set_status,
    participant_add,
    participant_remove,
    participation_set_status,
)
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    CitizenFactory,
    LocationFactory,
    ServiceFactory,
)

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 1, 4, 14, tzinfo=PARIS)
AGENT_ACTOR = Actor(kind="agent", label="agent")


def _session(capacity):
    location = LocationFactory()
    service = ServiceFactory()
    kind = AppointmentTypeFactory(organisation=location.organisation, service=service, collective=True,
                                  default_capacity=capacity, duration_minutes=120)
    agent = AgentFactory(services=[service], organisation=location.organisation)
    return appointment_create(appointment_type=kind, starts_at=START, agents=[agent], citizens=[],
                              actor=Actor.for_agent(agent), location=location, title="Atelier numérique")


def test_registration_until_full_then_a_clear_message(administration_a):
    with tenant_context(administration_a):
        session = _session(capacity=2)
        citizens = [CitizenFactory() for _ in range(3)]
        added = []
        events.participant_added.connect(lambda **kw: added.append(kw["participation"]), weak=False,
                                         dispatch_uid="collective-test")
        try:
            first = participant_add(appointment=session, citizen=citizens[0], actor=AGENT_ACTOR)
            participant_add(appointment=session, citizen=citizens[1], actor=AGENT_ACTOR)
            with pytest.raises(ValidationError, match="complet"):
                participant_add(appointment=session, citizen=citizens[2], actor=AGENT_ACTOR)
            with pytest.raises(ValidationError, match="déjà inscrit"):
                participant_add(appointment=session, citizen=citizens[0], actor=AGENT_ACTOR)
            participant_remove(participation=first, actor=AGENT_ACTOR)
            participant_add(appointment=session, citizen=citizens[2], actor=AGENT_ACTOR)
        finally:
            events.participant_added.disconnect(dispatch_uid="collective-test")
        assert len(added) == 3
        assert session.participations.exclude(status__in=["excused", "revoked"]).count() == 2
        actions = list(session.changes.values_list("action", flat=True))
        assert actions.count("participant_added") == 3 and actions.count("participant_removed") == 1


def test_a_participation_status_in_a_session_frees_and_takes_seats_with_their_events(administration_a):
    with tenant_context(administration_a):
        session = _session(capacity=1)
        first, second = CitizenFactory(), CitizenFactory()
        heard = []
        for signal in (events.participant_added, events.participant_removed):
            signal.connect(lambda signal, **kw: heard.append(kw["participation"].citizen_id), weak=False,
                           dispatch_uid=f"seat-{id(signal)}")
        try:
            registration = participant_add(appointment=session, citizen=first, actor=AGENT_ACTOR)
            participation_set_status(participation=registration, status="excused", actor=AGENT_ACTOR)
            other = participant_add(appointment=session, citizen=second, actor=AGENT_ACTOR)  # the freed seat
            with pytest.raises(ValidationError, match="complet"):
                participation_set_status(participation=registration, status="unknown", actor=AGENT_ACTOR)
            participation_set_status(participation=other, status="revoked", actor=AGENT_ACTOR)
            participation_set_status(participation=registration, status="seen", actor=AGENT_ACTOR)
        finally:
            for signal in (events.participant_added, events.participant_removed):
                signal.disconnect(dispatch_uid=f"seat-{id(signal)}")
        assert heard == [first.pk, first.pk, second.pk, second.pk, first.pk]
        registration.refresh_from_db()
        session.refresh_from_db()
        assert registration.status == "seen" and session.status == "seen"


def test_revoked_session_refuses_registration(administration_a):
    with tenant_context(administration_a):
        session = _session(capacity=None)
        appointment_set_status(appointment=session, status="revoked", actor=AGENT_ACTOR)
        with pytest.raises(ValidationError, match="annulé"):
            participant_add(appointment=session, citizen=CitizenFactory(), actor=AGENT_ACTOR)


def test_individual_appointments_take_no_extra_participant(administration_a):
    with tenant_context(administration_a):
        location = LocationFactory()
        service = ServiceFactory()
        kind = AppointmentTypeFactory(organisation=location.organisation, service=service)
        agent = AgentFactory(services=[service], organisation=location.organisation)
        appointment = appointment_create(appointment_type=kind, starts_at=START, agents=[agent],
                                         citizens=[CitizenFactory()], actor=Actor.for_agent(agent), location=location)
        with pytest.raises(ValidationError, match="RDV collectif"):
            participant_add(appointment=appointment, citizen=CitizenFactory(), actor=AGENT_ACTOR)


def test_racing_for_the_last_seat(django_db_setup, django_db_blocker):
    """Six usagers at once for two seats: the row lock lets exactly two in (committed data, own connections)."""
    from tenants.models import Administration

    with django_db_blocker.unblock():
        administration = Administration.objects.get(slug="test-a")
        with tenant_context(administration):
            session = _session(capacity=2)
            citizens = [CitizenFactory() for _ in range(6)]
    outcomes = []
    barrier = threading.Barrier(len(citizens))

    def register(citizen):
        from django.db import connections

        try:
            with django_db_blocker.unblock(), tenant_context(administration):
                barrier.wait()
                try:
                    participant_add(appointment=session, citizen=citizen, actor=AGENT_ACTOR)
                    outcomes.append("in")
                except ValidationError:
                    outcomes.append("full")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register, args=(c,)) for c in citizens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert sorted(outcomes) == ["full"] * 4 + ["in"] * 2
    finally:
        with django_db_blocker.unblock(), tenant_context(administration):
            kind, location = session.appointment_type, session.location
            agents = list(session.agents.all())
            Appointment.objects.filter(pk=session.pk).delete()
            for citizen in citizens:
                type(citizen).objects.filter(pk=citizen.pk).delete()
            service = kind.service
            kind.delete()
            for agent in agents:
                user = agent.user
                agent.delete()
                if user is not None:
                    type(user).objects.filter(pk=user.pk).delete()
            organisation = location.organisation
            location.delete()
            organisation.delete()
            service.delete()
        connection.set_schema_to_public()


def test_session_blocks_its_agents_time(administration_a):
    from scheduling.models import AppointmentAgent

    with tenant_context(administration_a):
        session = _session(capacity=5)
        link = AppointmentAgent.objects.get(appointment=session)
        assert link.blocks and link.ends_at - link.starts_at == (session.ends_at - session.starts_at)
        assert session.starts_at.date() == date(2027, 1, 4)
