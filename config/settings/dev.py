"""Development: `make run`. E-mails go to the console and to the console page "E-mails (développement)"."""

from .base import *  # noqa: F403
from .base import env_str

DEBUG = True
SITE_SCHEME = "http"
SITE_PORT = env_str("SITE_PORT", "8000")
EMAIL_BACKEND = "tenants.mail.ConsoleAndDatabaseEmailBackend"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
