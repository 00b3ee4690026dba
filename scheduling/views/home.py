from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import render

from .. import policy
from ..models import AppointmentAgent, Participation
from ..selectors import appointment_history


@login_required
def agents_home(request):
    return render(request, "scheduling/agents_home.html")


@login_required
def appointment_detail(request, pk: int):
    """One appointment as an agent reads it: what, when, where, who, its history and every notification
    written for it (sent, failed with the reason, or skipped and why)."""
    from messaging.selectors import messages_for_appointment

    scope = policy.scope_for_request(request)
    if scope is None:
        raise PermissionDenied(policy.NO_AGENT_PROFILE_MESSAGE)
    appointment = policy.get_visible_or_404(
        policy.appointments(scope).select_related("appointment_type", "location", "organisation").prefetch_related(
            Prefetch("agent_links", AppointmentAgent.objects.select_related("agent")),
            Prefetch("participations", Participation.objects.select_related("citizen")),
        ),
        pk=pk,
    )
    return render(request, "scheduling/appointment_detail.html", {
        "appointment": appointment,
        "tz": appointment.organisation.timezone,
        "changes": appointment_history(appointment),
        "notifications": messages_for_appointment(appointment),
    })
