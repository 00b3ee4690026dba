"""The agents' home (/agents/): organisations, appointments to fill in, today's appointments, actions."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from scheduling.models import AgentRole
from scheduling.services import Actor, appointment_create, appointment_set_status
from tests.conftest import login_client
from tests.factories import UserFactory
from tests.scheduling.api_world import MONDAY, at, build_world
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    CitizenFactory,
    LocationFactory,
    OrganisationFactory,
)
from tests.scheduling.web.agenda_support import client_for, text

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def book(world, agent, starts_at, kind=None, location=None):
    with tenant_context(world.administration):
        return appointment_create(
            appointment_type=kind or world.pmi_type, starts_at=starts_at, agents=[agent], citizens=[CitizenFactory()],
            actor=Actor.for_agent(agent), location=location or world.location, accept_warnings=True,
        )


def today_at(hour, minute=0):
    return datetime.combine(timezone.now().astimezone(PARIS).date(), time(hour, minute), tzinfo=PARIS)


def test_visitors_sign_in_and_accounts_without_profile_keep_their_account_links(world):
    response = client_for(world, "anonymous").get("/agents/")
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
    response = client_for(world, "no_profile").get("/agents/")
    page = text(response)
    assert response.status_code == 200 and "pas encore de profil d'agent" in page and "Changer de mot de passe" in page


def test_appointments_to_fill_in_and_today(world):
    basic = world.agents["basic"]
    past = [book(world, basic, at(9 + n, day=MONDAY - timedelta(days=28))) for n in range(3)]
    with tenant_context(world.administration):
        appointment_set_status(appointment=past[0], status="seen", actor=Actor.for_agent(basic))
    book(world, world.agents["colleague"], at(9, day=MONDAY - timedelta(days=28)), kind=world.social_type)
    today = book(world, basic, today_at(23, 30))
    response = client_for(world, "basic").get("/agents/")
    page = text(response)
    assert "2 rendez-vous passés à renseigner" in page
    link = urlparse(response.context["to_fill_url"])
    assert link.path == "/agents/rdv/"
    assert parse_qs(link.query) == {"status": ["to_fill"], "agent": [str(basic.pk)],
                                    "organisation": [str(world.org.pk)]}
    assert f"/agents/rdv/{today.pk}/" in page and "23:30–00:00" in page
    assert "MDS Centre" in page  # his single organisation: the page is that organisation's
    assert "Mon agenda" in page and "Liste des rendez-vous" in page
    # the filtered list shows exactly those two
    listed = client_for(world, "basic").get(response.context["to_fill_url"])
    assert {a.pk for a in listed.context["page"].object_list} == {past[1].pk, past[2].pk}
    # a colleague counts his own
    assert "1 rendez-vous passé à renseigner" in text(client_for(world, "colleague").get("/agents/"))
    assert "Aucun rendez-vous passé à renseigner." in text(client_for(world, "secretary").get("/agents/"))


def test_an_agent_of_several_organisations_picks_one(world):
    basic = world.agents["basic"]
    with tenant_context(world.administration):
        AgentRole.objects.create(agent=basic, organisation=world.other_org, level="basic")
    here = book(world, basic, today_at(20))
    there = book(world, basic, today_at(21), kind=world.other_type, location=world.other_location)
    client = client_for(world, "basic")
    page = text(client.get("/agents/"))
    assert "Vos organisations" in page and "MDS Centre" in page and "MDS Nord" in page
    assert f"/agents/rdv/{here.pk}/" in page and f"/agents/rdv/{there.pk}/" in page
    page = text(client.get("/agents/", {"organisation": world.other_org.pk}))
    assert f"/agents/rdv/{there.pk}/" in page and f"/agents/rdv/{here.pk}/" not in page
    assert "Espace agents — MDS Nord" in page
    for tampered in ("abc", "99999999", str(world.org.pk) + "'"):
        response = client.get("/agents/", {"organisation": tampered})
        assert response.status_code == 200 and response.context["chosen"] is None


def test_an_organisation_without_a_role_is_never_shown(world):
    with tenant_context(world.administration):
        hidden = OrganisationFactory(name="Organisation cachée")
        kind = AppointmentTypeFactory(organisation=hidden, service=world.services["pmi"])
        LocationFactory(organisation=hidden)
    response = client_for(world, "basic").get("/agents/", {"organisation": hidden.pk})
    assert "Organisation cachée" not in text(response) and response.context["chosen"].pk == world.org.pk
    assert kind.name not in text(response)


def test_an_agent_of_another_administration_sees_only_his_own(world, administration_b):
    book(world, world.agents["basic"], today_at(22))
    with tenant_context(administration_b):
        user = UserFactory(email="accueil-b@test-b.fr")
        AgentFactory(user=user, organisation=OrganisationFactory(name="Mairie B"))
    page = text(login_client(administration_b, user).get("/agents/"))
    assert "Mairie B" in page and "MDS Centre" not in page and "Aucun rendez-vous aujourd'hui." in page
