"""Waiting list: join/leave on the manage page (appointments more than 7 days away), and the periodic job:
acts 8:00–20:00 local time, at most 3 messages per entry at least a day apart, through
messaging.services.waiting_list_slot_notify (outbox rows), entries of cancelled or passed appointments go."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging.models import Message
from public_booking import self_service as rules
from public_booking import tasks
from public_booking import waiting_list as job
from public_booking.models import WaitingListEntry
from scheduling.models import Appointment, Status
from tests.public_booking.selfservice_world import book, build_world

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        return build_world()


def _local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.now().astimezone(PARIS).date() + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def test_join_and_leave_on_the_manage_page(world, administration_a, client_a):
    with tenant_context(administration_a):
        far = book(world, timezone.now() + timedelta(days=10))
        near = book(world, timezone.now() + timedelta(days=6))
    page = client_a.get(f"/rdv/{far.uuid}/").content.decode()
    assert "Me prévenir si un créneau se libère plus tôt" in page
    assert "Me prévenir" not in client_a.get(f"/rdv/{near.uuid}/").content.decode()
    client_a.post(f"/rdv/{far.uuid}/liste-attente/", {"action": "join"})
    client_a.post(f"/rdv/{far.uuid}/liste-attente/", {"action": "join"})  # twice: still one entry
    response = client_a.post(f"/rdv/{near.uuid}/liste-attente/", {"action": "join"}, follow=True)
    assert "moins de 7 jours" in response.content.decode()
    with tenant_context(administration_a):
        assert WaitingListEntry.objects.filter(appointment=far).count() == 1
        assert not WaitingListEntry.objects.filter(appointment=near).exists()
    assert "Ne plus être prévenu" in client_a.get(f"/rdv/{far.uuid}/").content.decode()
    client_a.post(f"/rdv/{far.uuid}/liste-attente/", {"action": "leave"})
    with tenant_context(administration_a):
        assert not WaitingListEntry.objects.filter(appointment=far).exists()
    assert client_a.get(f"/rdv/{far.uuid}/liste-attente/").status_code == 405


@pytest.mark.parametrize(("hour", "minute", "acts"), [(7, 59, False), (8, 0, True), (19, 59, True), (20, 0, False)])
def test_job_acts_only_during_the_day(world, administration_a, hour, minute, acts):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=20))
        entry = WaitingListEntry.objects.create(appointment=appointment)
        now = _local(1, hour, minute)
        assert job.waiting_list_scan(now=now, tz_name="Europe/Paris") == (1 if acts else 0)
        entry.refresh_from_db()
        assert entry.notifications_sent == (1 if acts else 0)
        rows = Message.objects.filter(appointment=appointment, kind="waiting_list_slot")
        assert rows.exists() == acts
        if acts:
            assert {row.channel for row in rows} == {"email", "sms"}
            assert all(str(appointment.uuid) in row.body for row in rows)


def test_job_sends_at_most_three_messages_a_day_apart(world, administration_a):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=25))
        entry = WaitingListEntry.objects.create(appointment=appointment)
        start = _local(1, 9)
        with mock.patch("messaging.services.waiting_list_slot_notify",
                        wraps=__import__("messaging.services", fromlist=["x"]).waiting_list_slot_notify) as notify:
            assert job.waiting_list_scan(now=start, tz_name="Europe/Paris") == 1
            # Ten minutes later, and 23 hours later: too soon.
            assert job.waiting_list_scan(now=start + timedelta(minutes=10), tz_name="Europe/Paris") == 0
            assert job.waiting_list_scan(now=start + timedelta(hours=23), tz_name="Europe/Paris") == 0
            assert job.waiting_list_scan(now=start + timedelta(days=1), tz_name="Europe/Paris") == 1
            assert job.waiting_list_scan(now=start + timedelta(days=2), tz_name="Europe/Paris") == 1
            assert job.waiting_list_scan(now=start + timedelta(days=3), tz_name="Europe/Paris") == 0
            assert notify.call_count == 3
            assert all(call.kwargs["appointment"].pk == appointment.pk for call in notify.call_args_list)
        entry.refresh_from_db()
        assert entry.notifications_sent == 3
        assert entry.last_notified_at == start + timedelta(days=2)
        assert Message.objects.filter(appointment=appointment, kind="waiting_list_slot", channel="sms").count() == 3


def test_job_does_nothing_without_an_earlier_slot(world, administration_a):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=20))
        WaitingListEntry.objects.create(appointment=appointment)
        world.agent.availabilities.all().delete()
        assert job.waiting_list_scan(now=_local(1, 10), tz_name="Europe/Paris") == 0
        assert not Message.objects.filter(kind="waiting_list_slot").exists()


def test_job_uses_same_type_and_place(world, administration_a):
    from tests.scheduling.factories import AppointmentTypeFactory, LocationFactory

    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=20))
        WaitingListEntry.objects.create(appointment=appointment)
        # The only free time is for another type, or at another place.
        availability = world.agent.availabilities.get()
        other_type = AppointmentTypeFactory(organisation=world.organisation, service=world.service)
        availability.appointment_types.set([other_type])
        assert job.waiting_list_scan(now=_local(1, 10), tz_name="Europe/Paris") == 0
        availability.appointment_types.set([world.kind])
        availability.location = LocationFactory(organisation=world.organisation)
        availability.save()
        assert job.waiting_list_scan(now=_local(1, 10), tz_name="Europe/Paris") == 0


def test_entries_of_cancelled_or_passed_appointments_go(world, administration_a):
    with tenant_context(administration_a):
        cancelled = book(world, timezone.now() + timedelta(days=20))
        passed = book(world, timezone.now() + timedelta(days=21))
        kept = book(world, timezone.now() + timedelta(days=22))
        for appointment in (cancelled, passed, kept):
            WaitingListEntry.objects.create(appointment=appointment)
        Appointment.objects.filter(pk=cancelled.pk).update(status=Status.REVOKED)
        job.waiting_list_scan(now=passed.starts_at + timedelta(minutes=1), tz_name="Europe/Paris")
        assert list(WaitingListEntry.objects.values_list("appointment_id", flat=True)) == [kept.pk]


def test_moving_within_seven_days_leaves_the_list(world, administration_a):
    from scheduling.selectors import slots_for

    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=20))
        rules.waiting_list_join(appointment=appointment)
        after = timezone.now() + timedelta(days=3)
        target = slots_for(appointment_type=world.kind, start=after, end=after + timedelta(days=1),
                           location_id=world.location.pk)[0].starts_at
        rules.appointment_move_by_citizen(appointment=appointment, starts_at=target)
        assert not WaitingListEntry.objects.filter(appointment=appointment).exists()


def test_fan_out_task_skips_administrations_at_night(administration_a):
    from django.db import connection

    connection.set_schema_to_public()
    day, night = datetime(2026, 6, 1, 10, 0, tzinfo=PARIS), datetime(2026, 6, 1, 22, 0, tzinfo=PARIS)
    with mock.patch.object(tasks.waiting_list_scan, "delay") as delay:
        with mock.patch("public_booking.tasks.timezone.now", return_value=night):
            tasks.waiting_list_scan_all()
        at_night = delay.call_count
        with mock.patch("public_booking.tasks.timezone.now", return_value=day):
            count = tasks.waiting_list_scan_all()
    # test-a and test-b are in Paris: nothing at 22:00 there. test-etat is in Cayenne (17:00 then).
    assert at_night <= 1
    assert count >= 2 and delay.call_count - at_night == count


def test_beat_runs_the_job_every_ten_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["waiting-list-scan"]
    assert entry == {"task": "public_booking.waiting_list_scan_all", "schedule": 600.0}


def test_administration_task_runs_the_scan(world, administration_a):
    with tenant_context(administration_a), mock.patch("public_booking.waiting_list.waiting_list_scan",
                                                       return_value=4) as scan:
        assert tasks.waiting_list_scan.run() == 4
        scan.assert_called_once_with()


def test_appointments_that_cannot_move_online_have_no_waiting_list(world, administration_a, client_a):
    with tenant_context(administration_a):
        by_agent = book(world, timezone.now() + timedelta(days=12), created_by=Appointment.CreatedBy.AGENT)
        mine = book(world, timezone.now() + timedelta(days=13))
        WaitingListEntry.objects.create(appointment=mine)
    assert "Me prévenir" not in client_a.get(f"/rdv/{by_agent.uuid}/").content.decode()
    response = client_a.post(f"/rdv/{by_agent.uuid}/liste-attente/", {"action": "join"}, follow=True)
    assert "pris par un agent" in response.content.decode()
    with tenant_context(administration_a):
        assert not WaitingListEntry.objects.filter(appointment=by_agent).exists()
        world.kind.citizen_can_move = False
        world.kind.save()
        assert job.waiting_list_scan(now=_local(1, 10), tz_name="Europe/Paris") == 0
        assert not Message.objects.filter(kind="waiting_list_slot").exists()
