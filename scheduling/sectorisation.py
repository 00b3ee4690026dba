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


# --- Back office: sectors, zones, attributions (writes and CSV) ----------------------------------

ZONE_CSV_COLUMNS = ["secteur", "niveau", "code_insee", "commune", "identifiant_rue", "rue"]
_LEVELS = {"commune": Zone.Level.CITY, "city": Zone.Level.CITY, "rue": Zone.Level.STREET, "street": Zone.Level.STREET}
MAX_IMPORT_LINES = 20_000


def zones_export_csv() -> str:
    """Every zone of the administration, one line each, in the import's format (UTF-8, ``;``)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(ZONE_CSV_COLUMNS)
    for zone in Zone.objects.select_related("sector").order_by("sector__code", "city_code", "street_ban_id"):
        writer.writerow([zone.sector.code, "commune" if zone.level == Zone.Level.CITY else "rue", zone.city_code,
                         zone.city_name, zone.street_ban_id, zone.street_name])
    return out.getvalue()


def zones_import_csv(*, content: str) -> dict:
    """Add the zones of a CSV (columns of ``ZONE_CSV_COLUMNS``; ``;`` or ``,``) to existing sectors, all or
    nothing. Returns {"created": n, "existing": n}; raises ValidationError with one French message per bad line."""
    import csv
    import io

    from django.core.exceptions import ValidationError
    from django.db import transaction

    from .models import Sector

    sample = content[:2048]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    reader = csv.reader(io.StringIO(content), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader, [])]
    missing = [column for column in ("secteur", "niveau", "code_insee", "commune") if column not in header]
    if missing:
        raise ValidationError(f"Colonnes manquantes : {', '.join(missing)}. Attendu : {';'.join(ZONE_CSV_COLUMNS)}.")
    sectors = {sector.code: sector for sector in Sector.objects.all()}
    errors, rows = [], []
    for number, line in enumerate(reader, start=2):
        if number > MAX_IMPORT_LINES + 1:
            errors.append(f"Plus de {MAX_IMPORT_LINES} lignes : découpez le fichier.")
            break
        if not any(cell.strip() for cell in line):
            continue
        values = {name: (line[i].strip() if i < len(line) else "") for i, name in enumerate(header)}
        sector = sectors.get(values.get("secteur", ""))
        level = _LEVELS.get(values.get("niveau", "").lower())
        zone = Zone(sector=sector, level=level or "", city_code=values.get("code_insee", "").upper(),
                    city_name=values.get("commune", ""),
                    street_ban_id=values.get("identifiant_rue", "") if level == Zone.Level.STREET else "",
                    street_name=values.get("rue", "") if level == Zone.Level.STREET else "")
        if sector is None:
            errors.append(f"Ligne {number} : secteur « {values.get('secteur', '')} » inconnu.")
            continue
        if level is None:
            errors.append(f"Ligne {number} : niveau « {values.get('niveau', '')} » inconnu (commune ou rue).")
            continue
        try:
            zone.full_clean(exclude=["sector"], validate_constraints=False)
        except ValidationError as error:
            errors.append(f"Ligne {number} : " + " ".join(error.messages))
            continue
        if level == Zone.Level.STREET and not zone.street_ban_id:
            errors.append(f"Ligne {number} : une zone « rue » a besoin de l'identifiant BAN de la rue.")
            continue
        rows.append(zone)
    if errors:
        raise ValidationError(errors[:50] + ([f"… et {len(errors) - 50} autres erreurs."] if len(errors) > 50 else []))
    existing_keys = set(Zone.objects.values_list("sector_id", "city_code", "street_ban_id"))
    new, seen = [], set()
    for zone in rows:
        key = (zone.sector_id, zone.city_code, zone.street_ban_id)
        if key in existing_keys or key in seen:
            continue
        seen.add(key)
        new.append(zone)
    with transaction.atomic():
        Zone.objects.bulk_create(new)
    return {"created": len(new), "existing": len(rows) - len(new)}


def address_preview(*, city_code: str, street_id: str = ""):
    """For the "tester la sectorisation" page: the address's sectors and, per non-archived type that usagers
    may book, what the address would see (organisation, agents or nothing)."""
    from .models import Agent, AppointmentType, Sector

    match = sector_match(city_code=city_code, street_id=street_id)
    sectors = list(Sector.objects.filter(pk__in=match.sector_ids).order_by("name"))
    types = (AppointmentType.objects.filter(archived_at__isnull=True)
             .exclude(bookable_by=AppointmentType.BookableBy.AGENTS)
             .select_related("organisation", "service").order_by("organisation__name", "name"))
    agent_names = {agent.pk: str(agent) for agent in Agent.objects.filter(
        pk__in={a for ids in match.agent_ids_by_organisation.values() for a in ids})}
    rows = []
    for kind in types:
        visible = match.type_is_visible(kind)
        agent_ids = match.agent_ids_for(kind) if visible else None
        rows.append({"type": kind, "visible": visible,
                     "agents": [agent_names.get(pk, "") for pk in agent_ids] if agent_ids is not None else None})
    return match, sectors, rows
