"""Retention tasks (thin): each night the platform task sends one ``retention.apply`` per active
administration, which runs in that administration's schema."""

from __future__ import annotations

from config.celery import app
from tenants.tasks import AdministrationTask, PlatformTask, send_to_active_administrations

LOCK_KEY = "retention-running"  # per schema: Django's cache keys carry it
LOCK_SECONDS = 6 * 3600


@app.task(base=AdministrationTask, name="retention.apply", ignore_result=True)
def apply() -> dict[str, int]:
    """One run at a time per administration (a long first run redelivered by the broker, or a manual run
    meanwhile, finds the lock and stops); the rules are idempotent anyway."""
    from django.core.cache import cache

    from .services import retention_apply

    if not cache.add(LOCK_KEY, 1, LOCK_SECONDS):
        return {}
    try:
        return retention_apply().counts
    finally:
        cache.delete(LOCK_KEY)


@app.task(base=PlatformTask, name="retention.apply_all", ignore_result=True)
def apply_all() -> int:
    """Every night (beat): one retention run per active administration, in its schema."""
    return send_to_active_administrations(apply)
