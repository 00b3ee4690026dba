"""The PDF documents of reporting: what goes in them (reads and rules, no HTTP), rendered by ``reporting.pdf``.

- the printable appointment confirmation of a usager (from the manage link, or by an agent who sees the
  appointment);
- the monthly activity report of an organisation (downloaded by its admins, e-mailed to them each month).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone

from messaging.rendering import manage_url
from scheduling.models import Appointment, AppointmentType

from .pdf import file_data_uri, render_pdf

STATE_BLUE = "#000091"  # the DSFR's "bleu France", for State services


def branding() -> dict:
    """Name, logo (data: URI) and colour of the current administration, for the documents' header."""
    tenant = getattr(connection, "tenant", None)
    is_state = getattr(tenant, "kind", None) == "etat"
    return {
        "name": getattr(tenant, "name", "") or "RDV Service Public",
        "logo": file_data_uri(getattr(tenant, "logo", None)),
        "colour": STATE_BLUE if is_state else (getattr(tenant, "brand_colour", "") or "#1d4ed8"),
        "is_state": is_state,
    }


# --- Appointment confirmation ---------------------------------------------------------------------

def appointment_reference(appointment: Appointment) -> str:
    """What the usager quotes on the phone; agents find the appointment at /agents/rdv/<number>/."""
    return f"RDV-{appointment.pk:06d}"


def _mode_lines(appointment: Appointment) -> tuple[str, list[str]]:
    """(label, lines) of the place or the mode, as the usager reads it."""
    kind = appointment.appointment_type
    if kind.mode == AppointmentType.Mode.PHONE:
        return "Modalité", ["Par téléphone : un agent vous appellera à l'heure du rendez-vous, "
                            "au numéro que vous avez communiqué."]
    if kind.mode == AppointmentType.Mode.VIDEO:
        if appointment.video_url:
            return "Modalité", ["En visio, à l'adresse suivante :", appointment.video_url]
        return "Modalité", ["En visio : le lien de connexion vous sera communiqué avant le rendez-vous."]
    if kind.mode == AppointmentType.Mode.HOME:
        return "Modalité", ["À domicile : un agent se rendra à l'adresse que vous avez communiquée."]
    location = appointment.location
    if location is None:
        return "Lieu", ["Le lieu vous sera précisé par le service."]
    lines = [location.name, location.address]
    if location.phone:
        lines.append(f"Téléphone du lieu : {location.phone}")
    return "Lieu", lines


def confirmation_context(appointment: Appointment, *, participants=(), now: datetime | None = None) -> dict:
    """Everything the confirmation shows. ``participants``: the usagers whose names may be printed (the
    caller decides: a collective session's link is shared, so its names are left out there)."""
    now = now or timezone.now()
    kind = appointment.appointment_type
    organisation = appointment.organisation
    place_label, place_lines = _mode_lines(appointment)
    cancelled = appointment.is_cancelled
    return {
        "branding": branding(),
        "header_subtitle": organisation.name,
        "appointment": appointment,
        "reference": appointment_reference(appointment),
        "title": appointment.title or kind.name,
        "service": kind.service.name,
        "tz": ZoneInfo(organisation.timezone),
        "duration_minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "place_label": place_label,
        "place_lines": place_lines,
        "instructions": "" if cancelled else kind.instructions,
        "participants": [str(p.citizen) for p in participants],
        "organisation": organisation,
        "cancelled": cancelled,
        "past": appointment.starts_at <= now,
        "manage_url": manage_url(appointment),
        "online_changes": kind.citizen_can_cancel or kind.citizen_can_move,
        "can_cancel": kind.citizen_can_cancel,
        "can_move": kind.citizen_can_move,
        "cancellation_warning": kind.cancellation_warning,
        "printed_at": now,
    }


def confirmation_participants(appointment: Appointment) -> list:
    """Names printed on a confirmation: the usagers of an individual appointment; none for a collective
    session (its link and its page are shared by every participant)."""
    if appointment.appointment_type.collective:
        return []
    return list(appointment.participations.select_related("citizen").order_by("pk"))


def confirmation_pdf(appointment: Appointment, *, participants=(), now: datetime | None = None) -> bytes:
    context = confirmation_context(appointment, participants=participants, now=now)
    return render_pdf(render_to_string("reporting/pdf/confirmation.html", context))


def confirmation_filename(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(ZoneInfo(appointment.organisation.timezone))
    return f"confirmation-rdv-{local:%Y-%m-%d}-{appointment.pk}.pdf"
