"""Reads of the scheduling domain. Slot searches load their inputs in a constant number of queries
(availabilities, appointments, absences) whatever the size of the administration, then hand them to
the pure algorithm of ``scheduling.slots``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.postgres.fields import RangeBoundary
from django.db.models import BigIntegerField, Count, Func, Q, Sum
from django.utils import timezone

from . import slot_cache
from . import slots as slot_engine
from .holidays import public_holidays
from .models import (
    ACTIVE_STATUSES,
    Absence,
    Appointment,
    AppointmentAgent,
    AppointmentChange,
    AppointmentType,
    Availability,
    TsTzRange,
)
from .recurrence import Recurrence

ONE_DAY = timedelta(days=1)
# [starts_at, ends_at) of an agent's appointment: "span && range" is "starts_at < end and ends_at > start", in
# the form the GiST index appointment_agent_span serves and estimates well (the two inequalities taken apart
# are estimated as independent, which made the planner read every appointment of the administration).
_SPAN = TsTzRange("starts_at", "ends_at", RangeBoundary())
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _EpochMicroseconds(Func):
    """A timestamptz as exact microseconds since 1970 (EXTRACT gives a numeric). Thousands of busy rows load
    several times faster as integers than as timestamptz, which Django reads with a Python-level loader."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


# --- Model rows -> pure inputs -------------------------------------------------------------------

def recurrence_of(row) -> Recurrence:
    return Recurrence(
        kind=row["recurrence"], interval=row["interval"] or 1,
        weekdays=tuple(row["weekdays"] or ()) if row["recurrence"] == "weekly" else (),
        until=row["until"], excluded_dates=frozenset(row["excluded_dates"] or ()),
    )


_WINDOW_FIELDS = ("first_day", "start_time", "end_time", "recurrence", "interval", "weekdays", "until",
                  "excluded_dates")


def _opening(row) -> slot_engine.Opening:
    return slot_engine.Opening(
        agent_id=row["agent_id"], location_id=row["location_id"], first_day=row["first_day"],
        start_time=row["start_time"], end_time=row["end_time"], recurrence=recurrence_of(row),
    )


def _absence(row) -> slot_engine.AbsenceRule:
    recurring = row["recurrence"] != "none"
    multi_day = not recurring and row["end_day"] != row["first_day"]
    end_time = row["end_time"]
    return slot_engine.AbsenceRule(
        agent_id=row["agent_id"], first_day=row["first_day"], start_time=row["start_time"],
        end_time=end_time, recurrence=recurrence_of(row), end_day=row["end_day"] if multi_day else None,
    )


# --- Slot searches -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlotInputs:
    openings: list
    busy: list
    absences: list
    holidays: frozenset
    tz: ZoneInfo


def _local_dates(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[date, date]:
    return (start.astimezone(tz) - ONE_DAY).date(), (end.astimezone(tz) + ONE_DAY).date()


def slot_inputs(
    *, appointment_type: AppointmentType, start: datetime, end: datetime, location_id=None, agent_ids=None,
    use_cache: bool = False,
) -> SlotInputs:
    """Everything the algorithm needs for one type over [start, end): three queries, or none with
    ``use_cache`` when another reader computed them since the last write (``scheduling.slot_cache``)."""
    if use_cache:
        return slot_cache.cached(
            ("inputs", appointment_type.pk, location_id, slot_cache.agents_key(agent_ids), start.isoformat(),
             end.isoformat()),
            lambda: slot_inputs(appointment_type=appointment_type, start=start, end=end, location_id=location_id,
                                agent_ids=agent_ids),
        )
    organisation = appointment_type.organisation
    tz = ZoneInfo(organisation.timezone)
    first, last = _local_dates(start, end, tz)
    availabilities = Availability.objects.filter(
        appointment_types=appointment_type, organisation_id=organisation.pk, first_day__lte=last,
        agent__deleted_at__isnull=True,
    ).filter(Q(until__isnull=True) | Q(until__gte=first)).filter(
        Q(recurrence="none", first_day__gte=first) | ~Q(recurrence="none")
    )
    if location_id is not None:
        availabilities = availabilities.filter(location_id=location_id)
    if agent_ids is not None:
        availabilities = availabilities.filter(agent_id__in=agent_ids)
    openings = [_opening(row) for row in availabilities.values("agent_id", "location_id", *_WINDOW_FIELDS)]
    agents = {opening.agent_id for opening in openings}
    if not agents:
        return SlotInputs([], [], [], frozenset(), tz)
    busy = [
        slot_engine.Busy(agent_id, _EPOCH + timedelta(microseconds=starts_at), _EPOCH + timedelta(microseconds=ends_at))
        for agent_id, starts_at, ends_at in AppointmentAgent.objects.alias(span=_SPAN).filter(
            agent_id__in=agents, appointment__status__in=ACTIVE_STATUSES,
            span__overlap=(start - ONE_DAY, end + ONE_DAY),
        ).values_list("agent_id", _EpochMicroseconds("starts_at"), _EpochMicroseconds("ends_at"))
    ]
    absences = [
        _absence(row)
        for row in Absence.objects.filter(agent_id__in=agents, first_day__lte=last, end_day__gte=first - ONE_DAY)
        .filter(Q(until__isnull=True) | Q(until__gte=first) | Q(recurrence="none"))
        .values("agent_id", "end_day", *_WINDOW_FIELDS)
    ]
    years = range(first.year, last.year + 1)
    holidays = public_holidays(organisation.holiday_region, years)
    return SlotInputs(openings, busy, absences, holidays, tz)


def booking_window(appointment_type: AppointmentType, now: datetime) -> tuple[datetime, datetime]:
    return now + appointment_type.min_booking_delay, now + appointment_type.max_booking_delay


def slots_for(
    *, appointment_type: AppointmentType, start: datetime, end: datetime, audience: str = "usager",
    location_id=None, agent_ids=None, now: datetime | None = None, use_cache: bool = False,
    apply_window: bool = True,
) -> list[slot_engine.Slot]:
    """Free slots of a type in [start, end): usagers and prescribers within the booking window and one
    slot per start time; agents every free slot, one per agent. ``use_cache``: read pages only."""
    now = now or timezone.now()
    if use_cache and start >= now:
        # A range wholly in the future: its slots do not depend on "now" except through the booking
        # window, which is applied here on the cached list (scheduling.slot_cache explains the validity).
        every = slot_cache.cached(
            ("slots", audience, appointment_type.pk, location_id, slot_cache.agents_key(agent_ids),
             start.isoformat(), end.isoformat()),
            lambda: slots_for(appointment_type=appointment_type, start=start, end=end, audience=audience,
                              location_id=location_id, agent_ids=agent_ids, now=now, apply_window=False),
        )
        if audience != "usager":
            return every
        window_start, window_end = booking_window(appointment_type, now)
        return [slot for slot in every if window_start <= slot.starts_at <= window_end]
    inputs = slot_inputs(appointment_type=appointment_type, start=start, end=end, location_id=location_id,
                         agent_ids=agent_ids, use_cache=use_cache)
    if not inputs.openings:
        return []
    return slot_engine.compute_slots(
        openings=inputs.openings, busy=inputs.busy, absences=inputs.absences, holidays=inputs.holidays,
        tz=inputs.tz, duration=appointment_type.duration, now=now, range_start=start, range_end=end,
        window=booking_window(appointment_type, now) if audience == "usager" and apply_window else None,
        audience=audience,
    )


def next_availability_for(
    *, appointment_type: AppointmentType, after: datetime, audience: str = "usager", location_id=None,
    agent_ids=None, now: datetime | None = None, horizon: timedelta = timedelta(days=183), per_location=False,
    use_cache: bool = False,
):
    """The first free slot at or after ``after`` (for one location, or per location of the type)."""
    now = now or timezone.now()
    window = booking_window(appointment_type, now) if audience == "usager" else None
    horizon_end = min(after + horizon, window[1] + appointment_type.duration) if window else after + horizon
    if horizon_end <= after:
        return {} if per_location else None
    inputs = slot_inputs(appointment_type=appointment_type, start=after, end=horizon_end, location_id=location_id,
                         agent_ids=agent_ids, use_cache=use_cache)
    if not inputs.openings:
        return {} if per_location else None
    function = slot_engine.next_availability_by_location if per_location else slot_engine.next_availability
    return function(
        openings=inputs.openings, busy=inputs.busy, absences=inputs.absences, holidays=inputs.holidays,
        tz=inputs.tz, duration=appointment_type.duration, now=now, after=after, horizon_end=horizon_end,
        window=window, audience=audience,
    )


def booked_minutes_on(agent_ids, day_start: datetime, day_end: datetime) -> dict:
    """Minutes of active appointments per agent over a day: the fair choice between free agents."""
    rows = (
        AppointmentAgent.objects.filter(
            agent_id__in=agent_ids, appointment__status__in=ACTIVE_STATUSES,
            starts_at__gte=day_start, starts_at__lt=day_end,
        )
        .values("agent_id")
        .annotate(total=Sum("appointment__appointment_type__duration_minutes"))
    )
    return {row["agent_id"]: row["total"] or 0 for row in rows}


def local_day_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    day = moment.astimezone(tz).date()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + ONE_DAY, time.min, tzinfo=tz)


# --- Conflicts for agents' bookings --------------------------------------------------------------

def appointments_overlapping(*, agents, starts_at: datetime, ends_at: datetime, exclude_id=None):
    """Active appointments of these agents overlapping [starts_at, ends_at) (touching is not overlapping)."""
    return (
        Appointment.objects.filter(
            agent_links__agent__in=agents, status__in=ACTIVE_STATUSES,
            starts_at__lt=ends_at, ends_at__gt=starts_at,
        )
        .exclude(pk=exclude_id)
        .distinct()
        .prefetch_related("agents")
    )


def absences_overlapping(*, agents, starts_at: datetime, ends_at: datetime, tz: ZoneInfo):
    """(agent, absence) pairs whose occurrences overlap [starts_at, ends_at)."""
    first, last = _local_dates(starts_at, ends_at, tz)
    rows = Absence.objects.filter(agent__in=agents, first_day__lte=last, end_day__gte=first - ONE_DAY).select_related(
        "agent"
    )
    found = []
    for absence in rows:
        rule = _absence({"agent_id": absence.agent_id, "end_day": absence.end_day,
                         **{name: getattr(absence, name) for name in _WINDOW_FIELDS}})
        if next(iter(rule.occurrences(tz, starts_at, ends_at)), None) is not None:
            found.append((absence.agent, absence))
    return found


# --- Agent calendar feed ---------------------------------------------------------------------------

FEED_PAST = timedelta(days=92)
FEED_FUTURE = timedelta(days=366)


def agent_feed_appointments(*, agent, now: datetime):
    """The agent's appointments for his calendar feed (three months back, a year ahead), cancelled ones
    included (calendars then mark them), in three queries whatever their number."""
    return (
        Appointment.objects.filter(agent_links__agent=agent, starts_at__gte=now - FEED_PAST,
                                   starts_at__lt=now + FEED_FUTURE)
        .select_related("appointment_type", "location", "organisation")
        .annotate(participant_count=Count("participations", filter=Q(participations__status__in=ACTIVE_STATUSES)))
        .order_by("starts_at")
    )


def appointment_history(appointment):
    """Who changed what on an appointment, oldest first."""
    return AppointmentChange.objects.filter(appointment=appointment).order_by("at", "id")


# --- Usagers -------------------------------------------------------------------------------------

def citizen_likely_duplicates(*, first_name: str = "", last_name: str = "", birth_date=None, email: str = "",
                              phone: str = "", exclude_id=None):
    """Records that are probably the same person: same names and birth date, or same e-mail, or same
    phone (E.164). Shown as a hint when an agent creates a usager; never blocking."""
    from .models import Citizen

    match = Q(pk__in=[])
    if first_name and last_name and birth_date:
        match |= Q(first_name__iexact=first_name.strip(), last_name__iexact=last_name.strip(), birth_date=birth_date)
    if email:
        match |= Q(email__iexact=email.strip())
    if phone:
        match |= Q(phone=phone)
    return Citizen.objects.filter(match, deleted_at__isnull=True).exclude(pk=exclude_id)[:10]


# --- Availability ---------------------------------------------------------------------------------

WARNING_HORIZON = timedelta(days=183)


def availability_warnings(
    *, agent_id, first_day: date, start_time: time, end_time: time, recurrence: Recurrence,
    appointment_types=(), tz: ZoneInfo, exclude_id=None,
) -> list[str]:
    """Warnings an agent may accept when saving a plage d'ouverture: a type longer than the window, and
    overlaps with the agent's other availabilities (any organisation) over the next six months."""
    from .recurrence import occurrence_intervals

    warnings = []
    window_minutes = (
        datetime.combine(first_day, end_time) - datetime.combine(first_day, start_time)
    ).total_seconds() // 60
    if window_minutes <= 0:
        window_minutes += 24 * 60
    for kind in appointment_types:
        if kind.duration_minutes > window_minutes:
            warnings.append(
                f"Le motif « {kind.name} » dure {kind.duration_minutes} min, plus que la plage "
                f"({int(window_minutes)} min) : aucun créneau n'y tiendra."
            )
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    end = start + WARNING_HORIZON
    mine = list(occurrence_intervals(first_day, start_time, end_time, recurrence, tz, start, end))
    if not mine:
        return warnings
    others = (
        Availability.objects.filter(agent_id=agent_id, first_day__lte=end.date())
        .filter(Q(until__isnull=True) | Q(until__gte=first_day))
        .exclude(pk=exclude_id)
        .values("id", "title", *_WINDOW_FIELDS)
    )
    for row in others:
        theirs = occurrence_intervals(row["first_day"], row["start_time"], row["end_time"], recurrence_of(row), tz,
                                      start, end)
        clash = _first_overlap(mine, theirs)
        if clash is not None:
            name = row["title"] or f"du {row['first_day']:%d/%m/%Y}"
            warnings.append(
                f"Cette plage chevauche la plage « {name} » de cet agent, par exemple le "
                f"{clash.astimezone(tz):%d/%m/%Y à %H:%M}."
            )
    return warnings


def _first_overlap(mine: list, theirs) -> datetime | None:
    """First instant where two sorted lists of [start, end) intervals overlap (touching is not overlapping)."""
    i = 0
    for their_start, their_end in theirs:
        while i < len(mine) and mine[i][1] <= their_start:
            i += 1
        if i == len(mine):
            return None
        if mine[i][0] < their_end:
            return max(mine[i][0], their_start)
    return None


# --- Back office: booking wizard (issue 5, screens 3-4) -----------------------------------------

_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿœæ"
_PLAIN = "aaaaaaceeeeiiiinooooouuuuyyoa"


def normalise_search_text(value: str) -> str:
    """Lower case without accents: "Éloïse" → "eloise" (the SQL side is :class:`Unaccented`)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", (value or "").lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).replace("œ", "o").replace("æ", "a")


class Unaccented(Func):
    """``translate(lower(column), 'àé…', 'ae…')``: accent- and case-insensitive matching without the
    PostgreSQL unaccent extension (not installed)."""

    function = "TRANSLATE"

    def __init__(self, expression, **extra):
        from django.db.models import CharField, Value
        from django.db.models.functions import Lower

        super().__init__(Lower(expression), Value(_ACCENTED), Value(_PLAIN), output_field=CharField(), **extra)


def citizens_matching(queryset, text: str, *, limit: int = 20):
    """Citizens of ``queryset`` (already the visible ones) matching every word of ``text`` in their first,
    last or birth name, e-mail, or phone (typed in any form: "06 12 34 56 78", "+33612345678")."""
    from .phones import to_e164

    text = (text or "").strip()
    if not text:
        return queryset.none()
    phone = to_e164(text)
    if phone:
        return queryset.filter(phone=phone)[:limit]
    queryset = queryset.annotate(
        _first=Unaccented("first_name"), _last=Unaccented("last_name"), _birth=Unaccented("birth_name"),
    )
    for word in normalise_search_text(text).split()[:5]:
        queryset = queryset.filter(
            Q(_first__contains=word) | Q(_last__contains=word) | Q(_birth__contains=word) | Q(email__icontains=word)
        )
    return queryset.order_by("last_name", "first_name", "pk")[:limit]


# --- Back office: usager records ------------------------------------------------------------------

def citizen_search(queryset, term: str):
    """Usagers of ``queryset`` matching ``term`` (all of them for an empty term), accent- and case-insensitive:
    every word must appear in the first, last or birth name or the e-mail; a term that reads as a phone number
    ("06 12 34 56 78", "+33 6…") matches the stored E.164 number, and four digits or more match part of it.
    Not sliced: the list pages paginate it."""
    from .phones import to_e164

    term = (term or "").strip()
    if not term:
        return queryset
    queryset = queryset.annotate(
        _first=Unaccented("first_name"), _last=Unaccented("last_name"), _birth=Unaccented("birth_name"),
        _email=Unaccented("email"),
    )
    words = Q()
    for word in normalise_search_text(term).split()[:8]:
        words &= Q(_first__contains=word) | Q(_last__contains=word) | Q(_birth__contains=word) | Q(
            _email__contains=word)
    match = words
    digits = "".join(ch for ch in term if ch.isdigit())
    if len(digits) >= 4 and all(ch.isdigit() or ch in " .-+()" for ch in term):
        e164 = to_e164(term)
        if e164:
            match |= Q(phone=e164)
        else:
            match |= Q(phone__contains="33" + digits[1:] if digits.startswith("0") else digits)
    return queryset.filter(match)
