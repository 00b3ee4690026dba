"""Onboarding as a person does it, in Chromium: an operator signs in to the console with a second
factor, creates an administration, waits for it to be active (the schema is made by the Celery
worker, through Redis), and the first admin follows the invitation e-mail to choose a password and
reach the agents' home on the new subdomain. axe-core runs on every page visited."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core import mail
from django_tenants.utils import schema_context

from tests.e2e.conftest import axe_check, delete_administration, delete_public_user, screenshot, unique_slug
from tests.factories import PASSWORD, TOTP_SECRET, ConsoleUserFactory

pytestmark = pytest.mark.browser

ACTIVATION_TIMEOUT = 30  # seconds; creating and migrating a schema takes about one


def totp_code(secret: str = TOTP_SECRET) -> str:
    """The code an authenticator app shows now (waits for the next period when this one ends)."""
    from allauth.mfa import app_settings

    period = app_settings.TOTP_PERIOD
    if period - time.time() % period < 2:
        time.sleep(2)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


@pytest.fixture
def operator_account(e2e_db):
    from tenants.accounts.models import User

    email = f"{unique_slug('operateur')}@plateforme.fr"
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        user = ConsoleUserFactory(email=email, console_role=User.ConsoleRole.OPERATOR)
    yield user
    delete_public_user(user)


@pytest.fixture
def new_slug(e2e_db):
    slug = unique_slug()
    yield slug
    delete_administration(slug)


def test_operator_onboards_an_administration_and_its_first_admin_sets_a_password(
    page, live_app, celery_worker, operator_account, new_slug,
):
    admin_email = f"premiere.admin@{new_slug}.fr"

    # The operator opens the console and is asked to sign in.
    page.goto(live_app.url("/console/"))
    page.wait_for_url(re.compile(r"/comptes/login/"))
    axe_check(page, context="connexion à la console")
    page.get_by_label("Adresse e-mail").fill(operator_account.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    # Second factor: the code of the authenticator app.
    page.wait_for_url(re.compile(r"/2fa/|/mfa/|authenticate"))
    screenshot(page, "console-2fa")
    axe_check(page, context="double authentification")
    page.get_by_label("Code de vérification").fill(totp_code())
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url(re.compile(r"/console/$"))
    screenshot(page, "console-index")
    axe_check(page, context="accueil de la console")

    # New administration.
    page.goto(live_app.url("/console/tenants/administration/add/"))
    screenshot(page, "console-add-administration")
    axe_check(page, context="création d'une administration")
    page.locator("[name=name]").fill("Commune de l'essai navigateur")
    page.locator("[name=kind]").select_option("commune")
    page.locator("[name=slug]").fill(new_slug)
    page.locator("[name=timezone]").fill("Europe/Paris")
    page.locator("[name=first_admin_email]").fill(admin_email)
    page.locator("#content-main form [type=submit]").first.click()
    page.wait_for_url(re.compile(r"/console/tenants/administration/\d+/change/"))
    axe_check(page, context="administration en cours de création")

    # The worker creates the schema; the operator reloads the page until the status is "Active".
    deadline = time.monotonic() + ACTIVATION_TIMEOUT
    status = page.locator(".field-status_display .readonly, .field-status .readonly").first
    while "Active" not in status.inner_text():
        assert "chec" not in status.inner_text(), status.inner_text()  # "En échec : <raison>"
        assert time.monotonic() < deadline, f"still {status.inner_text()!r} after {ACTIVATION_TIMEOUT} s"
        time.sleep(0.5)
        page.reload()
    screenshot(page, "console-administration-active")
    axe_check(page, context="administration active")

    # The first admin's invitation, as delivered.
    invitations = [message for message in mail.outbox if admin_email in message.to]
    assert len(invitations) == 1, [message.to for message in mail.outbox]
    host = live_app.host(new_slug)
    links = re.findall(rf"http://{re.escape(host)}/invitation/[\w-]+/[\w-]+/", invitations[0].body)
    assert links, invitations[0].body

    # On the new subdomain, in a fresh browser (nobody is signed in there anyway).
    page.goto(links[0])
    assert page.get_by_role("heading", level=1).inner_text() == "Bienvenue dans Commune de l'essai navigateur"
    axe_check(page, context="invitation")
    page.get_by_label("Nouveau mot de passe", exact=False).first.fill("Une phrase de passe solide 2026")
    page.get_by_label("Confirmation du nouveau mot de passe", exact=False).fill("Une phrase de passe solide 2026")
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()

    page.wait_for_url(f"http://{host}/agents/")
    assert page.get_by_role("heading", level=1).inner_text() == "Espace agents"
    assert page.get_by_text("Vous êtes administrateur de cette administration.").is_visible()
    screenshot(page, "agents-home")
    axe_check(page, context="espace agents")
