"""A small world inside administration A: an organisation, a place, a type, two agents with accounts,
usagers with e-mail and mobile. Dates are relative to the real clock (the outbox compares with now)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context

from messaging.models import MessagingSettings
from scheduling.services import Actor, appointment_create
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    CitizenFactory,
    LocationFactory,
    ServiceFactory,
)

PARIS = ZoneInfo("Europe/Paris")
MOBILE = "+33612345678"
LANDLINE = "+33123456789"


def in_days(days: int, hour: int = 10, minute: int = 0) -> datetime:
    day = (datetime.now(PARIS) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        location = LocationFactory(phone="0475000000")
        organisation = location.organisation
        organisation.phone = "0475111111"
        organisation.save()
        service = ServiceFactory(name="PMI")
        kind = AppointmentTypeFactory(organisation=organisation, service=service, duration_minutes=30,
                                      instructions="Apportez le carnet de santé.")
        agents = [AgentFactory(services=[service], organisation=organisation) for _ in range(3)]
        citizens = [CitizenFactory(phone=MOBILE) for _ in range(3)]
        settings = MessagingSettings.load()
        yield {"location": location, "organisation": organisation, "type": kind, "agents": agents,
               "citizens": citizens, "service": service, "settings": settings}


def agent_actor(agent):
    return Actor.for_agent(agent)


CITIZEN_ACTOR = Actor(kind="citizen", label="Usager")


def book(world, *, starts_at, agents=None, citizens=None, actor=None, kind=None, **kwargs):
    agents = agents or world["agents"][:2]
    return appointment_create(
        appointment_type=kind or world["type"], starts_at=starts_at, agents=agents,
        citizens=citizens if citizens is not None else world["citizens"][:1],
        actor=actor or agent_actor(world["agents"][0]), location=world["location"], accept_warnings=True, **kwargs,
    )
