"""The appointment list (/agents/rdv/): filters, pagination, the policy's visibility, constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse
from django_tenants.utils import tenant_context

from scheduling.services import Actor, appointment_create, appointment_set_status
from tests.conftest import login_client
from tests.factories import UserFactory
from tests.scheduling.api_world import MONDAY, TUESDAY, at, build_world
from tests.scheduling.factories import AgentFactory, CitizenFactory, LocationFactory, OrganisationFactory
from tests.scheduling.web.agenda_support import client_for, count_queries, text


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def listed(response) -> set[int]:
    return {appointment.pk for appointment in response.context["page"].object_list}


def ids(world, *names) -> set[int]:
    return {world.appointments[name].pk for name in names}


def book(world, agent, starts_at, kind=None, location=None):
    with tenant_context(world.administration):
        return appointment_create(
            appointment_type=kind or world.pmi_type, starts_at=starts_at, agents=[agent], citizens=[CitizenFactory()],
            actor=Actor.for_agent(agent), location=location or world.location, accept_warnings=True,
        )


@pytest.mark.parametrize(("persona", "visible"), [
    ("basic", ("pmi_appt", "assigned_appt")),
    ("colleague", ("social_appt", "assigned_appt")),
    ("secretary", ("pmi_appt", "social_appt", "assigned_appt")),
    ("admin", ("pmi_appt", "social_appt", "assigned_appt")),
    ("outsider", ("other_appt",)),
])
def test_each_persona_lists_what_the_policy_lets_him_see(world, persona, visible):
    response = client_for(world, persona).get("/agents/rdv/")
    assert response.status_code == 200
    assert listed(response) == ids(world, *visible)
    page = text(response)
    assert f"{len(visible)} rendez-vous" in page and "<caption>" in page


def test_visitors_and_accounts_without_profile(world, administration_b):
    response = client_for(world, "anonymous").get("/agents/rdv/")
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
    response = client_for(world, "no_profile").get("/agents/rdv/")
    assert response.status_code == 403 and "profil d'agent" in text(response)
    with tenant_context(administration_b):
        user = UserFactory(email="liste-b@test-b.fr")
        AgentFactory(user=user, organisation=OrganisationFactory(name="Mairie B"), organisation__level="admin")
    response = login_client(administration_b, user).get("/agents/rdv/", {"date_from": ""})
    assert response.status_code == 200 and listed(response) == set()


def test_filters(world):
    secretary = client_for(world, "secretary")
    everything = {"date_from": ""}
    with tenant_context(world.administration):
        appointment_set_status(appointment=world.appointments["pmi_appt"], status="seen",
                               actor=Actor.for_agent(world.agents["basic"]))
        elsewhere = LocationFactory(organisation=world.org, name="Annexe")
    later = book(world, world.agents["admin"], at(9, day=TUESDAY + timedelta(days=1)), location=elsewhere)
    cases = [
        ({"status": "seen"}, {world.appointments["pmi_appt"].pk}),
        ({"status": "unknown"}, ids(world, "social_appt", "assigned_appt") | {later.pk}),
        ({"agent": world.agents["basic"].pk}, ids(world, "pmi_appt", "assigned_appt")),
        ({"appointment_type": world.social_type.pk}, ids(world, "social_appt", "assigned_appt")),
        ({"location": elsewhere.pk}, {later.pk}),
        ({"organisation": world.org.pk}, ids(world, "pmi_appt", "social_appt", "assigned_appt") | {later.pk}),
        ({"date_from": TUESDAY.isoformat(), "date_to": TUESDAY.isoformat()},
         ids(world, "pmi_appt", "social_appt", "assigned_appt")),
        ({"date_from": (TUESDAY + timedelta(days=1)).strftime("%d/%m/%Y")}, {later.pk}),
        ({"date_to": MONDAY.isoformat()}, set()),
    ]
    for params, expected in cases:
        response = secretary.get("/agents/rdv/", everything | params)
        assert response.status_code == 200, params
        assert listed(response) == expected, params


def test_past_appointments_to_fill_in(world):
    past = book(world, world.agents["basic"], at(9, day=MONDAY - timedelta(days=28)))
    done = book(world, world.agents["basic"], at(10, day=MONDAY - timedelta(days=28)))
    with tenant_context(world.administration):
        appointment_set_status(appointment=done, status="seen", actor=Actor.for_agent(world.agents["basic"]))
    response = client_for(world, "basic").get("/agents/rdv/", {"status": "to_fill", "agent": world.agents["basic"].pk})
    assert listed(response) == {past.pk}
    # by default, from today: past appointments are left out
    assert past.pk not in listed(client_for(world, "basic").get("/agents/rdv/"))


@pytest.mark.parametrize(("params", "message"), [
    ({"date_from": "2026-02-30"}, "Saisissez une date valide"),
    ({"date_to": "hier"}, "Saisissez une date valide"),
    ({"date_to": "9999-12-31"}, "Choisissez une date entre 1950 et 2150."),
    ({"date_from": "0001-01-01"}, "Choisissez une date entre 1950 et 2150."),
    ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "La date de fin doit être après la date de début."),
    ({"status": "supprimé"}, "Statut inconnu."),
    ({"agent": "abc"}, "Cet agent n'existe pas ou ne vous est pas visible."),
    ({"agent": "outsider"}, "Cet agent n'existe pas ou ne vous est pas visible."),
    ({"appointment_type": "other"}, "Ce motif n'existe pas ou ne vous est pas visible."),
    ({"location": "other"}, "Ce lieu n'existe pas ou ne vous est pas visible."),
    ({"organisation": "other"}, "Cette organisation n'existe pas ou ne vous est pas visible."),
    ({"organisation": "99999999999999999999"}, "Cette organisation n'existe pas ou ne vous est pas visible."),
])
def test_bad_filters_give_french_errors_and_list_nothing(world, params, message):
    replacements = {"outsider": world.agents["outsider"].pk, "other": None}
    foreign = {"appointment_type": world.other_type.pk, "location": world.other_location.pk,
               "organisation": world.other_org.pk}
    params = {key: (foreign[key] if value == "other" else replacements.get(value, value)) for key, value in
              params.items()}
    response = client_for(world, "basic").get("/agents/rdv/", params)
    assert response.status_code == 400 and message in text(response)
    assert listed(response) == set()


def test_pagination(world):
    for n in range(55):
        book(world, world.agents["basic"], at(8 + n // 6, (n % 6) * 10, day=MONDAY + timedelta(days=2)))
    client = client_for(world, "basic")
    first = client.get("/agents/rdv/", {"agent": world.agents["basic"].pk})
    assert first.context["page"].paginator.count == 57 and len(first.context["page"].object_list) == 50
    assert "Page suivante" in text(first) and "page 1 sur 2" in text(first)
    second = client.get("/agents/rdv/", {"agent": world.agents["basic"].pk, "page": "2"})
    assert len(second.context["page"].object_list) == 7 and "Page précédente" in text(second)
    assert f"agent={world.agents['basic'].pk}&amp;page=1" in second.content.decode()
    for page in ("abc", "999", "-1"):
        assert client.get("/agents/rdv/", {"page": page}).status_code == 200


def test_the_export_link_appears_once_the_export_exists(world):
    try:
        reverse("appointments_export")
        exists = True
    except NoReverseMatch:
        exists = False
    page = text(client_for(world, "basic").get("/agents/rdv/"))
    assert ("Exporter" in page) == exists
    assert "bientôt" not in page


def test_the_list_costs_the_same_number_of_queries_as_data_grows(world):
    client = client_for(world, "secretary")
    params = {"date_from": "", "organisation": world.org.pk}
    client.get("/agents/rdv/", params)  # warm-up
    small, response = count_queries(lambda: client.get("/agents/rdv/", params))
    assert len(response.context["page"].object_list) == 3
    for n in range(60):
        kind = world.pmi_type if n % 2 else world.social_type
        agent = world.agents["admin"] if n % 2 else world.agents["colleague"]
        book(world, agent, at(8 + n // 6, (n % 6) * 10, day=MONDAY + timedelta(days=3)), kind=kind)
    client.get("/agents/rdv/", params)  # the schema is set again after the bookings
    large, response = count_queries(lambda: client.get("/agents/rdv/", params))
    assert len(response.context["page"].object_list) == 50
    assert large == small, (small, large)
    assert large <= 16, large
