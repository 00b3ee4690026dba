"""PDF downloads (thin: access checks here, contents in ``reporting.documents``).

- ``/rdv/<uuid>/confirmation.pdf``: the usager's confirmation, with the manage page's access rule (the
  UUID4 of the link is the secret);
- ``/agents/rdv/<pk>/confirmation.pdf``: the same document for an agent who sees the appointment;
- ``/agents/statistiques/rapport-mensuel/``: the monthly report of an organisation, for its admins.

A cancelled appointment still gives its PDF, which then says "Rendez-vous annulé" (proof of the
cancellation) and leaves out the instructions and the way to cancel or move.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render

from public_booking.self_service import appointment_for_link
from scheduling import policy
from scheduling.views.common import agent_view

from .. import documents


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # personal data: never kept by a shared cache
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _confirmation(appointment) -> HttpResponse:
    content = documents.confirmation_pdf(appointment, participants=documents.confirmation_participants(appointment))
    return pdf_response(content, documents.confirmation_filename(appointment))


def public_confirmation_pdf(request, uuid):
    """The usager's printable confirmation, behind the same link as the manage page."""
    appointment = appointment_for_link(uuid)
    if appointment is None:
        raise Http404("Rendez-vous introuvable")
    return _confirmation(appointment)


@agent_view
def agent_confirmation_pdf(request, pk: int):
    """The confirmation to hand or send to the usager, for an agent who sees the appointment."""
    appointment = policy.get_visible_or_404(
        policy.appointments(request.scope).select_related("appointment_type__service", "organisation", "location"),
        pk=pk,
    )
    return _confirmation(appointment)


@agent_view
def monthly_report_pdf(request):
    """The monthly activity report of one organisation (its admins only)."""
    try:
        report = documents.monthly_report_request(
            scope=request.scope, organisation_id=request.GET.get("organisation", ""), month=request.GET.get("mois", "")
        )
    except documents.ReportRefused as error:
        return render(request, "reporting/pdf/report_error.html", {"message": error.message}, status=error.status)
    return pdf_response(documents.monthly_report_pdf(report), documents.monthly_report_filename(report))
