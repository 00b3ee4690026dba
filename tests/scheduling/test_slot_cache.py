"""The shared cache of slot searches (scheduling.slot_cache): same answers as without it, and any write
that changes a slot makes the next read compute again — once the write commits."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from scheduling import slot_cache
from scheduling.models import Absence, Availability
from scheduling.selectors import slots_for
from scheduling.services import Actor, appointment_book_slot, appointment_set_status
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    AvailabilityFactory,
    CitizenFactory,
    LocationFactory,
    ServiceFactory,
)

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2027, 1, 4)
NOW = datetime(2027, 1, 1, 8, 0, tzinfo=PARIS)
WEEK = (datetime(2027, 1, 4, tzinfo=PARIS), datetime(2027, 1, 11, tzinfo=PARIS))


@pytest.fixture
def world(administration_a):
    cache.delete(slot_cache.VERSION_KEY)
    with tenant_context(administration_a):
        location = LocationFactory()
        organisation = location.organisation
        service = ServiceFactory()
        kind = AppointmentTypeFactory(organisation=organisation, service=service, duration_minutes=30,
                                      min_booking_delay=timedelta(hours=1), max_booking_delay=timedelta(days=10))
        agent = AgentFactory(services=[service], organisation=organisation)
        AvailabilityFactory(agent=agent, location=location, first_day=MONDAY, appointment_types=[kind])
        yield {"location": location, "type": kind, "agent": agent, "citizen": CitizenFactory()}


def search(world, *, use_cache, now=NOW, start=WEEK[0], end=WEEK[1], audience="usager"):
    return slots_for(appointment_type=world["type"], start=start, end=end, location_id=world["location"].pk,
                     now=now, use_cache=use_cache, audience=audience)


def test_cached_answers_equal_fresh_ones_whatever_now(world):
    # The window (max 10 days) cuts the week differently as "now" moves: the cached list is filtered each time.
    for now in (NOW, NOW + timedelta(days=-3, hours=5), NOW + timedelta(minutes=7)):
        for audience in ("usager", "agent"):
            assert search(world, use_cache=True, now=now, audience=audience) == search(
                world, use_cache=False, now=now, audience=audience)
    assert len(search(world, use_cache=True)) == 5 * 6  # 5 days x 09:00-12:00 in 30 min


def test_a_cached_read_runs_no_query(world, django_assert_num_queries):
    search(world, use_cache=True)
    with django_assert_num_queries(0):
        search(world, use_cache=True)


def test_a_range_that_has_begun_is_always_computed(world, django_assert_num_queries):
    now = datetime(2027, 1, 5, 10, 7, tzinfo=PARIS)  # Tuesday 10:07: the grid of an ongoing opening moves
    search(world, use_cache=True, now=now)
    with django_assert_num_queries(3):
        assert search(world, use_cache=True, now=now) == search(world, use_cache=False, now=now)


def test_a_booking_invalidates_after_commit(world, django_capture_on_commit_callbacks):
    before = search(world, use_cache=True)
    first = before[0]
    with django_capture_on_commit_callbacks(execute=True):
        appointment = appointment_book_slot(
            appointment_type=world["type"], starts_at=first.starts_at, citizens=[world["citizen"]],
            actor=Actor(kind="citizen", label="usager"), location=world["location"], now=NOW,
        )
    after = search(world, use_cache=True)
    assert first.starts_at not in [slot.starts_at for slot in after]
    assert after == search(world, use_cache=False)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_set_status(appointment=appointment, status="excused", actor=Actor.for_agent(world["agent"]))
    assert search(world, use_cache=True) == before


def test_the_version_changes_at_each_write_and_again_at_commit(world):
    from django.db import connection

    search(world, use_cache=True)
    version = slot_cache.current_version()
    for day in (MONDAY, MONDAY + timedelta(days=1)):
        Absence.objects.create(agent=world["agent"], first_day=day, end_day=day, start_time=time(9),
                               end_time=time(12), title="Formation")
    during = slot_cache.current_version()
    assert during != version  # the writing transaction never reads what was cached before its writes
    assert len(search(world, use_cache=True)) == 3 * 6
    # one after-commit replacement per transaction, however many rows it wrote
    (after_commit,) = [entry[1] for entry in connection.run_on_commit if entry[1] is slot_cache._bump]
    after_commit()
    # another reader may have cached the pre-commit state under `during`: it is never read after the commit
    assert slot_cache.current_version() not in (version, during)


@pytest.mark.parametrize("change", ["plage", "types", "location"])
def test_other_writes_invalidate(world, change, django_capture_on_commit_callbacks):
    search(world, use_cache=True)
    with django_capture_on_commit_callbacks(execute=True):
        availability = Availability.objects.get(agent=world["agent"])
        if change == "plage":
            availability.end_time = time(10)
            availability.save()
        elif change == "types":
            availability.appointment_types.clear()
        else:
            world["location"].availability = "disabled"
            world["location"].save()
    assert search(world, use_cache=True) == search(world, use_cache=False)
    if change != "location":
        assert len(search(world, use_cache=True)) in (0, 5 * 2)


def test_versions_are_per_administration(world, administration_b):
    a_version = slot_cache.current_version()
    with tenant_context(administration_b):
        assert slot_cache.current_version() != a_version


def test_one_version_per_request_and_a_write_in_it_is_seen(world):
    reads = []

    @slot_cache.one_version
    def view(request):
        reads.append(len(search(world, use_cache=True)))
        Absence.objects.create(agent=world["agent"], first_day=MONDAY, end_day=MONDAY, start_time=time(9),
                               end_time=time(12), title="Réunion")
        reads.append(len(search(world, use_cache=True)))
        return "ok"

    assert view(None) == "ok"
    assert reads == [5 * 6, 4 * 6]
    assert slot_cache._request_version.get() is None  # nothing pinned outside the request


def test_redis_down_means_computing_without_the_cache(world):
    import socket

    import redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    previous = slot_cache._client
    slot_cache._client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    try:
        assert search(world, use_cache=True) == search(world, use_cache=False)
        Absence.objects.create(agent=world["agent"], first_day=MONDAY, end_day=MONDAY, start_time=time(9),
                               end_time=time(12), title="Panne")  # the write goes through, logged
    finally:
        slot_cache._client = previous
