"""Requests per second of the usagers' week-of-slots page on a large administration, beside a trivial
page of the same administration, under gunicorn and wrk on loopback (issue 6: target ≥ 50 %).

Data: the large generated administration of bench/slots.py (bench/slots_data.py: 200 agents, 1,000
recurring availabilities, 100,000 appointments, 5,000 absences), in its own database (BENCH_DATABASE,
default "rdv_bench_slots", shared with ``make bench-slots``; kept between runs with --reuse).

Pages (same gunicorn, same Host ``bench-slots-large.localhost``, real URLconf and middleware, DEBUG off):

- ``week``: ``GET /prendre-rdv/creneaux/?motif=<type>&lieu=<location>&semaine=<monday>`` — the week of
  slots an usager sees (slot engine over the busy week, template with one button per start time);
  the type/location pair with the most availabilities of the generated data, a week inside the data;
- ``home``: ``GET /`` — the administration's front page (a template, no slot computation).

wrk loads each page in turn (interleaved rounds, the median is reported). Needs ``wrk``
(``apt-get install -y wrk``). Knobs: BENCH_DURATION (s per round, default 10), BENCH_ROUNDS (default 3),
BENCH_WORKERS (gunicorn workers, default 2), BENCH_CONNECTIONS (default 8), BENCH_WEEK (a Monday,
default 2027-01-04).

Run: ``make bench-public-booking`` or ``.venv/bin/python bench/public_booking.py [--reuse] [--keep]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import time as clock
import urllib.error
import urllib.request
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import tenancy  # noqa: E402
from bench.slots import BENCH_DATABASE, admin_sql, manage, prepare_database  # noqa: E402

TARGET = 0.50
WEEK = date.fromisoformat(os.environ.get("BENCH_WEEK", "2027-01-04"))


def fetch(port: int, path: str, host: str) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def busiest_pair(administration) -> tuple[int, int, int]:
    """(type id, location id, availabilities) of the bookable type and place with the most availabilities."""
    from django.db import connection
    from django.db.models import Count

    from scheduling.models import Availability

    connection.set_tenant(administration)
    row = (Availability.objects.filter(appointment_types__bookable_by="everyone", location__isnull=False)
           .values("appointment_types", "location").annotate(n=Count("id")).order_by("-n").first())
    connection.set_schema_to_public()
    return row["appointment_types"], row["location"], row["n"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep the database and its data for the next run")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2

    exists, maintenance_url = prepare_database(reuse=args.reuse)
    keep = args.keep or args.reuse
    server = None
    try:
        print(f"Public week-of-slots page on a large administration — database {BENCH_DATABASE}", flush=True)
        manage("migrate_schemas", "-v", "0") if exists else manage("migrate_schemas", "--shared", "-v", "0")

        import django

        django.setup()
        from django.conf import settings

        from bench import slots_data

        started = clock.perf_counter()
        large, _small, counts = slots_data.generate(reuse=args.reuse)
        if counts:
            print(f"  generated in {clock.perf_counter() - started:.1f} s: {counts}", flush=True)
        type_id, location_id, availabilities = busiest_pair(large)
        host = f"{large.slug}.{settings.BASE_DOMAIN}"
        pages = {
            "week": f"/prendre-rdv/creneaux/?motif={type_id}&lieu={location_id}&semaine={WEEK.isoformat()}",
            "home": "/",
        }

        (ROOT / "var").mkdir(exist_ok=True)
        port = tenancy.free_port()
        log = open(ROOT / "var" / "bench-public-booking.log", "w")  # noqa: SIM115
        server = tenancy.start_server(os.environ["DJANGO_SETTINGS_MODULE"], port, log)
        deadline = clock.monotonic() + 30
        while True:
            try:
                status, body = fetch(port, pages["home"], host)
                break
            except OSError:
                if clock.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start (var/bench-public-booking.log)") from None
                clock.sleep(0.2)
        status, body = fetch(port, pages["week"], host)
        slots = len(re.findall(r'name="creneau"', body))
        if status != 200 or slots == 0:
            raise SystemExit(f"week page: HTTP {status}, {slots} slot buttons — nothing to measure")
        print(f"  week page: type {type_id}, location {location_id} ({availabilities} availabilities), "
              f"week of {WEEK:%d/%m/%Y}: {slots} slot buttons, {len(body) // 1024} KiB", flush=True)

        for path in pages.values():  # warm-up
            tenancy.wrk(port, 2, path=path, host=host)
        results: dict[str, list[float]] = {name: [] for name in pages}
        errors = dict.fromkeys(pages, 0)
        for round_number in range(1, tenancy.ROUNDS + 1):
            for name, path in pages.items():
                rps, errs = tenancy.wrk(port, tenancy.DURATION, path=path, host=host)
                results[name].append(rps)
                errors[name] += errs
                print(f"  round {round_number}/{tenancy.ROUNDS}  {name:<5} {rps:8.1f} req/s", flush=True)
    finally:
        if server is not None:
            tenancy.stop_server(server)
        if not keep:
            admin_sql(maintenance_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')

    median = {name: statistics.median(values) for name, values in results.items()}
    ratio = median["week"] / median["home"]
    print()
    print(f"Public booking — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  gunicorn {tenancy.WORKERS} sync workers; wrk -t2 -c{tenancy.CONNECTIONS}, "
          f"{tenancy.ROUNDS} interleaved rounds x {tenancy.DURATION} s, median; Host: {host}")
    for name, path in pages.items():
        print(f"  {name:<5} {median[name]:9.1f} req/s  errors {errors[name]:<4} GET {path}")
    verdict = "OK" if ratio >= TARGET else "MISSED"
    print(f"  => week of slots / trivial page = {ratio:.1%} (target >= {TARGET:.0%}): {verdict}")
    return 0 if not any(errors.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
