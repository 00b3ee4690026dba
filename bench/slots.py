"""Slot searches, next availability and booking on a large administration, through the real selectors.

Works in a database of its own (BENCH_DATABASE, default "rdv_bench_slots", on the server of DATABASE_URL),
created if missing and dropped at the end unless --keep or --reuse. The dev database is untouched.
bench/slots_data.py generates, with a fixed seed, a large administration (10 organisations, 50 locations,
30 types, 200 agents, 1,000 recurring availabilities, 100,000 appointments over six months, 5,000
absences) and a small one (3 agents). With --reuse the database and its data are kept between runs and
generated again only when missing or made by an older generator (the generation costs about a minute).

Measured, each over --repeat runs (default 30) with varied types, locations and start dates, "now" being
fixed (slots_data.NOW) so that every run sees the same data:

- usager slots of one type at one location over 7 days and over 6 weeks (``selectors.slots_for``);
- next availability of a type at each of its locations (``selectors.next_availability_for``,
  ``per_location=True``);
- booking a free slot (``services.appointment_book_slot``), rolled back after timing so the data stays
  the same (the time of the COMMIT itself is therefore not included);
- the query count of each operation on the small and on the large administration;
- beside them, a trivial page of the same administration (``GET /`` through the real middleware with
  Django's test client).

Run: ``make bench-slots`` or ``.venv/bin/python bench/slots.py [--reuse] [--keep] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time as clock
import warnings
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "rdv_bench_slots")
TARGETS_MS = {"slots_7d": 50, "slots_6w": 150, "next": 200, "booking": 50}
LABELS = {
    "slots_7d": "usager slots, 1 type, 1 location, 7 days",
    "slots_6w": "usager slots, 1 type, 1 location, 6 weeks",
    "next": "next availability, each location of a type",
    "booking": "booking a free slot (rolled back)",
    "page": "trivial page GET / (same administration)",
}


def database_urls() -> tuple[str, str]:
    """(URL of the bench database, URL of the maintenance database) on DATABASE_URL's server."""
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rdv"))
    if not BENCH_DATABASE.startswith("rdv_bench"):  # it is dropped: never let it name a real one
        raise SystemExit("BENCH_DATABASE must start with rdv_bench")
    return urlunsplit(base._replace(path=f"/{BENCH_DATABASE}")), urlunsplit(base._replace(path="/postgres"))


def admin_sql(maintenance_url: str, statement: str, params=()) -> list:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def prepare_database(*, reuse: bool) -> tuple[bool, str]:
    """Environment of the bench database (created, or kept with ``reuse``); (it existed, maintenance URL)."""
    warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no collectstatic for a bench
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout` still drops the database
    url, maintenance_url = database_urls()
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("BENCH_SETTINGS", "bench.slots_settings")
    os.environ["CACHE_KEY_PREFIX"] = BENCH_DATABASE
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    exists = bool(admin_sql(maintenance_url, "SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]))
    if exists and not reuse:
        admin_sql(maintenance_url, f'DROP DATABASE "{BENCH_DATABASE}" WITH (FORCE)')
        exists = False
    if not exists:
        admin_sql(maintenance_url, f'CREATE DATABASE "{BENCH_DATABASE}"')
    return exists, maintenance_url


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=dict(os.environ), check=True,
                   stdout=subprocess.DEVNULL)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


# --- Cases ---------------------------------------------------------------------------------------

class World:
    """The types of one administration, with the locations where each can be booked."""

    def __init__(self, administration):
        from django_tenants.utils import tenant_context

        from scheduling.models import AppointmentType, Availability, Citizen

        self.administration = administration
        with tenant_context(administration):
            self.types = {t.pk: t for t in AppointmentType.objects.select_related("organisation")}
            locations: dict[int, set[int]] = {}
            for type_id, location_id in Availability.appointment_types.through.objects.values_list(
                "appointmenttype_id", "availability__location_id"
            ):
                locations.setdefault(type_id, set()).add(location_id)
            self.locations = {type_id: sorted(ids) for type_id, ids in locations.items()}
            self.citizen_ids = list(Citizen.objects.values_list("pk", flat=True)[:1000])

    def case(self, rnd: random.Random, *, max_offset_days: int = 42):
        """(type, location id, start) with start a local midnight between NOW's day and max_offset_days later."""
        from bench.slots_data import NOW, TZ

        type_id = rnd.choice(sorted(self.locations))
        location_id = rnd.choice(self.locations[type_id])
        day = NOW.date() + timedelta(days=rnd.randrange(max_offset_days + 1))
        return self.types[type_id], location_id, datetime.combine(day, time.min, tzinfo=TZ)


def _location(location_id):
    from scheduling.models import Location

    return Location.objects.get(pk=location_id)


# --- Operations (each returns what it found, to check that it found something) -------------------

def op_slots(world: World, case, days: int):
    from bench.slots_data import NOW
    from scheduling.selectors import slots_for

    kind, location_id, start = case
    return slots_for(appointment_type=kind, start=start, end=start + timedelta(days=days), audience="usager",
                     location_id=location_id, now=NOW)


def op_next(world: World, case):
    from bench.slots_data import NOW
    from scheduling.selectors import next_availability_for

    kind, _, start = case
    return next_availability_for(appointment_type=kind, after=max(start, NOW), audience="usager", now=NOW,
                                 per_location=True)


def booking_case(world: World, rnd: random.Random):
    """(type, location, slot start, citizen) of a slot free now, found before timing."""
    from bench.slots_data import NOW
    from scheduling.models import Citizen
    from scheduling.selectors import slots_for

    for _ in range(100):
        kind, location_id, start = world.case(rnd)
        found = slots_for(appointment_type=kind, start=start, end=start + timedelta(days=1), audience="usager",
                          location_id=location_id, now=NOW)
        if found:
            slot = rnd.choice(found)
            citizen = Citizen.objects.get(pk=rnd.choice(world.citizen_ids))
            return kind, _location(location_id), slot.starts_at, citizen
    raise SystemExit("no free slot found for a booking")


def op_book(booking):
    from bench.slots_data import NOW
    from scheduling.services import Actor, appointment_book_slot

    kind, location, starts_at, citizen = booking
    return appointment_book_slot(appointment_type=kind, location=location, starts_at=starts_at, citizens=[citizen],
                                 actor=Actor(kind="citizen", label=str(citizen)), now=NOW)


# --- Measurement ---------------------------------------------------------------------------------

def measure(world: World, repeat: int, seed: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Milliseconds per operation (after one untimed warm-up run each), and how many runs found nothing."""
    from django.db import connection, transaction

    rnd = random.Random(seed)
    timings: dict[str, list[float]] = {key: [] for key in ("slots_7d", "slots_6w", "next", "booking")}
    empty = dict.fromkeys(timings, 0)
    connection.set_tenant(world.administration)
    cases = [world.case(rnd) for _ in range(repeat + 1)]
    operations = {
        "slots_7d": lambda case: op_slots(world, case, 7),
        "slots_6w": lambda case: op_slots(world, case, 42),
        "next": lambda case: op_next(world, case),
    }
    for key, operation in operations.items():
        for index, case in enumerate(cases):
            start = clock.perf_counter()
            found = operation(case)
            elapsed = (clock.perf_counter() - start) * 1000
            if index:  # the first run warms up
                timings[key].append(elapsed)
                empty[key] += not found
    for index in range(repeat + 1):
        booking = booking_case(world, rnd)
        with transaction.atomic():
            start = clock.perf_counter()
            op_book(booking)
            elapsed = (clock.perf_counter() - start) * 1000
            transaction.set_rollback(True)
        if index:
            timings["booking"].append(elapsed)
    return timings, empty


def query_counts(world: World, seed: int) -> dict[str, int]:
    """Queries of each operation on this administration (the same case shapes on every administration)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    rnd = random.Random(seed)
    connection.set_tenant(world.administration)
    with connection.cursor() as cursor:  # the SET search_path that follows set_tenant is not the operation's
        cursor.execute("SELECT 1")
    case = world.case(rnd, max_offset_days=7)
    counts = {}
    for key, operation in {
        "slots_7d": lambda: op_slots(world, case, 7),
        "slots_6w": lambda: op_slots(world, case, 42),
        "next": lambda: op_next(world, case),
    }.items():
        with CaptureQueriesContext(connection) as captured:
            found = operation()
        counts[key] = len(captured)
        if not found:
            print(f"  warning: {key} found nothing on {world.administration.slug}")
    booking = booking_case(world, rnd)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            op_book(booking)
        transaction.set_rollback(True)
    counts["booking"] = len(captured)
    return counts


def page(administration, repeat: int) -> tuple[list[float], int]:
    """Milliseconds of GET / on the administration's host through the real middleware, and its queries."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    host = f"{administration.slug}.{settings.BASE_DOMAIN}"
    timings = []
    for index in range(repeat + 5):
        start = clock.perf_counter()
        response = client.get("/", HTTP_HOST=host)
        elapsed = (clock.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET / on {host}: {response.status_code}")
        if index >= 5:
            timings.append(elapsed)
    with CaptureQueriesContext(connection) as captured:
        client.get("/", HTTP_HOST=host)
    return timings, len(captured)


def profile(world: World, key: str, seed: int) -> None:
    """cProfile of 10 runs of one operation (--profile KEY): the top of the cumulative times."""
    import cProfile
    import pstats

    rnd = random.Random(seed)
    cases = [world.case(rnd) for _ in range(10)]
    operation = {
        "slots_7d": lambda case: op_slots(world, case, 7),
        "slots_6w": lambda case: op_slots(world, case, 42),
        "next": lambda case: op_next(world, case),
    }[key]
    profiler = cProfile.Profile()
    profiler.enable()
    for case in cases:
        operation(case)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


# --- Main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep the database and its data for the next run")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "30")))
    parser.add_argument("--seed", type=int, default=7, help="seed of the measured cases (the data seed is fixed)")
    parser.add_argument("--profile", choices=("slots_7d", "slots_6w", "next"), help="print a cProfile of one case")
    args = parser.parse_args()

    exists, maintenance_url = prepare_database(reuse=args.reuse)
    keep = args.keep or args.reuse
    try:
        print(f"Slots on a large administration — database {BENCH_DATABASE} "
              f"({'kept from an earlier run' if exists else 'created for this run'})", flush=True)
        start = clock.perf_counter()
        if exists:
            manage("migrate_schemas", "-v", "0")  # a new migration (an index) reaches the kept schemas
        else:
            manage("migrate_schemas", "--shared", "-v", "0")
        print(f"  migrate_schemas{'' if exists else ' --shared'}: {clock.perf_counter() - start:.1f} s", flush=True)

        import django

        django.setup()
        from django.db import connection

        from bench import slots_data

        start = clock.perf_counter()
        large, small, counts = slots_data.generate(reuse=args.reuse)
        generation = clock.perf_counter() - start
        if counts:
            print(f"  generated in {generation:.1f} s: {counts}", flush=True)
        large_world, small_world = World(large), World(small)
        if args.profile:
            connection.set_tenant(large)
            profile(large_world, args.profile, args.seed)
            return 0

        print(f"  measuring ({args.repeat} runs per operation)...", flush=True)
        timings, empty = measure(large_world, args.repeat, args.seed)
        page_timings, page_queries = page(large, max(args.repeat, 100))
        counts_small = query_counts(small_world, args.seed)
        counts_large = query_counts(large_world, args.seed)
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {large.schema_name}.scheduling_appointment")
            appointments = cursor.fetchone()[0]
    finally:
        if not keep:
            from django.db import connections

            connections.close_all()
            admin_sql(maintenance_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')

    print()
    print(f"Summary — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.1f}; {appointments} appointments in the large administration; "
          f"now = {slots_data.NOW:%Y-%m-%d %H:%M} (fixed)")
    print(f"  {'operation':<46} {'p50':>8} {'p95':>8} {'max':>8}  {'target p95':>10}  verdict  queries small/large")
    for key, values in timings.items():
        p95 = percentile(values, 0.95)
        verdict = "OK" if p95 <= TARGETS_MS[key] else "MISSED"
        same = "" if counts_small[key] == counts_large[key] else "  DIFFERENT"
        nothing = f"  ({empty[key]} runs found nothing)" if empty[key] else ""
        print(f"  {LABELS[key]:<46} {statistics.median(values):6.1f}ms {p95:6.1f}ms {max(values):6.1f}ms  "
              f"{'≤ ' + str(TARGETS_MS[key]) + ' ms':>10}  {verdict:<7}  "
              f"{counts_small[key]} / {counts_large[key]}{same}{nothing}")
    print(f"  {LABELS['page']:<46} {statistics.median(page_timings):6.1f}ms {percentile(page_timings, 0.95):6.1f}ms "
          f"{max(page_timings):6.1f}ms  {'':>10}  {'':<7}  {page_queries} queries ({len(page_timings)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
