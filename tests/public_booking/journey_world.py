"""A small world for the booking journey: two organisations of administration A, each with a place (with
coordinates), an agent open every day 9:00–12:00, and types of every sectorisation level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from scheduling.models import AppointmentType, Sector, SectorAttribution, Zone
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    AvailabilityFactory,
    LocationFactory,
    OrganisationFactory,
    ServiceFactory,
)

EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


@dataclass
class World:
    north: object
    south: object
    service: object
    north_place: object
    south_place: object
    north_agent: object
    north_agent_2: object
    south_agent: object
    open_type: object  # administration level, in person, north
    open_type_south: object  # same motif in the south
    org_type: object  # organisation level, phone, north
    agent_type: object  # agent level, in person, north (two agents)
    sector_north: object
    sector_street: object


def build_world(administration) -> World:
    with tenant_context(administration):
        service = ServiceFactory(name="Service social", short_name="SOC")
        north = OrganisationFactory(name="MDS Nord")
        south = OrganisationFactory(name="MDS Sud")
        north_place = LocationFactory(organisation=north, name="Maison Nord", address="1 rue du Nord, 26000 Valence",
                                      latitude=44.93, longitude=4.89)
        south_place = LocationFactory(organisation=south, name="Maison Sud", address="1 rue du Sud, 26200 Montélimar",
                                      latitude=44.56, longitude=4.75)
        north_agent = AgentFactory(services=[service], organisation=north)
        north_agent_2 = AgentFactory(services=[service], organisation=north)
        south_agent = AgentFactory(services=[service], organisation=south)
        open_type = AppointmentTypeFactory(organisation=north, service=service, name="Accompagnement RSA")
        open_type_south = AppointmentTypeFactory(organisation=south, service=service, name="Accompagnement RSA")
        org_type = AppointmentTypeFactory(organisation=north, service=service, name="Entretien téléphonique",
                                          mode=AppointmentType.Mode.PHONE,
                                          sectorisation_level=AppointmentType.SectorisationLevel.ORGANISATION)
        agent_type = AppointmentTypeFactory(organisation=north, service=service, name="Suivi référent",
                                            sectorisation_level=AppointmentType.SectorisationLevel.AGENT)
        today = timezone.localdate()
        for agent, place, types in (
            (north_agent, north_place, [open_type, agent_type]),
            (north_agent_2, north_place, [agent_type]),
            (south_agent, south_place, [open_type_south]),
        ):
            AvailabilityFactory(agent=agent, location=place, first_day=today, weekdays=EVERY_DAY,
                                appointment_types=types)
        AvailabilityFactory(agent=north_agent, location=None, organisation=north, first_day=today,
                            weekdays=EVERY_DAY, start_time=timezone.datetime.strptime("14:00", "%H:%M").time(),
                            end_time=timezone.datetime.strptime("17:00", "%H:%M").time(), appointment_types=[org_type])
        sector_north = Sector.objects.create(name="Valence", code="valence")
        Zone.objects.create(sector=sector_north, level=Zone.Level.CITY, city_code="26362", city_name="Valence")
        SectorAttribution.objects.create(sector=sector_north, organisation=north)
        sector_street = Sector.objects.create(name="Rue du Port, Montélimar", code="port")
        Zone.objects.create(sector=sector_street, level=Zone.Level.STREET, city_code="26198", city_name="Montélimar",
                            street_ban_id="26198_0420", street_name="Rue du Port")
        SectorAttribution.objects.create(sector=sector_street, organisation=north, agent=north_agent_2)
        return World(north, south, service, north_place, south_place, north_agent, north_agent_2, south_agent,
                     open_type, open_type_south, org_type, agent_type, sector_north, sector_street)


def a_slot_after(kind, hours=24):
    """A start time bookable for usagers (first slot a day or more ahead)."""
    from scheduling.selectors import next_availability_for

    slot = next_availability_for(appointment_type=kind, after=timezone.now() + timedelta(hours=hours))
    assert slot is not None
    return slot
