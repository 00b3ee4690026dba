"""What ``/healthz`` checks: one round trip to PostgreSQL and one to Redis, each with a short timeout."""

import time
from functools import cache

from django.conf import settings
from django.db import connection


def _timed(fn):
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:  # any failure means "down"; the type is enough, no details leak
        return {"ok": False, "error": type(exc).__name__, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@cache
def _redis_client(url: str):
    """One client (and connection pool) per process, not one per probe."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _redis():
    _redis_client(settings.REDIS_URL).ping()


def check() -> dict:
    return {"database": _timed(_database), "redis": _timed(_redis)}
