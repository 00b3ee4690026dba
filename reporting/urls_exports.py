"""Exports of the back office (mounted at ``/agents/``): the list's export, the agent's export jobs."""

from django.urls import path

from .views import exports

urlpatterns: list = [
    path("rdv/export/", exports.appointments_export, name="appointments_export"),
    path("exports/", exports.export_list, name="agent_exports"),
    path("exports/<uuid:uuid>/", exports.export_detail, name="agent_export"),
    path("exports/<uuid:uuid>/telecharger/", exports.export_download, name="agent_export_download"),
]
