"""How long personal data is kept (docs/decisions/0018-data-retention.md).

The durations come from the settings (``RGPD_*``, each overridable from the environment). They are the same
for every administration: ``Administration`` has no field where one could override them without a migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings


@dataclass(frozen=True)
class Retention:
    appointments: timedelta  # an appointment is deleted this long after it ended
    message_contents: timedelta  # a message's text, subject and recipient are blanked this long after it was written
    messages: timedelta  # the message row itself goes this long after it was written
    citizen_inactivity: timedelta  # a usager without appointment (nor sign-in) for this long is deleted
    agent_inactivity: timedelta  # an agent who has not signed in for this long is warned...
    agent_warning: timedelta  # ...and removed this long after the warning if still inactive
    history: timedelta  # personal values of the change history are blanked after this long
    batch_size: int  # rows per transaction

    @classmethod
    def from_settings(cls) -> Retention:
        days = lambda name, default: timedelta(days=getattr(settings, name, default))  # noqa: E731
        return cls(
            appointments=days("RGPD_APPOINTMENT_RETENTION_DAYS", 730),
            message_contents=days("RGPD_MESSAGE_CONTENT_RETENTION_DAYS", 182),
            messages=days("RGPD_MESSAGE_RETENTION_DAYS", 730),
            citizen_inactivity=days("RGPD_CITIZEN_INACTIVITY_DAYS", 730),
            agent_inactivity=days("RGPD_AGENT_INACTIVITY_DAYS", 365),
            agent_warning=days("RGPD_AGENT_WARNING_DAYS", 30),
            history=days("RGPD_HISTORY_RETENTION_DAYS", 365),
            batch_size=max(1, int(getattr(settings, "RGPD_BATCH_SIZE", 500))),
        )

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        return {
            "appointments": now - self.appointments,
            "message_contents": now - self.message_contents,
            "messages": now - self.messages,
            "citizens": now - self.citizen_inactivity,
            "agents": now - self.agent_inactivity,
            "agent_warning": now - self.agent_warning,
            "history": now - self.history,
        }
