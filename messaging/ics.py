"""Calendar files (RFC 5545) for appointment e-mails and the agents' webcal feed, with ``icalendar``.

- ``appointment_calendar``: one VEVENT for an e-mail, attached as ``.ics`` and as a ``text/calendar``
  part. ``METHOD:PUBLISH`` for usagers (added to their calendar, no invitation to answer),
  ``REQUEST`` for agents (an invitation their calendar updates in place), ``CANCEL`` once the
  appointment is cancelled (``cancelled=True`` forces it, with ``STATUS:CANCELLED``). The UID is
  the appointment's, stable across every message about it, and ``SEQUENCE`` grows with each change
  so that calendars replace the event instead of adding a second one.
- ``agent_feed``: the whole agenda of an agent for a subscribed ``webcal://`` URL.

Times are written in the appointment's local timezone (``DTSTART;TZID=Europe/Paris:...``) with the
matching VTIMEZONE, limited to the years around the events so the file stays small.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar

PRODID = "-//RDV Service Public//Rendez-vous//FR"
METHODS = frozenset({"PUBLISH", "REQUEST", "CANCEL"})
CANCELLED_PREFIX = "Annulé : "


def _local(moment: dt.datetime, tz: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Les dates d'un rendez-vous doivent porter un fuseau horaire (datetime « aware »).")
    return moment.astimezone(ZoneInfo(tz))


def _calendar(method: str | None) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def _event(
    *, uid: str, sequence: int, summary: str, description: str, location: str, starts_at: dt.datetime,
    ends_at: dt.datetime, tz: str, cancelled: bool, url: str, stamp: dt.datetime,
) -> icalendar.Event:
    start, end = _local(starts_at, tz), _local(ends_at, tz)
    if end <= start:
        raise ValueError("La fin d'un rendez-vous doit suivre son début.")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # A cancelled appointment no longer blocks the time in the agent's calendar.
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def _add_timezones(calendar: icalendar.Calendar, moments: list[dt.datetime]) -> None:
    if not moments:
        return
    first = min(moments).date() - dt.timedelta(days=366)
    last = max(moments).date() + dt.timedelta(days=366)
    calendar.add_missing_timezones(first_date=first, last_date=last)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def appointment_calendar(
    *,
    uid: str,
    sequence: int,
    method: str,
    summary: str,
    description: str,
    location: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    tz: str,
    organizer_email: str,
    attendee_emails: list[str],
    cancelled: bool,
    url: str = "",
) -> bytes:
    """The ``.ics`` of one appointment for one e-mail (see the module docstring).

    ``method`` is ``PUBLISH`` (usager) or ``REQUEST`` (agents); ``cancelled=True`` makes it ``CANCEL``.
    ``starts_at`` / ``ends_at`` must be timezone-aware; ``tz`` is the IANA name of the local timezone.
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"Méthode iCalendar inconnue : {method!r} (PUBLISH, REQUEST ou CANCEL).")
    if cancelled or method == "CANCEL":
        method, cancelled = "CANCEL", True
    calendar = _calendar(method)
    event = _event(
        uid=uid, sequence=sequence, summary=summary, description=description, location=location,
        starts_at=starts_at, ends_at=ends_at, tz=tz, cancelled=cancelled, url=url, stamp=_utc_now(),
    )
    if organizer_email:
        event.add("organizer", icalendar.vCalAddress(f"mailto:{organizer_email}"))
    for email in attendee_emails:
        event.add(
            "attendee",
            icalendar.vCalAddress(f"mailto:{email}"),
            parameters={"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"},
        )
    calendar.add_component(event)
    _add_timezones(calendar, [starts_at, ends_at])
    return calendar.to_ical()


def agent_feed(*, name: str, events: list[dict]) -> bytes:
    """An agent's webcal feed: one VEVENT per dict, cancelled ones marked and prefixed "Annulé : ".

    Each dict has ``uid``, ``summary``, ``description``, ``location``, ``starts_at``, ``ends_at``
    (aware), ``tz`` and ``cancelled``; ``sequence`` and ``url`` are optional.
    """
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-published-ttl", "PT1H")
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    stamp = _utc_now()
    moments = []
    for item in events:
        cancelled = bool(item.get("cancelled"))
        summary = item["summary"]
        if cancelled and not summary.startswith(CANCELLED_PREFIX):
            summary = CANCELLED_PREFIX + summary
        calendar.add_component(
            _event(
                uid=item["uid"], sequence=item.get("sequence", 0), summary=summary,
                description=item.get("description", ""), location=item.get("location", ""),
                starts_at=item["starts_at"], ends_at=item["ends_at"], tz=item["tz"], cancelled=cancelled,
                url=item.get("url", ""), stamp=stamp,
            )
        )
        moments += [item["starts_at"], item["ends_at"]]
    _add_timezones(calendar, moments)
    return calendar.to_ical()
