"""The pure slot algorithm ("créneaux"): availability occurrences minus busy time, cut into slots.

No ORM, no settings, no clock (``now`` is passed in), no I/O. The selector loads the inputs (already
filtered: availabilities of one appointment type, location and agents; appointments in active statuses)
and calls :func:`compute_slots` or :func:`next_availability`. The rules are those of issue 3 and are
summarised in docs/decisions/0006-slot-rules.md:

- occurrences of the openings are expanded in the organisation's timezone (``scheduling.recurrence``);
- an agent's busy time is his appointments, his absences and the public holidays (whole local days);
  overlapping busy intervals are merged, intervals that only touch do not overlap;
- each free interval is cut into back-to-back slots of ``duration`` from its start; a slot must fit;
- no slot starts before ``now``: when a free interval started in the past, its first slot is the first
  point not before ``now`` of a 5-minute grid anchored at the free interval's start;
- slots lie within ``[range_start, range_end]``; for usagers the booking window filters slot starts
  (it never re-aligns the grid); agents see every free slot and are never limited by the window;
- usager audience: one slot per (start, location) with every free agent; agent audience: one slot per
  agent, start and location.

Efficiency: busy intervals are grouped per agent, sorted and merged once; each occurrence is subtracted
with a binary search and a sweep over the busy intervals it meets, so the cost is
O(B log B + O x (log B + k)) for B busy intervals and O occurrences.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

from scheduling.recurrence import (
    NO_RECURRENCE,
    ONE_DAY,
    Recurrence,
    local_date_bounds,
    local_span,
    occurrence_intervals,
    to_utc,
)

__all__ = [
    "GRID",
    "Opening",
    "AbsenceRule",
    "Busy",
    "Slot",
    "BusyIndex",
    "compute_slots",
    "next_availability",
    "next_availability_by_location",
    "choose_agent",
]

GRID = timedelta(minutes=5)
MIDNIGHT = time(0, 0)
Audience = Literal["usager", "agent"]
AgentId = Hashable
LocationId = Hashable
Interval = tuple[datetime, datetime]
BusyLoader = Callable[[datetime, datetime], Iterable["Busy"]]


@dataclass(frozen=True, slots=True)
class Opening:
    """One plage d'ouverture of an agent at a location (None: no location, e.g. phone appointments)."""

    agent_id: AgentId
    location_id: LocationId | None
    first_day: date
    start_time: time
    end_time: time
    recurrence: Recurrence = NO_RECURRENCE

    def occurrences(
        self, tz: tzinfo, utc_from: datetime, utc_to: datetime | None, date_bounds=None
    ) -> Iterator[Interval]:
        """UTC ``[start, end)`` of the occurrences meeting ``[utc_from, utc_to)``, lazily, in order."""
        return occurrence_intervals(
            self.first_day, self.start_time, self.end_time, self.recurrence, tz, utc_from, utc_to,
            date_bounds=date_bounds,
        )


@dataclass(frozen=True, slots=True)
class AbsenceRule:
    """An agent-wide absence: recurring like an opening (less than a day each time), or one-off.

    A one-off absence over several days sets ``end_day``: it runs from ``first_day`` at ``start_time`` to
    ``end_day`` at ``end_time``. Without ``end_day`` the absence lasts from ``start_time`` to ``end_time``
    on each occurrence date (``end_time`` not after ``start_time``: until the next day).
    """

    agent_id: AgentId
    first_day: date
    start_time: time
    end_time: time
    recurrence: Recurrence = NO_RECURRENCE
    end_day: date | None = None

    def __post_init__(self):
        if self.end_day is not None:
            if self.recurrence.recurring:
                raise ValueError("a recurring absence lasts less than a day: end_day must be None")
            if self.end_day < self.first_day:
                raise ValueError("end_day is before first_day")

    def occurrences(
        self, tz: tzinfo, utc_from: datetime, utc_to: datetime | None, date_bounds=None
    ) -> Iterator[Interval]:
        """UTC ``[start, end)`` of the occurrences meeting ``[utc_from, utc_to)``, lazily, in order."""
        if self.end_day is None:
            yield from occurrence_intervals(
                self.first_day, self.start_time, self.end_time, self.recurrence, tz, utc_from, utc_to,
                date_bounds=date_bounds,
            )
            return
        if date_bounds is not None:  # cheap rejection on dates before any timezone arithmetic
            date_from, date_to = date_bounds
            if self.end_day < date_from or (date_to is not None and self.first_day > date_to):
                return
        start, end = local_span(self.first_day, self.start_time, self.end_day, self.end_time, tz)
        if start < end and end > utc_from and (utc_to is None or start < utc_to):
            yield start, end


@dataclass(frozen=True, slots=True)
class Busy:
    """A time an agent is taken: an appointment in an active status (unknown, seen, noshow)."""

    agent_id: AgentId
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable slot. Usager audience: every free agent; agent audience: exactly one agent."""

    starts_at: datetime
    ends_at: datetime
    location_id: LocationId | None
    agent_ids: tuple[AgentId, ...]


def _slot_key(slot: Slot):
    # None (no location) sorts after every real location, without ever comparing None with an id.
    return (slot.starts_at, slot.location_id is None, slot.location_id, slot.agent_ids)


def _require_aware(**values: datetime | None) -> None:
    for name, value in values.items():
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name} must be an aware datetime")


class BusyIndex:
    """Busy time of a set of agents: appointments, absences and holidays, merged and sorted per agent.

    ``add`` takes appointments (any order, duplicates allowed); ``cover`` expands absences and holidays
    over a UTC range (called with contiguous ranges when loading in chunks); ``free`` subtracts an
    agent's busy time from an interval by a binary search and a sweep.
    """

    def __init__(
        self,
        agent_ids: Iterable[AgentId],
        *,
        tz: tzinfo,
        absences: Iterable[AbsenceRule] = (),
        holidays: Iterable[date] = (),
    ):
        self._tz = tz
        self._raw: dict[AgentId, list[Interval]] = {agent_id: [] for agent_id in agent_ids}
        self._starts: dict[AgentId, list[datetime]] = {}
        self._ends: dict[AgentId, list[datetime]] = {}
        self._dirty: set[AgentId] = set(self._raw)
        self._absences: dict[AgentId, list[AbsenceRule]] = defaultdict(list)
        for absence in absences:
            if absence.agent_id in self._raw:
                self._absences[absence.agent_id].append(absence)
        self._holidays = sorted(set(holidays))

    def add(self, busy: Iterable[Busy]) -> None:
        raw, dirty = self._raw, self._dirty
        for item in busy:
            intervals = raw.get(item.agent_id)
            if intervals is not None and item.starts_at < item.ends_at:
                intervals.append((item.starts_at, item.ends_at))
                dirty.add(item.agent_id)

    def cover(self, utc_from: datetime, utc_to: datetime) -> None:
        """Add the absences and holidays meeting ``[utc_from, utc_to)``."""
        if utc_from >= utc_to:
            return
        bounds = date_from, date_to = local_date_bounds(utc_from, utc_to, self._tz)
        for agent_id, rules in self._absences.items():
            intervals = self._raw[agent_id]
            before = len(intervals)
            for rule in rules:
                last_day = rule.end_day or rule.recurrence.until
                if rule.recurrence.recurring:
                    last_day = last_day and last_day + ONE_DAY  # an occurrence may end the next day
                elif last_day is None:
                    last_day = rule.first_day + ONE_DAY
                if (last_day is not None and last_day < date_from) or rule.first_day > date_to:
                    continue
                intervals.extend(rule.occurrences(self._tz, utc_from, utc_to, bounds))
            if len(intervals) != before:
                self._dirty.add(agent_id)
        if self._holidays:
            first = utc_from.astimezone(self._tz).date()
            last = utc_to.astimezone(self._tz).date()
            days = self._holidays[bisect_left(self._holidays, first) : bisect_right(self._holidays, last)]
            blocks = [(to_utc(day, MIDNIGHT, self._tz), to_utc(day + ONE_DAY, MIDNIGHT, self._tz)) for day in days]
            if blocks:
                for agent_id, intervals in self._raw.items():
                    intervals.extend(blocks)
                    self._dirty.add(agent_id)

    def _merge(self, agent_id: AgentId) -> None:
        intervals = self._raw[agent_id]
        intervals.sort()
        merged: list[Interval] = []
        for start, end in intervals:
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        self._raw[agent_id] = merged
        self._starts[agent_id] = [start for start, _ in merged]
        self._ends[agent_id] = [end for _, end in merged]
        self._dirty.discard(agent_id)

    def busy(self, agent_id: AgentId) -> list[Interval]:
        """The merged busy intervals of an agent, sorted (for tests and diagnostics)."""
        if agent_id in self._dirty:
            self._merge(agent_id)
        return list(self._raw.get(agent_id, ()))

    def busy_until(self, agent_id: AgentId, instant: datetime) -> datetime:
        """The end of the agent's busy time running through ``instant`` (``instant`` itself if free just
        before it): the agent is busy over ``[instant - epsilon, busy_until)``."""
        if agent_id in self._dirty:
            self._merge(agent_id)
        starts, ends = self._starts[agent_id], self._ends[agent_id]
        i = bisect_left(ends, instant)  # first busy interval ending at or after instant
        if i < len(starts) and starts[i] < instant:
            return ends[i]
        return instant

    def free(self, agent_id: AgentId, start: datetime, end: datetime) -> list[Interval]:
        """``[start, end)`` minus the agent's busy time, as sorted disjoint intervals."""
        if agent_id in self._dirty:
            self._merge(agent_id)
        starts, ends = self._starts[agent_id], self._ends[agent_id]
        free: list[Interval] = []
        cursor = start
        i = bisect_right(ends, start)  # first busy interval ending after start (touching ones are skipped)
        n = len(starts)
        while i < n and starts[i] < end:
            if starts[i] > cursor:
                free.append((cursor, starts[i]))
            if ends[i] > cursor:
                cursor = ends[i]
            i += 1
        if cursor < end:
            free.append((cursor, end))
        return free


def _cut(
    free_start: datetime,
    free_end: datetime,
    duration: timedelta,
    now: datetime,
    lowest: datetime,
    highest_end: datetime,
    latest_start: datetime | None,
) -> Iterator[datetime]:
    """Slot starts of one free interval.

    The grid is anchored at ``free_start``, moved to the first 5-minute point not before ``now`` when the
    interval started in the past, then stepped by ``duration``; starts before ``lowest`` (range start,
    window start) are skipped without re-aligning; a slot must end by ``free_end`` and ``highest_end``,
    and start by ``latest_start`` (window end) when given.
    """
    start = free_start
    if start < now:
        start += -((start - now) // GRID) * GRID
    if start < lowest:
        start += -((start - lowest) // duration) * duration
    last_end = min(free_end, highest_end)
    while start + duration <= last_end and (latest_start is None or start <= latest_start):
        yield start
        start += duration


def _bounds(now, range_start, range_end, window, audience):
    if audience not in ("usager", "agent"):
        raise ValueError(f"unknown audience {audience!r}")
    lowest = max(range_start, now)
    latest_start = None
    if audience == "usager" and window is not None:
        lowest = max(lowest, window[0])
        latest_start = window[1]
    return lowest, range_end, latest_start


def _check(duration, **values):
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    _require_aware(**values)


def compute_slots(
    *,
    openings: Iterable[Opening],
    busy: Iterable[Busy],
    tz: tzinfo,
    duration: timedelta,
    now: datetime,
    range_start: datetime,
    range_end: datetime,
    absences: Iterable[AbsenceRule] = (),
    holidays: Iterable[date] = frozenset(),
    window: tuple[datetime, datetime] | None = None,
    audience: Audience = "usager",
) -> list[Slot]:
    """Free slots of ``openings`` within ``[range_start, range_end]``, sorted by (start, location).

    ``busy`` must hold the agents' active appointments meeting the occurrences, i.e. over
    ``[range_start - 1 day, range_end + 1 day)`` (busy time just before the range moves the grid of a free
    interval that starts before it). ``window`` is the booking window ``[now + min delay, now + max
    delay]``: it filters slot starts for the usager audience and is ignored for agents.
    """
    _check(duration, now=now, range_start=range_start, range_end=range_end)
    if window is not None:
        _require_aware(window_start=window[0], window_end=window[1])
    lowest, highest_end, latest_start = _bounds(now, range_start, range_end, window, audience)
    if lowest + duration > highest_end or (latest_start is not None and latest_start < lowest):
        return []

    occurrences: list[tuple[datetime, datetime, Opening]] = []
    bounds = local_date_bounds(lowest, highest_end, tz)
    for opening in openings:
        for start, end in opening.occurrences(tz, lowest, highest_end, bounds):
            occurrences.append((start, end, opening))
    if not occurrences:
        return []

    index = BusyIndex({occ[2].agent_id for occ in occurrences}, tz=tz, absences=absences, holidays=holidays)
    index.add(busy)
    index.cover(min(occ[0] for occ in occurrences), max(occ[1] for occ in occurrences))

    found: set[tuple[datetime, LocationId, AgentId]] = set()
    for start, end, opening in occurrences:
        agent_id, location_id = opening.agent_id, opening.location_id
        for free_start, free_end in index.free(agent_id, start, end):
            for slot_start in _cut(free_start, free_end, duration, now, lowest, highest_end, latest_start):
                found.add((slot_start, location_id, agent_id))
    return _build(found, duration, audience)


def _build(found: Iterable[tuple[datetime, LocationId, AgentId]], duration: timedelta, audience: Audience):
    if audience == "agent":
        slots = [Slot(start, start + duration, location_id, (agent_id,)) for start, location_id, agent_id in found]
    else:
        grouped: dict[tuple[datetime, LocationId], list[AgentId]] = defaultdict(list)
        for start, location_id, agent_id in found:
            grouped[start, location_id].append(agent_id)
        slots = [
            Slot(start, start + duration, location_id, tuple(sorted(set(agent_ids))))
            for (start, location_id), agent_ids in grouped.items()
        ]
    slots.sort(key=_slot_key)
    return slots


def next_availability_by_location(
    *,
    openings: Iterable[Opening],
    busy: Iterable[Busy] | BusyLoader,
    tz: tzinfo,
    duration: timedelta,
    now: datetime,
    after: datetime,
    horizon_end: datetime,
    absences: Iterable[AbsenceRule] = (),
    holidays: Iterable[date] = frozenset(),
    window: tuple[datetime, datetime] | None = None,
    audience: Audience = "usager",
    chunk: timedelta = timedelta(days=7),
) -> dict[LocationId | None, Slot]:
    """The first free slot at or after ``after`` (ending by ``horizon_end``) of each location.

    Locations with no slot until the horizon are absent from the result. See :func:`next_availability`.
    """
    return _walk(
        openings=list(openings), busy=busy, tz=tz, duration=duration, now=now, after=after,
        horizon_end=horizon_end, absences=absences, holidays=holidays, window=window, audience=audience,
        chunk=chunk, per_location=True,
    )


def next_availability(
    *,
    openings: Iterable[Opening],
    busy: Iterable[Busy] | BusyLoader,
    tz: tzinfo,
    duration: timedelta,
    now: datetime,
    after: datetime,
    horizon_end: datetime,
    absences: Iterable[AbsenceRule] = (),
    holidays: Iterable[date] = frozenset(),
    window: tuple[datetime, datetime] | None = None,
    audience: Audience = "usager",
    chunk: timedelta = timedelta(days=7),
) -> Slot | None:
    """The first free slot at or after ``after`` and ending by ``horizon_end``, or None.

    Equal to the first element of ``compute_slots(range_start=after, range_end=horizon_end, ...)``, but
    found by walking the occurrences of all openings lazily in chronological order (a heap of per-opening
    generators) and stopping as soon as no later occurrence can hold an earlier slot.

    ``busy`` is either every active appointment of the agents over the horizon (one query: the selector
    loads ``[after - 1 day, horizon_end)``), or a loader ``busy(start, end)`` returning the appointments
    meeting ``[start, end)``: it is called with contiguous chunks, first ``chunk`` long then doubling
    (7, 14, 28... days), only as far as the walk goes, so a near answer costs one small query and six
    months at most five or six. Absences (few) are passed whole and expanded chunk by chunk.
    """
    found = _walk(
        openings=list(openings), busy=busy, tz=tz, duration=duration, now=now, after=after,
        horizon_end=horizon_end, absences=absences, holidays=holidays, window=window, audience=audience,
        chunk=chunk, per_location=False,
    )
    return min(found.values(), key=_slot_key) if found else None


def _walk(
    *, openings, busy, tz, duration, now, after, horizon_end, absences, holidays, window, audience, chunk,
    per_location,
) -> dict[LocationId | None, Slot]:
    _check(duration, now=now, after=after, horizon_end=horizon_end)
    if window is not None:
        _require_aware(window_start=window[0], window_end=window[1])
    if chunk <= timedelta(0):
        raise ValueError("chunk must be positive")
    lowest, highest_end, latest_start = _bounds(now, after, horizon_end, window, audience)
    if lowest + duration > highest_end or (latest_start is not None and latest_start < lowest):
        return {}

    heap = []
    bounds = local_date_bounds(lowest, highest_end, tz)
    for i, opening in enumerate(openings):
        generator = opening.occurrences(tz, lowest, highest_end, bounds)
        first = next(generator, None)
        if first is not None:
            heap.append((first[0], i, first[1], generator))
    if not heap:
        return {}
    heapq.heapify(heap)

    index = BusyIndex({opening.agent_id for opening in openings}, tz=tz, absences=absences, holidays=holidays)
    loader = busy if callable(busy) else None
    if loader is None:
        index.add(busy)
    loaded_to = heap[0][0]  # busy time is known over [first occurrence start, loaded_to)
    step = chunk

    # best[location] = (slot start, agent ids free at that start)
    best: dict[LocationId | None, tuple[datetime, set[AgentId]]] = {}
    overall: datetime | None = None
    while heap:
        start, i, end, generator = heap[0]
        opening = openings[i]
        location_id = opening.location_id
        if per_location:
            current = best.get(location_id)
            if current is not None and start > current[0]:
                heapq.heappop(heap)  # this opening cannot do better any more: drop its generator
                continue
        elif overall is not None and start > overall:
            break

        needed = min(end, highest_end)
        while loaded_to < needed:
            chunk_end = min(highest_end, max(needed, loaded_to + step))
            if loader is not None:
                index.add(loader(loaded_to, chunk_end))
            index.cover(loaded_to, chunk_end)
            loaded_to = chunk_end
            step *= 2

        for free_start, free_end in index.free(opening.agent_id, start, end):
            slot_start = next(_cut(free_start, free_end, duration, now, lowest, highest_end, latest_start), None)
            if slot_start is not None:
                current = best.get(location_id)
                if current is None or slot_start < current[0]:
                    best[location_id] = (slot_start, {opening.agent_id})
                elif slot_start == current[0]:
                    current[1].add(opening.agent_id)
                if overall is None or slot_start < overall:
                    overall = slot_start
                break
        else:
            # No slot: if the agent stays busy past this occurrence (booked solid, long absence), restart
            # the opening's expansion where that busy time ends instead of visiting every occurrence in it.
            busy_end = index.busy_until(opening.agent_id, end)
            if busy_end >= highest_end:
                # Busy until the horizon: nothing more from this opening. (Restarting the expansion at the
                # horizon would yield the occurrence that straddles it again, forever.)
                heapq.heappop(heap)
                continue
            if busy_end > end:
                # Every occurrence meeting busy_end ends after it, hence after this one: progress is certain.
                generator = opening.occurrences(tz, busy_end, highest_end)

        following = next(generator, None)
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (following[0], i, following[1], generator))

    result = {}
    for location_id, (slot_start, agent_ids) in best.items():
        ids = tuple(sorted(agent_ids))
        if audience == "agent":
            ids = ids[:1]  # one slot per agent: the first of compute_slots' order
        result[location_id] = Slot(slot_start, slot_start + duration, location_id, ids)
    return result


def choose_agent(free_agent_ids: Iterable[AgentId], booked_minutes_that_day: Mapping[AgentId, int]) -> AgentId:
    """The agent a usager's booking goes to: the least booked that day (in minutes), ties by lowest id.

    Deterministic and fair: load spreads over the free agents, and the same inputs always give the same
    agent (no randomness, unlike the reference system), which keeps bookings reproducible in tests.
    """
    candidates = list(free_agent_ids)
    if not candidates:
        raise ValueError("no free agent to choose from")
    return min(candidates, key=lambda agent_id: (booked_minutes_that_day.get(agent_id, 0), agent_id))
