"""Celery application. Tasks sent from an administration's context carry its schema and run in it
(tenant-schemas-celery); see ``tenants.tasks`` for the base classes that refuse the wrong schema."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = CeleryApp("rdv")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
