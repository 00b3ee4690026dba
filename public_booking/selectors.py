"""Reads of the usager's pages. The booking journey's part comes first; other parts add their own sections."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from scheduling import selectors as scheduling_selectors
from scheduling import slot_cache
from scheduling.models import AppointmentType, Location
from scheduling.sectorisation import SectorMatch

# --- Journey (find and book) ---------------------------------------------------------------------

PUBLIC_BOOKABLE = (AppointmentType.BookableBy.EVERYONE,)
INVITED_BOOKABLE = (AppointmentType.BookableBy.AGENTS_PRESCRIBERS_AND_INVITED,)


def bookable_types(*, match: SectorMatch, invited_type_ids=(), organisation_id=None, service_id=None,
                   type_id=None):
    """Types an usager may book from this address: open to everyone (or invited ones, ``invited_type_ids``
    given by an invitation), not archived, not collective, visible from the address's sectors."""
    from django.db.models import Q

    allowed = Q(bookable_by__in=PUBLIC_BOOKABLE)
    if invited_type_ids:
        allowed |= Q(bookable_by__in=INVITED_BOOKABLE, pk__in=list(invited_type_ids))
    types = AppointmentType.objects.filter(allowed, archived_at__isnull=True, collective=False).select_related(
        "service", "organisation"
    ).order_by("service__name", "name", "pk")
    if organisation_id is not None:
        types = types.filter(organisation_id=organisation_id)
    if service_id is not None:
        types = types.filter(service_id=service_id)
    if type_id is not None:
        types = types.filter(pk=type_id)
    # Read on every step of the journey: shared like the slots, and renewed by any change of a type,
    # service or organisation (scheduling.slot_cache).
    types = slot_cache.cached(
        ("bookable-types", ",".join(str(pk) for pk in sorted(invited_type_ids)), organisation_id, service_id,
         type_id), lambda: list(types),
    )
    return [kind for kind in types if match.type_is_visible(kind)]


def public_location(*, location_id: int, organisation_id: int) -> Location | None:
    """A place of the organisation (or None), shared between readers like the slots (scheduling.slot_cache)."""
    return slot_cache.cached(
        ("location", location_id, organisation_id),
        lambda: Location.objects.filter(pk=location_id, organisation_id=organisation_id).first(),
    )


def same_motif(kind: AppointmentType, types) -> list[AppointmentType]:
    """The types among ``types`` that are the same motif as ``kind`` in other organisations (same service,
    name and mode): the usager chooses a motif once, then a place among every organisation offering it."""
    key = (kind.service_id, kind.name.strip().lower(), kind.mode)
    return [other for other in types if (other.service_id, other.name.strip().lower(), other.mode) == key]


def distinct_motifs(types) -> list[AppointmentType]:
    seen, motifs = set(), []
    for kind in types:
        key = (kind.service_id, kind.name.strip().lower(), kind.mode)
        if key not in seen:
            seen.add(key)
            motifs.append(kind)
    return motifs


def distance_km(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance (haversine), in kilometres."""
    radius = 6371.0
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * radius * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class PlaceOption:
    appointment_type: AppointmentType
    location: Location | None
    next_slot: object  # scheduling.slots.Slot
    distance: float | None

    @property
    def organisation(self):
        return self.appointment_type.organisation


def place_options(*, types, match: SectorMatch, latitude=None, longitude=None, now=None) -> list[PlaceOption]:
    """Every (type, place) with a free slot in the booking window, nearest first when the address is known
    (places without coordinates last), then soonest."""
    now = now or timezone.now()
    options = []
    for kind in types:
        by_location = scheduling_selectors.next_availability_for(
            appointment_type=kind, after=now, agent_ids=match.agent_ids_for(kind), now=now, per_location=True,
        ) or {}
        locations = Location.objects.in_bulk([pk for pk in by_location if pk is not None])
        for location_id, slot in by_location.items():
            location = locations.get(location_id) if location_id is not None else None
            disabled = location is not None and location.availability == Location.Availability.DISABLED
            if location_id is not None and (location is None or disabled):
                continue
            distance = None
            if (latitude is not None and longitude is not None and location is not None
                    and location.latitude is not None and location.longitude is not None):
                distance = distance_km(latitude, longitude, location.latitude, location.longitude)
            options.append(PlaceOption(kind, location, slot, distance))
    options.sort(key=lambda o: (o.distance is None, o.distance or 0, o.next_slot.starts_at))
    return options


@dataclass(frozen=True)
class WeekOfSlots:
    monday: date
    days: list  # [(date, [Slot, ...]), ...] Monday to Sunday, days without slots included
    previous_week: date | None
    next_week: date | None
    next_available: object  # a Slot after this week when the week is empty, else None
    tz: ZoneInfo

    @property
    def is_empty(self) -> bool:
        return not any(slots for _, slots in self.days)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_of_slots(*, appointment_type: AppointmentType, location_id, agent_ids, monday: date | None = None,
                  now: datetime | None = None) -> WeekOfSlots:
    """One week of the type's free slots for usagers (one per start time, every free agent pooled), within the
    booking window; the weeks before and after only when they hold part of the window."""
    now = now or timezone.now()
    tz = ZoneInfo(appointment_type.organisation.timezone)
    window_start, window_end = scheduling_selectors.booking_window(appointment_type, now)
    first_monday = monday_of(window_start.astimezone(tz).date())
    last_monday = monday_of(window_end.astimezone(tz).date())
    monday = monday_of(monday) if monday else first_monday
    monday = min(max(monday, first_monday), last_monday)
    start = datetime.combine(monday, time.min, tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz)
    slots = scheduling_selectors.slots_for(appointment_type=appointment_type, start=start, end=end,
                                           location_id=location_id, agent_ids=agent_ids, now=now,
                                           use_cache=True)  # read-only page: see scheduling.slot_cache
    slots = [slot for slot in slots if slot.location_id == location_id]
    by_day = {monday + timedelta(days=i): [] for i in range(7)}
    seen = set()
    for slot in slots:
        if slot.starts_at in seen:
            continue
        seen.add(slot.starts_at)
        by_day.setdefault(slot.starts_at.astimezone(tz).date(), []).append(slot)
    next_available = None
    if not slots and monday < last_monday:
        next_available = scheduling_selectors.next_availability_for(
            appointment_type=appointment_type, after=end, location_id=location_id, agent_ids=agent_ids, now=now,
        )
        if next_available is not None and next_available.location_id != location_id:
            next_available = None
    return WeekOfSlots(
        monday=monday, days=sorted(by_day.items()),
        previous_week=monday - timedelta(days=7) if monday > first_monday else None,
        next_week=monday + timedelta(days=7) if monday < last_monday else None,
        next_available=next_available, tz=tz,
    )


def nearest_slots(*, appointment_type: AppointmentType, location_id, agent_ids, around: datetime, count: int = 5,
                  now: datetime | None = None) -> list:
    """Free slots closest in time to ``around`` (the slot the usager lost), for the "créneau plus disponible"
    page."""
    now = now or timezone.now()
    start = max(around - timedelta(days=7), now)
    slots = scheduling_selectors.slots_for(appointment_type=appointment_type, start=start,
                                           end=around + timedelta(days=14), location_id=location_id,
                                           agent_ids=agent_ids, now=now)
    unique = {slot.starts_at: slot for slot in slots if slot.location_id == location_id}
    return sorted(unique.values(), key=lambda slot: abs((slot.starts_at - around).total_seconds()))[:count]


def slot_is_free(*, appointment_type: AppointmentType, location_id, agent_ids, starts_at: datetime,
                 now: datetime | None = None) -> bool:
    slots = scheduling_selectors.slots_for(appointment_type=appointment_type, start=starts_at,
                                           end=starts_at + appointment_type.duration, location_id=location_id,
                                           agent_ids=agent_ids, now=now)
    return any(slot.starts_at == starts_at and slot.location_id == location_id for slot in slots)
