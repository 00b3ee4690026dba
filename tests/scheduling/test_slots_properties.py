"""Property tests of the slot engine against a naive oracle written from the rules of issue 3.

The oracle subtracts every busy interval from every occurrence one by one (no merge, no index) and walks
the 5-minute grid minute by minute: slow but obviously right. The engine must give exactly its slots, and
the properties the design promises are checked directly too.
"""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.recurrence import Recurrence, occurrence_intervals, to_utc
from scheduling.slots import (
    GRID,
    AbsenceRule,
    Busy,
    Opening,
    compute_slots,
    next_availability,
    next_availability_by_location,
)

ZONES = [ZoneInfo("Europe/Paris"), ZoneInfo("America/Cayenne"), ZoneInfo("Indian/Reunion")]
# Weeks around the spring and autumn DST changes in Europe, and an ordinary one.
BASES = [date(2025, 3, 24), date(2025, 10, 20), date(2025, 6, 2)]
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)

times = st.builds(time, st.integers(0, 22), st.sampled_from([0, 5, 10, 15, 20, 30, 37, 45, 55]))
weekly = st.builds(
    Recurrence, st.just("weekly"), st.integers(1, 3), st.sets(st.integers(0, 6), min_size=1).map(tuple),
    st.none() | st.dates(date(2025, 3, 1), date(2025, 12, 31)),
)
# weekly rules first and most often: they are the ones meeting a one-week range
monthly = st.builds(Recurrence, st.just("monthly"), st.integers(1, 2))
recurrences = st.one_of(weekly, weekly, monthly, st.just(Recurrence()))


AGENTS = st.sampled_from([1, 2, 3])
LOCATIONS = st.sampled_from([10, 20, None])
END_TIMES = st.builds(time, st.integers(1, 23), st.sampled_from([0, 15, 30, 45]))
# Everything is drawn as offsets from the week's Monday, with strategies built once (building them per
# example is what makes generation slow).
OPENING_DRAWS = st.tuples(AGENTS, LOCATIONS, st.integers(-40, 4), times, END_TIMES, recurrences)
# mostly appointments, sometimes days of busy time (what next availability skips over)
BUSY_LENGTHS = st.one_of(st.integers(1, 300), st.integers(1, 300), st.integers(600, 4 * 1440))
BUSY_DRAWS = st.tuples(AGENTS, st.integers(-1440, 15 * 1440), BUSY_LENGTHS)
ABSENCE_DRAWS = st.tuples(AGENTS, st.integers(-10, 9), times, times, recurrences, st.none() | st.integers(0, 3))
SCENARIO_DRAWS = st.fixed_dictionaries({
    "tz": st.sampled_from(ZONES),
    "base": st.sampled_from(BASES),
    "openings": st.lists(OPENING_DRAWS, min_size=1, max_size=6),
    "busy": st.lists(BUSY_DRAWS, max_size=25),
    "absences": st.lists(ABSENCE_DRAWS, max_size=3),
    "holidays": st.sets(st.integers(-1, 12), max_size=2),
    "duration": st.sampled_from([10, 15, 20, 30, 45, 60, 90]),
    "now": st.integers(-86400, 4 * 86400),
    "range_start": st.integers(-1440, 4 * 1440),
    "range_length": st.integers(1440, 9 * 1440),
    "window": st.none() | st.tuples(st.integers(0, 2 * 1440), st.integers(0, 8 * 1440)),
    "audience": st.sampled_from(["usager", "agent"]),
})


def _scenario(d):
    tz, base = d["tz"], d["base"]
    origin = datetime.combine(base, time(0), tzinfo=tz).astimezone(UTC)
    minutes = lambda m: origin + timedelta(minutes=m)  # noqa: E731
    days = lambda n: base + timedelta(days=n)  # noqa: E731
    now = origin + timedelta(seconds=d["now"])
    range_start = minutes(d["range_start"])
    window = d["window"]
    if window is not None:
        window = (now + timedelta(minutes=window[0]), now + timedelta(minutes=window[0] + window[1]))
    absences = []
    for agent, first, start, end, recurrence, span in d["absences"]:
        if span is None:
            absences.append(AbsenceRule(agent, days(first), start, end, recurrence))
        else:
            absences.append(AbsenceRule(agent, days(first), start, end, end_day=days(first + span)))
    return {
        "openings": [Opening(a, loc, days(first), s, e, r) for a, loc, first, s, e, r in d["openings"]],
        "busy": [Busy(a, minutes(m), minutes(m + length)) for a, m, length in d["busy"]],
        "absences": absences,
        "holidays": frozenset(days(n) for n in d["holidays"]),
        "tz": tz,
        "duration": timedelta(minutes=d["duration"]),
        "now": now,
        "range_start": range_start,
        "range_end": range_start + timedelta(minutes=d["range_length"]),
        "window": window,
        "audience": d["audience"],
    }


def scenarios():
    return SCENARIO_DRAWS.map(_scenario)


def busy_blocks(scenario, agent_id):
    """Every busy interval of an agent, unmerged: appointments, absence occurrences, holiday days."""
    tz = scenario["tz"]
    wide_from = scenario["range_start"] - timedelta(days=60)
    wide_to = scenario["range_end"] + timedelta(days=60)
    blocks = [(b.starts_at, b.ends_at) for b in scenario["busy"] if b.agent_id == agent_id]
    for absence in scenario["absences"]:
        if absence.agent_id == agent_id:
            blocks.extend(absence.occurrences(tz, wide_from, wide_to))
    for day in scenario["holidays"]:
        blocks.append((to_utc(day, time(0), tz), to_utc(day + timedelta(days=1), time(0), tz)))
    return blocks


def occurrences(scenario, opening):
    return list(occurrence_intervals(
        opening.first_day, opening.start_time, opening.end_time, opening.recurrence, scenario["tz"],
        scenario["range_start"] - timedelta(days=3), scenario["range_end"] + timedelta(days=3),
    ))


def oracle(scenario):
    """(start, location, agent) of every slot, per the rules, the slow way."""
    now, duration, window = scenario["now"], scenario["duration"], scenario["window"]
    found = set()
    for opening in scenario["openings"]:
        blocks = busy_blocks(scenario, opening.agent_id)
        for occ_start, occ_end in occurrences(scenario, opening):
            free = [(occ_start, occ_end)]
            for busy_start, busy_end in blocks:
                remaining = []
                for free_start, free_end in free:
                    if busy_end <= free_start or busy_start >= free_end:
                        remaining.append((free_start, free_end))
                        continue
                    if busy_start > free_start:
                        remaining.append((free_start, busy_start))
                    if busy_end < free_end:
                        remaining.append((busy_end, free_end))
                free = remaining
            for free_start, free_end in free:
                start = free_start
                while start < now:
                    start += GRID
                while start + duration <= free_end:
                    ok = scenario["range_start"] <= start and start + duration <= scenario["range_end"]
                    if window is not None and scenario["audience"] == "usager":
                        ok = ok and window[0] <= start <= window[1]
                    if ok:
                        found.add((start, opening.location_id, opening.agent_id))
                    start += duration
    return found


def flatten(slots):
    return {(s.starts_at, s.location_id, agent_id) for s in slots for agent_id in s.agent_ids}


@PROPERTY_SETTINGS
@given(scenarios())
def test_slots_are_exactly_those_of_the_rules(scenario):
    slots = compute_slots(**scenario)
    assert flatten(slots) == oracle(scenario)
    keys = [(s.starts_at, s.location_id, s.agent_ids) for s in slots]
    assert len(keys) == len(set(keys))
    if scenario["audience"] == "usager":
        assert len({(s.starts_at, s.location_id) for s in slots}) == len(slots)
        assert all(list(s.agent_ids) == sorted(set(s.agent_ids)) for s in slots)
    else:
        assert all(len(s.agent_ids) == 1 for s in slots)


@PROPERTY_SETTINGS
@given(scenarios())
def test_promised_properties(scenario):
    slots = compute_slots(**scenario)
    duration, window = scenario["duration"], scenario["window"]
    for slot in slots:
        assert slot.ends_at - slot.starts_at == duration
        assert slot.starts_at.tzinfo is UTC
        assert slot.starts_at >= scenario["now"]
        assert scenario["range_start"] <= slot.starts_at and slot.ends_at <= scenario["range_end"]
        if window is not None and scenario["audience"] == "usager":
            assert window[0] <= slot.starts_at <= window[1]
        for agent_id in slot.agent_ids:
            blocks = busy_blocks(scenario, agent_id)
            # no overlap with any busy interval of the agent (touching is fine)
            assert not any(start < slot.ends_at and slot.starts_at < end for start, end in blocks)
            # inside one occurrence of an opening of that agent at that location, and fits
            containing = [
                (start, end)
                for opening in scenario["openings"]
                if opening.agent_id == agent_id and opening.location_id == slot.location_id
                for start, end in occurrences(scenario, opening)
                if start <= slot.starts_at and slot.ends_at <= end
            ]
            assert containing
            # on the 5-minute grid (durations are multiples of 5 minutes) of a free interval's start,
            # which is an occurrence start or the end of a busy interval
            anchors = [start for start, _ in containing] + [end for _, end in blocks]
            assert any(a <= slot.starts_at and (slot.starts_at - a) % GRID == timedelta(0) for a in anchors)
    assert slots == sorted(slots, key=lambda s: (s.starts_at, s.location_id is None, s.location_id, s.agent_ids))


@PROPERTY_SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(scenario, rnd: random.Random):
    expected = compute_slots(**scenario)
    shuffled = dict(scenario)
    for key in ("openings", "busy", "absences"):
        items = list(scenario[key])
        rnd.shuffle(items)
        shuffled[key] = items
    assert compute_slots(**shuffled) == expected


@PROPERTY_SETTINGS
@given(scenarios())
def test_usager_slots_group_the_agent_slots(scenario):
    usager = compute_slots(**{**scenario, "audience": "usager", "window": None})
    agent = compute_slots(**{**scenario, "audience": "agent", "window": None})
    assert flatten(usager) == flatten(agent)


@PROPERTY_SETTINGS
@given(scenarios(), st.booleans(), st.sampled_from([timedelta(hours=6), timedelta(days=1), timedelta(days=7)]))
def test_next_availability_is_the_first_slot_over_the_horizon(scenario, use_loader, chunk):
    after, horizon_end = scenario["range_start"], scenario["range_end"]
    expected = compute_slots(**scenario)
    kwargs = {k: v for k, v in scenario.items() if k not in ("range_start", "range_end", "busy")}
    busy = scenario["busy"]
    if use_loader:
        def busy_source(start, end):
            return [b for b in busy if b.starts_at < end and b.ends_at > start]
    else:
        busy_source = busy
    first = next_availability(after=after, horizon_end=horizon_end, busy=busy_source, chunk=chunk, **kwargs)
    assert first == (expected[0] if expected else None)

    by_location = next_availability_by_location(
        after=after, horizon_end=horizon_end, busy=busy_source, chunk=chunk, **kwargs
    )
    firsts = defaultdict(list)
    for slot in expected:
        firsts[slot.location_id].append(slot)
    assert by_location == {location: slots[0] for location, slots in firsts.items()}
