"""The real project (config.settings.dev) for bench/messaging.py, in the bench process and in its Celery worker.

Only the differences needed for a fair measurement: DEBUG off (no SQL log kept per query), quiet logging,
e-mails kept in memory (the onboarding invitation). The broker, result backend and cache are the Redis
database given by the bench (BENCH_REDIS_URL, default redis://127.0.0.1:6379/5) through the environment.
"""

from config.settings.dev import *  # noqa: F403

DEBUG = False
WHITENOISE_AUTOREFRESH = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
