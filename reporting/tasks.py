"""Reporting tasks (thin: ids in, one service call). Exports run in the administration's schema
(``AdministrationTask``); the hourly purge fans out from the platform over every active administration."""

from __future__ import annotations

from config.celery import app
from tenants.tasks import AdministrationTask, PlatformTask, send_to_active_administrations


@app.task(base=AdministrationTask, name="reporting.export_run", ignore_result=True)
def export_run(export_id: int) -> str:
    from .services import export_run as run

    return run(export_id=export_id).state


@app.task(base=AdministrationTask, name="reporting.exports_purge", ignore_result=True)
def exports_purge() -> int:
    from .services import exports_purge as purge

    return purge()


@app.task(base=PlatformTask, name="reporting.exports_purge_all", ignore_result=True)
def exports_purge_all() -> int:
    """Every hour (beat): one purge per active administration, in its schema."""
    return send_to_active_administrations(exports_purge)


# Celery autodiscovery loads only ``reporting.tasks``: the PDF and national tasks live in their own modules.
from . import national, tasks_pdf  # noqa: E402, F401
