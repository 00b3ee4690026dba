"""gunicorn settings for production, all from the environment.

    gunicorn -c deploy/gunicorn.conf.py config.wsgi

WEB_CONCURRENCY      worker processes (default 2; set 2 per core allotted: in a container the CPU count
                     Python sees is the host's, not the container's quota)
GUNICORN_THREADS     threads per worker (default 1: sync workers; >1 switches to gthread)
GUNICORN_TIMEOUT     seconds before a silent worker is killed and replaced (default 30)
GUNICORN_BIND        address to listen on (default 0.0.0.0:$PORT, PORT defaulting to 8000)
GUNICORN_MAX_REQUESTS  recycle a worker after this many requests (default 2000, 0 disables)
FORWARDED_ALLOW_IPS  proxies whose X-Real-IP / X-Forwarded-For is believed (gunicorn's own variable;
                     default 127.0.0.1,::1; "*" when only the proxy can reach the pods/containers)

Behind nginx or an ingress, the socket's peer is the proxy: without the real client address every usager
would share one rate-limit bucket (public_booking.ratelimit reads REMOTE_ADDR). ``RealClientAddress``
puts the address the trusted proxy saw into REMOTE_ADDR.

The access log carries no personal data: no client address, no query string (addresses, names and phone
numbers travel in query strings of the booking journey), and the capability parts of paths (the UUID of
an appointment link, signed invitation tokens) are masked.
"""

import ipaddress
import os
import re

from gunicorn import glogging


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


port = _int("PORT", 8000)
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{port}"
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# Workers write their heartbeat in memory, not on a possibly slow container disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Request lines and headers larger than this are refused with 400 by gunicorn itself.
limit_request_line = 8190
limit_request_fields = 100
# No control socket (gunicorn ≥ 24 opens $HOME/.gunicorn/gunicorn.ctl): read-only root filesystem in the
# image, and several servers on one machine would share the path.
control_socket_disable = True

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# %(U)s is the path without the query string; no %(h)s (client address), no referer, no user agent.
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'

# Path segments that are bearer secrets or identify a person's appointment: masked in the access log.
_SECRET_SEGMENTS = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUIDs (appointment links)
    r"|(?<=/)[A-Za-z0-9_\-:.]{24,}(?=/|$)"  # signed tokens, reset keys, calendar feed keys
)


def mask_path(path: str) -> str:
    return _SECRET_SEGMENTS.sub("…", path)


class AccessLogger(glogging.Logger):
    """gunicorn's logger with the path masked (see ``mask_path``)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = mask_path(atoms.get("U", ""))
        return atoms


logger_class = AccessLogger

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


class RealClientAddress:
    """WSGI wrapper: REMOTE_ADDR becomes the client address given by a trusted proxy.

    X-Real-IP (nginx: ``proxy_set_header X-Real-IP $remote_addr``) is preferred; otherwise the right-most
    X-Forwarded-For entry, the one our proxy appended (the left ones are whatever the client sent).
    Requests from any other peer keep their socket address, so the header cannot be forged from outside.
    """

    def __init__(self, app, trusted):
        self.app = app
        entries = [item.strip() for item in trusted if item.strip()]
        self.trust_all = "*" in entries
        self.networks = [ipaddress.ip_network(item, strict=False) for item in entries if item != "*"]

    def _trusted(self, peer: str) -> bool:
        if self.trust_all:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:  # a unix socket: only the local proxy can reach it
            return True
        return any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self._trusted(environ.get("REMOTE_ADDR", "")):
            forwarded = environ.get("HTTP_X_REAL_IP", "").strip()
            if not forwarded:
                forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
            if forwarded:
                environ["REMOTE_ADDR"] = forwarded
        return self.app(environ, start_response)


def post_worker_init(worker):
    worker.wsgi = RealClientAddress(worker.wsgi, worker.cfg.forwarded_allow_ips)
