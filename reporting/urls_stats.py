"""Reporting URLs (urls_stats): the statistics page of the back office, under ``/agents/``."""

from django.urls import path

from .views import stats

urlpatterns = [
    path("statistiques/", stats.statistics_page, name="statistics"),
]
