"""Reads of the outbox: the delivery log of an appointment, as agents see it on its page."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from .models import Channel, Message, MessageStatus


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
