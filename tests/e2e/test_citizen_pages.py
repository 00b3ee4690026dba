"""Usager records and the agent's settings, as a person walks through them in Chromium, in both looks and
at desktop and phone widths: create a record (the likely duplicate is shown), find it again without accents,
add a relative, merge a duplicate, change the notification level. axe-core runs on every page; screenshots
go to var/screenshots/. The administration is made for the test and filled with the demo content."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.e2e.conftest import axe_check, screenshot
from tests.e2e.test_agent_pages import demo_administration, sign_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def check(page, name: str, look: str) -> None:
    """axe-core on the page, then screenshots at desktop and phone widths."""
    axe_check(page, context=f"{name} ({look})")
    screenshot(page, f"{name}-{look}")


def tick(page, label: str) -> None:
    """Tick a checkbox as a person does, on its label (DSFR draws the box on the label)."""
    page.get_by_text(label).click()
    assert page.get_by_label(label).is_checked()


def test_an_agent_manages_usager_records(page, live_app, demo_administration):  # noqa: F811
    from scheduling.models import Citizen

    administration, look = demo_administration
    slug = administration.slug
    sign_in(page, live_app, slug, f"agent@{slug}.fr")

    page.goto(live_app.url("/agents/usagers/", slug))
    assert page.get_by_role("link", name="Martin Camille").is_visible()
    check(page, "citizens-list", look)

    # a new record for someone who already has one: the likely duplicate is shown, then confirmed
    page.get_by_role("link", name="Créer une fiche usager").click()
    page.get_by_label("Prénom").fill("Élodie")
    page.get_by_role("textbox", name="Nom", exact=True).fill("Lefèvre")
    page.get_by_label("Téléphone").fill("06 12 34 56 78")  # Camille Martin's number
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_role("heading", name="Cette personne a peut-être déjà une fiche").is_visible()
    check(page, "citizen-create-duplicates", look)
    tick(page, "Je confirme qu'il s'agit d'une autre personne")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_role("heading", name="Élodie Lefèvre", level=1).is_visible()

    # found again without accents, and by phone as people type it
    page.goto(live_app.url("/agents/usagers/", slug))
    page.get_by_label("Rechercher un usager").fill("elodie lefevre")
    page.get_by_role("button", name="Rechercher").click()
    assert page.get_by_role("link", name="Lefèvre Élodie").is_visible()
    page.get_by_role("link", name="Lefèvre Élodie").click()
    check(page, "citizen-detail", look)

    page.get_by_role("link", name="Ajouter un proche").click()
    page.get_by_label("Prénom").fill("Lou")
    page.get_by_role("button", name="Ajouter le proche").click()
    assert page.get_by_role("link", name="Lou Lefèvre").is_visible()

    # Camille Martin's record holds the appointments: merge Élodie's into it
    with tenant_context(administration):
        camille = Citizen.objects.get(first_name="Camille", last_name="Martin")
        elodie = Citizen.objects.get(first_name="Élodie")
    page.goto(live_app.url(f"/agents/usagers/{camille.pk}/", slug))
    check(page, "citizen-detail-appointments", look)
    page.get_by_role("link", name="Fusionner avec une autre fiche").click()
    page.get_by_label("Rechercher un usager").fill("LEFEVRE")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name=f"Choisir Élodie Lefèvre (fiche n° {elodie.pk})").click()
    check(page, "citizen-merge", look)
    tick(page, "Je confirme la fusion")
    page.get_by_role("button", name="Fusionner les deux fiches").click()
    assert page.get_by_role("link", name="Lou Lefèvre").is_visible()  # the relative moved
    with tenant_context(administration):
        elodie.refresh_from_db()
        assert elodie.deleted_at is not None

    page.goto(live_app.url("/agents/parametres/", slug))
    page.get_by_text("Seulement pour aujourd'hui et demain").click()  # DSFR radios: the label is the target
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Vos préférences de notification sont enregistrées.").is_visible()
    assert page.get_by_label("Seulement pour aujourd'hui et demain").is_checked()
    check(page, "agent-settings", look)
