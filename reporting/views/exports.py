"""Exports of the appointment list (back office): choose what and which format, stream small files at once,
follow the background job of large ones, download one's own files. Rules in ``reporting.services``."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from scheduling import policy
from scheduling.forms.agenda import AppointmentFilterForm
from scheduling.views.common import agent_view

from .. import services
from ..models import Export

RECENT_EXPORTS = 20


KIND_CHOICES = (
    (Export.Kind.APPOINTMENTS, "Rendez-vous (une ligne par rendez-vous)"),
    (Export.Kind.PARTICIPATIONS, "Participations (une ligne par usager et par rendez-vous, avec son statut)"),
)


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label="Que voulez-vous exporter ?", choices=KIND_CHOICES, initial="appointments",
                             widget=forms.RadioSelect, error_messages={
                                 "required": "Choisissez ce que vous voulez exporter.",
                                 "invalid_choice": "Choisissez rendez-vous ou participations.",
                             })
    format = forms.ChoiceField(label="Format du fichier", choices=Export.Format.choices, initial="csv",
                               widget=forms.RadioSelect, error_messages={
                                   "required": "Choisissez le format du fichier.",
                                   "invalid_choice": "Choisissez le format du fichier : CSV ou Excel (XLSX).",
                               })


def _filters_of(params) -> dict:
    """The list's filters; with no filter at all, the list's default (from today) like the list shows."""
    if not any(name in params for name in AppointmentFilterForm.base_fields):
        return {"date_from": timezone.localdate().isoformat()}
    return services.export_filters(params)


def _filter_summary(scope, filters: dict) -> tuple[list[tuple[str, str]], list[str]]:
    """What the filters say, in words, and their French errors."""
    form = AppointmentFilterForm(filters, scope=scope)
    if not form.is_valid():
        return [], [message for messages in form.errors.values() for message in messages]
    summary = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, ""):
            continue
        if hasattr(field, "choices") and not hasattr(value, "pk"):
            value = dict(field.choices).get(value, value)
        elif hasattr(value, "strftime"):
            value = value.strftime("%d/%m/%Y")
        summary.append((field.label, str(value)))
    return summary, []


@agent_view
def appointments_export(request):
    """GET: the form, with the list's filters carried along. POST: stream a small file or start the job."""
    scope = request.scope
    params = request.POST if request.method == "POST" else request.GET
    filters = _filters_of(params)
    form = ExportForm(request.POST if request.method == "POST" else None)
    status = 200
    error = None
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.export_start(scope=scope, kind=form.cleaned_data["kind"],
                                               file_format=form.cleaned_data["format"], filters=filters)
            except ValidationError as invalid:
                error, status = " ".join(invalid.messages), 400
            else:
                if isinstance(result, Export):
                    return redirect("agent_export", result.uuid)
                return _download_response(result)
        else:
            status = 400
    summary, filter_errors = _filter_summary(scope, filters)
    if filter_errors and status == 200 and request.GET:
        status = 400
    return render(request, "reporting/exports/start.html", {
        "form": form, "filters": filters, "summary": summary, "filter_errors": filter_errors, "error": error,
        "stream_max": f"{settings.EXPORT_STREAM_MAX_ROWS:,}".replace(",", "\u202f"),
        "hidden_filters": [(name, filters.get(name, "")) for name in AppointmentFilterForm.base_fields],
    }, status=status)


def _download_response(result: services.StreamedExport):
    if isinstance(result.content, bytes):
        response = HttpResponse(result.content, content_type=result.content_type)
    else:
        response = StreamingHttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.file_name}"'
    response["Cache-Control"] = "no-store"
    return response


@agent_view
def export_list(request):
    exports = Export.objects.filter(agent=request.scope.agent).order_by("-created_at")[:RECENT_EXPORTS]
    return render(request, "reporting/exports/list.html", {"exports": exports, "now": timezone.now()})


@agent_view
def export_detail(request, uuid):
    """The job's page: progress (refreshed by htmx every 2 s while it runs), then the download link."""
    export = policy.get_visible_or_404(Export.objects.filter(agent=request.scope.agent), uuid=uuid)
    export.written_rows = services.export_progress(export)
    context = {"export": export, "now": timezone.now(), "expired": export.is_expired}
    if getattr(request, "htmx", False):
        return render(request, "reporting/exports/_progress.html", context)
    return render(request, "reporting/exports/detail.html", context)


@agent_view
def export_download(request, uuid):
    try:
        export, fileobj = services.export_for_download(scope=request.scope, export_uuid=uuid)
    except services.ExportExpired as expired:
        return render(request, "reporting/exports/unavailable.html", {"message": expired.message}, status=410)
    except services.ExportNotReady as not_ready:
        return render(request, "reporting/exports/unavailable.html", {"message": str(not_ready)}, status=409)
    name = services.download_name(export.kind, export.format, timezone.localdate(export.created_at))
    response = FileResponse(fileobj, as_attachment=True, filename=name,
                            content_type=services.CONTENT_TYPES[export.format])
    response["Cache-Control"] = "no-store"
    return response
