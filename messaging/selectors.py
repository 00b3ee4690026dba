"""Reads of the outbox (run in an administration's schema)."""

from __future__ import annotations

import uuid

from django.db.models import Count, Q, QuerySet

from .models import Channel, Message, MessageStatus

SEARCH_LIMIT = 200


def messages_search(*, text: str = "", status: str = "", channel: str = "", limit: int = SEARCH_LIMIT
                    ) -> QuerySet[Message]:
    """Support's search: by recipient (e-mail, number, URL; part of it), by appointment (its uuid or id) or
    by provider's message id; newest first, at most ``limit`` rows."""
    rows = Message.objects.select_related("appointment", "appointment__appointment_type")
    text = (text or "").strip()
    if text:
        match = Q(recipient__icontains=text) | Q(provider_message_id=text)
        try:
            match |= Q(appointment__uuid=uuid.UUID(text))
        except ValueError:
            pass
        if text.isdigit() and len(text) < 12:
            match |= Q(appointment_id=int(text))
        rows = rows.filter(match)
    if status:
        rows = rows.filter(status=status)
    if channel:
        rows = rows.filter(channel=channel)
    return rows.order_by("-created_at", "-id")[:limit]


def messages_for_appointment(appointment, *, include_webhooks: bool = False) -> QuerySet[Message]:
    """Every notification of the appointment, oldest first (pending, sent, failed or skipped with why)."""
    messages = Message.objects.filter(appointment=appointment).select_related("citizen", "agent")
    if not include_webhooks:
        messages = messages.exclude(channel=Channel.WEBHOOK)
    return messages.order_by("created_at", "id")


def delivery_summary(appointment) -> dict[str, int]:
    """Rows of the appointment by status, every status present (zero when none)."""
    counts = dict(
        messages_for_appointment(appointment).order_by().values("status").annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in MessageStatus.values}


# --- Back office: booking wizard preview (issue 5) -----------------------------------------------

def booking_messages_preview(*, appointment_type, starts_at, citizens, agents, author=None, now=None) -> dict:
    """What booking this appointment would send, from the same decisions as ``services.on_appointment_booked``
    (nothing is written): per usager the e-mail and SMS recipients, or the reason none goes; the agents told."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from scheduling.models import Appointment

    from .services import agent_wants, citizen_to_notify, has_started, usagers_notified
    from .sms import is_mobile_number

    now = now or timezone.now()
    draft = Appointment(appointment_type=appointment_type, organisation=appointment_type.organisation,
                        starts_at=starts_at)
    started = has_started(draft, now)
    notified = usagers_notified(draft)
    citizens_out = []
    for citizen in citizens:
        recipient = citizen_to_notify(citizen)
        channels = []
        if started:
            reason = "Aucun message : le rendez-vous commence dans le passé."
        elif not notified:
            reason = "Aucun message : ce motif n'envoie pas de notification aux usagers."
        else:
            reason = ""
            if recipient.email and recipient.notify_by_email:
                channels.append(f"E-mail à {recipient.email}")
            else:
                channels.append("Pas d'e-mail (" + ("aucune adresse" if not recipient.email else "refusé") + ")")
            if recipient.phone and recipient.notify_by_sms and is_mobile_number(recipient.phone):
                channels.append(f"SMS au {recipient.phone}")
            else:
                channels.append("Pas de SMS (" + ("aucun numéro" if not recipient.phone else
                                                  "refusé" if not recipient.notify_by_sms else "pas un mobile") + ")")
        citizens_out.append({"citizen": citizen, "recipient": recipient, "channels": channels, "reason": reason,
                             "default": notified and not started})
    tz = ZoneInfo(appointment_type.organisation.timezone)
    agents_out = []
    if not started:
        for agent in agents:
            if agent.deleted_at or not agent.user_id or not getattr(agent.user, "email", ""):
                continue
            is_author = author is not None and author.pk == agent.pk
            if agent_wants(level=agent.notification_level, is_author=is_author, dates=[starts_at], now=now, tz=tz):
                agents_out.append(agent)
    return {"citizens": citizens_out, "agents": agents_out}
