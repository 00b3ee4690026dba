"""Rate limits of the public pages, per client address: a window opened by the first hit, counted in Redis
(Django's cache, whose keys already carry the administration's schema).

Limits come from ``settings.PUBLIC_RATE_LIMITS``: ``{"address_search": (30, 60), ...}`` = at most 30 hits per
60 seconds. A page over its limit answers the French 429 page (``templates/errors/429.html``)."""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

DEFAULT_LIMITS = {
    "address_search": (30, 60),
    "booking": (10, 60),
    "otp_send": (5, 600),
    "otp_verify": (20, 600),
    "signup": (10, 3600),
}


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def limit_of(scope: str) -> tuple[int, int]:
    limits = getattr(settings, "PUBLIC_RATE_LIMITS", {}) or {}
    return tuple(limits.get(scope, DEFAULT_LIMITS[scope]))


def hit(request, scope: str, *, extra: str = "") -> bool:
    """Count one hit of this client for ``scope``; False once over the limit (the hit is counted anyway)."""
    allowed, period = limit_of(scope)
    who = hashlib.sha256(f"{client_address(request)}|{extra}".encode()).hexdigest()[:32]
    # The window opens at the client's first hit and lasts ``period`` (the key's lifetime; INCR keeps it):
    # no clock-aligned boundary where a burst could count twice as much.
    key = f"ratelimit:{scope}:{who}"
    if cache.add(key, 1, timeout=period):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=period)
            count = 1
    return count <= allowed


def too_many_requests(request, scope: str):
    _, period = limit_of(scope)
    response = render(request, "errors/429.html", {"retry_minutes": max(1, round(period / 60))}, status=429)
    response["Retry-After"] = str(period)
    return response


def rate_limited(scope: str, *, methods=("GET", "POST")):
    """View decorator: at most ``PUBLIC_RATE_LIMITS[scope]`` requests of those methods per client address."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in methods and not hit(request, scope):
                return too_many_requests(request, scope)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
