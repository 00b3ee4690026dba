"""Every write of the outbox: deciding who gets what when ``scheduling`` announces a change (rows written
in the same transaction), claiming and sending a row, retrying it, and sweeping what was left behind.

Who gets what (issue 4, and RDV Service Public's notifiers):

- nothing about an appointment that has already started;
- usagers: nothing when the type is "visible non notifié" or "invisible"; a relative's messages go to his
  responsible (one message per recipient, naming the relatives); e-mail only with an address and when not
  opted out, SMS only to a valid mobile number when not opted out (a citizen channel that cannot be used
  is written ``skipped`` with the reason, so agents see why); per-participation switches decide lifecycle
  and reminder messages; cancellation SMS only when the service (an agent, the API) cancelled;
- agents: by their level — ``all``, ``others`` (not their own changes, the default), ``soon`` (others'
  changes when the old or new date is today or tomorrow, local time), ``none``; intervenants (no
  account) get nothing;
- reminders are rows written at booking or move time, due at ``starts_at - lead`` (elapsed hours); a lead
  whose time has already passed is written ``skipped`` with that reason; moving or cancelling skips the
  pending ones (and a move writes new ones).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone

from scheduling import status as status_rules
from scheduling.models import Agent, Appointment, AppointmentChange, AppointmentType, Citizen, Participation

from . import rendering
from .errors import PermanentProviderError, TemporaryProviderError
from .models import (
    Channel,
    Kind,
    Message,
    MessageStatus,
    MessagingSettings,
    RecipientKind,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

# Webhooks: 1 min doubling up to a day, about a week in all (``messaging.webhooks.retry_delays``: 17 retries).
MAX_ATTEMPTS = {Channel.EMAIL: 6, Channel.SMS: 6, Channel.WEBHOOK: 18}
DEFAULT_MAX_ATTEMPTS = 6  # a row of an unknown channel (a bug) still ends failed with its reason
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP = {Channel.EMAIL: timedelta(hours=1), Channel.SMS: timedelta(hours=1), Channel.WEBHOOK: timedelta(hours=12)}
# A row claimed longer ago than this is considered abandoned by a dead worker. It must exceed the longest
# send (SMTP and SMS/webhook HTTP timeouts are 10 s), with a wide margin.
STUCK_AFTER = timedelta(minutes=10)
# A pending row put on the broker is not put there again by the sweeper before this delay.
REQUEUE_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 5000
SERVICE_ACTOR_KINDS = ("agent", "api", "support", "system")


# --- Pure decisions ------------------------------------------------------------------------------

def usagers_notified(appointment: Appointment) -> bool:
    return appointment.appointment_type.visibility == AppointmentType.Visibility.VISIBLE_NOTIFIED


def has_started(appointment: Appointment, now: datetime) -> bool:
    return appointment.starts_at <= now


def citizen_to_notify(citizen: Citizen) -> Citizen:
    """A relative's messages go to his responsible (and the responsible's responsible, if any)."""
    seen = set()
    while citizen.responsible_id is not None and citizen.pk not in seen:
        seen.add(citizen.pk)
        citizen = citizen.responsible
    return citizen


def agent_wants(*, level: str, is_author: bool, dates: list[datetime], now: datetime, tz: ZoneInfo) -> bool:
    """Whether an agent of this notification level gets a message about a change."""
    if level == Agent.NotificationLevel.NONE:
        return False
    if level == Agent.NotificationLevel.ALL:
        return True
    if is_author:
        return False
    if level == Agent.NotificationLevel.SOON:
        today = now.astimezone(tz).date()
        return any(0 <= (moment.astimezone(tz).date() - today).days <= 1 for moment in dates if moment)
    return True


def backoff(*, channel: str, attempts: int) -> timedelta:
    """1, 2, 4, 8... minutes after the n-th failed attempt, capped per channel (webhooks: the delivery
    client's schedule, about a week)."""
    if channel == Channel.WEBHOOK:
        from .webhooks import retry_delays

        delays = retry_delays()
        return timedelta(seconds=delays[min(max(attempts - 1, 0), len(delays) - 1)])
    delay = timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_CAP.get(channel, timedelta(hours=1)))


def _key(*parts) -> str:
    key = ":".join(str(part) for part in parts)
    return key if len(key) <= 200 else hashlib.sha256(key.encode()).hexdigest()


# --- Writing rows (inside the caller's transaction) ----------------------------------------------

@dataclass
class _Batch:
    """Rows written for one event: de-duplicated by idempotency key, inserted at once, and put on the
    broker after commit (only those due now; later ones are the sweeper's)."""

    event_id: str
    now: datetime
    rows: dict[str, Message] = field(default_factory=dict)
    _settings: MessagingSettings | None = None

    @property
    def settings(self) -> MessagingSettings:
        if self._settings is None:
            self._settings = MessagingSettings.load()
        return self._settings

    def add(self, key_parts: tuple, **fields) -> None:
        key = _key(self.event_id, *key_parts)
        if key not in self.rows:
            fields.setdefault("next_attempt_at", self.now)
            self.rows[key] = Message(idempotency_key=key, created_at=self.now, **fields)

    def save(self) -> list[Message]:
        if not self.rows:
            return []
        rows = list(self.rows.values())
        for row in rows:
            if row.status == MessageStatus.PENDING and row.next_attempt_at <= self.now:
                row.queued_at = self.now
        created = Message.objects.bulk_create(rows)
        due = [row.pk for row in created if row.status == MessageStatus.PENDING and row.queued_at is not None]
        if due:
            from .tasks import enqueue

            transaction.on_commit(partial(enqueue, due), robust=True)
        return created


def _event_id(appointment: Appointment) -> tuple[str, str]:
    """The audit record written just before the signal identifies the event (and its action)."""
    last = AppointmentChange.objects.filter(appointment=appointment).order_by("-id").values_list("id", "action").first()
    if last is None:
        return f"e{uuid.uuid4().hex}", ""
    return f"c{last[0]}", last[1]


def _sms_text(*, kind: str, appointment: Appointment, relatives: list[str], cancelled_by_citizen=False):
    from .sms import MAX_SEGMENTS, count_segments, normalise_gsm7

    text = normalise_gsm7(rendering.render_sms(kind=kind, appointment=appointment, relatives=relatives,
                                               cancelled_by_citizen=cancelled_by_citizen))
    while count_segments(text) > MAX_SEGMENTS:  # length guard: long names or places are cut
        text = text[: len(text) - 10].rstrip() + "..."
    return text, count_segments(text)


def _organizer_email(messaging_settings: MessagingSettings) -> str:
    return messaging_settings.sender_email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def _agent_emails(appointment: Appointment) -> list[str]:
    return [
        agent.user.email for agent in appointment.agents.select_related("user").order_by("pk")
        if agent.user_id and agent.user.email
    ]


def _write_citizen_messages(
    batch: _Batch, *, appointment: Appointment, participations: list[Participation], kind: str, sms: bool = True,
    previous: dict | None = None, cancel_status: str = "", cancelled_by_citizen: bool = False,
    lead_hours: int | None = None, send_after: datetime | None = None,
) -> None:
    """E-mail and SMS of one notification to the usagers of these participations (grouped by the
    person actually notified)."""
    groups: dict[int, tuple[Citizen, list[Participation]]] = {}
    for participation in participations:
        recipient = citizen_to_notify(participation.citizen)
        if recipient.deleted_at is not None:
            continue
        groups.setdefault(recipient.pk, (recipient, []))[1].append(participation)
    cancelled = kind in (Kind.CANCELLED, Kind.PARTICIPANT_REMOVED)
    calendar = None
    for recipient, group in groups.values():
        relatives = [str(p.citizen) for p in group if p.citizen_id != recipient.pk]
        common = {
            "kind": kind, "appointment": appointment, "participation": group[0], "citizen": recipient,
            "recipient_kind": RecipientKind.CITIZEN, "send_after": send_after,
        }
        if send_after is not None:
            common["next_attempt_at"] = send_after
        tag = (kind, lead_hours or "", recipient.pk)
        if recipient.email and recipient.notify_by_email:
            content = rendering.render_email(
                kind=kind, audience=RecipientKind.CITIZEN, appointment=appointment, previous=previous,
                cancel_status=cancel_status, cancelled_by_citizen=cancelled_by_citizen, relatives=relatives,
                recipient_name=str(recipient),
            )
            if calendar is None:
                calendar = rendering.calendar_data(
                    appointment=appointment, audience=RecipientKind.CITIZEN, cancelled=cancelled,
                    attendee_emails=[], organizer_email=_organizer_email(batch.settings),
                )
            batch.add((*tag, Channel.EMAIL), channel=Channel.EMAIL, recipient=recipient.email, subject=content.subject,
                      body=content.body, html=content.html, context={"calendar": calendar}, **common)
        else:
            reason = ("L'usager n'a pas d'adresse e-mail." if not recipient.email
                      else "L'usager a refusé les notifications par e-mail.")
            batch.add((*tag, Channel.EMAIL), channel=Channel.EMAIL, recipient=recipient.email,
                      status=MessageStatus.SKIPPED, reason=reason, **common)
        if not sms:
            continue
        from .sms import is_mobile_number

        if recipient.phone and recipient.notify_by_sms and is_mobile_number(recipient.phone):
            text, segments = _sms_text(kind=kind, appointment=appointment, relatives=relatives,
                                       cancelled_by_citizen=cancelled_by_citizen)
            batch.add((*tag, Channel.SMS), channel=Channel.SMS, recipient=recipient.phone, body=text,
                      sms_segments=segments, **common)
        else:
            if not recipient.phone:
                reason = "L'usager n'a pas de numéro de téléphone."
            elif not recipient.notify_by_sms:
                reason = "L'usager a refusé les notifications par SMS."
            else:
                reason = "Le numéro de l'usager n'est pas un numéro de mobile."
            batch.add((*tag, Channel.SMS), channel=Channel.SMS, recipient=recipient.phone,
                      status=MessageStatus.SKIPPED, reason=reason, **common)


def _write_agent_messages(
    batch: _Batch, *, appointment: Appointment, agents: list[Agent], kind: str, actor, previous: dict | None = None,
    cancel_status: str = "", cancelled_by_citizen: bool = False,
) -> None:
    tz = ZoneInfo(appointment.organisation.timezone)
    dates = [appointment.starts_at, previous["starts_at"] if previous else None]
    author = getattr(actor, "agent", None)
    calendar = None
    for agent in agents:
        if agent.deleted_at or not agent.user_id or not agent.user.email:
            continue
        is_author = author is not None and author.pk == agent.pk
        if not agent_wants(level=agent.notification_level, is_author=is_author, dates=dates, now=batch.now, tz=tz):
            continue
        content = rendering.render_email(
            kind=kind, audience=RecipientKind.AGENT, appointment=appointment, previous=previous,
            cancel_status=cancel_status, cancelled_by_citizen=cancelled_by_citizen, recipient_name=str(agent),
        )
        if calendar is None:
            calendar = rendering.calendar_data(
                appointment=appointment, audience=RecipientKind.AGENT, cancelled=kind == Kind.CANCELLED,
                attendee_emails=_agent_emails(appointment), organizer_email=_organizer_email(batch.settings),
            )
        batch.add((kind, "agent", agent.pk, Channel.EMAIL), channel=Channel.EMAIL, recipient=agent.user.email,
                  recipient_kind=RecipientKind.AGENT, kind=kind, appointment=appointment, agent=agent,
                  subject=content.subject, body=content.body, html=content.html, context={"calendar": calendar})


def _write_reminders(batch: _Batch, *, appointment: Appointment, participations: list[Participation]) -> None:
    participations = [
        p for p in participations if p.send_reminder_notification and p.status not in status_rules.CANCELLED
    ]
    if not participations or not usagers_notified(appointment):
        return
    for lead in batch.settings.lead_hours:
        due = appointment.starts_at - timedelta(hours=lead)
        if due <= batch.now:
            before = len(batch.rows)
            _write_citizen_messages(batch, appointment=appointment, participations=participations,
                                    kind=Kind.REMINDER, lead_hours=lead, send_after=due)
            for row in list(batch.rows.values())[before:]:
                row.status = MessageStatus.SKIPPED
                row.reason = (f"Rappel {lead} h avant non envoyé : le rendez-vous a été pris ou déplacé "
                              f"moins de {lead} h avant son début.")
        else:
            _write_citizen_messages(batch, appointment=appointment, participations=participations,
                                    kind=Kind.REMINDER, lead_hours=lead, send_after=due)


def _skip_pending_reminders(appointment: Appointment, reason: str, *, participation: Participation | None = None):
    pending = Message.objects.filter(appointment=appointment, kind=Kind.REMINDER, status=MessageStatus.PENDING)
    if participation is not None:
        pending = pending.filter(participation=participation)
    return pending.update(status=MessageStatus.SKIPPED, reason=reason, updated_at=timezone.now())


def _appointment_payload(appointment: Appointment) -> dict:
    kind = appointment.appointment_type
    return {
        "id": appointment.pk,
        "uuid": str(appointment.uuid),
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "status": appointment.status,
        "organisation": {"id": appointment.organisation_id, "name": appointment.organisation.name},
        "motif": {"id": kind.pk, "name": kind.name, "location_type": kind.mode, "collectif": kind.collective},
        "lieu": ({"id": appointment.location.pk, "name": appointment.location.name,
                  "address": appointment.location.address} if appointment.location else None),
        "agents": [{"id": a.pk, "first_name": a.first_name, "last_name": a.last_name}
                   for a in appointment.agents.order_by("pk")],
        "participations": [
            {"id": p.pk, "status": p.status,
             "user": {"id": p.citizen_id, "first_name": p.citizen.first_name, "last_name": p.citizen.last_name}}
            for p in appointment.participations.select_related("citizen").order_by("pk")
        ],
        "created_by": appointment.created_by,
    }


def _write_webhooks(batch: _Batch, *, appointment: Appointment, event: str, tag: str,
                    reason: str | None = None) -> None:
    endpoints = WebhookEndpoint.objects.filter(
        organisation_id=appointment.organisation_id, subscriptions__contains=[WebhookEndpoint.Subscription.APPOINTMENT]
    )
    payload = None
    for endpoint in endpoints:
        if payload is None:
            payload = {"data": _appointment_payload(appointment), "model": "Rdv", "event": event,
                       "timestamp": batch.now.isoformat(), "reason": reason}
        batch.add(("webhook", tag, endpoint.pk), channel=Channel.WEBHOOK, recipient=endpoint.target_url[:500],
                  recipient_kind=RecipientKind.WEBHOOK, kind=Kind.WEBHOOK, appointment=appointment,
                  webhook_endpoint=endpoint, context=payload)


def _active(participations) -> list[Participation]:
    return [p for p in participations if p.status not in status_rules.CANCELLED]


def _lifecycle(participations) -> list[Participation]:
    return [p for p in participations if p.send_lifecycle_notifications]


def _load(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_related(
        "appointment_type__service", "organisation", "location", "created_by_prescriber"
    ).get(pk=appointment.pk)


def _participations(appointment: Appointment) -> list[Participation]:
    return list(appointment.participations.select_related("citizen__responsible__responsible").order_by("pk"))


def _agents(appointment: Appointment, ids=None) -> list[Agent]:
    agents = Agent.objects.select_related("user").order_by("pk")
    if ids is None:
        return list(agents.filter(appointment_links__appointment=appointment))
    return list(agents.filter(pk__in=ids))


def on_appointment_booked(*, appointment: Appointment, actor, now: datetime | None = None) -> list[Message]:
    """Booked, or reset from cancelled to "à venir": confirmation to usagers (and the prescriber),
    "Nouveau RDV" to agents, reminders, webhooks."""
    now = now or timezone.now()
    appointment = _load(appointment)
    event_id, action = _event_id(appointment)
    batch = _Batch(event_id=event_id, now=now)
    _write_webhooks(batch, appointment=appointment, event="created" if action == "created" else "updated",
                    tag="booked")
    if has_started(appointment, now):
        return batch.save()
    participations = _active(_participations(appointment))
    if usagers_notified(appointment):
        _write_citizen_messages(batch, appointment=appointment, participations=_lifecycle(participations),
                                kind=Kind.BOOKED)
        prescriber = appointment.created_by_prescriber
        if prescriber and prescriber.email and action == "created":
            content = rendering.render_email(
                kind=Kind.BOOKED, audience=RecipientKind.PRESCRIBER, appointment=appointment,
                relatives=[str(p.citizen) for p in participations], recipient_name=str(prescriber),
            )
            batch.add((Kind.BOOKED, "prescriber", prescriber.pk), channel=Channel.EMAIL, recipient=prescriber.email,
                      recipient_kind=RecipientKind.PRESCRIBER, kind=Kind.BOOKED, appointment=appointment,
                      subject=content.subject, body=content.body, html=content.html)
    _write_reminders(batch, appointment=appointment, participations=participations)
    _write_agent_messages(batch, appointment=appointment, agents=_agents(appointment), kind=Kind.BOOKED, actor=actor)
    return batch.save()


def on_appointment_moved(*, appointment: Appointment, actor, previous: dict, now: datetime | None = None):
    """Usagers: old and new, when the start or the place changed (reminders replaced). Agents: kept ones
    "modifié", added ones "nouveau", removed ones "annulé"."""
    now = now or timezone.now()
    appointment = _load(appointment)
    event_id, _ = _event_id(appointment)
    batch = _Batch(event_id=event_id, now=now)
    _write_webhooks(batch, appointment=appointment, event="updated", tag="moved")
    usager_change = (previous["starts_at"] != appointment.starts_at
                     or previous["location_id"] != appointment.location_id)
    if usager_change:
        _skip_pending_reminders(appointment, "Rendez-vous déplacé : ce rappel est remplacé par un nouveau.")
    if has_started(appointment, now) and has_started_at(previous["starts_at"], now):
        return batch.save()
    participations = _active(_participations(appointment))
    if usager_change and not has_started(appointment, now):
        if usagers_notified(appointment):
            _write_citizen_messages(batch, appointment=appointment, participations=_lifecycle(participations),
                                    kind=Kind.MOVED, previous=previous)
        _write_reminders(batch, appointment=appointment, participations=participations)
    before, after = set(previous["agent_ids"]), {link.agent_id for link in appointment.agent_links.all()}
    if usager_change:  # agents who stay are told when the time or the place changed
        _write_agent_messages(batch, appointment=appointment, agents=_agents(appointment, before & after),
                              kind=Kind.MOVED, actor=actor, previous=previous)
    _write_agent_messages(batch, appointment=appointment, agents=_agents(appointment, after - before),
                          kind=Kind.BOOKED, actor=actor)
    _write_agent_messages(batch, appointment=appointment, agents=_agents(appointment, before - after),
                          kind=Kind.CANCELLED, actor=actor, previous=previous)
    return batch.save()


def has_started_at(moment: datetime, now: datetime) -> bool:
    return moment <= now


def on_appointment_cancelled(*, appointment: Appointment, actor, status: str, now: datetime | None = None):
    """Usagers whose participation was cancelled by this change (SMS only when the service cancelled),
    all agents by level; pending reminders skipped."""
    now = now or timezone.now()
    appointment = _load(appointment)
    event_id, _ = _event_id(appointment)
    batch = _Batch(event_id=event_id, now=now)
    _skip_pending_reminders(appointment, "Rendez-vous annulé.")
    if has_started(appointment, now):
        return batch.save()
    by_citizen = getattr(actor, "kind", "") == "citizen"
    by_service = getattr(actor, "kind", "") in SERVICE_ACTOR_KINDS
    if usagers_notified(appointment):
        participations = [p for p in _participations(appointment) if p.status == status]
        _write_citizen_messages(batch, appointment=appointment, participations=_lifecycle(participations),
                                kind=Kind.CANCELLED, sms=by_service, cancel_status=status,
                                cancelled_by_citizen=by_citizen)
    _write_agent_messages(batch, appointment=appointment, agents=_agents(appointment), kind=Kind.CANCELLED,
                          actor=actor, cancel_status=status, cancelled_by_citizen=by_citizen)
    return batch.save()


def on_appointment_status_changed(*, appointment: Appointment, actor, previous_status: str, status: str,
                                  now: datetime | None = None):
    """A webhook for every status change. When the change came from a participation's status (no
    cancelled/booked event follows), the derived cancellation or reset is notified here."""
    now = now or timezone.now()
    appointment = _load(appointment)
    event_id, action = _event_id(appointment)
    batch = _Batch(event_id=event_id, now=now)
    _write_webhooks(batch, appointment=appointment, event="updated", tag=f"status-{status}")
    if status in (status_rules.SEEN, status_rules.NOSHOW):
        _skip_pending_reminders(appointment, "Rendez-vous déjà renseigné.")
    created = batch.save()
    if action == "participation_status":
        if status in status_rules.CANCELLED:
            created += on_appointment_cancelled(appointment=appointment, actor=actor, status=status, now=now)
        elif previous_status in status_rules.CANCELLED and status == status_rules.UNKNOWN:
            created += on_appointment_booked(appointment=appointment, actor=actor, now=now)
    return created


def on_participant_added(*, appointment: Appointment, actor, participation: Participation,
                         now: datetime | None = None):
    now = now or timezone.now()
    appointment = _load(appointment)
    event_id, _ = _event_id(appointment)
    batch = _Batch(event_id=event_id, now=now)
    _write_webhooks(batch, appointment=appointment, event="updated", tag="participant-added")
    if not has_started(appointment, now):
        participation = Participation.objects.select_related("citizen__responsible").get(pk=participation.pk)
        if usagers_notified(appointment):
            _write_citizen_messages(batch, appointment=appointment, participations=_lifecycle([participation]),
                                    kind=Kind.PARTICIPANT_ADDED)
            prescriber = participation.created_by_prescriber
            if prescriber and prescriber.email:
                content = rendering.render_email(
                    kind=Kind.BOOKED, audience=RecipientKind.PRESCRIBER, appointment=appointment,
                    relatives=[str(participation.citizen)], recipient_name=str(prescriber),
                )
                batch.add((Kind.PARTICIPANT_ADDED, "prescriber", prescriber.pk), channel=Channel.EMAIL,
                          recipient=prescriber.email, recipient_kind=RecipientKind.PRESCRIBER,
                          kind=Kind.PARTICIPANT_ADDED, appointment=appointment, participation=participation,
                          subject=content.subject, body=content.body, html=content.html)
        _write_reminders(batch, appointment=appointment, participations=[participation])
    return batch.save()


def on_participant_removed(*, appointment: Appointment, actor, participation: Participation,
                           now: datetime | None = None):
    now = now or timezone.now()
    appointment = _load(appointment)
    event_id, _ = _event_id(appointment)
    batch = _Batch(event_id=event_id, now=now)
    _write_webhooks(batch, appointment=appointment, event="updated", tag="participant-removed")
    _skip_pending_reminders(appointment, "Participant désinscrit.", participation=participation)
    if not has_started(appointment, now) and usagers_notified(appointment):
        participation = Participation.objects.select_related("citizen__responsible").get(pk=participation.pk)
        _write_citizen_messages(batch, appointment=appointment, participations=_lifecycle([participation]),
                                kind=Kind.PARTICIPANT_REMOVED, cancel_status=participation.status,
                                cancelled_by_citizen=getattr(actor, "kind", "") == "citizen",
                                sms=getattr(actor, "kind", "") in SERVICE_ACTOR_KINDS)
    return batch.save()


def on_appointment_deleted(*, appointment: Appointment, actor, now: datetime | None = None,
                           reason: str | None = None) -> list[Message]:
    """Before the rows go: pending messages of the appointment are skipped, webhooks get "destroyed"
    (with ``reason`` as their ``webhook_reason``: "rgpd" for the retention job)."""
    now = now or timezone.now()
    appointment = _load(appointment)
    event_id, _ = _event_id(appointment)
    batch = _Batch(event_id=event_id, now=now)
    Message.objects.filter(appointment=appointment, status=MessageStatus.PENDING).exclude(
        channel=Channel.WEBHOOK
    ).update(status=MessageStatus.SKIPPED, reason="Rendez-vous supprimé.", updated_at=now)
    _write_webhooks(batch, appointment=appointment, event="destroyed", tag="deleted", reason=reason)
    return batch.save()


def waiting_list_slot_notify(*, appointment: Appointment, now: datetime | None = None) -> list[Message]:
    """A slot earlier than the appointment has freed up: e-mail and SMS to its usagers, with the link to
    move it (called by the waiting list's periodic job). One message per appointment and local day."""
    now = now or timezone.now()
    appointment = _load(appointment)
    tz = ZoneInfo(appointment.organisation.timezone)
    batch = _Batch(event_id=f"w{appointment.pk}-{now.astimezone(tz).date():%Y%m%d}", now=now)
    if has_started(appointment, now) or appointment.status != status_rules.UNKNOWN or not usagers_notified(
        appointment
    ):
        return []
    participations = _lifecycle(_active(_participations(appointment)))
    _write_citizen_messages(batch, appointment=appointment, participations=participations,
                            kind=Kind.WAITING_LIST_SLOT)
    existing = set(Message.objects.filter(idempotency_key__in=list(batch.rows)).values_list("idempotency_key",
                                                                                           flat=True))
    for key in existing:
        del batch.rows[key]
    return batch.save()


# --- Back office: "Envoyer un rappel" on the appointment page -------------------------------------

class ReminderRefused(Exception):
    """Nothing can be sent now; the message is French and meant for the agent."""


@transaction.atomic
def reminder_send_now(*, appointment: Appointment, actor, now: datetime | None = None) -> list[Message]:
    """An agent asks for a reminder now: the reminder rows of the usagers (same switches, relatives and
    channels as the scheduled reminders) are written due now, recorded in the history, and put on the
    broker after commit like every row. Refused (``ReminderRefused``) for an appointment that has started,
    is cancelled or whose usagers are not notified, and when no usager wants reminders."""
    now = now or timezone.now()
    appointment = _load(appointment)
    if has_started(appointment, now):
        raise ReminderRefused("Ce rendez-vous a déjà commencé : un rappel n'a plus de sens.")
    if appointment.status in status_rules.CANCELLED:
        raise ReminderRefused("Ce rendez-vous est annulé : aucun rappel n'est envoyé.")
    if not usagers_notified(appointment):
        raise ReminderRefused("Les usagers de ce motif ne reçoivent pas de notification.")
    participations = [p for p in _active(_participations(appointment)) if p.send_reminder_notification]
    if not participations:
        raise ReminderRefused("Aucun usager de ce rendez-vous ne reçoit de rappel.")
    AppointmentChange.objects.create(
        appointment=appointment, appointment_uuid=appointment.uuid, organisation_id=appointment.organisation_id,
        actor_label=str(getattr(actor, "label", "") or "")[:300], actor_agent=getattr(actor, "agent", None),
        action="reminder_sent", changes={"at": now.isoformat()},
    )
    event_id, _ = _event_id(appointment)
    batch = _Batch(event_id=event_id, now=now)
    _write_citizen_messages(batch, appointment=appointment, participations=participations, kind=Kind.REMINDER,
                            lead_hours="manuel")
    return batch.save()


# --- Sending -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SendOutcome:
    status: str  # "not_claimed" | a MessageStatus
    retry_in: timedelta | None = None


def message_claim(*, message_id: int, now: datetime) -> bool:
    """pending → sending, only if still pending and due: of two workers holding the same id, one wins."""
    return bool(
        Message.objects.filter(pk=message_id, status=MessageStatus.PENDING, next_attempt_at__lte=now).update(
            status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now,
        )
    )


def _finish(message: Message, **fields) -> bool:
    """Record the outcome, unless the row was taken back meanwhile (the sweeper judged it stuck)."""
    fields["updated_at"] = timezone.now()
    return bool(
        Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING, claimed_at=message.claimed_at)
        .update(**fields)
    )


def _skip_reason(message: Message, now: datetime) -> str:
    if message.channel == Channel.WEBHOOK:
        return "" if message.webhook_endpoint_id else "Webhook supprimé."
    if message.appointment is None and message.recipient_kind == RecipientKind.AGENT:
        return "Rendez-vous supprimé."
    appointment = message.appointment
    if appointment is None:
        return "Rendez-vous supprimé."
    if appointment.starts_at <= now:
        return "Le rendez-vous a déjà commencé."
    if message.kind == Kind.REMINDER:
        if appointment.status != status_rules.UNKNOWN:
            return "Rendez-vous annulé ou déjà renseigné."
        if message.participation_id is None or message.participation.status in status_rules.CANCELLED:
            return "Participation annulée."
    return ""


def from_address(messaging_settings: MessagingSettings) -> str:
    default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = messaging_settings.sender_name or rendering.administration_name() or default_name
    return formataddr((name, messaging_settings.sender_email or default_address))


def _send_email(message: Message) -> dict:
    messaging_settings = MessagingSettings.load()
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.body, from_email=from_address(messaging_settings),
        to=[message.recipient], reply_to=[messaging_settings.reply_to] if messaging_settings.reply_to else None,
        headers={"X-Message-Key": message.idempotency_key},
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    calendar = (message.context or {}).get("calendar")
    if calendar:
        ics = rendering.calendar_bytes(calendar)
        email.attach_alternative(ics.decode(), f"text/calendar; method={calendar['method']}")
        email.attach("rdv.ics", ics, "application/ics")
    try:
        email.send()
    except (OSError, ConnectionError) as error:  # SMTP refused, timeout, DNS...: worth another try
        raise TemporaryProviderError(f"Serveur d'e-mail indisponible : {error}") from error
    return {"status": MessageStatus.SENT, "provider": settings.EMAIL_BACKEND.rsplit(".", 2)[-2]}


# Inside ``messages_send`` (one batch of a few dozen rows, about a second): the administration's SMS provider,
# read and decrypted once for the batch instead of once per row. Outside a batch: None, read every time.
_batch_cache: ContextVar[dict | None] = ContextVar("messaging_batch_cache", default=None)


def _sms_provider():
    """(provider, sender) from the administration's settings; PermanentProviderError when not configured."""
    from .sms import get_provider

    cache = _batch_cache.get()
    if cache is not None and "sms" in cache:
        return cache["sms"]
    messaging_settings = MessagingSettings.load()
    name = messaging_settings.sms_provider or getattr(settings, "SMS_DEFAULT_PROVIDER", "log")
    provider = get_provider(name, messaging_settings.get_sms_credentials())
    sender = messaging_settings.sms_sender or getattr(settings, "SMS_DEFAULT_SENDER", "RDV")
    if cache is not None:
        cache["sms"] = (provider, sender)
    return provider, sender


def _send_sms(message: Message) -> dict:
    provider, sender = _sms_provider()
    result = provider.send(sender=sender, to=message.recipient, text=message.body)
    return {"status": MessageStatus.SENT, "provider": provider.name,
            "provider_message_id": str(result.provider_message_id or "")[:200]}


def _send_webhook(message: Message) -> dict:
    from .webhooks import build_payload, deliver

    endpoint = message.webhook_endpoint
    payload = message.context
    body = build_payload(data=payload["data"], model=payload["model"], event=payload["event"],
                         reason=payload.get("reason"), timestamp=payload["timestamp"])
    deliver(endpoint.target_url, body, endpoint.secret)
    return {"status": MessageStatus.SENT, "provider": "webhook"}


SENDERS = {Channel.EMAIL: _send_email, Channel.SMS: _send_sms, Channel.WEBHOOK: _send_webhook}


def message_send(*, message_id: int, now: datetime | None = None) -> SendOutcome:
    """Claim one row and send it. Temporary errors come back ``pending`` with a backoff (``retry_in``),
    until the channel's maximum of attempts; permanent errors end ``failed`` with their reason."""
    now = now or timezone.now()
    if not message_claim(message_id=message_id, now=now):
        return SendOutcome("not_claimed")
    message = Message.objects.select_related(
        "appointment", "participation", "webhook_endpoint"
    ).get(pk=message_id)
    reason = _skip_reason(message, now)
    if reason:
        _finish(message, status=MessageStatus.SKIPPED, reason=reason)
        return SendOutcome(MessageStatus.SKIPPED)
    try:
        result = SENDERS[message.channel](message)
    except PermanentProviderError as error:
        _finish(message, status=MessageStatus.FAILED, reason=str(error) or "Refusé par le fournisseur.")
        return SendOutcome(MessageStatus.FAILED)
    except Exception as error:  # temporary, or unexpected (a bug must not lose the row: retried, then failed)
        if not isinstance(error, TemporaryProviderError):
            logger.exception("Unexpected error while sending message %s", message.pk)
        return _retry_or_fail(message, str(error) or error.__class__.__name__, now)
    # The provider has the message: recording it must survive a database that restarts meanwhile, or the
    # row would stay "sending" and the sweeper would send it a second time (bench/load.py saw it once).
    sent_at = timezone.now()
    with_database_retries(lambda: _finish(message, reason="", sent_at=sent_at, **result))
    return SendOutcome(result["status"])


# Seconds between attempts to record an outcome while the database is unreachable (about 15 s in all).
RECORD_RETRY_DELAYS = (0.5, 1, 2, 4, 8)


def with_database_retries(write, *, delays=RECORD_RETRY_DELAYS, sleep=time.sleep):
    """Run ``write`` (a short autocommit write); on a lost or refused database connection, drop the connection
    and try again after each delay. Inside a transaction there is nothing to retry: the error goes up."""
    for delay in (*delays, None):
        try:
            return write()
        except (OperationalError, InterfaceError):
            if delay is None or transaction.get_connection().in_atomic_block:
                raise
            logger.warning("Database unreachable while recording a sent message: new attempt in %s s", delay)
            db_connection.close()
            sleep(delay)


def messages_send(*, message_ids: list[int]) -> dict[int, SendOutcome]:
    """``message_send`` for each row of a batch, in order, each claimed on its own just before it is sent
    (a row another worker holds is ``not_claimed``). The SMS provider is read once for the batch. An
    unexpected error on one row is logged and the batch goes on: that row is left to the sweeper."""
    outcomes: dict[int, SendOutcome] = {}
    token = _batch_cache.set({})
    try:
        for message_id in message_ids:
            try:
                outcomes[message_id] = message_send(message_id=message_id)
            except Exception:
                logger.exception("Could not send message %s", message_id)
    finally:
        _batch_cache.reset(token)
    return outcomes


def _retry_or_fail(message: Message, error: str, now: datetime) -> SendOutcome:
    if message.attempts >= MAX_ATTEMPTS.get(message.channel, DEFAULT_MAX_ATTEMPTS):
        _finish(message, status=MessageStatus.FAILED,
                reason=f"Échec après {message.attempts} tentatives. Dernière erreur : {error}")
        return SendOutcome(MessageStatus.FAILED)
    delay = backoff(channel=message.channel, attempts=message.attempts)
    _finish(message, status=MessageStatus.PENDING, next_attempt_at=now + delay, queued_at=None,
            reason=f"Tentative {message.attempts} échouée : {error}")
    return SendOutcome(MessageStatus.PENDING, retry_in=delay)


def mark_queued(ids: list[int], *, now: datetime | None = None) -> None:
    Message.objects.filter(pk__in=ids, status=MessageStatus.PENDING).update(queued_at=now or timezone.now())


def mark_not_queued(ids: list[int]) -> None:
    """The broker refused them: the sweeper takes them at its next run."""
    Message.objects.filter(pk__in=ids, status=MessageStatus.PENDING).update(queued_at=None)


def outbox_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Rows to put on the broker (again): pending and due, not queued in the last minutes; and rows
    stuck in ``sending`` (a dead worker) are first made pending again — or failed past the maximum."""
    now = now or timezone.now()
    stuck = Message.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=now - STUCK_AFTER)
    for message in stuck.only("pk", "channel", "attempts", "claimed_at"):
        if message.attempts >= MAX_ATTEMPTS.get(message.channel, DEFAULT_MAX_ATTEMPTS):
            fields = {"status": MessageStatus.FAILED,
                      "reason": f"Échec après {message.attempts} tentatives : envoi interrompu."}
        else:
            fields = {"status": MessageStatus.PENDING, "next_attempt_at": now, "queued_at": None,
                      "reason": "Envoi interrompu (processus arrêté) : nouvelle tentative."}
        _finish(message, **fields)
    due = (
        Message.objects.filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - REQUEUE_AFTER))
        .order_by("next_attempt_at")
    )
    with transaction.atomic():  # two sweeps at once take different rows
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if ids:
            mark_queued(ids, now=now)
    return ids
