"""Hostname -> administration, resolved once per request and kept a few seconds per process.

The plain django-tenants middleware costs two or three queries on every request; a short-lived
in-process cache brings that to nearly nothing. Changes made in this process (suspension, new
domain) clear the cache at once through signals; other processes see them within
TENANT_CACHE_SECONDS.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Resolution:
    administration: object | None  # Administration, or None for the platform host / unknown host
    is_platform: bool


PLATFORM = Resolution(administration=None, is_platform=True)
UNKNOWN = Resolution(administration=None, is_platform=False)

_lock = threading.Lock()
_cache: dict[str, tuple[float, Resolution]] = {}


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _lookup(hostname: str) -> Resolution:
    from .models import Domain

    if hostname == settings.BASE_DOMAIN:
        return PLATFORM
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    if domain is None:
        return UNKNOWN
    return Resolution(administration=domain.tenant, is_platform=False)


def resolve(hostname: str) -> Resolution:
    ttl = settings.TENANT_CACHE_SECONDS
    now = time.monotonic()
    if ttl:
        cached = _cache.get(hostname)
        if cached is not None and cached[0] > now:
            return cached[1]
    resolution = _lookup(hostname)
    if ttl:
        with _lock:
            if len(_cache) > 10_000:  # unknown hosts must not grow the cache without bound
                _cache.clear()
            _cache[hostname] = (now + ttl, resolution)
    return resolution
