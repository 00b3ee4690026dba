"""Teams of an organisation (admins only): list, create, edit, delete, with French errors on bad input."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from scheduling.models import AgentRole, Team
from scheduling.services import team_create
from tests.scheduling.api_world import build_world
from tests.scheduling.factories import AgentFactory
from tests.scheduling.web.agenda_support import client_for, count_queries, text

LIST = "/agents/equipes/"
NEW = "/agents/equipes/nouvelle/"


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


@pytest.fixture
def teams(world):
    with tenant_context(world.administration):
        return {
            "pmi": team_create(organisation=world.org, name="Équipe PMI",
                               agents=[world.agents["basic"], world.agents["admin"]]),
            "nord": team_create(organisation=world.other_org, name="Équipe Nord", agents=[world.agents["outsider"]]),
        }


def count(world, **filters) -> int:
    with tenant_context(world.administration):
        return Team.objects.filter(**filters).count()


@pytest.mark.parametrize(("persona", "expected"), [
    ("anonymous", 302), ("no_profile", 403), ("basic", 403), ("colleague", 403), ("secretary", 403),
    ("outsider", 403), ("admin", 200),
])
def test_persona_matrix(world, teams, persona, expected):
    client = client_for(world, persona)
    pk = teams["pmi"].pk
    for url in (LIST, NEW, f"/agents/equipes/{pk}/", f"/agents/equipes/{pk}/supprimer/"):
        assert client.get(url).status_code == expected, url
    assert client.post(f"/agents/equipes/{pk}/supprimer/").status_code == (302 if expected == 200 else expected)
    assert count(world, pk=pk) == (0 if expected == 200 else 1)
    if expected == 403 and persona != "no_profile":
        assert "réservée aux administrateurs" in text(client.get(LIST))


def test_admin_lists_only_the_teams_of_his_organisations(world, teams):
    body = text(client_for(world, "admin").get(LIST))
    assert "Équipe PMI" in body and "Équipe Nord" not in body
    assert str(world.agents["basic"]) in body
    admin = client_for(world, "admin")
    assert admin.get(f"/agents/equipes/{teams['nord'].pk}/").status_code == 404
    assert admin.post(f"/agents/equipes/{teams['nord'].pk}/supprimer/").status_code == 404
    assert admin.get("/agents/equipes/99999999/").status_code == 404
    assert count(world, pk=teams["nord"].pk) == 1


def test_admin_creates_edits_and_deletes_a_team(world):
    client = client_for(world, "admin")
    page = text(client.get(NEW))
    assert "Nom de l'équipe" in page and str(world.agents["colleague"]) in page
    assert str(world.agents["outsider"]) not in page
    created = client.post(NEW, {"organisation": world.org.pk, "name": "  Accueil  ",
                                "agents": [world.agents["colleague"].pk, world.agents["secretary"].pk]})
    assert created.status_code == 302 and created["Location"] == LIST
    with tenant_context(world.administration):
        team = Team.objects.get(name="Accueil")
        assert team.organisation == world.org
        assert set(team.agents.all()) == {world.agents["colleague"], world.agents["secretary"]}
    url = f"/agents/equipes/{team.pk}/"
    assert "Accueil" in text(client.get(url))
    edited = client.post(url, {"organisation": world.other_org.pk, "name": "Accueil général",
                               "agents": [world.agents["basic"].pk]})
    assert edited.status_code == 302
    with tenant_context(world.administration):
        team.refresh_from_db()
        assert team.name == "Accueil général" and team.organisation == world.org  # the organisation stays
        assert list(team.agents.all()) == [world.agents["basic"]]
    assert client.post(f"{url}supprimer/").status_code == 302 and count(world, pk=team.pk) == 0


def _bad(world, data, field, fragment, url=NEW):
    before = count(world)
    response = client_for(world, "admin").post(url, data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and fragment in " ".join(errors[field]), errors
    assert count(world) == before


def test_bad_input_gives_french_errors_and_saves_nothing(world, teams, administration_b):
    org = world.org.pk
    _bad(world, {"organisation": org, "name": ""}, "name", "obligatoire")
    _bad(world, {"organisation": org, "name": "   "}, "name", "obligatoire")
    _bad(world, {"organisation": org, "name": "x" * 121}, "name", "120 caractères")
    _bad(world, {"organisation": org, "name": "équipe pmi"}, "name", "existe déjà")
    _bad(world, {"organisation": world.other_org.pk, "name": "X"}, "organisation", "n'administrez pas")
    _bad(world, {"organisation": "abc", "name": "X"}, "organisation", "n'administrez pas")
    _bad(world, {"organisation": org, "name": "X", "agents": [world.agents["outsider"].pk]}, "agents",
         "n'est pas un agent de vos organisations")
    _bad(world, {"organisation": org, "name": "X", "agents": ["abc"]}, "agents", "valeur correcte")
    with tenant_context(administration_b):
        stranger = AgentFactory(pk=world.agents["admin"].pk + 50_000)
    _bad(world, {"organisation": org, "name": "X", "agents": [stranger.pk]}, "agents", "n'est pas un agent")
    url = f"/agents/equipes/{teams['pmi'].pk}/"
    with tenant_context(world.administration):
        team_create(organisation=world.org, name="Autre", agents=[])
    _bad(world, {"organisation": org, "name": "AUTRE"}, "name", "existe déjà", url=url)
    with tenant_context(world.administration):
        assert Team.objects.get(pk=teams["pmi"].pk).name == "Équipe PMI"


def test_service_refuses_agents_of_another_organisation(world):
    """An admin of two organisations sees both organisations' agents: the service checks membership."""
    with tenant_context(world.administration):
        AgentRole.objects.create(agent=world.agents["admin"], organisation=world.other_org, level="admin")
    _bad(world, {"organisation": world.org.pk, "name": "Mixte", "agents": [world.agents["outsider"].pk]}, "agents",
         "n'est pas agent de cette organisation")
    body = text(client_for(world, "admin").get(NEW))
    assert "MDS Nord" in body  # the organisation choice appears


def test_list_query_count_is_pinned(world, teams):
    client = client_for(world, "admin")
    client.get(LIST)
    counts = []
    for n in (2, 6):
        connection.set_schema_to_public()
        queries, response = count_queries(lambda: client.get(LIST))
        counts.append(queries)
        assert response.status_code == 200
        with tenant_context(world.administration):
            for index in range(n):
                agents = [AgentFactory(services=[world.services["pmi"]], organisation=world.org) for _ in range(2)]
                team_create(organisation=world.org, name=f"Équipe {n}-{index}", agents=agents)
    assert counts[0] == counts[1] and counts[0] <= 10, counts
