"""The waiting list's periodic job: for each entry, an earlier free slot of the same type and place
means a message to the usager (``messaging.services.waiting_list_slot_notify``), at most three per entry
and at least a day apart. Entries of cancelled or passed appointments go."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from scheduling.models import AppointmentType, Status
from scheduling.selectors import slots_for

from .models import WaitingListEntry
from .self_service import can_move

logger = logging.getLogger(__name__)

DAY_STARTS = time(8, 0)
DAY_ENDS = time(20, 0)
MAX_MESSAGES = 3
MIN_INTERVAL = timedelta(days=1)


def is_daytime(now: datetime, tz_name: str) -> bool:
    """Whether ``now`` is between 8:00 (included) and 20:00 (excluded) in this timezone."""
    local = now.astimezone(ZoneInfo(tz_name)).time()
    return DAY_STARTS <= local < DAY_ENDS


def waiting_list_cleanup(*, now: datetime | None = None) -> int:
    """Delete the entries of appointments cancelled, no longer to come, or already started."""
    now = now or timezone.now()
    deleted, _ = (
        WaitingListEntry.objects.exclude(appointment__status=Status.UNKNOWN).delete()
    )
    passed, _ = WaitingListEntry.objects.filter(appointment__starts_at__lte=now).delete()
    return deleted + passed


def earlier_slot(appointment, now: datetime):
    """The first free slot (usager audience, booking window) of the same type and place before the
    appointment, with the appointment's agents when the type is sectorised by agent, else the type's."""
    kind = appointment.appointment_type
    agent_ids = None
    if kind.sectorisation_level == AppointmentType.SectorisationLevel.AGENT:
        agent_ids = list(appointment.agent_links.values_list("agent_id", flat=True))
    slots = slots_for(appointment_type=kind, start=now, end=appointment.starts_at, location_id=appointment.location_id,
                      agent_ids=agent_ids, now=now)
    for slot in slots:
        if slot.location_id == appointment.location_id and slot.starts_at < appointment.starts_at:
            return slot
    return None


def waiting_list_scan(*, now: datetime | None = None, tz_name: str | None = None) -> int:
    """One run in the current administration: returns how many entries were notified. Does nothing
    outside 8:00–20:00 in the administration's timezone (``tz_name``, default: the tenant's)."""
    from messaging.services import waiting_list_slot_notify

    now = now or timezone.now()
    tz_name = tz_name or getattr(getattr(connection, "tenant", None), "timezone", None) or "Europe/Paris"
    waiting_list_cleanup(now=now)
    if not is_daytime(now, tz_name):
        return 0
    due = (
        WaitingListEntry.objects.filter(notifications_sent__lt=MAX_MESSAGES)
        .filter(Q(last_notified_at__isnull=True) | Q(last_notified_at__lte=now - MIN_INTERVAL))
        .select_related("appointment__appointment_type__organisation")
        .order_by("pk")
    )
    notified = 0
    for entry in due:
        appointment = entry.appointment
        if not can_move(appointment, now).allowed:  # e.g. the type no longer lets usagers move it
            continue
        try:
            if earlier_slot(appointment, now) is None:
                continue
            messages = waiting_list_slot_notify(appointment=appointment, now=now)
        except Exception:  # one broken entry never stops the others
            logger.exception("Waiting list entry %s could not be processed", entry.pk)
            continue
        if not messages:
            continue
        WaitingListEntry.objects.filter(pk=entry.pk).update(
            notifications_sent=entry.notifications_sent + 1, last_notified_at=now
        )
        notified += 1
    return notified
