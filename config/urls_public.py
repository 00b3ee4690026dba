"""URLs of the platform host (public schema): presentation, directory, console."""

from django.conf import settings
from django.urls import include, path

from tenants import views as tenant_views
from tenants.console import console_site

urlpatterns = [
    path("", tenant_views.platform_home, name="platform_home"),
    path(settings.CONSOLE_URL_PREFIX, console_site.urls),
    path("comptes/", include("allauth.urls")),
    path("statistiques/", include("reporting.urls_national")),
]

handler400 = "tenants.views.bad_request"
handler403 = "tenants.views.forbidden"
handler404 = "tenants.views.not_found"
handler500 = "tenants.views.server_error"
