"""PDF documents of the back office (mounted at /agents/); the usager's confirmation is routed by
public_booking.urls_self_service next to the manage page."""

from django.urls import path

from .views import pdf as views

urlpatterns = [
    path("rdv/<int:pk>/confirmation.pdf", views.agent_confirmation_pdf, name="agent_confirmation_pdf"),
    path("statistiques/rapport-mensuel/", views.monthly_report_pdf, name="monthly_report_pdf"),
]
