"""Platform data, in the public schema only: administrations (tenants), their domains, and the
console's audit trail."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django_tenants.models import DomainMixin, TenantMixin

from .validators import validate_brand_colour, validate_slug, validate_timezone


class Administration(TenantMixin):
    class Kind(models.TextChoices):
        DEPARTEMENT = "departement", "Département"
        COMMUNE = "commune", "Commune"
        ETAT = "etat", "Service de l'État"
        OPERATEUR = "operateur", "Opérateur public"

    class Status(models.TextChoices):
        PENDING = "pending", "En cours de création"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspendue"
        FAILED = "failed", "Échec de la création"

    class Theme(models.TextChoices):
        DSFR = "dsfr", "Système de design de l'État (DSFR)"
        NEUTRAL = "neutral", "Thème neutre (collectivités)"

    name = models.CharField("nom", max_length=200)
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    slug = models.CharField(
        "identifiant", max_length=63, unique=True, validators=[validate_slug],
        error_messages={"unique": "Cet identifiant est déjà utilisé par une autre administration."},
        help_text="Sous-domaine de l'administration : lettres minuscules, chiffres et tirets.",
    )
    timezone = models.CharField(
        "fuseau horaire", max_length=64, default="Europe/Paris", validators=[validate_timezone]
    )
    brand_colour = models.CharField(
        "couleur principale", max_length=7, default="#1d4ed8", validators=[validate_brand_colour],
        help_text="Utilisée par le thème neutre. Contraste minimal 4,5:1 avec le blanc.",
    )
    logo = models.FileField("logo", upload_to="branding/", blank=True)
    status = models.CharField("statut", max_length=20, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField("motif du statut", blank=True)
    first_admin_email = models.EmailField("e-mail du premier administrateur")
    created_at = models.DateTimeField("créée le", default=now)
    activated_at = models.DateTimeField("activée le", null=True, blank=True)
    # DO_NOTHING on purpose (also for ImpersonationLog.support_user): accounts exist in every schema,
    # and deleting an agent in an administration must never make Django's collector touch these
    # public rows, which point at a *console* account that merely shares the id. Console accounts
    # are deactivated, never deleted (the database refuses it while they are referenced).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="créée par", null=True, blank=True,
        on_delete=models.DO_NOTHING, related_name="+",
    )

    # The schema is created by the onboarding task, never inside a web request.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = "administration"
        verbose_name_plural = "administrations"
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def theme(self) -> str:
        """State services wear the State's design system; others may not use its brand marks."""
        return self.Theme.DSFR if self.kind == self.Kind.ETAT else self.Theme.NEUTRAL

    @property
    def is_usable(self) -> bool:
        return self.status in (self.Status.ACTIVE, self.Status.SUSPENDED)

    @property
    def primary_domain(self) -> str:
        return f"{self.slug}.{settings.BASE_DOMAIN}"

    def url(self, path: str = "/") -> str:
        from .urls_helpers import absolute_url

        return absolute_url(self.primary_domain, path)


class Domain(DomainMixin):
    class Meta:
        verbose_name = "domaine"
        verbose_name_plural = "domaines"

    def __str__(self):
        return self.domain


class ImpersonationLog(models.Model):
    """One "se connecter en tant que" session of a support staff member: start, end and why."""

    support_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="membre du support", on_delete=models.DO_NOTHING,
        related_name="+",
    )
    administration = models.ForeignKey(
        Administration, verbose_name="administration", on_delete=models.CASCADE,
        related_name="impersonations",
    )
    agent_id = models.BigIntegerField("identifiant de l'agent")
    agent_email = models.EmailField("e-mail de l'agent")
    reason = models.TextField("motif")
    started_at = models.DateTimeField("début", default=now)
    expires_at = models.DateTimeField("expiration")
    consumed_at = models.DateTimeField("ouverture de la session", null=True, blank=True)
    ended_at = models.DateTimeField("fin", null=True, blank=True)
    end_reason = models.CharField("fin par", max_length=40, blank=True)

    class Meta:
        verbose_name = "connexion en tant qu'agent"
        verbose_name_plural = "connexions en tant qu'agent"
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.support_user} → {self.agent_email} ({self.administration})"

    def is_live(self, at=None) -> bool:
        return self.ended_at is None and (at or now()) < self.expires_at


class DevelopmentEmail(models.Model):
    """An e-mail "sent" in development: kept so that support staff can read it in the console."""

    schema_name = models.CharField("schéma", max_length=63)
    sent_at = models.DateTimeField("envoyé le", default=now)
    from_email = models.CharField("expéditeur", max_length=254)
    to = models.TextField("destinataires")
    subject = models.CharField("objet", max_length=998)
    body = models.TextField("texte")
    html = models.TextField("HTML", blank=True)

    class Meta:
        verbose_name = "e-mail (développement)"
        verbose_name_plural = "e-mails (développement)"
        ordering = ["-sent_at"]

    def __str__(self):
        return self.subject


class NationalFigure(models.Model):
    """Anonymous monthly aggregates of one kind of administration, for the public national statistics.

    Written by a nightly job that visits every administration's schema; the public page only ever reads
    this table (no request reads tenant schemas). No personal data: counts only.
    """

    month = models.DateField("mois")  # first day of the month
    administration_kind = models.CharField("type d'administration", max_length=20, choices=Administration.Kind.choices)
    administrations = models.PositiveIntegerField("administrations actives", default=0)
    appointments = models.PositiveIntegerField("rendez-vous", default=0)
    honoured = models.PositiveIntegerField("honorés", default=0)
    no_show = models.PositiveIntegerField("absences non excusées", default=0)
    excused = models.PositiveIntegerField("annulés par l'usager", default=0)
    revoked = models.PositiveIntegerField("annulés par le service", default=0)
    unknown = models.PositiveIntegerField("à renseigner", default=0)
    booked_online = models.PositiveIntegerField("pris en ligne par les usagers", default=0)
    emails_sent = models.PositiveIntegerField("e-mails envoyés", default=0)
    sms_sent = models.PositiveIntegerField("SMS envoyés", default=0)
    sms_segments = models.PositiveIntegerField("segments SMS", default=0)
    computed_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "administration_kind"], name="national_figure_month_kind"),
        ]
        ordering = ["month", "administration_kind"]

    def __str__(self):
        return f"{self.month:%m/%Y} {self.get_administration_kind_display()}"
