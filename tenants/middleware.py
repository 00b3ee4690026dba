"""Request-level tenancy: health check, hostname -> schema, and access to an administration."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import set_urlconf
from django.utils import timezone

from . import resolution
from .models import Administration


def render_page(request, template: str, status: int, context: dict | None = None) -> HttpResponse:
    """Render a page from a middleware, before or instead of the view."""
    body = render_to_string(template, context or {}, request=request)
    return HttpResponse(body, status=status)


class HealthCheckMiddleware:
    """``/healthz`` on any host, before tenancy: the database and Redis answer, or 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != "/healthz":
            return self.get_response(request)
        from .health import check

        checks = check()
        healthy = all(item["ok"] for item in checks.values())
        return HttpResponse(
            json.dumps({"status": "ok" if healthy else "error", "checks": checks}),
            status=200 if healthy else 503,
            content_type="application/json",
        )


class TenantMiddleware:
    """Chooses the schema and the URLs from the host name.

    ``BASE_DOMAIN`` is the platform (public schema, ``config.urls_public``); ``<slug>.BASE_DOMAIN``
    is an administration (its schema, ``config.urls``). Any other host gets a French 404 page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            hostname = request.get_host().split(":")[0].lower().rstrip(".")
        except DisallowedHost:
            return render_page(request, "errors/unknown_host.html", 404)
        found = resolution.resolve(hostname)
        request.is_platform = found.is_platform
        request.tenant = found.administration

        if found.is_platform:
            if connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
                connection.set_schema_to_public()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            timezone.activate(settings.TIME_ZONE)
            return self.get_response(request)

        administration = found.administration
        if administration is None:
            return render_page(request, "errors/unknown_host.html", 404)
        if administration.status == Administration.Status.PENDING:
            return render_page(request, "errors/pending.html", 503, {"administration": administration})
        if administration.status == Administration.Status.FAILED:
            return render_page(request, "errors/unknown_host.html", 404)

        if getattr(connection, "tenant", None) is not administration:
            connection.set_tenant(administration)
        request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        timezone.activate(administration.timezone)
        return self.get_response(request)


class AdministrationAccessMiddleware:
    """After authentication: a suspended administration is closed to everyone but support staff
    signed in as one of its agents, and an impersonation past its hour ends here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        administration = getattr(request, "tenant", None)
        request.impersonation = None
        if administration is None:
            return self.get_response(request)

        impersonation_id = request.session.get("impersonation_id") if hasattr(request, "session") else None
        if impersonation_id is not None:
            from .impersonation import current_impersonation

            impersonation, response = current_impersonation(request, impersonation_id)
            if response is not None:
                return response
            request.impersonation = impersonation

        if (
            administration.status == Administration.Status.SUSPENDED
            and request.impersonation is None
            and not _is_impersonation_entry(request)
        ):
            return render_page(request, "errors/suspended.html", 403, {"administration": administration})
        return self.get_response(request)


def _is_impersonation_entry(request) -> bool:
    """The one-time link of support staff must open even on a suspended administration."""
    from django.urls import Resolver404, resolve

    try:
        return resolve(request.path_info, urlconf=request.urlconf).url_name == "impersonation_enter"
    except Resolver404:
        return False
