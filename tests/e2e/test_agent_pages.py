"""An agent's pages as a person sees them, in Chromium, in both looks: the appointment page with its
notifications, the API token and the calendar feed settings. axe-core runs on each; screenshots go to
var/screenshots/. The administration is made for the test and filled with the demo content."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.e2e.conftest import axe_check, delete_administration, screenshot, unique_slug
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(params=[("etat", "dsfr"), ("commune", "neutral")], ids=["dsfr", "neutral"])
def demo_administration(request, e2e_db):
    from scheduling.demo import demo_populate
    from tenants.accounts.models import User
    from tenants.services import administration_create

    kind, look = request.param
    slug = unique_slug("agents")
    try:
        administration = administration_create(
            name=f"Démo {look}", kind=kind, slug=slug, timezone_name="Europe/Paris",
            first_admin_email=f"admin@{slug}.fr", provision="sync",
        )
        with tenant_context(administration):
            admin = User.objects.get(email=f"admin@{slug}.fr")
            admin.first_name, admin.last_name = "Alice", "Administratrice"
            admin.set_password(PASSWORD)
            admin.save()
            agent = User.objects.create_user(email=f"agent@{slug}.fr", password=PASSWORD, first_name="Bruno",
                                             last_name="Agent")
            demo_populate(kind=kind, timezone_name="Europe/Paris", users={"admin": admin, "agent": agent})
        yield administration, look
    finally:
        delete_administration(slug)


def sign_in(page, live_app, slug: str, email: str) -> None:
    page.goto(live_app.url("/comptes/login/", slug))
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/agents/")


def test_agent_pages_are_accessible_and_show_the_notifications(page, live_app, demo_administration):
    from scheduling.models import Appointment

    administration, look = demo_administration
    with tenant_context(administration):
        appointment = Appointment.objects.filter(appointment_type__collective=False).order_by("starts_at").first()
    sign_in(page, live_app, administration.slug, f"admin@{administration.slug}.fr")

    page.goto(live_app.url(f"/agents/rdv/{appointment.pk}/", administration.slug))
    screenshot(page, f"appointment-{look}")
    axe_check(page, context=f"appointment page ({look})")
    assert page.get_by_role("heading", name="Notifications").is_visible()
    assert page.get_by_role("cell", name="RDV confirmé").first.is_visible()

    page.goto(live_app.url("/agents/parametres/api/", administration.slug))
    page.get_by_role("button", name="Créer un jeton").click()
    assert page.get_by_label("Jeton").input_value()
    screenshot(page, f"api-token-{look}")
    axe_check(page, context=f"API token page ({look})")

    page.goto(live_app.url("/agents/parametres/agenda/", administration.slug))
    feed = page.get_by_label("Adresse de l'agenda").input_value()
    assert "/agenda/" in feed and feed.endswith(".ics")
    screenshot(page, f"calendar-feed-{look}")
    axe_check(page, context=f"calendar feed page ({look})")
    page.get_by_role("button", name="Remplacer l'adresse").click()
    assert page.get_by_label("Adresse de l'agenda").input_value() != feed
