"""Back-office URLs of the administration area (under /agents/, see scheduling.views.administration)."""

from django.urls import path

from .views import administration as views

_org = "administration/<int:organisation_id>/"

urlpatterns = [
    path("administration/", views.administration_index, name="administration_index"),
    path(_org + "motifs/", views.type_list, name="administration_types"),
    path(_org + "motifs/nouveau/", views.type_create, name="administration_type_create"),
    path(_org + "motifs/<int:pk>/", views.type_edit, name="administration_type_edit"),
    path(_org + "motifs/<int:pk>/retirer/", views.type_remove, name="administration_type_remove"),
    path(_org + "motifs/<int:pk>/restaurer/", views.type_restore, name="administration_type_restore"),
    path(_org + "lieux/", views.location_list, name="administration_locations"),
    path(_org + "lieux/nouveau/", views.location_create, name="administration_location_create"),
    path(_org + "lieux/<int:pk>/", views.location_edit, name="administration_location_edit"),
    path(_org + "lieux/<int:pk>/activation/", views.location_toggle, name="administration_location_toggle"),
    path(_org + "agents/", views.agent_list, name="administration_agents"),
    path(_org + "agents/inviter/", views.agent_invite, name="administration_agent_invite"),
    path(_org + "agents/intervenant/", views.intervenant_new, name="administration_intervenant_create"),
    path(_org + "agents/<int:agent_id>/services/", views.agent_services, name="administration_agent_services"),
    path(_org + "agents/<int:agent_id>/role/", views.agent_role_change, name="administration_agent_role"),
    path(_org + "agents/<int:agent_id>/retirer/", views.agent_remove, name="administration_agent_remove"),
    path(_org + "informations/", views.organisation_edit, name="administration_organisation"),
    path("administration/services/", views.service_list, name="administration_services"),
    path("administration/services/nouveau/", views.service_create, name="administration_service_create"),
    path("administration/services/<int:pk>/", views.service_edit, name="administration_service_edit"),
    path("administration/notifications/", views.messaging_settings, name="administration_messaging"),
    path("administration/apparence/", views.branding, name="administration_branding"),
]
