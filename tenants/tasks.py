"""Celery tasks of the platform, and the base classes every task of the project derives from.

tenant-schemas-celery sends the sender's schema with each task and switches to it in the worker.
``AdministrationTask`` refuses to run in the public schema: a task sent without an administration
fails loudly instead of reading or writing the wrong data. ``PlatformTask`` is the opposite.
"""

from django.conf import settings
from django.db import connection

from config.celery import app


class TaskSentWithoutAdministration(RuntimeError):
    pass


class TaskSentFromAdministration(RuntimeError):
    pass


class AdministrationTask(app.Task):
    abstract = True

    def __call__(self, *args, **kwargs):
        if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
            raise TaskSentWithoutAdministration(
                f"Task {self.name} must run in an administration's schema but was sent from the "
                "public schema (no administration context)."
            )
        return super().__call__(*args, **kwargs)


class PlatformTask(app.Task):
    abstract = True

    def __call__(self, *args, **kwargs):
        if connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
            raise TaskSentFromAdministration(
                f"Task {self.name} runs on the platform (public schema) but was sent from "
                f"schema {connection.schema_name!r}."
            )
        return super().__call__(*args, **kwargs)


@app.task(base=PlatformTask, name="tenants.provision_administration")
def provision_administration(administration_id: int) -> str:
    from .services import administration_provision

    return administration_provision(administration_id=administration_id).status


@app.task(base=AdministrationTask, name="tenants.administration_ping")
def administration_ping() -> dict:
    """Diagnostic round trip through the broker: which schema and administration the worker used."""
    return {"schema": connection.schema_name, "administration": connection.tenant.name}


def send_to_active_administrations(task, *, only=None) -> int:
    """From the platform (a beat task): send ``task`` once per active administration, in its schema (the
    fan-out of the periodic sweeps and purges), or only to those for which ``only(administration)`` is
    true. Returns how many were sent."""
    from django_tenants.utils import tenant_context

    from .models import Administration

    count = 0
    for administration in Administration.objects.filter(status=Administration.Status.ACTIVE).exclude(
        schema_name=settings.PUBLIC_SCHEMA_NAME
    ):
        if only is not None and not only(administration):
            continue
        with tenant_context(administration):
            task.delay()
        count += 1
    return count
