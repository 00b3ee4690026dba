"""Back-office URLs of the citizens area (under /agents/, see scheduling.views.citizens) and the agent's
settings page (scheduling.views.settings)."""

from django.urls import path

from .views import citizens, settings

urlpatterns = [
    path("usagers/", citizens.citizen_list, name="citizens"),
    path("usagers/nouveau/", citizens.citizen_create, name="citizen_create"),
    path("usagers/<int:pk>/", citizens.citizen_detail, name="citizen_detail"),
    path("usagers/<int:pk>/modifier/", citizens.citizen_edit, name="citizen_edit"),
    path("usagers/<int:pk>/proches/nouveau/", citizens.citizen_relative_add, name="citizen_relative_add"),
    path("usagers/<int:pk>/responsable/", citizens.citizen_responsible, name="citizen_responsible"),
    path("usagers/<int:pk>/referents/", citizens.citizen_referents, name="citizen_referents"),
    path("usagers/<int:pk>/fusionner/", citizens.citizen_merge, name="citizen_merge"),
    path("usagers/<int:pk>/retirer/", citizens.citizen_remove, name="citizen_remove"),
    path("parametres/", settings.agent_settings, name="agent_settings"),
]
