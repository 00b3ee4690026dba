"""Occurrence expansion of wall-clock rules (scheduling.recurrence): dates, fast-forward, DST."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.recurrence import (
    NO_RECURRENCE,
    Recurrence,
    local_interval,
    local_span,
    nth_weekday_of,
    occurrence_dates,
    occurrence_intervals,
    to_utc,
)

PARIS = ZoneInfo("Europe/Paris")
CAYENNE = ZoneInfo("America/Cayenne")
REUNION = ZoneInfo("Indian/Reunion")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def dates(first_day, recurrence, date_from, date_to):
    return list(occurrence_dates(first_day, recurrence, date_from, date_to))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def intervals(first_day, rule, tz, utc_from, utc_to=None, start=time(9), end=time(12)):
    return list(occurrence_intervals(first_day, start, end, rule, tz, utc_from, utc_to))


class TestDates:
    def test_one_off(self):
        assert dates(date(2025, 3, 5), NO_RECURRENCE, date(2025, 3, 1), date(2025, 3, 31)) == [date(2025, 3, 5)]
        assert dates(date(2025, 3, 5), NO_RECURRENCE, date(2025, 3, 6), date(2025, 3, 31)) == []
        assert dates(date(2025, 3, 5), NO_RECURRENCE, date(2025, 3, 1), date(2025, 3, 4)) == []

    def test_weekly_every_two_weeks_on_monday_and_thursday(self):
        rule = Recurrence("weekly", interval=2, weekdays=(THU, MON))
        assert dates(date(2025, 1, 6), rule, date(2025, 1, 1), date(2025, 2, 10)) == [
            date(2025, 1, 6), date(2025, 1, 9), date(2025, 1, 20), date(2025, 1, 23),
            date(2025, 2, 3), date(2025, 2, 6),
        ]

    def test_weekly_first_day_mid_week_keeps_its_week_as_week_zero(self):
        rule = Recurrence("weekly", interval=2, weekdays=(MON, THU))
        # Wednesday 8 January: the Monday of that week is before first_day, Thursday 9 is the first occurrence.
        assert dates(date(2025, 1, 8), rule, date(2025, 1, 1), date(2025, 1, 31)) == [
            date(2025, 1, 9), date(2025, 1, 20), date(2025, 1, 23),
        ]

    def test_weekly_on_sunday(self):
        rule = Recurrence("weekly", weekdays=(SUN,))
        assert dates(date(2025, 3, 1), rule, date(2025, 3, 1), date(2025, 3, 31)) == [
            date(2025, 3, 2), date(2025, 3, 9), date(2025, 3, 16), date(2025, 3, 23), date(2025, 3, 30),
        ]

    def test_monthly_second_tuesday(self):
        rule = Recurrence("monthly")
        assert dates(date(2025, 1, 14), rule, date(2025, 1, 1), date(2025, 6, 30)) == [
            date(2025, 1, 14), date(2025, 2, 11), date(2025, 3, 11), date(2025, 4, 8), date(2025, 5, 13),
            date(2025, 6, 10),
        ]

    def test_monthly_every_two_months(self):
        rule = Recurrence("monthly", interval=2)
        assert dates(date(2025, 1, 14), rule, date(2025, 2, 1), date(2025, 7, 31)) == [
            date(2025, 3, 11), date(2025, 5, 13), date(2025, 7, 8),
        ]

    def test_monthly_fifth_weekday_skips_months_without_one(self):
        # 29 January 2025 is the 5th Wednesday of January.
        rule = Recurrence("monthly")
        assert dates(date(2025, 1, 29), rule, date(2025, 1, 1), date(2025, 12, 31)) == [
            date(2025, 1, 29), date(2025, 4, 30), date(2025, 7, 30), date(2025, 10, 29), date(2025, 12, 31),
        ]
        assert nth_weekday_of(2025, 2, WED, 5) is None

    def test_until_is_inclusive(self):
        rule = Recurrence("weekly", weekdays=(MON,), until=date(2025, 1, 20))
        assert dates(date(2025, 1, 6), rule, date(2025, 1, 1), date(2025, 12, 31)) == [
            date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20),
        ]
        assert dates(date(2025, 1, 6), rule, date(2025, 1, 21), None) == []

    def test_excluded_dates(self):
        rule = Recurrence("weekly", weekdays=(MON,), excluded_dates=frozenset({date(2025, 1, 13)}))
        assert dates(date(2025, 1, 6), rule, date(2025, 1, 1), date(2025, 1, 31)) == [
            date(2025, 1, 6), date(2025, 1, 20), date(2025, 1, 27),
        ]
        one_off = Recurrence(excluded_dates={date(2025, 1, 6)})
        assert dates(date(2025, 1, 6), one_off, date(2025, 1, 1), date(2025, 1, 31)) == []

    def test_fast_forward_far_from_first_day(self):
        rule = Recurrence("weekly", interval=3, weekdays=(TUE, SAT))
        got = dates(date(1990, 1, 3), rule, date(2090, 6, 1), date(2090, 7, 1))
        week0 = date(1990, 1, 1)  # Monday of first_day's week
        expected = [
            day for day in (date(2090, 6, 1) + timedelta(days=i) for i in range(31))
            if day.weekday() in (TUE, SAT) and ((day - week0).days // 7) % 3 == 0
        ]
        assert got == expected and len(got) == 2

    def test_endless_rule_is_lazy(self):
        rule = Recurrence("weekly", weekdays=(MON, WED, FRI))
        generator = occurrence_dates(date(2025, 1, 6), rule, date(2025, 1, 1))
        assert list(islice(generator, 4)) == [date(2025, 1, 6), date(2025, 1, 8), date(2025, 1, 10), date(2025, 1, 13)]

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"kind": "daily"},
            {"kind": "weekly", "interval": 0, "weekdays": (MON,)},
            {"kind": "weekly", "interval": 6, "weekdays": (MON,)},
            {"kind": "weekly"},
            {"kind": "weekly", "weekdays": (7,)},
        ],
    )
    def test_invalid_rules(self, kwargs):
        with pytest.raises(ValueError):
            Recurrence(**kwargs)

    def test_weekdays_are_normalised(self):
        assert Recurrence("weekly", weekdays=(THU, MON, THU)).weekdays == (MON, THU)


def _brute_force(first_day, rule, date_from, date_to):
    """Independent definition of the rules, day by day from first_day."""
    out = []
    day = first_day
    n = (first_day.day - 1) // 7 + 1
    while day <= date_to:
        if rule.until is not None and day > rule.until:
            break
        if rule.kind == "weekly":
            weeks = (day - timedelta(days=day.weekday()) - (first_day - timedelta(days=first_day.weekday()))).days // 7
            hit = day.weekday() in rule.weekdays and weeks % rule.interval == 0
        else:
            months = (day.year - first_day.year) * 12 + day.month - first_day.month
            hit = day.weekday() == first_day.weekday() and (day.day - 1) // 7 + 1 == n and months % rule.interval == 0
        if hit and day >= date_from and day not in rule.excluded_dates:
            out.append(day)
        day += timedelta(days=1)
    return out


@settings(max_examples=200, deadline=None)
@given(
    first_day=st.dates(date(2023, 1, 1), date(2025, 12, 31)),
    kind=st.sampled_from(["weekly", "monthly"]),
    interval=st.integers(1, 5),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    offset=st.integers(-40, 900),
    length=st.integers(0, 120),
    until=st.none() | st.dates(date(2023, 1, 1), date(2027, 12, 31)),
    excluded=st.sets(st.dates(date(2023, 1, 1), date(2027, 12, 31)), max_size=5),
)
def test_fast_forward_matches_day_by_day_expansion(
    first_day, kind, interval, weekdays, offset, length, until, excluded
):
    rule = Recurrence(kind, interval=interval, weekdays=tuple(weekdays), until=until, excluded_dates=excluded)
    date_from = first_day + timedelta(days=offset)
    date_to = date_from + timedelta(days=length)
    assert dates(first_day, rule, date_from, date_to) == _brute_force(first_day, rule, date_from, date_to)


class TestWallClock:
    def test_weekly_nine_o_clock_stays_local_across_spring_dst(self):
        # Europe/Paris goes to summer time on Sunday 30 March 2025.
        rule = Recurrence("weekly", weekdays=(MON, SUN))
        got = intervals(date(2025, 3, 1), rule, PARIS, utc(2025, 3, 23), utc(2025, 4, 1))
        assert got == [
            (utc(2025, 3, 23, 8), utc(2025, 3, 23, 11)),  # Sunday before: CET, 08:00Z
            (utc(2025, 3, 24, 8), utc(2025, 3, 24, 11)),
            (utc(2025, 3, 30, 7), utc(2025, 3, 30, 10)),  # the DST Sunday itself: CEST, 07:00Z
            (utc(2025, 3, 31, 7), utc(2025, 3, 31, 10)),
        ]

    def test_weekly_nine_o_clock_stays_local_across_autumn_dst(self):
        rule = Recurrence("weekly", weekdays=(MON, SUN))
        got = intervals(date(2025, 10, 1), rule, PARIS, utc(2025, 10, 19), utc(2025, 10, 28))
        assert [start for start, _ in got] == [
            utc(2025, 10, 19, 7), utc(2025, 10, 20, 7), utc(2025, 10, 26, 8), utc(2025, 10, 27, 8),
        ]

    @pytest.mark.parametrize("tz, hour", [(CAYENNE, 12), (REUNION, 5)])
    def test_overseas_zones_have_no_dst(self, tz, hour):
        rule = Recurrence("weekly", weekdays=(MON, SUN))
        got = intervals(date(2025, 3, 1), rule, tz, utc(2025, 3, 20), utc(2025, 11, 1))
        assert {(start.hour, end - start) for start, end in got} == {(hour, timedelta(hours=3))}
        assert len(got) == 64

    def test_dst_gap_uses_the_wall_time_shifted_by_the_gap(self):
        # 02:30 does not exist on 30 March 2025 in Paris: it becomes 03:30 CEST (01:30Z).
        assert to_utc(date(2025, 3, 30), time(2, 30), PARIS) == utc(2025, 3, 30, 1, 30)
        assert local_interval(date(2025, 3, 30), time(2), time(4), PARIS) == (utc(2025, 3, 30, 1), utc(2025, 3, 30, 2))

    def test_dst_fold_uses_the_first_instant(self):
        # 02:30 happens twice on 26 October 2025 in Paris: the first one (CEST, 00:30Z) is used.
        assert to_utc(date(2025, 10, 26), time(2, 30), PARIS) == utc(2025, 10, 26, 0, 30)
        assert to_utc(date(2025, 10, 26), time(2, 30, fold=1), PARIS) == utc(2025, 10, 26, 0, 30)

    def test_interval_emptied_by_a_dst_gap_is_dropped(self):
        # 02:30-03:00 on the spring DST night: 03:30 CEST to 03:00 CEST, empty.
        got = intervals(date(2025, 3, 30), NO_RECURRENCE, PARIS, utc(2025, 3, 1), start=time(2, 30), end=time(3))
        assert got == []

    def test_end_not_after_start_is_on_the_next_day(self):
        assert local_interval(date(2025, 1, 6), time(22), time(6), PARIS) == (utc(2025, 1, 6, 21), utc(2025, 1, 7, 5))
        assert local_interval(date(2025, 1, 6), time(14), time(0), PARIS) == (utc(2025, 1, 6, 13), utc(2025, 1, 6, 23))

    def test_multi_day_span(self):
        assert local_span(date(2025, 3, 28), time(12), date(2025, 3, 31), time(10), PARIS) == (
            utc(2025, 3, 28, 11), utc(2025, 3, 31, 8),
        )

    def test_intervals_only_touching_the_bounds_are_left_out(self):
        rule = Recurrence("weekly", weekdays=(MON,))
        got = intervals(date(2025, 1, 6), rule, PARIS, utc(2025, 1, 6, 11), utc(2025, 1, 13, 8))
        assert got == []  # ends at 11:00Z = utc_from; next Monday starts at 08:00Z = utc_to
