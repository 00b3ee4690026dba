"""Statistics figures on a known dataset: outcomes, origins, services, modes, locations, local weeks and months
around the spring DST change, booking delays, messages, waiting list, and what each persona counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from public_booking.models import WaitingListEntry
from reporting import selectors
from scheduling import policy
from scheduling.models import AppointmentChange
from tests.reporting.conftest import make_appointment, make_message, paris
from tests.scheduling.factories import AppointmentTypeFactory

START, END = date(2025, 3, 1), date(2025, 4, 30)
NOW = paris(2025, 4, 15, 12)


@pytest.fixture
def dataset(reporting_world):
    w = reporting_world
    a = {
        1: make_appointment(w, starts_at=paris(2025, 3, 3, 10), status="seen"),
        2: make_appointment(w, starts_at=paris(2025, 3, 4, 15), status="noshow", created_by="citizen",
                            created_at=paris(2025, 3, 4, 8)),
        3: make_appointment(w, starts_at=paris(2025, 3, 10, 10), status="seen", created_by="prescriber",
                            created_at=paris(2025, 2, 1, 10)),
        4: make_appointment(w, starts_at=paris(2025, 3, 11, 10), kind=w.phone_type, agents=("colleague",),
                            status="excused", created_by="api", created_at=paris(2025, 3, 8, 10)),
        # Monday 31 March 00:30 in Paris is still Sunday 30 March in UTC: local week of 31 March, month of March.
        5: make_appointment(w, starts_at=paris(2025, 3, 31, 0, 30), kind=w.phone_type, agents=("colleague",),
                            status="revoked", created_at=paris(2025, 3, 17, 0, 30)),
        # 1 April 00:30 in Paris is 31 March in UTC: month of April locally.
        6: make_appointment(w, starts_at=paris(2025, 4, 1, 0, 30)),
        7: make_appointment(w, starts_at=paris(2025, 4, 20, 10)),
        8: make_appointment(w, starts_at=paris(2025, 3, 5, 10), kind=w.other_type, agents=("other_admin",),
                            status="seen"),
        9: make_appointment(w, starts_at=paris(2025, 2, 20, 10), status="seen"),  # before the period
    }
    make_message(w, a[1], channel="email", status="sent")
    make_message(w, a[1], channel="sms", status="delivered", segments=2)
    make_message(w, a[2], channel="sms", status="failed", segments=1)
    make_message(w, a[4], channel="email", status="skipped")
    make_message(w, a[8], channel="sms", status="sent", segments=3)
    make_message(w, a[9], channel="sms", status="sent", segments=5)
    make_message(w, a[6], channel="email", status="sent", kind="waiting_list_slot", created_at=paris(2025, 3, 25))
    make_message(w, a[7], channel="email", status="sent", kind="waiting_list_slot", created_at=paris(2025, 3, 25))
    with tenant_context(w.administration):
        WaitingListEntry.objects.create(appointment=a[7])
        # the usager took the earlier slot offered for 6; an agent moved 7 (not a waiting-list move)
        for appointment, agent in ((a[6], None), (a[7], w.agents["org_admin"])):
            change = AppointmentChange.objects.create(
                appointment=appointment, appointment_uuid=appointment.uuid, organisation_id=appointment.organisation_id,
                actor_label="Usager" if agent is None else str(agent), actor_agent=agent, action="moved", changes={},
            )
            AppointmentChange.objects.filter(pk=change.pk).update(at=paris(2025, 3, 26))
    return a


def figures_for(world, persona, granularity="month", organisation_ids=None):
    with tenant_context(world.administration):
        scope = policy.scope_for_agent(world.agents[persona])
        queryset = selectors.visible_appointments(scope, organisation_ids)
        return selectors.statistics(queryset, start=START, end=END, tz="Europe/Paris", granularity=granularity,
                                    now=NOW)


def totals(series_list):
    return {series.key: series.total for series in series_list}


def test_organisation_admin_figures_by_month(reporting_world, dataset):
    stats = figures_for(reporting_world, "org_admin")
    assert [bucket.label for bucket in stats.buckets] == ["mars 2025", "avr. 2025"]
    assert stats.total == 7 and stats.totals == [5, 2]
    assert totals(stats.outcomes) == {"seen": 2, "noshow": 1, "excused": 1, "revoked": 1, "to_fill": 1, "upcoming": 1}
    assert stats.outcome("to_fill").counts == [0, 1] and stats.outcome("upcoming").counts == [0, 1]
    assert stats.noshow_rate == pytest.approx(33.3)
    assert stats.noshow_rates == [pytest.approx(33.3), None]
    assert totals(stats.by_origin) == {"agent": 4, "citizen": 1, "prescriber": 1, "api": 1}
    assert [s.label for s in stats.by_origin] == ["Agent", "Usager", "Prescripteur", "API"]
    assert [(s.label, s.total) for s in stats.by_service] == [("PMI", 5), ("Service social", 2)]
    assert [(s.label, s.total) for s in stats.by_type] == [("Consultation PMI", 5), ("Entretien social", 2)]
    assert totals(stats.by_mode) == {"in_person": 5, "phone": 2, "video": 0, "home": 0}
    assert [(s.label, s.total) for s in stats.by_location] == [
        ("Centre", 5), ("Sans lieu (téléphone, visio, domicile)", 2)]


def test_booking_delay(reporting_world, dataset):
    delay = figures_for(reporting_world, "org_admin").delay
    assert delay.count == 7
    assert totals(delay.buckets) == {"same_day": 1, "week": 1, "month": 4, "later": 1}
    assert delay.median == timedelta(days=10)
    elapsed = [dataset[n].starts_at.astimezone(UTC) - dataset[n].created_at.astimezone(UTC) for n in range(1, 8)]
    assert abs(delay.average - sum(elapsed, timedelta()) / 7) < timedelta(seconds=1)


def test_messages_and_waiting_list(reporting_world, dataset):
    stats = figures_for(reporting_world, "org_admin")
    by_channel = {entry.channel: entry for entry in stats.messages}
    assert by_channel["email"].total == 4
    assert by_channel["email"].by_status == {"sent": 3, "delivered": 0, "failed": 0, "skipped": 1, "pending": 0}
    assert by_channel["sms"].total == 2 and by_channel["sms"].sms_segments == 3  # not the other organisation's
    assert by_channel["sms"].by_status["delivered"] == 1 and by_channel["sms"].by_status["failed"] == 1
    assert by_channel["webhook"].total == 0
    wl = stats.waiting_list
    assert (wl.waiting, wl.offers, wl.offered_appointments, wl.moved) == (1, 2, 2, 1)


def test_weeks_are_cut_in_local_time_across_dst(reporting_world, dataset):
    stats = figures_for(reporting_world, "org_admin", granularity="week")
    starts = [bucket.start for bucket in stats.buckets]
    assert starts[0] == date(2025, 2, 24) and starts[-1] == date(2025, 4, 28) and len(starts) == 10
    per_week = dict(zip(starts, stats.totals, strict=True))
    assert per_week[date(2025, 3, 31)] == 2  # 31 March 00:30 and 1 April 00:30, local time
    assert per_week[date(2025, 3, 24)] == 0
    assert per_week[date(2025, 3, 3)] == 2 and per_week[date(2025, 3, 10)] == 2
    assert per_week[date(2025, 4, 14)] == 1
    assert stats.buckets[0].label == "sem. du 24/02/2025"


def test_each_persona_counts_what_it_may(reporting_world, dataset):
    assert figures_for(reporting_world, "basic").total == 5  # those he takes part in
    assert figures_for(reporting_world, "colleague").total == 2
    assert totals(figures_for(reporting_world, "colleague").outcomes)["excused"] == 1
    assert figures_for(reporting_world, "other_admin").total == 1
    both = figures_for(reporting_world, "admin_both")
    assert both.total == 8
    assert {s.label for s in both.by_type} == {"Consultation PMI (MDS Centre)", "Entretien social (MDS Centre)",
                                              "PMI Nord (MDS Nord)"}
    assert figures_for(reporting_world, "admin_both", organisation_ids=[reporting_world.other_org.pk]).total == 1
    # an organisation outside his scope gives nothing, never someone else's figures
    assert figures_for(reporting_world, "basic", organisation_ids=[reporting_world.other_org.pk]).total == 0
    basic_messages = {m.channel: m.total for m in figures_for(reporting_world, "basic").messages}
    assert basic_messages == {"email": 3, "sms": 2, "webhook": 0}


def test_the_number_of_queries_does_not_grow_with_the_data(reporting_world, dataset):
    def count():
        with tenant_context(reporting_world.administration), CaptureQueriesContext(connection) as captured:
            scope = policy.scope_for_agent(reporting_world.agents["admin_both"])
            selectors.statistics(selectors.visible_appointments(scope), start=START, end=END, tz="Europe/Paris",
                                 granularity="week", now=NOW)
        return len(captured.captured_queries)

    before = count()
    w = reporting_world
    for day in range(1, 20):
        appointment = make_appointment(w, starts_at=paris(2025, 4, day, 9), kind=w.other_type, agents=("other_admin",),
                                       status="noshow", created_by="api")
        make_message(w, appointment, channel="sms", status="sent", segments=1)
    # search path, the scope (2), then the figures (savepoint, no JIT, one statement, release), types, locations
    assert count() == before == 9


def test_a_secretary_counts_only_his_own_and_a_mixed_agent_both_parts(reporting_world, dataset):
    w = reporting_world
    with tenant_context(w.administration):
        from scheduling.models import AgentRole
        from tests.scheduling.factories import AgentFactory, ServiceFactory

        secretary = AgentFactory(services=[ServiceFactory(name="Secrétariat", is_secretariat=True)],
                                 organisation=w.org)
        w.agents["secretary"] = secretary
        # the organisation's admin also works, as a basic agent, in MDS Nord
        AgentRole.objects.create(agent=w.agents["org_admin"], organisation=w.other_org, level="basic")
    make_appointment(w, starts_at=paris(2025, 3, 12), agents=("secretary",), status="seen")
    make_appointment(w, starts_at=paris(2025, 3, 13), kind=w.other_type, agents=("org_admin",), status="noshow")
    assert figures_for(w, "secretary").total == 1  # the policy lets him see all; his statistics are his own
    mixed = figures_for(w, "org_admin")
    assert mixed.total == 8 + 1  # MDS Centre (7 + the secretary's) and his one appointment in MDS Nord
    assert figures_for(w, "org_admin", organisation_ids=[w.other_org.pk]).total == 1


def test_what_the_statistics_count_is_always_within_the_policy(reporting_world, dataset):
    w = reporting_world
    with tenant_context(w.administration):
        for persona in w.agents:
            scope = policy.scope_for_agent(w.agents[persona])
            counted = set(selectors.visible_appointments(scope).values_list("pk", flat=True))
            visible = set(policy.appointments(scope).values_list("pk", flat=True))
            assert counted and counted <= visible, persona


def test_an_agent_without_any_organisation_gets_empty_figures(reporting_world):
    w = reporting_world
    with tenant_context(w.administration):
        from tests.scheduling.factories import AgentFactory

        w.agents["nowhere"] = AgentFactory()
    stats = figures_for(w, "nowhere")
    assert stats.total == 0 and stats.noshow_rate is None and stats.delay.median is None
    assert stats.waiting_list.offers == 0 and all(entry.total == 0 for entry in stats.messages)


def test_an_overseas_organisation_is_cut_in_its_own_time(reporting_world):
    w = reporting_world
    with tenant_context(w.administration):
        from scheduling.models import AgentRole
        from tests.scheduling.factories import OrganisationFactory

        noumea = OrganisationFactory(name="Antenne Nouméa", timezone="Pacific/Noumea")
        kind = AppointmentTypeFactory(organisation=noumea, service=w.services["pmi"], name="PMI Nouméa")
        AgentRole.objects.create(agent=w.agents["admin_both"], organisation=noumea, level="admin")
        local = ZoneInfo("Pacific/Noumea")
    # Saturday 1 March 2025 at 05:00 in Nouméa is still 28 February in UTC (and in Paris)
    make_appointment(w, starts_at=datetime(2025, 3, 1, 5, tzinfo=local), kind=kind, agents=("admin_both",),
                     status="seen")
    with tenant_context(w.administration):
        scope = policy.scope_for_agent(w.agents["admin_both"])
        stats = selectors.statistics(selectors.visible_appointments(scope, [noumea.pk]), start=date(2025, 3, 1),
                                     end=date(2025, 3, 31), tz="Pacific/Noumea", now=NOW)
    assert stats.total == 1 and stats.totals == [1] and stats.buckets[0].label == "mars 2025"


def test_every_breakdown_adds_up_to_the_totals(reporting_world):
    import random

    w = reporting_world
    chance = random.Random(7)
    for _ in range(60):
        starts_at = paris(2025, 1, 1) + timedelta(days=chance.randint(0, 89), hours=chance.randint(0, 23))
        make_appointment(
            w, starts_at=starts_at, kind=chance.choice([w.pmi_type, w.phone_type, w.other_type]),
            agents=("admin_both",), status=chance.choice(["seen", "noshow", "excused", "revoked", "unknown"]),
            created_by=chance.choice(["agent", "citizen", "prescriber", "api"]),
            created_at=starts_at - timedelta(hours=chance.randint(-5, 24 * 60)),
        )
    for granularity in ("week", "month"):
        with tenant_context(w.administration):
            scope = policy.scope_for_agent(w.agents["admin_both"])
            stats = selectors.statistics(selectors.visible_appointments(scope), start=date(2025, 1, 1),
                                         end=date(2025, 3, 31), tz="Europe/Paris", granularity=granularity,
                                         now=paris(2025, 2, 15))
        assert stats.total == 60
        for breakdown in (stats.outcomes, stats.by_origin, stats.by_service, stats.by_type, stats.by_mode,
                          stats.by_location):
            assert [sum(column) for column in zip(*(s.counts for s in breakdown), strict=True)] == stats.totals
            assert sum(s.total for s in breakdown) == 60
        assert sum(s.total for s in stats.delay.buckets) == stats.delay.count == 60


def test_a_move_accepted_from_the_waiting_list_is_counted_through_the_real_services(administration_a):
    """The usager joins the waiting list, gets the earlier-slot message, takes the slot: one move counted."""
    from django.utils import timezone

    from messaging.services import waiting_list_slot_notify
    from public_booking.self_service import appointment_move_by_citizen, waiting_list_join
    from scheduling.services import Actor, appointment_create
    from tests.scheduling.api_world import MONDAY, at, build_world

    world = build_world(administration_a)
    with tenant_context(administration_a):
        later = MONDAY + timedelta(days=14)
        appointment = appointment_create(
            appointment_type=world.pmi_type, starts_at=at(9, day=later), agents=[world.agents["basic"]],
            citizens=[world.citizen], actor=Actor(kind="citizen", label="Usager"), location=world.location,
            created_by="citizen", accept_warnings=True,
        )
        waiting_list_join(appointment=appointment)
        offers = waiting_list_slot_notify(appointment=appointment)
        assert offers
        appointment_move_by_citizen(appointment=appointment, starts_at=at(10, day=MONDAY),
                                    now=timezone.now() + timedelta(minutes=1))
        scope = policy.scope_for_agent(world.agents["admin"])
        stats = selectors.statistics(selectors.visible_appointments(scope), start=MONDAY - timedelta(days=1),
                                     end=later + timedelta(days=1), tz="Europe/Paris")
    assert stats.waiting_list.offers == len(offers) and stats.waiting_list.offered_appointments == 1
    assert stats.waiting_list.moved == 1
    assert {series.key: series.total for series in stats.by_origin}["citizen"] == 1
