"""Pure-Python cost of the slot engine (scheduling.slots), without database or Django.

Generates, with a fixed seed, an administration of 200 agents over 20 locations (Europe/Paris):
1,000 recurring availabilities (5 per agent), 100,000 appointments over six months (about four a working
day per agent, inside their availabilities) and 5,000 absences (one-off over several days, or weekly),
plus the metropolitan public holidays. It then times, as a selector would call them with inputs already
loaded (the query time is measured by bench/slots.py, not here):

- usager slots for one location over 7 days and 6 weeks (the ~50 availabilities of that location);
- the worst case: all 1,000 availabilities at one location, 7 days, agent and usager audiences;
- next availability for every location (busy loaded in chunks, or all six months at once), from a date
  where every agent is already booked solid for two weeks.

Run: ``.venv/bin/python bench/slots_pure.py`` (BENCH_REPEAT=n repetitions, default 30). Prints median and
p95 per case.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time as clock
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduling.holidays import public_holidays  # noqa: E402
from scheduling.recurrence import Recurrence  # noqa: E402
from scheduling.slots import (  # noqa: E402
    AbsenceRule,
    Busy,
    Opening,
    compute_slots,
    next_availability_by_location,
)

TZ = ZoneInfo("Europe/Paris")
AGENTS = 200
LOCATIONS = 20
OPENINGS_PER_AGENT = 5
APPOINTMENTS = 100_000
ABSENCES = 5_000
START = date(2026, 1, 5)  # a Monday
DAYS = 182
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
DURATION = timedelta(minutes=30)


def generate(seed: int = 42):
    rnd = random.Random(seed)
    openings = []
    for agent in range(1, AGENTS + 1):
        home = rnd.randrange(LOCATIONS)
        for i in range(OPENINGS_PER_AGENT):
            location = home if i < 4 else rnd.randrange(LOCATIONS)
            morning = i % 2 == 0
            start, end = (time(9), time(12, 30)) if morning else (time(13, 30), time(17))
            weekdays = tuple(sorted(rnd.sample(range(5), rnd.randint(1, 3))))
            recurrence = Recurrence("weekly", interval=rnd.choice([1, 1, 1, 2]), weekdays=weekdays)
            first_day = START - timedelta(days=rnd.randrange(0, 700))
            openings.append(Opening(agent, location, first_day, start, end, recurrence))

    # ~4 appointments a working day per agent, back to back or with gaps, at wall-clock times.
    busy_by_agent: dict[int, list[Busy]] = {agent: [] for agent in range(1, AGENTS + 1)}
    working_days = [START + timedelta(days=d) for d in range(DAYS) if (START + timedelta(days=d)).weekday() < 5]
    per_day = APPOINTMENTS / (AGENTS * len(working_days))
    count = 0
    for agent in range(1, AGENTS + 1):
        for day in working_days:
            n = int(per_day) + (1 if rnd.random() < per_day - int(per_day) else 0)
            cursor = datetime.combine(day, time(9), tzinfo=TZ) + timedelta(minutes=rnd.randrange(0, 60, 5))
            for _ in range(n):
                length = timedelta(minutes=rnd.choice([15, 20, 30, 30, 45, 60]))
                busy_by_agent[agent].append(Busy(agent, cursor.astimezone(UTC), (cursor + length).astimezone(UTC)))
                count += 1
                cursor += length + timedelta(minutes=rnd.choice([0, 0, 10, 25, 40, 90]))
    absences = []
    for _ in range(ABSENCES):
        agent = rnd.randint(1, AGENTS)
        first = START + timedelta(days=rnd.randrange(-30, DAYS))
        if rnd.random() < 0.5:
            end_day = first + timedelta(days=rnd.randint(0, 4))
            absences.append(AbsenceRule(agent, first, time(8), time(18), end_day=end_day))
        else:
            weekday = Recurrence("weekly", weekdays=(rnd.randrange(5),), until=first + timedelta(weeks=8))
            absences.append(AbsenceRule(agent, first, time(14), time(15, 30), weekday))
    holidays = public_holidays("metropole", [2026])
    return openings, busy_by_agent, absences, holidays, count


class BusyStore:
    """What the selector holds after its queries: per agent, appointments sorted by start."""

    def __init__(self, busy_by_agent):
        self.by_agent = {agent: sorted(items, key=lambda b: b.starts_at) for agent, items in busy_by_agent.items()}
        self.starts = {agent: [b.starts_at for b in items] for agent, items in self.by_agent.items()}

    def between(self, agents, start, end):
        out = []
        for agent in agents:
            items, starts = self.by_agent[agent], self.starts[agent]
            lo = bisect_left(starts, start - timedelta(days=1))
            hi = bisect_right(starts, end)
            out.extend(b for b in items[lo:hi] if b.ends_at > start)
        return out


def measure(fn, repeat=REPEAT):
    """Median and p95 of wall time, and median CPU time of this process (steadier on a busy machine)."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = clock.perf_counter(), clock.process_time()
        result = fn()
        times.append((clock.perf_counter() - t0) * 1000)
        cpu.append((clock.process_time() - c0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, statistics.median(cpu), result


def main():
    t0 = clock.perf_counter()
    openings, busy_by_agent, absences, holidays, count = generate()
    store = BusyStore(busy_by_agent)
    print(f"generated {AGENTS} agents, {len(openings)} availabilities, {count} appointments, "
          f"{len(absences)} absences in {clock.perf_counter() - t0:.1f} s")
    now = datetime.combine(START + timedelta(days=14), time(8), tzinfo=TZ)
    week_start = now
    location = max(range(LOCATIONS), key=lambda loc: sum(o.location_id == loc for o in openings))
    at_location = [o for o in openings if o.location_id == location]
    agents_here = {o.agent_id for o in at_location}
    all_agents = {o.agent_id for o in openings}
    window = (now + timedelta(minutes=30), now + timedelta(days=90))

    def slots_case(selected, agents, days, audience="usager", win=window):
        end = week_start + timedelta(days=days)
        busy = store.between(agents, week_start, end)
        agent_absences = [a for a in absences if a.agent_id in agents]

        def run():
            return compute_slots(
                openings=selected, busy=busy, absences=agent_absences, holidays=holidays, tz=TZ, duration=DURATION,
                now=now, range_start=week_start, range_end=end, window=win, audience=audience,
            )
        return run, len(busy)

    rows = []
    for label, selected, agents, days, audience, win in [
        (f"usager, 1 location ({len(at_location)} availabilities, {len(agents_here)} agents), 7 days",
         at_location, agents_here, 7, "usager", window),
        (f"usager, 1 location ({len(at_location)} availabilities), 6 weeks",
         at_location, agents_here, 42, "usager", window),
        ("worst case: all 1,000 availabilities at one location, usager, 7 days",
         openings, all_agents, 7, "usager", window),
        ("worst case: all 1,000 availabilities at one location, agent, 7 days",
         openings, all_agents, 7, "agent", None),
    ]:
        run, n_busy = slots_case(selected, agents, days, audience, win)
        median, p95, cpu, result = measure(run)
        rows.append((label, median, p95, cpu, f"{len(result)} slots, {n_busy} busy intervals in"))

    # Next availability for every location, from a date where every agent is booked solid for 2 weeks.
    solid = (now.astimezone(UTC), (now + timedelta(days=14)).astimezone(UTC))
    for agent in all_agents:
        store.by_agent[agent] = sorted(store.by_agent[agent] + [Busy(agent, *solid)], key=lambda b: b.starts_at)
        store.starts[agent] = [b.starts_at for b in store.by_agent[agent]]
    horizon = now + timedelta(days=180)
    calls = []

    def loader(start, end):
        calls.append((start, end))
        return store.between(all_agents, start, end)

    def next_chunked():
        calls.clear()
        return next_availability_by_location(
            openings=openings, busy=loader, absences=absences, holidays=holidays, tz=TZ, duration=DURATION,
            now=now, after=now, horizon_end=horizon, window=(now, horizon),
        )

    median, p95, cpu, result = measure(next_chunked)
    rows.append(("next availability, every location (busy loaded in chunks)", median, p95, cpu,
                 f"{len(result)} locations, {len(calls)} loader calls"))
    whole = store.between(all_agents, now, horizon)

    def next_whole():
        return next_availability_by_location(
            openings=openings, busy=whole, absences=absences, holidays=holidays, tz=TZ, duration=DURATION,
            now=now, after=now, horizon_end=horizon, window=(now, horizon),
        )

    median, p95, cpu, result = measure(next_whole, repeat=max(5, REPEAT // 3))
    rows.append(("next availability, every location (six months of busy at once)", median, p95, cpu,
                 f"{len(result)} locations, {len(whole)} busy intervals in"))

    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; wall times suffer from load, CPU less")
    print(f"{'case':<72} {'median ms':>9} {'p95 ms':>7} {'cpu ms':>7}  notes")
    for label, median, p95, cpu, note in rows:
        print(f"{label:<72} {median:>9.1f} {p95:>7.1f} {cpu:>7.1f}  {note}")


if __name__ == "__main__":
    main()
