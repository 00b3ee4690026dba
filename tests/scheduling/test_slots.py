"""The slot rules of issue 3, example by example (scheduling.slots)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.recurrence import Recurrence
from scheduling.slots import (
    AbsenceRule,
    Busy,
    BusyIndex,
    Opening,
    Slot,
    choose_agent,
    compute_slots,
    next_availability,
    next_availability_by_location,
)

PARIS = ZoneInfo("Europe/Paris")
CAYENNE = ZoneInfo("America/Cayenne")
REUNION = ZoneInfo("Indian/Reunion")
MIN30 = timedelta(minutes=30)
WEEKDAYS = Recurrence("weekly", weekdays=(0, 1, 2, 3, 4))
MONDAY = date(2025, 1, 6)  # no DST, no holiday that week


def paris(day, hour=0, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def opening(agent=1, location=10, first_day=MONDAY, start=(9, 0), end=(12, 0), recurrence=WEEKDAYS):
    return Opening(agent, location, first_day, time(*start), time(*end), recurrence)


def slots(openings, busy=(), *, now=None, range_start=None, range_end=None, day=MONDAY, tz=PARIS, duration=MIN30, **kw):
    now = now or datetime.combine(day, time(0), tzinfo=tz) - timedelta(days=1)
    range_start = range_start or datetime.combine(day, time(0), tzinfo=tz)
    range_end = range_end or range_start + timedelta(days=1)
    return compute_slots(
        openings=openings, busy=busy, tz=tz, duration=duration, now=now,
        range_start=range_start, range_end=range_end, **kw,
    )


def hhmm(result, tz=PARIS):
    return [s.starts_at.astimezone(tz).strftime("%H:%M") for s in result]


class TestCutting:
    def test_back_to_back_from_the_start_and_must_fit(self):
        assert hhmm(slots([opening(end=(11, 45))])) == ["09:00", "09:30", "10:00", "10:30", "11:00"]

    def test_in_progress_occurrence_starts_on_the_five_minute_grid_after_now(self):
        # Free from 14:00, now 15:03: first slot 15:05.
        result = slots([opening(start=(14, 0), end=(17, 0))], now=paris(MONDAY, 15, 3))
        assert hhmm(result) == ["15:05", "15:35", "16:05"]

    def test_now_on_the_grid_keeps_it(self):
        assert hhmm(slots([opening(start=(14, 0), end=(15, 0))], now=paris(MONDAY, 14, 10))) == ["14:10"]

    def test_grid_is_anchored_at_the_free_interval_start(self):
        # Busy until 9:42, now 10:01: grid 9:42, 9:47, ... -> 10:02.
        busy = [Busy(1, paris(MONDAY, 9), paris(MONDAY, 9, 42))]
        assert hhmm(slots([opening()], busy, now=paris(MONDAY, 10, 1))) == ["10:02", "10:32", "11:02"]

    def test_occurrence_already_over_is_dropped(self):
        assert slots([opening()], now=paris(MONDAY, 12, 0)) == []
        assert slots([opening()], now=paris(MONDAY, 11, 31)) == []

    def test_next_slots_after_an_appointment_ending_at_9_40(self):
        busy = [Busy(1, paris(MONDAY, 9), paris(MONDAY, 9, 40))]
        assert hhmm(slots([opening()], busy)) == ["09:40", "10:10", "10:40", "11:10"]

    def test_touching_busy_intervals_do_not_overlap_slots(self):
        busy = [
            Busy(1, paris(MONDAY, 8), paris(MONDAY, 9)),  # ends at the opening's start
            Busy(1, paris(MONDAY, 10), paris(MONDAY, 10, 30)),  # starts at a slot's end
            Busy(1, paris(MONDAY, 12), paris(MONDAY, 13)),  # starts at the opening's end
        ]
        assert hhmm(slots([opening()], busy)) == ["09:00", "09:30", "10:30", "11:00", "11:30"]

    def test_overlapping_busy_intervals_are_merged(self):
        busy = [
            Busy(1, paris(MONDAY, 9, 30), paris(MONDAY, 10, 20)),
            Busy(1, paris(MONDAY, 9), paris(MONDAY, 10)),
            Busy(1, paris(MONDAY, 10, 20), paris(MONDAY, 10, 25)),
        ]
        assert hhmm(slots([opening()], busy)) == ["10:25", "10:55", "11:25"]
        index = BusyIndex([1], tz=PARIS)
        index.add(busy)
        assert index.busy(1) == [(paris(MONDAY, 9), paris(MONDAY, 10, 25))]

    def test_busy_of_another_agent_does_not_matter(self):
        busy = [Busy(2, paris(MONDAY, 9), paris(MONDAY, 12))]
        assert len(slots([opening()], busy)) == 6

    def test_range_filters_without_realigning(self):
        busy = [Busy(1, paris(MONDAY, 9), paris(MONDAY, 9, 42))]
        result = slots([opening()], busy, range_start=paris(MONDAY, 10), range_end=paris(MONDAY, 11, 30))
        assert hhmm(result) == ["10:12", "10:42"]  # 11:12 would end after the range

    def test_duration_longer_than_the_opening(self):
        assert slots([opening(end=(9, 20))]) == []


class TestWindow:
    def test_window_filters_usager_slots_without_realigning_the_grid(self):
        now = paris(MONDAY, 8)
        window = (now + timedelta(minutes=77), now + timedelta(hours=2))  # 9:17 .. 10:00
        assert hhmm(slots([opening()], now=now, window=window)) == ["09:30", "10:00"]

    def test_agents_are_never_limited_by_the_window(self):
        now = paris(MONDAY, 8)
        window = (now + timedelta(minutes=77), now + timedelta(hours=2))
        assert len(slots([opening()], now=now, window=window, audience="agent")) == 6

    def test_window_beyond_the_range(self):
        now = paris(MONDAY, 8)
        assert slots([opening()], now=now, window=(now + timedelta(days=2), now + timedelta(days=90))) == []


class TestBusyTime:
    def test_holiday_blocks_the_whole_day(self):
        # Thursday 1 May 2025 is a public holiday.
        result = slots(
            [opening(first_day=date(2025, 4, 28))], day=date(2025, 4, 28), range_end=paris(date(2025, 5, 3)),
            holidays=frozenset({date(2025, 5, 1)}),
        )
        assert {s.starts_at.astimezone(PARIS).date() for s in result} == {
            date(2025, 4, 28), date(2025, 4, 29), date(2025, 4, 30), date(2025, 5, 2),
        }

    def test_absence_during_an_appointment(self):
        absence = AbsenceRule(1, MONDAY, time(9), time(11))
        busy = [Busy(1, paris(MONDAY, 9, 30), paris(MONDAY, 10))]
        assert hhmm(slots([opening()], busy, absences=[absence])) == ["11:00", "11:30"]

    def test_appointment_across_the_end_of_an_absence(self):
        absence = AbsenceRule(1, MONDAY, time(9), time(10))
        busy = [Busy(1, paris(MONDAY, 9, 30), paris(MONDAY, 10, 15))]
        assert hhmm(slots([opening()], busy, absences=[absence])) == ["10:15", "10:45", "11:15"]

    def test_recurring_absence(self):
        absence = AbsenceRule(1, MONDAY, time(10), time(11), Recurrence("weekly", weekdays=(0,)))
        result = slots([opening()], day=MONDAY + timedelta(days=7), absences=[absence])
        assert hhmm(result) == ["09:00", "09:30", "11:00", "11:30"]

    def test_multi_day_absence(self):
        absence = AbsenceRule(1, MONDAY, time(10), time(10), end_day=MONDAY + timedelta(days=2))
        result = slots([opening()], range_end=paris(MONDAY + timedelta(days=4)), absences=[absence])
        by_day = {}
        for s in result:
            local = s.starts_at.astimezone(PARIS)
            by_day.setdefault(local.date(), []).append(local.strftime("%H:%M"))
        assert by_day == {
            MONDAY: ["09:00", "09:30"],
            MONDAY + timedelta(days=2): ["10:00", "10:30", "11:00", "11:30"],
            MONDAY + timedelta(days=3): ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"],
        }

    def test_recurring_absence_cannot_span_days(self):
        with pytest.raises(ValueError):
            AbsenceRule(1, MONDAY, time(9), time(10), Recurrence("weekly", weekdays=(0,)), end_day=MONDAY)

    def test_absence_of_another_agent_does_not_matter(self):
        assert len(slots([opening()], absences=[AbsenceRule(2, MONDAY, time(0), time(0))])) == 6


class TestAudience:
    def test_usager_sees_one_slot_per_start_with_every_free_agent(self):
        openings = [opening(agent=2), opening(agent=1), opening(agent=3, start=(10, 0))]
        busy = [Busy(1, paris(MONDAY, 9), paris(MONDAY, 9, 30))]
        result = slots(openings, busy)
        assert [(hhmm([s])[0], s.agent_ids) for s in result] == [
            ("09:00", (2,)), ("09:30", (1, 2)), ("10:00", (1, 2, 3)), ("10:30", (1, 2, 3)),
            ("11:00", (1, 2, 3)), ("11:30", (1, 2, 3)),
        ]

    def test_agent_sees_one_slot_per_agent_and_time(self):
        openings = [opening(agent=2), opening(agent=1)]
        result = slots(openings, audience="agent")
        assert len(result) == 12
        assert [s.agent_ids for s in result[:4]] == [(1,), (2,), (1,), (2,)]

    def test_overlapping_openings_of_one_agent_give_one_slot(self):
        assert len(slots([opening(), opening(start=(10, 0), end=(11, 0))], audience="agent")) == 6

    def test_sorted_by_start_then_location(self):
        openings = [opening(location=None), opening(location=20), opening(location=10, start=(9, 30))]
        result = slots(openings)
        assert [(hhmm([s])[0], s.location_id) for s in result[:5]] == [
            ("09:00", 20), ("09:00", None), ("09:30", 10), ("09:30", 20), ("09:30", None),
        ]

    def test_choose_agent_least_booked_then_lowest_id(self):
        assert choose_agent([3, 1, 2], {1: 60, 2: 30, 3: 30}) == 2
        assert choose_agent([3, 1, 2], {}) == 1
        assert choose_agent([5], {5: 600}) == 5
        with pytest.raises(ValueError):
            choose_agent([], {})


class TestDst:
    """A weekly Monday and Sunday 09:00-12:00 stays 09:00 local across the DST weeks."""

    RULE = Recurrence("weekly", weekdays=(0, 6))

    @pytest.mark.parametrize(
        "first, last, expected",
        [
            # Spring: Sunday 23 March CET (08:00Z), Sunday 30 and Monday 31 CEST (07:00Z).
            (date(2025, 3, 23), date(2025, 4, 1), [(23, 8), (24, 8), (30, 7), (31, 7)]),
            # Autumn: Sunday 19 and Monday 20 October CEST (07:00Z), Sunday 26 and Monday 27 CET (08:00Z).
            (date(2025, 10, 19), date(2025, 10, 28), [(19, 7), (20, 7), (26, 8), (27, 8)]),
        ],
    )
    def test_paris(self, first, last, expected):
        result = slots(
            [opening(first_day=date(2025, 1, 5), recurrence=self.RULE, end=(9, 30))],
            range_start=paris(first), range_end=paris(last),
        )
        assert [(s.starts_at.day, s.starts_at.hour) for s in result] == expected
        assert all(s.starts_at.tzinfo is UTC for s in result)
        assert {s.starts_at.astimezone(PARIS).hour for s in result} == {9}

    @pytest.mark.parametrize("tz, utc_hour", [(CAYENNE, 12), (REUNION, 5)])
    def test_overseas(self, tz, utc_hour):
        start = datetime(2025, 3, 23, tzinfo=tz)
        result = slots(
            [opening(first_day=date(2025, 1, 5), recurrence=self.RULE, end=(9, 30))], tz=tz,
            now=start - timedelta(days=1), range_start=start, range_end=start + timedelta(days=9),
        )
        assert [(s.starts_at.day, s.starts_at.hour) for s in result] == [
            (23, utc_hour), (24, utc_hour), (30, utc_hour), (31, utc_hour),
        ]

    def test_holiday_is_a_local_day(self):
        # 1 November 2025 (a Saturday) blocks 31 Oct 23:00Z to 1 Nov 23:00Z in Paris.
        weekend = Recurrence("weekly", weekdays=(5,))
        result = slots(
            [opening(first_day=date(2025, 11, 1), recurrence=weekend, start=(0, 0), end=(0, 0))],
            range_start=paris(date(2025, 11, 1)), range_end=paris(date(2025, 11, 3)),
            holidays=frozenset({date(2025, 11, 1)}), now=paris(date(2025, 10, 1)),
        )
        assert result == []

    def test_opening_during_the_spring_gap(self):
        # 02:00-04:00 on 30 March 2025: 02:00 does not exist, it is read as 03:00 CEST (01:00Z).
        one_off = Recurrence()
        result = slots(
            [opening(first_day=date(2025, 3, 30), recurrence=one_off, start=(2, 0), end=(4, 0))],
            range_start=paris(date(2025, 3, 30)), range_end=paris(date(2025, 3, 31)),
        )
        assert [s.starts_at for s in result] == [
            datetime(2025, 3, 30, 1, tzinfo=UTC), datetime(2025, 3, 30, 1, 30, tzinfo=UTC),
        ]


class TestNextAvailability:
    def kwargs(self, **kw):
        now = paris(MONDAY, 8)
        base = {
            "tz": PARIS, "duration": MIN30, "now": now, "after": now, "horizon_end": now + timedelta(days=183),
        }
        base.update(kw)
        return base

    def test_skips_a_fully_booked_period(self):
        busy = [Busy(1, paris(MONDAY), paris(MONDAY + timedelta(days=30), 10, 10))]
        slot = next_availability(openings=[opening()], busy=busy, **self.kwargs())
        day = MONDAY + timedelta(days=30)
        assert slot == Slot(paris(day, 10, 10), paris(day, 10, 40), 10, (1,))

    def test_skipping_busy_days_keeps_the_occurrence_where_busy_time_ends(self):
        # Busy from Monday 9:00 to Wednesday 11:30: the walk jumps over Monday and Tuesday and must still
        # see Wednesday's last half hour.
        wednesday = MONDAY + timedelta(days=2)
        busy = [Busy(1, paris(MONDAY, 9), paris(wednesday, 11, 30))]
        slot = next_availability(openings=[opening()], busy=busy, **self.kwargs())
        assert slot.starts_at == paris(wednesday, 11, 30)

    def test_earliest_slot_may_come_from_a_later_occurrence(self):
        openings = [opening(agent=1, start=(9, 0)), opening(agent=2, start=(10, 0))]
        busy = [Busy(1, paris(MONDAY, 9), paris(MONDAY, 11))]
        slot = next_availability(openings=openings, busy=busy, **self.kwargs())
        assert (slot.starts_at, slot.agent_ids) == (paris(MONDAY, 10), (2,))

    def test_usager_gets_every_agent_free_at_that_time(self):
        openings = [opening(agent=3), opening(agent=1), opening(agent=2, start=(9, 30))]
        slot = next_availability(openings=openings, busy=[], **self.kwargs())
        assert slot.agent_ids == (1, 3)
        slot = next_availability(openings=openings, busy=[], **self.kwargs(audience="agent"))
        assert slot.agent_ids == (1,)

    def test_none_until_the_horizon(self):
        busy = [Busy(1, paris(MONDAY), paris(MONDAY + timedelta(days=400)))]
        assert next_availability(openings=[opening()], busy=busy, **self.kwargs()) is None
        assert next_availability(openings=[], busy=[], **self.kwargs()) is None

    def test_loader_is_called_in_growing_contiguous_chunks_and_stops_early(self):
        calls = []
        busy = [Busy(1, paris(MONDAY), paris(MONDAY + timedelta(days=20)))]

        def load(start, end):
            calls.append((start, end))
            return [b for b in busy if b.starts_at < end and b.ends_at > start]

        slot = next_availability(openings=[opening()], busy=load, **self.kwargs())
        assert slot.starts_at == paris(MONDAY + timedelta(days=21), 9)
        # 7 days, then up to the first occurrence after the busy block (skipped without visiting its
        # occurrences): the rest of the six months is never loaded.
        assert len(calls) == 2
        assert all(a[1] == b[0] for a, b in zip(calls, calls[1:], strict=False))
        assert calls[-1][1] < self.kwargs()["horizon_end"]

    def test_window_and_after_filter(self):
        now = paris(MONDAY, 8)
        kwargs = self.kwargs(after=paris(MONDAY, 10, 10), window=(now + timedelta(days=1), now + timedelta(days=90)))
        slot = next_availability(openings=[opening()], busy=[], **kwargs)
        assert slot.starts_at == paris(MONDAY + timedelta(days=1), 9)
        slot = next_availability(openings=[opening()], busy=[], **self.kwargs(after=paris(MONDAY, 10, 10)))
        assert slot.starts_at == paris(MONDAY, 10, 30)

    def test_by_location(self):
        openings = [
            opening(location=10),
            opening(location=20, first_day=MONDAY + timedelta(days=3)),
            opening(location=30, agent=2),
        ]
        busy = [Busy(2, paris(MONDAY), paris(MONDAY + timedelta(days=400)))]
        found = next_availability_by_location(openings=openings, busy=busy, **self.kwargs())
        assert {loc: s.starts_at for loc, s in found.items()} == {
            10: paris(MONDAY, 9), 20: paris(MONDAY + timedelta(days=3), 9),
        }


class TestValidation:
    def test_naive_datetimes_are_refused(self):
        with pytest.raises(ValueError):
            slots([opening()], now=datetime(2025, 1, 6, 8))

    def test_duration_must_be_positive(self):
        with pytest.raises(ValueError):
            slots([opening()], duration=timedelta(0))

    def test_unknown_audience(self):
        with pytest.raises(ValueError):
            slots([opening()], audience="prescripteur")


def test_next_availability_ends_when_busy_time_runs_past_the_horizon():
    """Regression: an occurrence straddling the horizon, its agent busy beyond it, used to be expanded
    again and again (the walk restarted at the horizon and met the same occurrence)."""
    day = date(2027, 1, 4)
    opening = Opening(agent_id=1, location_id=1, first_day=day, start_time=time(9), end_time=time(12),
                      recurrence=Recurrence(kind="weekly", weekdays=(0, 1, 2, 3, 4)))
    busy = [Busy(1, datetime(2027, 1, 4, 8, tzinfo=PARIS), datetime(2027, 1, 4, 13, tzinfo=PARIS))]
    found = next_availability(
        openings=[opening], busy=busy, tz=PARIS, duration=timedelta(minutes=30),
        now=datetime(2027, 1, 1, tzinfo=PARIS), after=datetime(2027, 1, 4, 8, tzinfo=PARIS),
        horizon_end=datetime(2027, 1, 4, 10, tzinfo=PARIS),
    )
    assert found is None
