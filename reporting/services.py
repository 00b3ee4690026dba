"""Rules of reporting (writes and decisions). Views and tasks call these; reads live in selectors/exports."""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from scheduling import policy
from scheduling.forms.agenda import AppointmentFilterForm

from . import exports
from .models import Export

logger = logging.getLogger(__name__)

# --- Exports ---------------------------------------------------------------------------------------------

EXPIRED_MESSAGE = "Ce fichier a expiré : les exports sont conservés {hours} heures. Relancez l'export depuis la liste."
NOT_READY_MESSAGE = "Ce fichier n'est pas encore prêt."
FAILED_MESSAGE = "L'export a échoué. Réessayez ; si le problème persiste, contactez le support."
CONTENT_TYPES = {
    Export.Format.CSV: "text/csv; charset=utf-8",
    Export.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILE_PREFIXES = {Export.Kind.APPOINTMENTS: "rdv", Export.Kind.PARTICIPATIONS: "participations"}


class ExportExpired(Exception):
    def __init__(self):
        self.message = EXPIRED_MESSAGE.format(hours=settings.EXPORT_EXPIRY_HOURS)
        super().__init__(self.message)


class ExportNotReady(Exception):
    pass


@dataclass
class StreamedExport:
    """A small export sent at once: ``content`` is an iterator of bytes (CSV) or bytes (XLSX)."""

    file_name: str
    content_type: str
    content: object
    rows: int


def export_filters(params) -> dict:
    """The list's filters kept from a query string or form data (only the filter form's fields)."""
    return {name: str(params.get(name, "")) for name in AppointmentFilterForm.base_fields if params.get(name)}


def download_name(kind: str, file_format: str, day=None) -> str:
    day = day or timezone.localdate()
    return f"{FILE_PREFIXES[kind]}-{day:%Y-%m-%d}.{file_format}"


def export_start(*, scope: policy.Scope, kind: str, file_format: str, filters: dict) -> StreamedExport | Export:
    """Export what the scope may see with the list's filters: at once when small (a StreamedExport), else as a
    background job (the Export row, its task sent after commit). Bad kind, format or filters: ValidationError
    in French, nothing exported."""
    if kind not in Export.Kind.values:
        raise ValidationError("Choisissez ce que vous voulez exporter : rendez-vous ou participations.")
    if file_format not in Export.Format.values:
        raise ValidationError("Choisissez le format du fichier : CSV ou Excel (XLSX).")
    try:
        data = exports.validated_filters(scope, filters)
    except exports.InvalidFilters as error:
        raise ValidationError(error.message) from None
    total = exports.visible_filtered(scope, data, kind).count()
    if total <= settings.EXPORT_STREAM_MAX_ROWS:
        return _streamed(scope, kind, file_format, filters, total)
    # A job that never ends (lost worker) is purged a day later like any expired file.
    abandon_at = timezone.now() + timedelta(hours=max(24, settings.EXPORT_EXPIRY_HOURS))
    export = Export.objects.create(agent=scope.agent, kind=kind, format=file_format, filters=filters, total_rows=total,
                                   expires_at=abandon_at)
    transaction.on_commit(lambda: _send_job(export.pk))
    return export


def _streamed(scope, kind: str, file_format: str, filters: dict, total: int) -> StreamedExport:
    rows = exports.export_rows(scope, filters, kind)
    header = exports.headers(kind)
    if file_format == Export.Format.CSV:
        content = exports.csv_lines(rows, header=header)
    else:
        buffer = io.BytesIO()
        exports.write_xlsx(rows, buffer, header=header, constant_memory=False)
        content = buffer.getvalue()
    return StreamedExport(file_name=download_name(kind, file_format), content_type=CONTENT_TYPES[file_format],
                          content=content, rows=total)


def _send_job(export_id: int) -> None:
    from messaging.tasks import RETRY_POLICY

    from .tasks import export_run

    try:
        export_run.apply_async((export_id,), retry=True, retry_policy=RETRY_POLICY)
    except Exception:  # broker unreachable: the job fails at once and its page says so
        logger.exception("Could not queue export %s", export_id)
        Export.objects.filter(pk=export_id).update(
            state=Export.State.FAILED, error="Le service d'export est momentanément indisponible. Réessayez.",
            finished_at=timezone.now(), expires_at=timezone.now(),
        )


def export_directory() -> Path:
    return Path(settings.EXPORTS_ROOT) / connection.schema_name


def stored_name(export: Export) -> str:
    """The file's name under EXPORTS_ROOT/<schema>/ (never the agent's input)."""
    return f"{export.uuid}.{export.format}"


def export_path(export: Export) -> Path | None:
    return export_directory() / export.file_name if export.file_name else None


def export_run(*, export_id: int) -> Export:
    """The background job: write the file under EXPORTS_ROOT/<schema>/, progress every ~1000 rows, then tell
    the agent. A job already finished is left alone (a redelivered task does nothing)."""
    export = Export.objects.select_related("agent__user").get(pk=export_id)
    if export.state not in (Export.State.PENDING, Export.State.RUNNING):
        return export
    Export.objects.filter(pk=export.pk).update(state=Export.State.RUNNING, written_rows=0)
    directory = export_directory()
    directory.mkdir(parents=True, exist_ok=True)
    file_name = stored_name(export)
    partial = directory / f"{file_name}.partial"

    def progress(count: int) -> None:
        # The rows are read inside a transaction (below), so an UPDATE of the row would not show before the
        # commit: the running count goes through the cache (Redis), which the progress page reads.
        try:
            cache.set(progress_key(export), count, timeout=settings.EXPORT_EXPIRY_HOURS * 3600)
        except Exception:  # Redis down: the bar waits for the end, the export goes on
            logger.warning("Export %s: progress not recorded (cache unavailable)", export.pk)

    try:
        scope = policy.scope_for_agent(export.agent)
        header = exports.headers(export.kind)
        # Inside a transaction `.iterator()` uses a plain server-side cursor, whose first rows come at once;
        # outside one Django declares it WITH HOLD and PostgreSQL computes the whole result first (10-16 s
        # for 1,000,000 rows, the progress bar stuck at 0 meanwhile; bench/README.md, ADR 0021).
        with transaction.atomic():
            rows = exports.export_rows(scope, export.filters, export.kind)
            if export.format == Export.Format.CSV:
                with open(partial, "wb") as fileobj:
                    written = exports.write_csv(rows, fileobj, header=header, on_progress=progress)
            else:
                written = exports.write_xlsx(rows, str(partial), header=header, on_progress=progress)
        os.replace(partial, directory / file_name)
    except exports.InvalidFilters as error:
        return _fail(export, partial, f"Les filtres de cet export ne sont plus valables : {error.message}")
    except Exception:
        logger.exception("Export %s failed", export.pk)
        return _fail(export, partial, FAILED_MESSAGE)
    finished = timezone.now()
    export.state, export.written_rows, export.file_name = Export.State.DONE, written, file_name
    export.finished_at, export.expires_at = finished, finished + timedelta(hours=settings.EXPORT_EXPIRY_HOURS)
    export.save(update_fields=["state", "written_rows", "file_name", "finished_at", "expires_at"])
    _notify_ready(export)
    return export


def progress_key(export: Export) -> str:
    return f"reporting:export-progress:{export.pk}"  # the cache's key function adds the schema


def export_progress(export: Export) -> int:
    """Rows written so far: the job's running count while it runs, the stored count once it is over."""
    if export.state == Export.State.RUNNING:
        try:
            return max(export.written_rows, cache.get(progress_key(export)) or 0)
        except Exception:  # Redis down: the stored count
            return export.written_rows
    return export.written_rows


def _fail(export: Export, partial: Path, message: str) -> Export:
    partial.unlink(missing_ok=True)
    now = timezone.now()
    export.state, export.error, export.finished_at, export.expires_at = Export.State.FAILED, message, now, now
    export.save(update_fields=["state", "error", "finished_at", "expires_at"])
    return export


def _notify_ready(export: Export) -> None:
    """E-mail the agent that his file is ready (the page says so too). A mail failure does not fail the job."""
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.urls import reverse

    from messaging.models import MessagingSettings
    from messaging.services import from_address

    user = export.agent.user
    if user is None or not user.email:
        return
    administration = connection.tenant
    context = {
        "export": export, "administration": administration, "hours": settings.EXPORT_EXPIRY_HOURS,
        "link": administration.url(reverse("agent_export", args=[export.uuid])),
    }
    body = render_to_string("reporting/exports/ready_email.txt", context)
    try:
        EmailMessage(subject=f"Votre export est prêt — {administration.name}", body=body, to=[user.email],
                     from_email=from_address(MessagingSettings.load())).send()
    except (OSError, ConnectionError):
        logger.warning("Could not e-mail export %s to its agent", export.pk)


def export_for_download(*, scope: policy.Scope, export_uuid) -> tuple[Export, BinaryIO]:
    """The agent's own finished export and its file, opened; ExportExpired or ExportNotReady otherwise (another agent's
    export is a 404: ``policy.get_visible_or_404``)."""
    export = policy.get_visible_or_404(Export.objects.filter(agent=scope.agent), uuid=export_uuid)
    if export.is_expired:
        raise ExportExpired
    path = export_path(export)
    if export.state != Export.State.DONE or path is None:
        raise ExportNotReady(export.error or NOT_READY_MESSAGE)
    try:
        return export, path.open("rb")
    except FileNotFoundError:  # purged meanwhile
        raise ExportExpired from None


def exports_purge(*, now=None) -> int:
    """Delete the files of the exports past their expiry and mark them expired. Returns how many."""
    now = now or timezone.now()
    expired = list(Export.objects.filter(expires_at__lte=now).exclude(state=Export.State.EXPIRED))
    directory = export_directory()
    for export in expired:  # the finished file, or what a job that never ended left behind
        name = stored_name(export)
        (directory / name).unlink(missing_ok=True)
        (directory / f"{name}.partial").unlink(missing_ok=True)
    Export.objects.filter(pk__in=[export.pk for export in expired]).update(state=Export.State.EXPIRED, file_name="")
    return len(expired)
