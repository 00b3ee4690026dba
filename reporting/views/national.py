"""National public statistics on the platform host: open to anyone, read from the public schema only."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.timezone import localdate
from django.views.decorators.http import require_safe

from reporting import charts
from reporting.exports import csv_lines
from reporting.national import COUNT_FIELDS, national_statistics

CSV_HEADER = [
    "mois", "type d'administration", "administrations actives", "rendez-vous", "honorés",
    "absences non excusées", "annulés par l'usager", "annulés par le service", "à renseigner",
    "pris en ligne par les usagers", "e-mails envoyés", "SMS envoyés", "segments SMS",
]


def national_charts(data: dict) -> dict:
    """The page's SVG charts, from the cached figures (no query). Each one is followed on the page by a
    table holding the same numbers, and more."""
    months = data["months"]
    if not months:
        return {}
    categories = [month["month"].strftime("%m/%Y") for month in months]
    # One series per kind of administration that has appointments (month["by_kind"] follows data["kinds"]).
    by_kind = [charts.ChartSeries(kind["label"], [month["by_kind"][n]["count"] for month in months])
               for n, kind in enumerate(data["kinds"])]
    by_kind = [series for series in by_kind if any(series.values)]
    return {
        "appointments": charts.bar_chart(
            chart_id="national-appointments", title="Rendez-vous par mois et par type d'administration",
            description="Barres empilées : une par mois, un segment par type d'administration, total au-dessus.",
            categories=categories, series=by_kind, category_header="Mois",
        ),
        "no_show": charts.line_chart(
            chart_id="national-no-show", title="Taux d'absence non excusée par mois",
            description="Absences non excusées ÷ (honorés + absences non excusées), en pourcentage ; "
                        "un mois sans rendez-vous dont l'issue est connue n'a pas de point.",
            categories=categories, category_header="Mois",
            series=[charts.ChartSeries("Taux d'absence non excusée", [m["no_show_rate"] for m in months])],
        ),
        "online": charts.line_chart(
            chart_id="national-online", title="Part des rendez-vous pris en ligne par les usagers",
            categories=categories, category_header="Mois", maximum=100,
            series=[charts.ChartSeries("Part prise en ligne", [m["online_share"] for m in months])],
        ),
        "messages": charts.bar_chart(
            chart_id="national-messages", title="Messages envoyés par mois et par canal", stacked=False,
            description="Barres groupées par mois : e-mails, SMS et segments SMS.",
            categories=categories, category_header="Mois",
            series=[charts.ChartSeries("E-mails", [m["emails_sent"] for m in months]),
                    charts.ChartSeries("SMS", [m["sms_sent"] for m in months]),
                    charts.ChartSeries("Segments SMS", [m["sms_segments"] for m in months])],
        ),
        "administrations": charts.horizontal_bar_chart(
            chart_id="national-administrations", title="Administrations par type",
            labels=[item["label"] for item in data["administrations_by_kind"]],
            values=[item["count"] for item in data["administrations_by_kind"]],
            value_header="Administrations", category_header="Type d'administration",
        ),
    }


@require_safe
def national_statistics_page(request):
    data = national_statistics()
    return render(request, "reporting/national/statistics.html", {
        **data,
        "charts": national_charts(data),
        "current_month": localdate().replace(day=1),
    })


@require_safe
def national_statistics_csv(request):
    """The aggregates as open data: one row per month and kind of administration (UTF-8 with BOM, ';')."""
    rows = (
        (row["month"].strftime("%Y-%m"), row["administration_kind_label"], row["administrations"],
         *(row[field] for field in COUNT_FIELDS))
        for row in national_statistics()["rows"]
    )
    content = b"".join(csv_lines(rows, header=CSV_HEADER))
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="statistiques-nationales.csv"'
    return response
