"""Back-office URLs of the booking area (under /agents/, see scheduling.views.booking)."""

from django.urls import path

from .views import booking

urlpatterns = [
    path("creneaux/", booking.slot_search, name="slot_search"),
    path("prendre-rdv/", booking.booking_wizard, name="booking_wizard"),
    path("prendre-rdv/<str:wid>/usagers/", booking.booking_wizard_citizens, name="booking_wizard_citizens"),
    path("prendre-rdv/<str:wid>/horaire/", booking.booking_wizard_details, name="booking_wizard_details"),
    path("prendre-rdv/<str:wid>/avertissements/", booking.booking_wizard_warnings, name="booking_wizard_warnings"),
    path("prendre-rdv/<str:wid>/recapitulatif/", booking.booking_wizard_summary, name="booking_wizard_summary"),
    path("ateliers/", booking.collective_sessions, name="collective_sessions"),
    path("ateliers/<int:pk>/", booking.collective_session, name="collective_session"),
    path("ateliers/<int:pk>/dupliquer/", booking.collective_session_duplicate, name="collective_session_duplicate"),
]
