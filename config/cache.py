"""The default cache: Django's Redis cache that behaves as an EMPTY cache while Redis is unreachable.

What the cache holds here can be lost: rate-limit counters (ours and allauth's), copies of sessions (the
database keeps them), cached pages and figures, best-effort progress counters. Without this, a Redis outage
turned every page that touches the cache into a 500 (bench/load.py: 432 failed POSTs in 30 s: one-time codes
and agent sign-in). While Redis is down, reads miss, writes are dropped, ``add`` succeeds and ``incr`` finds
no key, so rate limits let requests through (fail open) until Redis answers again; each failure is logged.
The slot cache keeps its own client and its own handling (scheduling/slot_cache.py, ADR 0016).
"""

from __future__ import annotations

import logging
from functools import wraps

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _key_not_found(key, *args, **kwargs):
    raise ValueError(f"Key '{key}' not found (Redis unreachable)")


def _or_else(fallback):
    """Wrap one of RedisCache's methods: while Redis is unreachable, log and answer ``fallback(*args)``."""

    def decorate(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE:
                logger.warning("Redis unreachable: cache %s skipped (the request goes on without the cache)",
                               method.__name__)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


class ResilientRedisCache(RedisCache):
    get = _or_else(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _or_else(lambda *args, **kwargs: {})(RedisCache.get_many)
    has_key = _or_else(lambda *args, **kwargs: False)(RedisCache.has_key)
    add = _or_else(lambda *args, **kwargs: True)(RedisCache.add)  # as if new: a rate limit counts a first hit
    set = _or_else(lambda *args, **kwargs: None)(RedisCache.set)
    set_many = _or_else(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    touch = _or_else(lambda *args, **kwargs: False)(RedisCache.touch)
    incr = _or_else(_key_not_found)(RedisCache.incr)
    delete = _or_else(lambda *args, **kwargs: False)(RedisCache.delete)
    delete_many = _or_else(lambda *args, **kwargs: None)(RedisCache.delete_many)
    clear = _or_else(lambda *args, **kwargs: False)(RedisCache.clear)
