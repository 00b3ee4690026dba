"""Retention tasks (thin): each night the platform task sends one ``retention.apply`` per active
administration, which runs in that administration's schema."""

from __future__ import annotations

from django.conf import settings
from django_tenants.utils import tenant_context

from config.celery import app
from tenants.tasks import AdministrationTask, PlatformTask

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
    from tenants.models import Administration

    count = 0
    for administration in Administration.objects.filter(status=Administration.Status.ACTIVE).exclude(
        schema_name=settings.PUBLIC_SCHEMA_NAME
    ):
        with tenant_context(administration):
            apply.delay()
        count += 1
    return count
