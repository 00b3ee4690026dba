"""A small world for the self-service tests: one organisation, a place, an agent open every day
7:00–21:00 for a week-long horizon, types, usagers. Call inside ``tenant_context``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from django.utils import timezone

from scheduling import services
from scheduling.models import Appointment, AppointmentType, Citizen
from tests.factories import UserFactory
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    AvailabilityFactory,
    CitizenFactory,
    LocationFactory,
    OrganisationFactory,
    ServiceFactory,
)


@dataclass
class World:
    organisation: object
    service: object
    location: object
    agent: object
    kind: AppointmentType
    citizen: Citizen
    user: object


def build_world(**type_fields) -> World:
    organisation = OrganisationFactory(timezone="Europe/Paris")
    service = ServiceFactory()
    location = LocationFactory(organisation=organisation)
    agent = AgentFactory(services=[service], organisation=organisation)
    fields = {"organisation": organisation, "service": service, "duration_minutes": 30,
              "min_booking_delay": timedelta(minutes=30), "max_booking_delay": timedelta(days=60)}
    fields.update(type_fields)
    kind = AppointmentTypeFactory(**fields)
    AvailabilityFactory(agent=agent, location=location, organisation=organisation,
                        first_day=timezone.localdate() - timedelta(days=1), start_time=time(0, 0),
                        end_time=time(23, 55), weekdays=[0, 1, 2, 3, 4, 5, 6], appointment_types=[kind])
    user = UserFactory(email="usager@exemple.fr")
    citizen = CitizenFactory(account=user, email="usager@exemple.fr", phone="+33612345678")
    return World(organisation, service, location, agent, kind, citizen, user)


def book(world: World, starts_at, *, citizens=None, created_by=Appointment.CreatedBy.CITIZEN, kind=None):
    """An appointment at ``starts_at`` (rounded to the minute) for the world's usager."""
    starts_at = starts_at.replace(second=0, microsecond=0)
    actor = services.Actor(kind="citizen", label="Usager")
    if created_by == Appointment.CreatedBy.AGENT:
        actor = services.Actor.for_agent(world.agent)
    return services.appointment_create(
        appointment_type=kind or world.kind, starts_at=starts_at, agents=[world.agent],
        citizens=citizens or [world.citizen], actor=actor, location=world.location, accept_warnings=True,
        created_by=created_by,
    )
