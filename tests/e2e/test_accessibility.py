"""Every public page passes axe-core with no violation, in both looks (DSFR for the State,
neutral for collectivités). Screenshots at desktop and phone widths go to var/screenshots/."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.e2e.conftest import axe_check, screenshot
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def visit(page, url: str, name: str, *, status: int = 200):
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    screenshot(page, name)
    axe_check(page, context=f"{name} ({url})")
    return response


def test_platform_home(page, live_app):
    visit(page, live_app.url("/"), "platform-home")
    assert page.get_by_role("heading", level=1).inner_text() == "RDV Service Public"
    assert page.get_by_role("link", name="Préfecture de test").is_visible()


def test_state_administration_home_uses_the_dsfr(page, live_app, e2e_administration_etat):
    visit(page, live_app.url("/", e2e_administration_etat.slug), "etat-home")
    assert page.locator(".fr-header .fr-logo").count() == 1  # the State's bloc-marque
    assert page.get_by_role("heading", level=1).inner_text() == e2e_administration_etat.name


def test_neutral_administration_home_has_no_state_marks(page, live_app, e2e_administration_a):
    visit(page, live_app.url("/", e2e_administration_a.slug), "neutral-home")
    assert page.locator(".fr-logo, .fr-header").count() == 0
    assert "République" not in page.content()
    assert page.get_by_role("heading", level=1).inner_text() == e2e_administration_a.name


@pytest.mark.parametrize(
    ("slug", "name"), [("test-etat", "login-dsfr"), ("test-a", "login-neutral"), (None, "login-platform")]
)
def test_login_page(page, live_app, e2e_db, slug, name):
    visit(page, live_app.url("/comptes/login/", slug), name)
    assert page.get_by_label("Adresse e-mail").is_visible()
    assert page.get_by_label("Mot de passe").is_visible()
    assert page.get_by_role("button", name="Se connecter").is_visible()


@pytest.mark.parametrize("slug, name", [("test-a", "invitation-neutral"), ("test-etat", "invitation-dsfr")])
def test_invitation_page(page, live_app, e2e_db, slug, name):
    from tenants.accounts.services import invitation_path
    from tests.e2e.conftest import session_administration

    administration = session_administration(slug)
    with tenant_context(administration):
        invited = UserFactory(email=f"invite-{name}@exemple.fr")
        invited.set_unusable_password()
        invited.save()
        path = invitation_path(invited)
    try:
        visit(page, live_app.url(path, slug), name)
        assert page.get_by_text(invited.email).is_visible()
        # A wrong token gets a clear page too.
        visit(page, live_app.url(path[:-3] + "zzz/", slug), f"{name}-invalid", status=404)
    finally:
        with tenant_context(administration):
            invited.delete()


def test_unknown_host_page(page, live_app, e2e_db):
    visit(page, live_app.url("/", "inconnue"), "unknown-host", status=404)
    assert "ne correspond à aucune administration" in page.get_by_role("heading", level=1).inner_text()


def test_not_found_page(page, live_app, e2e_administration_a):
    visit(page, live_app.url("/nulle-part/", e2e_administration_a.slug), "not-found", status=404)


def test_suspended_page(page, live_app, e2e_administration_b):
    from tenants.services import administration_reactivate, administration_suspend

    administration_suspend(administration=e2e_administration_b, reason="Test de navigateur")
    try:
        visit(page, live_app.url("/", e2e_administration_b.slug), "suspended", status=403)
        assert "est suspendue" in page.get_by_role("heading", level=1).inner_text()
    finally:
        administration_reactivate(administration=e2e_administration_b)
