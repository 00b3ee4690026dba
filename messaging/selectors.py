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
