"""Who may see and do what: the one policy layer of the agents' side (API now, HTML views later).

An agent's :class:`Scope` is computed once per request (three small queries) and gives:

- querysets of what he may see, each filtered in SQL (no per-row checks, no growth with data);
- predicates for what he may do;
- ``get_visible_or_404``: fetch an object through a visible queryset, so that anything invisible
  is indistinguishable from anything that does not exist.

The rules (issue 3, "Who may see and do what"):

- nobody sees an organisation where he has no role (``AgentRole``);
- a secretariat agent (member of a service with ``is_secretariat``) and an admin see the whole of the
  organisations where they have a role; they are "wide" there;
- elsewhere a basic agent sees the appointments whose type belongs to one of his services and those he
  is assigned to;
- citizens: those linked to an organisation he sees; types, locations, agents: those of his
  organisations; services are administration-wide reference data and visible to every agent;
- availabilities and absences: his own, and those of colleagues he may see per the appointment rule
  (every colleague of an organisation where he is wide; colleagues sharing one of his services in the
  other organisations where he has a role);
- only admins manage an organisation (types, locations, agents) and delete appointments; booking needs
  a role in the type's organisation and, for a basic agent, a type of one of his services; whoever sees
  an appointment may change its status.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from .models import (
    Absence,
    Agent,
    AgentRole,
    Appointment,
    AppointmentAgent,
    AppointmentType,
    Availability,
    Citizen,
    Location,
    Organisation,
    Participation,
    Service,
)

NO_AGENT_PROFILE_MESSAGE = "Votre compte n'a pas de profil d'agent dans cette administration."


@dataclass(frozen=True)
class Scope:
    """What one agent's visibility is built from."""

    agent: Agent
    organisation_ids: frozenset[int]  # every organisation where he has a role
    admin_organisation_ids: frozenset[int]  # where that role is admin
    wide_organisation_ids: frozenset[int]  # where he sees everything (admin or secretariat)
    service_ids: frozenset[int]

    @property
    def narrow_organisation_ids(self) -> frozenset[int]:
        return self.organisation_ids - self.wide_organisation_ids


def agent_of(user) -> Agent | None:
    """The active agent profile of a signed-in user, or None (an account without agent profile)."""
    if user is None or not user.is_authenticated:
        return None
    agent = Agent.objects.filter(user_id=user.pk, deleted_at__isnull=True).first()
    return agent


def scope_for_agent(agent: Agent) -> Scope:
    roles = list(AgentRole.objects.filter(agent=agent).values_list("organisation_id", "level"))
    services = list(agent.services.values_list("id", "is_secretariat"))
    organisation_ids = frozenset(organisation_id for organisation_id, _ in roles)
    admin_ids = frozenset(organisation_id for organisation_id, level in roles if level == AgentRole.Level.ADMIN)
    secretariat = any(is_secretariat for _, is_secretariat in services)
    return Scope(
        agent=agent,
        organisation_ids=organisation_ids,
        admin_organisation_ids=admin_ids,
        wide_organisation_ids=organisation_ids if secretariat else admin_ids,
        service_ids=frozenset(service_id for service_id, _ in services),
    )


def scope_for_request(request) -> Scope | None:
    """The request's scope, computed once and kept on the request; None without an agent profile."""
    if not hasattr(request, "_agent_scope"):
        agent = agent_of(getattr(request, "user", None))
        request._agent_scope = scope_for_agent(agent) if agent else None
    return request._agent_scope


# --- What he may see ------------------------------------------------------------------------------

def _appointment_q(scope: Scope, prefix: str = "") -> Q:
    """Appointments visible to the scope, as a Q on ``<prefix>`` (e.g. "appointment__")."""
    assigned = AppointmentAgent.objects.filter(agent_id=scope.agent.pk).values("appointment_id")
    return Q(**{f"{prefix}organisation_id__in": scope.wide_organisation_ids}) | (
        Q(**{f"{prefix}organisation_id__in": scope.narrow_organisation_ids})
        & (
            Q(**{f"{prefix}appointment_type__service_id__in": scope.service_ids})
            | Q(**{f"{prefix}pk__in": assigned})
        )
    )


def _colleague_ids(scope: Scope):
    """Subquery of the agents whose agenda (availabilities, absences) the scope may see."""
    sharing_a_service = Agent.services.through.objects.filter(service_id__in=scope.service_ids).values("agent_id")
    return AgentRole.objects.filter(
        Q(organisation_id__in=scope.wide_organisation_ids)
        | Q(organisation_id__in=scope.narrow_organisation_ids, agent_id__in=sharing_a_service)
    ).values("agent_id")


def organisations(scope: Scope) -> QuerySet[Organisation]:
    return Organisation.objects.filter(pk__in=scope.organisation_ids)


def services(scope: Scope) -> QuerySet[Service]:
    return Service.objects.all()


def locations(scope: Scope) -> QuerySet[Location]:
    return Location.objects.filter(organisation_id__in=scope.organisation_ids)


def appointment_types(scope: Scope) -> QuerySet[AppointmentType]:
    return AppointmentType.objects.filter(organisation_id__in=scope.organisation_ids)


def agents(scope: Scope) -> QuerySet[Agent]:
    members = AgentRole.objects.filter(organisation_id__in=scope.organisation_ids).values("agent_id")
    return Agent.objects.filter(pk__in=members, deleted_at__isnull=True)


def availabilities(scope: Scope) -> QuerySet[Availability]:
    return Availability.objects.filter(
        Q(agent_id=scope.agent.pk)
        | Q(organisation_id__in=scope.wide_organisation_ids)
        | Q(organisation_id__in=scope.narrow_organisation_ids, agent_id__in=_colleague_ids(scope))
    )


def absences(scope: Scope) -> QuerySet[Absence]:
    return Absence.objects.filter(Q(agent_id=scope.agent.pk) | Q(agent_id__in=_colleague_ids(scope)))


def citizens(scope: Scope) -> QuerySet[Citizen]:
    linked = Citizen.organisations.through.objects.filter(organisation_id__in=scope.organisation_ids)
    return Citizen.objects.filter(pk__in=linked.values("citizen_id"), deleted_at__isnull=True)


def appointments(scope: Scope) -> QuerySet[Appointment]:
    return Appointment.objects.filter(_appointment_q(scope))


def participations(scope: Scope) -> QuerySet[Participation]:
    return Participation.objects.filter(_appointment_q(scope, prefix="appointment__"))


# --- What he may do -------------------------------------------------------------------------------

def can_manage_organisation(scope: Scope, organisation_id: int) -> bool:
    """Types, locations, agents and the organisation's own details: admins only."""
    return organisation_id in scope.admin_organisation_ids


def can_delete_appointment(scope: Scope, appointment: Appointment) -> bool:
    return appointment.organisation_id in scope.admin_organisation_ids


def can_book(scope: Scope, appointment_type: AppointmentType) -> bool:
    """Book (or look for slots of) a type: a wide agent of its organisation, or an agent of its service."""
    organisation_id = appointment_type.organisation_id
    if organisation_id in scope.wide_organisation_ids:
        return True
    return organisation_id in scope.organisation_ids and appointment_type.service_id in scope.service_ids


def can_change_status(scope: Scope, appointment: Appointment) -> bool:
    """Whoever sees an appointment may record what happened to it."""
    return appointments(scope).filter(pk=appointment.pk).exists()


def can_manage_agenda_of(scope: Scope, agent_id: int, organisation_id: int | None = None) -> bool:
    """Availabilities and absences: one's own, or, for an admin, those of an agent of his organisation
    (of ``organisation_id`` when given)."""
    if agent_id == scope.agent.pk:
        return organisation_id is None or organisation_id in scope.organisation_ids
    admin_ids = scope.admin_organisation_ids
    if organisation_id is not None:
        admin_ids = admin_ids & {organisation_id}
    return AgentRole.objects.filter(agent_id=agent_id, organisation_id__in=admin_ids).exists()


# --- Fetching -------------------------------------------------------------------------------------

def get_visible_or_404(queryset: QuerySet, **lookup) -> Model:
    """One object of a visible queryset, or Http404 whether it is invisible or does not exist."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# --- Back office: agenda ----------------------------------------------------------------------------

def agenda_agents(scope: Scope) -> QuerySet[Agent]:
    """Agents whose agenda (appointments, availabilities, absences) the scope may open: himself, every
    colleague of an organisation where he is wide, colleagues sharing one of his services elsewhere."""
    return Agent.objects.filter(Q(pk=scope.agent.pk) | Q(pk__in=_colleague_ids(scope)), deleted_at__isnull=True)


# --- Back office: administration --------------------------------------------------------------------

def can_manage_administration(scope: Scope, user) -> bool:
    """Administration-wide settings (services, SMS provider, reminders, look): an admin of one of its
    organisations whose account is also administrator of the administration (docs/decisions/0012)."""
    return bool(scope.admin_organisation_ids) and bool(getattr(user, "is_administration_admin", False)) \
        and scope.agent.user_id == getattr(user, "pk", None)


# --- Back office: availability and teams -----------------------------------------------------------

def managed_teams(scope: Scope):
    """Teams an admin manages: those of the organisations he administers."""
    from .models import Team

    return Team.objects.filter(organisation_id__in=scope.admin_organisation_ids)
