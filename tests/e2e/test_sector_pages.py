"""Sectorisation screens in Chromium, in both looks: list, a sector with its zones and attributions, the CSV
import page with its line errors, and "tester la sectorisation" (address API faked). axe-core on each."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.e2e.conftest import axe_check, delete_administration, screenshot, unique_slug
from tests.factories import PASSWORD
from tests.fakes.ban import FakeBan

pytestmark = pytest.mark.browser


@pytest.fixture(params=[("etat", "dsfr"), ("commune", "neutral")], ids=["dsfr", "neutral"])
def sector_administration(request, e2e_db):
    from tenants.accounts.models import User
    from tenants.services import administration_create
    from tests.public_booking.journey_world import build_world
    from tests.scheduling.factories import AgentFactory

    kind, look = request.param
    slug = unique_slug("secteurs")
    try:
        administration = administration_create(
            name=f"Secteurs {look}", kind=kind, slug=slug, timezone_name="Europe/Paris",
            first_admin_email=f"admin@{slug}.fr", provision="sync",
        )
        world = build_world(administration)
        with tenant_context(administration):
            admin = User.objects.get(email=f"admin@{slug}.fr")
            admin.first_name, admin.last_name = "Alice", "Administratrice"
            admin.set_password(PASSWORD)
            admin.save()
            if not hasattr(admin, "agent"):
                AgentFactory(user=admin, services=[world.service], organisation=world.north,
                             organisation__level="admin")
        yield administration, world, look
    finally:
        delete_administration(slug)


def check(page, name: str, look: str) -> None:
    axe_check(page, context=f"{name} ({look})")
    screenshot(page, f"sectors-{name}-{look}")


def test_sector_pages_are_accessible(page, live_app, sector_administration, httpserver, settings, tmp_path):
    administration, world, look = sector_administration
    ban = FakeBan(httpserver, settings)
    ban.add("12 Rue du Port 26200 Montélimar", city_code="26198", city="Montélimar", street_id="26198_0420",
            street="Rue du Port", housenumber="12")
    slug = administration.slug
    page.goto(live_app.url("/comptes/login/", slug))
    page.get_by_label("Adresse e-mail").fill(f"admin@{slug}.fr")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/agents/")

    page.goto(live_app.url("/agents/secteurs/", slug))
    check(page, "list", look)
    page.get_by_role("link", name="Valence").click()
    check(page, "detail", look)
    page.get_by_label("Code INSEE").fill("ABC")
    page.get_by_role("button", name="Ajouter la zone").click()
    assert page.get_by_text("Le code INSEE compte 5 caractères").first.is_visible()
    check(page, "detail-error", look)

    page.goto(live_app.url("/agents/secteurs/import/", slug))
    bad = tmp_path / "zones.csv"
    bad.write_text("secteur;niveau;code_insee;commune;identifiant_rue;rue\ninconnu;commune;26001;Albon;;\n")
    page.get_by_label("Fichier CSV des zones").set_input_files(str(bad))
    page.get_by_role("button", name="Importer").click()
    assert page.get_by_text("Ligne 2 : secteur « inconnu » inconnu.").is_visible()
    check(page, "import-error", look)

    page.goto(live_app.url("/agents/secteurs/tester/", slug))
    page.get_by_label("Adresse à tester").fill("rue du port montelimar")
    page.get_by_role("button", name="Tester").click()
    page.get_by_role("heading", name="12 Rue du Port 26200 Montélimar").wait_for()
    assert "Oui, avec" in page.content()
    check(page, "test", look)
