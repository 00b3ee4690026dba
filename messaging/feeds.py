"""The agent's calendar feed: a secret ``webcal://`` address (no sign-in: calendar programs cannot) that
lists his appointments, cancelled ones marked as such. Summaries name the type and the number of usagers,
never the usagers themselves: the feed ends up in third-party calendars."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from scheduling.models import CANCELLED_STATUSES, Agent
from scheduling.policy import agent_of
from scheduling.selectors import agent_feed_appointments
from scheduling.services import agent_calendar_token_regenerate

from .ics import agent_feed
from .rendering import agent_url, place_label


def _summary(appointment) -> str:
    label = appointment.title or appointment.appointment_type.name
    count = appointment.participant_count
    people = f" ({count} usager{'s' if count > 1 else ''})" if count else ""
    return f"RDV {label}{people}"


@require_GET
def agent_calendar(request, token: str):
    agent = Agent.objects.filter(calendar_token=token, deleted_at__isnull=True).first()
    if agent is None:
        raise Http404("Ce lien d'agenda n'existe pas ou a été remplacé.")
    events = [
        {
            "uid": f"{appointment.uuid}@{connection.schema_name}",
            "summary": _summary(appointment),
            "description": agent_url(appointment),
            "location": place_label(appointment),
            "starts_at": appointment.starts_at, "ends_at": appointment.ends_at,
            "tz": appointment.organisation.timezone,
            "cancelled": appointment.status in CANCELLED_STATUSES,
            "sequence": int(appointment.updated_at.timestamp()),
            "url": agent_url(appointment),
        }
        for appointment in agent_feed_appointments(agent=agent, now=timezone.now())
    ]
    name = f"RDV — {agent} ({request.tenant.name})" if hasattr(request, "tenant") else f"RDV — {agent}"
    response = HttpResponse(agent_feed(name=name, events=events), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="agenda.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request):
    agent = agent_of(request.user)
    if request.method == "POST" and agent is not None:
        agent_calendar_token_regenerate(agent=agent)
        messages.success(request, "Nouvelle adresse créée : l'ancienne ne fonctionne plus.")
        return redirect("agent_calendar_settings")
    feed_url = ""
    if agent is not None:
        feed_url = request.build_absolute_uri(reverse("agent_calendar", kwargs={"token": agent.calendar_token}))
    return render(request, "accounts/calendar_feed.html", {
        "agent": agent, "feed_url": feed_url,
        "webcal_url": feed_url.replace("https://", "webcal://").replace("http://", "webcal://"),
    })
