"""Periodic job of the waiting list (beat: every 10 minutes), fanned out per active administration
like ``messaging.tasks.sweep_all``; each run acts only between 8:00 and 20:00 in the administration's
timezone."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from config.celery import app
from tenants.tasks import AdministrationTask, PlatformTask


@app.task(base=AdministrationTask, name="public_booking.waiting_list_scan", ignore_result=True)
def waiting_list_scan() -> int:
    from .waiting_list import waiting_list_scan as scan

    return scan()


@app.task(base=PlatformTask, name="public_booking.waiting_list_scan_all", ignore_result=True)
def waiting_list_scan_all() -> int:
    """One scan per active administration whose local time is between 8:00 and 20:00."""
    from tenants.models import Administration

    from .waiting_list import is_daytime

    now = timezone.now()
    count = 0
    for administration in Administration.objects.filter(status=Administration.Status.ACTIVE).exclude(
        schema_name=settings.PUBLIC_SCHEMA_NAME
    ):
        if not is_daytime(now, administration.timezone):
            continue
        with tenant_context(administration):
            waiting_list_scan.delay()
        count += 1
    return count
