"""The usager's pages on an administration's host (mounted at the root)."""

from django.urls import include, path

from .views import home as views

urlpatterns = [
    path("", views.home, name="administration_home"),
    path("", include("public_booking.urls_journey")),
    path("", include("public_booking.urls_self_service")),
]
