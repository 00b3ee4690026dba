"""100,000 SMS reminders falling due in the same hour, sent by Celery through the real outbox path.

Works in a database of its own (BENCH_DATABASE, default "rdv_bench_messaging", on the server of DATABASE_URL),
created for the run and dropped at the end unless --keep. The broker, result backend and cache are a Redis
database of the bench's own (BENCH_REDIS_URL, default redis://127.0.0.1:6379/5), emptied before and after.

Set-up: one administration onboarded through the real path (``administration_create(provision="sync")``),
one appointment tomorrow with one participation, ``MessagingSettings`` with the Brevo provider and the
credentials ``{"api_key": "bench", "base_url": "http://127.0.0.1:<port>"}`` (encrypted as the model does),
then N ``Message`` rows written by COPY: kind reminder, channel sms, status pending, unique mobile numbers
(+336xxxxxxxx) and idempotency keys, ``next_attempt_at`` spread over the few seconds before the start (all
due within the same hour, already due when the sweep runs). All the reminders point at that one appointment:
each send still loads and checks it (``_skip_reason``), as for a real reminder.

Run: the fake Brevo server (bench/fake_sms.py) and a real worker (``celery worker --pool prefork
--concurrency 2`` on the project's app) are started as subprocesses; the bench then sends
``messaging.sweep_all`` as beat would (at the start, then every --sweep-every seconds, default 60 as in
production): sweep_all -> sweep (per administration) -> enqueue -> send_message tasks. It polls the
database until no row is pending or sending (or --timeout), then prints messages per second (rows that
reached a final status / time from the first sweep to the last final row), the counts of the fake provider
(received, unique, duplicates), lost (rows sent that the provider did not receive) and the statuses.

Run: ``make bench-messaging`` or ``.venv/bin/python bench/messaging.py [--count N] [--keep]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time as clock
import urllib.request
import warnings
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.slots import admin_sql, manage  # noqa: E402

BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "rdv_bench_messaging")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
SLUG = "bench-messaging"
TARGET_PER_SECOND = 300


def database_urls() -> tuple[str, str]:
    from urllib.parse import urlsplit, urlunsplit

    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rdv"))
    if not BENCH_DATABASE.startswith("rdv_bench"):  # it is dropped: never let it name a real one
        raise SystemExit("BENCH_DATABASE must start with rdv_bench")
    return urlunsplit(base._replace(path=f"/{BENCH_DATABASE}")), urlunsplit(base._replace(path="/postgres"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fake_stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        return json.loads(response.read())


def wait_for_port(port: int, seconds: float = 10) -> None:
    deadline = clock.monotonic() + seconds
    while clock.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        clock.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


# --- Data ----------------------------------------------------------------------------------------

def generate(count: int, port: int, now: datetime):
    """The administration, its settings and ``count`` pending SMS reminders (COPY)."""
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from bench.slots_data import TZ_NAME, copy_rows
    from messaging.models import Message, MessagingSettings
    from scheduling.models import (
        Agent,
        Appointment,
        AppointmentAgent,
        AppointmentType,
        Citizen,
        Location,
        Organisation,
        Participation,
        Service,
    )
    from tenants.models import Administration
    from tenants.services import administration_create

    with contextlib.redirect_stdout(io.StringIO()):
        administration = administration_create(
            name="Banc d'essai messagerie", kind=Administration.Kind.COMMUNE, slug=SLUG,
            first_admin_email=f"admin@{SLUG}.test", provision="sync",
        )
    if administration.status != Administration.Status.ACTIVE:
        raise SystemExit(f"onboarding failed: {administration.status_reason}")
    with tenant_context(administration):
        with transaction.atomic():
            service = Service.objects.create(name="PMI", short_name="PMI")
            org = Organisation.objects.create(name="Mairie", timezone=TZ_NAME)
            location = Location.objects.create(organisation=org, name="Accueil", address="1 place de la Mairie")
            kind = AppointmentType.objects.create(organisation=org, service=service, name="Motif",
                                                  duration_minutes=30, bookable_by="everyone")
            agent = Agent.objects.create(first_name="Agent", last_name="Un")
            citizen = Citizen.objects.create(first_name="Camille", last_name="Martin", email="camille@exemple.fr")
            starts_at = (now + timedelta(days=1)).replace(second=0, microsecond=0)
            appointment = Appointment.objects.create(organisation=org, appointment_type=kind, location=location,
                                                     starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30))
            AppointmentAgent.objects.create(appointment=appointment, agent=agent, starts_at=starts_at,
                                            ends_at=appointment.ends_at)
            participation = Participation.objects.create(appointment=appointment, citizen=citizen)
            messaging_settings = MessagingSettings.load()
            messaging_settings.sms_provider = "brevo"
            messaging_settings.sms_sender = "Mairie"
            messaging_settings.set_sms_credentials({"api_key": "bench", "base_url": f"http://127.0.0.1:{port}"})
            messaging_settings.save()
        text = f"Rappel : RDV le {starts_at:%d/%m} à {starts_at:%H:%M}, Mairie, 1 place de la Mairie."

        def rows():
            for i in range(count):
                due = now - timedelta(seconds=5) + timedelta(microseconds=i * 50)  # all due, spread over 5 s
                yield ("sms", f"+336{i:08d}", "citizen", "reminder", appointment.pk, participation.pk, citizen.pk,
                       text, "{}", "pending", due, due, f"bench:reminder:{i}", now, now)

        with transaction.atomic():
            copy_rows(administration.schema_name, Message,
                      ["channel", "recipient", "recipient_kind", "kind", "appointment_id", "participation_id",
                       "citizen_id", "body", "context", "status", "send_after", "next_attempt_at",
                       "idempotency_key", "created_at", "updated_at"], rows())
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{administration.schema_name}"."messaging_message"')
    return administration


def statuses(administration) -> dict[str, int]:
    from django.db.models import Count
    from django_tenants.utils import tenant_context

    from messaging.models import Message

    with tenant_context(administration):
        return dict(Message.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


def sent_window(administration):
    from django.db.models import Max, Min
    from django_tenants.utils import tenant_context

    from messaging.models import Message

    with tenant_context(administration):
        return Message.objects.filter(status="sent").aggregate(first=Min("sent_at"), last=Max("updated_at"))


# --- Main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=int(os.environ.get("BENCH_COUNT", "100000")))
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (prefork)")
    parser.add_argument("--sweep-every", type=float, default=60.0, help="seconds between two sweep_all, as beat")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", message="No directory at")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout` still drops the database
    url, maintenance_url = database_urls()
    env = os.environ
    env["DATABASE_URL"] = url
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("BENCH_SETTINGS", "bench.messaging_settings")
    env["CACHE_KEY_PREFIX"] = BENCH_DATABASE
    env["REDIS_URL"] = env["CELERY_BROKER_URL"] = env["CELERY_RESULT_BACKEND"] = BENCH_REDIS_URL
    env["CELERY_QUEUE"] = "bench-messaging"
    env.setdefault("LOG_LEVEL", "WARNING")
    admin_sql(maintenance_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    admin_sql(maintenance_url, f'CREATE DATABASE "{BENCH_DATABASE}"')
    flush_redis()
    port = free_port()
    processes: list[subprocess.Popen] = []
    try:
        print(f"Messaging: {args.count:,} SMS reminders due in the same hour — database {BENCH_DATABASE}, "
              f"broker {BENCH_REDIS_URL}", flush=True)
        start = clock.perf_counter()
        manage("migrate_schemas", "--shared", "-v", "0")
        print(f"  migrate_schemas --shared: {clock.perf_counter() - start:.1f} s", flush=True)

        import django

        django.setup()
        from django.utils import timezone

        start = clock.perf_counter()
        administration = generate(args.count, port, timezone.now())
        print(f"  generated {args.count:,} rows in {clock.perf_counter() - start:.1f} s", flush=True)

        processes.append(subprocess.Popen([sys.executable, str(ROOT / "bench" / "fake_sms.py"), "--port", str(port)],
                                          cwd=ROOT))
        wait_for_port(port)
        log = open(ROOT / "var" / "bench-messaging-worker.log", "w")  # noqa: SIM115
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config.celery:app", "worker", "--pool", "prefork",
             "--concurrency", str(args.concurrency), "-Q", env["CELERY_QUEUE"], "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
        ))
        from config.celery import app

        deadline = clock.monotonic() + 60
        while not app.control.ping(timeout=1.0):
            if clock.monotonic() > deadline or processes[-1].poll() is not None:
                raise SystemExit("the Celery worker did not start (see var/bench-messaging-worker.log)")
        print(f"  fake Brevo on port {port}; worker: prefork, concurrency {args.concurrency}", flush=True)

        from messaging.tasks import sweep_all

        begin = clock.perf_counter()
        started_at = timezone.now()
        sweeps, next_sweep, last_print = 0, 0.0, 0.0
        counts: dict[str, int] = {}
        while True:
            elapsed = clock.perf_counter() - begin
            if elapsed >= next_sweep:
                sweep_all.delay()
                sweeps += 1
                next_sweep += args.sweep_every
            counts = statuses(administration)
            open_rows = counts.get("pending", 0) + counts.get("sending", 0)
            if elapsed - last_print >= 10:
                done = args.count - open_rows
                print(f"  {elapsed:6.0f} s: {done:,} final ({done / max(elapsed, 1e-9):.0f}/s), {counts}",
                      flush=True)
                last_print = elapsed
            if not open_rows or elapsed > args.timeout:
                break
            clock.sleep(1.0)
        window = sent_window(administration)
        duration = (window["last"] - started_at).total_seconds() if window["last"] else clock.perf_counter() - begin
        provider = fake_stats(port)
    finally:
        for process in reversed(processes):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            if process.poll() is None:
                process.kill()
        with contextlib.suppress(Exception):
            flush_redis()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            admin_sql(maintenance_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')

    final = sum(n for status, n in counts.items() if status not in ("pending", "sending"))
    sent = counts.get("sent", 0)
    rate = final / duration if duration > 0 else 0.0
    print()
    print(f"Summary — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} CPU(s) shared with "
          f"PostgreSQL, Redis and the fake provider, load average {os.getloadavg()[0]:.1f}; {sweeps} sweep_all")
    print(f"  rows: {args.count:,}; final in {duration:.1f} s from the first sweep_all")
    print(f"  messages per second: {rate:.0f}  (target ≥ {TARGET_PER_SECOND}: "
          f"{'OK' if rate >= TARGET_PER_SECOND else 'MISSED'})")
    print(f"  provider: received {provider['received']:,}, unique {provider['unique']:,}, "
          f"duplicates {provider['duplicates']:,}")
    print(f"  lost (rows sent, not received by the provider): {max(0, sent - provider['unique']):,}; "
          f"received but not marked sent: {max(0, provider['unique'] - sent):,}")
    print("  statuses: " + ", ".join(f"{status} {counts.get(status, 0):,}"
                                      for status in ("sent", "failed", "skipped", "pending", "sending")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
