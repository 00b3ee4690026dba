"""Statistics of appointments, outcomes, booking delays, messages and the waiting list: reads only.

Everything is computed by SQL aggregation (GROUP BY, ``COUNT(*) FILTER (WHERE ...)``, percentiles), never by
walking appointment rows in Python: Python only folds the few aggregated groups into the shapes below.
``statistics(...)`` runs a constant number of queries (3) whatever the number of appointments.

Who sees what (``visible_appointments``), a subset of what ``scheduling.policy`` lets the agent see:

- in an organisation where he is admin: every appointment of the organisation;
- elsewhere (basic agent, secretariat included): the appointments he takes part in (assigned agent).

Definitions (written on the page too):

- outcomes: ``seen`` honoré, ``noshow`` absence non excusée (lapin), ``excused`` annulé (excusé), ``revoked``
  annulé (par le service), ``to_fill`` status unknown and already ended (à renseigner), ``upcoming`` status
  unknown and not ended (à venir);
- no-show rate = noshow / (seen + noshow), in percent, None when nothing was seen nor missed;
- the period: local dates ``start``..``end`` included, in ``tz``; appointments count by their start; weeks
  (Monday) and months are cut in local time (``date_trunc('week', starts_at AT TIME ZONE tz)``);
- booking delay: ``created_at`` -> ``starts_at``; "same day" is the same local date;
- messages: the outbox rows of the period's appointments, by channel and final status, with SMS segments;
- waiting list: entries still waiting, offers of an earlier slot sent (``waiting_list_slot`` messages), and
  moves: appointments moved by the usager (a ``moved`` change without agent) after such an offer.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import (
    Q,
    QuerySet,
)
from django.utils import timezone

from messaging.models import Channel, Kind, Message, MessageStatus
from public_booking.models import WaitingListEntry
from scheduling import policy
from scheduling.models import (
    Appointment,
    AppointmentAgent,
    AppointmentChange,
    AppointmentType,
    Location,
)

WEEK = "week"
MONTH = "month"
GRANULARITIES = {WEEK: "Semaine", MONTH: "Mois"}

OUTCOMES = (
    ("seen", "Honoré"),
    ("noshow", "Absence non excusée (lapin)"),
    ("excused", "Annulé (excusé)"),
    ("revoked", "Annulé (par le service)"),
    ("to_fill", "À renseigner"),
    ("upcoming", "À venir"),
)
DELAY_BUCKETS = (
    ("same_day", "Le jour même"),
    ("week", "Moins d'une semaine"),
    ("month", "D'une à quatre semaines"),
    ("later", "Plus de quatre semaines"),
)
MESSAGE_STATUSES = ("sent", "delivered", "failed", "skipped", "pending")
MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
NO_LOCATION = "Sans lieu (téléphone, visio, domicile)"


# --- Shapes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    """One week (starting on Monday) or month of the period, in local time."""

    start: date
    label: str  # "sem. du 03/03/2025" / "mars 2025"


@dataclass
class Series:
    """One line of a breakdown: ``counts`` has one value per bucket (``Statistics.buckets``)."""

    key: str
    label: str
    total: int = 0
    counts: list[int] = field(default_factory=list)


@dataclass
class Delay:
    count: int
    average: timedelta | None
    median: timedelta | None
    buckets: list[Series]  # DELAY_BUCKETS, ``counts`` empty


@dataclass
class ChannelMessages:
    channel: str
    label: str
    total: int
    by_status: dict[str, int]  # MESSAGE_STATUSES -> count ("pending" includes "sending")
    sms_segments: int


@dataclass
class WaitingList:
    waiting: int  # entries of the period's appointments still on the list
    offers: int  # earlier-slot messages sent (every channel)
    offered_appointments: int  # appointments that got at least one offer
    moved: int  # of those, moved by the usager after an offer


@dataclass
class Statistics:
    start: date
    end: date
    tz: str
    granularity: str
    buckets: list[Bucket]
    total: int
    totals: list[int]  # appointments per bucket
    outcomes: list[Series]  # OUTCOMES
    noshow_rate: float | None  # percent over the period
    noshow_rates: list[float | None]  # percent per bucket
    by_origin: list[Series]
    by_service: list[Series]
    by_type: list[Series]
    by_mode: list[Series]
    by_location: list[Series]
    delay: Delay
    messages: list[ChannelMessages]
    waiting_list: WaitingList

    def outcome(self, key: str) -> Series:
        return next(series for series in self.outcomes if series.key == key)


# --- Which appointments ----------------------------------------------------------------------------

def visible_appointments(scope: policy.Scope, organisation_ids=None) -> QuerySet[Appointment]:
    """The appointments an agent's statistics count: his organisations' where he is admin, elsewhere those
    he takes part in; always within ``policy.appointments(scope)``. ``organisation_ids`` narrows further
    (ids outside his organisations give nothing).

    Where he is admin the policy lets him see the whole organisation (admins are "wide"), so that part is a
    plain ``organisation_id IN (...)`` that the (organisation, starts_at) index serves; the rest goes through
    the policy's own filter."""
    ids = set(scope.organisation_ids)
    if organisation_ids is not None:
        ids &= set(organisation_ids)
    whole = ids & scope.admin_organisation_ids
    assert whole <= scope.wide_organisation_ids, "an admin sees his whole organisation (policy)"
    own = ids - whole
    if not own:
        return Appointment.objects.filter(organisation_id__in=sorted(whole))
    assigned = AppointmentAgent.objects.filter(agent_id=scope.agent.pk).values("appointment_id")
    theirs = policy.appointments(scope).filter(organisation_id__in=sorted(own), pk__in=assigned)
    if not whole:
        return theirs
    return Appointment.objects.filter(Q(organisation_id__in=sorted(whole)) | Q(pk__in=theirs.values("pk")))


def organisation_appointments(organisation_id: int) -> QuerySet[Appointment]:
    """Every appointment of one organisation (the monthly report, sent to its admins)."""
    return Appointment.objects.filter(organisation_id=organisation_id)


def period_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """Aware datetimes [start 00:00, day after end 00:00) in ``tz``."""
    zone = ZoneInfo(tz)
    since = datetime.combine(start, time(), tzinfo=zone)
    return since, datetime.combine(end + timedelta(days=1), time(), tzinfo=zone)


def default_period(tz: str, today: date | None = None) -> tuple[date, date]:
    """The last three months up to today (local): from the same day three months ago."""
    today = today or timezone.now().astimezone(ZoneInfo(tz)).date()
    month = today.month - 3
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(today.day, 28)
    return date(year, month, day), today


def bucket_starts(start: date, end: date, granularity: str) -> list[date]:
    """Every bucket (Monday or first of month) overlapping start..end, in order."""
    if granularity == WEEK:
        first = start - timedelta(days=start.weekday())
        return [first + timedelta(weeks=n) for n in range((end - first).days // 7 + 1)]
    result, current = [], date(start.year, start.month, 1)
    while current <= end:
        result.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return result


def bucket_label(day: date, granularity: str) -> str:
    if granularity == WEEK:
        return f"sem. du {day:%d/%m/%Y}"
    return f"{MONTHS[day.month - 1]} {day.year}"


# --- Aggregation -----------------------------------------------------------------------------------

def percentage(numerator: int, denominator: int) -> float | None:
    """A share in percent, one decimal; None when there is nothing to divide by."""
    return round(100 * numerator / denominator, 1) if denominator else None


def no_show_rate(seen: int, noshow: int) -> float | None:
    """Absences non excusées ÷ (honorés + absences non excusées), in percent."""
    return percentage(noshow, seen + noshow)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _aggregate(period: QuerySet[Appointment], *, tz: str, granularity: str, now: datetime) -> dict:
    """The period's figures in one SQL statement. The appointments the caller may count (``period``, with
    every policy condition, as Django writes it) are read once into a materialised CTE; each figure is a
    sub-select over it, returned as JSON. Messages are read once too (a second CTE), for the counts per
    channel and the waiting-list offers."""
    try:
        rows_sql, rows_params = (
            period.order_by()
            .values_list("id", "starts_at", "ends_at", "created_at", "status", "created_by", "appointment_type_id",
                         "location_id")
            .query.sql_with_params()
        )
    except EmptyResultSet:  # e.g. no organisation at all: nothing to ask the database
        delays = dict.fromkeys(("count", *(key for key, _ in DELAY_BUCKETS)), 0) | {"average": None, "median": None}
        return {"groups": [], "delays": delays, "waiting": 0, "messages": [],
                "offers": {"offers": 0, "offered": 0, "moved": 0}}
    # Django's part uses positional parameters: name them, as the rest of the statement does.
    positions = itertools.count()
    rows_sql = re.sub(r"%s", lambda match: f"%(p{next(positions)})s", rows_sql)
    unit = "week" if granularity == WEEK else "month"
    delay = "(r.starts_at - r.created_at)"
    # ``p``: one row per appointment with what every figure needs, time zone conversions done once.
    sql = f"""
        WITH r AS ({rows_sql}),
        p AS MATERIALIZED (
            SELECT r.id, r.created_by, r.appointment_type_id, r.location_id,
                   date_trunc('{unit}', r.starts_at AT TIME ZONE %(tz)s) AS bucket,
                   CASE WHEN r.status = 'unknown' AND r.ends_at <= %(now)s THEN 'to_fill'
                        WHEN r.status = 'unknown' THEN 'upcoming' ELSE r.status END AS outcome,
                   EXTRACT(EPOCH FROM {delay})::float AS delay,
                   ((r.created_at AT TIME ZONE %(tz)s)::date = (r.starts_at AT TIME ZONE %(tz)s)::date
                    OR r.starts_at < r.created_at) AS same_day
            FROM r
        ),
        pm AS MATERIALIZED (
            SELECT m.appointment_id, m.channel, m.status, m.kind, m.sms_segments, m.created_at
            FROM {_table(Message)} m JOIN p ON p.id = m.appointment_id
            -- no effect on the result; bounds the scan of the messages' appointment index
            WHERE m.appointment_id BETWEEN (SELECT MIN(id) FROM p) AND (SELECT MAX(id) FROM p)
        )
        SELECT
            (SELECT COALESCE(json_agg(g), '[]') FROM (
                SELECT bucket, outcome, created_by, appointment_type_id, location_id, COUNT(*) AS n
                FROM p GROUP BY 1, 2, 3, 4, 5) g),
            (SELECT row_to_json(d) FROM (
                SELECT COUNT(*) AS count, AVG(delay) AS average,
                       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY delay) AS median,
                       COUNT(*) FILTER (WHERE same_day) AS same_day,
                       COUNT(*) FILTER (WHERE NOT same_day AND delay < 7 * 86400) AS week,
                       COUNT(*) FILTER (WHERE NOT same_day AND delay >= 7 * 86400 AND delay < 28 * 86400) AS month,
                       COUNT(*) FILTER (WHERE NOT same_day AND delay >= 28 * 86400) AS later
                FROM p) d),
            (SELECT COUNT(*) FROM {_table(WaitingListEntry)} w JOIN p ON p.id = w.appointment_id),
            (SELECT COALESCE(json_agg(m), '[]') FROM (
                SELECT channel, status, COUNT(*) AS n, SUM(sms_segments) AS segments FROM pm GROUP BY 1, 2) m),
            (SELECT row_to_json(o) FROM (
                SELECT COUNT(*) AS offers, COUNT(DISTINCT pm.appointment_id) AS offered,
                       COUNT(DISTINCT pm.appointment_id) FILTER (WHERE EXISTS (
                           SELECT 1 FROM {_table(AppointmentChange)} c
                           WHERE c.appointment_id = pm.appointment_id AND c.action = 'moved'
                             AND c.actor_agent_id IS NULL AND c.at > pm.created_at)) AS moved
                FROM pm WHERE pm.kind = %(offer)s) o)
    """
    names = {f"p{n}": value for n, value in enumerate(rows_params)}
    with transaction.atomic(), connection.cursor() as cursor:
        # Compiling this statement (PostgreSQL's JIT) costs more than running it.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, {**names, "tz": tz, "now": now, "offer": Kind.WAITING_LIST_SLOT.value})
        groups, delays, waiting, messages, offers = cursor.fetchone()
    return {"groups": groups, "delays": delays, "waiting": waiting, "messages": messages, "offers": offers}


def statistics(appointments: QuerySet[Appointment], *, start: date, end: date, tz: str, granularity: str = MONTH,
               now: datetime | None = None) -> Statistics:
    """Figures of ``appointments`` (already limited to what may be seen) starting between local dates
    ``start`` and ``end`` (included) in ``tz``, per ``granularity`` (WEEK or MONTH). Three queries."""
    now = now or timezone.now()
    since, until = period_bounds(start, end, tz)
    period = appointments.filter(starts_at__gte=since, starts_at__lt=until)
    starts = bucket_starts(start, end, granularity)
    index = {day: n for n, day in enumerate(starts)}

    # 1. One statement: the period's rows are read once, then grouped (outcomes, origins, types, locations per
    # bucket), summarised (delays, waiting list) and joined to their messages.
    figures = _aggregate(period, tz=tz, granularity=granularity, now=now)
    groups = figures["groups"]
    # 2. The names of the types and locations met (small tables, by primary key).
    type_ids = {group["appointment_type_id"] for group in groups}
    types = {
        row["pk"]: row for row in AppointmentType.objects.filter(pk__in=type_ids)
        .values("pk", "name", "mode", "service_id", "service__name", "organisation__name")
    }
    location_ids = {group["location_id"] for group in groups} - {None}
    locations = dict(Location.objects.filter(pk__in=location_ids).values_list("pk", "name"))

    size = len(starts)
    totals = [0] * size
    breakdowns: dict[str, dict] = {name: {} for name in ("outcome", "origin", "service", "type", "mode", "location")}

    def add(name, key, label, position, n):
        series = breakdowns[name].get(key)
        if series is None:
            series = breakdowns[name][key] = Series(key=str(key), label=label, counts=[0] * size)
        series.total += n
        series.counts[position] += n

    several_organisations = len({row["organisation__name"] for row in types.values()}) > 1
    for group in groups:
        position = index.get(date.fromisoformat(group["bucket"][:10]))
        if position is None:  # cannot happen: the period lies within the buckets
            continue
        n = group["n"]
        totals[position] += n
        kind = types[group["appointment_type_id"]]
        type_label = f"{kind['name']} ({kind['organisation__name']})" if several_organisations else kind["name"]
        add("outcome", group["outcome"], "", position, n)
        add("origin", group["created_by"], Appointment.CreatedBy(group["created_by"]).label, position, n)
        add("service", kind["service_id"], kind["service__name"], position, n)
        add("type", kind["pk"], type_label, position, n)
        add("mode", kind["mode"], AppointmentType.Mode(kind["mode"]).label, position, n)
        location_id = group["location_id"]
        add("location", location_id or 0, locations.get(location_id, NO_LOCATION), position, n)

    def fixed(name, choices):
        """Every choice, in order, even when nothing was counted."""
        result = []
        for key, label in choices:
            series = breakdowns[name].get(key) or Series(key=key, label=label, counts=[0] * size)
            series.label = label
            result.append(series)
        return result

    def ranked(name):
        return sorted(breakdowns[name].values(), key=lambda series: (-series.total, series.label))

    outcomes = fixed("outcome", OUTCOMES)
    seen, noshow = outcomes[0], outcomes[1]
    origins = fixed("origin", Appointment.CreatedBy.choices)
    modes = fixed("mode", AppointmentType.Mode.choices)

    delays = figures["delays"]
    delay = Delay(
        count=delays["count"],
        average=None if delays["average"] is None else timedelta(seconds=round(delays["average"])),
        median=None if delays["median"] is None else timedelta(seconds=round(delays["median"])),
        buckets=[Series(key=key, label=label, total=delays[key]) for key, label in DELAY_BUCKETS],
    )
    channels = {key: ChannelMessages(channel=key, label=label, total=0, by_status=dict.fromkeys(MESSAGE_STATUSES, 0),
                                     sms_segments=0) for key, label in Channel.choices}
    for row in figures["messages"]:
        entry = channels.setdefault(row["channel"], ChannelMessages(
            channel=row["channel"], label=row["channel"], total=0, by_status=dict.fromkeys(MESSAGE_STATUSES, 0),
            sms_segments=0))
        status = row["status"] if row["status"] in MESSAGE_STATUSES else MessageStatus.PENDING.value
        entry.by_status[status] += row["n"]
        entry.total += row["n"]
        entry.sms_segments += row["segments"] or 0
    offers = figures["offers"]
    waiting_list = WaitingList(waiting=figures["waiting"], offers=offers["offers"],
                               offered_appointments=offers["offered"], moved=offers["moved"])

    return Statistics(
        start=start, end=end, tz=tz, granularity=granularity,
        buckets=[Bucket(start=day, label=bucket_label(day, granularity)) for day in starts],
        total=sum(totals), totals=totals, outcomes=outcomes,
        noshow_rate=no_show_rate(seen.total, noshow.total),
        noshow_rates=[no_show_rate(seen.counts[n], noshow.counts[n]) for n in range(size)],
        by_origin=origins, by_service=ranked("service"), by_type=ranked("type"), by_mode=modes,
        by_location=ranked("location"), delay=delay, messages=list(channels.values()), waiting_list=waiting_list,
    )

