"""A usager's data (RGPD): the download (right of access) by an agent from the usager's page (only usagers and
appointments the policy lets him see; anything else is a 404) and by the usager from "Mon compte"; the erasure
asked to an agent (admins of one of the usager's organisations, after a confirmation)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from public_booking.views.self_service import citizen_required
from scheduling import policy
from scheduling.views.common import agent_view

from .forms import EraseForm
from .selectors import citizen_export
from .services import citizen_erase

ERASE_REFUSED = "Seuls les administrateurs d'une organisation de cet usager peuvent effacer ses données."


def _download(data: dict, citizen_id: int) -> HttpResponse:
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    name = f"donnees-usager-{citizen_id}-{timezone.localdate():%Y%m%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@agent_view
def citizen_export_for_agent(request, pk: int):
    citizen = policy.get_visible_or_404(policy.citizens(request.scope).select_related("account", "responsible"), pk=pk)
    return _download(citizen_export(citizen, appointments=policy.appointments(request.scope)), citizen.pk)


@require_GET
@citizen_required
def citizen_export_own(request):
    return _download(citizen_export(request.citizen), request.citizen.pk)


@agent_view(admin=True)
def citizen_erase_for_agent(request, pk: int):
    scope = request.scope
    citizen = policy.get_visible_or_404(policy.citizens(scope), pk=pk)
    if not set(citizen.organisations.values_list("pk", flat=True)) & scope.admin_organisation_ids:
        raise PermissionDenied(ERASE_REFUSED)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        citizen_erase(citizen=citizen)
        messages.success(request, "Les données de l'usager ont été effacées.")
        return redirect("citizens")
    relatives = citizen.relatives.filter(deleted_at__isnull=True).order_by("first_name")
    return render(request, "retention/citizen_erase.html", {"citizen": citizen, "relatives": relatives, "form": form},
                  status=400 if form.is_bound else 200)
