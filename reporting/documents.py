"""The PDF documents of reporting: what goes in them (reads and rules, no HTTP), rendered by ``reporting.pdf``.

- the printable appointment confirmation of a usager (from the manage link, or by an agent who sees the
  appointment);
- the monthly activity report of an organisation (downloaded by its admins, e-mailed to them each month).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from messaging.rendering import manage_url
from scheduling.models import Appointment, AppointmentType, Organisation

from . import charts, selectors
from .pdf import file_data_uri, render_pdf

logger = logging.getLogger(__name__)

STATE_BLUE = "#000091"  # the DSFR's "bleu France", for State services


def branding() -> dict:
    """Name, logo (data: URI) and colour of the current administration, for the documents' header."""
    tenant = getattr(connection, "tenant", None)
    is_state = getattr(tenant, "kind", None) == "etat"
    return {
        "name": getattr(tenant, "name", "") or "RDV Service Public",
        "logo": file_data_uri(getattr(tenant, "logo", None)),
        "colour": STATE_BLUE if is_state else (getattr(tenant, "brand_colour", "") or "#1d4ed8"),
        "is_state": is_state,
    }


# --- Appointment confirmation ---------------------------------------------------------------------

def appointment_reference(appointment: Appointment) -> str:
    """What the usager quotes on the phone; agents find the appointment at /agents/rdv/<number>/."""
    return f"RDV-{appointment.pk:06d}"


def _mode_lines(appointment: Appointment) -> tuple[str, list[str]]:
    """(label, lines) of the place or the mode, as the usager reads it."""
    kind = appointment.appointment_type
    if kind.mode == AppointmentType.Mode.PHONE:
        return "Modalité", ["Par téléphone : un agent vous appellera à l'heure du rendez-vous, "
                            "au numéro que vous avez communiqué."]
    if kind.mode == AppointmentType.Mode.VIDEO:
        if appointment.video_url:
            return "Modalité", ["En visio, à l'adresse suivante :", appointment.video_url]
        return "Modalité", ["En visio : le lien de connexion vous sera communiqué avant le rendez-vous."]
    if kind.mode == AppointmentType.Mode.HOME:
        return "Modalité", ["À domicile : un agent se rendra à l'adresse que vous avez communiquée."]
    location = appointment.location
    if location is None:
        return "Lieu", ["Le lieu vous sera précisé par le service."]
    lines = [location.name, location.address]
    if location.phone:
        lines.append(f"Téléphone du lieu : {location.phone}")
    return "Lieu", lines


def confirmation_context(appointment: Appointment, *, participants=(), now: datetime | None = None) -> dict:
    """Everything the confirmation shows. ``participants``: the usagers whose names may be printed (the
    caller decides: a collective session's link is shared, so its names are left out there)."""
    now = now or timezone.now()
    kind = appointment.appointment_type
    organisation = appointment.organisation
    place_label, place_lines = _mode_lines(appointment)
    cancelled = appointment.is_cancelled
    return {
        "branding": branding(),
        "header_subtitle": organisation.name,
        "appointment": appointment,
        "reference": appointment_reference(appointment),
        "title": appointment.title or kind.name,
        "service": kind.service.name,
        "tz": ZoneInfo(organisation.timezone),
        "duration_minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "place_label": place_label,
        "place_lines": place_lines,
        "instructions": "" if cancelled else kind.instructions,
        "participants": [str(p.citizen) for p in participants],
        "organisation": organisation,
        "cancelled": cancelled,
        "past": appointment.starts_at <= now,
        "manage_url": manage_url(appointment),
        "online_changes": kind.citizen_can_cancel or kind.citizen_can_move,
        "can_cancel": kind.citizen_can_cancel,
        "can_move": kind.citizen_can_move,
        "cancellation_warning": kind.cancellation_warning,
        "printed_at": now,
    }


def confirmation_participants(appointment: Appointment) -> list:
    """Names printed on a confirmation: the usagers of an individual appointment; none for a collective
    session (its link and its page are shared by every participant)."""
    if appointment.appointment_type.collective:
        return []
    return list(appointment.participations.select_related("citizen").order_by("pk"))


def confirmation_pdf(appointment: Appointment, *, participants=(), now: datetime | None = None) -> bytes:
    context = confirmation_context(appointment, participants=participants, now=now)
    return render_pdf(render_to_string("reporting/pdf/confirmation.html", context))


def confirmation_filename(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(ZoneInfo(appointment.organisation.timezone))
    return f"confirmation-rdv-{local:%Y-%m-%d}-{appointment.pk}.pdf"


# --- Monthly activity report of an organisation ------------------------------------------------------

MONTH_NAMES = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
               "novembre", "décembre")
TREND_MONTHS = 12  # the no-show rate of the month and of the twelve months before it
BAD_MONTH_MESSAGE = "Mois invalide : indiquez-le sous la forme AAAA-MM, par exemple 2026-10."
FUTURE_MONTH_MESSAGE = "Ce mois n'a pas encore commencé : le rapport porte sur le mois en cours ou un mois passé."
NO_ORGANISATION_MESSAGE = "Choisissez l'organisation du rapport."
UNKNOWN_ORGANISATION_MESSAGE = "Cette organisation est introuvable ou ne fait pas partie de vos organisations."
ADMINS_ONLY_MESSAGE = "Le rapport mensuel est réservé aux administrateurs de l'organisation."


class ReportRefused(Exception):
    """A report that cannot be given: French message for the person, HTTP status for the view."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class MonthRate:
    month: date
    label: str
    seen: int
    noshow: int
    rate: float | None  # percent, noshow / (seen + noshow)


def noshow_trend(appointments, *, first: date, last: date, tz: str) -> list[MonthRate]:
    """Honoured and missed appointments per month (local time) from month ``first`` to month ``last``, in one
    GROUP BY: the trend needs none of the other figures ``selectors.statistics`` computes."""
    from django.db.models import Count, Q
    from django.db.models.functions import TruncMonth

    zone = ZoneInfo(tz)
    since, until = selectors.period_bounds(first, add_months(last, 1) - timedelta(days=1), tz)
    rows = (
        appointments.filter(starts_at__gte=since, starts_at__lt=until, status__in=("seen", "noshow")).order_by()
        .annotate(month=TruncMonth("starts_at", tzinfo=zone)).values("month")
        .annotate(seen=Count("pk", filter=Q(status="seen")), noshow=Count("pk", filter=Q(status="noshow")))
    )
    counts = {row["month"].astimezone(zone).date(): (row["seen"], row["noshow"]) for row in rows}
    trend = []
    for month in selectors.bucket_starts(first, last, selectors.MONTH):
        seen, noshow = counts.get(month, (0, 0))
        trend.append(MonthRate(month=month, label=selectors.bucket_label(month, selectors.MONTH), seen=seen,
                               noshow=noshow, rate=selectors.no_show_rate(seen, noshow)))
    return trend


@dataclass
class MonthlyReport:
    organisation: Organisation
    month: date  # first day
    figures: selectors.Statistics  # the month, by week
    trend: list[MonthRate]  # the twelve months before it, then the month
    generated_at: datetime

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def key(self) -> str:
        return f"{self.month:%Y-%m}"


def month_label(month: date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def of_month(month: date) -> str:
    """"de mars 2026", "d'octobre 2026" (elision before a vowel)."""
    label = month_label(month)
    return f"d'{label}" if label[0] in "aeiouéh" else f"de {label}"


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def previous_month(today: date) -> date:
    return add_months(date(today.year, today.month, 1), -1)


def parse_month(value: str | None, *, today: date) -> date:
    """First day of the month ``AAAA-MM`` (default: the previous month); ReportRefused when malformed or not
    begun yet."""
    value = (value or "").strip()
    if not value:
        return previous_month(today)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value)
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise ReportRefused(BAD_MONTH_MESSAGE)
    month = date(int(match[1]), int(match[2]), 1)
    if month > date(today.year, today.month, 1):
        raise ReportRefused(FUTURE_MONTH_MESSAGE)
    return month


def month_end(month: date, tz: str) -> datetime:
    """The instant the month ends in ``tz`` (first day of the next month, 00:00 local)."""
    return datetime.combine(add_months(month, 1), time(), tzinfo=ZoneInfo(tz))


def monthly_report_build(organisation: Organisation, month: date, *, now: datetime | None = None) -> MonthlyReport:
    """The figures of one organisation for one month (every appointment of the organisation: the report is
    for its admins). Six queries, whatever the number of appointments."""
    now = now or timezone.now()
    appointments = selectors.organisation_appointments(organisation.pk)
    last_day = add_months(month, 1) - timedelta(days=1)
    tz = organisation.timezone
    figures = selectors.statistics(appointments, start=month, end=last_day, tz=tz, granularity=selectors.WEEK,
                                   now=now)
    trend = noshow_trend(appointments, first=add_months(month, -TREND_MONTHS), last=month, tz=tz)
    return MonthlyReport(organisation=organisation, month=month, figures=figures, trend=trend, generated_at=now)


def monthly_report_request(*, scope, organisation_id: str | None, month: str | None,
                           now: datetime | None = None) -> MonthlyReport:
    """The report an agent asks for (query string values): admins of the organisation only."""
    now = now or timezone.now()
    organisation_id = (organisation_id or "").strip()
    if not organisation_id:
        raise ReportRefused(NO_ORGANISATION_MESSAGE)
    known = organisation_id.isascii() and organisation_id.isdigit()  # "²".isdigit() is True, int("²") fails
    if not known or int(organisation_id) not in scope.organisation_ids:
        raise ReportRefused(UNKNOWN_ORGANISATION_MESSAGE, status=404)
    if int(organisation_id) not in scope.admin_organisation_ids:
        raise ReportRefused(ADMINS_ONLY_MESSAGE, status=403)
    organisation = Organisation.objects.get(pk=int(organisation_id))
    today = now.astimezone(ZoneInfo(organisation.timezone)).date()
    return monthly_report_build(organisation, parse_month(month, today=today), now=now)


def _duration(value: timedelta | None) -> str:
    """A booking delay as read in French: "5 h", "3,5 jours", "—"."""
    if value is None:
        return "—"
    hours = value.total_seconds() / 3600
    if hours < 24:
        return f"{charts.format_number(round(hours, 1))} h"
    days = round(hours / 24, 1)
    return f"{charts.format_number(days)} jour{'s' if days >= 2 else ''}"


def _share(part: int, whole: int) -> str:
    return charts.format_number(round(100 * part / whole, 1), "%") if whole else "—"


def _rows(series_list, total: int) -> list[dict]:
    return [{"label": series.label, "total": series.total, "share": _share(series.total, total)}
            for series in series_list]


def _breakdown_chart(chart_id: str, title: str, series_list, unit_label: str) -> charts.Chart | None:
    shown = [series for series in series_list if series.total]
    if not shown:
        return None
    return charts.horizontal_bar_chart(
        chart_id=chart_id, title=title, labels=[series.label for series in shown],
        values=[series.total for series in shown], value_header="Rendez-vous", category_header=unit_label,
        description=f"{title} : " + ", ".join(f"{series.label} {series.total}" for series in shown) + ".",
    )


def monthly_report_context(report: MonthlyReport) -> dict:
    figures, trend = report.figures, report.trend
    total = figures.total
    outcomes = {series.key: series.total for series in figures.outcomes}
    weeks = [bucket.label for bucket in figures.buckets]
    outcome_labels = dict(selectors.OUTCOMES)
    trend_rows = [{"label": entry.label, "seen": entry.seen, "noshow": entry.noshow,
                   "rate": charts.format_number(entry.rate, "%")} for entry in trend]
    previous_rate = trend[-2].rate if len(trend) > 1 else None
    emails = next((entry for entry in figures.messages if entry.channel == "email"), None)
    sms = next((entry for entry in figures.messages if entry.channel == "sms"), None)
    return {
        "branding": branding(),
        "header_subtitle": report.organisation.name,
        "organisation": report.organisation,
        "month_label": report.label,
        "of_month": of_month(report.month),
        "tz": ZoneInfo(report.organisation.timezone),
        "generated_at": report.generated_at,
        "total": total,
        "outcomes": outcomes,
        "outcome_rows": [{"label": outcome_labels[series.key], "total": series.total,
                          "share": _share(series.total, total)} for series in figures.outcomes],
        "cancelled": outcomes["excused"] + outcomes["revoked"],
        "noshow_rate": charts.format_number(figures.noshow_rate, "%"),
        "previous_noshow_rate": charts.format_number(previous_rate, "%"),
        "noshow_change": _change(figures.noshow_rate, previous_rate),
        "weeks_chart": charts.bar_chart(
            chart_id="semaines", title="Rendez-vous par semaine et par résultat", categories=weeks,
            series=[charts.ChartSeries(outcome_labels[series.key], series.counts) for series in figures.outcomes
                    if series.total],
            category_header="Semaine",
            description=f"{total} rendez-vous en {report.label}, répartis par semaine et par résultat.",
        ) if total else None,
        "trend_chart": charts.line_chart(
            chart_id="lapins", title="Taux d'absence non excusée (lapins) par mois",
            categories=[entry.label for entry in trend],
            series=[charts.ChartSeries("Taux de lapins", [entry.rate for entry in trend])], category_header="Mois",
            description="Part des rendez-vous honorés ou manqués qui ont été manqués sans prévenir, mois par mois, "
                        "sur les douze mois précédents et le mois du rapport.",
        ),
        "trend_rows": trend_rows,
        "breakdowns": [
            {"title": title, "header": header, "rows": _rows(series_list, total),
             "chart": _breakdown_chart(chart_id, title, series_list, header)}
            for chart_id, title, header, series_list in (
                ("origine", "Rendez-vous par origine de la prise", "Origine", figures.by_origin),
                ("services", "Rendez-vous par service", "Service", figures.by_service),
                ("motifs", "Rendez-vous par motif", "Motif", figures.by_type),
                ("modalites", "Rendez-vous par modalité", "Modalité", figures.by_mode),
                ("lieux", "Rendez-vous par lieu", "Lieu", figures.by_location),
            )
        ],
        "delay": {
            "count": figures.delay.count, "average": _duration(figures.delay.average),
            "median": _duration(figures.delay.median),
            "rows": _rows(figures.delay.buckets, figures.delay.count),
        },
        "messages": figures.messages,
        "emails_sent": (emails.by_status["sent"] + emails.by_status["delivered"]) if emails else 0,
        "sms_sent": (sms.by_status["sent"] + sms.by_status["delivered"]) if sms else 0,
        "sms_segments": sms.sms_segments if sms else 0,
        "waiting_list": figures.waiting_list,
    }


def _change(current: float | None, previous: float | None) -> str:
    """The no-show rate against the previous month, in words (not only a sign or a colour)."""
    if current is None or previous is None:
        return "pas de comparaison possible avec le mois précédent"
    difference = round(current - previous, 1)
    if difference == 0:
        return "stable par rapport au mois précédent"
    points = charts.format_number(abs(difference))
    word = "point" if abs(difference) < 2 else "points"
    trend = "en baisse" if difference < 0 else "en hausse"
    return f"{trend} de {points} {word} par rapport au mois précédent"


def monthly_report_pdf(report: MonthlyReport) -> bytes:
    return render_pdf(render_to_string("reporting/pdf/monthly_report.html", monthly_report_context(report)))


def monthly_report_filename(report: MonthlyReport) -> str:
    return f"rapport-{slugify(report.organisation.name)[:60] or 'organisation'}-{report.key}.pdf"


# --- Monthly e-mail to the admins of each organisation ------------------------------------------------

SENDING_CLAIM_SECONDS = 15 * 60  # a worker that dies while sending frees the organisation after this
SENT_MEMORY_SECONDS = 62 * 24 * 3600  # long after the next monthly run


@dataclass
class MonthlySending:
    sent: list[int]  # organisation ids
    already_sent: list[int]
    without_admin: list[int]
    failed: list[int]
    not_over: list[int]  # the month is not over yet in the organisation's timezone
    retry_at: datetime | None  # when the month ends for the last of those


def _sent_key(organisation_id: int, month: date) -> str:
    """Cache key of "this organisation's report of this month was e-mailed" (the cache's key function adds
    the schema, so two administrations never share it)."""
    return f"reporting:monthly-report:{organisation_id}:{month:%Y-%m}"


def organisation_admin_emails(organisation: Organisation) -> list[str]:
    """E-mail addresses of the organisation's admins (active accounts of agents not removed)."""
    from scheduling.models import AgentRole

    emails = (
        AgentRole.objects.filter(organisation=organisation, level=AgentRole.Level.ADMIN,
                                 agent__deleted_at__isnull=True, agent__user__is_active=True)
        .exclude(agent__user__email="").values_list("agent__user__email", flat=True)
    )
    return sorted(set(emails))


def _report_email(report: MonthlyReport, pdf: bytes, recipients: list[str]):
    from django.core.mail import EmailMessage
    from django.urls import reverse

    from messaging.models import MessagingSettings
    from messaging.services import from_address

    tenant = getattr(connection, "tenant", None)
    path = f"{reverse('monthly_report_pdf')}?organisation={report.organisation.pk}&mois={report.key}"
    link = tenant.url(path) if hasattr(tenant, "url") else path
    figures = report.figures
    body = (
        "Bonjour,\n\n"
        f"Vous trouverez ci-joint le rapport d'activité de {report.organisation.name} pour {report.label} : "
        f"{figures.total} rendez-vous, taux d'absence non excusée (lapins) "
        f"{charts.format_number(figures.noshow_rate, '%')}.\n\n"
        f"Vous pouvez aussi le télécharger depuis l'espace agents :\n{link}\n\n"
        "Ce message est envoyé automatiquement au début de chaque mois aux administrateurs de l'organisation.\n\n"
        f"{branding()['name']}\n"
    )
    message = EmailMessage(
        subject=f"Rapport d'activité {of_month(report.month)} — {report.organisation.name}", body=body,
        from_email=from_address(MessagingSettings.load()), to=recipients,
    )
    message.attach(monthly_report_filename(report), pdf, "application/pdf")
    return message


def monthly_reports_send(*, month: date, now: datetime | None = None) -> MonthlySending:
    """E-mail the report of ``month`` to the admins of every organisation of the current administration, once.

    Idempotent per (organisation, month) without a table: the Django cache (Redis) holds a key per schema,
    organisation and month, claimed atomically (``cache.add``) before rendering, so that two runs at once do
    not both send, kept for two months once sent, dropped if sending failed (a retry sends it then).
    An organisation whose month is not over yet in its timezone is left for later (``retry_at``).
    """
    from django.core.cache import cache

    now = now or timezone.now()
    outcome = MonthlySending(sent=[], already_sent=[], without_admin=[], failed=[], not_over=[], retry_at=None)
    for organisation in Organisation.objects.order_by("pk"):
        end = month_end(month, organisation.timezone)
        if end > now:
            outcome.not_over.append(organisation.pk)
            outcome.retry_at = max(outcome.retry_at or end, end)
            continue
        recipients = organisation_admin_emails(organisation)
        if not recipients:
            outcome.without_admin.append(organisation.pk)
            continue
        key = _sent_key(organisation.pk, month)
        if not cache.add(key, "sending", timeout=SENDING_CLAIM_SECONDS):
            outcome.already_sent.append(organisation.pk)
            continue
        try:
            report = monthly_report_build(organisation, month, now=now)
            _report_email(report, monthly_report_pdf(report), recipients).send()
        except Exception:
            cache.delete(key)
            logger.exception("Monthly report of organisation %s (%s) not sent", organisation.pk, f"{month:%Y-%m}")
            outcome.failed.append(organisation.pk)
            continue
        cache.set(key, "sent", timeout=SENT_MEMORY_SECONDS)
        outcome.sent.append(organisation.pk)
    return outcome
