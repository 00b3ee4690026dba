"""Back-office URLs of plages d'ouverture, absences and teams (under /agents/, see
scheduling.views.availability and scheduling.views.teams)."""

from django.urls import path

from .views import availability, teams

urlpatterns = [
    path("plages/", availability.availability_list, name="agent_availabilities"),
    path("plages/nouvelle/", availability.availability_new, name="agent_availability_create"),
    path("plages/<int:pk>/", availability.availability_edit, name="agent_availability_update"),
    path("plages/<int:pk>/supprimer/", availability.availability_remove, name="agent_availability_delete"),
    path("absences/", availability.absence_list, name="agent_absences"),
    path("absences/nouvelle/", availability.absence_new, name="agent_absence_create"),
    path("absences/<int:pk>/", availability.absence_edit, name="agent_absence_update"),
    path("absences/<int:pk>/supprimer/", availability.absence_remove, name="agent_absence_delete"),
    path("equipes/", teams.team_list, name="teams"),
    path("equipes/nouvelle/", teams.team_new, name="team_create"),
    path("equipes/<int:pk>/", teams.team_edit, name="team_update"),
    path("equipes/<int:pk>/supprimer/", teams.team_remove, name="team_delete"),
]
