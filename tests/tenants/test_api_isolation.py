"""API v1 on an administration's host: token per agent, nothing of another administration visible."""

import pytest
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from scheduling.models import Agent
from tests.scheduling.factories import AgentFactory, OrganisationFactory


def api_client(administration, user) -> Client:
    with tenant_context(administration):
        token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_HOST=administration.primary_domain, HTTP_AUTHORIZATION=f"Token {token.key}")


def make_agent(administration, user):
    """An agent profile for the user, admin of a fresh organisation of that administration."""
    with tenant_context(administration):
        return AgentFactory(user=user, organisation=OrganisationFactory(), organisation__level="admin")


def test_list_shows_only_this_administrations_agents(administration_a, administration_b, agent_a, agent_b):
    make_agent(administration_a, agent_a)
    make_agent(administration_b, agent_b)
    response = api_client(administration_a, agent_a).get("/api/v1/agents/")
    assert response.status_code == 200
    emails = {row["email"] for row in response.json()["results"]}
    assert agent_a.email in emails
    assert agent_b.email not in emails


def test_object_of_b_is_404_from_a(administration_a, administration_b, agent_a, agent_b):
    make_agent(administration_a, agent_a)
    only_in_b = make_agent(administration_b, agent_b)
    with tenant_context(administration_a):
        # Make sure the id is not taken in A by chance.
        assert not Agent.objects.filter(pk=only_in_b.pk).exists()
    response = api_client(administration_a, agent_a).get(f"/api/v1/agents/{only_in_b.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Ressource introuvable."}


def test_account_without_agent_profile_is_403_in_french(administration_a, agent_a):
    response = api_client(administration_a, agent_a).get("/api/v1/agents/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Votre compte n'a pas de profil d'agent dans cette administration."}


def test_token_of_a_is_refused_on_b(administration_a, administration_b, agent_a):
    client = api_client(administration_a, agent_a)
    client.defaults["HTTP_HOST"] = administration_b.primary_domain
    response = client.get("/api/v1/agents/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Mauvais jeton d'identification."


def test_anonymous_is_refused_in_french(client_a):
    response = client_a.get("/api/v1/agents/")
    assert response.status_code == 401
    assert "Informations d'authentification non fournies" in response.json()["detail"]


def test_schema_and_docs_are_served(client_a):
    assert client_a.get("/api/v1/schema/").status_code == 200
    docs = client_a.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert "cdn" not in docs.content.decode().lower()


def test_api_does_not_exist_on_the_platform_host(platform_client):
    assert platform_client.get("/api/v1/agents/").status_code == 404


def test_create_api_token_command(administration_a, agent_a, capsys):
    call_command("create_api_token", administration=administration_a.slug, agent_email=agent_a.email)
    key = capsys.readouterr().out.strip()
    with tenant_context(administration_a):
        assert Token.objects.get(user=agent_a).key == key


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"administration": "inexistante", "agent_email": "a@b.fr"}, "Aucune administration"),
        ({"administration": "test-a", "agent_email": "personne@exemple.fr"}, "Aucun agent actif"),
    ],
)
def test_create_api_token_bad_input(db, options, message):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", **options)
