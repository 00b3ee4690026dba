"""Routes of API v1, mounted under /api/v1/ on an administration's host (config/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("services", views.ServiceViewSet, basename="service")
router.register("locations", views.LocationViewSet, basename="location")
router.register("appointment-types", views.AppointmentTypeViewSet, basename="appointment-type")
router.register("agents", views.AgentViewSet, basename="agent")
router.register("availabilities", views.AvailabilityViewSet, basename="availability")
router.register("absences", views.AbsenceViewSet, basename="absence")
router.register("citizens", views.CitizenViewSet, basename="citizen")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("participations", views.ParticipationViewSet, basename="participation")

urlpatterns = [
    path("slots", views.SlotsView.as_view(), name="slots"),
    path("next-availability", views.NextAvailabilityView.as_view(), name="next-availability"),
    *router.urls,
]
