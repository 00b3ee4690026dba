"""The agenda (/agents/agenda/): one agent's day or week as the policy lets the reader see it."""

from __future__ import annotations

from datetime import date, time, timedelta
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context

from scheduling.models import Appointment
from scheduling.services import Actor, appointment_create, appointment_set_status
from tests.conftest import login_client
from tests.factories import UserFactory
from tests.scheduling.api_world import MONDAY, TUESDAY, at, build_world
from tests.scheduling.factories import (
    AbsenceFactory,
    AgentFactory,
    AvailabilityFactory,
    CitizenFactory,
    OrganisationFactory,
)
from tests.scheduling.web.agenda_support import client_for, count_queries, text

PARIS = ZoneInfo("Europe/Paris")
REFUSED = "Vous ne pouvez pas consulter l'agenda de cet agent."


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def agenda(client, **params):
    return client.get("/agents/agenda/", params)


def book(world, kind, agents, starts_at, citizen=None, **extra):
    with tenant_context(world.administration):
        return appointment_create(
            appointment_type=kind, starts_at=starts_at, agents=agents, citizens=[citizen or CitizenFactory()],
            actor=Actor.for_agent(agents[0]), location=world.location, accept_warnings=True, **extra,
        )


# --- Who sees what ---------------------------------------------------------------------------------

def test_visitors_sign_in_and_accounts_without_profile_get_a_french_403(world):
    response = agenda(client_for(world, "anonymous"))
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
    response = agenda(client_for(world, "no_profile"))
    assert response.status_code == 403 and "profil d'agent" in text(response)


def test_a_basic_agent_sees_his_week_with_appointments_and_availability(world):
    response = agenda(client_for(world, "basic"), date=MONDAY.isoformat())
    assert response.status_code == 200
    page = text(response)
    assert "Mon agenda" in page
    pmi, assigned = world.appointments["pmi_appt"], world.appointments["assigned_appt"]
    assert f'href="/agents/rdv/{pmi.pk}/"' in page and f'href="/agents/rdv/{assigned.pk}/"' in page
    assert "09:00 – 09:30" in page and "11:00 – 11:30" in page  # local times of Tuesday's appointments
    assert "Plage d'ouverture" in page and "09:00 – 12:00" in page
    assert str(world.citizen) in page and "À venir / à renseigner" in page
    assert world.pmi_type.colour in page  # the colour of the type
    # the colleague's own appointment (social type, not assigned to him) is not on his agenda
    assert f'/agents/rdv/{world.appointments["social_appt"].pk}/' not in page
    # one section per day, in a list a screen reader can follow
    assert page.count('<section class="agenda-day') == 5 and '<ul class="agenda-items">' in page


@pytest.mark.parametrize(("reader", "target", "allowed"), [
    ("basic", "admin", True),  # same service (PMI)
    ("basic", "colleague", False),  # another service
    ("basic", "outsider", False),  # another organisation
    ("colleague", "basic", False),
    ("secretary", "colleague", True),  # secretariat: the whole organisation
    ("secretary", "basic", True),
    ("admin", "colleague", True),  # admin: the whole organisation
    ("admin", "outsider", False),
    ("outsider", "basic", False),
])
def test_colleagues_agenda_per_policy(world, reader, target, allowed):
    response = agenda(client_for(world, reader), agent=world.agents[target].pk, date=MONDAY.isoformat())
    assert response.status_code == 200
    page = text(response)
    options = [agent.pk for agent in response.context["form"].fields["agent"].queryset]
    if allowed:
        assert f"Agenda de {world.agents[target]}" in page and REFUSED not in page
        assert world.agents[target].pk in options
    else:
        assert REFUSED in page and "Mon agenda" in page  # his own agenda instead, nothing of the other's
        assert world.agents[target].pk not in options
        assert response.context["target"].pk == world.agents[reader].pk


def test_the_secretariat_sees_the_colleagues_appointments(world):
    page = text(agenda(client_for(world, "secretary"), agent=world.agents["colleague"].pk, date=MONDAY.isoformat()))
    assert f'/agents/rdv/{world.appointments["social_appt"].pk}/' in page and "10:00 – 10:30" in page


def test_appointments_the_reader_may_not_open_are_shown_busy_without_detail(world):
    secret = book(world, world.social_type, [world.agents["admin"]], at(15, day=MONDAY + timedelta(days=2)))
    page = text(agenda(client_for(world, "basic"), agent=world.agents["admin"].pk, date=MONDAY.isoformat()))
    assert "Occupé" in page and "15:00 – 15:30" in page
    assert f"/agents/rdv/{secret.pk}/" not in page


def test_an_agent_of_another_administration_never_sees_this_one(world, administration_b):
    with tenant_context(administration_b):
        user = UserFactory(email="agenda-b@test-b.fr")
        AgentFactory(user=user, organisation=OrganisationFactory(name="Mairie B"))
    client = login_client(administration_b, user)
    page = text(agenda(client, agent=world.agents["basic"].pk, date=MONDAY.isoformat()))
    assert world.pmi_type.name not in page and str(world.citizen) not in page
    client.defaults["HTTP_HOST"] = world.administration.primary_domain  # his session means nothing in A
    assert agenda(client).status_code == 302


# --- What is shown ---------------------------------------------------------------------------------

def test_absences_and_public_holidays(world):
    page = text(agenda(client_for(world, "basic"), date=(MONDAY + timedelta(days=21)).isoformat()))
    assert "Absence : Congés basic" in page and "09:00 – 18:00" in page
    christmas = text(agenda(client_for(world, "basic"), date="2026-12-25"))
    assert "Jour férié" in christmas


def test_weekends_and_cancelled_appointments_on_demand(world):
    client = client_for(world, "basic")
    pmi = world.appointments["pmi_appt"]
    with tenant_context(world.administration):
        appointment_set_status(appointment=pmi, status="excused", actor=Actor.for_agent(world.agents["basic"]))
    page = text(agenda(client, date=MONDAY.isoformat()))
    assert "samedi" not in page and f"/agents/rdv/{pmi.pk}/" not in page
    page = text(agenda(client, date=MONDAY.isoformat(), weekends="1", cancelled="1"))
    assert "samedi" in page and "dimanche" in page and f"/agents/rdv/{pmi.pk}/" in page
    assert "Annulé (excusé)" in page and page.count('<section class="agenda-day') == 7


def test_previous_and_next_keep_the_agent_the_view_and_the_options(world):
    response = agenda(client_for(world, "secretary"), agent=world.agents["colleague"].pk, date=TUESDAY.isoformat(),
                      weekends="1", cancelled="1")
    for name, expected in (("next_url", MONDAY + timedelta(days=7)), ("previous_url", MONDAY - timedelta(days=7))):
        query = parse_qs(urlparse(response.context[name]).query)
        assert query == {"agent": [str(world.agents["colleague"].pk)], "view": ["week"],
                         "date": [expected.isoformat()], "weekends": ["1"], "cancelled": ["1"]}
    today = parse_qs(urlparse(response.context["today_url"]).query)
    assert "date" not in today and today["agent"] == [str(world.agents["colleague"].pk)]
    assert "Aujourd'hui" in text(response)


def test_day_view_and_its_neighbours_skip_weekends(world):
    client = client_for(world, "basic")
    response = agenda(client, view="day", date=TUESDAY.isoformat())
    page = text(response)
    assert page.count('<section class="agenda-day') == 1 and "09:00 – 09:30" in page
    friday = MONDAY + timedelta(days=4)
    response = agenda(client, view="day", date=friday.isoformat())
    assert parse_qs(urlparse(response.context["next_url"]).query)["date"] == [(friday + timedelta(days=3)).isoformat()]


@pytest.mark.parametrize("params", [
    {"date": "2026-02-30"}, {"date": "demain"}, {"view": "mois"}, {"agent": "abc"}, {"agent": "99999999"},
    {"agent": "1 OR 1=1"}, {"date": "9999-99-99", "weekends": "peut-être"}, {"date": "0001-01-01"},
    {"date": "9999-12-31", "view": "day"}, {"agent": "99999999999999999999999"},
])
def test_bad_parameters_give_french_errors_never_a_500(world, params):
    response = agenda(client_for(world, "basic"), **params)
    assert response.status_code == 200
    page = text(response)
    assert any(message in page for message in (
        "Saisissez une date valide", "Affichage inconnu", REFUSED, "Choisissez une date entre 1950 et 2150.",
    ))
    assert "Mon agenda" in page


# --- Daylight saving time ----------------------------------------------------------------------------

@pytest.mark.parametrize(("monday", "sunday"), [(date(2026, 3, 23), date(2026, 3, 29)),
                                                (date(2026, 10, 19), date(2026, 10, 25))])
def test_a_week_with_a_dst_change_shows_local_times(world, monday, sunday):
    agent = world.agents["basic"]
    with tenant_context(world.administration):
        AvailabilityFactory(agent=agent, location=world.location, first_day=monday, weekdays=[0, 1, 2, 3, 4, 5, 6],
                            start_time=time(8, 30), end_time=time(11, 0), appointment_types=[world.pmi_type])
        AbsenceFactory(agent=agent, first_day=sunday, start_time=time(16, 0), end_time=time(17, 0))
    friday = monday + timedelta(days=4)
    before = book(world, world.pmi_type, [agent], at(14, 15, day=friday))
    after = book(world, world.pmi_type, [agent], at(14, 15, day=sunday))
    assert before.starts_at.utcoffset() != after.starts_at.astimezone(PARIS).utcoffset()
    response = agenda(client_for(world, "basic"), date=monday.isoformat(), weekends="1")
    days = {day.day: day for day in response.context["days"]}
    for day in (friday, sunday):
        times = [(item.kind, f"{item.starts_at:%H:%M}", f"{item.ends_at:%H:%M}") for item in days[day].items]
        assert ("availability", "08:30", "11:00") in times and ("appointment", "14:15", "14:45") in times
    sunday_items = [(item.kind, f"{item.starts_at:%H:%M}") for item in days[sunday].items]
    assert ("absence", "16:00") in sunday_items
    page = text(response)
    assert page.count("08:30 – 11:00") == 7 and page.count("14:15 – 14:45") == 2 and "16:00 – 17:00" in page


# --- Query count -----------------------------------------------------------------------------------

def test_a_busy_week_costs_the_same_number_of_queries(world):
    agent = world.agents["admin"]

    def fill(count, offset):
        with tenant_context(world.administration):
            for n in range(count):
                AvailabilityFactory(agent=agent, location=world.location, first_day=MONDAY - timedelta(days=7 * n),
                                    start_time=time(13, 0), end_time=time(13, 30), appointment_types=[world.pmi_type])
                AbsenceFactory(agent=agent, first_day=MONDAY + timedelta(days=n % 5), start_time=time(7, 0),
                               end_time=time(7, 30), title=f"Réunion {offset + n}")
        for n in range(count):
            day = MONDAY + timedelta(days=n % 5)
            minutes = 8 * 60 + (offset + n) // 5 * 10
            kind = world.pmi_type if n % 3 else world.social_type
            book(world, kind, [agent], at(minutes // 60, minutes % 60, day=day))
        with tenant_context(world.administration):
            Appointment.objects.filter(agent_links__agent=agent).update(title="")

    client = client_for(world, "basic")  # reads the admin's agenda: visible and "busy" appointments
    agenda(client, agent=agent.pk, date=MONDAY.isoformat())  # warm-up (session, content types)
    fill(2, 0)
    agenda(client, agent=agent.pk, date=MONDAY.isoformat())
    small, response = count_queries(lambda: agenda(client, agent=agent.pk, date=MONDAY.isoformat(), weekends="1"))
    assert sum(len(day.items) for day in response.context["days"]) >= 4
    fill(40, 10)
    agenda(client, agent=agent.pk, date=MONDAY.isoformat())  # again: the host cache lasts 10 s, filling takes longer
    large, response = count_queries(lambda: agenda(client, agent=agent.pk, date=MONDAY.isoformat(), weekends="1"))
    assert sum(len(day.appointments) for day in response.context["days"]) >= 42
    assert large == small, (small, large)
    assert large <= 16, large
