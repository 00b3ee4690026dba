"""The whole path with a real Celery worker and real Redis: a booking commits, its rows go on the broker
after commit and the worker sends them; with Redis unreachable while booking, the booking succeeds, the
rows wait, and the sweeper (run through the worker) sends each of them once.

The worker thread has its own database connection, so the data is committed (no ``db`` fixture) and
removed at the end."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import tenant_context

from messaging import tasks
from messaging.models import Kind, Message, MessageStatus
from scheduling.models import Agent, AgentRole, Appointment, AppointmentChange, Citizen
from scheduling.services import Actor, appointment_create
from tests.messaging.conftest import MOBILE, in_days
from tests.messaging.test_sending import broker_at, closed_port
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    CitizenFactory,
    LocationFactory,
    ServiceFactory,
)


@pytest.fixture
def committed_world(django_db_setup, django_db_blocker):
    from tenants.models import Administration

    with django_db_blocker.unblock():
        administration = Administration.objects.get(slug="test-a")
    with django_db_blocker.unblock(), tenant_context(administration):
        location = LocationFactory()
        organisation = location.organisation
        service = ServiceFactory()
        kind = AppointmentTypeFactory(organisation=organisation, service=service)
        agents = [AgentFactory(services=[service], organisation=organisation) for _ in range(2)]
        citizen = CitizenFactory(phone=MOBILE)
    world = {"administration": administration, "location": location, "type": kind, "agents": agents,
             "citizen": citizen}
    mail.outbox = []
    try:
        yield world
    finally:
        with django_db_blocker.unblock(), tenant_context(administration):
            appointments = Appointment.objects.filter(appointment_type=kind)
            Message.objects.filter(appointment__in=appointments).delete()
            AppointmentChange.objects.filter(appointment__in=appointments).delete()
            appointments.delete()
            Citizen.objects.filter(pk=citizen.pk).delete()
            kind.delete()
            users = [agent.user for agent in agents]
            AgentRole.objects.filter(organisation=organisation).delete()
            Agent.objects.filter(pk__in=[agent.pk for agent in agents]).delete()
            for user in users:
                type(user).objects.filter(pk=user.pk).delete()
            location.delete()
            AppointmentChange.objects.filter(organisation=organisation).delete()
            organisation.delete()
            service.delete()
        connection.set_schema_to_public()


def _book(world):
    author = world["agents"][0]
    return appointment_create(
        appointment_type=world["type"], starts_at=in_days(10), agents=world["agents"], citizens=[world["citizen"]],
        actor=Actor.for_agent(author), location=world["location"], accept_warnings=True,
    )


def _wait_until_sent(appointment, expected: int, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = list(Message.objects.filter(appointment=appointment, kind=Kind.BOOKED)
                        .values_list("status", flat=True))
        if len(statuses) == expected and all(status == MessageStatus.SENT for status in statuses):
            return statuses
        time.sleep(0.2)
    raise AssertionError(f"not sent in time: {statuses}")


def test_booking_is_sent_by_the_worker_after_commit(worker, committed_world, django_db_blocker):
    with django_db_blocker.unblock(), tenant_context(committed_world["administration"]):
        appointment = _book(committed_world)
        _wait_until_sent(appointment, expected=3)  # usager e-mail and SMS, the other agent's e-mail
        assert sorted(message.to[0] for message in mail.outbox) == sorted(
            [committed_world["citizen"].email, committed_world["agents"][1].user.email])


def test_redis_down_while_booking_then_the_sweeper_sends_once(worker, committed_world, django_db_blocker):
    with django_db_blocker.unblock(), tenant_context(committed_world["administration"]):
        with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
            appointment = _book(committed_world)  # the booking succeeds
        booked = Message.objects.filter(appointment=appointment, kind=Kind.BOOKED)
        assert set(booked.values_list("status", "queued_at")) == {(MessageStatus.PENDING, None)}
        tasks.sweep.delay()  # Redis is back: what beat does every minute
        _wait_until_sent(appointment, expected=3)
        assert tasks.sweep.apply().get() == 0  # nothing left to send
        assert len(mail.outbox) == 2
        assert set(booked.values_list("attempts", flat=True)) == {1}
