"""The statistics page (/agents/statistiques/): personas, filters and their French errors, the charts with
their data tables, a constant number of queries, tenant isolation."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import login_client, make_client
from tests.factories import UserFactory
from tests.reporting.conftest import make_appointment, make_message, paris
from tests.scheduling.factories import AgentFactory, AppointmentTypeFactory, OrganisationFactory, ServiceFactory

URL = "/agents/statistiques/"
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


@pytest.fixture
def march(reporting_world):
    w = reporting_world
    made = [
        make_appointment(w, starts_at=paris(2025, 3, 3), status="seen", agents=("basic",)),
        make_appointment(w, starts_at=paris(2025, 3, 4), status="noshow", agents=("basic",), created_by="citizen"),
        make_appointment(w, starts_at=paris(2025, 3, 5), status="seen", agents=("colleague",), kind=w.phone_type),
        make_appointment(w, starts_at=paris(2025, 3, 6), status="noshow", agents=("colleague",), kind=w.phone_type),
        make_appointment(w, starts_at=paris(2025, 3, 7), status="seen", agents=("other_admin",), kind=w.other_type),
    ]
    make_message(w, made[0], channel="sms", status="sent", segments=2)
    make_message(w, made[4], channel="sms", status="sent", segments=7)
    return made


def stats_of(response):
    assert response.status_code == 200
    return response.context["stats"]


def test_visitors_and_accounts_without_agent_profile(reporting_world):
    response = make_client(reporting_world.administration).get(URL)
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]
    with tenant_context(reporting_world.administration):
        no_profile = UserFactory()
    response = login_client(reporting_world.administration, no_profile).get(URL)
    assert response.status_code == 403


def test_each_persona_sees_only_what_the_policy_lets_him_count(reporting_world, march):
    w = reporting_world
    basic = stats_of(w.client("basic").get(URL, MARCH))
    assert basic.total == 2 and basic.noshow_rate == 50.0  # his own, not his colleague's
    assert "les rendez-vous de MDS Centre auxquels vous participez" in text(w.client("basic").get(URL, MARCH))
    assert stats_of(w.client("colleague").get(URL, MARCH)).total == 2
    org_admin = w.client("org_admin").get(URL, MARCH)
    assert stats_of(org_admin).total == 4  # the organisation, never MDS Nord
    assert "tous les rendez-vous de MDS Centre (vous en êtes administrateur)" in text(org_admin)
    sms = {m.channel: m.sms_segments for m in stats_of(org_admin).messages}["sms"]
    assert sms == 2
    both = stats_of(w.client("admin_both").get(URL, MARCH))
    assert both.total == 5 and {m.channel: m.sms_segments for m in both.messages}["sms"] == 9
    nord = stats_of(w.client("admin_both").get(URL, MARCH | {"organisation": w.other_org.pk}))
    assert nord.total == 1
    assert stats_of(w.client("other_admin").get(URL, MARCH)).total == 1


@pytest.mark.parametrize(("params", "message"), [
    ({"start": "2025-03-31", "end": "2025-03-01"}, "La date de début doit précéder la date de fin."),
    ({"start": "2015-01-01", "end": "2025-01-01"}, "La période ne peut dépasser 3 ans."),
    ({"start": "31/02/2025"}, "Saisissez une date valide"),
    ({"end": "demain"}, "Saisissez une date valide"),
    ({"start": "0001-01-01", "end": "9999-12-31"}, "Choisissez des dates entre le 01/01/2000 et le 31/12/2099."),
    ({"start": "9999-12-01", "end": "9999-12-31"}, "Choisissez des dates entre le 01/01/2000 et le 31/12/2099."),
    ({"end": "0001-01-02"}, "Choisissez des dates entre le 01/01/2000 et le 31/12/2099."),
    ({"start": "2000-01-01", "end": "2000-02-01"}, None),
    ({"organisation": "abc"}, "Cette organisation n'existe pas ou ne fait pas partie des vôtres."),
    ({"organisation": "999999999999999999999"}, "Cette organisation n'existe pas ou ne fait pas partie des vôtres."),
    ({"granularity": "day"}, "Choisissez un regroupement par semaine ou par mois."),
])
def test_bad_filters_get_a_french_message_and_no_figures(reporting_world, march, params, message):
    response = reporting_world.client("admin_both").get(URL, params)
    assert response.status_code == 200
    if message is None:  # accepted: an early period, empty
        assert response.context["stats"].total == 0
        return
    assert message in text(response)
    assert "stats" not in response.context


def test_an_organisation_outside_his_scope_is_refused_in_french(reporting_world, march):
    w = reporting_world
    response = w.client("org_admin").get(URL, MARCH | {"organisation": w.other_org.pk})
    # a single organisation: no choice offered, and any other id is refused
    assert "Cette organisation n'existe pas ou ne fait pas partie des vôtres." in text(response)
    assert "stats" not in response.context
    with tenant_context(w.administration):
        from scheduling.models import AgentRole

        AgentRole.objects.create(agent=w.agents["org_admin"], organisation=OrganisationFactory(name="MDS Sud"),
                                 level="basic")
    response = login_client(w.administration, w.agents["org_admin"].user).get(
        URL, MARCH | {"organisation": w.other_org.pk})
    assert "Cette organisation n'existe pas ou ne fait pas partie des vôtres." in text(response)


def test_default_period_is_the_last_three_months_by_month(reporting_world):
    w = reporting_world
    today = timezone.now().astimezone(paris(2025, 1, 1).tzinfo).date()
    make_appointment(w, starts_at=timezone.now() - timedelta(days=3), status="seen")
    stats = stats_of(w.client("org_admin").get(URL))
    assert stats.end == today and (today - stats.start).days in range(84, 95)
    assert stats.granularity == "month" and stats.total == 1


def test_week_granularity_and_charts_with_their_tables(reporting_world, march):
    response = reporting_world.client("org_admin").get(URL, MARCH | {"granularity": "week"})
    stats = stats_of(response)
    assert [bucket.start for bucket in stats.buckets][:2] == [date(2025, 2, 24), date(2025, 3, 3)]
    page = response.content.decode()
    for chart_id in ("stats-origin", "stats-outcomes", "stats-noshow-rate", "stats-service", "stats-type",
                     "stats-mode", "stats-location", "stats-delay"):
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in page
        assert f'<table id="{chart_id}-table"><caption id="{chart_id}-table-caption">' in page
    assert page.count('role="img"') == 8
    readable = text(response)
    # legends, axis and value labels are text, not colour
    assert "Absence non excusée (lapin)" in readable and "sem. du 03/03/2025" in readable
    assert "Taux d'absence non excusée</strong> = absences non excusées ÷ (rendez-vous honorés + absences non " \
        "excusées)" in readable
    assert "50 %" in readable.replace("\u202f", " ")


def test_the_number_of_queries_does_not_grow_with_the_data(reporting_world, march):
    w = reporting_world
    client = w.client("org_admin")
    client.get(URL, MARCH)  # warm the session and the host cache

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, MARCH).status_code == 200
        # the tenant's search path is set again after the test wrote data: not a query of the page
        return len([q for q in captured.captured_queries if not q["sql"].startswith("SET search_path")])

    before = count()
    with tenant_context(w.administration):
        extra = AppointmentTypeFactory(organisation=w.org, service=ServiceFactory(name="État civil"), name="Passeport")
    for day in range(1, 25):
        appointment = make_appointment(w, starts_at=paris(2025, 3, day, 14), kind=extra, agents=("org_admin",),
                                       status="seen", created_by="api")
        make_message(w, appointment, channel="email")
    assert count() == before <= 13


def test_another_administration_sees_none_of_these_figures(reporting_world, march, administration_b):
    with tenant_context(administration_b):
        org_b = OrganisationFactory(name="Mairie B")
        admin_b = AgentFactory(organisation=org_b, organisation__level="admin")
    client = login_client(administration_b, admin_b.user)
    stats = stats_of(client.get(URL, MARCH))
    assert stats.total == 0
    response = client.get(URL, MARCH | {"organisation": reporting_world.org.pk})
    if reporting_world.org.pk != org_b.pk:
        assert "Cette organisation n'existe pas ou ne fait pas partie des vôtres." in text(response)
    # and A's agent session is not valid on B's host
    response = make_client(administration_b).get(URL, HTTP_COOKIE=reporting_world.client("org_admin").cookies.output(
        header="", sep=";"))
    assert response.status_code == 302


def test_the_time_zone_is_the_chosen_organisations(reporting_world):
    w = reporting_world
    with tenant_context(w.administration):
        from scheduling.models import AgentRole

        noumea = OrganisationFactory(name="Antenne Nouméa", timezone="Pacific/Noumea")
        AgentRole.objects.create(agent=w.agents["admin_both"], organisation=noumea, level="admin")
    client = w.client("admin_both")
    assert stats_of(client.get(URL, MARCH | {"organisation": noumea.pk})).tz == "Pacific/Noumea"
    assert stats_of(client.get(URL, MARCH | {"organisation": w.org.pk})).tz == "Europe/Paris"
    # every organisation, in several zones: the administration's
    assert stats_of(client.get(URL, MARCH)).tz == w.administration.timezone
    assert "Antenne Nouméa" in text(client.get(URL, MARCH))  # offered in the filter


def test_three_years_by_week_is_drawn(reporting_world, march):
    response = reporting_world.client("admin_both").get(URL, {"start": "2022-04-01", "end": "2025-03-31",
                                                              "granularity": "week"})
    stats = stats_of(response)
    assert len(stats.buckets) == 158 and stats.total == 5  # Monday 28/03/2022 to Monday 31/03/2025
    assert response.content.decode().count('role="img"') == 8


def test_admins_get_a_link_to_their_monthly_report(reporting_world, march):
    w = reporting_world
    page = text(w.client("org_admin").get(URL, MARCH))
    assert f"/agents/statistiques/rapport-mensuel/?organisation={w.org.pk}&mois=" in page
    assert "Rapport mensuel (PDF) de MDS Centre" in page
    assert "Rapport mensuel (PDF)" not in text(w.client("basic").get(URL, MARCH))
