"""The real project (config.settings.dev, tenancy included) with the bench URLconf.

Only the differences needed for a fair measurement: DEBUG off (no SQL log kept per request),
WhiteNoise without autorefresh (as in production), quiet logging. The same overrides are in
bench/plain_settings.py.
"""

from config.settings.dev import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
WHITENOISE_AUTOREFRESH = False
WHITENOISE_USE_FINDERS = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
