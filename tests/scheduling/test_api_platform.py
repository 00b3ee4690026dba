"""API v1 as a platform: the OpenAPI schema (no warnings, every endpoint documented) and the limit of 100
requests per minute per token, through DRF's real throttle and the real Redis cache."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.scheduling.api_world import build_world


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def test_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for path in ("/api/v1/organisations/", "/api/v1/services/", "/api/v1/locations/", "/api/v1/appointment-types/",
                 "/api/v1/agents/", "/api/v1/availabilities/", "/api/v1/absences/", "/api/v1/citizens/",
                 "/api/v1/appointments/", "/api/v1/appointments/{id}/status/", "/api/v1/participations/",
                 "/api/v1/participations/{id}/status/", "/api/v1/slots:", "/api/v1/next-availability:"):
        assert path in text, path
    assert "accept_warnings" in text and "'409':" in text


def test_schema_is_served_on_the_administrations_host(world):
    response = world.client("anonymous").get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/slots" in response.content


def test_one_hundred_requests_a_minute_per_token_then_429_with_retry_after(world):
    client = world.client("basic")
    for _ in range(100):
        assert client.get("/api/v1/services/").status_code == 200
    refused = client.get("/api/v1/slots")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "Requête ralentie" in refused.json()["detail"]
    # Per token: a colleague is not slowed down.
    assert world.client("colleague").get("/api/v1/services/").status_code == 200


def test_agents_create_replace_and_revoke_their_token_from_their_settings_page(world):
    from django.test import Client

    from tests.conftest import login_client

    page = login_client(world.administration, world.agents["basic"].user)
    assert "Vous n'avez pas de jeton" in page.get("/agents/parametres/api/").content.decode()
    created = page.post("/agents/parametres/api/", {"action": "create"})
    assert created.status_code == 200
    key = created.context["new_key"]
    assert key and key in created.content.decode() and "ne sera plus affiché" in created.content.decode()
    assert key not in page.get("/agents/parametres/api/").content.decode()  # shown once

    def api(token):
        client = Client(HTTP_HOST=world.administration.primary_domain, HTTP_AUTHORIZATION=f"Token {token}")
        return client.get("/api/v1/organisations/")

    listed = api(key)
    assert listed.status_code == 200 and [row["id"] for row in listed.json()["results"]] == [world.org.pk]
    replaced = page.post("/agents/parametres/api/", {"action": "create"}).context["new_key"]
    assert replaced != key
    assert api(key).status_code == 401 and api(replaced).status_code == 200
    assert page.post("/agents/parametres/api/", {"action": "revoke"}, follow=True).status_code == 200
    assert api(replaced).status_code == 401
    unknown = page.post("/agents/parametres/api/", {"action": "tout-casser"}, follow=True)
    assert "Action inconnue." in unknown.content.decode()
    assert Client(HTTP_HOST=world.administration.primary_domain).get("/agents/parametres/api/").status_code == 302
