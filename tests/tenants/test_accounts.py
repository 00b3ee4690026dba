"""Agent accounts: invitation, first password, throttled sign-in, suspended and pending hosts."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.accounts.models import User
from tenants.accounts.services import agent_invite
from tenants.models import Administration
from tests.conftest import make_client


@pytest.fixture
def invitation(administration_a, mailoutbox, django_capture_on_commit_callbacks):
    with tenant_context(administration_a), django_capture_on_commit_callbacks(execute=True):
        user = agent_invite(administration=administration_a, email="Nouvel.Agent@Exemple.fr", first_name="Nina")
    link = re.search(r"http://test-a\.localhost(/invitation/\S+/)", mailoutbox[-1].body).group(1)
    return user, link


def test_invitation_email_is_french_and_points_to_the_administration(invitation, mailoutbox):
    user, link = invitation
    message = mailoutbox[-1]
    assert user.email == "nouvel.agent@exemple.fr"
    assert message.subject == "Invitation à rejoindre Département A sur RDV Service Public"
    assert "valable 7 jours" in message.body
    assert message.alternatives and "Choisir mon mot de passe" in message.alternatives[0][0]


def test_accepting_an_invitation_sets_the_password_and_signs_in(administration_a, invitation):
    user, link = invitation
    client = make_client(administration_a)
    page = client.get(link)
    assert page.status_code == 200 and "nouvel.agent@exemple.fr" in page.content.decode()
    response = client.post(link, {"new_password1": "Rendez-vous-2026!", "new_password2": "Rendez-vous-2026!"})
    assert response.status_code == 302 and response["Location"] == "/agents/"
    assert "Bonjour Nina" in client.get("/agents/").content.decode()
    # The link dies once used.
    again = make_client(administration_a).get(link)
    assert again.status_code == 404
    assert "n'est pas valide" in again.content.decode()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Court-1!", "trop court"),
        ("motdepasse123", "trop courant"),
        ("123456789012345", "entièrement numérique"),
    ],
)
def test_weak_passwords_are_refused_in_french(administration_a, invitation, password, message):
    user, link = invitation
    response = make_client(administration_a).post(link, {"new_password1": password, "new_password2": password})
    assert response.status_code == 200
    assert message in response.content.decode()
    with tenant_context(administration_a):
        assert not User.objects.get(pk=user.pk).has_usable_password()


def test_mismatched_passwords(administration_a, invitation):
    _, link = invitation
    response = make_client(administration_a).post(
        link, {"new_password1": "Rendez-vous-2026!", "new_password2": "Rendez-vous-2027!"}
    )
    assert "ne correspondent pas" in response.content.decode()


def test_expired_invitation_says_so(administration_a, invitation):
    _, link = invitation
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = make_client(administration_a).get(link)
    assert response.status_code == 410
    assert "Cette invitation a expiré" in response.content.decode()


@pytest.mark.parametrize("link", ["/invitation/Mg/faux-jeton/", "/invitation/@@@/x-y/", "/invitation/OTk5OTk5/a-b/"])
def test_tampered_invitation_links(client_a, link):
    response = client_a.get(link)
    assert response.status_code == 404
    assert "n'est pas valide" in response.content.decode()


def test_invitation_of_a_is_useless_on_b(administration_b, invitation):
    _, link = invitation
    assert make_client(administration_b).get(link).status_code == 404


def test_repeated_failed_sign_ins_are_throttled(administration_a, agent_a):
    client = make_client(administration_a)
    for _ in range(5):
        client.post("/comptes/login/", {"login": agent_a.email, "password": "mauvais-mot-de-passe"})
    response = client.post("/comptes/login/", {"login": agent_a.email, "password": "Mot-de-passe-de-test-2026"})
    assert "_auth_user_id" not in client.session
    assert "Trop de tentatives" in response.content.decode()


def test_signup_is_closed(client_a):
    response = client_a.get("/comptes/signup/")
    assert response.status_code == 200
    assert "Inscription fermée" in response.content.decode() or "fermée" in response.content.decode()


def test_password_reset_sends_a_link_on_the_same_host(client_a, agent_a, mailoutbox):
    response = client_a.post("/comptes/password/reset/", {"email": agent_a.email})
    assert response.status_code == 302
    assert "http://test-a.localhost/comptes/password/reset/key/" in mailoutbox[-1].body


def test_agents_home_requires_sign_in(client_a):
    response = client_a.get("/agents/")
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")


def test_suspended_administration_shows_a_clear_page(administration_a, agent_a_client, client_a):
    Administration.objects.filter(pk=administration_a.pk).update(status=Administration.Status.SUSPENDED)
    for client in (client_a, agent_a_client):
        response = client.get("/")
        assert response.status_code == 403
        assert "est suspendue" in response.content.decode()


def test_pending_administration_answers_without_touching_its_schema(db):
    from tenants.models import Domain

    pending = Administration.objects.create(
        name="En cours", kind="commune", slug="en-cours-x", schema_name="en_cours_x", first_admin_email="a@b.fr"
    )
    Domain.objects.create(domain="en-cours-x.localhost", tenant=pending, is_primary=True)
    response = make_client(pending).get("/agents/")
    assert response.status_code == 503
    assert "en cours de création" in response.content.decode()


@pytest.mark.parametrize("password", ["Soleil2026!!!", "motdepasse123", "AZERTYUIOP", "Marseille13!!", "iloveyou1234"])
def test_common_passwords_with_decorations_are_refused(password):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="trop courant"):
        validate_password(password)


def test_a_passphrase_is_accepted():
    from django.contrib.auth.password_validation import validate_password

    validate_password("cheval-agrafe-batterie-2026")


def test_agents_land_on_their_space_after_signing_in(administration_a, client_a):
    from tests.factories import UserFactory

    with tenant_context(administration_a):
        agent = UserFactory(email="arrivee@test-a.fr")
    response = client_a.post("/comptes/login/", {"login": agent.email, "password": "Mot-de-passe-de-test-2026"})
    assert response.status_code == 302 and response["Location"] == "/agents/"


def test_usagers_land_on_their_appointments_after_signing_in(administration_a, client_a):
    from scheduling.models import Citizen
    from tests.factories import UserFactory

    with tenant_context(administration_a):
        user = UserFactory(email="usager.connecte@exemple.fr")
        Citizen.objects.create(first_name="Inès", last_name="Usager", email=user.email, account=user)
    response = client_a.post("/comptes/login/", {"login": user.email, "password": "Mot-de-passe-de-test-2026"})
    assert response.status_code == 302 and response["Location"] == "/mes-rendez-vous/"
    assert client_a.get("/mes-rendez-vous/").status_code == 200


def test_the_header_offers_usagers_their_pages_and_agents_their_space(administration_a, agent_a_client):
    from scheduling.models import Citizen
    from tests.conftest import login_client
    from tests.factories import UserFactory

    with tenant_context(administration_a):
        user = UserFactory(email="usager.entete@exemple.fr")
        Citizen.objects.create(first_name="Léo", last_name="Usager", email=user.email, account=user)
    page = login_client(administration_a, user).get("/").content.decode()
    assert "Mes rendez-vous" in page and "Mon compte" in page and "Espace agents" not in page
    page = agent_a_client.get("/").content.decode()
    assert "Espace agents" in page and "Mes rendez-vous" not in page
