"""Load and faults on the production processes of this machine (issue 8, "Proof under load and faults").

What runs (all on loopback, nothing shared with other work is stopped):
- its own redis-server (port BENCH_REDIS_PORT, default 6390, no persistence): broker, cache, sessions' cache;
- its own database ``rdv_bench_load`` (dropped and generated again each run, unless --keep) holding the large
  administration of bench/slots_data.py (200 agents, 1,000 availabilities, 100,000 appointments);
- the Procfile's processes with the environment of deploy/local/run-prod.sh (config.settings.prod,
  gunicorn 2 sync workers, Celery worker with 2 processes, beat), each started here so one can be killed and
  restarted alone (run-prod.sh stops everything when one process dies, which is what it should do);
- a fake Brevo SMS endpoint in this process (bench/fake_sms.py's handler, plus the texts per number so the
  simulated usagers read their one-time codes). E-mails go to Django's dummy backend (no SMTP here).

Load (``--duration`` seconds, ``--usagers`` threads, ``--agents`` threads): each usager runs the real guest
journey — week-of-slots page, slot chosen, contact page, SMS code asked (POST), code read at the fake provider
and confirmed (POST), booking (POST) — with its own X-Real-IP (believed from 127.0.0.1) and its own mobile
number; each agent thread signs in once and loads ``/agents/agenda/``. Every accepted booking (uuid, slot) is
written to var/bench-load/bookings.jsonl.

Faults (``--faults``, during the load): SIGKILL of one gunicorn worker; SIGKILL of the Celery worker (then
started again); the bench's Redis stopped for 30 s (BENCH_REDIS_OUTAGE) then started again; with
``--restart-postgres`` only, ``pg_ctlcluster 15 main restart`` (BENCH_PG_RESTART) — the SHARED cluster of
the machine: never while other people run tests. After each fault: seconds to the first 200 of /healthz and
of the slot page, and the errors the load saw in that window.

Checks afterwards: every logged booking is in the database, no two blocking agent links overlap, every message
of the administration is final (sent/delivered/failed/skipped, the latter two with a reason) after a grace
period, the fake provider received no text twice. Report: stdout and bench/load-report.md.

Run: ``make bench-load`` or ``.venv/bin/python bench/load.py --duration 45 --faults``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time as clock
import urllib.parse
from collections import defaultdict
from datetime import date, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fake_sms  # noqa: E402
from bench.tenancy import free_port  # noqa: E402

DATABASE = os.environ.get("BENCH_DATABASE", "rdv_bench_load")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6390"))
REDIS_OUTAGE = float(os.environ.get("BENCH_REDIS_OUTAGE", "30"))
# --restart-postgres only: the machine's cluster (shared with everything else on it).
PG_RESTART = os.environ.get("BENCH_PG_RESTART", "pg_ctlcluster 15 main restart")
PASSWORD = "Banc-de-charge-2026!"
VAR = ROOT / "var" / "bench-load"
FIRST_WEEK = date(2027, 1, 4)  # inside bench/slots_data.py's data (DATA_START 2026-12-07, six months)
SLOT_RE = re.compile(r'name="creneau" value="([^"]+)"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ERROR_RE = re.compile(r'(?:class="[^"]*fr-error-text[^"]*"[^>]*>|role="alert"><p>)\s*([^<]+)<')
CODE_RE = re.compile(r"code de confirmation\W+(\d{6})")


# --- Fake SMS provider ---------------------------------------------------------------------------

class Texts:
    """Every text received, per number (the usagers read their codes here)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_number: dict[str, list[str]] = defaultdict(list)

    def add(self, number: str, text: str) -> None:
        with self.lock:
            self.by_number[number.lstrip("+")].append(text)

    def code_for(self, number: str) -> str | None:
        with self.lock:
            for text in reversed(self.by_number.get(number.lstrip("+"), [])):
                found = CODE_RE.search(text)
                if found:
                    return found.group(1)
        return None


    def notifications(self) -> int:
        """Texts that are not one-time codes (confirmations, sent through the outbox)."""
        with self.lock:
            return sum(1 for texts in self.by_number.values() for text in texts if not CODE_RE.search(text))


TEXTS = Texts()


class SmsHandler(fake_sms.Handler):
    """fake_sms's Brevo endpoint (its ledger counts duplicates), keeping the texts per number too."""

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length))
            number, text = payload["recipient"], payload["content"]
        except (ValueError, KeyError, TypeError):
            return self._answer(400, {"code": "invalid_parameter", "message": "bad payload"})
        if self.path not in fake_sms.SEND_PATHS:
            return self._answer(404, {"code": "not_found"})
        TEXTS.add(number, text)
        return self._answer(201, {"messageId": fake_sms.LEDGER.record(number, text), "smsCount": 1})


# --- Processes -----------------------------------------------------------------------------------

def prod_env(port: int) -> dict[str, str]:
    """deploy/local/run-prod.sh's environment, with the bench's database, Redis, queue and cache prefix."""
    VAR.mkdir(parents=True, exist_ok=True)
    key_file = VAR / "secret-key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(64))
    env = dict(os.environ)
    env.pop("SENTRY_DSN", None)
    env.update({
        "PATH": f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "config.settings.prod", "DJANGO_SECRET_KEY": key_file.read_text().strip(),
        "BASE_DOMAIN": "localhost", "ALLOWED_HOSTS": "localhost,.localhost",
        "DATABASE_URL": f"{PG}/{DATABASE}", "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "CELERY_QUEUE": "rdv-bench-load", "CACHE_KEY_PREFIX": "rdv-bench-load",
        "DEFAULT_FROM_EMAIL": "RDV Service Public <ne-pas-repondre@rdv.localhost>",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "SITE_SCHEME": "http", "SITE_PORT": str(port), "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0",
        "MEDIA_ROOT": str(VAR / "media"), "EXPORTS_ROOT": str(VAR / "exports"), "TMPDIR": str(VAR),
        "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        "CELERY_WORKER_CONCURRENCY": "2", "GUNICORN_GRACEFUL_TIMEOUT": "5", "LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESS_LOG": "", "PYTHONWARNINGS": "ignore",
    })
    return env


def procfile(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"Procfile has no {name}")


class Processes:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        log = open(VAR / f"{name}.log", "a")  # noqa: SIM115
        self.running[name] = subprocess.Popen(["bash", "-c", f"exec {procfile(name)}"], cwd=ROOT, env=self.env,
                                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        process = self.running[name]
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.running):
            try:
                os.killpg(self.running[name].pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def start_redis() -> subprocess.Popen:
    return subprocess.Popen(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--daemonize", "no"],
                            stdout=open(VAR / "redis.log", "a"), stderr=subprocess.STDOUT)  # noqa: SIM115


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(["psql", f"{PG}/{database}", "-Atqc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


# --- Load ----------------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.events: list[tuple[float, str]] = []
        self.conflicts = 0

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if not ok:
                self.errors[kind].append((clock.monotonic(), detail))


class Journey:
    def __init__(self, base: str, host: str, info: dict, stats: Stats, bookings, stop: threading.Event):
        self.base, self.host, self.info, self.stats, self.bookings, self.stop = base, host, info, stats, bookings, stop

    def call(self, session: requests.Session, kind: str, method: str, path: str, expect=(200,), **kwargs):
        started = clock.perf_counter()
        try:
            response = session.request(method, self.base + path, allow_redirects=False, timeout=30, **kwargs)
        except requests.RequestException as exc:
            self.stats.record(kind, clock.perf_counter() - started, False, type(exc).__name__)
            return None
        ok = response.status_code in expect
        detail = str(response.status_code)
        if not ok and response.status_code == 200:  # a form shown again: its first error message
            found = ERROR_RE.search(response.text)
            detail += f" {found.group(1).strip()[:80]}" if found else ""
            (VAR / f"last-error-{kind}.html").write_text(response.text)
        self.stats.record(kind, clock.perf_counter() - started, ok, detail)
        return response if ok else None

    def session(self, ip: str) -> requests.Session:
        session = requests.Session()
        session.headers.update({"Host": self.host, "X-Real-IP": ip})
        return session

    def usager(self, number: int) -> None:
        rnd = random.Random(number)
        n = 0
        while not self.stop.is_set():
            n += 1
            ident = number * 100_000 + n
            errors = sum(len(v) for v in self.stats.errors.values())
            self.one_booking(rnd, ident)
            if sum(len(v) for v in self.stats.errors.values()) > errors:
                self.stop.wait(0.25)  # an usager facing an error page waits a little before trying again

    def one_booking(self, rnd: random.Random, ident: int) -> None:
        session = self.session(f"10.{ident >> 16 & 255}.{ident >> 8 & 255}.{ident & 255}")
        type_id, location_id = rnd.choice(self.info["pairs"])
        week = FIRST_WEEK + timedelta(weeks=rnd.randrange(0, 16))
        query = urllib.parse.urlencode({"motif": type_id, "lieu": location_id, "semaine": week.isoformat()})
        page = self.call(session, "slots", "GET", f"/prendre-rdv/creneaux/?{query}")
        if page is None:
            return
        slots = SLOT_RE.findall(page.text)
        if not slots or self.stop.is_set():
            return
        state = dict(HIDDEN_RE.findall(page.text))
        state["creneau"] = rnd.choice(slots)
        here = "/prendre-rdv/coordonnees/?" + urllib.parse.urlencode(state)
        contact = self.call(session, "contact", "GET", here, expect=(200, 409))
        if contact is None or contact.status_code == 409:
            return
        mobile = f"06{10_000_000 + ident % 90_000_000:08d}"
        e164 = "+33" + mobile[1:]
        csrf = CSRF_RE.search(contact.text).group(1)
        posted = self.call(session, "post", "POST", here, expect=(302,), headers={"Referer": self.base + here},
                           data={"csrfmiddlewaretoken": csrf, "action": "send_code", "channel": "sms",
                                 "mobile": mobile})
        if posted is None:
            return
        code = TEXTS.code_for(e164)
        if code is None:
            self.stats.record("post", 0, False, "no code received")
            return
        posted = self.call(session, "post", "POST", here, expect=(302,), headers={"Referer": self.base + here},
                           data={"csrfmiddlewaretoken": csrf, "action": "verify_code", "code": code})
        if posted is None:
            return
        booked = self.call(session, "book", "POST", here, expect=(302, 409), headers={"Referer": self.base + here},
                           data={"csrfmiddlewaretoken": csrf, "action": "book", "first_name": "Camille",
                                 "last_name": f"Charge{ident}", "for_whom": "self", "phone": mobile,
                                 "accept": "on"})
        if booked is None:
            return
        if booked.status_code == 409:
            with self.stats.lock:
                self.stats.conflicts += 1
            return
        location = booked.headers.get("Location", "")
        found = re.search(r"/confirmation/([0-9a-f-]{36})/", location)
        if not found:
            self.stats.record("book", 0, False, f"302 to {location[:60]}")
            return
        self.bookings.write(json.dumps({"uuid": found.group(1), "slot": state["creneau"], "type": type_id,
                                        "location": location_id, "mobile": e164, "at": datetime.now().isoformat()})
                            + "\n")
        self.bookings.flush()

    def agent(self, number: int) -> None:
        session = None
        while not self.stop.is_set():
            if session is None:
                session = self.session(f"10.200.0.{number + 1}")
                login = self.call(session, "login", "GET", "/comptes/login/")
                if login is None:
                    session = None
                    clock.sleep(0.5)
                    continue
                csrf = CSRF_RE.search(login.text).group(1)
                signed = self.call(session, "login", "POST", "/comptes/login/", expect=(302,),
                                   headers={"Referer": self.base + "/comptes/login/"},
                                   data={"csrfmiddlewaretoken": csrf, "login": self.info["agent_email"],
                                         "password": PASSWORD})
                if signed is None:
                    session = None
                    clock.sleep(0.5)
                    continue
            response = self.call(session, "agenda", "GET", "/agents/agenda/")
            if response is None:
                session = None  # signed out by an outage (sessions live in the cache and the database)
            clock.sleep(0.2)


def wait_ok(base: str, host: str, path: str, limit: float = 120) -> float | None:
    """Seconds until ``path`` answers 200 (None past ``limit``)."""
    started = clock.monotonic()
    while clock.monotonic() - started < limit:
        try:
            if requests.get(base + path, headers={"Host": host}, timeout=5).status_code == 200:
                return clock.monotonic() - started
        except requests.RequestException:
            pass
        clock.sleep(0.1)
    return None


def gunicorn_workers(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in out]


def run_faults(processes: Processes, redis_holder: dict, base: str, host: str, slot_path: str, stats: Stats,
               stop: threading.Event, restart_postgres: bool) -> list[dict]:
    results = []

    def note(name: str, started: float, *, window_start: float | None = None, **extra):
        health = wait_ok(base, host, "/healthz")
        page = wait_ok(base, host, slot_path)
        clock.sleep(1)
        window = (window_start or started, clock.monotonic())
        with stats.lock:
            errors = [f"{kind} {what}" for kind, items in stats.errors.items() for at, what in items
                      if window[0] <= at <= window[1]]
        extra["errors in the window"] = ", ".join(f"{e} × {errors.count(e)}" for e in sorted(set(errors))) or "none"
        results.append({"fault": name, "at": started, "healthz": health, "slots": page, **extra})
        stats.events.append((started, name))
        print(f"  fault {name}: first 200 of /healthz after {fmt(health)}, of the slot page after {fmt(page)}",
              flush=True)

    def pause(seconds: float) -> bool:
        return not stop.wait(seconds)

    if not pause(8):
        return results
    workers = gunicorn_workers(processes.running["web"].pid)
    started = clock.monotonic()
    if workers:
        os.kill(workers[0], signal.SIGKILL)
    note("gunicorn worker SIGKILL", started)

    if not pause(6):
        return results
    started = clock.monotonic()
    processes.kill("worker")
    clock.sleep(2)
    processes.start("worker")
    note("Celery worker SIGKILL (restarted after 2 s)", started)

    if not pause(6):
        return results
    started = clock.monotonic()
    redis_holder["process"].kill()
    redis_holder["process"].wait()
    stop.wait(REDIS_OUTAGE)
    restarted = clock.monotonic()
    redis_holder["process"] = start_redis()
    note(f"Redis stopped {REDIS_OUTAGE:.0f} s (times from its restart)", restarted, window_start=started)

    if restart_postgres:
        if not pause(6):
            return results
        started = clock.monotonic()
        subprocess.run(["bash", "-c", PG_RESTART], check=False)
        note(f"PostgreSQL restart ({PG_RESTART}; times from its end)", clock.monotonic(), window_start=started,
             **{"the restart took": f"{clock.monotonic() - started:.1f} s"})
    return results


def fmt(seconds: float | None) -> str:
    return "never (> 120 s)" if seconds is None else f"{seconds:.1f} s"


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] * 1000 if ordered else 0.0


# --- Checks --------------------------------------------------------------------------------------

def checks(schema: str, booking_log: Path, grace: float) -> dict:
    logged = [json.loads(line) for line in booking_log.read_text().splitlines() if line.strip()]
    uuids = [entry["uuid"] for entry in logged]
    found = 0
    if uuids:
        values = ",".join(f"'{u}'::uuid" for u in uuids)
        found = int(psql(f'SELECT count(*) FROM "{schema}".scheduling_appointment WHERE uuid IN ({values})',
                         DATABASE))
    overlaps = int(psql(
        f'SELECT count(*) FROM "{schema}".scheduling_appointmentagent a JOIN "{schema}".scheduling_appointmentagent b '
        "ON a.agent_id = b.agent_id AND a.id < b.id AND a.blocks AND b.blocks "
        "AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)", DATABASE))
    deadline = clock.monotonic() + grace
    while True:
        # A pending message whose send_after is still ahead (a reminder of a booking months away) is not late.
        rows = psql(f"SELECT CASE WHEN status = 'pending' AND send_after > now() THEN 'scheduled later' "
                    f"ELSE status END, (reason <> '')::int, count(*) FROM \"{schema}\".messaging_message "
                    "GROUP BY 1, 2 ORDER BY 1, 2", DATABASE)
        statuses = [line.split("|") for line in rows.splitlines() if line]
        pending = sum(int(n) for status, _r, n in statuses if status in ("pending", "sending"))
        if pending == 0 or clock.monotonic() > deadline:
            drained = clock.monotonic() - (deadline - grace)
            break
        clock.sleep(2)
    unexplained = sum(int(n) for status, reason, n in statuses if status in ("failed", "skipped") and reason == "0")
    return {"logged": len(uuids), "found": found, "distinct": len(set(uuids)), "overlaps": overlaps,
            "messages": {f"{s}{' (with reason)' if r == '1' and s in ('failed', 'skipped') else ''}": int(n)
                         for s, r, n in statuses},
            "pending": pending, "drained": drained, "unexplained": unexplained, "sms": fake_sms.LEDGER.stats(),
            "notifications": TEXTS.notifications()}


# --- Main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", "60")))
    parser.add_argument("--usagers", type=int, default=int(os.environ.get("BENCH_USAGERS", "4")))
    parser.add_argument("--agents", type=int, default=int(os.environ.get("BENCH_AGENTS", "1")))
    parser.add_argument("--faults", action="store_true", help="kill a gunicorn worker, the Celery worker, stop Redis")
    parser.add_argument("--restart-postgres", action="store_true",
                        help="also restart PostgreSQL: the machine's SHARED cluster (never while others run tests)")
    parser.add_argument("--grace", type=float, default=None,
                        help="seconds left to the outbox after the load (default 60; 420 with --faults: what the "
                             "lost broker held is put back by the sweeper after REQUEUE_AFTER, 5 min)")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args()
    if args.grace is None:
        args.grace = 420 if args.faults else 60
    VAR.mkdir(parents=True, exist_ok=True)
    for old in VAR.glob("*.log"):
        old.unlink()

    port, sms_port = free_port(), free_port()
    env = prod_env(port)
    sms_server = ThreadingHTTPServer(("127.0.0.1", sms_port), SmsHandler)
    sms_server.daemon_threads = True
    threading.Thread(target=sms_server.serve_forever, daemon=True).start()
    redis_holder = {"process": start_redis()}
    processes = Processes(env)
    stats = Stats()
    stop = threading.Event()
    try:
        print(f"Load and faults — database {DATABASE}, Redis :{REDIS_PORT}, gunicorn :{port}", flush=True)
        psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{DATABASE}"')
        started = clock.perf_counter()
        subprocess.run(["bash", "-c", procfile("release") + " -v 0"], cwd=ROOT, env=env, check=True)
        out = subprocess.run([sys.executable, "-c", f"from bench.load_data import main; main({sms_port}, "
                              f"{PASSWORD!r})"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        info = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  migrations and data in {clock.perf_counter() - started:.0f} s: {info['counts']}", flush=True)
        if not (ROOT / "staticfiles" / "staticfiles.json").exists():
            subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                           check=True)
        for name in ("web", "worker", "beat"):
            processes.start(name)
        base, host = f"http://127.0.0.1:{port}", f"{info['slug']}.localhost"
        type_id, location_id = info["pairs"][0]
        slot_path = f"/prendre-rdv/creneaux/?motif={type_id}&lieu={location_id}&semaine={FIRST_WEEK.isoformat()}"
        if wait_ok(base, host, "/healthz", 60) is None:
            raise SystemExit("gunicorn did not answer /healthz (var/bench-load/web.log)")
        wait_ok(base, host, slot_path, 30)  # warm-up
        fake_sms.LEDGER.reset()
        booking_log = VAR / "bookings.jsonl"
        bookings = open(booking_log, "w")  # noqa: SIM115
        journey = Journey(base, host, info, stats, bookings, stop)
        threads = [threading.Thread(target=journey.usager, args=(i + 1,)) for i in range(args.usagers)]
        threads += [threading.Thread(target=journey.agent, args=(i,)) for i in range(args.agents)]
        print(f"  load: {args.usagers} usager(s) + {args.agents} agent(s) for {args.duration:.0f} s"
              f"{' with faults' if args.faults else ''}", flush=True)
        load_started = clock.monotonic()
        for thread in threads:
            thread.start()
        faults: list[dict] = []
        fault_thread = None
        if args.faults:
            fault_thread = threading.Thread(target=lambda: faults.extend(run_faults(
                processes, redis_holder, base, host, slot_path, stats, stop, args.restart_postgres)))
            fault_thread.start()
        stop.wait(args.duration)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = clock.monotonic() - load_started
        if fault_thread is not None:
            fault_thread.join()
        bookings.close()
        result = checks(info["schema"], booking_log, args.grace)
        report = render(args, info, stats, elapsed, faults, result, load_started)
        print(report)
        (ROOT / "bench" / "load-report.md").write_text(report)
    finally:
        stop.set()
        processes.stop_all()
        redis_holder["process"].terminate()
        sms_server.shutdown()
        if not args.keep:
            psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    ok = (not any(stats.errors.values()) and result["found"] == result["logged"] and result["overlaps"] == 0
          and result["pending"] == 0 and result["sms"]["duplicates"] == 0)
    return 0 if ok else 1


def render(args, info, stats: Stats, elapsed: float, faults: list[dict], result: dict, load_started: float) -> str:
    total = sum(len(v) for v in stats.latencies.values())
    errors = sum(len(v) for v in stats.errors.values())
    lines = [
        "# Load and faults — bench/load.py",
        "",
        f"Run of {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on this machine: {os.cpu_count()} cores, shared with "
        f"other work (load average at the end {os.getloadavg()[0]:.1f}). Production settings (config.settings.prod), "
        "gunicorn 2 sync workers, Celery worker (2 processes) and beat, "
        f"PostgreSQL 15 ({PG.rsplit('@', 1)[-1]}), the bench's own Redis (:{REDIS_PORT}).",
        f"Data: the large generated administration (bench/slots_data.py: {info['counts']}).",
        f"Load: {args.usagers} usager threads (full guest journey with SMS code) + {args.agents} agent thread(s) "
        f"(agenda), {elapsed:.0f} s{', with faults' if args.faults else ''}; concurrency kept modest on purpose "
        "(shared machine).",
        "",
        f"**{total} requests, {total / elapsed:.1f} req/s, {errors} errors ({errors / max(total, 1):.2%}); "
        f"{result['logged']} bookings accepted, {stats.conflicts} refused as already taken (409, expected).**",
        "",
        "| page | requests | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("slots", "contact", "post", "book", "agenda", "login"):
        values = stats.latencies.get(kind, [])
        if values:
            lines.append(f"| {kind} | {len(values)} | {pct(values, .5):.0f} | {pct(values, .95):.0f} | "
                         f"{pct(values, .99):.0f} | {len(stats.errors.get(kind, []))} |")
    slot_p95 = pct(stats.latencies.get("slots", []), .95)
    lines += ["", f"Slot page p95 {slot_p95:.0f} ms (target < 300 ms): {'OK' if slot_p95 < 300 else 'MISSED'}."]
    if errors:
        detail = defaultdict(int)
        for kind, items in stats.errors.items():
            for _at, what in items:
                detail[f"{kind} {what}"] += 1
        lines.append("Errors by kind: " + ", ".join(f"{k} × {n}" for k, n in sorted(detail.items())) + ".")
    if faults:
        lines += ["", "| fault (t from start) | first 200 /healthz | first 200 slot page | notes |",
                  "|---|---|---|---|"]
        for fault in faults:
            notes = ", ".join(f"{k} {v}" for k, v in fault.items() if k not in ("fault", "at", "healthz", "slots"))
            lines.append(f"| {fault['fault']} (t={fault['at'] - load_started:.0f} s) | {fmt(fault['healthz'])} | "
                         f"{fmt(fault['slots'])} | {notes} |")
    lines += [
        "",
        "Checks after the load:",
        f"- bookings of the tool's log found in the database: {result['found']} / {result['logged']} "
        f"(distinct uuids {result['distinct']});",
        f"- overlapping blocking agent links (whole administration, 100,000 appointments): {result['overlaps']};",
        f"- messages of the administration by status: {result['messages']}; still pending: "
        f"{result['pending']} (waited {result['drained']:.0f} s after the load, at most {args.grace:.0f} s); "
        f"failed/skipped without a reason: {result['unexplained']};",
        f"- fake SMS provider: {result['sms']['received']} received ({result['notifications']} notifications "
        f"through the outbox, the rest one-time codes sent directly), {result['sms']['duplicates']} duplicates "
        "(same number and text twice).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
