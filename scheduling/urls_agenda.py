"""Back-office URLs of the agenda area (under /agents/, see scheduling.views.agenda)."""

from django.urls import path

from .views import agenda

urlpatterns: list = [
    path("agenda/", agenda.agenda, name="agent_agenda"),
    path("rdv/", agenda.appointment_list, name="agent_appointments"),
    path("rdv/<int:pk>/statut/", agenda.appointment_status, name="agent_appointment_status"),
    path("rdv/<int:pk>/deplacer/", agenda.appointment_move_view, name="agent_appointment_move"),
    path("rdv/<int:pk>/contexte/", agenda.appointment_context, name="agent_appointment_context"),
    path("rdv/<int:pk>/rappel/", agenda.appointment_reminder, name="agent_appointment_reminder"),
    path("rdv/<int:pk>/imprimer/", agenda.appointment_print, name="agent_appointment_print"),
]
