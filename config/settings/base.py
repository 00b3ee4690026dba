"""Settings shared by every environment. Values that differ per deployment come from the
environment through the typed readers of ``config.env``."""

from pathlib import Path

from celery.schedules import crontab

from config.env import env_bool, env_database, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-insecure-secret-key-change-me-0123456789abcdefghijkl")
DEBUG = env_bool("DJANGO_DEBUG", False)

# --- Hosts and tenancy -------------------------------------------------------------------------
# The platform (public schema) answers on BASE_DOMAIN; each administration on <slug>.BASE_DOMAIN.
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost").lower()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [BASE_DOMAIN, f".{BASE_DOMAIN}"])
# Scheme and port used to build absolute links (invitation e-mails, console links).
SITE_SCHEME = env_str("SITE_SCHEME", "https")
SITE_PORT = env_str("SITE_PORT", "")

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "tenants.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "dsfr",
    "widget_tweaks",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    # The admin's log table exists in every schema so that deleting an agent never cascades into the
    # public console's log rows of the account that shares its id (no admin site on these hosts).
    "django.contrib.admin",
    "tenants.accounts",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",  # FranceConnect (docs/decisions/0017)
    "rest_framework.authtoken",
    "scheduling",
    "public_booking",
    "messaging",
    "reporting",
    "retention",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Administration"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# Issue `SET search_path` once per connection and tenant switch, not before every cursor.
TENANT_LIMIT_SET_CALLS = True
# `migrate_schemas` leaves out the schemas that have nothing to apply (docs/decisions/0004).
GET_EXECUTOR_FUNCTION = "tenants.migration_executors.get_executor"
ROOT_URLCONF = "config.urls"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
# Seconds a hostname -> administration resolution is kept in each process.
TENANT_CACHE_SECONDS = env_int("TENANT_CACHE_SECONDS", 10, minimum=0)

MIDDLEWARE = [
    "tenants.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files are the same for every host: served before tenancy, so even the unknown-host and
    # "en cours de création" pages get their stylesheets.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.AdministrationAccessMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.platform",
                "scheduling.navigation.agent_navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Data stores ---------------------------------------------------------------------------------
DATABASES = {"default": env_database("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rdv")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss"))
CACHES = {
    "default": {
        # Django's Redis cache, behaving as an empty cache while Redis is down (config/cache.py).
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "rdv"),
        # Every key carries the schema name: an administration never reads another's entries.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "TIMEOUT": 300,
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Host-only cookies: a session of one administration is never sent to another's host.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_SAVE_EVERY_REQUEST = False

# --- Files ---------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Uploaded files land in MEDIA_ROOT/<schema>/...: each administration has its own folder.
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Accounts ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "tenants.accounts.validators.FrenchCommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
# Invitations to set a first password stay valid one week; password reset links 6 hours.
INVITATION_TIMEOUT_SECONDS = 7 * 24 * 3600
PASSWORD_RESET_TIMEOUT = 6 * 3600

ACCOUNT_ADAPTER = "tenants.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Failed sign-ins are throttled per address and per account (cache keys carry the schema).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "RDV Service Public")
SOCIALACCOUNT_ADAPTER = "tenants.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS: dict = {}
# A FranceConnect sign-in with an e-mail FranceConnect says is verified joins that usager account (the adapter
# refuses agents); the FranceConnect app itself is a SocialApp row per administration (docs/decisions/0017).
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- E-mail --------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "RDV Service Public <ne-pas-repondre@rdv.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
# Fernet keys (comma-separated, first encrypts) for stored SMS credentials; empty: derived from SECRET_KEY.
MESSAGING_ENCRYPTION_KEY = env_list("MESSAGING_ENCRYPTION_KEY", [])
# The platform's SMS provider for administrations that chose none ("log" writes SMS to the log: development
# only; production has no default, so an unconfigured SMS ends "failed" with the reason, never falsely "sent").
SMS_DEFAULT_PROVIDER = env_str("SMS_DEFAULT_PROVIDER", "log")
SMS_DEFAULT_SENDER = env_str("SMS_DEFAULT_SENDER", "RDVSP")

# --- Celery --------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", REDIS_URL, schemes=("redis", "rediss"))
CELERY_RESULT_BACKEND = env_url("CELERY_RESULT_BACKEND", REDIS_URL, schemes=("redis", "rediss"))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "rdv")
CELERY_BEAT_SCHEDULE: dict = {
    # The outbox sweeper: due reminders, retries, and what a dead worker or a down broker left behind.
    "messaging-sweep": {"task": "messaging.sweep_all", "schedule": 60.0},
    # Waiting list: earlier slots for usagers who asked (acts 8:00-20:00 in each administration's timezone).
    "waiting-list-scan": {"task": "public_booking.waiting_list_scan_all", "schedule": 600.0},
    # Reporting: expired export files removed; national anonymous figures each night; monthly PDF reports.
    "exports-purge": {"task": "reporting.exports_purge_all", "schedule": 3600.0},
    "national-figures": {"task": "reporting.national_figures_compute", "schedule": crontab(hour=3, minute=17)},
    "monthly-reports": {"task": "reporting.monthly_reports_all", "schedule": crontab(day_of_month=1, hour=6, minute=0)},
    # Data protection (RGPD): retention periods applied once a day, per administration.
    "retention": {"task": "retention.apply_all", "schedule": crontab(hour=2, minute=43)},
}

# --- Reporting ------------------------------------------------------------------------------------
# Background export files live outside MEDIA_ROOT (never served as plain media): EXPORTS_ROOT/<schema>/.
EXPORTS_ROOT = Path(env_str("EXPORTS_ROOT", str(BASE_DIR / "var" / "exports")))
# Up to this many rows an export streams in the response; above, it runs as a background job.
EXPORT_STREAM_MAX_ROWS = env_int("EXPORT_STREAM_MAX_ROWS", 5000, minimum=0)
# Hours a background export's download link stays valid.
EXPORT_EXPIRY_HOURS = env_int("EXPORT_EXPIRY_HOURS", 6, minimum=1)

# --- Data protection (RGPD) -------------------------------------------------------------------------
# Retention periods applied each night by retention.apply_all (docs/decisions/0018). Platform-wide: the
# Administration model has no field for a per-administration override (it would need a migration).
RGPD_APPOINTMENT_RETENTION_DAYS = env_int("RGPD_APPOINTMENT_RETENTION_DAYS", 730, minimum=1)
RGPD_MESSAGE_CONTENT_RETENTION_DAYS = env_int("RGPD_MESSAGE_CONTENT_RETENTION_DAYS", 182, minimum=1)
RGPD_MESSAGE_RETENTION_DAYS = env_int("RGPD_MESSAGE_RETENTION_DAYS", 730, minimum=1)
RGPD_CITIZEN_INACTIVITY_DAYS = env_int("RGPD_CITIZEN_INACTIVITY_DAYS", 730, minimum=1)
RGPD_AGENT_INACTIVITY_DAYS = env_int("RGPD_AGENT_INACTIVITY_DAYS", 365, minimum=1)
RGPD_AGENT_WARNING_DAYS = env_int("RGPD_AGENT_WARNING_DAYS", 30, minimum=1)
RGPD_HISTORY_RETENTION_DAYS = env_int("RGPD_HISTORY_RETENTION_DAYS", 365, minimum=1)
RGPD_BATCH_SIZE = env_int("RGPD_BATCH_SIZE", 500, minimum=1)

# --- Logging: every line carries the schema ------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"schema": {"()": "config.logging.SchemaFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(schema_name)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["schema"], "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # At DEBUG it logs whole template contexts (names, addresses, search terms): never personal data in logs.
        "django.template": {"level": "INFO"},
        "django.request": {"level": "ERROR"},
    },
}

# --- Sentry --------------------------------------------------------------------------------------
SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "production")
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT)

# --- Security defaults (tightened in prod) -------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "tenants.views.csrf_failure"

# --- REST API v1 (administration hosts only) -----------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    # Per agent (one token each); cache keys carry the schema, so per administration too.
    "DEFAULT_THROTTLE_RATES": {"user": "100/min"},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["scheduling.api.parsers.SafeJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API RDV Service Public",
    "DESCRIPTION": "API REST v1 d'une administration. Authentification : en-tête « Authorization: Token <clé> ».",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Served from our own static files: no third-party CDN on an administration's pages.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
}

# Console (Django admin) lives on the platform host only.
CONSOLE_URL_PREFIX = "console/"
# Impersonation ("se connecter en tant que") lasts at most this long.
IMPERSONATION_MAX_SECONDS = 3600

# National address API (Base Adresse Nationale): geocoding of usagers' and locations' addresses.
# Empty disables geocoding (the pages then say so and fall back to the whole administration).
ADDRESS_API_URL = env_str("ADDRESS_API_URL", "https://api-adresse.data.gouv.fr")
ADDRESS_API_TIMEOUT = float(env_str("ADDRESS_API_TIMEOUT", "3"))

# --- Public booking: rate limits per client address (public_booking.ratelimit) -----------------------
# scope: (at most this many requests, per this many seconds); over it, the French 429 page.
PUBLIC_RATE_LIMITS = {
    "address_search": (30, 60),
    "booking": (10, 60),
    "otp_send": (5, 600),
    "otp_verify": (20, 600),
    "signup": (10, 3600),
}
