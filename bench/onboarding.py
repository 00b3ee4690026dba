"""Time to onboard one administration, and time of a no-op ``migrate_schemas`` over 200.

Works in a database of its own (BENCH_DATABASE, default "rdv_bench", on the server of
DATABASE_URL), created at the start and dropped at the end: the dev database is untouched.

1. ``migrate_schemas --shared`` (set-up, timed for information);
2. onboarding through the real path, ``administration_create(provision="sync")`` (record,
   schema, migrations, first admin invited), BENCH_ONBOARD times (default 3): target < 2 s each;
3. the other administrations up to BENCH_TENANTS (default 200) are made fast: rows inserted in
   bulk, schemas copied from a pg_dump of the first onboarded one;
4. ``manage.py migrate_schemas --tenant -v 0`` with nothing to apply, in a fresh process as an
   operator runs it after a deploy, for each executor in BENCH_EXECUTORS (default
   "standard,multiprocessing"): target < 60 s.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "rdv_bench")
TENANTS = int(os.environ.get("BENCH_TENANTS", "200"))
ONBOARD = int(os.environ.get("BENCH_ONBOARD", "3"))
EXECUTORS = [name for name in os.environ.get("BENCH_EXECUTORS", "standard,multiprocessing").split(",") if name]
KEEP = os.environ.get("BENCH_KEEP_DATABASE", "") == "1"
ONBOARD_TARGET = 2.0
MIGRATE_TARGET = 60.0


def bench_database_url() -> tuple[str, str]:
    """(URL of the bench database, URL of the maintenance database) on DATABASE_URL's server."""
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rdv"))
    if not BENCH_DATABASE.startswith("rdv_bench"):  # it is dropped: never let it name a real one
        raise SystemExit("BENCH_DATABASE must start with rdv_bench")
    return (urlunsplit(base._replace(path=f"/{BENCH_DATABASE}")),
            urlunsplit(base._replace(path="/postgres")))


def admin_sql(maintenance_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(statement)


def manage(*args: str, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def onboard(count: int) -> list[float]:
    from tenants.models import Administration
    from tenants.services import administration_create

    timings, cpu_timings = [], []
    for index in range(count):
        slug = f"bench-{index:03d}"
        # The dev e-mail backend prints the invitation: keep it out of the report.
        with contextlib.redirect_stdout(io.StringIO()):
            start, cpu = time.perf_counter(), time.process_time()
            administration = administration_create(
                name=f"Administration de test {index}", kind=Administration.Kind.COMMUNE, slug=slug,
                first_admin_email=f"admin@{slug}.test", provision="sync",
            )
            timings.append(time.perf_counter() - start)
            cpu_timings.append(time.process_time() - cpu)
        if administration.status != Administration.Status.ACTIVE:
            raise SystemExit(f"onboarding of {slug} failed: {administration.status_reason}")
    return timings, cpu_timings


def make_copies(template_schema: str, first_index: int, last_index: int, url: str) -> float:
    """Administrations first_index..last_index-1: rows in bulk, schemas copied from a dump of the
    template schema (its name rewritten), loaded by psql in two parallel sessions.

    django-tenants' clone_schema SQL function was tried first: it reads the catalogue for every
    object, so each clone gets slower as schemas pile up (197 clones took 8 minutes).
    """
    import re

    from django.conf import settings

    from tenants.models import Administration, Domain

    start = time.perf_counter()
    slugs = [f"bench-{index:03d}" for index in range(first_index, last_index)]
    administrations = Administration.objects.bulk_create([
        Administration(name=f"Administration de test {slug}", kind=Administration.Kind.COMMUNE, slug=slug,
                       schema_name=slug.replace("-", "_"), first_admin_email=f"admin@{slug}.test",
                       status=Administration.Status.ACTIVE, activated_at=datetime.now().astimezone())
        for slug in slugs
    ])
    Domain.objects.bulk_create([
        Domain(domain=f"{a.slug}.{settings.BASE_DOMAIN}", tenant=a, is_primary=True) for a in administrations
    ])
    dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", "-n", template_schema, url],
                          capture_output=True, text=True, check=True).stdout
    dump = "\n".join(line for line in dump.splitlines()
                      if not line.startswith(("SET ", "SELECT pg_catalog.set_config")))
    pattern = re.compile(rf"\b{re.escape(template_schema)}\b")

    def load(schemas: list[str]) -> None:
        script = "\n".join(pattern.sub(schema, dump) for schema in schemas)
        subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", url], input=script, text=True,
                       check=True, stdout=subprocess.DEVNULL)

    schemas = [a.schema_name for a in administrations]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(load, [schemas[0::2], schemas[1::2]]))
    return time.perf_counter() - start


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout` still drops the database
    url, maintenance_url = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    env = dict(os.environ)
    admin_sql(maintenance_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    admin_sql(maintenance_url, f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        print(f"Onboarding and migrations — database {BENCH_DATABASE} (created for this run)", flush=True)
        shared = manage("migrate_schemas", "--shared", "-v", "0", env=env)
        print(f"  migrate_schemas --shared (set-up):          {shared:7.2f} s", flush=True)

        import django

        django.setup()
        from django.db import connection

        timings, cpu_timings = onboard(ONBOARD)
        for index, seconds in enumerate(timings):
            print(f"  onboarding bench-{index:03d} (real path):       {seconds:7.2f} s "
                  f"(CPU of this process {cpu_timings[index]:.2f} s, the rest is PostgreSQL and waiting)", flush=True)
        copies = make_copies("bench_000", ONBOARD, TENANTS, url)
        print(f"  {TENANTS - ONBOARD} more administrations (bulk + copy):   {copies:7.2f} s", flush=True)
        connection.close()

        migrate = {}
        for executor in EXECUTORS:
            migrate[executor] = manage("migrate_schemas", "--tenant", f"--executor={executor}", "-v", "0",
                                       env=env)
            print(f"  migrate_schemas --tenant, {executor:<16} {migrate[executor]:7.2f} s", flush=True)
    finally:
        if not KEEP:
            admin_sql(maintenance_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')

    onboarding = statistics.median(timings)
    print()
    print(f"Summary — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
          f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
    verdict = "OK" if max(timings) < ONBOARD_TARGET else "MISSED"
    print(f"  onboard one administration: median {onboarding:.2f} s, worst {max(timings):.2f} s "
          f"over {len(timings)} (target < {ONBOARD_TARGET:.0f} s): {verdict}")
    for executor, seconds in migrate.items():
        verdict = "OK" if seconds < MIGRATE_TARGET else "MISSED"
        print(f"  no-op migrate_schemas over {TENANTS} administrations ({executor}): {seconds:.1f} s "
              f"= {seconds / TENANTS * 1000:.0f} ms each (target < {MIGRATE_TARGET:.0f} s): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
