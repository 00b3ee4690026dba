"""The real project (config.settings.dev, its URLconf and middleware) for bench/slots.py.

Only the differences needed for a fair measurement: DEBUG off (no SQL log kept per query; the query
counts use CaptureQueriesContext, which turns it on for its block only), WhiteNoise without
autorefresh, quiet logging, an e-mail backend that keeps the invitations of the two generated
administrations out of the report.
"""

from config.settings.dev import *  # noqa: F403

DEBUG = False
WHITENOISE_AUTOREFRESH = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
