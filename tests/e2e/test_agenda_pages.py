"""The agenda area in Chromium, in both looks: home, agenda (desktop and phone widths), appointment list,
appointment page (status recorded with a click) and its printable view. axe-core runs on each page;
screenshots go to var/screenshots/. The demo administration of tests/e2e/test_agent_pages.py is reused."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.e2e.conftest import axe_check, screenshot
from tests.e2e.test_agent_pages import demo_administration, sign_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def no_horizontal_scroll(browser_page) -> bool:
    return browser_page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_agenda_pages_are_accessible_and_usable_on_a_phone(page, live_app, demo_administration):  # noqa: F811
    from scheduling.models import Appointment

    administration, look = demo_administration
    slug = administration.slug
    with tenant_context(administration):
        appointment = (
            Appointment.objects.filter(appointment_type__collective=False, status="unknown",
                                       starts_at__gt=timezone.now())
            .select_related("appointment_type", "organisation").prefetch_related("agent_links")
            .order_by("starts_at").first()
        )
        agent_id = appointment.agent_links.all()[0].agent_id
        day = appointment.starts_at.astimezone(ZoneInfo(appointment.organisation.timezone)).date()
    sign_in(page, live_app, slug, f"admin@{slug}.fr")
    axe_check(page, context=f"home ({look})")
    screenshot(page, f"agents-home-{look}")

    page.goto(live_app.url(f"/agents/agenda/?agent={agent_id}&date={day.isoformat()}&weekends=1", slug))
    assert page.get_by_role("heading", level=1).inner_text().startswith(("Agenda de", "Mon agenda"))
    link = page.locator(f'a[href="/agents/rdv/{appointment.pk}/"]')
    assert link.count() == 1
    axe_check(page, context=f"agenda ({look})")
    screenshot(page, f"agenda-{look}")
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_horizontal_scroll(page), "the agenda scrolls sideways on a phone"
    assert link.is_visible()
    axe_check(page, context=f"agenda on a phone ({look})")
    page.get_by_role("link", name="Semaine suivante →").click()
    assert f"agent={agent_id}" in page.url and "weekends=1" in page.url
    page.go_back()
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(live_app.url("/agents/rdv/?date_from=", slug))
    assert page.get_by_role("table").count() == 1
    axe_check(page, context=f"appointment list ({look})")
    screenshot(page, f"appointment-list-{look}")
    page.get_by_label("Statut").select_option("unknown")
    page.get_by_role("button", name="Filtrer").click()
    assert "status=unknown" in page.url
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_horizontal_scroll(page), "the appointment list scrolls sideways on a phone"
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(live_app.url(f"/agents/rdv/{appointment.pk}/", slug))
    axe_check(page, context=f"appointment page with actions ({look})")
    page.get_by_role("button", name="Honoré", exact=True).click()
    assert page.get_by_role("heading", name="Statut : Honoré").is_visible()
    assert page.get_by_text("Le statut a été enregistré.").is_visible()
    screenshot(page, f"appointment-actions-{look}")
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_horizontal_scroll(page), "the appointment page scrolls sideways on a phone"
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(live_app.url(f"/agents/rdv/{appointment.pk}/imprimer/", slug))
    axe_check(page, context=f"printable appointment ({look})")
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation", name="Espace agents").is_visible()
    page.emulate_media(media="screen")
