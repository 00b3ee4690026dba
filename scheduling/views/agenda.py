"""The agenda area of the back office: day/week agenda, appointment list, actions on an appointment.

Every read goes through ``scheduling.policy`` (invisible → 404) and every write through
``scheduling.services`` / ``messaging.services``. Bad input gives French errors and changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import policy
from ..agenda import agent_agenda, appointments_filtered, day_bounds
from ..forms.agenda import AgendaForm, AppointmentFilterForm, ContextForm, MoveForm, StatusForm
from ..models import AppointmentAgent, Organisation, Participation
from ..services import (
    Actor,
    BookingWarnings,
    SlotUnavailable,
    appointment_move,
    appointment_set_status,
    appointment_update_context,
    participation_set_status,
)
from .common import agent_view

PAGE_SIZE = 50
WEEKDAYS_SHOWN = 5


def _organisation_for(scope: policy.Scope, agent_id: int) -> Organisation | None:
    """The organisation whose timezone and holidays the agenda of ``agent_id`` is shown in: the first (by
    name) of the reader's organisations where that agent has a role, else the reader's first one."""
    organisations = list(
        policy.organisations(scope).filter(agent_roles__agent_id=agent_id).order_by("name", "pk")[:1]
    ) or list(policy.organisations(scope).order_by("name", "pk")[:1])
    return organisations[0] if organisations else None


# --- Agenda ----------------------------------------------------------------------------------------

@agent_view
def agenda(request):
    """Day or week of one agent (himself by default, or a colleague the policy lets him see)."""
    scope = request.scope
    form = AgendaForm(request.GET or None, scope=scope)
    options = {}
    if form.is_bound:
        form.is_valid()
        options = form.cleaned_data
    target = options.get("agent") or scope.agent
    view_kind = options.get("view") or "week"
    weekends, cancelled = bool(options.get("weekends")), bool(options.get("cancelled"))
    organisation = _organisation_for(scope, target.pk)
    tz = ZoneInfo(organisation.timezone if organisation else timezone.get_current_timezone_name())
    today = timezone.now().astimezone(tz).date()
    chosen = options.get("date") or today
    if view_kind == "day":
        days = [chosen]
        previous_day, next_day = chosen - timedelta(days=1), chosen + timedelta(days=1)
        if not weekends:
            while previous_day.weekday() >= WEEKDAYS_SHOWN:
                previous_day -= timedelta(days=1)
            while next_day.weekday() >= WEEKDAYS_SHOWN:
                next_day += timedelta(days=1)
    else:
        monday = chosen - timedelta(days=chosen.weekday())
        days = [monday + timedelta(days=n) for n in range(7 if weekends else WEEKDAYS_SHOWN)]
        previous_day, next_day = monday - timedelta(days=7), monday + timedelta(days=7)

    def link(day: date | None, kind: str = view_kind) -> str:
        params = {"agent": target.pk, "view": kind}
        if day is not None:
            params["date"] = day.isoformat()
        if weekends:
            params["weekends"] = "1"
        if cancelled:
            params["cancelled"] = "1"
        return f"{reverse('agent_agenda')}?{urlencode(params)}"

    agenda_days = agent_agenda(
        scope=scope, agent=target, days=days, tz=tz, include_cancelled=cancelled, today=today,
        holiday_region=organisation.holiday_region if organisation else "metropole",
    )
    if not form.is_bound:
        form = AgendaForm(initial={"agent": target.pk, "view": view_kind, "date": chosen}, scope=scope)
    return render(request, "scheduling/agenda/agenda.html", {
        "form": form, "target": target, "is_self": target.pk == scope.agent.pk, "view_kind": view_kind,
        "days": agenda_days, "tz": tz, "organisation": organisation, "today": today,
        "previous_url": link(previous_day), "next_url": link(next_day), "today_url": link(None),
        "first_day": days[0], "last_day": days[-1],
        "day_url": link(chosen, "day"), "week_url": link(chosen, "week"),
    })


# --- Appointment list ------------------------------------------------------------------------------

def _export_url() -> str | None:
    try:
        return reverse("appointments_export")
    except NoReverseMatch:
        return None


@agent_view
def appointment_list(request):
    """Every appointment the agent may see, filtered and paginated."""
    scope = request.scope
    params = request.GET.copy()
    params.pop("page", None)
    form = AppointmentFilterForm(params if params else None, scope=scope)
    appointments = (
        policy.appointments(scope)
        .select_related("appointment_type", "location", "organisation")
        .prefetch_related(
            Prefetch("agent_links", AppointmentAgent.objects.select_related("agent").order_by("agent__last_name",
                                                                                               "pk")),
            Prefetch("participations", Participation.objects.select_related("citizen").order_by("pk")),
        )
    )
    status_code = 200
    tz = timezone.get_current_timezone()
    if form.is_bound and not form.is_valid():
        appointments = appointments.none()
        status_code = 400
    elif form.is_bound:
        appointments = appointments_filtered(appointments, form.cleaned_data, tz)
    else:
        today = timezone.now().astimezone(tz).date()
        form = AppointmentFilterForm(initial={"date_from": today}, scope=scope)
        appointments = appointments.filter(ends_at__gt=day_bounds(today, tz)[0])
    page = Paginator(appointments.order_by("starts_at", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "scheduling/agenda/appointment_list.html", {
        "form": form, "page": page, "query": params.urlencode(), "export_url": _export_url(),
    }, status=status_code)


# --- Actions of the appointment page -----------------------------------------------------------------

def _visible_appointment(scope, pk):
    return policy.get_visible_or_404(policy.appointments(scope).select_related("appointment_type", "organisation"),
                                     pk=pk)


def _page(request, appointment_pk, *, status=400, **extra):
    from .home import appointment_page

    return appointment_page(request, appointment_pk, status=status, **extra)


def _errors(error: ValidationError) -> list[str]:
    return [message for message in error.messages]


@require_POST
@agent_view
def appointment_status(request, pk: int):
    """Honoré, lapin, annulé excusé, annulé par le service, réinitialiser; for a participant when given."""
    scope = request.scope
    appointment = _visible_appointment(scope, pk)
    if not policy.can_change_status(scope, appointment):  # defensive: visible means allowed
        raise PermissionDenied("Vous ne pouvez pas changer le statut de ce rendez-vous.")
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _page(request, pk, status_errors=[e for errors in form.errors.values() for e in errors])
    actor = Actor.for_agent(scope.agent)
    try:
        participation_id = form.cleaned_data.get("participation")
        if participation_id:
            participation = appointment.participations.filter(pk=participation_id).first()
            if participation is None:
                return _page(request, pk, status_errors=["Cet usager ne participe pas à ce rendez-vous."])
            participation_set_status(participation=participation, status=form.cleaned_data["status"], actor=actor)
        else:
            appointment_set_status(appointment=appointment, status=form.cleaned_data["status"], actor=actor)
    except SlotUnavailable as error:
        return _page(request, pk, status=409, status_errors=[
            f"{error.message} (un autre rendez-vous occupe maintenant ce créneau : déplacez celui-ci d'abord)."
        ])
    except ValidationError as error:
        return _page(request, pk, status_errors=_errors(error))
    messages.success(request, "Le statut a été enregistré.")
    return redirect("agent_appointment", pk=pk)


@require_POST
@agent_view
def appointment_move_view(request, pk: int):
    """Move: date, time, duration and agents; warnings shown to be accepted, a taken slot is a 409."""
    scope = request.scope
    appointment = _visible_appointment(scope, pk)
    if not policy.can_book(scope, appointment.appointment_type):
        raise PermissionDenied("Vous ne pouvez pas déplacer ce rendez-vous.")
    tz = ZoneInfo(appointment.organisation.timezone)
    form = MoveForm(request.POST, scope=scope, appointment=appointment, tz=tz)
    if not form.is_valid():
        return _page(request, pk, move_form=form)
    data = form.cleaned_data
    try:
        appointment_move(
            appointment=appointment, actor=Actor.for_agent(scope.agent),
            starts_at=form.starts_at, duration=form.duration,
            agents=list(data["agents"]), accept_warnings=data["accept_warnings"],
        )
    except BookingWarnings as error:
        return _page(request, pk, move_form=form, move_warnings=error.warnings)
    except SlotUnavailable as error:
        return _page(request, pk, status=409, move_form=form, move_errors=[
            f"{error.message} Un autre rendez-vous de cet agent occupe déjà ce créneau."
        ])
    except ValidationError as error:
        return _page(request, pk, move_form=form, move_errors=_errors(error))
    messages.success(request, "Le rendez-vous a été déplacé.")
    return redirect("agent_appointment", pk=pk)


@require_POST
@agent_view
def appointment_context(request, pk: int):
    scope = request.scope
    appointment = _visible_appointment(scope, pk)
    if not policy.can_book(scope, appointment.appointment_type):
        raise PermissionDenied("Vous ne pouvez pas modifier ce rendez-vous.")
    form = ContextForm(request.POST)
    if not form.is_valid():
        return _page(request, pk, context_form=form)
    try:
        appointment_update_context(appointment=appointment, context=form.cleaned_data["context"],
                                   actor=Actor.for_agent(scope.agent))
    except ValidationError as error:
        form.add_error(None, error)
        return _page(request, pk, context_form=form)
    messages.success(request, "Le contexte a été enregistré.")
    return redirect("agent_appointment", pk=pk)


@require_POST
@agent_view
def appointment_reminder(request, pk: int):
    from messaging.services import ReminderRefused, reminder_send_now

    scope = request.scope
    appointment = _visible_appointment(scope, pk)
    try:
        rows = reminder_send_now(appointment=appointment, actor=Actor.for_agent(scope.agent))
    except ReminderRefused as error:
        return _page(request, pk, reminder_errors=[str(error)])
    sent = sum(1 for row in rows if row.status == "pending")
    messages.success(request, f"Rappel envoyé ({sent} message{'s' if sent > 1 else ''} en cours d'envoi)."
                     if sent else "Aucun rappel n'a pu partir : voyez le détail dans les notifications.")
    return redirect("agent_appointment", pk=pk)


@agent_view
def appointment_print(request, pk: int):
    from .home import appointment_page

    return appointment_page(request, pk, template="scheduling/agenda/appointment_print.html")
