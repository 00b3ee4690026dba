"""Requests per second of a trivial page on an administration's host versus plain Django.

Three gunicorn servers (same worker count, sync workers, each on its own loopback port) serve the
same view (bench/views.py: ``/bench/ping/``, no template, no database, no session):

- ``tenant``: the real project with our TenantMiddleware (bench/tenant_settings.py);
- ``plain``: a plain Django project, same middleware minus tenancy (bench/plain_settings.py);
- ``django-tenants``: the real project with the stock TenantMainMiddleware, for comparison.

wrk loads each in turn (interleaved rounds, fixed duration) with ``Host: demo-mairie.localhost``;
the median of the rounds is reported. Needs ``make demo`` (database "rdv" with demo-mairie) and
``wrk`` (``apt-get install -y wrk``).

Environment knobs: BENCH_DURATION (seconds per round, default 10), BENCH_ROUNDS (default 3),
BENCH_WORKERS (gunicorn workers, default 2), BENCH_CONNECTIONS (wrk connections, default 8),
BENCH_HOST (default demo-mairie.localhost).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = "/bench/ping/"
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
HOST = os.environ.get("BENCH_HOST", "demo-mairie.localhost")
TARGET = 0.80

SERVERS = [  # (label, settings module)
    ("plain", "bench.plain_settings"),
    ("tenant", "bench.tenant_settings"),
    ("django-tenants", "bench.tenant_main_settings"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(settings_module: str, port: int, log) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=settings_module, PYTHONWARNINGS="ignore")
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application",
        "--chdir", str(ROOT), "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS), "--worker-class", "sync",
        "--log-level", "warning", "--graceful-timeout", "2",
    ]
    # Own process group, so the script stops exactly the processes it started.
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def get(port: int) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{PATH}", headers={"Host": HOST})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(label: str, proc: subprocess.Popen, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{label}: gunicorn exited (see var/bench-tenancy-{label}.log)")
        try:
            status, body = get(port)
        except OSError:
            time.sleep(0.2)
            continue
        if status != 200 or body != b"ok\n":
            raise SystemExit(f"{label}: {PATH} on {HOST} answered {status}, not 200 ok. Did you run `make demo`?")
        return
    raise SystemExit(f"{label}: gunicorn did not answer within {timeout:.0f} s")


def wrk(port: int, duration: int, *, path: str = PATH, host: str = HOST) -> tuple[float, int]:
    """Requests per second and count of errors (socket errors + non-2xx) of one wrk run."""
    command = [
        "wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "5s",
        "-H", f"Host: {host}", f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, errors + (int(non2xx.group(1)) if non2xx else 0)


def cpu_per_request(settings_module: str) -> float:
    """Best CPU microseconds per request through the WSGI handler alone (bench/wsgi_loop.py)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=settings_module)
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "wsgi_loop.py"), HOST, "2000", "5"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    (ROOT / "var").mkdir(exist_ok=True)
    servers = []
    try:
        for label, module in SERVERS:
            port = free_port()
            log = open(ROOT / "var" / f"bench-tenancy-{label}.log", "w")  # noqa: SIM115
            servers.append((label, module, port, start_server(module, port, log)))
        for label, _module, port, proc in servers:
            wait_ready(label, proc, port)
        for _label, _module, port, _proc in servers:  # warm-up: imports, first resolution, connections
            wrk(port, 2)

        results: dict[str, list[float]] = {label: [] for label, *_ in servers}
        errors: dict[str, int] = {label: 0 for label, *_ in servers}
        for round_number in range(1, ROUNDS + 1):
            for label, _module, port, _proc in servers:
                rps, errs = wrk(port, DURATION)
                results[label].append(rps)
                errors[label] += errs
                print(f"  round {round_number}/{ROUNDS}  {label:<15} {rps:9.1f} req/s", flush=True)
    finally:
        for *_rest, proc in servers:
            stop_server(proc)

    cpu = {label: cpu_per_request(module) for label, module in SERVERS}
    median = {label: statistics.median(values) for label, values in results.items()}
    plain = median["plain"]
    print()
    print(f"Tenancy overhead — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
          f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
    print(f"  page: GET {PATH} (HttpResponse, no template/db/session), Host: {HOST}")
    print(f"  server: gunicorn {WORKERS} sync workers per variant; load: wrk -t2 -c{CONNECTIONS}, "
          f"{ROUNDS} interleaved rounds x {DURATION} s, median")
    print(f"  {'variant':<36} {'req/s':>9} {'vs plain':>9} {'errors':>7}   {'CPU us/req in-process':>21}")
    names = {
        "plain": "plain Django (no tenancy)",
        "tenant": "tenants.middleware (ours)",
        "django-tenants": "django-tenants TenantMainMiddleware",
    }
    for label in results:
        share, implied = median[label] / plain, cpu["plain"] / cpu[label]
        print(f"  {names[label]:<36} {median[label]:9.1f} {share:8.1%} {errors[label]:7d}   "
              f"{cpu[label]:9.1f} ({implied:.0%})")
    ratio = median["tenant"] / plain
    verdict = "OK" if ratio >= TARGET else "MISSED"
    print(f"  => ours / plain = {ratio:.1%} (target >= {TARGET:.0%}): {verdict}")
    print("  (last column: CPU time of the Django handler alone, no server or network, best of 5 x 2000;")
    print("   the percentage is the throughput ratio it implies if Django were the only cost)")
    if any(errors.values()):
        print("  warning: some requests failed; see var/bench-tenancy-*.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
