"""Downloads of a usager's data (RGPD right of access): by an agent from the usager's page (only usagers and
appointments the policy lets him see; anything else is a 404), and by the usager from "Mon compte"."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from public_booking.views.self_service import citizen_required
from scheduling import policy
from scheduling.views.common import agent_view

from .selectors import citizen_export


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
