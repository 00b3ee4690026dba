"""RGPD downloads, mounted at the root of an administration's host (config/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("agents/usagers/<int:pk>/donnees-rgpd/", views.citizen_export_for_agent, name="citizen_export_rgpd"),
    path("agents/usagers/<int:pk>/effacer-rgpd/", views.citizen_erase_for_agent, name="citizen_erase_rgpd"),
    path("mon-compte/mes-donnees/", views.citizen_export_own, name="citizen_account_export"),
]
