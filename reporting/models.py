"""Reporting data of an administration (its schema): export jobs and their files.

Statistics themselves are never stored here: they are SQL aggregations over the scheduling and messaging
tables, computed on request (reporting.selectors). The national figures live in the public schema
(tenants.NationalFigure), written by a nightly job.
"""

import uuid

from django.db import models
from django.utils.timezone import now


class Export(models.Model):
    """One export of appointments or participations requested by an agent, with the list's filters.

    Small exports stream at once and leave no row; large ones run as a background job that writes the file
    under EXPORTS_ROOT/<schema>/ and keeps it until `expires_at`.
    """

    class Kind(models.TextChoices):
        APPOINTMENTS = "appointments", "Rendez-vous"
        PARTICIPATIONS = "participations", "Participations"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    class State(models.TextChoices):
        PENDING = "pending", "En attente"
        RUNNING = "running", "En cours"
        DONE = "done", "Prêt"
        FAILED = "failed", "Échec"
        EXPIRED = "expired", "Expiré"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agent = models.ForeignKey("scheduling.Agent", on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    format = models.CharField(max_length=4, choices=Format.choices)
    # The list's filters as the query string carried them, validated again when the job runs.
    filters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    written_rows = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agent", "-created_at"]), models.Index(fields=["expires_at"])]
        verbose_name = "export"

    def __str__(self):
        return f"{self.get_kind_display()} ({self.get_format_display()}) du {self.created_at:%d/%m/%Y %H:%M}"

    @property
    def is_expired(self) -> bool:
        """Marked expired by the purge, or finished and past its expiry (the purge runs hourly)."""
        return self.state == self.State.EXPIRED or (
            self.state == self.State.DONE and self.expires_at is not None and self.expires_at <= now()
        )
