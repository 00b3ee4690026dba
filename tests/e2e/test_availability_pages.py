"""Plages d'ouverture, absences and teams as a person uses them, in Chromium, in both looks: an admin
creates a weekly plage for the agent (the overlap warning is confirmed with its checkbox), an absence
over several days and a team; axe-core runs on every page, including forms showing their errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.e2e.conftest import axe_check, screenshot
from tests.e2e.test_agent_pages import demo_administration, sign_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def tick(page, label: str) -> None:
    """Tick a checkbox or radio by clicking its label, as a person does (the DSFR draws the box on the label)."""
    page.locator("label", has_text=label).first.click()
    assert page.get_by_label(label, exact=True).first.is_checked()


def test_availability_absences_and_teams_in_the_browser(page, live_app, demo_administration):  # noqa: F811
    from scheduling.models import Absence, Agent, Availability, Team

    administration, look = demo_administration
    slug = administration.slug
    with tenant_context(administration):
        agent = Agent.objects.get(user__email=f"agent@{slug}.fr")
    sign_in(page, live_app, slug, f"admin@{slug}.fr")

    page.goto(live_app.url("/agents/plages/", slug))
    axe_check(page, context=f"own availability list ({look})")
    page.get_by_label("Agent", exact=True).select_option(str(agent.pk))
    page.get_by_role("button", name="Afficher").click()
    assert page.get_by_role("heading", name=f"Plages d'ouverture de {agent}").is_visible()
    page.get_by_role("link", name="Nouvelle plage d'ouverture").click()
    axe_check(page, context=f"availability form ({look})")

    page.get_by_label("Titre").fill("Permanence du samedi")
    tick(page, page.locator("input[name=appointment_types] + label").first.inner_text())
    page.get_by_label("Heure de début").fill("13:00")
    page.get_by_label("Heure de fin").fill("12:00")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("L'heure de fin doit être après l'heure de début.").is_visible()
    screenshot(page, f"availability-errors-{look}")
    axe_check(page, context=f"availability form with errors ({look})")

    page.get_by_label("Heure de début").fill("10:00")
    page.get_by_label("Heure de fin").fill("16:00")
    tick(page, "Samedi")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_role("heading", name="Avertissements").is_visible(), page.locator("main").inner_text()
    axe_check(page, context=f"availability warnings ({look})")
    tick(page, "Je confirme malgré ces avertissements")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Plage d'ouverture créée.").is_visible()
    assert page.get_by_role("rowheader", name="Permanence du samedi").is_visible()
    screenshot(page, f"availability-list-{look}")
    axe_check(page, context=f"colleague's availability list ({look})")
    with tenant_context(administration):
        created = Availability.objects.get(title="Permanence du samedi")
        assert created.agent == agent and 5 in created.weekdays

    page.goto(live_app.url(f"/agents/absences/?agent={agent.pk}", slug))
    axe_check(page, context=f"absence list ({look})")
    page.get_by_role("link", name="Nouvelle absence").click()
    start = timezone.localdate() + timedelta(days=30)
    page.get_by_label("Intitulé").fill("Congés d'été")
    page.get_by_role("textbox", name="Premier jour").fill(start.isoformat())
    page.get_by_label("Dernier jour").fill((start + timedelta(days=4)).isoformat())
    tick(page, "Une seule fois")
    axe_check(page, context=f"absence form ({look})")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Absence créée.").is_visible()
    with tenant_context(administration):
        assert Absence.objects.get(title="Congés d'été").end_day == start + timedelta(days=4)

    page.goto(live_app.url("/agents/equipes/", slug))
    axe_check(page, context=f"team list ({look})")
    page.get_by_role("link", name="Nouvelle équipe").click()
    page.get_by_label("Nom de l'équipe").fill("Accueil")
    tick(page, str(agent))
    axe_check(page, context=f"team form ({look})")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Équipe créée.").is_visible()
    screenshot(page, f"teams-{look}")
    with tenant_context(administration):
        assert list(Team.objects.get(name="Accueil").agents.all()) == [agent]
