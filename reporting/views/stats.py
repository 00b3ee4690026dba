"""The statistics page of the back office (``/agents/statistiques/``): thin, the figures come from
``reporting.selectors`` and the charts from ``reporting.charts``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.shortcuts import render
from django.utils import timezone

from scheduling import policy
from scheduling.views.common import agent_view

from .. import charts, documents, selectors
from ..forms import StatisticsFilterForm


def _previous_month(tz: str) -> str:
    """"AAAA-MM" of the month before this one in ``tz``: the monthly report's own default."""
    return f"{documents.previous_month(timezone.now().astimezone(ZoneInfo(tz)).date()):%Y-%m}"


@agent_view
def statistics_page(request):
    """Figures of the appointments the agent may count (``selectors.visible_appointments``) over a period."""
    scope = request.scope
    organisations = list(policy.organisations(scope).order_by("name", "pk"))
    zones = {organisation.timezone for organisation in organisations}
    default_tz = zones.pop() if len(zones) == 1 else request.tenant.timezone
    form = StatisticsFilterForm(request.GET, organisations=organisations, default_tz=default_tz)
    context = {"form": form, "organisations": organisations, "granularities": selectors.GRANULARITIES}
    if organisations and form.is_valid():
        data = form.cleaned_data
        chosen = [data["organisation_obj"]] if data["organisation_obj"] else organisations
        stats = selectors.statistics(
            selectors.visible_appointments(scope, form.organisation_ids),
            start=data["start"], end=data["end"], tz=data["tz"], granularity=data["granularity"],
        )
        context.update({
            "stats": stats,
            "charts": charts.statistics_charts(stats),
            "report_organisations": [o for o in chosen if o.pk in scope.admin_organisation_ids],
            "previous_month": _previous_month(data["tz"]),
            "perimeter": [
                {"name": organisation.name, "whole": organisation.pk in scope.admin_organisation_ids}
                for organisation in chosen
            ],
            "chosen": data["organisation_obj"],
            "median_delay": charts.format_duration(stats.delay.median),
            "average_delay": charts.format_duration(stats.delay.average),
            "sms_segments": sum(entry.sms_segments for entry in stats.messages),
            "messages_total": sum(entry.total for entry in stats.messages),
        })
    return render(request, "reporting/stats/statistics.html", context)
