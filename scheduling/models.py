"""The scheduling domain: organisations, services, agents, places, appointment types, availability,
absences, citizens and appointments. Every table lives in each administration's schema.

Invariants that must hold whatever the code path are database constraints here (above all: two
active appointments of the same agent never overlap, see ``AppointmentAgent``). Writes go through
``scheduling.services``; reads through ``scheduling.selectors``.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeBoundary, RangeOperators
from django.contrib.postgres.indexes import GistIndex
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q
from django.utils.timezone import now

from tenants.validators import validate_timezone

colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "La couleur doit être au format #RRVVBB.")


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


# --- Structure -----------------------------------------------------------------------------------

class Organisation(models.Model):
    name = models.CharField("nom", max_length=200)
    address = models.CharField("adresse", max_length=300, blank=True)
    phone = models.CharField("téléphone", max_length=20, blank=True)
    email = models.EmailField("e-mail", blank=True)
    website = models.URLField("site internet", blank=True)
    opening_hours = models.TextField("horaires d'ouverture", blank=True)
    timezone = models.CharField("fuseau horaire", max_length=64, validators=[validate_timezone])
    holiday_region = models.CharField("jours fériés", max_length=40, default="metropole")
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = "organisation"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="organisation_unique_name")]

    def __str__(self):
        return self.name


class Service(models.Model):
    """A profession (PMI, service social, état civil...). The secretariat sees the whole organisation."""

    name = models.CharField("nom", max_length=120)
    short_name = models.CharField("nom court", max_length=30)
    is_secretariat = models.BooleanField("secrétariat", default=False)

    class Meta:
        verbose_name = "service"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(models.functions.Lower("name"), name="service_unique_name"),
            models.UniqueConstraint(models.functions.Lower("short_name"), name="service_unique_short_name"),
        ]

    def __str__(self):
        return self.name


class Location(models.Model):
    class Availability(models.TextChoices):
        ENABLED = "enabled", "Actif"
        DISABLED = "disabled", "Désactivé"
        SINGLE_USE = "single_use", "Ponctuel"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="locations")
    name = models.CharField("nom", max_length=200)
    address = models.CharField("adresse", max_length=300)
    latitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    phone = models.CharField("téléphone", max_length=20, blank=True)
    availability = models.CharField(max_length=20, choices=Availability.choices, default=Availability.ENABLED)

    class Meta:
        verbose_name = "lieu"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Agent(models.Model):
    """A member of staff. An intervenant ("Guichet 1") is an agent without a user account."""

    class NotificationLevel(models.TextChoices):
        ALL = "all", "Toutes, même mes propres modifications"
        OTHERS = "others", "Les modifications faites par d'autres"
        SOON = "soon", "Seulement pour aujourd'hui et demain"
        NONE = "none", "Aucune"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="agent"
    )
    first_name = models.CharField("prénom", max_length=150, blank=True)
    last_name = models.CharField("nom", max_length=150)
    services = models.ManyToManyField(Service, related_name="agents", verbose_name="services")
    notification_level = models.CharField(
        max_length=10, choices=NotificationLevel.choices, default=NotificationLevel.OTHERS
    )
    calendar_token = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "agent"
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_intervenant(self) -> bool:
        return self.user_id is None


class AgentRole(models.Model):
    class Level(models.TextChoices):
        BASIC = "basic", "Agent"
        ADMIN = "admin", "Administrateur"
        INTERVENANT = "intervenant", "Intervenant"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="roles")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="agent_roles")
    level = models.CharField("rôle", max_length=20, choices=Level.choices, default=Level.BASIC)

    class Meta:
        verbose_name = "rôle d'agent"
        constraints = [models.UniqueConstraint(fields=["agent", "organisation"], name="agent_role_unique")]

    def __str__(self):
        return f"{self.agent} — {self.get_level_display()} ({self.organisation})"


class Team(models.Model):
    """A group of agents of one organisation ("équipe"), to search slots or filter the agenda by team."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField("nom", max_length=120)
    agents = models.ManyToManyField(Agent, blank=True, related_name="teams", verbose_name="agents")

    class Meta:
        verbose_name = "équipe"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("organisation", models.functions.Lower("name"), name="team_unique_name",
                                    violation_error_message="Une équipe de ce nom existe déjà dans l'organisation."),
        ]

    def __str__(self):
        return self.name


# --- Sectorisation -------------------------------------------------------------------------------

class Sector(models.Model):
    """A geographic sector of the administration: zones (communes or streets) that it attributes to
    organisations or to agents. The type's ``sectorisation_level`` decides what an usager sees."""

    name = models.CharField("nom", max_length=150)
    code = models.SlugField("identifiant", max_length=60, unique=True,
                            error_messages={"unique": "Un secteur avec cet identifiant existe déjà."})

    class Meta:
        verbose_name = "secteur"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Zone(models.Model):
    class Level(models.TextChoices):
        CITY = "city", "Commune entière"
        STREET = "street", "Rue"

    sector = models.ForeignKey(Sector, on_delete=models.CASCADE, related_name="zones")
    level = models.CharField("niveau", max_length=10, choices=Level.choices, default=Level.CITY)
    city_code = models.CharField("code INSEE", max_length=5, validators=[
        RegexValidator(r"^(\d[0-9AB]\d{3})$", "Le code INSEE compte 5 caractères (ex. 75056, 2A004).")])
    city_name = models.CharField("commune", max_length=150)
    street_ban_id = models.CharField("identifiant BAN de la rue", max_length=40, blank=True)
    street_name = models.CharField("rue", max_length=200, blank=True)

    class Meta:
        verbose_name = "zone"
        ordering = ["city_name", "street_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="city", street_ban_id="") | (Q(level="street") & ~Q(street_ban_id="")),
                name="zone_street_needs_ban_id",
                violation_error_message=(
                    "Une zone « rue » a un identifiant BAN de rue ; une commune entière n'en a pas."
                ),
            ),
            models.UniqueConstraint(fields=["sector", "city_code", "street_ban_id"], name="zone_unique_in_sector",
                                    violation_error_message="Cette zone existe déjà dans ce secteur."),
        ]
        indexes = [models.Index(fields=["city_code", "street_ban_id"])]

    def __str__(self):
        return f"{self.city_name} — {self.street_name}" if self.street_name else self.city_name


class SectorAttribution(models.Model):
    """A sector attributed to an organisation as a whole (agent empty) or to one of its agents."""

    sector = models.ForeignKey(Sector, on_delete=models.CASCADE, related_name="attributions")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="sector_attributions")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="sector_attributions")

    class Meta:
        verbose_name = "attribution de secteur"
        constraints = [
            models.UniqueConstraint(fields=["sector", "organisation"], condition=Q(agent__isnull=True),
                                    name="sector_attribution_unique_organisation",
                                    violation_error_message="Ce secteur est déjà attribué à cette organisation."),
            models.UniqueConstraint(fields=["sector", "organisation", "agent"], condition=Q(agent__isnull=False),
                                    name="sector_attribution_unique_agent",
                                    violation_error_message="Ce secteur est déjà attribué à cet agent."),
        ]

    def __str__(self):
        return f"{self.sector} → {self.agent or self.organisation}"


# --- Appointment types ---------------------------------------------------------------------------

class AppointmentType(models.Model):
    """A motif: what an appointment is for, and every rule about booking it."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "Sur place"
        PHONE = "phone", "Par téléphone"
        VIDEO = "video", "En visio"
        HOME = "home", "À domicile"

    class BookableBy(models.TextChoices):
        AGENTS = "agents", "Agents uniquement"
        AGENTS_AND_PRESCRIBERS = "agents_and_prescribers", "Agents et prescripteurs"
        AGENTS_PRESCRIBERS_AND_INVITED = "agents_prescribers_and_invited", "Agents, prescripteurs et usagers invités"
        EVERYONE = "everyone", "Tout le monde"

    class Visibility(models.TextChoices):
        VISIBLE_NOTIFIED = "visible_notified", "Visible et notifié"
        VISIBLE_NOT_NOTIFIED = "visible_not_notified", "Visible et non notifié"
        INVISIBLE = "invisible", "Invisible"

    class SectorisationLevel(models.TextChoices):
        ADMINISTRATION = "administration", "Toute l'administration"
        ORGANISATION = "organisation", "Organisations du secteur"
        AGENT = "agent", "Agents du secteur"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="appointment_types")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointment_types")
    name = models.CharField("nom", max_length=200)
    colour = models.CharField("couleur", max_length=7, default="#3b82f6", validators=[colour_validator])
    duration_minutes = models.PositiveIntegerField(
        "durée (minutes)", default=30, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    mode = models.CharField("modalité", max_length=20, choices=Mode.choices, default=Mode.IN_PERSON)
    collective = models.BooleanField("RDV collectif", default=False)
    default_capacity = models.PositiveIntegerField("places par défaut", null=True, blank=True)
    bookable_by = models.CharField(max_length=40, choices=BookableBy.choices, default=BookableBy.AGENTS)
    min_booking_delay = models.DurationField("délai minimum", default=timedelta(minutes=30))
    max_booking_delay = models.DurationField("délai maximum", default=timedelta(days=91))
    visibility = models.CharField(max_length=30, choices=Visibility.choices, default=Visibility.VISIBLE_NOTIFIED)
    sectorisation_level = models.CharField(
        max_length=20, choices=SectorisationLevel.choices, default=SectorisationLevel.ADMINISTRATION
    )
    follow_up = models.BooleanField("RDV de suivi", default=False)
    for_secretariat = models.BooleanField("autorisé au secrétariat", default=False)
    text_to_accept = models.TextField("texte à accepter avant la prise de RDV", blank=True)
    instructions = models.TextField("instructions après la prise de RDV", blank=True)
    cancellation_warning = models.TextField("avertissement à l'annulation", blank=True)
    citizen_can_cancel = models.BooleanField("l'usager peut annuler", default=True)
    citizen_can_move = models.BooleanField("l'usager peut déplacer", default=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "motif"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_booking_delay__gt=F("min_booking_delay")), name="type_max_delay_after_min",
                violation_error_message="Le délai maximum de réservation doit être supérieur au délai minimum."
            ),
            models.CheckConstraint(
                condition=Q(collective=False) | Q(mode="in_person"), name="type_collective_in_person",
                violation_error_message="Un motif collectif se déroule sur place."
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    FROZEN_ONCE_BOOKED = (("mode", "La modalité"), ("collective", "Le caractère collectif"))

    def clean(self):
        """Mode and collective are frozen once appointments exist (their slots, messages and statistics
        depend on them), whatever the path of the change: API, back office or admin."""
        from django.core.exceptions import ValidationError

        super().clean()
        if self.pk is None:
            return
        stored = AppointmentType.objects.filter(pk=self.pk).values(*(name for name, _ in self.FROZEN_ONCE_BOOKED))
        stored = stored.first()
        if stored is None:
            return
        changed = {name: label for name, label in self.FROZEN_ONCE_BOOKED if stored[name] != getattr(self, name)}
        if changed and self.appointments.exists():
            raise ValidationError({
                name: [f"{label} d'un motif ne change plus une fois des rendez-vous pris."]
                for name, label in changed.items()
            })


# --- Time ----------------------------------------------------------------------------------------

class Recurrence(models.TextChoices):
    NONE = "none", "Aucune"
    WEEKLY = "weekly", "Hebdomadaire"
    MONTHLY = "monthly", "Mensuelle"


class RecurringWindow(models.Model):
    """Wall-clock window in the organisation's timezone, once or repeating."""

    first_day = models.DateField("premier jour")
    start_time = models.TimeField("heure de début")
    end_time = models.TimeField("heure de fin")
    recurrence = models.CharField(max_length=10, choices=Recurrence.choices, default=Recurrence.NONE)
    interval = models.PositiveSmallIntegerField(
        "toutes les n semaines", default=1, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)]), default=list, blank=True,
        help_text="0 = lundi … 6 = dimanche",
    )
    until = models.DateField("jusqu'au", null=True, blank=True)
    excluded_dates = ArrayField(models.DateField(), default=list, blank=True)

    class Meta:
        abstract = True

    def clean(self):
        """The rule must make sense to the slot engine (weekly needs its days, 1 to 5 weeks...)."""
        from django.core.exceptions import ValidationError

        from .recurrence import Recurrence as Rule

        super().clean()
        if self.recurrence == Recurrence.WEEKLY and not self.weekdays:
            raise ValidationError({"weekdays": ["Choisissez au moins un jour de la semaine."]})
        try:
            Rule(kind=self.recurrence, interval=self.interval or 1,
                 weekdays=tuple(self.weekdays or ()) if self.recurrence == Recurrence.WEEKLY else (),
                 until=self.until, excluded_dates=frozenset(self.excluded_dates or ()))
        except ValueError:
            raise ValidationError("Cette récurrence n'est pas valide (jours de 0 = lundi à 6 = dimanche, "
                                  "toutes les 1 à 5 semaines).") from None


class Availability(RecurringWindow):
    """A plage d'ouverture: an agent receives these types, at this place, during this window."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="availabilities")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="availabilities")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="availabilities"
    )
    appointment_types = models.ManyToManyField(AppointmentType, related_name="availabilities")
    title = models.CharField("titre", max_length=200, blank=True)

    class Meta:
        verbose_name = "plage d'ouverture"
        verbose_name_plural = "plages d'ouverture"
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="availability_end_after_start",
                violation_error_message="L'heure de fin doit être après l'heure de début."),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=F("first_day")), name="availability_until_after_first",
                violation_error_message="La date de fin de récurrence doit être après le premier jour."
            ),
        ]
        indexes = [models.Index(fields=["agent", "first_day"]), models.Index(fields=["until"])]

    def __str__(self):
        return self.title or f"Plage du {self.first_day:%d/%m/%Y} ({self.start_time:%H:%M}–{self.end_time:%H:%M})"


class Absence(RecurringWindow):
    """Agent-wide unavailability (every organisation). One-off absences may span several days."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="absences")
    title = models.CharField("motif", max_length=200, blank=True)
    end_day = models.DateField("dernier jour")

    class Meta:
        verbose_name = "absence"
        constraints = [
            models.CheckConstraint(condition=Q(end_day__gte=F("first_day")), name="absence_end_after_start",
                violation_error_message="Le dernier jour doit être après le premier jour."),
            models.CheckConstraint(
                condition=Q(recurrence="none") | Q(end_day=F("first_day")), name="absence_recurring_within_a_day",
                violation_error_message=(
                    "Une absence récurrente dure moins d'une journée : premier et dernier jour identiques."
                )
            ),
        ]
        indexes = [models.Index(fields=["agent", "first_day"])]

    def __str__(self):
        return self.title or f"Absence du {self.first_day:%d/%m/%Y}"


# --- People --------------------------------------------------------------------------------------

class Citizen(models.Model):
    first_name = models.CharField("prénom", max_length=150)
    last_name = models.CharField("nom", max_length=150)
    birth_name = models.CharField("nom de naissance", max_length=150, blank=True)
    birth_date = models.DateField("date de naissance", null=True, blank=True)
    email = models.EmailField("e-mail", blank=True)
    phone = models.CharField("téléphone (E.164)", max_length=20, blank=True)
    address = models.CharField("adresse", max_length=300, blank=True)
    city_code = models.CharField("code INSEE", max_length=5, blank=True)
    notify_by_email = models.BooleanField("notifications par e-mail", default=True)
    notify_by_sms = models.BooleanField("notifications par SMS", default=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="citizen"
    )
    responsible = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="relatives", verbose_name="responsable"
    )
    referents = models.ManyToManyField(Agent, blank=True, related_name="followed_citizens")
    organisations = models.ManyToManyField(Organisation, blank=True, related_name="citizens")
    created_at = models.DateTimeField(default=now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "usager"
        ordering = ["last_name", "first_name"]
        constraints = [
            models.CheckConstraint(condition=~Q(responsible=F("id")), name="citizen_not_own_responsible",
                violation_error_message="Un usager ne peut pas être son propre responsable."),
        ]
        indexes = [models.Index(fields=["last_name", "first_name", "birth_date"]), models.Index(fields=["email"])]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"

    def clean(self):
        """A responsible cannot be one of the citizen's own relatives (no cycles, however long)."""
        from django.core.exceptions import ValidationError

        super().clean()
        cursor, seen = self.responsible, set()
        while cursor is not None and cursor.pk not in seen:
            if self.pk is not None and cursor.pk == self.pk:
                raise ValidationError({"responsible": ["Ce responsable est lui-même un proche de cet usager."]})
            seen.add(cursor.pk)
            cursor = cursor.responsible


class Prescriber(models.Model):
    first_name = models.CharField("prénom", max_length=150)
    last_name = models.CharField("nom", max_length=150)
    email = models.EmailField("e-mail")
    phone = models.CharField("téléphone", max_length=20, blank=True)

    class Meta:
        verbose_name = "prescripteur"

    def __str__(self):
        return f"{self.first_name} {self.last_name}"


# --- Appointments --------------------------------------------------------------------------------

class Status(models.TextChoices):
    UNKNOWN = "unknown", "À venir / à renseigner"
    SEEN = "seen", "Honoré"
    NOSHOW = "noshow", "Absence non excusée"
    EXCUSED = "excused", "Annulé (excusé)"
    REVOKED = "revoked", "Annulé (par le service)"


ACTIVE_STATUSES = (Status.UNKNOWN, Status.SEEN, Status.NOSHOW)
CANCELLED_STATUSES = (Status.EXCUSED, Status.REVOKED)


class Appointment(models.Model):
    class CreatedBy(models.TextChoices):
        AGENT = "agent", "Agent"
        CITIZEN = "citizen", "Usager"
        PRESCRIBER = "prescriber", "Prescripteur"
        API = "api", "API"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="appointments")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField("début")
    ends_at = models.DateTimeField("fin")
    agents = models.ManyToManyField(Agent, through="AppointmentAgent", related_name="appointments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    title = models.CharField("intitulé (RDV collectif)", max_length=200, blank=True)
    capacity = models.PositiveIntegerField("places (RDV collectif)", null=True, blank=True)
    context = models.TextField("contexte (visible des agents uniquement)", blank=True)
    video_url = models.URLField(blank=True)
    created_by = models.CharField(max_length=12, choices=CreatedBy.choices, default=CreatedBy.AGENT)
    created_by_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="created_appointments"
    )
    created_by_prescriber = models.ForeignKey(Prescriber, null=True, blank=True, on_delete=models.SET_NULL)
    accepted_overlap = models.BooleanField("chevauchement accepté", default=False)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "rendez-vous"
        verbose_name_plural = "rendez-vous"
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_ends_after_start",
                violation_error_message="La fin du rendez-vous doit être après son début."),
            models.CheckConstraint(condition=Q(capacity__isnull=True) | Q(capacity__gt=0), name="capacity_positive",
                violation_error_message="Le nombre de places doit être positif."),
        ]
        indexes = [models.Index(fields=["organisation", "starts_at"]), models.Index(fields=["starts_at"])]

    def __str__(self):
        return f"{self.appointment_type} — {self.starts_at:%d/%m/%Y %H:%M}"

    @property
    def is_cancelled(self) -> bool:
        return self.status in CANCELLED_STATUSES


class AppointmentAgent(models.Model):
    """One agent in one appointment, with the appointment's time copied so that PostgreSQL itself
    forbids two blocking rows of the same agent from overlapping (btree_gist exclusion constraint).
    ``blocks`` is false for cancelled appointments and for overlaps an agent knowingly accepted."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="agent_links")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="appointment_links")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    blocks = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appointment", "agent"], name="appointment_agent_unique"),
            ExclusionConstraint(
                name="no_double_booking",
                expressions=[
                    ("agent", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=Q(blocks=True),
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "starts_at"]),
            # Busy time of agents over a range (selectors.slot_inputs: ``span && range``), blocking or not;
            # its statistics also give the planner the right row estimate for that condition.
            GistIndex(F("agent"), TsTzRange("starts_at", "ends_at", RangeBoundary()), name="appointment_agent_span"),
        ]

    def __str__(self):
        return f"{self.agent} @ {self.starts_at:%Y-%m-%d %H:%M}"


class Participation(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="participations")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="participations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    send_lifecycle_notifications = models.BooleanField(default=True)
    send_reminder_notification = models.BooleanField(default=True)
    created_by = models.CharField(max_length=12, choices=Appointment.CreatedBy.choices, default="agent")
    created_by_prescriber = models.ForeignKey(Prescriber, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = "participation"
        constraints = [
            models.UniqueConstraint(fields=["appointment", "citizen"], name="participation_unique"),
        ]

    def __str__(self):
        return f"{self.citizen} — {self.appointment}"


class AppointmentChange(models.Model):
    """Audit trail: who changed what on an appointment, its participants and statuses, and when."""

    # Kept when an admin deletes the appointment: the trail then says who deleted it and what it was.
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    appointment_uuid = models.UUIDField(null=True, db_index=True)
    organisation = models.ForeignKey(Organisation, null=True, on_delete=models.SET_NULL, related_name="+")
    participation = models.ForeignKey(Participation, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(default=now)
    actor_label = models.CharField(max_length=300)
    actor_agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["appointment", "at"])]

    ACTION_LABELS = {
        "created": "Création", "status": "Changement de statut", "participation_status": "Statut d'un usager",
        "participant_added": "Usager inscrit", "participant_removed": "Usager désinscrit", "moved": "Déplacement",
        "deleted": "Suppression",
        # Back office: appointment page
        "context": "Modification du contexte", "reminder_sent": "Rappel envoyé",
        # Back office: usager records
        "citizen_merged": "Fusion de fiches usager",
    }

    def __str__(self):
        return f"{self.action_label} par {self.actor_label}"

    @property
    def action_label(self) -> str:
        return self.ACTION_LABELS.get(self.action, self.action)
