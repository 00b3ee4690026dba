"""National public statistics: anonymous monthly aggregates of every administration, in the public schema.

The nightly job (``reporting.national_figures_compute``, Celery beat at 03:17) visits every active
administration's schema and runs two aggregate queries there (appointments, messages). Only counts leave
the schema. It sums them per (month, administration kind) and replaces the rows of
``tenants.NationalFigure`` in one transaction. The public page on the platform host reads only that table
and ``tenants.Administration``, never a tenant schema, through ``national_statistics()``, which is cached.

Definitions (shown on the page too):
- A month is a calendar month in the administration's own time zone (an appointment at 23:30 on 31 January
  in Cayenne belongs to January there, as in the administration's own statistics). The window is the last
  24 months including the current one, which is therefore partial; later months are left out.
- Appointments are counted by the month of their start, whatever their status; ``booked_online`` are those
  created by usagers themselves (``created_by == citizen``).
- Messages are counted by the month they were sent (status sent or delivered), e-mails and SMS only; an
  SMS whose segment count was not recorded counts as one segment.
- ``administrations`` is the number of administrations of that kind with at least one appointment or one
  message sent in the month.
- No-show rate = absences non excusées / (honorés + absences non excusées): appointments still to be
  filled in or cancelled are left out.
A schema that fails (dropped, not migrated, bad time zone) is logged and skipped, the other administrations
are still read; the rows of its kind of administration are then left as the previous run wrote them (stale
rather than understated), the other kinds are replaced.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.timezone import now
from django_tenants.utils import schema_context, tenant_context

from config.celery import app
from tenants.models import Administration, NationalFigure
from tenants.tasks import PlatformTask

from .selectors import no_show_rate, percentage

logger = logging.getLogger(__name__)

MONTHS = 24
CACHE_KEY = "reporting:national-statistics:v1"
CACHE_SECONDS = 15 * 60

APPOINTMENT_FIELDS = ("appointments", "honoured", "no_show", "excused", "revoked", "unknown", "booked_online")
MESSAGE_FIELDS = ("emails_sent", "sms_sent", "sms_segments")
COUNT_FIELDS = APPOINTMENT_FIELDS + MESSAGE_FIELDS


# --- The nightly job (writes) ---------------------------------------------------------------------

def month_window(today: date, months: int = MONTHS) -> tuple[date, date]:
    """First day of the oldest month of the window, and first day of the month after the current one."""
    index = today.year * 12 + today.month - 1
    start = index - (months - 1)
    return date(start // 12, start % 12 + 1, 1), date((index + 1) // 12, (index + 1) % 12 + 1, 1)


def administration_monthly_counts(administration: Administration, *, at: datetime | None = None) -> dict:
    """{month: {field: count}} of the current schema over the window: two aggregate queries, counts only."""
    from messaging.models import Channel, Message, MessageStatus
    from scheduling.models import Appointment, Status

    tz = ZoneInfo(administration.timezone)
    start, end = month_window((at or now()).astimezone(tz).date())
    since, until = datetime.combine(start, time.min, tzinfo=tz), datetime.combine(end, time.min, tzinfo=tz)
    counts: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNT_FIELDS, 0))

    appointments = (
        Appointment.objects.filter(starts_at__gte=since, starts_at__lt=until)
        .annotate(month=TruncMonth("starts_at", tzinfo=tz))
        .values("month")
        .annotate(
            appointments=Count("id"),
            honoured=Count("id", filter=Q(status=Status.SEEN)),
            no_show=Count("id", filter=Q(status=Status.NOSHOW)),
            excused=Count("id", filter=Q(status=Status.EXCUSED)),
            revoked=Count("id", filter=Q(status=Status.REVOKED)),
            unknown=Count("id", filter=Q(status=Status.UNKNOWN)),
            booked_online=Count("id", filter=Q(created_by=Appointment.CreatedBy.CITIZEN)),
        )
        .order_by("month")
    )
    for row in appointments:
        counts[row.pop("month").date()].update(row)

    messages = (
        Message.objects.filter(
            status__in=(MessageStatus.SENT, MessageStatus.DELIVERED), channel__in=(Channel.EMAIL, Channel.SMS),
            sent_at__gte=since, sent_at__lt=until,
        )
        .annotate(month=TruncMonth("sent_at", tzinfo=tz))
        .values("month")
        .annotate(
            emails_sent=Count("id", filter=Q(channel=Channel.EMAIL)),
            sms_sent=Count("id", filter=Q(channel=Channel.SMS)),
            sms_segments=Coalesce(Sum(Coalesce("sms_segments", Value(1)), filter=Q(channel=Channel.SMS)), 0),
        )
        .order_by("month")
    )
    for row in messages:
        counts[row.pop("month").date()].update(row)
    return dict(counts)


def compute_national_figures(*, at: datetime | None = None) -> dict:
    """Recompute every NationalFigure row from the administrations' schemas (run in the public schema)."""
    totals: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNT_FIELDS, 0))
    contributors: dict[tuple[date, str], int] = defaultdict(int)
    read, failed, failed_kinds = 0, [], set()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        administrations = list(
            Administration.objects.filter(status=Administration.Status.ACTIVE)
            .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
            .order_by("pk")
            .only("pk", "schema_name", "slug", "kind", "timezone")
        )
    for administration in administrations:
        try:
            # The savepoint keeps a failing schema from aborting the surrounding transaction, if any.
            with tenant_context(administration), transaction.atomic():
                counts = administration_monthly_counts(administration, at=at)
        except Exception:  # one broken schema must not hide the others: logged, skipped
            logger.exception("national figures: schema %s skipped", administration.schema_name)
            failed.append(administration.slug)
            failed_kinds.add(administration.kind)
            continue
        read += 1
        for month, row in counts.items():
            key = (month, administration.kind)
            contributors[key] += 1
            for field in COUNT_FIELDS:
                totals[key][field] += row[field]

    computed_at = now()
    figures = [
        NationalFigure(
            month=month, administration_kind=kind, administrations=contributors[(month, kind)],
            computed_at=computed_at, **row,
        )
        for (month, kind), row in sorted(totals.items())
        if kind not in failed_kinds
    ]
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        NationalFigure.objects.bulk_create(
            figures, update_conflicts=True, unique_fields=["month", "administration_kind"],
            update_fields=[*COUNT_FIELDS, "administrations", "computed_at"],
        )
        # Months that left the window and kinds or months without data any more.
        deleted, _ = (
            NationalFigure.objects.exclude(computed_at=computed_at)
            .exclude(administration_kind__in=failed_kinds)
            .delete()
        )
    cache.delete(CACHE_KEY)
    logger.info(
        "national figures: %d administrations read, %d failed, %d rows written, %d removed",
        read, len(failed), len(figures), deleted,
    )
    return {"administrations": read, "failed": failed, "rows": len(figures), "deleted": deleted}


@app.task(base=PlatformTask, name="reporting.national_figures_compute", ignore_result=True)
def national_figures_compute() -> dict:
    """Nightly (beat): the national figures, from every active administration's schema."""
    return compute_national_figures()


# --- The public page (reads the public schema only) ------------------------------------------------

def _read_national_statistics() -> dict:
    kinds = dict(Administration.Kind.choices)
    by_kind = dict(
        Administration.objects.filter(status=Administration.Status.ACTIVE)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .values_list("kind")
        .annotate(count=Count("id"))
        .order_by()
    )
    administrations_by_kind = [{"kind": kind, "label": label, "count": by_kind.get(kind, 0)}
                               for kind, label in kinds.items()]

    rows = list(NationalFigure.objects.order_by("month", "administration_kind").values(
        "month", "administration_kind", "administrations", *COUNT_FIELDS))
    computed_at = NationalFigure.objects.aggregate(last=Max("computed_at"))["last"]

    months: dict[date, dict] = {}
    for row in rows:
        month = months.setdefault(row["month"], {"month": row["month"], "by_kind": dict.fromkeys(kinds, 0),
                                                 **dict.fromkeys(COUNT_FIELDS, 0)})
        month["by_kind"][row["administration_kind"]] += row["appointments"]
        for field in COUNT_FIELDS:
            month[field] += row[field]
    for month in months.values():
        month["by_kind"] = [{"kind": kind, "label": kinds[kind], "count": count}
                            for kind, count in month["by_kind"].items()]
        month["no_show_rate"] = no_show_rate(month["honoured"], month["no_show"])
        month["online_share"] = percentage(month["booked_online"], month["appointments"])
    for row in rows:
        row["administration_kind_label"] = kinds.get(row["administration_kind"], row["administration_kind"])

    totals = {field: sum(month[field] for month in months.values()) for field in COUNT_FIELDS}
    totals["no_show_rate"] = no_show_rate(totals["honoured"], totals["no_show"])
    totals["online_share"] = percentage(totals["booked_online"], totals["appointments"])
    return {
        "computed_at": computed_at,
        "administrations_by_kind": administrations_by_kind,
        "administrations_total": sum(item["count"] for item in administrations_by_kind),
        "kinds": [{"kind": kind, "label": label} for kind, label in kinds.items()],
        "months": list(months.values()),
        "rows": rows,
        "totals": totals,
        "months_window": MONTHS,
    }


def national_statistics() -> dict:
    """What the public page shows: from NationalFigure and Administration (public schema), cached.

    The job deletes the cache key when it writes, so fresh figures show at once; otherwise 15 minutes."""
    data = cache.get(CACHE_KEY)
    if data is None:
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            data = _read_national_statistics()
        cache.set(CACHE_KEY, data, CACHE_SECONDS)
    return data
