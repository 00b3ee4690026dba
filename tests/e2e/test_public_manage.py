"""The usager's manage link in Chromium, in both looks, on a desktop and a phone-sized window: open the
link from the messages, move the appointment to another slot, cancel it. axe-core runs on every page at
both widths; screenshots go to var/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.e2e.conftest import axe_check, delete_administration, screenshot, unique_slug

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(params=[("etat", "dsfr"), ("commune", "neutral")], ids=["dsfr", "neutral"])
def booked(request, e2e_db):
    """A fresh administration of each look with one appointment booked by a usager, ten days ahead."""
    from tenants.services import administration_create
    from tests.public_booking.selfservice_world import book, build_world

    kind, look = request.param
    slug = unique_slug("usager")
    try:
        administration = administration_create(
            name=f"Usagers {look}", kind=kind, slug=slug, timezone_name="Europe/Paris",
            first_admin_email=f"admin@{slug}.fr", provision="sync",
        )
        with tenant_context(administration):
            world = build_world()
            world.kind.instructions = "Munissez-vous d'une pièce d'identité."
            world.kind.cancellation_warning = "Un nouveau rendez-vous peut prendre plusieurs semaines."
            world.kind.save()
            appointment = book(world, timezone.now() + timedelta(days=10))
        yield administration, look, appointment
    finally:
        delete_administration(slug)


def check(page, name: str) -> None:
    """axe-core at desktop and phone widths, and screenshots."""
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        axe_check(page, context=f"{name} ({size['width']} px)")
    screenshot(page, name)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_open_move_and_cancel_from_the_link(page, live_app, booked, viewport):
    from scheduling.models import Appointment

    administration, look, appointment = booked
    page.set_viewport_size(viewport)
    page.goto(live_app.url(f"/rdv/{appointment.uuid}/", administration.slug))
    assert page.get_by_role("heading", level=1, name="Votre rendez-vous").is_visible()
    assert page.get_by_text("Munissez-vous d'une pièce d'identité.").is_visible()
    check(page, f"public-manage-{look}")
    page.set_viewport_size(viewport)

    # Waiting list (the appointment is more than 7 days away).
    page.get_by_role("button", name="Me prévenir si un créneau se libère plus tôt").click()
    assert page.get_by_text("C'est noté").is_visible()

    # Move: the week of slots, one radio per time, grouped by day.
    page.get_by_role("link", name="Déplacer le rendez-vous").click()
    assert page.get_by_role("heading", name="Choisir un nouvel horaire").is_visible()
    check(page, f"public-move-{look}")
    page.set_viewport_size(viewport)
    for _ in range(2):  # two weeks on: the new time stays far enough to be cancelled online
        page.get_by_role("link", name="Semaine suivante").click()
    first_day = page.locator("fieldset.slot-day").first
    first_day.locator("label").first.click()
    chosen = first_day.locator("input[name=starts_at]").first.get_attribute("value")
    page.get_by_role("button", name="Déplacer à cet horaire").click()
    assert page.get_by_text("Votre rendez-vous est déplacé.").is_visible()
    with tenant_context(administration):
        moved = Appointment.objects.get(pk=appointment.pk)
    assert moved.starts_at.isoformat() == chosen or moved.starts_at == timezone.datetime.fromisoformat(chosen)

    # Cancel, with the type's warning.
    page.get_by_role("link", name="Annuler le rendez-vous").click()
    assert page.get_by_text("plusieurs semaines").is_visible()
    check(page, f"public-cancel-{look}")
    page.set_viewport_size(viewport)
    page.get_by_role("button", name="Confirmer l'annulation").click()
    assert page.get_by_text("Votre rendez-vous est annulé.").is_visible()
    check(page, f"public-cancelled-{look}")
    with tenant_context(administration):
        assert Appointment.objects.get(pk=appointment.pk).status == "excused"


def test_unknown_link_is_a_french_page(page, live_app, booked):
    administration, look, _ = booked
    response = page.goto(live_app.url("/rdv/5c1a4c2e-0000-4000-8000-000000000000/", administration.slug))
    assert response.status == 404
    assert page.get_by_role("heading", name="Page introuvable").is_visible()
    check(page, f"public-404-{look}")


def test_other_self_service_pages_are_accessible(page, live_app, booked):
    """Prescripteur, sessions, invitation and account pages: axe-core at both widths, both looks."""
    from public_booking.self_service import invitation_token
    from scheduling import services
    from scheduling.models import AppointmentType, Citizen
    from tests.factories import PASSWORD

    administration, look, appointment = booked
    slug = administration.slug
    with tenant_context(administration):
        kind = appointment.appointment_type
        kind.bookable_by = AppointmentType.BookableBy.EVERYONE
        kind.save()
        citizen = Citizen.objects.get(participations__appointment=appointment)
        agent = appointment.agents.get()
        collective = AppointmentType.objects.create(
            organisation=kind.organisation, service=kind.service, name="Atelier de groupe", collective=True,
            default_capacity=5, bookable_by=AppointmentType.BookableBy.EVERYONE)
        services.appointment_create(
            appointment_type=collective, starts_at=appointment.starts_at + timedelta(days=1), agents=[agent],
            citizens=[], actor=services.Actor.for_agent(agent), location=appointment.location, accept_warnings=True)
        token = invitation_token(citizen=citizen, appointment_type=kind)
        email = citizen.account.email

    page.goto(live_app.url("/prescripteur/", slug))
    check(page, f"prescriber-start-{look}")
    page.get_by_role("link", name=kind.name).click()
    page.get_by_role("button", name="Confirmer le rendez-vous").click()  # empty: French errors
    assert page.get_by_text("Ce champ est obligatoire.").first.is_visible()
    check(page, f"prescriber-book-errors-{look}")

    page.goto(live_app.url("/ateliers/", slug))
    check(page, f"sessions-anonymous-{look}")
    page.get_by_role("link", name="S'inscrire sans compte").first.click()
    check(page, f"session-guest-{look}")

    page.goto(live_app.url(f"/invitation-rdv/{token}/", slug))
    check(page, f"invitation-home-{look}")
    page.get_by_role("link", name=kind.name).click()
    check(page, f"invitation-book-{look}")
    page.goto(live_app.url("/invitation-rdv/faux-lien/", slug))
    check(page, f"invitation-invalid-{look}")

    page.goto(live_app.url("/comptes/login/", slug))
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state("load")
    for path, name in (("/mes-rendez-vous/", "my-appointments"), ("/mon-compte/", "account"),
                       ("/mon-compte/notifications/", "notifications"), ("/mon-compte/proches/", "relatives"),
                       ("/mon-compte/proches/ajouter/", "relative-add"), ("/mon-compte/supprimer/", "account-delete"),
                       ("/ateliers/", "sessions")):
        page.goto(live_app.url(path, slug))
        check(page, f"{name}-{look}")
    page.goto(live_app.url("/mon-compte/proches/ajouter/", slug))
    page.locator("#id_first_name").fill("Léa")
    page.locator("#id_last_name").fill("Martin")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_role("link", name="Modifier Léa Martin").is_visible()
    check(page, f"relatives-filled-{look}")
