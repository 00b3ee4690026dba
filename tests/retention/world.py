"""A small organisation for the retention tests (administration A), and helpers to travel in time.

``org`` (admin ``admin``, agent ``agent``), ``other_org`` (agent ``outsider``), a type and a place;
``book`` makes an appointment through ``scheduling.services.appointment_create``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import time_machine
from django.utils import timezone

from scheduling.services import Actor, appointment_create
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    CitizenFactory,
    LocationFactory,
    OrganisationFactory,
    ServiceFactory,
)


@dataclass
class World:
    administration: object
    org: object
    other_org: object
    service: object
    location: object
    kind: object
    admin: object
    agent: object
    outsider: object

    def book(self, citizen, starts_at: datetime, *, agent=None, citizens=None):
        agent = agent or self.agent
        return appointment_create(
            appointment_type=self.kind, starts_at=starts_at, agents=[agent], citizens=citizens or [citizen],
            actor=Actor.for_agent(agent), location=self.location, accept_warnings=True,
        )

    def citizen(self, **fields):
        citizen = CitizenFactory(**fields)
        citizen.organisations.add(self.org)
        return citizen


def build_world(administration) -> World:
    org = OrganisationFactory(name="MDS Conservation")
    other_org = OrganisationFactory(name="MDS Ailleurs")
    service = ServiceFactory(name="Service conservation")
    location = LocationFactory(organisation=org)
    kind = AppointmentTypeFactory(organisation=org, service=service, name="Entretien")
    return World(
        administration=administration, org=org, other_org=other_org, service=service, location=location, kind=kind,
        admin=AgentFactory(services=[service], organisation=org, organisation__level="admin"),
        agent=AgentFactory(services=[service], organisation=org),
        outsider=AgentFactory(services=[service], organisation=other_org),
    )


def travel(moment: datetime):
    """Freeze the clock at ``moment`` (time-machine; no tick, so boundaries are exact)."""
    return time_machine.travel(moment, tick=False)


def soon(days: int = 1) -> datetime:
    """A round time ``days`` ahead (10:00 UTC), so that appointments never start in the past."""
    return (timezone.now() + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
