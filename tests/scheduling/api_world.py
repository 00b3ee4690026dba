"""A small organisation with every persona of the API tests, shared by tests/scheduling/test_api_*.py.

In administration A:

- organisation ``org`` with services PMI, social and secretariat, one location, a PMI type and a social type;
  agents: ``basic`` (PMI), ``colleague`` (social), ``secretary`` (secretariat), ``admin`` (PMI, admin role);
- organisation ``other_org`` with ``outsider`` (PMI too, but no role in ``org``), its location and type;
- ``no_profile``: a user account without agent profile;
- appointments: ``pmi_appt`` (basic), ``social_appt`` (colleague), ``assigned_appt`` (social type, basic
  assigned), ``other_appt`` (outsider); citizens ``citizen`` (org) and ``other_citizen`` (other_org);
- availabilities of basic, colleague and outsider on ``MONDAY`` 09:00-12:00, weekly; one absence each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from scheduling.holidays import public_holidays
from scheduling.services import Actor, appointment_create
from tests.factories import UserFactory
from tests.scheduling.factories import (
    AbsenceFactory,
    AgentFactory,
    AppointmentTypeFactory,
    AvailabilityFactory,
    CitizenFactory,
    LocationFactory,
    OrganisationFactory,
    ServiceFactory,
)

PARIS = ZoneInfo("Europe/Paris")


def _future_monday() -> date:
    """A Monday one to two weeks ahead that is not a public holiday (inside every booking window)."""
    today = date.today()
    monday = today + timedelta(days=14 - today.weekday())
    while monday in public_holidays("metropole", monday.year):
        monday += timedelta(days=7)
    return monday


MONDAY = _future_monday()
TUESDAY = MONDAY + timedelta(days=1)


def at(hour, minute=0, day=None) -> datetime:
    day = day or MONDAY
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def api_client(administration, user=None) -> Client:
    if user is None:
        return Client(HTTP_HOST=administration.primary_domain)
    with tenant_context(administration):
        token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_HOST=administration.primary_domain, HTTP_AUTHORIZATION=f"Token {token.key}")


@dataclass
class World:
    administration: object
    org: object
    other_org: object
    services: dict
    location: object
    other_location: object
    pmi_type: object
    social_type: object
    other_type: object
    agents: dict
    no_profile: object
    citizen: object
    other_citizen: object
    appointments: dict
    availabilities: dict
    absences: dict
    clients: dict = field(default_factory=dict)

    def client(self, persona: str) -> Client:
        if persona not in self.clients:
            if persona == "anonymous":
                self.clients[persona] = api_client(self.administration)
            elif persona == "no_profile":
                self.clients[persona] = api_client(self.administration, self.no_profile)
            else:
                self.clients[persona] = api_client(self.administration, self.agents[persona].user)
        return self.clients[persona]


def build_world(administration) -> World:
    with tenant_context(administration):
        org = OrganisationFactory(name="MDS Centre")
        other_org = OrganisationFactory(name="MDS Nord")
        services = {
            "pmi": ServiceFactory(name="PMI"),
            "social": ServiceFactory(name="Service social"),
            "secretariat": ServiceFactory(name="Secrétariat", is_secretariat=True),
        }
        location = LocationFactory(organisation=org, name="Centre")
        other_location = LocationFactory(organisation=other_org, name="Nord")
        pmi_type = AppointmentTypeFactory(organisation=org, service=services["pmi"], name="Consultation PMI")
        social_type = AppointmentTypeFactory(organisation=org, service=services["social"], name="Entretien social")
        other_type = AppointmentTypeFactory(organisation=other_org, service=services["pmi"], name="PMI Nord")
        agents = {
            "basic": AgentFactory(services=[services["pmi"]], organisation=org),
            "colleague": AgentFactory(services=[services["social"]], organisation=org),
            "secretary": AgentFactory(services=[services["secretariat"]], organisation=org),
            "admin": AgentFactory(services=[services["pmi"]], organisation=org, organisation__level="admin"),
            "outsider": AgentFactory(services=[services["pmi"]], organisation=other_org),
        }
        no_profile = UserFactory()
        availabilities = {
            "basic": AvailabilityFactory(agent=agents["basic"], location=location, first_day=MONDAY,
                                         appointment_types=[pmi_type]),
            "colleague": AvailabilityFactory(agent=agents["colleague"], location=location, first_day=MONDAY,
                                             appointment_types=[social_type]),
            "outsider": AvailabilityFactory(agent=agents["outsider"], location=other_location, first_day=MONDAY,
                                            appointment_types=[other_type]),
        }
        absences = {
            name: AbsenceFactory(agent=agents[name], first_day=MONDAY + timedelta(days=21), title=f"Congés {name}")
            for name in ("basic", "colleague", "outsider")
        }
        citizen = CitizenFactory()
        other_citizen = CitizenFactory()

        def book(kind, agent_names, hour, person, location_):
            team = [agents[name] for name in agent_names]
            return appointment_create(
                appointment_type=kind, starts_at=at(hour, day=TUESDAY), agents=team, citizens=[person],
                actor=Actor.for_agent(team[0]), location=location_, accept_warnings=True,
            )

        appointments = {
            "pmi_appt": book(pmi_type, ["basic"], 9, citizen, location),
            "social_appt": book(social_type, ["colleague"], 10, citizen, location),
            "assigned_appt": book(social_type, ["colleague", "basic"], 11, citizen, location),
            "other_appt": book(other_type, ["outsider"], 9, other_citizen, other_location),
        }
    return World(
        administration=administration, org=org, other_org=other_org, services=services, location=location,
        other_location=other_location, pmi_type=pmi_type, social_type=social_type, other_type=other_type,
        agents=agents, no_profile=no_profile, citizen=citizen, other_citizen=other_citizen,
        appointments=appointments, availabilities=availabilities, absences=absences,
    )


def slot_time(hour, minute=0, day=None) -> str:
    return at(hour, minute, day).isoformat()


__all__ = ["MONDAY", "TUESDAY", "World", "api_client", "at", "build_world", "slot_time"]
