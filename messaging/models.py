"""The outbox: one ``Message`` row per notification to send, written in the transaction of the change
that caused it (see ``messaging.receivers``), sent after commit by ``messaging.tasks``.

Every row ends ``sent`` / ``delivered``, ``failed`` with a reason or ``skipped`` with a reason.
Per-administration settings (sender, SMS provider, reminder lead times) and webhook endpoints live
here too, in each administration's schema.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from .sms.base import validate_sender_name


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    WEBHOOK = "webhook", "Webhook"


class RecipientKind(models.TextChoices):
    CITIZEN = "citizen", "Usager"
    AGENT = "agent", "Agent"
    PRESCRIBER = "prescriber", "Prescripteur"
    WEBHOOK = "webhook", "Webhook"


class Kind(models.TextChoices):
    BOOKED = "booked", "RDV confirmé"
    MOVED = "moved", "RDV modifié"
    CANCELLED = "cancelled", "RDV annulé"
    REMINDER = "reminder", "Rappel"
    WAITING_LIST_SLOT = "waiting_list_slot", "Créneau libéré (liste d'attente)"
    PARTICIPANT_ADDED = "participant_added", "Inscription à un RDV collectif"
    PARTICIPANT_REMOVED = "participant_removed", "Désinscription d'un RDV collectif"
    WEBHOOK = "webhook", "Webhook"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    SENDING = "sending", "En cours d'envoi"
    SENT = "sent", "Envoyé"
    DELIVERED = "delivered", "Distribué"
    FAILED = "failed", "Échec"
    SKIPPED = "skipped", "Non envoyé"


FINAL_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.SKIPPED)


class Message(models.Model):
    """One message to one recipient on one channel. Content is rendered when the row is written
    (what the recipient gets is what the row shows); the calendar file and the webhook body are
    built at sending time from ``context``."""

    channel = models.CharField("canal", max_length=10, choices=Channel.choices)
    recipient = models.CharField("destinataire", max_length=500)
    recipient_kind = models.CharField("type de destinataire", max_length=12, choices=RecipientKind.choices)
    kind = models.CharField("notification", max_length=24, choices=Kind.choices)
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages",
        verbose_name="rendez-vous",
    )
    participation = models.ForeignKey(
        "scheduling.Participation", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    citizen = models.ForeignKey(
        "scheduling.Citizen", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    agent = models.ForeignKey("scheduling.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    webhook_endpoint = models.ForeignKey(
        "messaging.WebhookEndpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    subject = models.CharField("objet", max_length=300, blank=True)
    body = models.TextField("texte", blank=True)
    html = models.TextField("HTML", blank=True)
    context = models.JSONField("données d'envoi", default=dict, blank=True)

    status = models.CharField("statut", max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    reason = models.TextField("motif", blank=True)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    send_after = models.DateTimeField("à envoyer à partir de", null=True, blank=True)
    next_attempt_at = models.DateTimeField("prochaine tentative", default=now)
    queued_at = models.DateTimeField("confié au courtier le", null=True, blank=True)
    claimed_at = models.DateTimeField("pris en charge le", null=True, blank=True)
    provider = models.CharField("fournisseur", max_length=40, blank=True)
    provider_message_id = models.CharField("identifiant chez le fournisseur", max_length=200, blank=True)
    sms_segments = models.PositiveSmallIntegerField("segments SMS", null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField("créé le", default=now)
    updated_at = models.DateTimeField("modifié le", auto_now=True)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)

    class Meta:
        verbose_name = "notification"
        ordering = ["created_at", "id"]
        indexes = [
            # The sweeper: pending rows by due time, and rows claimed by a worker that may have died.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="message_pending_due"),
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="message_sending_claimed"),
            # Pending reminders of an appointment (replaced when it moves, skipped when it is cancelled).
            models.Index(fields=["appointment", "kind"], condition=Q(status="pending"),
                         name="message_pending_by_appointment"),
            models.Index(fields=["recipient"], name="message_recipient"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.get_channel_display()} — {self.recipient}"


class MessagingSettings(models.Model):
    """The administration's messaging settings: one row per schema (``MessagingSettings.load()``)."""

    sender_name = models.CharField("nom de l'expéditeur", max_length=100, blank=True)
    sender_email = models.EmailField("adresse de l'expéditeur", blank=True)
    reply_to = models.EmailField("adresse de réponse", blank=True)
    sms_provider = models.CharField(
        "fournisseur SMS", max_length=40, blank=True,
        help_text="Vide : le fournisseur par défaut de la plateforme.",
    )
    sms_credentials = models.TextField("identifiants du fournisseur SMS (chiffrés)", blank=True)
    sms_sender = models.CharField("expéditeur des SMS", max_length=11, blank=True, validators=[validate_sender_name])
    reminder_lead_hours = ArrayField(
        models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(24 * 30)]),
        verbose_name="rappels (heures avant le RDV)", default=list, blank=True,
        help_text="Par défaut : un rappel 48 h avant.",
    )

    class Meta:
        verbose_name = "paramètres des notifications"
        verbose_name_plural = "paramètres des notifications"

    def __str__(self):
        return "Paramètres des notifications"

    @classmethod
    def load(cls) -> MessagingSettings:
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings

    @property
    def lead_hours(self) -> list[int]:
        return sorted(set(self.reminder_lead_hours or [48]), reverse=True)

    def set_sms_credentials(self, credentials: dict) -> None:
        from .crypto import encrypt_json

        self.sms_credentials = encrypt_json(credentials) if credentials else ""

    def get_sms_credentials(self) -> dict:
        if not self.sms_credentials:
            return {}
        from .crypto import decrypt_json

        return decrypt_json(self.sms_credentials)


class WebhookEndpoint(models.Model):
    class Subscription(models.TextChoices):
        APPOINTMENT = "appointment", "Rendez-vous"
        PARTICIPATION = "participation", "Participation"
        ABSENCE = "absence", "Absence"
        AVAILABILITY = "availability", "Plage d'ouverture"
        CITIZEN = "citizen", "Usager"

    organisation = models.ForeignKey(
        "scheduling.Organisation", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    target_url = models.URLField("URL de destination", max_length=500)
    secret = models.CharField("secret", max_length=200)
    subscriptions = ArrayField(
        models.CharField(max_length=30, choices=Subscription.choices),
        verbose_name="abonnements", default=list, blank=True,
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = "webhook"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "target_url"], name="webhook_unique_target",
                                    violation_error_message="Ce webhook existe déjà pour cette organisation."),
        ]

    def __str__(self):
        return self.target_url
