from __future__ import annotations

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from .. import policy
from .. import status as status_rules
from ..agenda import day_bounds
from ..forms.agenda import STATUS_ACTIONS, ContextForm, MoveForm
from ..models import AppointmentAgent, Participation
from ..selectors import appointment_history
from .common import agent_view


@login_required
def agents_home(request):
    """The organisations where the agent has a role (the page focuses on one when he has a single one, or
    the one he picked), his appointments to fill in, today's appointments and the main actions. An account
    without agent profile still gets its account links."""
    scope = policy.scope_for_request(request)
    if scope is None:
        return render(request, "scheduling/agents_home.html", {"no_profile": True})
    organisations = list(policy.organisations(scope).order_by("name", "pk"))
    chosen = organisations[0] if len(organisations) == 1 else None
    picked = request.GET.get("organisation", "")
    if picked and len(organisations) > 1:
        chosen = next((o for o in organisations if str(o.pk) == picked), None)
    reference = chosen or (organisations[0] if organisations else None)
    tz = ZoneInfo(reference.timezone) if reference else timezone.get_current_timezone()
    now = timezone.now()
    mine = policy.appointments(scope).filter(
        pk__in=AppointmentAgent.objects.filter(agent_id=scope.agent.pk).values("appointment_id")
    )
    if chosen is not None:
        mine = mine.filter(organisation=chosen)
    to_fill = mine.filter(status=status_rules.UNKNOWN, ends_at__lte=now).count()
    start, end = day_bounds(now.astimezone(tz).date(), tz)
    today = (
        mine.filter(starts_at__lt=end, ends_at__gt=start)
        .select_related("appointment_type", "location", "organisation")
        .prefetch_related(Prefetch("participations", Participation.objects.select_related("citizen").order_by("pk")))
        .order_by("starts_at", "pk")
    )
    filters = {"status": "to_fill", "agent": scope.agent.pk}
    if chosen is not None:
        filters["organisation"] = chosen.pk
    return render(request, "scheduling/agents_home.html", {
        "organisations": organisations, "chosen": chosen, "to_fill": to_fill, "today": list(today), "tz": tz,
        "to_fill_url": f"{reverse('agent_appointments')}?{urlencode(filters)}",
        "today_date": now.astimezone(tz).date(),
    })


def appointment_page(request, pk: int, *, status: int = 200, template: str = "scheduling/appointment_detail.html",
                     **extra):
    """The appointment page (also re-rendered by the actions with their errors, see views.agenda)."""
    from messaging.selectors import messages_for_appointment

    scope = request.scope
    appointment = policy.get_visible_or_404(
        policy.appointments(scope).select_related("appointment_type", "location", "organisation").prefetch_related(
            Prefetch("agent_links", AppointmentAgent.objects.select_related("agent").order_by("pk")),
            Prefetch("participations", Participation.objects.select_related("citizen").order_by("pk")),
        ),
        pk=pk,
    )
    tz = ZoneInfo(appointment.organisation.timezone)
    collective = appointment.appointment_type.collective
    allowed = status_rules.COLLECTIVE_ALLOWED if collective else status_rules.ALL
    may_edit = policy.can_book(scope, appointment.appointment_type)
    context = {
        "appointment": appointment,
        "tz": tz,
        "changes": appointment_history(appointment),
        "notifications": messages_for_appointment(appointment),
        "status_actions": [(value, label) for value, label in STATUS_ACTIONS
                           if value in allowed and value != appointment.status],
        "participation_actions": STATUS_ACTIONS,
        "may_edit": may_edit,
        "duration_minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "now": timezone.now(),
    }
    if may_edit and template.endswith("appointment_detail.html"):
        context["move_form"] = MoveForm(scope=scope, appointment=appointment, tz=tz)
        context["context_form"] = ContextForm(initial={"context": appointment.context})
    context.update(extra)
    return render(request, template, context, status=status)


@agent_view
def appointment_detail(request, pk: int):
    """One appointment as an agent reads it: what, when, where, who, its history and every notification
    written for it (sent, failed with the reason, or skipped and why), and the actions on it."""
    return appointment_page(request, pk)
