"""French content of every notification: e-mail (subject, text, HTML), SMS text, calendar data.

Times are shown in the organisation's timezone. Templates live in ``templates/messaging/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone, translation

from scheduling.models import Appointment, AppointmentType

from .models import Kind, RecipientKind

# Which template family a notification kind uses.
TEMPLATE_OF_KIND = {
    Kind.BOOKED: "booked",
    Kind.PARTICIPANT_ADDED: "booked",
    Kind.MOVED: "moved",
    Kind.CANCELLED: "cancelled",
    Kind.PARTICIPANT_REMOVED: "cancelled",
    Kind.REMINDER: "reminder",
    Kind.WAITING_LIST_SLOT: "waiting_list_slot",
}


@dataclass(frozen=True)
class EmailContent:
    subject: str
    body: str
    html: str


def administration_name() -> str:
    tenant = getattr(connection, "tenant", None)
    return getattr(tenant, "name", "") or "RDV Service Public"


def manage_url(appointment: Appointment) -> str:
    """Where the usager sees, moves or cancels the appointment (public pages of the administration)."""
    tenant = getattr(connection, "tenant", None)
    path = f"/rdv/{appointment.uuid}/"
    return tenant.url(path) if hasattr(tenant, "url") else path


def agent_url(appointment: Appointment) -> str:
    tenant = getattr(connection, "tenant", None)
    path = f"/agents/rdv/{appointment.pk}/"
    return tenant.url(path) if hasattr(tenant, "url") else path


def place_label(appointment: Appointment) -> str:
    """Place or mode, as a usager reads it."""
    mode = appointment.appointment_type.mode
    if mode == AppointmentType.Mode.PHONE:
        return "par téléphone"
    if mode == AppointmentType.Mode.VIDEO:
        return "en visio"
    if mode == AppointmentType.Mode.HOME:
        return "à domicile"
    location = appointment.location
    return f"{location.name}, {location.address}" if location else ""


def _context(appointment: Appointment, **extra) -> dict:
    kind = appointment.appointment_type
    organisation = appointment.organisation
    return {
        "appointment": appointment,
        "type_name": kind.name,
        "service_name": kind.service.name,
        "organisation": organisation,
        "administration_name": administration_name(),
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "mode": kind.mode,
        "place": place_label(appointment),
        "location": appointment.location,
        "video_url": appointment.video_url,
        "instructions": kind.instructions,
        "manage_url": manage_url(appointment),
        "agent_url": agent_url(appointment),
        "title": appointment.title,
        **extra,
    }


def _render(name: str, context: dict, tz: str) -> str:
    with translation.override("fr"), timezone.override(ZoneInfo(tz)):
        return render_to_string(name, context).strip()


def render_email(
    *, kind: str, audience: str, appointment: Appointment, previous: dict | None = None, cancel_status: str = "",
    cancelled_by_citizen: bool = False, relatives: list[str] | None = None, recipient_name: str = "",
) -> EmailContent:
    """The e-mail of one notification for one kind of recipient (citizen, agent, prescriber)."""
    family = TEMPLATE_OF_KIND[kind]
    tz = appointment.organisation.timezone
    previous_starts_at = previous["starts_at"] if previous else None
    context = _context(
        appointment, previous=previous, previous_starts_at=previous_starts_at, cancel_status=cancel_status,
        cancelled_by_citizen=cancelled_by_citizen, relatives=relatives or [], recipient_name=recipient_name,
        audience=audience,
    )
    base = f"messaging/email/{audience}_{family}"
    subject = " ".join(_render(f"{base}_subject.txt", context, tz).split())
    return EmailContent(
        subject=subject[:300],
        body=_render(f"{base}.txt", context, tz),
        html=_render(f"{base}.html", context, tz),
    )


def render_sms(
    *, kind: str, appointment: Appointment, relatives: list[str] | None = None, cancelled_by_citizen: bool = False,
) -> str:
    family = TEMPLATE_OF_KIND[kind]
    context = _context(appointment, relatives=relatives or [], cancelled_by_citizen=cancelled_by_citizen,
                       phone=appointment.location.phone if appointment.location else "")
    text = _render(f"messaging/sms/{family}.txt", context, appointment.organisation.timezone)
    return " ".join(text.split())


def calendar_data(*, appointment: Appointment, audience: str, cancelled: bool, attendee_emails: list[str],
                  organizer_email: str) -> dict:
    """What ``messaging.ics.appointment_calendar`` needs, as JSON (stored on the row, built when sent)."""
    if cancelled:
        method = "CANCEL"
    else:
        method = "REQUEST" if audience == RecipientKind.AGENT else "PUBLISH"
    kind = appointment.appointment_type
    description = "\n\n".join(part for part in (kind.instructions, manage_url(appointment)) if part)
    return {
        "uid": f"{appointment.uuid}@{connection.schema_name}",
        "sequence": int(timezone.now().timestamp()),
        "method": method,
        "summary": f"RDV {appointment.title or kind.name}",
        "description": description,
        "location": place_label(appointment),
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "tz": appointment.organisation.timezone,
        "organizer_email": organizer_email,
        "attendee_emails": attendee_emails,
        "cancelled": cancelled,
        "url": appointment.video_url or "",
    }


def calendar_bytes(data: dict) -> bytes:
    from .ics import appointment_calendar

    return appointment_calendar(
        uid=data["uid"], sequence=data["sequence"], method=data["method"], summary=data["summary"],
        description=data["description"], location=data["location"],
        starts_at=datetime.fromisoformat(data["starts_at"]), ends_at=datetime.fromisoformat(data["ends_at"]),
        tz=data["tz"], organizer_email=data["organizer_email"], attendee_emails=data["attendee_emails"],
        cancelled=data["cancelled"], url=data.get("url", ""),
    )
