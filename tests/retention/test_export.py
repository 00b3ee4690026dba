"""A usager's data as a JSON download: by an agent from the usager's page (what the policy lets him see,
404 otherwise), and by the usager from "Mon compte"."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging.models import Message
from public_booking.services import citizen_account_create
from tests.conftest import login_client, make_client
from tests.retention.world import build_world, soon


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        world = build_world(administration_a)
        world.usager = citizen_account_create(email="camille.roux@exemple.fr", password="m0t-de-passe-long",
                                              first_name="Camille", last_name="Roux")
        world.usager.phone = "+33622334455"
        world.usager.save(update_fields=["phone"])
        world.usager.organisations.add(world.org)
        world.child = world.citizen(first_name="Noé", last_name="Roux", responsible=world.usager, email="")
        world.appointment = world.book(world.usager, soon(3))
        world.book(world.child, soon(4))
        world.stranger = world.citizen(first_name="Inès", last_name="Lemoine")
        world.book(world.stranger, soon(5))
        world.hidden = world.citizen(first_name="Hugo", last_name="Ailleurs")
        world.hidden.organisations.set([world.other_org])
    return world


def _json(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="donnees-usager-')
    return json.loads(response.content)


def test_an_agent_exports_a_usager_he_sees(world, administration_a):
    client = login_client(administration_a, world.agent.user)
    page = client.get(f"/agents/usagers/{world.usager.pk}/")
    assert "Exporter les données (RGPD)" in page.content.decode()
    data = _json(client.get(f"/agents/usagers/{world.usager.pk}/donnees-rgpd/"))
    assert data["identite"]["prenom"] == "Camille" and data["identite"]["nom"] == "Roux"
    assert data["coordonnees"]["email"] == "camille.roux@exemple.fr"
    assert data["coordonnees"]["telephone"] == "+33622334455"
    assert data["compte_en_ligne"]["email"] == "camille.roux@exemple.fr"
    assert [relative["prenom"] for relative in data["proches"]] == ["Noé"]
    assert len(data["proches"][0]["rendez_vous"]) == 1
    [appointment] = data["rendez_vous"]
    assert appointment["uuid"] == str(world.appointment.uuid)
    assert appointment["motif"] == "Entretien" and appointment["organisation"] == "MDS Conservation"
    assert appointment["participations"][0]["statut"] == "À venir / à renseigner"
    assert appointment["historique"][0]["action"] == "Création"
    with tenant_context(administration_a):
        sent = Message.objects.filter(citizen=world.usager).count()
    assert len(data["messages"]) == sent > 0
    assert all(message["destinataire"] in ("camille.roux@exemple.fr", "+33622334455") for message in data["messages"])
    assert "Inès" not in json.dumps(data, ensure_ascii=False), "nothing about other usagers"


def test_a_usager_the_agent_does_not_see_is_a_404(world, administration_a, administration_b, agent_b):
    outsider = login_client(administration_a, world.outsider.user)
    assert outsider.get(f"/agents/usagers/{world.usager.pk}/donnees-rgpd/").status_code == 404
    agent = login_client(administration_a, world.agent.user)
    assert agent.get(f"/agents/usagers/{world.hidden.pk}/donnees-rgpd/").status_code == 404
    assert agent.get("/agents/usagers/999999/donnees-rgpd/").status_code == 404
    # Another administration's agent, on his own host, with an id of A.
    with tenant_context(administration_b):
        other = build_world(administration_b)
    assert login_client(administration_b, other.agent.user).get(
        f"/agents/usagers/{world.usager.pk}/donnees-rgpd/").status_code == 404
    anonymous = make_client(administration_a).get(f"/agents/usagers/{world.usager.pk}/donnees-rgpd/")
    assert anonymous.status_code == 302 and "/comptes/" in anonymous["Location"]
    assert agent.post(f"/agents/usagers/{world.usager.pk}/donnees-rgpd/").status_code == 405


def test_the_usager_downloads_his_own_data(world, administration_a):
    client = login_client(administration_a, world.usager.account)
    page = client.get("/mon-compte/")
    assert "Télécharger mes données" in page.content.decode()
    data = _json(client.get("/mon-compte/mes-donnees/"))
    assert data["identite"]["id"] == world.usager.pk
    assert [relative["prenom"] for relative in data["proches"]] == ["Noé"]
    assert len(data["rendez_vous"]) == 1
    assert "Inès" not in json.dumps(data, ensure_ascii=False)
    assert data["export"]["genere_le"][:10] == timezone.now().isoformat()[:10]


def test_the_own_download_needs_a_signed_in_usager(world, administration_a):
    anonymous = make_client(administration_a).get("/mon-compte/mes-donnees/")
    assert anonymous.status_code == 302
    agent = login_client(administration_a, world.agent.user)
    assert agent.get("/mon-compte/mes-donnees/").status_code == 403


def test_an_admin_erases_a_usager_who_asked_after_confirming(world, administration_a):
    admin = login_client(administration_a, world.admin.user)
    url = f"/agents/usagers/{world.usager.pk}/effacer-rgpd/"
    assert "Effacer les données (RGPD)" in admin.get(f"/agents/usagers/{world.usager.pk}/").content.decode()
    page = admin.get(url)
    assert page.status_code == 200 and "Noé" in page.content.decode(), "the relatives erased too are listed"
    refused = admin.post(url, {})
    assert refused.status_code == 400 and "Cochez la case" in refused.content.decode()
    with tenant_context(administration_a):
        world.usager.refresh_from_db()
        assert world.usager.deleted_at is None
    done = admin.post(url, {"confirm": "on"})
    assert done.status_code == 302 and done["Location"].endswith("/agents/usagers/")
    with tenant_context(administration_a):
        from scheduling.models import Citizen
        from tenants.accounts.models import User

        erased = Citizen.objects.get(pk=world.usager.pk)
        assert (erased.first_name, erased.email, erased.phone, erased.account_id) == ("Usager", "", "", None)
        assert erased.deleted_at is not None
        assert Citizen.objects.get(pk=world.child.pk).deleted_at is not None
        assert not User.objects.filter(email="camille.roux@exemple.fr").exists()
        assert world.appointment.participations.get().status == "excused"
    assert admin.get(f"/agents/usagers/{world.usager.pk}/").status_code == 404


def test_only_an_admin_of_the_usager_erases(world, administration_a):
    url = f"/agents/usagers/{world.usager.pk}/effacer-rgpd/"
    basic = login_client(administration_a, world.agent.user)
    assert "Effacer les données" not in basic.get(f"/agents/usagers/{world.usager.pk}/").content.decode()
    assert basic.post(url, {"confirm": "on"}).status_code == 403
    with tenant_context(administration_a):
        from tests.scheduling.factories import AgentFactory

        elsewhere = AgentFactory(services=[world.service], organisation=world.other_org, organisation__level="admin")
    assert login_client(administration_a, elsewhere.user).post(url, {"confirm": "on"}).status_code == 404
    with tenant_context(administration_a):
        world.usager.refresh_from_db()
        assert world.usager.deleted_at is None
