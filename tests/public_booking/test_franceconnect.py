"""FranceConnect sign-in for usagers (issue 6, "Who"): allauth's OpenID Connect against a local fake
FranceConnect (tests/fakes/oidc.py), configured per administration."""

from __future__ import annotations

from html import unescape
from urllib.parse import urlencode

import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from scheduling.models import Citizen
from tenants.accounts import franceconnect
from tenants.accounts.models import User
from tests.conftest import login_client, make_client
from tests.fakes.oidc import FakeFranceConnect
from tests.public_booking.journey_world import a_slot_after
from tests.scheduling.factories import AgentFactory, CitizenFactory

LOGIN = "/comptes/oidc/franceconnect/login/"
BUTTON = "fr-connect"


def _html(response) -> str:
    return unescape(response.content.decode())


def _configure(administration, fake):
    with tenant_context(administration):
        franceconnect.configure(client_id=fake.client_id, secret=fake.secret, server_url=fake.server_url)


@pytest.fixture
def fc_a(httpserver, administration_a):
    fake = FakeFranceConnect(httpserver, prefix="/fc-a", client_id="client-a", secret="secret-a")
    _configure(administration_a, fake)
    return fake


def _start(client, *, process="login", next_url=None):
    params = {"process": process} | ({"next": next_url} if next_url else {})
    response = client.post(f"{LOGIN}?{urlencode(params)}")
    assert response.status_code == 302, _html(response)[:2000]
    return response["Location"]


def _sign_in(client, fake, **kwargs):
    """The whole round trip: our redirect, the provider's authorisation, our callback."""
    return client.get(fake.authorize(_start(client, **kwargs)))


def _counts(administration):
    with tenant_context(administration):
        return User.objects.count(), Citizen.objects.count(), SocialAccount.objects.count()


# --- The button ------------------------------------------------------------------------------------

def test_no_button_and_no_flow_without_configuration(client_a, world, administration_a):
    assert BUTTON not in _html(client_a.get("/comptes/login/"))
    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    who = client_a.get("/prendre-rdv/coordonnees/?" + urlencode(
        {"motif": world.open_type.pk, "lieu": world.north_place.pk, "creneau": slot.starts_at.isoformat()}))
    assert who.status_code == 200 and "Vous avez un compte ?" in _html(who)
    assert BUTTON not in _html(who)
    assert client_a.post(f"{LOGIN}?process=login").status_code == 404


def test_button_on_sign_in_page_and_who_step_when_configured(client_a, world, administration_a, fc_a):
    page = _html(client_a.get("/comptes/login/"))
    assert BUTTON in page and "S’identifier avec" in page and "FranceConnect" in page
    with tenant_context(administration_a):
        slot = a_slot_after(world.open_type)
    who_url = "/prendre-rdv/coordonnees/?" + urlencode(
        {"motif": world.open_type.pk, "lieu": world.north_place.pk, "creneau": slot.starts_at.isoformat()})
    who = _html(client_a.get(who_url))
    assert BUTTON in who and LOGIN in who
    # Signing in from the Who step comes back to it, signed in.
    response = _sign_in(client_a, fc_a, next_url=who_url)
    assert response.status_code == 302 and response["Location"] == who_url
    assert "Vous êtes connecté(e) : Angela Claire Louise DUBOIS" in _html(client_a.get(who_url))


# --- Sign-in and sign-up ---------------------------------------------------------------------------

def test_first_sign_in_creates_the_usager_from_the_certified_identity(client_a, administration_a, fc_a):
    before = _counts(administration_a)
    response = _sign_in(client_a, fc_a)
    assert response.status_code == 302 and response["Location"] == "/mes-rendez-vous/"
    sent = fc_a.last_authorize()
    assert set(sent["scope"].split()) >= {"openid", "given_name", "family_name", "birthdate", "email", "gender",
                                          "preferred_username"}
    assert sent["acr_values"] == "eidas1" and len(sent["nonce"]) >= 32 and len(sent["state"]) >= 32
    with tenant_context(administration_a):
        user = User.objects.get(email="angela.dubois@exemple.fr")
        citizen = user.citizen
        assert (citizen.first_name, citizen.last_name, citizen.birth_name, str(citizen.birth_date)) == (
            "Angela Claire Louise", "DUBOIS", "DUBOIS", "1962-08-24")
        assert citizen.email == "angela.dubois@exemple.fr" and not user.has_usable_password()
        assert user.socialaccount_set.get().provider == "franceconnect"
    assert _counts(administration_a) == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert client_a.get("/mes-rendez-vous/").status_code == 200


def test_usage_name_from_preferred_username(client_a, administration_a, fc_a):
    fc_a.identity["preferred_username"] = "MARTIN"
    _sign_in(client_a, fc_a)
    with tenant_context(administration_a):
        citizen = Citizen.objects.get(email="angela.dubois@exemple.fr")
        assert (citizen.last_name, citizen.birth_name) == ("MARTIN", "DUBOIS")


def test_without_email_the_usager_gives_one(client_a, administration_a, fc_a):
    fc_a.identity["email"] = ""
    response = _sign_in(client_a, fc_a)
    assert response.status_code == 302
    page = client_a.get(response["Location"])
    assert "FranceConnect ne nous a pas transmis d'adresse e-mail" in _html(page)
    response = client_a.post(response["Location"], {"email": "angela@exemple.fr"})
    assert response.status_code == 302 and response["Location"] == "/mes-rendez-vous/"
    with tenant_context(administration_a):
        citizen = Citizen.objects.get(account__email="angela@exemple.fr")
        assert (citizen.email, citizen.birth_name) == ("angela@exemple.fr", "DUBOIS")


def test_without_email_an_agents_address_gives_nothing(client_a, administration_a, fc_a, agent_a):
    fc_a.identity["email"] = ""
    signup = _sign_in(client_a, fc_a)["Location"]
    before = _counts(administration_a)
    response = client_a.post(signup, {"email": agent_a.email})
    assert response.status_code in (200, 302)
    assert _counts(administration_a) == before
    assert client_a.get("/agents/").status_code == 302  # not signed in as the agent


def test_second_sign_in_reuses_the_account(administration_a, fc_a):
    first = make_client(administration_a)
    _sign_in(first, fc_a)
    after_first = _counts(administration_a)
    fc_a.identity["given_name"] = "Angela"  # FranceConnect is the authority: the record follows it
    second = make_client(administration_a)
    response = _sign_in(second, fc_a)
    assert response.status_code == 302 and response["Location"] == "/mes-rendez-vous/"
    assert _counts(administration_a) == after_first
    with tenant_context(administration_a):
        assert Citizen.objects.get(email="angela.dubois@exemple.fr").first_name == "Angela"


def test_existing_usager_with_the_verified_email_is_connected_not_duplicated(client_a, administration_a, fc_a):
    with tenant_context(administration_a):
        user = User.objects.create_user(email="angela.dubois@exemple.fr", password="Un-mot-de-passe-2026")
        citizen = CitizenFactory(account=user, email=user.email, first_name="Angie", last_name="Dubois")
    fc_a.identity["email_verified"] = True
    before = _counts(administration_a)
    response = _sign_in(client_a, fc_a)
    assert response.status_code == 302 and response["Location"] == "/mes-rendez-vous/"
    assert _counts(administration_a) == (before[0], before[1], before[2] + 1)
    with tenant_context(administration_a):
        citizen.refresh_from_db()
        assert citizen.first_name == "Angela Claire Louise" and citizen.birth_name == "DUBOIS"
        assert SocialAccount.objects.get(provider="franceconnect").user_id == user.pk


def test_existing_usager_with_an_unverified_email_must_sign_in_with_his_password_first(
    client_a, administration_a, fc_a,
):
    with tenant_context(administration_a):
        user = User.objects.create_user(email="angela.dubois@exemple.fr", password="Un-mot-de-passe-2026")
        CitizenFactory(account=user, email=user.email)
    before = _counts(administration_a)
    response = _sign_in(client_a, fc_a)
    assert response.status_code == 302 and response["Location"] == "/comptes/login/"
    page = _html(client_a.get(response["Location"]))
    assert "Un compte existe déjà avec l'adresse e-mail donnée par FranceConnect" in page
    assert _counts(administration_a) == before
    assert client_a.get("/mes-rendez-vous/").status_code == 302  # not signed in
    # Signed in with his password, he links FranceConnect from his account page.
    usager = login_client(administration_a, user)
    assert "Lier mon compte à" in _html(usager.get("/mon-compte/"))
    response = _sign_in(usager, fc_a, process="connect")
    assert response.status_code == 302 and response["Location"] == "/mon-compte/"
    with tenant_context(administration_a):
        assert SocialAccount.objects.get(provider="franceconnect").user_id == user.pk
        assert Citizen.objects.get(account=user).birth_name == "DUBOIS"
        user.refresh_from_db()
        assert user.has_usable_password()


@pytest.mark.parametrize("verified", [True, False])
@pytest.mark.parametrize("who", ["agent", "admin", "plain_account"])
def test_agents_never_sign_in_through_franceconnect(client_a, administration_a, fc_a, who, verified):
    with tenant_context(administration_a):
        user = User.objects.create_user(email="angela.dubois@exemple.fr", password="Un-mot-de-passe-2026",
                                        is_administration_admin=who == "admin")
        if who == "agent":
            AgentFactory(user=user)
    fc_a.identity["email_verified"] = verified
    before = _counts(administration_a)
    response = _sign_in(client_a, fc_a)
    assert response.status_code == 403
    assert "Les comptes des agents ne peuvent pas se connecter avec FranceConnect" in _html(response)
    assert _counts(administration_a) == before
    with tenant_context(administration_a):
        user.refresh_from_db()
        assert user.has_usable_password()
    assert client_a.get("/agents/").status_code == 302  # not signed in


def test_linking_needs_a_signed_in_usager(client_a, administration_a, fc_a):
    before = _counts(administration_a)
    response = _sign_in(client_a, fc_a, process="connect")
    assert response.status_code == 403 and "Connectez-vous d'abord" in _html(response)
    assert _counts(administration_a) == before


def test_an_agent_cannot_link_franceconnect(administration_a, fc_a, agent_a):
    client = login_client(administration_a, agent_a)
    before = _counts(administration_a)
    response = _sign_in(client, fc_a, process="connect")
    assert response.status_code == 403 and "agents" in _html(response)
    assert _counts(administration_a) == before


# --- Failures: nothing created, a French message ---------------------------------------------------

def test_provider_error_and_cancel_create_nothing(client_a, administration_a, fc_a):
    before = _counts(administration_a)
    location = _start(client_a)
    state = fc_a.query_of(location)["state"]
    response = client_a.get(f"{LOGIN}callback/?" + urlencode({"error": "access_denied", "state": state}))
    assert response.status_code == 400
    assert "Vous avez annulé la connexion avec FranceConnect" in _html(response)
    state = fc_a.query_of(_start(client_a))["state"]
    response = client_a.get(f"{LOGIN}callback/?" + urlencode({"error": "server_error", "state": state}))
    assert response.status_code == 400 and "La connexion avec FranceConnect a échoué" in _html(response)
    assert _counts(administration_a) == before


def test_franceconnect_down_gives_a_french_page(client_a, administration_a, fc_a):
    location = _start(client_a)
    callback = fc_a.authorize(location)
    before = _counts(administration_a)
    with tenant_context(administration_a):
        franceconnect.configure(client_id=fc_a.client_id, secret=fc_a.secret, server_url="http://127.0.0.1:9/fc")
    for response in (client_a.get(callback), client_a.post(f"{LOGIN}?process=login")):
        assert response.status_code == 503 and "FranceConnect ne répond pas" in _html(response)
    assert _counts(administration_a) == before


def test_tampered_state_or_nonce_creates_nothing(client_a, administration_a, fc_a):
    before = _counts(administration_a)
    callback = fc_a.authorize(_start(client_a))
    forged = callback.replace("state=", "state=x")
    response = client_a.get(forged)
    assert response.status_code == 400 and "La connexion avec FranceConnect a échoué" in _html(response)
    # A callback replayed in another browser (no state in its session) is refused too.
    response = make_client(administration_a).get(fc_a.authorize(_start(client_a)))
    assert response.status_code == 400
    fc_a.nonce_override = "une-autre-valeur-de-nonce-pas-la-bonne-0123"
    response = _sign_in(client_a, fc_a)
    assert response.status_code == 400 and "n'a pas pu être vérifiée" in _html(response)
    assert _counts(administration_a) == before


def test_another_administrations_app_is_never_used(httpserver, administration_a, administration_b, client_a,
                                                   client_b):
    fake_b = FakeFranceConnect(httpserver, prefix="/fc-b", client_id="client-b", secret="secret-b")
    _configure(administration_b, fake_b)
    assert BUTTON not in _html(client_a.get("/comptes/login/"))
    assert client_a.post(f"{LOGIN}?process=login").status_code == 404
    assert BUTTON in _html(client_b.get("/comptes/login/"))
    _sign_in(client_b, fake_b)
    assert fake_b.last_authorize()["client_id"] == "client-b"
    assert fake_b.last_authorize()["redirect_uri"].startswith(f"http://{administration_b.primary_domain}")
    with tenant_context(administration_b):
        assert Citizen.objects.filter(email="angela.dubois@exemple.fr").exists()
    with tenant_context(administration_a):
        assert not Citizen.objects.filter(email="angela.dubois@exemple.fr").exists()


# --- Logout ----------------------------------------------------------------------------------------

def test_logout_ends_the_session_at_franceconnect_too(client_a, administration_a, fc_a):
    _sign_in(client_a, fc_a)
    response = client_a.post("/comptes/logout/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{fc_a.issuer}/logout?")
    sent = fc_a.query_of(response["Location"])
    assert sent["id_token_hint"] == fc_a.issued_id_tokens[-1]
    assert sent["post_logout_redirect_uri"] == f"http://{administration_a.primary_domain}/"
    assert len(sent["state"]) >= 32
    assert client_a.get("/mes-rendez-vous/").status_code == 302  # signed out here


def test_password_sign_out_stays_local(administration_a, fc_a):
    with tenant_context(administration_a):
        user = User.objects.create_user(email="paul@exemple.fr", password="Un-mot-de-passe-2026")
        CitizenFactory(account=user, email=user.email)
    usager = login_client(administration_a, user)
    response = usager.post("/comptes/logout/")
    assert response.status_code == 302 and fc_a.issuer not in response["Location"]


# --- Certified identity locked on the account page -------------------------------------------------

def test_certified_identity_cannot_be_changed_by_the_usager(client_a, administration_a, fc_a):
    _sign_in(client_a, fc_a)
    page = _html(client_a.get("/mon-compte/"))
    assert "Identité certifiée par FranceConnect" in page
    assert page.count("disabled") >= 3 and "Lier mon compte à" not in page
    response = client_a.post("/mon-compte/", {
        "profil-first_name": "Zoé", "profil-last_name": "MARTIN", "profil-birth_name": "DURAND",
        "profil-birth_date": "2000-01-01", "profil-phone": "06 12 34 56 78",
    })
    assert response.status_code == 302
    with tenant_context(administration_a):
        citizen = Citizen.objects.get(email="angela.dubois@exemple.fr")
        assert (citizen.first_name, citizen.birth_name, str(citizen.birth_date)) == (
            "Angela Claire Louise", "DUBOIS", "1962-08-24")
        # The usage name and the contact details stay the usager's.
        assert (citizen.last_name, citizen.phone) == ("MARTIN", "+33612345678")


def test_password_usagers_still_edit_their_identity(administration_a):
    with tenant_context(administration_a):
        user = User.objects.create_user(email="paul@exemple.fr", password="Un-mot-de-passe-2026")
        citizen = CitizenFactory(account=user, email=user.email)
    usager = login_client(administration_a, user)
    assert "Identité certifiée" not in _html(usager.get("/mon-compte/"))
    usager.post("/mon-compte/", {"profil-first_name": "Paul", "profil-last_name": "Durand",
                                 "profil-birth_name": "Durand", "profil-birth_date": "1980-05-06"})
    with tenant_context(administration_a):
        citizen.refresh_from_db()
        assert (citizen.first_name, str(citizen.birth_date)) == ("Paul", "1980-05-06")


# --- Configuration command -------------------------------------------------------------------------

def test_configure_command(administration_a, monkeypatch, capsys):
    monkeypatch.setenv("FRANCECONNECT_SECRET", "le-secret")
    call_command("configure_franceconnect", "--administration", administration_a.slug, "--client-id", "abc",
                 "--server-url", "https://fcp.integ01.dev-franceconnect.fr/api/v1/")
    with tenant_context(administration_a):
        app = SocialApp.objects.get(provider_id="franceconnect")
        assert (app.provider, app.client_id, app.secret) == ("openid_connect", "abc", "le-secret")
        assert app.settings["server_url"] == "https://fcp.integ01.dev-franceconnect.fr/api/v1"
    call_command("configure_franceconnect", "--administration", administration_a.slug, "--retirer")
    with tenant_context(administration_a):
        assert not SocialApp.objects.exists()
    with pytest.raises(CommandError, match="adresse https"):
        call_command("configure_franceconnect", "--administration", administration_a.slug, "--client-id", "abc",
                     "--server-url", "pas une url")
