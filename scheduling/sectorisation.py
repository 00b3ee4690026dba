"""Sectorisation: which organisations and agents an address sees for an appointment type.

An address (commune by INSEE code, street by BAN id) falls in the sectors whose zones cover it: a whole
commune, or one of its streets. Those sectors are attributed to organisations (as a whole) or to some of
their agents. The type's ``sectorisation_level`` decides:

- ``administration``: every organisation of the administration, every agent (no address needed);
- ``organisation``: only the organisations to which one of the address's sectors is attributed;
- ``agent``: only the attributed agents' slots (all of an organisation's agents when the sector is
  attributed to the organisation as a whole).

Without an address, or with an address in no sector, sectorised types show nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from .models import AppointmentType, SectorAttribution, Zone


@dataclass(frozen=True)
class SectorMatch:
    """What an address's sectors give: organisations attributed as a whole, agents per organisation."""

    sector_ids: frozenset = frozenset()
    organisation_ids: frozenset = frozenset()
    agent_ids_by_organisation: dict = field(default_factory=dict)
    address_known: bool = False

    def type_is_visible(self, appointment_type: AppointmentType) -> bool:
        level = appointment_type.sectorisation_level
        if level == AppointmentType.SectorisationLevel.ADMINISTRATION:
            return True
        if level == AppointmentType.SectorisationLevel.ORGANISATION:
            return appointment_type.organisation_id in self.organisation_ids
        return (appointment_type.organisation_id in self.organisation_ids
                or bool(self.agent_ids_by_organisation.get(appointment_type.organisation_id)))

    def agent_ids_for(self, appointment_type: AppointmentType):
        """None when every agent of the type counts, else the agent ids whose slots the address sees."""
        if appointment_type.sectorisation_level != AppointmentType.SectorisationLevel.AGENT:
            return None
        if appointment_type.organisation_id in self.organisation_ids:
            return None
        return sorted(self.agent_ids_by_organisation.get(appointment_type.organisation_id, ()))


NO_ADDRESS = SectorMatch()


def zones_covering(*, city_code: str, street_id: str = ""):
    """Zones covering the address: its whole commune, or its street."""
    if not city_code:
        return Zone.objects.none()
    match = Q(level=Zone.Level.CITY, city_code=city_code)
    if street_id:
        match |= Q(level=Zone.Level.STREET, city_code=city_code, street_ban_id=street_id)
    return Zone.objects.filter(match)


def sector_match(*, city_code: str = "", street_id: str = "") -> SectorMatch:
    """The sectors of an address and their attributions, in two queries."""
    if not city_code:
        return NO_ADDRESS
    sector_ids = frozenset(zones_covering(city_code=city_code, street_id=street_id).values_list("sector_id", flat=True))
    organisations, agents = set(), {}
    if sector_ids:
        for organisation_id, agent_id in SectorAttribution.objects.filter(sector_id__in=sector_ids).values_list(
            "organisation_id", "agent_id"
        ):
            if agent_id is None:
                organisations.add(organisation_id)
            else:
                agents.setdefault(organisation_id, set()).add(agent_id)
    return SectorMatch(sector_ids=sector_ids, organisation_ids=frozenset(organisations),
                       agent_ids_by_organisation={k: frozenset(v) for k, v in agents.items()}, address_known=True)


def visible_types(types, match: SectorMatch) -> list[AppointmentType]:
    """The types among ``types`` that an address (or no address) may see."""
    return [kind for kind in types if match.type_is_visible(kind)]
