"""Public URLs of the journey part of the usager's pages."""

from django.urls import path

from .views import journey

urlpatterns = [
    path("prendre-rdv/", journey.journey_start, name="journey_start"),
    path("prendre-rdv/integration/", journey.journey_embed, name="journey_embed"),
    path("prendre-rdv/<str:kind>/<int:pk>/", journey.journey_direct, name="journey_direct"),
    path("prendre-rdv/motifs/", journey.journey_types, name="journey_types"),
    path("prendre-rdv/lieux/", journey.journey_places, name="journey_places"),
    path("prendre-rdv/creneaux/", journey.journey_slots, name="journey_slots"),
    path("prendre-rdv/coordonnees/", journey.journey_contact, name="journey_contact"),
    path("prendre-rdv/compte/", journey.journey_signup, name="journey_signup"),
    path("prendre-rdv/confirmation/<uuid:uuid>/", journey.journey_done, name="journey_done"),
    path("prendre-rdv/confirmation/<uuid:uuid>/rendez-vous.ics", journey.journey_ics, name="journey_ics"),
]
