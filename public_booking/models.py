"""The usager's side: one-time codes (booking without an account) and the waiting list."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.timezone import now


class OneTimeCode(models.Model):
    """A short code sent by e-mail or SMS to prove that a person holds an address or a mobile number.

    Only a keyed hash of the code is stored; a code expires, is used once, and locks after a few wrong
    tries (``attempts``)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"

    channel = models.CharField(max_length=10, choices=Channel.choices)
    destination = models.CharField("destinataire", max_length=254)
    code_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=40, default="booking")
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "code à usage unique"
        indexes = [models.Index(fields=["destination", "created_at"])]

    def __str__(self):
        return f"{self.get_channel_display()} {self.destination}"


class WaitingListEntry(models.Model):
    """An usager with an appointment more than 7 days away who asked to be told of an earlier slot."""

    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.CASCADE, related_name="waiting_list_entry"
    )
    created_at = models.DateTimeField(default=now)
    notifications_sent = models.PositiveSmallIntegerField(default=0)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "inscription sur liste d'attente"
        verbose_name_plural = "liste d'attente"
        constraints = [
            models.CheckConstraint(condition=Q(notifications_sent__lte=3), name="waiting_list_at_most_three",
                                   violation_error_message="Trois messages au plus par inscription."),
        ]

    def __str__(self):
        return f"Liste d'attente — {self.appointment}"
