"""API v1 persona matrix: who sees what on every resource (lists and details), and who is refused."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.scheduling.api_world import api_client, build_world

RESOURCES = ["organisations", "services", "locations", "appointment-types", "agents", "availabilities", "absences",
             "citizens", "appointments", "participations"]
PERSONAS = ["basic", "colleague", "secretary", "admin", "outsider"]
ORG_AGENTS = {"basic", "colleague", "secretary", "admin"}


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def expected(world, resource: str, persona: str) -> set[int]:
    """What each persona must see (and nothing else), per the policy."""
    in_org = persona != "outsider"
    appts = world.appointments
    if resource == "organisations":
        return {world.org.pk} if in_org else {world.other_org.pk}
    if resource == "services":
        return {service.pk for service in world.services.values()}
    if resource == "locations":
        return {world.location.pk} if in_org else {world.other_location.pk}
    if resource == "appointment-types":
        return {world.pmi_type.pk, world.social_type.pk} if in_org else {world.other_type.pk}
    if resource == "agents":
        return {world.agents[name].pk for name in (ORG_AGENTS if in_org else {"outsider"})}
    if resource in ("availabilities", "absences"):
        rows = world.availabilities if resource == "availabilities" else world.absences
        names = {"basic": {"basic"}, "colleague": {"colleague"}, "secretary": {"basic", "colleague"},
                 "admin": {"basic", "colleague"}, "outsider": {"outsider"}}[persona]
        return {rows[name].pk for name in names}
    if resource == "citizens":
        return {world.citizen.pk} if in_org else {world.other_citizen.pk}
    names = {"basic": {"pmi_appt", "assigned_appt"}, "colleague": {"social_appt", "assigned_appt"},
             "secretary": {"pmi_appt", "social_appt", "assigned_appt"},
             "admin": {"pmi_appt", "social_appt", "assigned_appt"}, "outsider": {"other_appt"}}[persona]
    if resource == "appointments":
        return {appts[name].pk for name in names}
    with tenant_context(world.administration):
        return {p.pk for name in names for p in appts[name].participations.all()}


def every_id(world, resource: str) -> set[int]:
    return set().union(*(expected(world, resource, persona) for persona in PERSONAS))


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("resource", RESOURCES)
def test_lists_and_details_follow_the_policy(world, resource, persona):
    client = world.client(persona)
    response = client.get(f"/api/v1/{resource}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    seen = {row["id"] for row in body["results"]}
    visible = expected(world, resource, persona)
    if resource == "services":
        assert visible <= seen
    else:
        assert seen == visible
    for pk in every_id(world, resource):
        detail = client.get(f"/api/v1/{resource}/{pk}/")
        if pk in visible:
            assert detail.status_code == 200
            assert detail.json()["id"] == pk
        else:
            assert detail.status_code == 404, (resource, persona, pk)
            assert detail.json() == {"detail": "Ressource introuvable."}


ENDPOINTS = [f"/api/v1/{resource}/" for resource in RESOURCES] + [
    "/api/v1/slots?appointment_type=1&start=2030-01-01&end=2030-01-02",
    "/api/v1/next-availability?appointment_type=1",
]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_gets_401_in_french(world, url):
    response = world.client("anonymous").get(url)
    assert response.status_code == 401
    assert "Informations d'authentification non fournies" in response.json()["detail"]
    assert world.client("anonymous").post(url.split("?")[0], {}).status_code == 401


@pytest.mark.parametrize("url", ENDPOINTS)
def test_account_without_agent_profile_gets_403(world, url):
    response = world.client("no_profile").get(url)
    assert response.status_code == 403
    assert response.json() == {"detail": "Votre compte n'a pas de profil d'agent dans cette administration."}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_token_of_another_administration_is_401_here(world, administration_b, url):
    with tenant_context(administration_b):
        from tests.scheduling.factories import AgentFactory, OrganisationFactory

        agent_b = AgentFactory(organisation=OrganisationFactory(), organisation__level="admin")
    client = api_client(administration_b, agent_b.user)
    client.defaults["HTTP_HOST"] = world.administration.primary_domain
    response = client.get(url)
    assert response.status_code == 401
    assert response.json()["detail"] == "Mauvais jeton d'identification."


def test_invisible_ids_are_indistinguishable_from_missing_ones(world):
    client = world.client("basic")
    hidden = client.get(f"/api/v1/appointments/{world.appointments['other_appt'].pk}/")
    missing = client.get("/api/v1/appointments/999999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert client.get("/api/v1/appointments/abc/").status_code == 404


def test_agent_roles_only_show_visible_organisations(world):
    with tenant_context(world.administration):
        from scheduling.models import AgentRole

        AgentRole.objects.create(agent=world.agents["basic"], organisation=world.other_org)
    outsider_view = world.client("outsider").get(f"/api/v1/agents/{world.agents['basic'].pk}/").json()
    assert outsider_view["roles"] == [{"organisation": world.other_org.pk, "level": "basic"}]


def test_citizen_links_to_invisible_organisations_are_hidden(world):
    with tenant_context(world.administration):
        world.citizen.organisations.add(world.other_org)
    body = world.client("basic").get(f"/api/v1/citizens/{world.citizen.pk}/").json()
    assert body["organisations"] == [world.org.pk]
