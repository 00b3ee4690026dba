"""A shared cache of the slot engine's inputs (openings, busy times, absences, holidays), for the pages
that many people read at once (the usagers' week of slots, next availabilities).

What is cached is only what the database says — never a computed slot list: slots are always computed
afresh from the inputs with the current time, so the booking window and "already started" stay exact.

Correctness rests on a **version** per administration (the cache's keys already carry the schema):
every write that can change a slot — an appointment, its agents or status, a plage, an absence, a type,
a place, a service, an agent, his roles or services, an organisation — replaces the version with a new random value,
once at the write and once **after its transaction commits**, so no entry computed from the state before
the commit is read after it. An entry
of an older version is never read again and expires on its own (``TIMEOUT``). The version is random
rather than a counter, so a version key lost by Redis cannot bring back old entries.

Bookings never use this cache: the booking service decides under row locks and the exclusion constraint,
so a stale read can at worst show a slot that the booking then refuses ("créneau plus disponible").
"""

from __future__ import annotations

import contextvars
import functools
import logging
import pickle
import secrets

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

VERSION_KEY = "slot-cache:version"
TIMEOUT = 300  # seconds an entry may live (a safety net: invalidation is by version)


_client = None


def _redis():
    """One client per process on the cache's Redis (Django's cache backend builds a client object per
    call, which cost more than the round trip itself on this page); keys still go through the cache's
    key function, so they carry the administration's schema."""
    global _client
    if _client is None:
        import redis
        from django.conf import settings

        _client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    return _client


def current_version() -> str:
    key = cache.make_key(VERSION_KEY)
    version = _redis().get(key)
    if version is None:
        _redis().set(key, secrets.token_hex(8), nx=True)
        version = _redis().get(key)
    return version.decode()


_request_version: contextvars.ContextVar[str | None] = contextvars.ContextVar("slot_cache_version", default=None)


def one_version(view):
    """View decorator for read pages: the version is read once for the request (one Redis round trip instead
    of one per cached read); a write during the request replaces it as usual."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            token = _request_version.set(current_version())
        except Exception:  # Redis down: each read then computes without the cache
            return view(request, *args, **kwargs)
        try:
            return view(request, *args, **kwargs)
        finally:
            _request_version.reset(token)

    return wrapper


def _bump() -> None:
    _request_version.set(None)  # this request's writes are never hidden by its pinned version
    try:
        _redis().set(cache.make_key(VERSION_KEY), secrets.token_hex(8))
    except Exception:  # Redis down: entries expire after TIMEOUT; log loudly, never break the write
        logger.exception("slot cache: the version could not be replaced")


def invalidate() -> None:
    """Called by every write that may change a slot. The version is replaced at once (so that reads in
    the same transaction never reuse older entries) and again after the commit (so that an entry computed
    by another reader before the commit, under the intermediate version, is never read afterwards)."""
    _bump()
    connection = transaction.get_connection()
    if not (connection.in_atomic_block and any(entry[1] is _bump for entry in connection.run_on_commit)):
        transaction.on_commit(_bump)  # once per transaction is enough (a booking writes a dozen rows)


def agents_key(agent_ids) -> str:
    return "all" if agent_ids is None else ",".join(str(pk) for pk in sorted(agent_ids))


def cached(key_parts: tuple, compute):
    """``compute()`` stored under the current version and ``key_parts``; the cache failing means computing."""
    try:
        version = _request_version.get() or current_version()
        key = cache.make_key(f"slot-cache:{version}:" + ":".join(str(part) for part in key_parts))
        stored = _redis().get(key)
    except Exception:
        logger.warning("slot cache unavailable: computing without it", exc_info=True)
        return compute()
    if stored is not None:
        return pickle.loads(stored)  # noqa: S301 (written by this module only, in our own Redis)
    value = compute()
    if value is not None:
        try:
            _redis().set(key, pickle.dumps(value, pickle.HIGHEST_PROTOCOL), ex=TIMEOUT)
        except Exception:
            logger.warning("slot cache: could not store an entry", exc_info=True)
    return value


def connect_receivers() -> None:
    """Model signals (any path: services, API, admin, console) and the scheduling events."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from . import events
    from .models import (
        Absence,
        Agent,
        AgentRole,
        Appointment,
        AppointmentAgent,
        AppointmentType,
        Availability,
        Location,
        Organisation,
        Participation,
        Service,
    )

    def receiver(**kwargs):
        invalidate()

    for model in (Absence, Agent, AgentRole, Appointment, AppointmentAgent, AppointmentType, Availability,
                  Location, Organisation, Participation, Service):
        post_save.connect(receiver, sender=model, dispatch_uid=f"slot_cache_save_{model.__name__}", weak=False)
        post_delete.connect(receiver, sender=model, dispatch_uid=f"slot_cache_delete_{model.__name__}", weak=False)
    for through in (Availability.appointment_types.through, Agent.services.through):
        m2m_changed.connect(receiver, sender=through, dispatch_uid=f"slot_cache_m2m_{through.__name__}", weak=False)
    for signal in (events.appointment_booked, events.appointment_moved, events.appointment_cancelled,
                   events.appointment_status_changed, events.participant_added, events.participant_removed,
                   events.appointment_deleted):
        signal.connect(receiver, dispatch_uid=f"slot_cache_event_{id(signal)}", weak=False)
