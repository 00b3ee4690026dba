"""Views of API v1. Each viewset lists and fetches through one of the policy's visible querysets (so an
invisible object is a 404 and absent from lists) and loads its relations in a fixed number of queries."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling import policy
from scheduling.models import Appointment, AppointmentAgent, Participation, Status
from scheduling.selectors import next_availability_for, slots_for
from scheduling.services import (
    Actor,
    BookingWarnings,
    SlotUnavailable,
    agent_role_remove,
    agent_role_set,
    appointment_book_slot,
    appointment_create,
    appointment_delete,
    appointment_move,
    appointment_set_status,
    appointment_type_remove,
    location_single_use_create,
    participant_add,
    participation_set_status,
)

from . import serializers as api
from .errors import drf_error

CANNOT_BOOK = "Vous ne pouvez pas prendre rendez-vous pour ce motif (il relève d'un autre service)."
WARNINGS_DETAIL = (
    "Ce rendez-vous demande une confirmation : renvoyez la demande avec « accept_warnings »: true pour "
    "l'enregistrer malgré les avertissements."
)

ErrorSerializer = inline_serializer("Error", {"detail": serializers.CharField()})
# One key per field in error (``champ`` stands for any of them, so it is not required).
FieldErrorsSerializer = inline_serializer(
    "FieldErrors", {"champ": serializers.ListField(child=serializers.CharField(), required=False)}
)


class IsAgent(IsAuthenticated):
    """A signed-in (token) user with an agent profile in this administration."""

    message = policy.NO_AGENT_PROFILE_MESSAGE

    def has_permission(self, request, view):
        return super().has_permission(request, view) and policy.scope_for_request(request) is not None


class ScopedMixin:
    permission_classes = [IsAgent]

    @property
    def scope(self) -> policy.Scope:
        return policy.scope_for_request(self.request)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["scope"] = self.scope
        return context


class ScopedViewSet(ScopedMixin, viewsets.GenericViewSet):
    """``visible``: the policy function of the resource; ``queryset``: its model (schema generation only)."""

    visible = None
    filter_by_organisation = True

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        queryset = self.optimise(type(self).visible(self.scope))
        if self.action == "list":
            queryset = self.filter_list(queryset, self.request.query_params)
        return queryset

    def optimise(self, queryset):
        return queryset

    def filter_list(self, queryset, params):
        organisation = params.get("organisation")
        if self.filter_by_organisation and organisation:
            if not organisation.isdigit():
                raise drf_error(DjangoValidationError({"organisation": ["Identifiant invalide."]}))
            queryset = queryset.filter(**{self.organisation_lookup: int(organisation)})
        return queryset

    organisation_lookup = "organisation_id"


ORGANISATION_FILTER = OpenApiParameter("organisation", int, description="Seulement cette organisation.")


class ListRetrieveCreateUpdate(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                               mixins.UpdateModelMixin):
    pass


@extend_schema(tags=["structure"])
class OrganisationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ScopedViewSet):
    """Organisations où l'agent a un rôle. Modification : administrateurs de l'organisation."""

    queryset = api.Organisation.objects.none()
    serializer_class = api.OrganisationSerializer
    visible = policy.organisations
    filter_by_organisation = False


@extend_schema(tags=["structure"])
class ServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Services de l'administration (référentiel commun à toutes les organisations)."""

    queryset = api.Service.objects.none()
    serializer_class = api.ServiceSerializer
    visible = policy.services
    filter_by_organisation = False


@extend_schema_view(list=extend_schema(parameters=[ORGANISATION_FILTER]))
@extend_schema(tags=["structure"])
class LocationViewSet(ListRetrieveCreateUpdate, ScopedViewSet):
    """Lieux des organisations de l'agent. Création et modification : administrateurs."""

    queryset = api.Location.objects.none()
    serializer_class = api.LocationSerializer
    visible = policy.locations


@extend_schema_view(list=extend_schema(parameters=[ORGANISATION_FILTER]))
@extend_schema(tags=["structure"])
class AppointmentTypeViewSet(ListRetrieveCreateUpdate, mixins.DestroyModelMixin, ScopedViewSet):
    """Motifs des organisations de l'agent. Création et modification : administrateurs. La modalité et le
    caractère collectif ne changent plus une fois des rendez-vous pris."""

    queryset = api.AppointmentType.objects.none()
    serializer_class = api.AppointmentTypeSerializer
    visible = policy.appointment_types

    @extend_schema(responses={204: None, 200: api.AppointmentTypeSerializer, 403: ErrorSerializer})
    def destroy(self, request, *args, **kwargs):
        """Supprimer un motif : 204 s'il n'a jamais servi ; sinon il est archivé (200, `archived_at` rempli)
        et ne se réserve plus, ses rendez-vous restant intacts."""
        appointment_type = self.get_object()
        if not policy.can_manage_organisation(self.scope, appointment_type.organisation_id):
            raise PermissionDenied("Seuls les administrateurs de cette organisation peuvent supprimer un motif.")
        if appointment_type_remove(appointment_type=appointment_type) == "deleted":
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(appointment_type).data)


class AgentRoleWriteSerializer(serializers.Serializer):
    organisation = api.VisibleRelatedField(policy.organisations)
    level = serializers.ChoiceField(choices=api.AgentRole.Level.choices, allow_null=True)


@extend_schema_view(list=extend_schema(parameters=[ORGANISATION_FILTER]))
@extend_schema(tags=["agents"])
class AgentViewSet(ListRetrieveCreateUpdate, ScopedViewSet):
    """Agents des organisations de l'agent. Création (intervenants) et modification : administrateurs."""

    queryset = api.Agent.objects.none()
    serializer_class = api.AgentSerializer
    visible = policy.agents
    organisation_lookup = "roles__organisation_id"

    def optimise(self, queryset):
        return queryset.select_related("user").prefetch_related("services", "roles")

    @extend_schema(request=AgentRoleWriteSerializer,
                   responses={200: api.AgentSerializer, 400: FieldErrorsSerializer, 403: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path="roles", url_name="roles")
    def set_role(self, request, pk=None):
        """Donner (ou changer) le rôle de l'agent dans une organisation : `basic`, `admin` ou `intervenant`.
        `level: null` le retire de l'organisation. Une organisation garde toujours un administrateur ; un agent
        qui a des rendez-vous à venir n'en est pas retiré."""
        agent = self.get_object()
        query = AgentRoleWriteSerializer(data=request.data, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        organisation, level = query.validated_data["organisation"], query.validated_data["level"]
        if not policy.can_manage_organisation(self.scope, organisation.pk):
            raise PermissionDenied("Seuls les administrateurs de cette organisation gèrent ses agents.")
        try:
            if level:
                agent_role_set(agent=agent, organisation=organisation, level=level)
            else:
                agent_role_remove(agent=agent, organisation=organisation)
        except DjangoValidationError as error:
            raise drf_error(error) from None
        # Fetched again without the visibility filter: he may have just left the admin's organisations.
        agent = self.optimise(api.Agent.objects.filter(pk=agent.pk)).get()
        return Response(self.get_serializer(agent).data)


@extend_schema_view(list=extend_schema(parameters=[ORGANISATION_FILTER, OpenApiParameter("agent", int)]))
@extend_schema(tags=["agendas"])
class AvailabilityViewSet(ListRetrieveCreateUpdate, ScopedViewSet):
    """Plages d'ouverture : les siennes, et celles des collègues visibles. Modification : les siennes, ou
    celles des agents d'une organisation que l'on administre."""

    queryset = api.Availability.objects.none()
    serializer_class = api.AvailabilitySerializer
    visible = policy.availabilities

    def optimise(self, queryset):
        return queryset.prefetch_related("appointment_types").order_by("first_day", "pk")

    def filter_list(self, queryset, params):
        queryset = super().filter_list(queryset, params)
        return filter_agent(queryset, params)


def filter_agent(queryset, params):
    agent = params.get("agent")
    if agent:
        if not agent.isdigit():
            raise drf_error(DjangoValidationError({"agent": ["Identifiant invalide."]}))
        queryset = queryset.filter(agent_id=int(agent))
    return queryset


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("agent", int)]))
@extend_schema(tags=["agendas"])
class AbsenceViewSet(ListRetrieveCreateUpdate, ScopedViewSet):
    """Absences : les siennes, et celles des collègues visibles. Modification : les siennes, ou celles des
    agents d'une organisation que l'on administre."""

    queryset = api.Absence.objects.none()
    serializer_class = api.AbsenceSerializer
    visible = policy.absences
    filter_by_organisation = False

    def optimise(self, queryset):
        return queryset.order_by("first_day", "pk")

    def filter_list(self, queryset, params):
        return filter_agent(queryset, params)


@extend_schema_view(list=extend_schema(parameters=[ORGANISATION_FILTER]))
@extend_schema(tags=["usagers"])
class CitizenViewSet(ListRetrieveCreateUpdate, ScopedViewSet):
    """Usagers suivis par les organisations de l'agent."""

    queryset = api.Citizen.objects.none()
    serializer_class = api.CitizenSerializer
    visible = policy.citizens
    organisation_lookup = "organisations__id"

    def optimise(self, queryset):
        return queryset.prefetch_related("organisations")


def _appointment_queryset(queryset):
    return queryset.select_related("organisation").prefetch_related(
        Prefetch("agent_links", queryset=AppointmentAgent.objects.only("id", "appointment_id", "agent_id")),
        Prefetch("participations", queryset=Participation.objects.order_by("pk")),
    )


APPOINTMENT_FILTERS = [
    ORGANISATION_FILTER,
    OpenApiParameter("status", str, enum=[choice for choice, _ in Status.choices]),
    OpenApiParameter("agent", int),
    OpenApiParameter("citizen", int),
    OpenApiParameter("start", OpenApiTypes.DATE, description="Rendez-vous commençant ce jour ou après."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Rendez-vous commençant ce jour ou avant."),
]


class ParticipantAddSerializer(serializers.Serializer):
    citizen = api.VisibleRelatedField(policy.citizens)


class AppointmentMoveSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(required=False, help_text="Nouveau début (ISO 8601 avec décalage).")
    location = api.VisibleRelatedField(policy.locations, required=False, allow_null=True)
    agents = api.VisibleRelatedField(policy.agents, many=True, required=False, allow_empty=False)
    duration_minutes = serializers.IntegerField(required=False, min_value=5, max_value=24 * 60)
    accept_warnings = serializers.BooleanField(required=False, default=False)


@extend_schema_view(list=extend_schema(parameters=APPOINTMENT_FILTERS))
@extend_schema(tags=["rendez-vous"])
class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ScopedViewSet):
    """Rendez-vous visibles de l'agent : ceux des motifs de ses services et ceux où il intervient ; toute
    l'organisation pour le secrétariat et les administrateurs."""

    queryset = Appointment.objects.none()
    serializer_class = api.AppointmentSerializer
    visible = policy.appointments

    def optimise(self, queryset):
        return _appointment_queryset(queryset)

    def filter_list(self, queryset, params):
        queryset = super().filter_list(queryset, params)
        query = AppointmentFilterSerializer(data=params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        if "status" in data:
            queryset = queryset.filter(status=data["status"])
        if "agent" in data:
            queryset = queryset.filter(pk__in=AppointmentAgent.objects.filter(agent_id=data["agent"])
                                       .values("appointment_id"))
        if "citizen" in data:
            queryset = queryset.filter(pk__in=Participation.objects.filter(citizen_id=data["citizen"])
                                       .values("appointment_id"))
        if "start" in data:
            queryset = queryset.filter(starts_at__date__gte=data["start"])
        if "end" in data:
            queryset = queryset.filter(starts_at__date__lte=data["end"])
        return queryset

    @extend_schema(
        request=api.AppointmentCreateSerializer,
        responses={
            201: api.AppointmentSerializer,
            400: OpenApiResponse(
                FieldErrorsSerializer,
                description="Entrée invalide (`{\"champ\": [\"message\"]}`), ou, avec `agents`, avertissements "
                            "à confirmer : `{\"detail\": ..., \"warnings\": [...]}` ; renvoyer alors la demande "
                            "avec `accept_warnings: true`.",
            ),
            403: OpenApiResponse(ErrorSerializer, description="Motif d'un autre service."),
            409: OpenApiResponse(ErrorSerializer, description="Le créneau n'est plus (ou pas) disponible."),
        },
        examples=[
            OpenApiExample("Créneau calculé", request_only=True, value={
                "appointment_type": 1, "location": 2, "starts_at": "2026-12-07T09:00:00+01:00", "citizens": [3],
            }),
            OpenApiExample("Avertissements", response_only=True, status_codes=["400"], value={
                "detail": WARNINGS_DETAIL, "warnings": ["Camille Martin est absent(e) sur ce créneau (Congés)."],
            }),
        ],
    )
    def create(self, request, *args, **kwargs):
        """Prendre un rendez-vous.

        Sans `agents`, le créneau calculé est réservé (comme un usager le ferait, `audience` choisissant les
        règles) et un agent libre est choisi équitablement. Avec `agents`, c'est une prise de rendez-vous
        d'agent : les avertissements (chevauchement, absence, même usager le même jour, horaire passé)
        renvoient un 400 avec `warnings`, sauf si `accept_warnings: true` est envoyé. 409 si le créneau
        vient d'être pris."""
        query = api.AppointmentCreateSerializer(data=request.data, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        kind = data["appointment_type"]
        if not policy.can_book(self.scope, kind):
            raise PermissionDenied(CANNOT_BOOK)
        actor = Actor.for_agent(self.scope.agent, via_api=True)
        common = {"appointment_type": kind, "starts_at": data["starts_at"], "citizens": data["citizens"],
                  "actor": actor, "location": data["location"], "context": data["context"],
                  "created_by": Appointment.CreatedBy.API}
        try:
            if data.get("agents"):
                with transaction.atomic():
                    if data.get("single_use_location"):
                        common["location"] = location_single_use_create(
                            organisation=kind.organisation, **data["single_use_location"]
                        )
                    appointment = appointment_create(agents=data["agents"], accept_warnings=data["accept_warnings"],
                                                     **common)
            else:
                appointment = appointment_book_slot(audience=data["audience"], **common)
        except SlotUnavailable as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        except BookingWarnings as error:
            return Response({"detail": WARNINGS_DETAIL, "warnings": error.warnings},
                            status=status.HTTP_400_BAD_REQUEST)
        except DjangoValidationError as error:
            raise drf_error(error) from None
        appointment = _appointment_queryset(Appointment.objects.filter(pk=appointment.pk)).get()
        return Response(self.get_serializer(appointment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=api.StatusSerializer,
        responses={200: api.AppointmentSerializer, 400: FieldErrorsSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"], url_path="status", url_name="status")
    def set_status(self, request, pk=None):
        """Changer le statut d'un rendez-vous ; il se propage aux participations."""
        appointment = self.get_object()
        if not policy.can_change_status(self.scope, appointment):
            raise PermissionDenied("Vous ne pouvez pas changer le statut de ce rendez-vous.")
        query = api.StatusSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        try:
            appointment_set_status(appointment=appointment, status=query.validated_data["status"],
                                   actor=Actor.for_agent(self.scope.agent, via_api=True))
        except SlotUnavailable as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as error:
            raise drf_error(error) from None
        return Response(self.get_serializer(self.get_object()).data)


    @extend_schema(
        request=AppointmentMoveSerializer,
        responses={200: api.AppointmentSerializer, 400: FieldErrorsSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"], url_path="move", url_name="move")
    def move(self, request, pk=None):
        """Déplacer un rendez-vous (horaire, lieu, agents, durée). Les conflits reviennent en 400 avec
        `warnings`, à confirmer par `accept_warnings: true` ; 409 si un autre rendez-vous bloque déjà."""
        from datetime import timedelta

        appointment = self.get_object()
        if not policy.can_book(self.scope, appointment.appointment_type):
            raise PermissionDenied("Vous ne pouvez pas déplacer ce rendez-vous.")
        query = AppointmentMoveSerializer(data=request.data, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        if data.get("location") and data["location"].organisation_id != appointment.organisation_id:
            raise drf_error(DjangoValidationError({"location": ["Ce lieu n'appartient pas à l'organisation."]}))
        try:
            appointment_move(
                appointment=appointment, actor=Actor.for_agent(self.scope.agent, via_api=True),
                starts_at=data.get("starts_at"), location=data.get("location"), agents=data.get("agents"),
                duration=timedelta(minutes=data["duration_minutes"]) if "duration_minutes" in data else None,
                accept_warnings=data["accept_warnings"],
            )
        except SlotUnavailable as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        except BookingWarnings as error:
            return Response({"detail": WARNINGS_DETAIL, "warnings": error.warnings},
                            status=status.HTTP_400_BAD_REQUEST)
        except DjangoValidationError as error:
            raise drf_error(error) from None
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={204: None, 403: ErrorSerializer})
    def destroy(self, request, *args, **kwargs):
        """Supprimer un rendez-vous (administrateurs de l'organisation : une erreur de saisie). Pour un
        rendez-vous qui n'aura pas lieu, préférez le statut `revoked` ou `excused`. L'historique est conservé."""
        appointment = self.get_object()
        if not policy.can_delete_appointment(self.scope, appointment):
            raise PermissionDenied("Seuls les administrateurs de l'organisation suppriment un rendez-vous.")
        appointment_delete(appointment=appointment, actor=Actor.for_agent(self.scope.agent, via_api=True))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=ParticipantAddSerializer,
        responses={201: api.ParticipationSerializer, 400: FieldErrorsSerializer},
    )
    @action(detail=True, methods=["post"], url_path="participants", url_name="participants")
    def add_participant(self, request, pk=None):
        """Inscrire un usager à un RDV collectif (400 « complet » quand il n'y a plus de place). Pour le
        retirer : `POST /participations/{id}/status` avec `excused` ou `revoked`."""
        appointment = self.get_object()
        if not policy.can_book(self.scope, appointment.appointment_type):
            raise PermissionDenied("Vous ne pouvez pas inscrire d'usager à ce rendez-vous.")
        query = ParticipantAddSerializer(data=request.data, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        try:
            participation = participant_add(appointment=appointment, citizen=query.validated_data["citizen"],
                                            actor=Actor.for_agent(self.scope.agent, via_api=True))
        except DjangoValidationError as error:
            raise drf_error(error) from None
        return Response(api.ParticipationSerializer(participation, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

class AppointmentFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    agent = serializers.IntegerField(required=False)
    citizen = serializers.IntegerField(required=False)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)


@extend_schema_view(list=extend_schema(parameters=[ORGANISATION_FILTER, OpenApiParameter("appointment", int)]))
@extend_schema(tags=["rendez-vous"])
class ParticipationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Participations (un usager dans un rendez-vous) des rendez-vous visibles."""

    queryset = Participation.objects.none()
    serializer_class = api.ParticipationSerializer
    visible = policy.participations
    organisation_lookup = "appointment__organisation_id"

    def optimise(self, queryset):
        return queryset.select_related("appointment__organisation").order_by("pk")

    def filter_list(self, queryset, params):
        queryset = super().filter_list(queryset, params)
        appointment = params.get("appointment")
        if appointment:
            if not appointment.isdigit():
                raise drf_error(DjangoValidationError({"appointment": ["Identifiant invalide."]}))
            queryset = queryset.filter(appointment_id=int(appointment))
        return queryset

    @extend_schema(
        request=api.StatusSerializer,
        responses={200: api.ParticipationSerializer, 400: FieldErrorsSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"], url_path="status", url_name="status")
    def set_status(self, request, pk=None):
        """Changer le statut d'une participation ; celui du rendez-vous en découle."""
        participation = self.get_object()
        if not policy.can_change_status(self.scope, participation.appointment):
            raise PermissionDenied("Vous ne pouvez pas changer le statut de ce rendez-vous.")
        query = api.StatusSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        try:
            participation_set_status(participation=participation, status=query.validated_data["status"],
                                     actor=Actor.for_agent(self.scope.agent, via_api=True))
        except SlotUnavailable as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as error:
            raise drf_error(error) from None
        return Response(self.get_serializer(self.get_object()).data)


# --- Slots ---------------------------------------------------------------------------------------

def _check_audience(scope, kind, audience) -> None:
    """Agents' slots show colleagues' agendas: only for those who may book the type."""
    if audience == "agent" and not policy.can_book(scope, kind):
        raise PermissionDenied(CANNOT_BOOK)


@extend_schema(tags=["créneaux"])
class SlotsView(ScopedMixin, APIView):
    @extend_schema(
        parameters=[api.SlotQuerySerializer],
        responses={200: api.SlotListSerializer, 400: FieldErrorsSerializer},
        operation_id="slots_list",
    )
    def get(self, request):
        """Créneaux libres d'un motif sur une période d'au plus 31 jours, triés par début, heures au fuseau de
        l'organisation (ISO 8601 avec décalage). `audience=usager` (défaut) : un créneau par horaire et par
        lieu, délais de réservation appliqués ; `audience=agent` : un créneau par agent, sans délais."""
        query = api.SlotQuerySerializer(data=request.query_params, context={"scope": self.scope})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        kind = data["appointment_type"]
        _check_audience(self.scope, kind, data["audience"])
        found = slots_for(
            appointment_type=kind, start=data["start"], end=data["end"], audience=data["audience"],
            location_id=data.get("location"), agent_ids=[data["agent"]] if "agent" in data else None,
        )
        tz = ZoneInfo(kind.organisation.timezone)
        found.sort(key=lambda slot: (slot.starts_at, slot.location_id or 0, tuple(sorted(slot.agent_ids))))
        return Response({"results": [api.slot_data(slot, tz) for slot in found]})


@extend_schema(tags=["créneaux"])
class NextAvailabilityView(ScopedMixin, APIView):
    @extend_schema(
        parameters=[api.NextAvailabilityQuerySerializer],
        responses={200: api.SlotListSerializer, 400: FieldErrorsSerializer},
        operation_id="next_availability",
    )
    def get(self, request):
        """Prochaine disponibilité d'un motif après une date : le premier créneau libre de chaque lieu (ou du
        lieu demandé), triés par début. Liste vide s'il n'y en a pas dans les six mois."""
        query = api.NextAvailabilityQuerySerializer(data=request.query_params, context={"scope": self.scope})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        kind = data["appointment_type"]
        _check_audience(self.scope, kind, data["audience"])
        found = next_availability_for(
            appointment_type=kind, after=data["after"], audience=data["audience"],
            location_id=data.get("location"), per_location=True,
        )
        tz = ZoneInfo(kind.organisation.timezone)
        slots = sorted(found.values(), key=lambda slot: (slot.starts_at, slot.location_id or 0))
        return Response({"results": [api.slot_data(slot, tz) for slot in slots]})

