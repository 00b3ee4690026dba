"""National public statistics on the platform host: open to anyone, read from the public schema only."""

import csv
import io

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.timezone import localdate
from django.views.decorators.http import require_safe

from reporting.national import COUNT_FIELDS, national_statistics

CSV_HEADER = [
    "mois", "type d'administration", "administrations actives", "rendez-vous", "honorés",
    "absences non excusées", "annulés par l'usager", "annulés par le service", "à renseigner",
    "pris en ligne par les usagers", "e-mails envoyés", "SMS envoyés", "segments SMS",
]


@require_safe
def national_statistics_page(request):
    data = national_statistics()
    return render(request, "reporting/national/statistics.html", {
        **data,
        "current_month": localdate().replace(day=1),
    })


@require_safe
def national_statistics_csv(request):
    """The aggregates as open data: one row per month and kind of administration (UTF-8 with BOM, ';')."""
    data = national_statistics()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in data["rows"]:
        writer.writerow([
            row["month"].strftime("%Y-%m"), row["administration_kind_label"], row["administrations"],
            *(row[field] for field in COUNT_FIELDS),
        ])
    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="statistiques-nationales.csv"'
    return response
