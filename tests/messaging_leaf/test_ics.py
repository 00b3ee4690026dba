"""messaging.ics: appointment calendar files and the agent feed, parsed back with icalendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from messaging.ics import agent_feed, appointment_calendar

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def build(**overrides):
    arguments = {
        "uid": "7f1c9b2e-rdv@rdv.example.fr",
        "sequence": 0,
        "method": "PUBLISH",
        "summary": "RDV PMI : consultation",
        "description": "Apportez le carnet de santé.\nPour annuler : https://x.fr/r/1",
        "location": "MDS Nord, 2 rue de la Paix, 62000 Arras",
        "starts_at": dt.datetime(2026, 3, 12, 14, 30, tzinfo=PARIS),
        "ends_at": dt.datetime(2026, 3, 12, 15, 0, tzinfo=PARIS),
        "tz": "Europe/Paris",
        "organizer_email": "ne-pas-repondre@rdv.example.fr",
        "attendee_emails": ["usager@example.fr"],
        "cancelled": False,
        "url": "https://test-a.rdv.example.fr/rdv/1",
    }
    arguments.update(overrides)
    return icalendar.Calendar.from_ical(appointment_calendar(**arguments))


def only_event(calendar):
    (event,) = calendar.walk("VEVENT")
    return event


def test_usager_calendar_is_published_in_local_time_with_vtimezone():
    calendar = build()
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["VERSION"] == "2.0"
    event = only_event(calendar)
    assert str(event["UID"]) == "7f1c9b2e-rdv@rdv.example.fr"
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event["DTEND"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTSTART") == dt.datetime(2026, 3, 12, 14, 30, tzinfo=PARIS)
    assert event.decoded("DTSTART").astimezone(UTC) == dt.datetime(2026, 3, 12, 13, 30, tzinfo=UTC)
    assert event.decoded("DTSTAMP").tzinfo is not None
    assert str(event["SUMMARY"]) == "RDV PMI : consultation"
    assert str(event["DESCRIPTION"]).startswith("Apportez le carnet de santé.\n")
    assert str(event["LOCATION"]) == "MDS Nord, 2 rue de la Paix, 62000 Arras"
    assert str(event["URL"]) == "https://test-a.rdv.example.fr/rdv/1"
    assert str(event["ORGANIZER"]) == "mailto:ne-pas-repondre@rdv.example.fr"
    assert str(event["ATTENDEE"]) == "mailto:usager@example.fr"
    (timezone,) = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Paris"


def test_utc_input_is_written_in_the_local_timezone():
    event = only_event(build(
        starts_at=dt.datetime(2026, 3, 12, 13, 30, tzinfo=UTC), ends_at=dt.datetime(2026, 3, 12, 14, tzinfo=UTC)
    ))
    assert event["DTSTART"].to_ical() == b"20260312T143000"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"


def test_dst_change_keeps_local_wall_time():
    # 29 March 2026: clocks go forward in Paris. 10:00 the day before is UTC+1, 10:00 that day UTC+2.
    before = only_event(build(
        starts_at=dt.datetime(2026, 3, 28, 10, tzinfo=PARIS), ends_at=dt.datetime(2026, 3, 28, 10, 30, tzinfo=PARIS)
    ))
    after_calendar = build(
        starts_at=dt.datetime(2026, 3, 30, 10, tzinfo=PARIS), ends_at=dt.datetime(2026, 3, 30, 10, 30, tzinfo=PARIS)
    )
    after = only_event(after_calendar)
    assert before["DTSTART"].to_ical() == b"20260328T100000"
    assert after["DTSTART"].to_ical() == b"20260330T100000"
    assert before.decoded("DTSTART").astimezone(UTC).hour == 9
    assert after.decoded("DTSTART").astimezone(UTC).hour == 8
    # The VTIMEZONE itself (not only the TZID name) gives both offsets, for clients that rely on it.
    (timezone,) = after_calendar.walk("VTIMEZONE")
    described = timezone.to_tz()
    assert dt.datetime(2026, 3, 28, 10, tzinfo=described).utcoffset() == dt.timedelta(hours=1)
    assert dt.datetime(2026, 3, 30, 10, tzinfo=described).utcoffset() == dt.timedelta(hours=2)


def test_overseas_timezone():
    cayenne = ZoneInfo("America/Cayenne")
    event_calendar = build(
        tz="America/Cayenne",
        starts_at=dt.datetime(2026, 7, 1, 9, tzinfo=cayenne),
        ends_at=dt.datetime(2026, 7, 1, 9, 45, tzinfo=cayenne),
    )
    event = only_event(event_calendar)
    assert event["DTSTART"].params["TZID"] == "America/Cayenne"
    assert event["DTSTART"].to_ical() == b"20260701T090000"
    assert event.decoded("DTSTART").astimezone(UTC) == dt.datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert [str(tz["TZID"]) for tz in event_calendar.walk("VTIMEZONE")] == ["America/Cayenne"]


def test_réunion_timezone():
    reunion = ZoneInfo("Indian/Reunion")
    event = only_event(build(
        tz="Indian/Reunion",
        starts_at=dt.datetime(2026, 1, 5, 8, tzinfo=UTC),
        ends_at=dt.datetime(2026, 1, 5, 8, 30, tzinfo=UTC),
    ))
    assert event["DTSTART"].params["TZID"] == "Indian/Reunion"
    assert event.decoded("DTSTART") == dt.datetime(2026, 1, 5, 12, tzinfo=reunion)


def test_agent_request_with_attendees_and_sequence():
    calendar = build(method="REQUEST", sequence=3, attendee_emails=["agent1@cd62.fr", "agent2@cd62.fr"])
    assert calendar["METHOD"] == "REQUEST"
    event = only_event(calendar)
    assert event["SEQUENCE"] == 3
    assert [str(a) for a in event["ATTENDEE"]] == ["mailto:agent1@cd62.fr", "mailto:agent2@cd62.fr"]
    assert event["ATTENDEE"][0].params["ROLE"] == "REQ-PARTICIPANT"


@pytest.mark.parametrize("method", ["PUBLISH", "REQUEST"])
def test_cancellation(method):
    calendar = build(method=method, sequence=4, cancelled=True)
    assert calendar["METHOD"] == "CANCEL"
    event = only_event(calendar)
    assert event["STATUS"] == "CANCELLED"
    assert str(event["UID"]) == "7f1c9b2e-rdv@rdv.example.fr"
    assert event["SEQUENCE"] == 4


def test_refusals():
    with pytest.raises(ValueError, match="fuseau"):
        build(starts_at=dt.datetime(2026, 3, 12, 14, 30))
    with pytest.raises(ValueError, match="Méthode"):
        build(method="REPLY")
    with pytest.raises(ValueError, match="fin"):
        build(ends_at=dt.datetime(2026, 3, 12, 14, 0, tzinfo=PARIS))


def test_agent_feed():
    cayenne = ZoneInfo("America/Cayenne")
    events = [
        {
            "uid": "rdv-1", "summary": "RDV Martin", "description": "Motif : PMI", "location": "MDS Nord",
            "starts_at": dt.datetime(2026, 3, 27, 9, tzinfo=PARIS),
            "ends_at": dt.datetime(2026, 3, 27, 9, 30, tzinfo=PARIS), "tz": "Europe/Paris", "cancelled": False,
        },
        {
            "uid": "rdv-2", "summary": "RDV Durand", "description": "", "location": "",
            "starts_at": dt.datetime(2026, 3, 30, 9, tzinfo=PARIS),
            "ends_at": dt.datetime(2026, 3, 30, 9, 30, tzinfo=PARIS), "tz": "Europe/Paris", "cancelled": True,
        },
        {
            "uid": "rdv-3", "summary": "RDV Cayenne", "description": "", "location": "Antenne",
            "starts_at": dt.datetime(2026, 4, 2, 8, tzinfo=cayenne),
            "ends_at": dt.datetime(2026, 4, 2, 9, tzinfo=cayenne), "tz": "America/Cayenne", "cancelled": False,
        },
    ]
    calendar = icalendar.Calendar.from_ical(agent_feed(name="Agenda de Camille Martin", events=events))
    assert str(calendar["X-WR-CALNAME"]) == "Agenda de Camille Martin"
    parsed = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert set(parsed) == {"rdv-1", "rdv-2", "rdv-3"}
    assert parsed["rdv-1"]["STATUS"] == "CONFIRMED"
    assert str(parsed["rdv-1"]["SUMMARY"]) == "RDV Martin"
    assert parsed["rdv-2"]["STATUS"] == "CANCELLED"
    assert str(parsed["rdv-2"]["SUMMARY"]) == "Annulé : RDV Durand"
    assert parsed["rdv-3"]["DTSTART"].params["TZID"] == "America/Cayenne"
    # Winter then summer time in Paris, across the DST change.
    assert parsed["rdv-1"].decoded("DTSTART").astimezone(UTC).hour == 8
    assert parsed["rdv-2"].decoded("DTSTART").astimezone(UTC).hour == 7
    assert {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")} == {"Europe/Paris", "America/Cayenne"}


def test_empty_agent_feed():
    calendar = icalendar.Calendar.from_ical(agent_feed(name="Agenda vide", events=[]))
    assert calendar.walk("VEVENT") == []
    assert str(calendar["X-WR-CALNAME"]) == "Agenda vide"
