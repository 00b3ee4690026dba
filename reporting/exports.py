"""Exports of appointments and participations: the row query, the row formatting and the file writers.

Everything here streams: the query is one SQL statement (agents, usagers and the last notification outcome
come from correlated subqueries, never one query per row) read with ``.iterator(chunk_size)``, rows are
formatted one at a time and the writers never hold more than one row. Memory stays flat whatever the
number of rows (bench/reporting.py measures it).

What an agent may export is what ``scheduling.policy`` lets him see; usagers' contact details only for
the usagers he may see (``policy.citizens``: linked to one of his organisations, not deleted).
Dates and times are those of each appointment's organisation's time zone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.contrib.postgres.aggregates import StringAgg
from django.db.models import Case, CharField, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Concat
from django.utils import timezone

from messaging.models import Channel, Message, MessageStatus, RecipientKind
from scheduling import policy
from scheduling.agenda import appointments_filtered
from scheduling.forms.agenda import AppointmentFilterForm
from scheduling.models import Appointment, AppointmentAgent, AppointmentType, Citizen, Participation, Status

APPOINTMENTS = "appointments"
PARTICIPATIONS = "participations"
KINDS = (APPOINTMENTS, PARTICIPATIONS)
PROGRESS_EVERY = 1000  # rows between two progress callbacks
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_COMMON_HEADERS = ["N° RDV", "Date", "Heure", "Durée (min)", "Motif", "Service", "Modalité", "Organisation", "Lieu",
                   "Agents"]
HEADERS = {
    APPOINTMENTS: [*_COMMON_HEADERS, "Usagers", "E-mail des usagers", "Téléphone des usagers", "Statut", "Origine",
                   "Créé le", "Annulé le", "Notifications"],
    PARTICIPATIONS: [*_COMMON_HEADERS, "Usager", "E-mail", "Téléphone", "Statut de la participation",
                     "Statut du RDV", "Origine", "Inscrit le", "Annulé le", "Notifications"],
}

_STATUS = dict(Status.choices)
_MODE = dict(AppointmentType.Mode.choices)
_ORIGIN = dict(Appointment.CreatedBy.choices)
_MESSAGE_STATUS = {value: label.lower() for value, label in MessageStatus.choices}
_CHANNELS = ((Channel.EMAIL, "E-mail"), (Channel.SMS, "SMS"))


class InvalidFilters(ValueError):
    """The list's filters did not validate: ``message`` is French, ``errors`` the form's errors."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        self.message = " ".join(message for messages in errors.values() for message in messages)
        super().__init__(self.message)


def headers(kind: str) -> list[str]:
    return list(HEADERS[kind])


def validated_filters(scope: policy.Scope, filters: dict) -> dict:
    """The cleaned data of the appointment list's filter form, or InvalidFilters."""
    form = AppointmentFilterForm({key: value for key, value in filters.items() if key != "page"}, scope=scope)
    if not form.is_valid():
        raise InvalidFilters({field: list(messages) for field, messages in form.errors.items()})
    return form.cleaned_data


# --- The query -------------------------------------------------------------------------------------

def _agents_names(appointment_ref: str):
    names = AppointmentAgent.objects.filter(appointment_id=OuterRef(appointment_ref)).values("appointment_id").annotate(
        names=StringAgg(Concat("agent__first_name", Value(" "), "agent__last_name"), ", ",
                        order_by=("agent__last_name", "agent__first_name", "agent_id")),
    ).values("names")
    return Subquery(names, output_field=CharField())


def _visible_citizen(scope: policy.Scope):
    """On participations: the usager is one the scope may see (policy.citizens), so his contact shows."""
    if not scope.organisation_ids:
        return Q(pk__in=[])
    linked = Citizen.organisations.through.objects.filter(
        citizen_id=OuterRef("citizen_id"), organisation_id__in=scope.organisation_ids
    )
    return Q(Exists(linked), citizen__deleted_at__isnull=True)


def _visible_contact(scope: policy.Scope, field: str):
    return Case(When(_visible_citizen(scope), then=f"citizen__{field}"), default=Value(""), output_field=CharField())


FIELD_SEPARATOR, ROW_SEPARATOR = "\x1f", "\x1e"  # ASCII unit/record separators: never in names or contacts


def _citizens_aggregate(scope: policy.Scope):
    """One appointment's usagers in one subquery: "name<US>email<US>phone" joined by <RS>, in participation
    order, the contact empty for a usager the scope may not see (split by ``_citizens``)."""
    value = Concat("citizen__first_name", Value(" "), "citizen__last_name", Value(FIELD_SEPARATOR),
                   _visible_contact(scope, "email"), Value(FIELD_SEPARATOR), _visible_contact(scope, "phone"),
                   output_field=CharField())
    aggregate = Participation.objects.filter(appointment_id=OuterRef("pk")).values("appointment_id").annotate(
        value=StringAgg(value, ROW_SEPARATOR, order_by=("pk",)),
    ).values("value")
    return Subquery(aggregate, output_field=CharField())


def _last_message_status(channel: str, **lookup):
    last = Message.objects.filter(channel=channel, recipient_kind=RecipientKind.CITIZEN, **lookup).order_by(
        "-created_at", "-pk"
    ).values("status")[:1]
    return Subquery(last, output_field=CharField())


_APPOINTMENT_FIELDS = ("starts_at", "ends_at", "organisation__timezone", "appointment_type__name",
                       "appointment_type__service__name", "appointment_type__mode", "organisation__name",
                       "location__name")


def visible_filtered(scope: policy.Scope, data: dict, kind: str):
    """Appointments or participations the scope may see, with the list's cleaned filters (no columns)."""
    tz = timezone.get_current_timezone()
    if kind == APPOINTMENTS:
        return appointments_filtered(policy.appointments(scope), data, tz)
    return appointments_filtered(policy.participations(scope), data, tz, prefix="appointment__")


def export_queryset(scope: policy.Scope, filters: dict, kind: str):
    """The visible, filtered rows of ``kind`` as a ``values_list`` query ordered by date, or InvalidFilters."""
    if kind not in KINDS:
        raise InvalidFilters({"kind": ["Choisissez rendez-vous ou participations."]})
    queryset = visible_filtered(scope, validated_filters(scope, filters), kind)
    if kind == APPOINTMENTS:
        queryset = queryset.annotate(
            agents_names=_agents_names("pk"),
            citizens=_citizens_aggregate(scope),
            last_email=_last_message_status(Channel.EMAIL, appointment_id=OuterRef("pk")),
            last_sms=_last_message_status(Channel.SMS, appointment_id=OuterRef("pk")),
        )
        return queryset.order_by("starts_at", "pk").values_list(
            "pk", *_APPOINTMENT_FIELDS, "agents_names", "citizens",
            "status", "created_by", "created_at", "cancelled_at", "last_email", "last_sms",
        )
    queryset = queryset.annotate(
        agents_names=_agents_names("appointment_id"),
        citizen_name=Concat("citizen__first_name", Value(" "), "citizen__last_name"),
        citizen_email=_visible_contact(scope, "email"),
        citizen_phone=_visible_contact(scope, "phone"),
        last_email=_last_message_status(Channel.EMAIL, participation_id=OuterRef("pk")),
        last_sms=_last_message_status(Channel.SMS, participation_id=OuterRef("pk")),
    )
    return queryset.order_by("appointment__starts_at", "appointment_id", "pk").values_list(
        "appointment_id", *(f"appointment__{name}" for name in _APPOINTMENT_FIELDS), "agents_names",
        "citizen_name", "citizen_email", "citizen_phone", "status", "appointment__status", "created_by",
        "created_at", "appointment__cancelled_at", "last_email", "last_sms",
    )


# --- Formatting ------------------------------------------------------------------------------------

def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0) if moment else None


def display_phone(value: str | None) -> str:
    """French numbers as agents write them (06 12 34 56 78); others as stored (E.164)."""
    if not value:
        return ""
    if value.startswith("+33") and len(value) == 12:
        national = "0" + value[3:]
        return " ".join(national[i:i + 2] for i in range(0, 10, 2))
    return value


def _citizens(value: str | None) -> tuple[str, str, str]:
    """Names, e-mails and phones (each comma-separated, empty contacts left out) of ``_citizens_aggregate``."""
    if not value:
        return "", "", ""
    names, emails, phones = [], [], []
    for citizen in value.split(ROW_SEPARATOR):
        name, email, phone = citizen.split(FIELD_SEPARATOR)
        names.append(name)
        if email:
            emails.append(email)
        if phone:
            phones.append(display_phone(phone))
    return ", ".join(names), ", ".join(emails), ", ".join(phones)


def message_outcome(last_email: str | None, last_sms: str | None) -> str:
    """"E-mail : envoyé, SMS : échec" — the last notification to the usager(s) on each channel."""
    parts = [f"{label} : {_MESSAGE_STATUS.get(status, status)}"
             for (_, label), status in zip(_CHANNELS, (last_email, last_sms), strict=True) if status]
    return ", ".join(parts)


def _format(row: tuple, kind: str, zones: dict) -> tuple:
    (pk, starts_at, ends_at, tz_name, type_name, service, mode, organisation, location, agents_names) = row[:10]
    tz = zones.get(tz_name) or zones.setdefault(tz_name, ZoneInfo(tz_name))
    start = starts_at.astimezone(tz)
    common = (
        pk, start.date(), time(start.hour, start.minute), int((ends_at - starts_at).total_seconds() // 60),
        type_name, service, _MODE.get(mode, mode), organisation, location or "", agents_names or "",
    )
    if kind == APPOINTMENTS:
        citizens, status, origin, created_at, cancelled_at, last_email, last_sms = row[10:]
        return (*common, *_citizens(citizens), _STATUS.get(status, status),
                _ORIGIN.get(origin, origin), _local(created_at, tz), _local(cancelled_at, tz),
                message_outcome(last_email, last_sms))
    (name, email, phone, status, appointment_status, origin, created_at, cancelled_at, last_email,
     last_sms) = row[10:]
    return (*common, name, email or "", display_phone(phone), _STATUS.get(status, status),
            _STATUS.get(appointment_status, appointment_status), _ORIGIN.get(origin, origin), _local(created_at, tz),
            _local(cancelled_at, tz), message_outcome(last_email, last_sms))


def export_rows(scope: policy.Scope, filters: dict, kind: str, *, chunk_size: int = 2000) -> Iterator[tuple]:
    """The formatted rows (no header) of what the scope may see with these filters: str, int, date, time and
    naive local datetime cells. Raises InvalidFilters before the first row when the filters are wrong."""
    queryset = export_queryset(scope, filters, kind)
    return _formatted(queryset, kind, chunk_size)


def _formatted(queryset, kind: str, chunk_size: int) -> Iterator[tuple]:
    zones: dict[str, ZoneInfo] = {}
    for row in queryset.iterator(chunk_size=chunk_size):
        yield _format(row, kind, zones)


# --- Writers -----------------------------------------------------------------------------------------

def neutralise(value: str) -> str:
    """Guard against CSV/formula injection: a cell starting like a formula is prefixed with '."""
    return "'" + value if value and value.startswith(FORMULA_PREFIXES) else value


def csv_cell(value) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, int):
        return value
    return neutralise(str(value))


class _Echo:
    """A file-like object whose write returns what it was given (csv.writer into a generator)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[tuple], *, header: list[str] | None = None,
              on_progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The CSV file as a stream of encoded chunks: BOM, ';', CRLF, one chunk per ~PROGRESS_EVERY rows."""
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    buffer = ["\ufeff"]
    if header:
        buffer.append(writer.writerow([neutralise(title) for title in header]))
    count = 0
    for row in rows:
        buffer.append(writer.writerow([csv_cell(value) for value in row]))
        count += 1
        if count % PROGRESS_EVERY == 0:
            yield "".join(buffer).encode("utf-8")
            buffer.clear()
            if on_progress:
                on_progress(count)
    yield "".join(buffer).encode("utf-8")
    if on_progress:
        on_progress(count)


def write_csv(rows: Iterable[tuple], fileobj, *, header: list[str] | None = None,
              on_progress: Callable[[int], None] | None = None) -> int:
    """Write the CSV to a binary file object; returns the number of rows written (header excluded)."""
    written = 0

    def progress(count: int) -> None:
        nonlocal written
        written = count
        if on_progress:
            on_progress(count)

    for chunk in csv_lines(rows, header=header, on_progress=progress):
        fileobj.write(chunk)
    return written


def write_xlsx(rows: Iterable[tuple], path, *, header: list[str] | None = None,
               on_progress: Callable[[int], None] | None = None, constant_memory: bool = True) -> int:
    """Write an XLSX workbook at ``path`` (or into a BytesIO) with real date cells; strings are written as
    text (never formulas) and neutralised like the CSV. Returns the number of rows written."""
    from xlsxwriter import Workbook

    options = {"constant_memory": constant_memory, "in_memory": isinstance(path, io.BytesIO),
               "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    workbook = Workbook(path, options)
    try:
        sheet = workbook.add_worksheet("Export")
        formats = {
            datetime: workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"}),
            date: workbook.add_format({"num_format": "dd/mm/yyyy"}),
            time: workbook.add_format({"num_format": "hh:mm"}),
        }
        bold = workbook.add_format({"bold": True})
        first = 0
        if header:
            sheet.set_column(0, len(header) - 1, 18)  # wide enough for dates (else Excel shows ####)
            for column, title in enumerate(header):
                sheet.write_string(0, column, title, bold)
            sheet.freeze_panes(1, 0)
            first = 1
        count = 0
        for count, row in enumerate(rows, start=1):
            line = first + count - 1
            for column, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, datetime):
                    sheet.write_datetime(line, column, value, formats[datetime])
                elif isinstance(value, date):
                    sheet.write_datetime(line, column, datetime.combine(value, time.min), formats[date])
                elif isinstance(value, time):
                    sheet.write_datetime(line, column, value, formats[time])
                elif isinstance(value, int):
                    sheet.write_number(line, column, value)
                else:
                    sheet.write_string(line, column, neutralise(str(value)))
            if on_progress and count % PROGRESS_EVERY == 0:
                on_progress(count)
    finally:
        workbook.close()
    if on_progress:
        on_progress(count)
    return count
