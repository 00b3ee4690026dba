"""A plain Django project without tenancy: the project's middleware minus the tenancy ones
(tenants.*), the apps that middleware needs, the same cache and the same bench URLconf.

The trivial view touches neither the database nor the session, so the database settings only
have to be valid.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import MIDDLEWARE, env_database

DEBUG = False
ROOT_URLCONF = "bench.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "django_htmx",
]
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("tenants.")]
AUTH_USER_MODEL = "auth.User"
DATABASES = {"default": env_database("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rdv")}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASE_ROUTERS: list = []
CACHES["default"].pop("KEY_FUNCTION")  # noqa: F405
CACHES["default"].pop("REVERSE_KEY_FUNCTION")  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TEMPLATES[0]["OPTIONS"]["context_processors"] = [  # noqa: F405
    name for name in TEMPLATES[0]["OPTIONS"]["context_processors"] if not name.startswith("tenants.")  # noqa: F405
]
ACCOUNT_ADAPTER = "allauth.account.adapter.DefaultAccountAdapter"
SOCIALACCOUNT_ADAPTER = "allauth.socialaccount.adapter.DefaultSocialAccountAdapter"
CSRF_FAILURE_VIEW = "django.views.csrf.csrf_failure"
WHITENOISE_AUTOREFRESH = False
WHITENOISE_USE_FINDERS = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
