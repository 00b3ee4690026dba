"""The administration screens (/agents/administration/) in Chromium, in both looks, as an admin uses them:
create a type and a place, invite an agent, then visit every page; axe-core runs on each, at desktop and
phone widths."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.e2e.conftest import axe_check, screenshot
from tests.e2e.test_agent_pages import demo_administration, sign_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_admin_walks_through_the_administration(page, live_app, demo_administration):  # noqa: F811
    from scheduling.models import Agent, AppointmentType, Location

    administration, look = demo_administration
    slug = administration.slug
    sign_in(page, live_app, slug, f"admin@{slug}.fr")

    page.get_by_role("link", name="Administration", exact=True).first.click()
    page.wait_for_url("**/agents/administration/**")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Administration de")
    axe_check(page, context=f"administration index ({look})")
    screenshot(page, f"administration-index-{look}")

    # a type, with its explanations
    page.get_by_role("link", name="Motifs").click()
    axe_check(page, context=f"types ({look})")
    page.get_by_role("link", name="Créer un motif").click()
    page.locator("#id_name").fill("Atelier des tests")
    page.get_by_label("Service").select_option(index=1)
    page.get_by_label("Durée (minutes)").fill("90")
    page.locator("label[for=id_collective]").click()
    page.get_by_label("Places par défaut").fill("8")
    page.get_by_label("Délai minimum de réservation").fill("2")
    page.get_by_label("Unité du délai minimum").select_option("days")
    axe_check(page, context=f"type form ({look})")
    screenshot(page, f"administration-type-form-{look}")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Le motif « Atelier des tests » est créé.")).to_be_visible()
    axe_check(page, context=f"types after creation ({look})")

    # bad input: French errors on the page, nothing created
    page.get_by_role("link", name="Créer un motif").click()
    page.get_by_label("Durée (minutes)").fill("2")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Ce champ est obligatoire.").first).to_be_visible()
    axe_check(page, context=f"type form with errors ({look})")

    # a place (no address API configured in tests: saved as typed)
    page.goto(live_app.url("/agents/administration/", slug))
    page.get_by_role("link", name="Lieux").click()
    page.get_by_role("link", name="Ajouter un lieu").click()
    page.locator("#id_name").fill("Antenne du marché")
    page.get_by_label("Adresse").fill("3 place du Marché, 26000 Valence")
    axe_check(page, context=f"place form ({look})")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("link", name="Antenne du marché")).to_be_visible()
    axe_check(page, context=f"places ({look})")

    # agents: the list, an invitation
    page.goto(live_app.url("/agents/administration/", slug))
    page.get_by_role("link", name="Agents", exact=True).last.click()
    axe_check(page, context=f"agents ({look})")
    screenshot(page, f"administration-agents-{look}")
    page.get_by_role("link", name="Inviter un agent").click()
    page.get_by_label("Adresse e-mail").fill(f"nouvel-agent@{slug}.fr")
    page.locator("#id_last_name").fill("Nouvel")
    page.locator("label[for=id_services_0]").click()
    axe_check(page, context=f"invitation form ({look})")
    page.get_by_role("button", name="Envoyer l'invitation").click()
    expect(page.get_by_text(f"Invitation envoyée à nouvel-agent@{slug}.fr")).to_be_visible()

    # every other page, at desktop and phone widths
    for path in ("/agents/administration/services/", "/agents/administration/notifications/",
                 "/agents/administration/apparence/"):
        page.goto(live_app.url(path, slug))
        axe_check(page, context=f"{path} ({look})")
    page.goto(live_app.url("/agents/administration/", slug))
    page.get_by_role("link", name="Informations de l'organisation").click()
    axe_check(page, context=f"organisation form ({look})")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_app.url("/agents/administration/", slug))
    page.get_by_role("link", name="Motifs").click()
    axe_check(page, context=f"types on a phone ({look})")
    screenshot(page, f"administration-types-phone-{look}")

    with tenant_context(administration):
        kind = AppointmentType.objects.get(name="Atelier des tests")
        assert kind.collective and kind.default_capacity == 8 and kind.duration_minutes == 90
        assert Location.objects.filter(name="Antenne du marché", latitude__isnull=True).exists()
        assert Agent.objects.filter(user__email=f"nouvel-agent@{slug}.fr").exists()
