"""The usager's booking journey in Chromium, as a person walks it, on a desktop window (État look) and a
phone-sized one (390×844, neutral look): by address to a sectorised organisation, a phone appointment booked
without an account (the one-time code read from the e-mail), with the keyboard alone — no click, only Tab,
typing and Enter. axe-core runs on every page of the journey; screenshots go to var/screenshots/."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django_tenants.utils import tenant_context

from tests.e2e.conftest import axe_check, delete_administration, screenshot, unique_slug
from tests.fakes.ban import FakeBan

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=[("etat", "dsfr", "desktop"), ("commune", "neutral", "phone")],
                ids=["dsfr-desktop", "neutral-phone"])
def journey_administration(request, e2e_db):
    from tenants.services import administration_create
    from tests.public_booking.journey_world import build_world

    kind, look, viewport = request.param
    slug = unique_slug("parcours")
    try:
        administration = administration_create(
            name=f"Parcours {look}", kind=kind, slug=slug, timezone_name="Europe/Paris",
            first_admin_email=f"admin@{slug}.fr", provision="sync",
        )
        world = build_world(administration)
        yield administration, world, look, viewport
    finally:
        delete_administration(slug)


def _focused(page) -> dict:
    return page.evaluate("""() => {
        const el = document.activeElement;
        if (!el) return {};
        const label = el.labels && el.labels.length ? el.labels[0].textContent : '';
        return {tag: el.tagName, name: el.getAttribute('name') || '', type: el.getAttribute('type') || '',
                text: (el.textContent || '').trim(), label: (label || '').trim(),
                aria: el.getAttribute('aria-label') || ''};
    }""")


def tab_to(page, predicate, *, limit: int = 150) -> dict:
    """Press Tab until the focused element satisfies ``predicate`` (the keyboard is the only input)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if focused and predicate(focused):
            return focused
    raise AssertionError(f"never reached by keyboard on {page.url}")


def check(page, name: str, look: str) -> None:
    axe_check(page, context=f"{name} ({look})")
    screenshot(page, f"journey-{name}-{look}", widths=(page.viewport_size["width"],))


def test_by_address_to_a_sectorised_organisation_phone_appointment_without_account_keyboard_only(
    browser, live_app, journey_administration, httpserver, settings,
):
    from scheduling.models import Appointment

    administration, world, look, viewport = journey_administration
    ban = FakeBan(httpserver, settings)
    ban.add("3 Rue Émile Augier 26000 Valence", city_code="26362", city="Valence", postcode="26000",
            street_id="26362_0100", street="Rue Émile Augier", housenumber="3", lon=4.892, lat=44.933)
    with tenant_context(administration):
        cache.clear()
    mail.outbox = []
    context = browser.new_context(locale="fr-FR", viewport=VIEWPORTS[viewport])
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(live_app.url("/", administration.slug))
        check(page, "home", look)
        tab_to(page, lambda f: f["tag"] == "A" and f["text"] == "Prendre rendez-vous")
        page.keyboard.press("Enter")
        page.wait_for_url("**/prendre-rdv/")
        check(page, "start", look)

        tab_to(page, lambda f: f["name"] == "q")
        page.keyboard.type("rue emile augier valence")
        page.keyboard.press("Enter")
        page.wait_for_url("**/prendre-rdv/?q=*")
        check(page, "address-choices", look)
        tab_to(page, lambda f: f["tag"] == "A" and "Émile Augier" in f["text"])
        page.keyboard.press("Enter")
        page.wait_for_url("**/prendre-rdv/motifs/**")
        check(page, "types", look)

        # the sectorised phone type of the attributed organisation is offered for this address
        tab_to(page, lambda f: f["tag"] == "A" and f["text"] == "Entretien téléphonique")
        page.keyboard.press("Enter")
        page.wait_for_url("**/prendre-rdv/lieux/**")
        check(page, "places", look)
        assert "MDS Nord" in page.content()
        tab_to(page, lambda f: f["tag"] == "A" and f["text"].startswith("Voir les horaires"))
        page.keyboard.press("Enter")
        page.wait_for_url("**/prendre-rdv/creneaux/**")
        check(page, "slots", look)

        focused = tab_to(page, lambda f: f["tag"] == "BUTTON" and f["name"] == "creneau")
        chosen_time = focused["text"]
        page.keyboard.press("Enter")
        page.wait_for_url("**/prendre-rdv/coordonnees/**")
        check(page, "who", look)

        tab_to(page, lambda f: f["name"] == "email")
        page.keyboard.type("camille.martin@exemple.fr")
        tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Recevoir un code")
        page.keyboard.press("Enter")
        page.get_by_label("Code reçu").wait_for()
        check(page, "code", look)
        code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
        assert mail.outbox[-1].to == ["camille.martin@exemple.fr"]
        tab_to(page, lambda f: f["name"] == "code")
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        page.get_by_label("Votre prénom").wait_for()
        check(page, "details", look)

        tab_to(page, lambda f: f["name"] == "first_name")
        page.keyboard.type("Camille")
        tab_to(page, lambda f: f["name"] == "last_name")
        page.keyboard.type("Martin")
        tab_to(page, lambda f: f["name"] == "phone")
        page.keyboard.type("06 12 34 56 78")
        tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Confirmer le rendez-vous")
        page.keyboard.press("Enter")
        page.wait_for_url("**/prendre-rdv/confirmation/**")
        check(page, "done", look)
        assert page.get_by_role("heading", name="Votre rendez-vous est confirmé").is_visible()
        assert chosen_time in page.content()
        assert "Par téléphone" in page.content()
    finally:
        context.close()

    with tenant_context(administration):
        appointment = Appointment.objects.get()
        assert appointment.appointment_type == world.org_type and appointment.created_by == "citizen"
        citizen = appointment.participations.get().citizen
        assert (citizen.first_name, citizen.email, citizen.phone) == ("Camille", "camille.martin@exemple.fr",
                                                                      "+33612345678")


def test_embed_is_accessible(browser, live_app, journey_administration):
    administration, world, look, viewport = journey_administration
    context = browser.new_context(locale="fr-FR", viewport=VIEWPORTS[viewport])
    page = context.new_page()
    try:
        response = page.goto(live_app.url("/prendre-rdv/integration/", administration.slug))
        assert response.headers.get("content-security-policy") == "frame-ancestors *"
        assert "x-frame-options" not in response.headers
        check(page, "embed", look)
    finally:
        context.close()


def _reach_details(browser, live_app, administration, url, email):
    """A person at the details step of the same slot (code confirmed through the e-mail)."""
    context = browser.new_context(locale="fr-FR", viewport=VIEWPORTS["desktop"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(url)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_role("button", name="Recevoir un code").click()
    page.get_by_label("Code reçu").wait_for()
    code = re.search(r"\b(\d{6})\b", [m for m in mail.outbox if m.to == [email]][-1].body).group(1)
    page.get_by_label("Code reçu").fill(code)
    page.get_by_role("button", name="Valider le code").click()
    page.get_by_label("Votre prénom").fill(email.split("@")[0])
    page.get_by_label("Votre nom").fill("Martin")
    page.get_by_label("Numéro de téléphone").fill("06 12 34 56 78")
    return context, page


@pytest.mark.parametrize("journey_administration", [("etat", "dsfr", "desktop")], indirect=True,
                         ids=["dsfr-desktop"])
def test_second_person_racing_for_the_same_slot_gets_the_slot_taken_page(browser, live_app, journey_administration):
    from urllib.parse import urlencode

    from scheduling.models import Appointment
    from tests.public_booking.journey_world import a_slot_after

    administration, world, look, viewport = journey_administration
    with tenant_context(administration):
        cache.clear()
        slot = a_slot_after(world.open_type)
    mail.outbox = []
    url = live_app.url("/prendre-rdv/coordonnees/?" + urlencode({
        "motif": world.open_type.pk, "lieu": world.north_place.pk, "creneau": slot.starts_at.isoformat()}),
        administration.slug)
    first_context, first = _reach_details(browser, live_app, administration, url, "premiere@exemple.fr")
    second_context, second = _reach_details(browser, live_app, administration, url, "second@exemple.fr")
    try:
        first.get_by_role("button", name="Confirmer le rendez-vous").click()
        first.wait_for_url("**/prendre-rdv/confirmation/**")
        second.get_by_role("button", name="Confirmer le rendez-vous").click()
        assert second.get_by_role("heading", name="Ce créneau n'est plus disponible").is_visible()
        assert second.get_by_role("heading", name="Les horaires libres les plus proches").is_visible()
        check(second, "slot-taken", look)
    finally:
        first_context.close()
        second_context.close()
    with tenant_context(administration):
        assert Appointment.objects.count() == 1
        assert Appointment.objects.get().participations.get().citizen.email == "premiere@exemple.fr"
