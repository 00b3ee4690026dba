"""Occurrence expansion of wall-clock rules (plages d'ouverture and recurring absences).

Pure module: no ORM, no clock, no I/O.

A rule is a first day, a start and an end wall-clock time, and a :class:`Recurrence`. Its occurrences are
*dates*; each date is then turned into an aware ``[start, end)`` interval in UTC by expanding the wall-clock
times in the organisation's timezone, so a weekly 09:00 stays 09:00 local time across DST changes.

Conventions (see also docs/decisions/0006-slot-rules.md):

- Weekly: weeks start on Monday; the week containing ``first_day`` is week 0 and a week is active when its
  number is a multiple of ``interval``. Occurrences are the chosen weekdays of active weeks that are on or
  after ``first_day`` (``first_day`` itself is an occurrence only if its weekday is chosen). Sunday allowed.
- Monthly: "the n-th <weekday> of the month", n and weekday derived from ``first_day`` (the 9 June 2026 is a
  Tuesday in the 2nd week: "every 2nd Tuesday"). n = 5 exists in some months only: months without a 5th
  such weekday are skipped (as RFC 5545 ``BYDAY=5TU`` does), never moved to the 4th or last one.
  ``interval`` means every N months.
- ``until`` is the last date that may hold an occurrence (inclusive); ``excluded_dates`` are removed.
- An end time not after the start time means the end is on the next day (``22:00``-``06:00``, or
  ``00:00`` for "until midnight").
- DST gap (a wall time that does not exist, e.g. 02:30 on the last Sunday of March in Europe/Paris): the
  wall time is read with the offset in force before the transition, which yields the post-transition
  instant shifted by the length of the gap (02:30 becomes 03:30 CEST), like java.time and
  ``dateutil.tz.resolve_imaginary``. DST fold (02:30 happens twice on the last Sunday of October): the
  first instant is used (``fold=0``, summer time). An interval that becomes empty that way is dropped.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

__all__ = [
    "Recurrence",
    "NO_RECURRENCE",
    "occurrence_dates",
    "to_utc",
    "local_interval",
    "local_span",
    "occurrence_intervals",
    "nth_weekday_of",
]

ONE_DAY = timedelta(days=1)
ONE_WEEK = timedelta(days=7)
Kind = Literal["none", "weekly", "monthly"]


@dataclass(frozen=True, slots=True)
class Recurrence:
    """How a rule repeats. ``weekdays`` use 0 = Monday ... 6 = Sunday and only matter for weekly rules."""

    kind: Kind = "none"
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    until: date | None = None
    excluded_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self):
        if self.kind not in ("none", "weekly", "monthly"):
            raise ValueError(f"unknown recurrence kind {self.kind!r}")
        if not 1 <= self.interval <= 5:
            raise ValueError("interval must be between 1 and 5")
        weekdays = tuple(sorted(set(self.weekdays)))
        if any(not 0 <= d <= 6 for d in weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        if self.kind == "weekly" and not weekdays:
            raise ValueError("a weekly recurrence needs at least one weekday")
        object.__setattr__(self, "weekdays", weekdays)
        object.__setattr__(self, "excluded_dates", frozenset(self.excluded_dates))

    @property
    def recurring(self) -> bool:
        return self.kind != "none"


NO_RECURRENCE = Recurrence()


def nth_weekday_of(year: int, month: int, weekday: int, n: int) -> date | None:
    """The n-th (1-5) ``weekday`` of a month, or None when the month has no such day (a missing 5th)."""
    first_weekday, days_in_month = calendar.monthrange(year, month)
    day = 1 + (weekday - first_weekday) % 7 + 7 * (n - 1)
    return date(year, month, day) if day <= days_in_month else None


def occurrence_dates(
    first_day: date, recurrence: Recurrence, date_from: date, date_to: date | None = None
) -> Iterator[date]:
    """Yield, lazily and in chronological order, the occurrence dates within ``[date_from, date_to]``.

    ``date_to=None`` means no bound other than ``recurrence.until`` (an endless rule then yields forever:
    the consumer stops). The start is computed arithmetically from ``date_from``: nothing before it is
    iterated, however far it is from ``first_day``.
    """
    start = max(first_day, date_from)
    end = date_to
    if recurrence.until is not None:
        end = recurrence.until if end is None else min(end, recurrence.until)
    if end is not None and start > end:
        return
    excluded = recurrence.excluded_dates

    if recurrence.kind == "none":
        if start == first_day and first_day not in excluded:
            yield first_day
        return

    interval = recurrence.interval
    if recurrence.kind == "weekly":
        week0 = first_day - timedelta(days=first_day.weekday())
        week = (start - timedelta(days=start.weekday()) - week0).days // 7
        if week % interval:
            week += interval - week % interval
        monday = week0 + timedelta(weeks=week)
        step = timedelta(weeks=interval)
        offsets = [timedelta(days=d) for d in recurrence.weekdays]
        while end is None or monday <= end:
            for offset in offsets:
                day = monday + offset
                if day < start:
                    continue
                if end is not None and day > end:
                    return
                if day not in excluded:
                    yield day
            monday += step
        return

    # monthly: n-th weekday of the month, derived from first_day
    weekday = first_day.weekday()
    n = (first_day.day - 1) // 7 + 1
    months = (start.year - first_day.year) * 12 + start.month - first_day.month
    if months % interval:
        months += interval - months % interval
    index = first_day.year * 12 + first_day.month - 1 + months
    while True:
        year, month0 = divmod(index, 12)
        if end is not None and date(year, month0 + 1, 1) > end:
            return
        day = nth_weekday_of(year, month0 + 1, weekday, n)
        if day is not None and day >= start and (end is None or day <= end) and day not in excluded:
            yield day
        index += interval


def to_utc(day: date, wall_time: time, tz: tzinfo) -> datetime:
    """The UTC instant of a local wall-clock time (gap: shifted forward by the gap; fold: first instant)."""
    if wall_time.fold or wall_time.tzinfo is not None:
        wall_time = wall_time.replace(tzinfo=None, fold=0)
    return datetime.combine(day, wall_time, tz).astimezone(UTC)


def local_interval(day: date, start_time: time, end_time: time, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of one occurrence on ``day``; the end is on the next day if not after the start.

    The result may be empty (end <= start) only around a DST gap; callers drop such intervals.
    """
    end_day = day + ONE_DAY if end_time <= start_time else day
    return to_utc(day, start_time, tz), to_utc(end_day, end_time, tz)


def local_span(
    start_day: date, start_time: time, end_day: date, end_time: time, tz: tzinfo
) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of a one-off span over one or several days (multi-day absences)."""
    return to_utc(start_day, start_time, tz), to_utc(end_day, end_time, tz)


def local_date_bounds(utc_from: datetime, utc_to: datetime | None, tz: tzinfo) -> tuple[date, date | None]:
    """Local dates whose occurrences (starting that day, lasting at most a day) may meet ``[utc_from, utc_to)``."""
    date_from = utc_from.astimezone(tz).date() - ONE_DAY
    date_to = None if utc_to is None else utc_to.astimezone(tz).date()
    return date_from, date_to


def occurrence_intervals(
    first_day: date,
    start_time: time,
    end_time: time,
    recurrence: Recurrence,
    tz: tzinfo,
    utc_from: datetime,
    utc_to: datetime | None = None,
    *,
    date_bounds: tuple[date, date | None] | None = None,
) -> Iterator[tuple[datetime, datetime]]:
    """Yield lazily, in chronological order, the UTC ``[start, end)`` of the occurrences meeting
    ``[utc_from, utc_to)`` (intervals that only touch a bound are left out; empty ones are dropped).

    ``date_bounds`` is ``local_date_bounds(utc_from, utc_to, tz)``, passed by callers expanding many rules
    over the same range so it is computed once.
    """
    date_from, date_to = date_bounds or local_date_bounds(utc_from, utc_to, tz)
    for day in occurrence_dates(first_day, recurrence, date_from, date_to):
        start, end = local_interval(day, start_time, end_time, tz)
        if end <= start or end <= utc_from:
            continue
        if utc_to is not None and start >= utc_to:
            return
        yield start, end


def iter_days(date_from: date, date_to: date) -> Iterable[date]:
    """Every date from ``date_from`` to ``date_to`` inclusive."""
    day = date_from
    while day <= date_to:
        yield day
        day += ONE_DAY
