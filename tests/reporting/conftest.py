"""Shared fixtures of the reporting tests: a world of two organisations with every persona, and helpers
that write appointments and messages directly (statistics need chosen statuses, origins and creation dates,
which the booking services rightly refuse to fake).

In administration A (``reporting_world``):

- organisations ``org`` ("MDS Centre", Europe/Paris) and ``other_org`` ("MDS Nord", Europe/Paris);
- services ``pmi`` and ``social``; locations ``centre`` (org) and ``nord`` (other_org);
- types: ``pmi_type`` (org, PMI, sur place), ``phone_type`` (org, social, téléphone), ``other_type``
  (other_org, PMI, sur place);
- agents (each with a user account): ``basic`` (PMI, basic role in org), ``colleague`` (social, basic in
  org), ``org_admin`` (PMI, admin of org), ``other_admin`` (admin of other_org), ``admin_both`` (admin of
  both organisations and administrator of the administration);
- citizens ``citizen`` and ``other_citizen``.

Use ``make_appointment(world, ...)`` and ``make_message(appointment, ...)`` to add data, ``world.client(name)``
for a signed-in client on the administration's host.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context

from messaging.models import Message
from scheduling.models import AgentRole, Appointment, AppointmentAgent, AppointmentType, Participation
from tests.conftest import login_client
from tests.factories import AdminAgentFactory
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    CitizenFactory,
    LocationFactory,
    OrganisationFactory,
    ServiceFactory,
)

PARIS = ZoneInfo("Europe/Paris")
_sequence = itertools.count()


@dataclass
class ReportingWorld:
    administration: object
    org: object
    other_org: object
    services: dict
    locations: dict
    pmi_type: object
    phone_type: object
    other_type: object
    agents: dict
    citizen: object
    other_citizen: object
    clients: dict = field(default_factory=dict)

    def client(self, persona: str):
        if persona not in self.clients:
            self.clients[persona] = login_client(self.administration, self.agents[persona].user)
        return self.clients[persona]


def build_reporting_world(administration) -> ReportingWorld:
    with tenant_context(administration):
        org = OrganisationFactory(name="MDS Centre", timezone="Europe/Paris")
        other_org = OrganisationFactory(name="MDS Nord", timezone="Europe/Paris")
        services = {"pmi": ServiceFactory(name="PMI"), "social": ServiceFactory(name="Service social")}
        locations = {
            "centre": LocationFactory(organisation=org, name="Centre"),
            "nord": LocationFactory(organisation=other_org, name="Nord"),
        }
        pmi_type = AppointmentTypeFactory(organisation=org, service=services["pmi"], name="Consultation PMI")
        phone_type = AppointmentTypeFactory(organisation=org, service=services["social"], name="Entretien social",
                                            mode=AppointmentType.Mode.PHONE)
        other_type = AppointmentTypeFactory(organisation=other_org, service=services["pmi"], name="PMI Nord")
        agents = {
            "basic": AgentFactory(services=[services["pmi"]], organisation=org),
            "colleague": AgentFactory(services=[services["social"]], organisation=org),
            "org_admin": AgentFactory(services=[services["pmi"]], organisation=org, organisation__level="admin"),
            "other_admin": AgentFactory(services=[services["pmi"]], organisation=other_org,
                                        organisation__level="admin"),
            "admin_both": AgentFactory(user=AdminAgentFactory(), services=[services["pmi"]], organisation=org,
                                       organisation__level="admin"),
        }
        AgentRole.objects.create(agent=agents["admin_both"], organisation=other_org, level="admin")
        citizen = CitizenFactory()
        other_citizen = CitizenFactory()
    return ReportingWorld(
        administration=administration, org=org, other_org=other_org, services=services, locations=locations,
        pmi_type=pmi_type, phone_type=phone_type, other_type=other_type, agents=agents, citizen=citizen,
        other_citizen=other_citizen,
    )


@pytest.fixture
def reporting_world(administration_a) -> ReportingWorld:
    return build_reporting_world(administration_a)


def make_appointment(world: ReportingWorld, *, starts_at: datetime, kind=None, agents=("basic",), status="unknown",
                     created_by="agent", created_at: datetime | None = None, location="default",
                     citizens=None, minutes: int = 30) -> Appointment:
    """One appointment written as is (no booking rule), with its agents (non-blocking rows, so that test
    data may overlap) and one participation per citizen (default: the world's citizen)."""
    kind = kind or world.pmi_type
    if location == "default":
        location = None if kind.mode != AppointmentType.Mode.IN_PERSON else (
            world.locations["centre"] if kind.organisation_id == world.org.pk else world.locations["nord"])
    with tenant_context(world.administration):
        appointment = Appointment.objects.create(
            organisation_id=kind.organisation_id, appointment_type=kind, location=location, starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes), status=status, created_by=created_by,
            created_at=created_at or starts_at - timedelta(days=10),
            cancelled_at=starts_at if status in ("excused", "revoked") else None,
        )
        for name in agents:
            AppointmentAgent.objects.create(appointment=appointment, agent=world.agents[name], starts_at=starts_at,
                                            ends_at=appointment.ends_at, blocks=False)
        for person in citizens if citizens is not None else [world.citizen]:
            Participation.objects.create(appointment=appointment, citizen=person, status=status,
                                         created_by=created_by)
    return appointment


def make_message(world: ReportingWorld, appointment, *, channel="email", status="sent", kind="booked",
                 segments=None, created_at: datetime | None = None) -> Message:
    with tenant_context(world.administration):
        message = Message.objects.create(
            channel=channel, recipient="usager@exemple.fr" if channel == "email" else "+33600000000",
            recipient_kind="citizen", kind=kind, appointment=appointment, status=status, sms_segments=segments,
            idempotency_key=f"test-reporting-{next(_sequence)}-{appointment.pk}",
        )
        if created_at is not None:
            Message.objects.filter(pk=message.pk).update(created_at=created_at)
    return message


def paris(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)
