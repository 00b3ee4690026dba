"""Periodic job of the waiting list (beat: every 10 minutes), fanned out per active administration
like ``messaging.tasks.sweep_all``; each run acts only between 8:00 and 20:00 in the administration's
timezone."""

from __future__ import annotations

from django.utils import timezone

from config.celery import app
from tenants.tasks import AdministrationTask, PlatformTask, send_to_active_administrations


@app.task(base=AdministrationTask, name="public_booking.waiting_list_scan", ignore_result=True)
def waiting_list_scan() -> int:
    from .waiting_list import waiting_list_scan as scan

    return scan()


@app.task(base=PlatformTask, name="public_booking.waiting_list_scan_all", ignore_result=True)
def waiting_list_scan_all() -> int:
    """One scan per active administration whose local time is between 8:00 and 20:00."""
    from .waiting_list import is_daytime

    now = timezone.now()
    return send_to_active_administrations(
        waiting_list_scan, only=lambda administration: is_daytime(now, administration.timezone)
    )
