"""Serializers of API v1. Thin: related ids are resolved through the policy's visible querysets (an
invisible id reads as unknown), configuration objects are validated by the model (``full_clean``, which
also checks the database constraints), and bookings and statuses go through ``scheduling.services``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from scheduling import policy
from scheduling.models import (
    Absence,
    Agent,
    AgentRole,
    Appointment,
    AppointmentType,
    Availability,
    Citizen,
    Location,
    Organisation,
    Participation,
    Service,
    Status,
)
from scheduling.phones import to_e164
from scheduling.selectors import citizen_likely_duplicates
from scheduling.services import (
    AvailabilityWarnings,
    absence_create,
    absence_update,
    agent_role_set,
    availability_create,
    availability_update,
)

from .errors import drf_error

MAX_RANGE = timedelta(days=31)
BAD_MOMENT = "Date invalide : utilisez le format ISO 8601 (AAAA-MM-JJ ou AAAA-MM-JJTHH:MM:SS+01:00)."


VISIBLE_MODELS = {
    policy.organisations: Organisation, policy.services: Service, policy.locations: Location,
    policy.appointment_types: AppointmentType, policy.agents: Agent, policy.citizens: Citizen,
}


def scope_of(serializer) -> policy.Scope:
    return serializer.context["scope"]


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key resolved through one of the policy's visible querysets: an invisible id gets the
    same French error as a missing one."""

    default_error_messages = {
        "does_not_exist": "« {pk_value} » est introuvable.",
        "incorrect_type": "Identifiant invalide : un nombre entier est attendu.",
    }

    def __init__(self, visible, **kwargs):
        self.visible = visible
        # DRF (and the schema generator) want a queryset at declaration; the real one depends on the request.
        super().__init__(queryset=VISIBLE_MODELS[visible].objects.none(), **kwargs)

    def get_queryset(self):
        return self.visible(self.root.context["scope"])


class LocalDateTimesMixin:
    """Datetimes rendered with the offset of the object's organisation (``organisation_tz``)."""

    def organisation_tz(self, instance) -> ZoneInfo:
        return ZoneInfo(instance.organisation.timezone)

    def to_representation(self, instance):
        with timezone.override(self.organisation_tz(instance)):
            return super().to_representation(instance)


class ModelCleanMixin:
    """Create and update through ``full_clean`` so that model validation and database constraints
    answer as 400s; many-to-many fields are set after saving."""

    def _save(self, instance, validated_data):
        many = {name: validated_data.pop(name) for name in list(validated_data) if self._is_many(name)}
        for name, value in validated_data.items():
            setattr(instance, name, value)
        try:
            instance.full_clean()
        except DjangoValidationError as error:
            raise drf_error(error) from None
        with transaction.atomic():
            instance.save()
            for name, value in many.items():
                getattr(instance, name).set(value)
        return instance

    def _is_many(self, name) -> bool:
        field = self.fields.get(name)
        return isinstance(field, serializers.ManyRelatedField) or name in getattr(self.Meta, "many_fields", ())

    def create(self, validated_data):
        return self._save(self.Meta.model(), validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)


def organisation_admin_required(serializer, organisation_id) -> None:
    if not policy.can_manage_organisation(scope_of(serializer), organisation_id):
        raise PermissionDenied("Seuls les administrateurs de cette organisation peuvent faire cette modification.")


# --- Structure -----------------------------------------------------------------------------------

class OrganisationSerializer(ModelCleanMixin, serializers.ModelSerializer):
    def validate(self, attrs):
        organisation_admin_required(self, self.instance.pk)
        return attrs

    class Meta:
        model = Organisation
        fields = ["id", "name", "address", "phone", "email", "website", "opening_hours", "timezone",
                  "holiday_region"]
        read_only_fields = ["timezone", "holiday_region"]


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "name", "short_name", "is_secretariat"]
        read_only_fields = fields


class LocationSerializer(ModelCleanMixin, serializers.ModelSerializer):
    organisation = VisibleRelatedField(policy.organisations)

    class Meta:
        model = Location
        fields = ["id", "organisation", "name", "address", "latitude", "longitude", "phone", "availability"]

    def validate(self, attrs):
        instance = self.instance
        if instance is not None and "organisation" in attrs and attrs["organisation"] != instance.organisation:
            raise serializers.ValidationError({"organisation": ["Un lieu ne change pas d'organisation."]})
        organisation = attrs.get("organisation") or self.instance.organisation
        organisation_admin_required(self, organisation.pk)
        return attrs


class AppointmentTypeSerializer(ModelCleanMixin, serializers.ModelSerializer):
    organisation = VisibleRelatedField(policy.organisations)
    service = VisibleRelatedField(policy.services)

    class Meta:
        model = AppointmentType
        fields = [
            "id", "organisation", "service", "name", "colour", "duration_minutes", "mode", "collective",
            "default_capacity", "bookable_by", "min_booking_delay", "max_booking_delay", "visibility",
            "sectorisation_level", "follow_up", "for_secretariat", "text_to_accept", "instructions",
            "cancellation_warning", "citizen_can_cancel", "citizen_can_move", "archived_at",
        ]
        read_only_fields = ["archived_at"]

    def validate(self, attrs):
        instance = self.instance
        if instance is not None and "organisation" in attrs and attrs["organisation"] != instance.organisation:
            raise serializers.ValidationError({"organisation": ["Un motif ne change pas d'organisation."]})
        organisation = attrs.get("organisation") or instance.organisation
        organisation_admin_required(self, organisation.pk)
        return attrs


class AgentRoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentRole
        fields = ["organisation", "level"]


class AgentSerializer(ModelCleanMixin, serializers.ModelSerializer):
    """Agents of the organisations one sees. Created here: intervenants only (no login; accounts are
    invited from the agents' pages)."""

    email = serializers.SerializerMethodField()
    is_intervenant = serializers.BooleanField(read_only=True)
    services = VisibleRelatedField(policy.services, many=True)
    roles = serializers.SerializerMethodField()
    organisation = VisibleRelatedField(
        policy.organisations, write_only=True, required=False,
        help_text="À la création : l'organisation où l'intervenant reçoit (rôle « intervenant »).",
    )

    class Meta:
        model = Agent
        fields = ["id", "first_name", "last_name", "email", "is_intervenant", "services", "roles", "organisation"]

    def get_email(self, agent) -> str:
        return agent.user.email if agent.user else ""

    def get_roles(self, agent) -> list[dict]:
        visible = scope_of(self).organisation_ids
        return [
            {"organisation": role.organisation_id, "level": role.level}
            for role in agent.roles.all() if role.organisation_id in visible
        ]

    def validate(self, attrs):
        scope = scope_of(self)
        organisation = attrs.pop("organisation", None)
        if self.instance is None:
            if organisation is None:
                raise serializers.ValidationError({"organisation": ["Ce champ est obligatoire."]})
            organisation_admin_required(self, organisation.pk)
            self._new_role_organisation = organisation
        else:
            managed = {role.organisation_id for role in self.instance.roles.all()} & scope.admin_organisation_ids
            if not managed:
                raise PermissionDenied("Seul un administrateur d'une organisation de cet agent peut le modifier.")
        return attrs

    def create(self, validated_data):
        with transaction.atomic():
            agent = super().create(validated_data)
            try:
                agent_role_set(agent=agent, organisation=self._new_role_organisation,
                               level=AgentRole.Level.INTERVENANT)
            except DjangoValidationError as error:
                raise drf_error(error) from None
        return agent


# --- Agendas -------------------------------------------------------------------------------------

WINDOW_FIELDS = ["first_day", "start_time", "end_time", "recurrence", "interval", "weekdays", "until",
                 "excluded_dates"]


def _agenda_permission(serializer, agent, organisation_id=None) -> None:
    if not policy.can_manage_agenda_of(scope_of(serializer), agent.pk, organisation_id):
        raise PermissionDenied(
            "Vous ne pouvez modifier que votre agenda, ou celui d'un agent d'une organisation que vous administrez."
        )


class AgendaServiceMixin:
    """Plages d'ouverture and absences are written by ``scheduling.services`` (the same functions as the
    back office's screens): their French field errors become 400s."""

    def _write(self, write):
        try:
            return write()
        except DjangoValidationError as error:
            raise drf_error(error) from None
        except AvailabilityWarnings as error:
            raise serializers.ValidationError({
                "detail": ["Cette plage demande confirmation : renvoyez-la avec accept_warnings=true."],
                "warnings": error.warnings,
            }) from None


class AvailabilitySerializer(AgendaServiceMixin, serializers.ModelSerializer):
    agent = VisibleRelatedField(policy.agents)
    organisation = VisibleRelatedField(policy.organisations)
    location = VisibleRelatedField(policy.locations, allow_null=True, required=False)
    appointment_types = VisibleRelatedField(policy.appointment_types, many=True)

    accept_warnings = serializers.BooleanField(
        write_only=True, required=False, default=False,
        help_text="Enregistrer malgré les avertissements (chevauchement, motif plus long que la plage).",
    )

    class Meta:
        model = Availability
        fields = ["id", "agent", "organisation", "location", "appointment_types", "title", *WINDOW_FIELDS,
                  "accept_warnings"]

    def validate(self, attrs):
        current = self.instance
        agent = attrs.get("agent") or current.agent
        organisation = attrs.get("organisation") or current.organisation
        if current is not None:
            _agenda_permission(self, current.agent, current.organisation_id)
        _agenda_permission(self, agent, organisation.pk)
        return attrs

    def create(self, validated_data):
        data = dict(validated_data)
        accept, types = data.pop("accept_warnings", False), data.pop("appointment_types", [])
        return self._write(lambda: availability_create(appointment_types=types, accept_warnings=accept, **data))

    def update(self, instance, validated_data):
        data = dict(validated_data)
        accept, types = data.pop("accept_warnings", False), data.pop("appointment_types", None)
        return self._write(lambda: availability_update(availability=instance, appointment_types=types,
                                                       accept_warnings=accept, **data))


class AbsenceSerializer(AgendaServiceMixin, serializers.ModelSerializer):
    agent = VisibleRelatedField(policy.agents)

    class Meta:
        model = Absence
        fields = ["id", "agent", "title", "end_day", *WINDOW_FIELDS]

    def validate(self, attrs):
        if self.instance is not None:
            _agenda_permission(self, self.instance.agent)
        _agenda_permission(self, attrs.get("agent") or self.instance.agent)
        return attrs

    def create(self, validated_data):
        return self._write(lambda: absence_create(**validated_data))

    def update(self, instance, validated_data):
        return self._write(lambda: absence_update(absence=instance, **validated_data))


# --- People --------------------------------------------------------------------------------------

class CitizenSerializer(ModelCleanMixin, serializers.ModelSerializer):
    responsible = VisibleRelatedField(policy.citizens, allow_null=True, required=False)
    organisations = VisibleRelatedField(
        policy.organisations, many=True, required=False,
        help_text="Organisations qui suivent l'usager (parmi les vôtres). Par défaut : toutes les vôtres.",
    )

    class Meta:
        model = Citizen
        fields = ["id", "first_name", "last_name", "birth_name", "birth_date", "email", "phone", "address",
                  "city_code", "notify_by_email", "notify_by_sms", "responsible", "organisations", "created_at"]
        read_only_fields = ["created_at"]

    def to_representation(self, citizen):
        data = super().to_representation(citizen)
        visible = scope_of(self).organisation_ids
        data["organisations"] = [pk for pk in data["organisations"] if pk in visible]
        if getattr(self, "likely_duplicates", None) is not None:
            data["likely_duplicates"] = self.likely_duplicates
        return data

    def create(self, validated_data):
        """Creation never blocks on a likely duplicate; the answer lists those the agent may see
        (``likely_duplicates``: ids), as the back office shows them."""
        citizen = super().create(validated_data)
        candidates = [other.pk for other in citizen_likely_duplicates(
            first_name=citizen.first_name, last_name=citizen.last_name, birth_date=citizen.birth_date,
            email=citizen.email, phone=citizen.phone, exclude_id=citizen.pk,
        )]
        self.likely_duplicates = sorted(
            policy.citizens(scope_of(self)).filter(pk__in=candidates).values_list("pk", flat=True)
        )
        return citizen

    def validate_phone(self, value):
        if not value:
            return ""
        number = to_e164(value)
        if number is None:
            raise serializers.ValidationError("Numéro de téléphone invalide.")
        return number

    def validate_birth_date(self, value):
        if value is None:
            return value
        today = timezone.localdate()
        if value > today:
            raise serializers.ValidationError("La date de naissance ne peut pas être dans le futur.")
        if value < date(today.year - 130, today.month, min(today.day, 28)):
            raise serializers.ValidationError("La date de naissance est trop ancienne (plus de 130 ans).")
        return value

    def validate(self, attrs):
        if self.instance is None and not attrs.get("organisations"):
            attrs["organisations"] = list(policy.organisations(scope_of(self)))
        elif self.instance is not None and "organisations" in attrs:
            # Links to organisations one cannot see are kept as they are.
            hidden = self.instance.organisations.exclude(pk__in=scope_of(self).organisation_ids)
            attrs["organisations"] = [*attrs["organisations"], *hidden]
        return attrs


# --- Appointments --------------------------------------------------------------------------------

class ParticipationSerializer(LocalDateTimesMixin, serializers.ModelSerializer):
    appointment_status = serializers.CharField(source="appointment.status", read_only=True)

    class Meta:
        model = Participation
        fields = ["id", "appointment", "citizen", "status", "appointment_status", "send_lifecycle_notifications",
                  "send_reminder_notification", "created_by", "created_at"]
        read_only_fields = fields

    def organisation_tz(self, participation):
        return ZoneInfo(participation.appointment.organisation.timezone)


class NestedParticipationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Participation
        fields = ["id", "citizen", "status"]
        read_only_fields = fields


class AppointmentSerializer(LocalDateTimesMixin, serializers.ModelSerializer):
    agents = serializers.SerializerMethodField()
    participations = NestedParticipationSerializer(many=True, read_only=True)

    class Meta:
        model = Appointment
        fields = ["id", "uuid", "organisation", "appointment_type", "location", "starts_at", "ends_at", "status",
                  "cancelled_at", "agents", "participations", "title", "capacity", "context", "created_by",
                  "accepted_overlap", "created_at", "updated_at"]
        read_only_fields = fields

    def get_agents(self, appointment) -> list[int]:
        return sorted(link.agent_id for link in appointment.agent_links.all())


class SingleUseLocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["name", "address", "phone"]


class AppointmentCreateSerializer(serializers.Serializer):
    appointment_type = VisibleRelatedField(policy.appointment_types)
    location = VisibleRelatedField(policy.locations, allow_null=True, required=False, default=None)
    single_use_location = SingleUseLocationSerializer(
        required=False, help_text="Avec agents, au lieu de « location » : un lieu ponctuel créé pour ce seul "
                                  "rendez-vous (nom, adresse, téléphone).",
    )
    starts_at = serializers.DateTimeField(
        help_text="ISO 8601 ; sans décalage horaire, l'heure est celle de l'organisation."
    )
    citizens = VisibleRelatedField(policy.citizens, many=True, allow_empty=True)
    agents = VisibleRelatedField(
        policy.agents, many=True, required=False, allow_empty=False,
        help_text="Sans agents : un créneau calculé est réservé (un agent libre est choisi). "
                  "Avec agents : réservation « agent », soumise aux avertissements.",
    )
    context = serializers.CharField(required=False, allow_blank=True, default="")
    accept_warnings = serializers.BooleanField(
        required=False, default=False,
        help_text="Avec agents : enregistrer malgré les avertissements (chevauchement, absence, même usager le "
                  "même jour, horaire passé). Sans lui, ils sont renvoyés en 400 dans « warnings ».",
    )
    audience = serializers.ChoiceField(
        choices=[("usager", "usager"), ("agent", "agent")], required=False, default="usager",
        help_text="Sans agents : règles de l'usager (délais de réservation) ou de l'agent.",
    )

    def validate(self, attrs):
        kind = attrs["appointment_type"]
        tz = ZoneInfo(kind.organisation.timezone)
        raw = self.initial_data.get("starts_at")
        naive = parse_datetime(raw) if isinstance(raw, str) else None
        if naive is not None and naive.tzinfo is None:
            attrs["starts_at"] = timezone.make_aware(naive, tz)
        location = attrs.get("location")
        if attrs.get("single_use_location") is not None:
            if location is not None:
                raise serializers.ValidationError(
                    {"single_use_location": ["Choisissez un lieu existant ou un lieu ponctuel, pas les deux."]}
                )
            if not attrs.get("agents"):
                raise serializers.ValidationError(
                    {"single_use_location": ["Un lieu ponctuel se choisit avec les agents du rendez-vous."]}
                )
            return self._check_agents(attrs, kind)
        if location is None and kind.mode == AppointmentType.Mode.IN_PERSON:
            raise serializers.ValidationError({"location": ["Un rendez-vous sur place a besoin d'un lieu."]})
        if location is not None and location.availability == Location.Availability.DISABLED:
            raise serializers.ValidationError({"location": ["Ce lieu est désactivé."]})
        if location is not None and location.organisation_id != kind.organisation_id:
            raise serializers.ValidationError({"location": ["Ce lieu n'appartient pas à l'organisation du motif."]})
        return self._check_agents(attrs, kind)

    def _check_agents(self, attrs, kind):
        agents = attrs.get("agents")
        if agents:
            members = set(AgentRole.objects.filter(
                organisation_id=kind.organisation_id, agent__in=agents,
            ).values_list("agent_id", flat=True))
            outsiders = [str(agent.pk) for agent in agents if agent.pk not in members]
            if outsiders:
                raise serializers.ValidationError(
                    {"agents": [f"Agent(s) sans rôle dans l'organisation du motif : {', '.join(outsiders)}."]}
                )
        return attrs


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)


# --- Slots ---------------------------------------------------------------------------------------

@extend_schema_field(OpenApiTypes.STR)
class MomentField(serializers.Field):
    """A date (AAAA-MM-JJ) or a datetime (ISO 8601), kept as parsed; resolved in the organisation's
    timezone by the serializer."""

    default_error_messages = {"invalid": BAD_MOMENT}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = data.strip()
        try:
            parsed = parse_datetime(value) if "T" in value or " " in value else parse_date(value)
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        return parsed

    def to_representation(self, value):
        return value.isoformat()


def resolve_moment(value, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """A date means the local day: its start, or (for an end) the start of the next day."""
    if isinstance(value, datetime):
        return value if value.tzinfo else timezone.make_aware(value, tz)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, tzinfo=tz)


def _visible_type_and_location(serializer, attrs):
    """Replace the type id by the visible type, and check the location belongs to it (French 400s)."""
    scope = scope_of(serializer)
    kind = (
        policy.appointment_types(scope).select_related("organisation")
        .filter(pk=attrs["appointment_type"]).first()
    )
    if kind is None:
        raise serializers.ValidationError({"appointment_type": ["Motif introuvable."]})
    attrs["appointment_type"] = kind
    if "location" in attrs:
        if not policy.locations(scope).filter(pk=attrs["location"], organisation_id=kind.organisation_id).exists():
            raise serializers.ValidationError({"location": ["Lieu introuvable pour ce motif."]})
    return scope, kind


class SlotQuerySerializer(serializers.Serializer):
    appointment_type = serializers.IntegerField(help_text="Identifiant du motif.")
    location = serializers.IntegerField(required=False, help_text="Identifiant du lieu.")
    start = MomentField(help_text="Date (journée locale) ou date-heure ISO 8601.")
    end = MomentField(help_text="Date (incluse, journée locale) ou date-heure ISO 8601. Au plus 31 jours.")
    agent = serializers.IntegerField(required=False, help_text="Identifiant d'un agent.")
    audience = serializers.ChoiceField(
        choices=[("usager", "usager"), ("agent", "agent")], required=False, default="usager",
        help_text="usager : un créneau par horaire, délais de réservation appliqués ; agent : un créneau par agent.",
    )

    def validate(self, attrs):
        scope, kind = _visible_type_and_location(self, attrs)
        if "agent" in attrs:
            if not policy.agents(scope).filter(pk=attrs["agent"], roles__organisation_id=kind.organisation_id).exists():
                raise serializers.ValidationError({"agent": ["Agent introuvable pour ce motif."]})
        tz = ZoneInfo(kind.organisation.timezone)
        attrs["start"] = resolve_moment(attrs["start"], tz)
        attrs["end"] = resolve_moment(attrs["end"], tz, end=True)
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["La fin doit être après le début."]})
        if attrs["end"] - attrs["start"] > MAX_RANGE:
            raise serializers.ValidationError({"end": ["La période demandée dépasse 31 jours."]})
        return attrs


class NextAvailabilityQuerySerializer(serializers.Serializer):
    appointment_type = serializers.IntegerField(help_text="Identifiant du motif.")
    location = serializers.IntegerField(required=False, help_text="Un lieu ; sans lui, chaque lieu du motif.")
    after = MomentField(required=False, help_text="Date ou date-heure ISO 8601 ; par défaut maintenant.")
    audience = serializers.ChoiceField(
        choices=[("usager", "usager"), ("agent", "agent")], required=False, default="usager",
    )

    def validate(self, attrs):
        scope, kind = _visible_type_and_location(self, attrs)
        tz = ZoneInfo(kind.organisation.timezone)
        attrs["after"] = resolve_moment(attrs["after"], tz) if "after" in attrs else timezone.now()
        return attrs


class SlotSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    location = serializers.IntegerField(allow_null=True)
    agents = serializers.ListField(child=serializers.IntegerField())


class SlotListSerializer(serializers.Serializer):
    results = SlotSerializer(many=True)


def slot_data(slot, tz: ZoneInfo) -> dict:
    return {
        "starts_at": slot.starts_at.astimezone(tz).isoformat(),
        "ends_at": slot.ends_at.astimezone(tz).isoformat(),
        "location": slot.location_id,
        "agents": sorted(slot.agent_ids),
    }
