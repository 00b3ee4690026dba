"""The back office journey of issue 5, in Chromium, in both looks, as people would walk it:

1. an admin creates a type, a place and the agent's weekly plage d'ouverture through the administration and
   availability screens;
2. the agent finds a slot with "Trouver un créneau", opens it, and completes the booking wizard with the
   keyboard alone (Tab, Enter, Space and typing), creating the usager there;
3. he sees the appointment in his agenda and marks it "honoré" on its page;
4. a colleague of another service cannot open it (404).

axe-core runs on every page visited; screenshots (desktop and phone) go to var/screenshots/.
The colleague of another service is created directly in the database (inviting him would need his e-mail)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context

from tests.e2e.conftest import _delete_sessions, axe_check, screenshot
from tests.e2e.test_agent_pages import demo_administration, sign_in  # noqa: F401 (fixture)
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

WEEKDAYS = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi")


def tab_to(page, predicate: str, *, limit: int = 250) -> None:
    """Press Tab until the focused element satisfies ``predicate`` (a JS expression on ``el``)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({predicate}); }}"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate}")


def focus_field(page, name: str) -> None:
    tab_to(page, f"el.name === {name!r}")


def focus_button(page, text: str) -> None:
    tab_to(page, f"el.tagName === 'BUTTON' && el.textContent.trim() === {text!r}")


def submit_with_enter(page) -> None:
    """Enter on the focused button, waiting for the page it loads."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def new_page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    return context, context.new_page()


def close(context) -> None:
    cookies = context.cookies()
    context.close()
    _delete_sessions(cookies)


def test_admin_sets_up_the_agent_books_with_the_keyboard_and_a_colleague_cannot_see(
        page, browser, live_app, demo_administration):  # noqa: F811
    from scheduling.models import Agent, AgentRole, Appointment, AppointmentType, Availability, Location, Service
    from tenants.accounts.models import User

    administration, look = demo_administration
    slug = administration.slug
    with tenant_context(administration):
        agent = Agent.objects.get(user__email=f"agent@{slug}.fr")
        service = agent.services.order_by("name").first()

    # --- 1. The admin: a type, a place, the agent's weekly plage ------------------------------------------
    sign_in(page, live_app, slug, f"admin@{slug}.fr")
    page.goto(live_app.url("/agents/administration/", slug))
    axe_check(page, context=f"administration index ({look})")
    page.get_by_role("link", name="Motifs").first.click()
    axe_check(page, context=f"type list ({look})")
    page.get_by_role("link", name="Créer un motif").click()
    page.locator("[name=name]").fill("Bilan de parcours")
    page.locator("[name=service]").select_option(label=service.name)
    axe_check(page, context=f"type form ({look})")
    page.get_by_role("button", name="Enregistrer").click()
    with tenant_context(administration):
        kind = AppointmentType.objects.get(name="Bilan de parcours")
        assert kind.service == service and kind.duration_minutes == 30

    page.goto(live_app.url("/agents/administration/", slug))
    page.get_by_role("link", name="Lieux").first.click()
    axe_check(page, context=f"location list ({look})")
    page.get_by_role("link", name="Ajouter un lieu").click()
    page.locator("[name=name]").fill("Salle des Tilleuls")
    page.locator("[name=address]").fill("5 rue des Tilleuls, 26000 Valence")
    axe_check(page, context=f"location form ({look})")
    page.get_by_role("button", name="Enregistrer").click()
    with tenant_context(administration):
        place = Location.objects.get(name="Salle des Tilleuls")

    page.goto(live_app.url(f"/agents/plages/?agent={agent.pk}", slug))
    axe_check(page, context=f"agent's availability list ({look})")
    page.get_by_role("link", name="Nouvelle plage d'ouverture").click()
    page.locator("[name=title]").fill("Permanence du soir")
    page.locator("[name=location]").select_option(str(place.pk))
    page.locator("label", has_text="Bilan de parcours").first.click()
    page.locator("[name=start_time]").fill("17:00")
    page.locator("[name=end_time]").fill("19:00")
    for day in WEEKDAYS:
        box = page.get_by_label(day, exact=True)
        if not box.is_checked():
            page.locator("label", has_text=re.compile(f"^{day}$")).first.click()
    axe_check(page, context=f"availability form ({look})")
    page.get_by_role("button", name="Enregistrer").click()
    if page.get_by_text("Je confirme malgré ces avertissements").count():
        page.locator("label", has_text="Je confirme malgré ces avertissements").click()
        page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_text("Plage d'ouverture créée.").is_visible()
    with tenant_context(administration):
        plage = Availability.objects.get(title="Permanence du soir")
        assert plage.agent == agent and plage.location == place and list(plage.appointment_types.all()) == [kind]
        assert set(plage.weekdays) >= {0, 1, 2, 3, 4}

    # --- 2. The agent: "Trouver un créneau", then the wizard with the keyboard alone ---------------------
    agent_context, agent_page = new_page(browser)
    try:
        sign_in(agent_page, live_app, slug, f"agent@{slug}.fr")
        menu = agent_page.get_by_role("navigation", name="Espace agents")
        menu.get_by_role("link", name="Trouver un créneau").click()
        axe_check(agent_page, context=f"slot search form ({look})")
        agent_page.get_by_label("Motif").select_option(str(kind.pk))
        agent_page.get_by_role("button", name="Rechercher").click()
        assert agent_page.get_by_role("rowheader", name="Salle des Tilleuls").is_visible()
        screenshot(agent_page, f"slot-search-{look}")
        axe_check(agent_page, context=f"slot search results ({look})")
        slot = agent_page.locator(".slot-button").first
        assert str(agent) in slot.inner_text() and re.match(r"^(17|18):\d\d", slot.inner_text())
        slot.click()
        agent_page.wait_for_url(re.compile(r"/agents/prendre-rdv/[^/]+/usagers/$"))
        axe_check(agent_page, context=f"wizard: usagers ({look})")

        focus_field(agent_page, "nouveau-first_name")
        agent_page.keyboard.type("Zoé")
        focus_field(agent_page, "nouveau-last_name")
        agent_page.keyboard.type("Léger")
        focus_field(agent_page, "nouveau-email")
        agent_page.keyboard.type("zoe.leger@exemple.fr")
        focus_field(agent_page, "nouveau-phone")
        agent_page.keyboard.type("06 55 44 33 22")
        focus_button(agent_page, "Créer et ajouter")
        submit_with_enter(agent_page)
        assert agent_page.get_by_text("Fiche de Zoé Léger créée").is_visible()
        screenshot(agent_page, f"wizard-usagers-{look}")
        axe_check(agent_page, context=f"wizard: usager created ({look})")
        focus_button(agent_page, "Continuer")
        submit_with_enter(agent_page)
        agent_page.wait_for_url(re.compile(r"/horaire/$"))
        assert agent_page.get_by_label("Heure de début").input_value().startswith(("17:", "18:"))
        assert agent_page.get_by_label("Lieu", exact=True).input_value() == str(place.pk)
        screenshot(agent_page, f"wizard-details-{look}")
        axe_check(agent_page, context=f"wizard: time and place ({look})")
        focus_button(agent_page, "Continuer")
        submit_with_enter(agent_page)
        agent_page.wait_for_url(re.compile(r"/(avertissements|recapitulatif)/$"))
        if agent_page.url.endswith("/avertissements/"):
            axe_check(agent_page, context=f"wizard: warnings ({look})")
            tab_to(agent_page, "el.name === 'accept'")
            agent_page.keyboard.press("Space")
            focus_button(agent_page, "Continuer")
            submit_with_enter(agent_page)
            agent_page.wait_for_url(re.compile(r"/recapitulatif/$"))
        assert agent_page.get_by_text("E-mail à zoe.leger@exemple.fr").is_visible()
        screenshot(agent_page, f"wizard-summary-{look}")
        axe_check(agent_page, context=f"wizard: summary ({look})")
        focus_button(agent_page, "Confirmer le rendez-vous")
        submit_with_enter(agent_page)
        agent_page.wait_for_url(re.compile(r"/agents/rdv/\d+/$"))
        with tenant_context(administration):
            appointment = Appointment.objects.get(participations__citizen__email="zoe.leger@exemple.fr")
            assert appointment.appointment_type == kind and appointment.location == place
            assert list(appointment.agents.all()) == [agent]
            local = appointment.starts_at.astimezone(ZoneInfo(appointment.organisation.timezone))
        assert agent_page.get_by_text("Le rendez-vous est enregistré.").is_visible()
        axe_check(agent_page, context=f"appointment page ({look})")

        # --- 3. His agenda shows it; he marks it "honoré" -------------------------------------------------
        agent_page.goto(live_app.url(f"/agents/agenda/?date={local.date().isoformat()}", slug))
        axe_check(agent_page, context=f"agenda ({look})")
        link = agent_page.locator(f'a[href="/agents/rdv/{appointment.pk}/"]').first
        assert link.is_visible()
        link.click()
        agent_page.wait_for_url(re.compile(rf"/agents/rdv/{appointment.pk}/$"))
        agent_page.get_by_role("button", name="Honoré", exact=True).click()
        agent_page.wait_for_load_state("load")
        assert agent_page.get_by_role("heading", name="Statut : Honoré").is_visible()
        axe_check(agent_page, context=f"appointment page after status ({look})")
        with tenant_context(administration):
            appointment.refresh_from_db()
            assert appointment.status == "seen"
    finally:
        close(agent_context)

    # --- 4. A colleague of another service cannot open it ------------------------------------------------
    with tenant_context(administration):
        other_service = Service.objects.create(name="Jeunesse", short_name="JEUN")
        user = User.objects.create_user(email=f"collegue@{slug}.fr", password=PASSWORD, first_name="Chloé",
                                        last_name="Collègue")
        colleague = Agent.objects.create(user=user, first_name="Chloé", last_name="Collègue")
        colleague.services.set([other_service])
        AgentRole.objects.create(agent=colleague, organisation=appointment.organisation, level="basic")
    colleague_context, colleague_page = new_page(browser)
    try:
        sign_in(colleague_page, live_app, slug, f"collegue@{slug}.fr")
        response = colleague_page.goto(live_app.url(f"/agents/rdv/{appointment.pk}/", slug))
        assert response.status == 404
        axe_check(colleague_page, context=f"404 for a colleague of another service ({look})")
    finally:
        close(colleague_context)
