"""Production. Refuses to start without the variables a real deployment needs."""

from .base import *  # noqa: F403
from .base import env_bool, env_int, env_str

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-insecure"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a random value of at least 50 characters.")
BASE_DOMAIN = env_str("BASE_DOMAIN").lower()
DATABASES = {"default": env_database("DATABASE_URL")}  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))  # noqa: F405
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", REDIS_URL, schemes=("redis", "rediss"))  # noqa: F405
CELERY_RESULT_BACKEND = env_url("CELERY_RESULT_BACKEND", REDIS_URL, schemes=("redis", "rediss"))  # noqa: F405
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [BASE_DOMAIN, f".{BASE_DOMAIN}"])  # noqa: F405
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL")
SMS_DEFAULT_PROVIDER = env_str("SMS_DEFAULT_PROVIDER", "")  # never the development "log" provider by default
SERVER_EMAIL = DEFAULT_FROM_EMAIL

DEBUG = False
# "http" only for `make run-prod-local` on loopback (no TLS there): links are built with it, and the
# cookies are then sent without the Secure flag (clients drop Secure cookies on plain HTTP).
SITE_SCHEME = env_str("SITE_SCHEME", "https")
if SITE_SCHEME not in ("https", "http"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"SITE_SCHEME must be https or http, got {SITE_SCHEME!r}.")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = SITE_SCHEME == "https"
CSRF_COOKIE_SECURE = SITE_SCHEME == "https"
