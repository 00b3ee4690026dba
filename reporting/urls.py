"""Reporting pages of the back office, mounted at ``/agents/`` on an administration's host."""

from django.urls import include, path

urlpatterns = [
    path("", include("reporting.urls_stats")),
    path("", include("reporting.urls_exports")),
    path("", include("reporting.urls_pdf")),
]
