"""Reads of the agents' agenda (back office): one agent's appointments, plages d'ouverture, absences and
public holidays over a few local days, read through the policy layer in a constant number of queries
(appointments, their usagers, time taken by appointments the reader may not see, availabilities, absences)
whatever the number of rows, then expanded in Python with ``scheduling.recurrence``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q
from django.utils import timezone

from . import policy
from .holidays import public_holidays
from .models import ACTIVE_STATUSES, CANCELLED_STATUSES, Agent, Appointment, AppointmentAgent, Participation
from .recurrence import to_utc
from .selectors import _absence, _opening

ONE_DAY = timedelta(days=1)
_WINDOW_FIELDS = ("first_day", "start_time", "end_time", "recurrence", "interval", "weekdays", "until",
                  "excluded_dates")


@dataclass
class AgendaItem:
    """Something on one day of the agenda, clipped to that day (``starts_at``/``ends_at`` are local)."""

    kind: str  # "appointment" | "busy" | "availability" | "absence"
    starts_at: datetime
    ends_at: datetime
    label: str = ""
    appointment: Appointment | None = None
    location: str = ""
    continues_before: bool = False
    continues_after: bool = False

    @property
    def all_day(self) -> bool:
        return self.continues_before and self.continues_after

    @property
    def sort_key(self):
        order = {"absence": 0, "availability": 1, "appointment": 2, "busy": 2}
        return (self.starts_at, order[self.kind])


@dataclass
class AgendaDay:
    day: date
    holiday: bool = False
    is_today: bool = False
    appointments: list[AgendaItem] = field(default_factory=list)
    availabilities: list[AgendaItem] = field(default_factory=list)
    absences: list[AgendaItem] = field(default_factory=list)

    @property
    def items(self) -> list[AgendaItem]:
        return sorted(self.absences + self.availabilities + self.appointments, key=lambda item: item.sort_key)

    @property
    def is_empty(self) -> bool:
        return not (self.appointments or self.availabilities or self.absences or self.holiday)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC bounds of a local day (23 or 25 hours long on DST change days)."""
    return to_utc(day, time.min, tz), to_utc(day + ONE_DAY, time.min, tz)


def appointments_filtered(queryset, data: dict, tz: ZoneInfo, *, prefix: str = ""):
    """The appointment list's filters (``AppointmentFilterForm.cleaned_data``) applied to a queryset of
    appointments or, with ``prefix="appointment__"``, of participations (the list and the exports share
    them). Dates are local days of the chosen organisation's time zone, else of ``tz``."""
    from .forms.agenda import TO_FILL

    organisation = data.get("organisation")
    if organisation is not None:
        tz = ZoneInfo(organisation.timezone)
        queryset = queryset.filter(**{f"{prefix}organisation": organisation})
    if data.get("date_from"):
        queryset = queryset.filter(**{f"{prefix}ends_at__gt": day_bounds(data["date_from"], tz)[0]})
    if data.get("date_to"):
        queryset = queryset.filter(**{f"{prefix}starts_at__lt": day_bounds(data["date_to"], tz)[1]})
    if data.get("status") == TO_FILL:
        queryset = queryset.filter(**{f"{prefix}status": "unknown", f"{prefix}ends_at__lte": timezone.now()})
    elif data.get("status"):
        queryset = queryset.filter(**{f"{prefix}status": data["status"]})
    if data.get("agent"):
        assigned = AppointmentAgent.objects.filter(agent=data["agent"]).values("appointment_id")
        queryset = queryset.filter(**{f"{prefix}pk__in": assigned})
    for name in ("appointment_type", "location"):
        if data.get(name):
            queryset = queryset.filter(**{f"{prefix}{name}": data[name]})
    return queryset


def _place(days: list[AgendaDay], bounds: list[tuple[datetime, datetime]], tz: ZoneInfo, target: str,
           start: datetime, end: datetime, **fields) -> None:
    """Put [start, end) on every day it meets, clipped to the day, in local time."""
    for agenda_day, (day_start, day_end) in zip(days, bounds, strict=True):
        if start < day_end and end > day_start:
            getattr(agenda_day, target).append(AgendaItem(
                starts_at=max(start, day_start).astimezone(tz), ends_at=min(end, day_end).astimezone(tz),
                continues_before=start < day_start, continues_after=end > day_end, **fields,
            ))


def agent_agenda(*, scope: policy.Scope, agent: Agent, days: list[date], tz: ZoneInfo, holiday_region: str,
                 include_cancelled: bool = False, today: date | None = None) -> list[AgendaDay]:
    """The agenda of ``agent`` on consecutive local ``days`` as the reader (``scope``) may see it."""
    bounds = [day_bounds(day, tz) for day in days]
    start, end = bounds[0][0], bounds[-1][1]
    agenda = [AgendaDay(day=day, is_today=day == today) for day in days]

    links = AppointmentAgent.objects.filter(agent_id=agent.pk, starts_at__lt=end, ends_at__gt=start)
    visible = policy.appointments(scope)
    appointments = (
        visible.filter(pk__in=links.values("appointment_id"))
        .select_related("appointment_type", "location")
        .prefetch_related(Prefetch("participations", Participation.objects.select_related("citizen").order_by("pk")))
        .order_by("starts_at", "pk")
    )
    if not include_cancelled:
        appointments = appointments.exclude(status__in=CANCELLED_STATUSES)
    for appointment in appointments:
        _place(agenda, bounds, tz, "appointments", appointment.starts_at, appointment.ends_at, kind="appointment",
               appointment=appointment, label=appointment.title or appointment.appointment_type.name,
               location=appointment.location.name if appointment.location else "")
    # Time taken by appointments the reader may not open: shown as "occupé", without any detail.
    hidden = links.filter(appointment__status__in=ACTIVE_STATUSES).exclude(
        appointment_id__in=visible.values("pk")
    ).values_list("starts_at", "ends_at")
    for busy_start, busy_end in hidden:
        _place(agenda, bounds, tz, "appointments", busy_start, busy_end, kind="busy", label="Occupé")

    first, last = days[0] - ONE_DAY, days[-1] + ONE_DAY
    availabilities = (
        policy.availabilities(scope).filter(agent_id=agent.pk, first_day__lte=last)
        .filter(Q(until__isnull=True) | Q(until__gte=first))
        .filter(Q(recurrence="none", first_day__gte=first) | ~Q(recurrence="none"))
        .values("agent_id", "location_id", "location__name", "title", "organisation__name",
                "organisation__timezone", *_WINDOW_FIELDS)
    )
    for row in availabilities:
        own_tz = ZoneInfo(row["organisation__timezone"])
        for occurrence_start, occurrence_end in _opening(row).occurrences(own_tz, start, end):
            _place(agenda, bounds, tz, "availabilities", occurrence_start, occurrence_end, kind="availability",
                   label=row["title"] or "Plage d'ouverture", location=row["location__name"] or "")
    absences = (
        policy.absences(scope).filter(agent_id=agent.pk, first_day__lte=last, end_day__gte=first - ONE_DAY)
        .filter(Q(until__isnull=True) | Q(until__gte=first) | Q(recurrence="none"))
        .values("agent_id", "end_day", "title", *_WINDOW_FIELDS)
    )
    for row in absences:
        for absence_start, absence_end in _absence(row).occurrences(tz, start, end):
            _place(agenda, bounds, tz, "absences", absence_start, absence_end, kind="absence",
                   label=row["title"] or "Absence")

    holidays = public_holidays(holiday_region, range(days[0].year, days[-1].year + 1))
    for agenda_day in agenda:
        agenda_day.holiday = agenda_day.day in holidays
        agenda_day.appointments.sort(key=lambda item: item.sort_key)
        agenda_day.availabilities.sort(key=lambda item: item.sort_key)
        agenda_day.absences.sort(key=lambda item: item.sort_key)
    return agenda
