"""What ``scheduling`` announces. Receivers (``messaging`` and others) run inside the transaction of
the change, so whatever they write (an outbox row) commits or rolls back with it.

Every signal is sent with ``appointment`` and ``actor`` (a ``scheduling.services.Actor``).
"""

from django.dispatch import Signal

appointment_booked = Signal()  # + participations
appointment_moved = Signal()  # + previous: dict(starts_at, ends_at, location_id, agent_ids)
appointment_cancelled = Signal()  # + status (excused / revoked)
appointment_status_changed = Signal()  # + previous_status, status
participant_added = Signal()  # + participation
participant_removed = Signal()  # + participation
appointment_deleted = Signal()  # + reason (None, or "rgpd"); sent inside the transaction, before the rows go
