"""Tests: real PostgreSQL and real Redis (a database index of their own), fast hashing."""

import os

from .base import *  # noqa: F403
from .base import env_str

DEBUG = False
SITE_SCHEME = "http"
SITE_PORT = ""
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
REDIS_URL = env_str("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = "rdv-test"  # noqa: F405
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# One queue per test process: two runs at once (or leftovers of a killed run) never mix their tasks.
CELERY_TASK_DEFAULT_QUEUE = f"rdv-test-{os.getpid()}"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
TENANT_CACHE_SECONDS = 10
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
WEBHOOKS_ALLOW_PRIVATE = True  # webhooks may target the local fake receivers (127.0.0.1), over http
ADDRESS_API_URL = ""  # tests point it at a local fake server (pytest-httpserver)
EXPORTS_ROOT = BASE_DIR / "var" / "test-exports"  # noqa: F405
