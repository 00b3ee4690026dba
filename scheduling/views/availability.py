"""Plages d'ouverture and absences of an agent (screen 7 of the back office): current and expired lists,
create, edit and delete, for oneself or for a colleague as the policy allows.

Reading: ``policy.agenda_agents`` (whose agenda he may open: ``?agent=<id>``, else 404),
``policy.availabilities`` / ``policy.absences``. Writing: ``policy.can_manage_agenda_of`` (himself, or an
admin for the agents of his organisations; else a French 403), then ``scheduling.services``.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from .. import policy
from ..forms.availability import AbsenceForm, AvailabilityForm
from ..models import AgentRole, AppointmentType, Location, Organisation
from ..recurrence_text import describe_window
from ..services import (
    AvailabilityWarnings,
    absence_create,
    absence_delete,
    absence_update,
    availability_create,
    availability_delete,
    availability_update,
)
from .common import agent_view

PAGE_SIZE = 50
CANNOT_MANAGE = ("Vous ne pouvez modifier que votre agenda, ou celui d'un agent d'une organisation que vous "
                 "administrez.")


def _target_agent(request):
    """The agent of ``?agent=<id>`` (one whose agenda he may open, else 404), himself by default."""
    raw = request.GET.get("agent") or request.POST.get("agent")
    if not raw or str(raw) == str(request.scope.agent.pk):
        return request.scope.agent
    return policy.get_visible_or_404(policy.agenda_agents(request.scope), pk=raw)


def _manageable_organisations(scope, agent):
    """Organisations where he may write the agent's plages: his own ones for himself, those he
    administers (and where the agent has a role) for a colleague."""
    if agent.pk == scope.agent.pk:
        ids = scope.organisation_ids
    else:
        roles = AgentRole.objects.filter(agent=agent, organisation_id__in=scope.admin_organisation_ids)
        ids = set(roles.values_list("organisation_id", flat=True))
    return Organisation.objects.filter(pk__in=ids).order_by("name")


def _expired_q(today) -> Q:
    """Nothing left to come: a one-off window before today, or a repeating one ended before today."""
    return Q(recurrence="none", first_day__lt=today) | Q(until__lt=today)


def _agent_query(agent, scope) -> str:
    return "" if agent.pk == scope.agent.pk else f"?agent={agent.pk}"


def _list_context(request, queryset, *, kind: str, expired_q):
    """Shared by both lists: current/expired tab, page of rows with their description and rights."""
    scope, agent = request.scope, request.target_agent
    today = timezone.localdate()
    expired = request.GET.get("periode") == "passees"
    queryset = queryset.filter(agent_id=agent.pk)
    queryset = queryset.filter(expired_q(today)) if expired else queryset.exclude(expired_q(today))
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    may_manage: dict = {}
    rows = []
    for item in page.object_list:
        organisation_id = getattr(item, "organisation_id", None)
        if organisation_id not in may_manage:
            may_manage[organisation_id] = policy.can_manage_agenda_of(scope, agent.pk, organisation_id)
        rows.append({"item": item, "description": describe_window(item, today=today),
                     "can_manage": may_manage[organisation_id]})
    query = _agent_query(agent, scope)
    return {
        "agent": agent, "is_self": agent.pk == scope.agent.pk, "rows": rows, "page": page, "expired": expired,
        "agent_query": query, "agent_param": "" if not query else f"agent={agent.pk}&",
        "colleagues": policy.agenda_agents(scope).order_by("last_name", "first_name"),
        "can_create": kind == "absence" and policy.can_manage_agenda_of(scope, agent.pk)
        or kind == "availability" and _manageable_organisations(scope, agent).exists(),
    }


# --- Plages d'ouverture ----------------------------------------------------------------------------

def _availability_choices(scope, agent, organisations, current=None) -> dict:
    """What the form offers: the organisations, their enabled locations, and the individual, current types of
    the agent's services (and the secretariat's types for a secretary), plus those the plage already has."""
    services = list(agent.services.values_list("id", "is_secretariat"))
    usable = Q(service_id__in=[pk for pk, _ in services])
    if any(is_secretariat for _, is_secretariat in services):
        usable |= Q(for_secretariat=True)
    types = AppointmentType.objects.filter(
        usable, organisation__in=organisations, collective=False, archived_at__isnull=True
    )
    locations = Location.objects.filter(organisation__in=organisations, availability=Location.Availability.ENABLED)
    if current is not None:
        types = AppointmentType.objects.filter(Q(pk__in=types.values("pk")) | Q(availabilities=current)).distinct()
        if current.location_id:
            locations = Location.objects.filter(Q(pk__in=locations.values("pk")) | Q(pk=current.location_id))
    return {
        "organisations": organisations,
        "locations": locations.select_related("organisation").order_by("name"),
        "appointment_types": types.select_related("organisation").order_by("name"),
    }


def _availability_queryset(scope):
    return policy.availabilities(scope).select_related("organisation", "location").prefetch_related(
        Prefetch("appointment_types", AppointmentType.objects.only("id", "name", "colour").order_by("name"))
    ).order_by("first_day", "start_time", "pk")


@agent_view
def availability_list(request):
    request.target_agent = _target_agent(request)
    context = _list_context(request, _availability_queryset(request.scope), kind="availability",
                            expired_q=_expired_q)
    return render(request, "scheduling/availability/availability_list.html", context)


def _save_availability(request, *, agent, organisations, current=None):
    choices = _availability_choices(request.scope, agent, organisations, current)
    initial = None
    if current is not None:
        initial = {name: getattr(current, name) for name in (
            "organisation", "location", "title", "first_day", "start_time", "end_time", "recurrence", "interval",
            "weekdays", "until", "excluded_dates")}
        initial["appointment_types"] = list(current.appointment_types.all())
    else:
        today = timezone.localdate()
        initial = {"first_day": today, "start_time": "09:00", "end_time": "12:00", "recurrence": "weekly",
                   "weekdays": [today.weekday()], "organisation": organisations.first(),
                   "location": choices["locations"].first()}
    form = AvailabilityForm(request.POST if request.method == "POST" else None, initial=initial, **choices)
    warnings = []
    if request.method == "POST" and form.is_valid():
        try:
            if current is None:
                saved = availability_create(agent=agent, **form.service_kwargs())
            else:
                saved = availability_update(availability=current, agent=agent, **form.service_kwargs())
        except ValidationError as error:
            form.add_service_errors(error)
        except AvailabilityWarnings as error:
            warnings = error.warnings
        else:
            messages.success(request, "Plage d'ouverture enregistrée." if current else "Plage d'ouverture créée.")
            expired = saved.until and saved.until < timezone.localdate() or (
                saved.recurrence == "none" and saved.first_day < timezone.localdate())
            query = _agent_query(agent, request.scope)
            if expired:
                query = f"{query}&periode=passees" if query else "?periode=passees"
            return redirect(reverse("agent_availabilities") + query)
    return render(request, "scheduling/availability/availability_form.html", {
        "form": form, "agent": agent, "current": current, "warnings": warnings,
        "is_self": agent.pk == request.scope.agent.pk, "agent_query": _agent_query(agent, request.scope),
    }, status=400 if form.errors else 200)


@agent_view
def availability_new(request):
    agent = _target_agent(request)
    organisations = _manageable_organisations(request.scope, agent)
    if not organisations.exists():
        raise PermissionDenied(CANNOT_MANAGE)
    return _save_availability(request, agent=agent, organisations=organisations)


def _managed_availability(request, pk):
    availability = policy.get_visible_or_404(_availability_queryset(request.scope), pk=pk)
    if not policy.can_manage_agenda_of(request.scope, availability.agent_id, availability.organisation_id):
        raise PermissionDenied(CANNOT_MANAGE)
    return availability


@agent_view
def availability_edit(request, pk: int):
    availability = _managed_availability(request, pk)
    agent = availability.agent
    organisations = _manageable_organisations(request.scope, agent)
    return _save_availability(request, agent=agent, organisations=organisations, current=availability)


@agent_view
def availability_remove(request, pk: int):
    availability = _managed_availability(request, pk)
    agent_query = _agent_query(availability.agent, request.scope)
    if request.method == "POST":
        availability_delete(availability=availability)
        messages.success(request, "Plage d'ouverture supprimée.")
        return redirect(reverse("agent_availabilities") + agent_query)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "scheduling/availability/confirm_delete.html", {
        "title": "Supprimer la plage d'ouverture", "object": availability,
        "description": describe_window(availability), "back": reverse("agent_availabilities") + agent_query,
        "explanation": "Les rendez-vous déjà pris sur cette plage restent en place ; aucun nouveau créneau n'y "
                       "sera proposé.",
    })


# --- Absences --------------------------------------------------------------------------------------

def _absence_queryset(scope):
    return policy.absences(scope).order_by("first_day", "start_time", "pk")


def _absence_expired_q(today) -> Q:
    return Q(recurrence="none", end_day__lt=today) | Q(until__lt=today)


@agent_view
def absence_list(request):
    request.target_agent = _target_agent(request)
    context = _list_context(request, _absence_queryset(request.scope), kind="absence", expired_q=_absence_expired_q)
    return render(request, "scheduling/availability/absence_list.html", context)


def _save_absence(request, *, agent, current=None):
    if current is not None:
        initial = {name: getattr(current, name) for name in (
            "title", "first_day", "start_time", "end_day", "end_time", "recurrence", "interval", "weekdays", "until",
            "excluded_dates")}
    else:
        tomorrow = timezone.localdate() + timedelta(days=1)
        initial = {"first_day": tomorrow, "start_time": "09:00", "end_time": "18:00", "recurrence": "none"}
    form = AbsenceForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if current is None:
                saved = absence_create(agent=agent, **form.service_kwargs())
            else:
                saved = absence_update(absence=current, **form.service_kwargs())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Absence enregistrée." if current else "Absence créée.")
            today = timezone.localdate()
            query = _agent_query(agent, request.scope)
            if saved.until and saved.until < today or (saved.recurrence == "none" and saved.end_day < today):
                query = f"{query}&periode=passees" if query else "?periode=passees"
            return redirect(reverse("agent_absences") + query)
    return render(request, "scheduling/availability/absence_form.html", {
        "form": form, "agent": agent, "current": current, "is_self": agent.pk == request.scope.agent.pk,
        "agent_query": _agent_query(agent, request.scope),
    }, status=400 if form.errors else 200)


@agent_view
def absence_new(request):
    agent = _target_agent(request)
    if not policy.can_manage_agenda_of(request.scope, agent.pk):
        raise PermissionDenied(CANNOT_MANAGE)
    return _save_absence(request, agent=agent)


def _managed_absence(request, pk):
    absence = policy.get_visible_or_404(_absence_queryset(request.scope).select_related("agent"), pk=pk)
    if not policy.can_manage_agenda_of(request.scope, absence.agent_id):
        raise PermissionDenied(CANNOT_MANAGE)
    return absence


@agent_view
def absence_edit(request, pk: int):
    absence = _managed_absence(request, pk)
    return _save_absence(request, agent=absence.agent, current=absence)


@agent_view
def absence_remove(request, pk: int):
    absence = _managed_absence(request, pk)
    agent_query = _agent_query(absence.agent, request.scope)
    if request.method == "POST":
        absence_delete(absence=absence)
        messages.success(request, "Absence supprimée.")
        return redirect(reverse("agent_absences") + agent_query)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "scheduling/availability/confirm_delete.html", {
        "title": "Supprimer l'absence", "object": absence, "description": describe_window(absence),
        "back": reverse("agent_absences") + agent_query,
        "explanation": "Les créneaux de cette période redeviendront disponibles à la réservation.",
    })
