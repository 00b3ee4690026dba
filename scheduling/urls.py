"""The agents' back office, mounted at ``/agents/`` on an administration's host."""

from django.urls import include, path

from messaging import feeds as messaging_feeds
from tenants.accounts import views as account_views

from .views import home

urlpatterns = [
    path("", home.agents_home, name="agents_home"),
    path("rdv/<int:pk>/", home.appointment_detail, name="agent_appointment"),
    path("parametres/api/", account_views.api_token, name="api_token"),
    path("parametres/agenda/", messaging_feeds.calendar_settings, name="agent_calendar_settings"),
    path("", include("scheduling.urls_agenda")),
    path("", include("scheduling.urls_booking")),
    path("", include("scheduling.urls_administration")),
    path("", include("scheduling.urls_citizens")),
    path("", include("scheduling.urls_sectors")),
    path("", include("scheduling.urls_availability")),
]
