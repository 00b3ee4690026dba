"""National public statistics on the platform host (public schema)."""

from django.urls import path

from reporting.views import national

urlpatterns = [
    path("", national.national_statistics_page, name="national_statistics"),
    path("donnees.csv", national.national_statistics_csv, name="national_statistics_csv"),
]
