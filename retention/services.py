"""The retention jobs of one administration (run in its schema), and a usager's data export.

``retention_apply`` runs every rule in order, each by batches of ``RGPD_BATCH_SIZE`` rows per transaction
(a big first run holds no lock for long), and returns the count per rule. With ``dry_run`` nothing is
written: the counts are those a real run would act on. Every rule is idempotent: a second run finds
nothing left to do. Rules (docs/decisions/0018-data-retention.md):

1. messages written more than 6 months ago (and no longer pending) lose subject, text, HTML, recipient and
   sending data; channel, kind, status, reason, dates and SMS segments stay for the statistics;
2. messages written more than 2 years ago (and no longer pending) are deleted;
3. appointments that ended more than 2 years ago are deleted through ``scheduling.services.appointment_delete``
   (history "deleted" entry, webhooks "destroyed" with ``webhook_reason`` "rgpd");
4. usagers with no appointment starting in the last 2 years (nor to come), no sign-in either, and who are
   responsible for no relative, are erased through the account deletion of decision 0014 (anonymised in place;
   their webhooks "destroyed" also carry ``webhook_reason`` "rgpd");
5. agents who have not signed in for 12 months are warned by e-mail; a month after the warning, if still
   inactive, they are removed from their organisations (``agent_role_remove``: never the last admin, never
   with appointments to come) and their profile soft-deleted. The warning is remembered in the change
   history (``AppointmentChange`` without appointment, action ``agent_inactivity_warning``);
6. change history entries older than 1 year lose their personal values: the name of a usager or prescriber
   who acted, context notes, warning texts.

Logs carry counts only, never a name, an address or a number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import BigIntegerField, Exists, OuterRef, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from messaging.models import FINAL_STATUSES, Message
from messaging.webhook_events import webhook_reason
from scheduling import services as scheduling_services
from scheduling.models import Agent, Appointment, AppointmentChange, Citizen, Participation
from tenants.accounts.services import api_token_revoke

from .policy import Retention

logger = logging.getLogger(__name__)

REASON = "rgpd"
SYSTEM_LABEL = "Conservation des données (RGPD)"
SYSTEM_ACTOR = scheduling_services.Actor(kind="system", label=SYSTEM_LABEL)
MARKER = "[anonymisé]"
WARNING_ACTION = "agent_inactivity_warning"
REMOVAL_ACTION = "agent_inactivity_removal"
TRIMMED_KEY = "rgpd_trimmed"
# Actor labels of the history that name nobody: kept when the history is trimmed.
NEUTRAL_LABELS = frozenset({SYSTEM_LABEL, "Usager", "Prescripteur", "Système", MARKER})

RULES = (
    # key, label in a dry run, label after a real run
    ("message_contents", "contenus de messages à anonymiser", "contenus de messages anonymisés"),
    ("messages", "messages à supprimer", "messages supprimés"),
    ("appointments", "rendez-vous à supprimer", "rendez-vous supprimés"),
    ("citizens", "usagers à supprimer", "usagers supprimés"),
    ("agents_warned", "agents inactifs à avertir", "agents inactifs avertis"),
    ("agents_removed", "agents inactifs à retirer", "agents inactifs retirés"),
    ("agents_kept", "agents inactifs non retirables", "agents inactifs non retirés (RDV à venir ou dernier admin)"),
    ("history", "entrées d'historique à alléger", "entrées d'historique allégées"),
)


@dataclass
class Report:
    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: {key: 0 for key, _, _ in RULES})

    def lines(self) -> list[str]:
        return [f"{dry if self.dry_run else done} : {self.counts[key]}" for key, dry, done in RULES]


def _in_batches(queryset, size: int, apply: Callable[[list[int]], int], *, dry_run: bool) -> int:
    """``apply`` to the queryset's rows by batches of ``size`` ids (in pk order, each batch read after the
    previous one: memory and locks stay bounded), each batch in its own transaction. Returns the rows acted
    on; in a dry run, the rows that would be."""
    if dry_run:
        return queryset.count()
    done, last = 0, 0
    while True:
        ids = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return done
        with transaction.atomic():
            done += apply(ids)
        last = ids[-1]


# --- 3. Appointments ------------------------------------------------------------------------------

def appointments_due(cutoff: datetime):
    return Appointment.objects.filter(ends_at__lt=cutoff)


def _delete_appointments(ids: list[int], cutoff: datetime) -> int:
    count = 0
    for appointment in appointments_due(cutoff).filter(pk__in=ids):
        try:
            scheduling_services.appointment_delete(appointment=appointment, actor=SYSTEM_ACTOR, reason=REASON)
        except Appointment.DoesNotExist:  # deleted meanwhile (an admin, another run): nothing left to do
            continue
        count += 1
    return count


# --- 1-2. Messages ----------------------------------------------------------------------------------

def message_contents_due(cutoff: datetime):
    return Message.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES).exclude(recipient=MARKER)


def _anonymise_messages(ids: list[int]) -> int:
    return Message.objects.filter(pk__in=ids).exclude(recipient=MARKER).update(
        recipient=MARKER, subject=MARKER, body=MARKER, html="", context={}, provider_message_id="",
        updated_at=timezone.now(),
    )


def messages_due(cutoff: datetime):
    return Message.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES)


def _delete_messages(ids: list[int]) -> int:
    deleted, _ = Message.objects.filter(pk__in=ids).delete()
    return deleted


# --- 4. Usagers -----------------------------------------------------------------------------------

def citizens_due(cutoff: datetime):
    """Usagers recorded before ``cutoff``, with no appointment starting since (nor to come), no sign-in since,
    and no relative left."""
    recent = Participation.objects.filter(citizen=OuterRef("pk"), appointment__starts_at__gte=cutoff)
    relatives = Citizen.objects.filter(responsible=OuterRef("pk"), deleted_at__isnull=True)
    return (
        Citizen.objects.filter(deleted_at__isnull=True, created_at__lt=cutoff)
        .filter(Q(account__isnull=True) | Q(account__last_login__isnull=True) | Q(account__last_login__lt=cutoff))
        .exclude(Exists(recent))
        .exclude(Exists(relatives))
    )


def _erase_citizens(ids: list[int], cutoff: datetime) -> int:
    from public_booking.self_service import citizen_account_delete

    count = 0
    with webhook_reason(REASON):  # the usagers' webhooks "destroyed" say "rgpd" too
        for citizen in citizens_due(cutoff).filter(pk__in=ids).select_related("account"):
            citizen_account_delete(citizen=citizen)
            count += 1
    return count


# --- 5. Inactive agents ---------------------------------------------------------------------------

def _agents_with_activity():
    return Agent.objects.filter(deleted_at__isnull=True, user__isnull=False).annotate(
        active_at=Coalesce("user__last_login", "user__invited_at", "user__date_joined")
    )


def _warnings_after(field: str):
    return AppointmentChange.objects.filter(appointment__isnull=True, action=WARNING_ACTION).annotate(
        warned_agent=Cast(KT("changes__agent"), BigIntegerField())
    ).filter(warned_agent=OuterRef("pk"), at__gt=OuterRef(field))


def agents_to_warn(cutoff: datetime):
    """Agents inactive since before ``cutoff`` and not warned since their last activity."""
    return _agents_with_activity().filter(active_at__lt=cutoff).exclude(Exists(_warnings_after("active_at")))


def agents_to_remove(cutoff: datetime, warned_before: datetime):
    """Agents inactive since before ``cutoff``, warned after their last activity and at least a month ago."""
    warned = _warnings_after("active_at").filter(at__lte=warned_before)
    return _agents_with_activity().filter(active_at__lt=cutoff).filter(Exists(warned))


def _record(action: str, changes: dict) -> None:
    AppointmentChange.objects.create(appointment=None, actor_label=SYSTEM_LABEL, action=action, changes=changes)


def _warn_agent(agent: Agent, *, now: datetime, retention: Retention) -> bool:
    """E-mail first, record after: an agent is only removed after a warning that left."""
    user = agent.user
    if not user.email:
        return False
    removal = now + retention.agent_warning
    administration = getattr(connection, "tenant", None)
    name = getattr(administration, "name", "RDV Service Public")
    link = administration.url("/agents/") if hasattr(administration, "url") else "/agents/"
    local = timezone.localtime(removal)
    body = (
        f"Bonjour,\n\nVotre compte agent de {name} n'a pas été utilisé depuis plus de "
        f"{retention.agent_inactivity.days} jours.\n\n"
        f"Sans connexion de votre part d'ici le {local:%d/%m/%Y}, il sera retiré de vos organisations "
        f"(conservation des données personnelles, RGPD).\n\nPour le garder, connectez-vous : {link}\n"
    )
    try:
        send_mail(subject=f"Votre compte agent sera retiré le {local:%d/%m/%Y}", message=body, from_email=None,
                  recipient_list=[user.email])
    except OSError:
        logger.warning("Retention: inactivity warning not sent to agent %s (mail server unavailable)", agent.pk)
        return False
    _record(WARNING_ACTION, {"agent": agent.pk, "inactive_since": agent.active_at.isoformat(),
                             "removal_on": removal.isoformat()})
    return True


def agent_remove_inactive(*, agent: Agent, now: datetime) -> bool:
    """Remove the agent from every organisation through ``agent_role_remove`` (all or nothing), then
    soft-delete the profile and close the account. False when a removal is refused (appointments to come,
    last admin): the agent stays, and is tried again the next night."""
    try:
        with transaction.atomic():
            for role in list(agent.roles.select_related("organisation")):
                scheduling_services.agent_role_remove(agent=agent, organisation=role.organisation)
            agent.deleted_at = now
            agent.save(update_fields=["deleted_at"])
            agent.followed_citizens.clear()
            scheduling_services.agent_calendar_token_regenerate(agent=agent)
            user = agent.user
            user.is_active = False
            user.save(update_fields=["is_active"])
            api_token_revoke(user=user)
            _record(REMOVAL_ACTION, {"agent": agent.pk})
    except ValidationError:
        return False
    return True


def _agents(report: Report, *, now: datetime, retention: Retention, cutoffs: dict) -> None:
    removable = list(agents_to_remove(cutoffs["agents"], cutoffs["agent_warning"]).select_related("user"))
    to_warn = list(agents_to_warn(cutoffs["agents"]).select_related("user"))
    if report.dry_run:
        report.counts["agents_removed"] = len(removable)
        report.counts["agents_warned"] = len([agent for agent in to_warn if agent.user.email])
        return
    for agent in removable:
        if agent_remove_inactive(agent=agent, now=now):
            report.counts["agents_removed"] += 1
        else:
            report.counts["agents_kept"] += 1
    for agent in to_warn:
        if _warn_agent(agent, now=now, retention=retention):
            report.counts["agents_warned"] += 1


# --- 6. History -----------------------------------------------------------------------------------

def history_due(cutoff: datetime):
    personal = (
        (Q(actor_agent__isnull=True) & ~Q(actor_label__in=NEUTRAL_LABELS) & ~Q(actor_label__startswith="[Support]"))
        | Q(action="context")
        | Q(changes__warnings_accepted__0__isnull=False)
    )
    return AppointmentChange.objects.filter(at__lt=cutoff).exclude(changes__has_key=TRIMMED_KEY).filter(personal)


def neutral_label(label: str) -> str:
    if label.endswith("(prescripteur)"):
        return "Prescripteur"
    if label.endswith("(usager)") or label == "Usager":
        return "Usager"
    return MARKER


def _trim_history(ids: list[int]) -> int:
    rows = list(AppointmentChange.objects.filter(pk__in=ids).exclude(changes__has_key=TRIMMED_KEY))
    for row in rows:
        changes = dict(row.changes or {})
        if row.actor_agent_id is None and row.actor_label not in NEUTRAL_LABELS and not row.actor_label.startswith(
            "[Support]"
        ):
            row.actor_label = neutral_label(row.actor_label)
        if row.action == "context":
            changes.update({key: MARKER for key in ("from", "to") if changes.get(key)})
        if changes.get("warnings_accepted"):
            changes["warnings_accepted"] = [MARKER for _ in changes["warnings_accepted"]]
        changes[TRIMMED_KEY] = True
        row.changes = changes
    AppointmentChange.objects.bulk_update(rows, ["actor_label", "changes"])
    return len(rows)


# --- Everything, in order -------------------------------------------------------------------------

def retention_apply(*, dry_run: bool = False, now: datetime | None = None,
                    retention: Retention | None = None) -> Report:
    """Every rule for the current administration's schema (see the module's docstring). Messages come
    first, so that a dry run predicts the run exactly: the pending messages of the appointments deleted
    tonight end skipped, and are blanked and deleted on a later night."""
    if connection.schema_name == "public":
        raise RuntimeError("La conservation des données s'applique dans le schéma d'une administration.")
    now = now or timezone.now()
    retention = retention or Retention.from_settings()
    cutoffs = retention.cutoffs(now)
    size = retention.batch_size
    report = Report(dry_run=dry_run)
    counts = report.counts
    counts["message_contents"] = _in_batches(message_contents_due(cutoffs["message_contents"]), size,
                                             _anonymise_messages, dry_run=dry_run)
    counts["messages"] = _in_batches(messages_due(cutoffs["messages"]), size, _delete_messages, dry_run=dry_run)
    counts["appointments"] = _in_batches(appointments_due(cutoffs["appointments"]), size,
                                         lambda ids: _delete_appointments(ids, cutoffs["appointments"]),
                                         dry_run=dry_run)
    counts["citizens"] = _in_batches(citizens_due(cutoffs["citizens"]), size,
                                     lambda ids: _erase_citizens(ids, cutoffs["citizens"]), dry_run=dry_run)
    _agents(report, now=now, retention=retention, cutoffs=cutoffs)
    counts["history"] = _in_batches(history_due(cutoffs["history"]), size, _trim_history, dry_run=dry_run)
    logger.info("Retention %s in schema %s: %s", "dry run" if dry_run else "applied", connection.schema_name,
                ", ".join(f"{key}={value}" for key, value in counts.items()))
    return report


# --- Right to erasure -----------------------------------------------------------------------------

def citizen_erase(*, citizen: Citizen) -> None:
    """A usager asked an agent to erase his data (article 17): the account deletion of decision 0014, for him
    and the relatives he is responsible for (upcoming appointments cancelled as excused, records anonymised in
    place, online account deleted)."""
    from public_booking.self_service import citizen_account_delete

    citizen_account_delete(citizen=citizen)
