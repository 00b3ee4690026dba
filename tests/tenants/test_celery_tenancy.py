"""Celery tasks run in the schema they were sent from, through the real Redis broker."""

import pytest
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from tenants.tasks import TaskSentWithoutAdministration, administration_ping, provision_administration


def test_task_sent_from_an_administration_runs_in_it(worker, administration_a, administration_b):
    with tenant_context(administration_a):
        result_a = administration_ping.delay()
    with tenant_context(administration_b):
        result_b = administration_ping.delay()
    assert result_a.get(timeout=20) == {"schema": administration_a.schema_name, "administration": "Département A"}
    assert result_b.get(timeout=20) == {"schema": administration_b.schema_name, "administration": "Commune B"}


def test_task_sent_without_administration_fails_loudly(worker, db):
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        result = administration_ping.delay()
    with pytest.raises(TaskSentWithoutAdministration, match="public schema"):
        result.get(timeout=20)


def test_platform_task_refuses_an_administration_schema(worker, administration_a):
    with tenant_context(administration_a):
        result = provision_administration.delay(administration_a.pk)
    with pytest.raises(Exception, match="runs on the platform"):
        result.get(timeout=20)


def test_ping_worker_command(worker, administration_a, capsys):
    from django.core.management import call_command

    call_command("ping_worker", administration=administration_a.slug, timeout=20)
    assert "Worker OK" in capsys.readouterr().out
