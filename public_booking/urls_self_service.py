"""Public URLs of the self_service part of the usager's pages (mounted at the root of the administration's
host), and the agents' invitation generator (under /agents/, resolved here after scheduling.urls)."""

from django.urls import path

from reporting.views.pdf import public_confirmation_pdf

from .views import self_service as views

urlpatterns = [
    path("rdv/<uuid:uuid>/", views.public_appointment, name="public_appointment"),
    path("rdv/<uuid:uuid>/confirmation.pdf", public_confirmation_pdf, name="public_confirmation_pdf"),
    path("rdv/<uuid:uuid>/annuler/", views.public_appointment_cancel, name="public_appointment_cancel"),
    path("rdv/<uuid:uuid>/deplacer/", views.public_appointment_move, name="public_appointment_move"),
    path("rdv/<uuid:uuid>/liste-attente/", views.public_appointment_waiting_list,
         name="public_appointment_waiting_list"),
    path("mes-rendez-vous/", views.my_appointments, name="my_appointments"),
    path("mon-compte/", views.citizen_account, name="citizen_account"),
    path("mon-compte/notifications/", views.citizen_account_notifications, name="citizen_account_notifications"),
    path("mon-compte/proches/", views.citizen_relatives, name="citizen_relatives"),
    path("mon-compte/proches/ajouter/", views.citizen_relative_edit, name="citizen_relative_add"),
    path("mon-compte/proches/<int:pk>/", views.citizen_relative_edit, name="citizen_relative_edit"),
    path("mon-compte/proches/<int:pk>/retirer/", views.citizen_relative_remove, name="citizen_relative_remove"),
    path("mon-compte/supprimer/", views.citizen_account_delete, name="citizen_account_delete"),
    path("ateliers/", views.public_sessions, name="public_sessions"),
    path("ateliers/<uuid:uuid>/inscription/", views.public_session_register, name="public_session_register"),
    path("ateliers/<uuid:uuid>/inscription-sans-compte/", views.public_session_register_guest,
         name="public_session_register_guest"),
    path("ateliers/<uuid:uuid>/desinscription/", views.public_session_unregister, name="public_session_unregister"),
    path("prescripteur/", views.prescriber_start, name="prescriber_start"),
    path("prescripteur/<int:type_id>/", views.prescriber_book, name="prescriber_book"),
    path("invitation-rdv/", views.invitation_home, name="invitation_home"),
    path("invitation-rdv/motif/<int:type_id>/", views.invitation_book, name="invitation_book"),
    path("invitation-rdv/<str:token>/", views.invitation_open, name="invitation_open"),
    path("agents/invitations/nouvelle/", views.agent_invitation_create, name="agent_invitation_create"),
]
