"""Reporting on an administration with 1,000,000 appointments: statistics page, CSV and XLSX exports, monthly PDF.

Works in a database of its own (BENCH_DATABASE, default "rdv_bench_reporting", on the server of DATABASE_URL),
created if missing and dropped at the end unless --keep or --reuse. The dev database is untouched.
bench/reporting_data.py generates the administration by plain SQL inside its schema (a million appointments
over three years, 200,000 usagers, 1,090,000 messages; about a minute); with --reuse the database and its
data are kept between runs and generated again only when missing or made by an older generator.

Measured and printed, each with its target and a verdict:

- the statistics page of the largest organisation (``/agents/statistiques/``, the real view through Django's
  test client on the administration's host, signed in as that organisation's admin, default filters and a
  12-month period): median of --repeat runs and the number of queries (target: under 500 ms);
- the CSV export, through the exports module's row generator and ``write_csv`` into a file, signed in as the
  administration admin (every organisation): rows per second over every appointment, and the peak memory
  (VmHWM, reset just before the export) of a fresh process per size (100,000, 500,000, all), which must
  not grow with the rows;
- the XLSX export likewise (``write_xlsx``), on up to 200,000 rows by default (--xlsx-rows) and extrapolated;
- the monthly PDF of the largest organisation (``/agents/statistiques/rapport-mensuel/``), median time
  (target: under 5 s).

Run: ``make bench-reporting`` or ``.venv/bin/python bench/reporting.py [--reuse] [--keep] [--repeat N]
[--only stats,csv,xlsx,pdf]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time as clock
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import slots  # noqa: E402

BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "rdv_bench_reporting")
TARGET_STATS_MS = 500
TARGET_PDF_S = 5.0
MEMORY_GROWTH_LIMIT = 1.25  # the peak at the largest size may be at most 25 % above the smallest's
PIECES = ("stats", "csv", "xlsx", "pdf")
OUTPUT_DIR = ROOT / "var" / "bench-reporting"


def setup(*, reuse: bool) -> tuple[bool, str]:
    """The bench database (bench.slots' helpers, pointed at this bench's database)."""
    slots.BENCH_DATABASE = BENCH_DATABASE
    return slots.prepare_database(reuse=reuse)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def missing(module: str) -> str | None:
    """None when ``module`` can be imported, else why not (another piece of issue 7 not there yet)."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{module} is not available ({exc})"
    return None


def signed_in_client(administration, email: str):
    """Django's test client with that agent's session stored in the administration's schema."""
    from django.db import connection
    from django.test import Client

    from tenants.accounts.models import User

    client = Client()
    with tenant_context_of(administration):
        client.force_login(User.objects.get(email=email), backend="django.contrib.auth.backends.ModelBackend")
    connection.set_schema_to_public()
    return client


def tenant_context_of(administration):
    from django_tenants.utils import tenant_context

    return tenant_context(administration)


def timed_get(client, host: str, path: str, params: dict, repeat: int, *, warm_up: int = 1):
    """(milliseconds of each run after the warm-up ones, queries of one more run, last response)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, response = [], None
    for index in range(repeat + warm_up):
        start = clock.perf_counter()
        response = client.get(path, params, HTTP_HOST=host)
        elapsed = (clock.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET {path} {params}: {response.status_code}\n{response.content[:2000]!r}")
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
            elapsed = (clock.perf_counter() - start) * 1000
        if index >= warm_up:
            timings.append(elapsed)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params, HTTP_HOST=host)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    return timings, len(captured), response


def largest_organisation():
    from scheduling.models import Organisation

    return Organisation.objects.order_by("pk").first()  # the first one has the most agents (reporting_data)


# --- (a) Statistics page -------------------------------------------------------------------------

def measure_statistics(administration, repeat: int) -> list[str]:
    from django.conf import settings

    from bench import reporting_data

    if why := missing("reporting.views.stats"):
        return [f"  statistics page: not measured — {why}"]
    host = f"{administration.slug}.{settings.BASE_DOMAIN}"
    with tenant_context_of(administration):
        organisation = largest_organisation()
        period = reporting_data.STATS_PERIOD
        count = organisation.appointments.filter(starts_at__date__range=period).count()
    client = signed_in_client(administration, reporting_data.admin_email(0))
    lines = []
    for label, params in (
        ("default filters (the last three months)", {}),
        (f"12 months {period[0]:%Y-%m-%d}..{period[1]:%Y-%m-%d}, by month",
         {"start": period[0].isoformat(), "end": period[1].isoformat(), "granularity": "month"}),
        (f"12 months {period[0]:%Y-%m-%d}..{period[1]:%Y-%m-%d}, by week",
         {"start": period[0].isoformat(), "end": period[1].isoformat(), "granularity": "week"}),
    ):
        timings, queries, response = timed_get(client, host, "/agents/statistiques/", params, repeat)
        median = statistics.median(timings)
        lines.append(f"  statistics page, {label}: median {median:.0f} ms, max {max(timings):.0f} ms "
                     f"({len(timings)} runs), {queries} queries, {len(response.content) // 1024} KiB; "
                     f"target < {TARGET_STATS_MS} ms: {verdict(median < TARGET_STATS_MS)}")
    lines.append(f"    (organisation '{organisation.name}': {count:,} appointments in the 12 months; signed in as its "
                 f"admin)")
    return lines


# --- (b, c) Exports in a fresh process per size -------------------------------------------------

def export_child(fmt: str, date_to: str, path: str) -> None:
    """In a fresh process: export the appointments up to ``date_to`` ("" for all), every organisation, as the
    administration admin, into ``path``, the way the export job does (inside a transaction, so the cursor is not
    WITH HOLD; export_rows + write_csv or write_xlsx); print one JSON line: rows, seconds, seconds to the first
    row, peak memory before and after."""
    import django

    django.setup()
    from django.db import transaction

    from bench import reporting_data
    from reporting.exports import export_rows, headers, write_csv, write_xlsx
    from scheduling.models import Agent
    from scheduling.policy import scope_for_agent

    administration = reporting_data.existing()
    first_row = None

    def timed(rows):
        nonlocal first_row
        for row in rows:
            if first_row is None:
                first_row = clock.perf_counter() - start
            yield row

    with tenant_context_of(administration):
        scope = scope_for_agent(Agent.objects.get(user__email=f"admin@{reporting_data.SLUG}.test"))
        before = reset_peak_rss()
        start = clock.perf_counter()
        with transaction.atomic():
            rows = timed(export_rows(scope, {"date_to": date_to} if date_to else {}, "appointments"))
            if fmt == "csv":
                with open(path, "wb") as fileobj:
                    written = write_csv(rows, fileobj, header=headers("appointments"))
            else:
                written = write_xlsx(rows, path, header=headers("appointments"))
        seconds = clock.perf_counter() - start
    peak = peak_rss()
    print(json.dumps({"rows": written, "seconds": seconds, "first_row": first_row, "rss_before_kib": before,
                      "rss_peak_kib": peak, "bytes": os.path.getsize(path)}))


def peak_rss() -> int:
    """Peak resident memory of this process in KiB: VmHWM (resettable), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> int:
    """Reset the peak to the current resident memory (Linux: "5" into /proc/self/clear_refs), so that the
    peak measured after the export is the export's own and not the start-up's; returns the current one."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux or not allowed: the peak then includes the start-up
    return peak_rss()


def date_to_for(administration, rows: int) -> str:
    """The last day (local) such that the appointments up to it are about ``rows`` ("" = all of them)."""
    from bench import reporting_data
    from scheduling.models import Appointment

    with tenant_context_of(administration):
        total = Appointment.objects.count()
        if rows >= total:
            return ""
        nth = Appointment.objects.order_by("starts_at", "pk").values_list("starts_at", flat=True)[rows - 1]
    return nth.astimezone(reporting_data.TZ).date().isoformat()


def run_export(administration, fmt: str, rows: int) -> dict:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"appointments-{rows}.{fmt}"
    date_to = date_to_for(administration, rows)
    result = subprocess.run([sys.executable, __file__, "--child", fmt, date_to, str(path)], cwd=ROOT,
                            env=dict(os.environ), capture_output=True, text=True)
    path.unlink(missing_ok=True)
    if result.returncode:
        raise SystemExit(f"export child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_export(administration, fmt: str, sizes: list[int], total: int) -> list[str]:
    if why := missing("reporting.exports"):
        return [f"  {fmt.upper()} export: not measured — {why}"]
    lines, results = [], []
    for size in sizes:
        result = run_export(administration, fmt, size)
        results.append(result)
        rate = result["rows"] / result["seconds"]
        lines.append(f"  {fmt.upper()} export, {result['rows']:>9,} rows: {result['seconds']:6.1f} s, "
                     f"{rate:>8,.0f} rows/s (first row after {result['first_row']:.1f} s), "
                     f"peak memory {result['rss_peak_kib'] / 1024:.0f} MiB (before the export "
                     f"{result['rss_before_kib'] / 1024:.0f} MiB), file {result['bytes'] / 2**20:.0f} MiB")
    first, last = results[0], results[-1]
    growth = (last["rss_peak_kib"] - last["rss_before_kib"]) / max(1, first["rss_peak_kib"] - first["rss_before_kib"])
    flat = last["rss_peak_kib"] <= first["rss_peak_kib"] * MEMORY_GROWTH_LIMIT
    lines.append(f"    peak memory {first['rss_peak_kib'] / 1024:.0f} MiB at {first['rows']:,} rows, "
                 f"{last['rss_peak_kib'] / 1024:.0f} MiB at {last['rows']:,} rows "
                 f"(growth above the memory before the export × {growth:.2f}); "
                 f"target: does not grow with the rows (≤ +{MEMORY_GROWTH_LIMIT - 1:.0%}): {verdict(flat)}")
    if last["rows"] < total:
        rate = last["rows"] / last["seconds"]
        lines.append(f"    extrapolated to all {total:,} rows at {rate:,.0f} rows/s: about {total / rate / 60:.1f} min "
                     f"(measured on {last['rows']:,})")
    return lines


# --- (d) Monthly PDF -----------------------------------------------------------------------------

def measure_pdf(administration, repeat: int) -> list[str]:
    from django.conf import settings

    from bench import reporting_data

    if why := missing("reporting.pdf"):
        return [f"  monthly PDF: not measured — {why}"]
    host = f"{administration.slug}.{settings.BASE_DOMAIN}"
    with tenant_context_of(administration):
        organisation = largest_organisation()
    client = signed_in_client(administration, reporting_data.admin_email(0))
    month = reporting_data.PDF_MONTH
    timings, queries, response = timed_get(client, host, "/agents/statistiques/rapport-mensuel/",
                                           {"organisation": organisation.pk, "mois": month}, repeat)
    content = b"".join(response.streaming_content) if hasattr(response, "streaming_content") else response.content
    median = statistics.median(timings) / 1000
    return [f"  monthly PDF ({month}, '{organisation.name}'): median {median:.2f} s, max {max(timings) / 1000:.2f} s "
            f"({len(timings)} runs), {queries} queries, {len(content) // 1024} KiB, {response['Content-Type']}; "
            f"target < {TARGET_PDF_S:.0f} s: {verdict(median < TARGET_PDF_S)}"]


# --- Main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep the database and its data for the next run")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "10")))
    parser.add_argument("--only", default=",".join(PIECES), help="comma-separated pieces: " + ",".join(PIECES))
    parser.add_argument("--xlsx-rows", type=int, default=200_000, help="rows of the largest XLSX measured")
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "DATE_TO", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # a fresh process measuring one export (run_export)
        export_child(*args.child)
        return 0
    pieces = [piece for piece in args.only.split(",") if piece]
    if unknown := set(pieces) - set(PIECES):
        parser.error(f"unknown pieces: {', '.join(sorted(unknown))}")

    exists, maintenance_url = setup(reuse=args.reuse)
    keep = args.keep or args.reuse
    lines: list[str] = []
    total = 0
    try:
        print(f"Reporting on a large administration — database {BENCH_DATABASE} "
              f"({'kept from an earlier run' if exists else 'created for this run'})", flush=True)
        start = clock.perf_counter()
        slots.manage("migrate_schemas", "-v", "0") if exists else slots.manage("migrate_schemas", "--shared", "-v", "0")
        print(f"  migrate_schemas{'' if exists else ' --shared'}: {clock.perf_counter() - start:.1f} s", flush=True)

        import django

        django.setup()
        from bench import reporting_data

        start = clock.perf_counter()
        administration, counts = reporting_data.generate(reuse=args.reuse)
        if counts:
            print(f"  generated in {clock.perf_counter() - start:.1f} s: {counts}", flush=True)
        with tenant_context_of(administration):
            from scheduling.models import Appointment

            total = Appointment.objects.count()
        for piece in pieces:
            print(f"  measuring: {piece}...", flush=True)
            if piece == "stats":
                lines += measure_statistics(administration, args.repeat)
            elif piece == "csv":
                lines += measure_export(administration, "csv", [100_000, 500_000, total], total)
            elif piece == "xlsx":
                sizes = sorted({min(total, 50_000), min(total, args.xlsx_rows)})
                lines += measure_export(administration, "xlsx", sizes, total)
            elif piece == "pdf":
                lines += measure_pdf(administration, max(3, args.repeat // 2))
    finally:
        if not keep:
            from django.db import connections

            connections.close_all()
            slots.admin_sql(maintenance_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')

    print()
    print(f"Summary — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.1f}; {total:,} appointments in the administration")
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
