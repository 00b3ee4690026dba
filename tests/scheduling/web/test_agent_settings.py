"""The agent's settings page: notification level (through the service), links to the calendar feed, the API
token, the password and the second factor pages; bad input gives a French error and changes nothing."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django_tenants.utils import tenant_context

from scheduling.models import Agent
from tests.conftest import login_client, make_client
from tests.scheduling.api_world import build_world


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def html(response) -> str:
    return unescape(response.content.decode())


@pytest.mark.parametrize("persona", ["basic", "colleague", "secretary", "admin", "outsider"])
def test_every_agent_has_his_settings_page_with_every_link(world, persona):
    response = login_client(world.administration, world.agents[persona].user).get("/agents/parametres/")
    assert response.status_code == 200
    page = html(response)
    for href in ('href="/agents/parametres/agenda/"', 'href="/agents/parametres/api/"',
                 'href="/comptes/password/change/"', 'href="/comptes/2fa/"'):
        assert href in page, href
    assert re.search(r'value="others"[^>]*checked', page)  # the current level is the chosen one
    assert re.search(r'href="/agents/parametres/"[^>]*aria-current="page"[^>]*>Paramètres<', page)  # the menu


def test_anonymous_goes_to_login_and_a_profile_less_account_gets_403(world):
    response = make_client(world.administration).get("/agents/parametres/")
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]
    response = login_client(world.administration, world.no_profile).get("/agents/parametres/")
    assert response.status_code == 403 and "profil d'agent" in html(response)


def test_the_notification_level_is_saved_for_this_agent_only(world):
    basic = world.agents["basic"]
    response = login_client(world.administration, basic.user).post("/agents/parametres/",
                                                                   {"notification_level": "soon"})
    assert response.status_code == 302 and response["Location"] == "/agents/parametres/"
    with tenant_context(world.administration):
        assert Agent.objects.get(pk=basic.pk).notification_level == "soon"
        assert Agent.objects.get(pk=world.agents["colleague"].pk).notification_level == "others"


@pytest.mark.parametrize("value", ["", "everything", "<script>", "all' OR '1'='1"])
def test_a_bad_level_is_a_french_error_and_changes_nothing(world, value):
    basic = world.agents["basic"]
    response = login_client(world.administration, basic.user).post("/agents/parametres/",
                                                                   {"notification_level": value})
    assert response.status_code == 400
    page = html(response)
    assert "Choisissez un des niveaux proposés." in page or "Choisissez un niveau de notification." in page
    with tenant_context(world.administration):
        assert Agent.objects.get(pk=basic.pk).notification_level == "others"


def test_the_service_refuses_an_unknown_level(world):
    from django.core.exceptions import ValidationError

    from scheduling.services import agent_notification_level_set

    with tenant_context(world.administration):
        with pytest.raises(ValidationError):
            agent_notification_level_set(agent=world.agents["basic"], level="loud")


def test_the_linked_pages_answer(world):
    client = login_client(world.administration, world.agents["basic"].user)
    for path in ("/agents/parametres/agenda/", "/agents/parametres/api/", "/comptes/password/change/",
                 "/comptes/2fa/"):
        assert client.get(path).status_code == 200, path
