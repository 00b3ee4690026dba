"""As bench/tenant_settings.py, with the stock django-tenants middleware instead of ours
(for comparison only: one query per request to resolve the host)."""

from bench.tenant_settings import *  # noqa: F403

MIDDLEWARE = [  # noqa: F405
    "django_tenants.middleware.main.TenantMainMiddleware" if name == "tenants.middleware.TenantMiddleware" else name
    for name in MIDDLEWARE  # noqa: F405
]
