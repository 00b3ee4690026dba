"""URLs of an administration's host (its schema)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from messaging import feeds as messaging_feeds
from tenants import views as tenant_views
from tenants.accounts import views as account_views
from tenants.media import serve_tenant_media

urlpatterns = [
    path("agents/", include("scheduling.urls")),
    path("agents/", include("reporting.urls")),
    # secrets.token_urlsafe() characters only: anything else is a 404 before any query.
    re_path(r"^agenda/(?P<token>[A-Za-z0-9_-]{16,64})\.ics$", messaging_feeds.agent_calendar, name="agent_calendar"),
    path("comptes/", include("allauth.urls")),
    path("invitation/<uidb64>/<token>/", account_views.accept_invitation, name="accept_invitation"),
    path("connexion-support/fin/", tenant_views.impersonation_end_view, name="impersonation_end"),
    path("connexion-support/<str:token>/", tenant_views.impersonation_enter_view, name="impersonation_enter"),
    path("media/<path:path>", serve_tenant_media, name="tenant_media"),
    path("api/v1/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api_schema"),
    path("api/v1/docs/", SpectacularRedocView.as_view(url_name="api_schema", permission_classes=[]), name="api_docs"),
    path("api/v1/", include(("scheduling.api.urls", "api"), namespace="api")),
    path("", include("retention.urls")),
    path("", include("public_booking.urls")),
]

handler400 = "tenants.views.bad_request"
handler403 = "tenants.views.forbidden"
handler404 = "tenants.views.not_found"
handler500 = "tenants.views.server_error"
