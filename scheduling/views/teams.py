"""Teams ("équipes") of the organisations an admin administers: list, create, edit, delete.

Admins only (``agent_view(admin=True)``: a French 403 for the others); a team of an organisation he does
not administer is a 404 (``policy.managed_teams``). Writes go through ``scheduling.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse

from .. import policy
from ..forms.availability import TeamForm
from ..models import Agent, AgentRole, Organisation
from ..services import team_create, team_delete, team_update
from .common import agent_view


def _admin_organisations(scope):
    return Organisation.objects.filter(pk__in=scope.admin_organisation_ids).order_by("name")


def _admin_agents(scope):
    members = AgentRole.objects.filter(organisation_id__in=scope.admin_organisation_ids).values("agent_id")
    return policy.agents(scope).filter(pk__in=members).order_by("last_name", "first_name")


def _teams(scope):
    return policy.managed_teams(scope).select_related("organisation").prefetch_related(
        Prefetch("agents", Agent.objects.filter(deleted_at__isnull=True).order_by("last_name", "first_name"))
    ).order_by("organisation__name", "name")


@agent_view(admin=True)
def team_list(request):
    teams = list(_teams(request.scope))
    return render(request, "scheduling/teams/team_list.html", {
        "teams": teams, "several_organisations": len(request.scope.admin_organisation_ids) > 1,
    })


def _save_team(request, current=None):
    scope = request.scope
    organisations = _admin_organisations(scope)
    initial = {"organisation": organisations.first()}
    if current is not None:
        initial = {"organisation": current.organisation, "name": current.name, "agents": list(current.agents.all())}
    form = TeamForm(request.POST if request.method == "POST" else None, initial=initial,
                    organisations=organisations, agents=_admin_agents(scope))
    if current is not None:
        form.fields["organisation"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if current is None:
                team_create(organisation=data["organisation"], name=data["name"], agents=data["agents"])
            else:
                team_update(team=current, name=data["name"], agents=data["agents"])
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Équipe enregistrée." if current else "Équipe créée.")
            return redirect("teams")
    return render(request, "scheduling/teams/team_form.html", {"form": form, "current": current},
                  status=400 if form.errors else 200)


@agent_view(admin=True)
def team_new(request):
    return _save_team(request)


@agent_view(admin=True)
def team_edit(request, pk: int):
    return _save_team(request, policy.get_visible_or_404(_teams(request.scope), pk=pk))


@agent_view(admin=True)
def team_remove(request, pk: int):
    team = policy.get_visible_or_404(_teams(request.scope), pk=pk)
    if request.method == "POST":
        team_delete(team=team)
        messages.success(request, f"Équipe « {team.name} » supprimée.")
        return redirect("teams")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "scheduling/availability/confirm_delete.html", {
        "title": "Supprimer l'équipe", "object": team, "description": f"{team.name} ({team.organisation})",
        "back": reverse("teams"),
        "explanation": "Les agents restent dans l'organisation ; seule l'équipe disparaît.",
    })
