"""Prescripteurs: "Je prends rendez-vous pour quelqu'un d'autre" among types open to prescribers; the
beneficiary's mobile (a landline is refused, a missing mobile needs confirming), record created or matched,
the appointment records the prescripteur, both receive their messages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging.models import Message
from scheduling.models import Appointment, AppointmentType, Citizen, Prescriber
from scheduling.selectors import slots_for
from tests.public_booking.selfservice_world import build_world
from tests.scheduling.factories import AppointmentTypeFactory, CitizenFactory


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        return build_world(bookable_by=AppointmentType.BookableBy.AGENTS_AND_PRESCRIBERS)


def _slot(world, days=3):
    after = timezone.now() + timedelta(days=days)
    return slots_for(appointment_type=world.kind, start=after, end=after + timedelta(days=1),
                     location_id=world.location.pk)[0].starts_at


def _data(world, slot, **overrides):
    data = {
        "lieu": world.location.pk, "starts_at": slot.isoformat(),
        "prescriber_first_name": "Inès", "prescriber_last_name": "Travailleuse",
        "prescriber_email": "ines@association.fr",
        "first_name": "Jean", "last_name": "Bénéficiaire", "birth_date": "1980-05-04",
        "email": "jean@exemple.fr", "phone": "06 11 22 33 44",
    }
    data.update(overrides)
    return data


def test_start_lists_only_types_open_to_prescribers(world, administration_a, client_a):
    with tenant_context(administration_a):
        closed = AppointmentTypeFactory(organisation=world.organisation, service=world.service,
                                        bookable_by=AppointmentType.BookableBy.AGENTS, name="Réservé aux agents")
    html = client_a.get("/prescripteur/").content.decode()
    assert world.kind.name in html and "Réservé aux agents" not in html
    assert client_a.get(f"/prescripteur/{closed.pk}/").status_code == 404
    assert client_a.get("/prescripteur/999999/").status_code == 404


def test_booking_page_shows_places_then_slots(world, administration_a, client_a):
    html = client_a.get(f"/prescripteur/{world.kind.pk}/").content.decode()
    assert 'name="starts_at"' in html  # a single place is chosen for the prescripteur
    assert client_a.get(f"/prescripteur/{world.kind.pk}/?lieu=abc&semaine=zz").status_code == 200


def test_prescriber_books_for_a_new_beneficiary(world, administration_a, client_a):
    with tenant_context(administration_a):
        starts_at = _slot(world)
    response = client_a.post(f"/prescripteur/{world.kind.pk}/", _data(world, starts_at))
    assert response.status_code == 200, response.content.decode()
    assert "Rendez-vous confirmé" in response.content.decode()
    with tenant_context(administration_a):
        appointment = Appointment.objects.get(starts_at=starts_at)
        assert appointment.created_by == Appointment.CreatedBy.PRESCRIBER
        prescriber = appointment.created_by_prescriber
        assert (prescriber.first_name, prescriber.email) == ("Inès", "ines@association.fr")
        citizen = appointment.participations.get().citizen
        assert (citizen.first_name, citizen.birth_date, citizen.phone) == ("Jean", date(1980, 5, 4), "+33611223344")
        assert appointment.participations.get().created_by_prescriber == prescriber
        recipients = set(Message.objects.filter(appointment=appointment, kind="booked").values_list(
            "recipient_kind", "recipient"))
        assert ("prescriber", "ines@association.fr") in recipients
        assert ("citizen", "jean@exemple.fr") in recipients
        assert ("citizen", "+33611223344") in recipients


def test_existing_usager_is_matched(world, administration_a, client_a):
    with tenant_context(administration_a):
        existing = CitizenFactory(first_name="Jean", last_name="Bénéficiaire", birth_date=date(1980, 5, 4),
                                  email="", phone="")
        starts_at = _slot(world)
        count = Citizen.objects.count()
    response = client_a.post(f"/prescripteur/{world.kind.pk}/", _data(world, starts_at, first_name="jean"))
    assert response.status_code == 200
    with tenant_context(administration_a):
        assert Citizen.objects.count() == count
        appointment = Appointment.objects.get(starts_at=starts_at)
        assert appointment.participations.get().citizen == existing
        existing.refresh_from_db()
        assert existing.email == "jean@exemple.fr"  # missing contact filled in, nothing overwritten


def test_same_email_alone_is_another_person(world, administration_a, client_a):
    with tenant_context(administration_a):
        other = CitizenFactory(first_name="Marie", last_name="Autre", email="jean@exemple.fr")
        starts_at = _slot(world)
    client_a.post(f"/prescripteur/{world.kind.pk}/", _data(world, starts_at))
    with tenant_context(administration_a):
        assert Appointment.objects.get(starts_at=starts_at).participations.get().citizen != other


@pytest.mark.parametrize("phone", ["01 23 45 67 89", "+33 1 23 45 67 89", "04 75 00 00 00"])
def test_landline_is_refused(world, administration_a, client_a, phone):
    with tenant_context(administration_a):
        starts_at = _slot(world)
    response = client_a.post(f"/prescripteur/{world.kind.pk}/", _data(world, starts_at, phone=phone))
    assert response.status_code == 400
    assert "pas un portable" in response.content.decode()
    with tenant_context(administration_a):
        assert not Appointment.objects.filter(starts_at=starts_at).exists()
        assert not Prescriber.objects.exists()


def test_missing_mobile_needs_confirming(world, administration_a, client_a):
    with tenant_context(administration_a):
        starts_at = _slot(world)
    response = client_a.post(f"/prescripteur/{world.kind.pk}/", _data(world, starts_at, phone=""))
    assert response.status_code == 400
    assert "confirmez que le bénéficiaire n&#x27;en a" in response.content.decode()
    response = client_a.post(f"/prescripteur/{world.kind.pk}/",
                             _data(world, starts_at, phone="", no_mobile_confirmed="on"))
    assert response.status_code == 200
    with tenant_context(administration_a):
        assert Appointment.objects.get(starts_at=starts_at).participations.get().citizen.phone == ""


@pytest.mark.parametrize("overrides", [
    {"prescriber_email": "pas-un-email"}, {"prescriber_first_name": ""}, {"birth_date": "2999-01-01"},
    {"birth_date": "31/02/2000"}, {"birth_date": "1800-01-01"}, {"phone": "abc"}, {"starts_at": "n'importe quoi"},
    {"starts_at": ""}, {"lieu": "999999"}, {"first_name": "x" * 500}, {"phone": "\x00"},
])
def test_bad_input_books_nothing(world, administration_a, client_a, overrides):
    with tenant_context(administration_a):
        starts_at = _slot(world)
        world.location.__class__.objects.create(organisation=world.organisation, name="Autre", address="x")
    response = client_a.post(f"/prescripteur/{world.kind.pk}/", _data(world, starts_at, **overrides))
    assert response.status_code in (200, 400)
    with tenant_context(administration_a):
        if overrides.get("lieu") == "999999":
            # An unknown place falls back to the only place offering the type: still a valid booking.
            assert response.status_code == 200
        else:
            assert response.status_code == 400
            assert not Appointment.objects.filter(starts_at=starts_at).exists()


def test_slot_taken_meanwhile_books_nothing(world, administration_a, client_a):
    from tests.public_booking.selfservice_world import book

    with tenant_context(administration_a):
        starts_at = _slot(world)
        book(world, starts_at)
        count = Appointment.objects.count()
    response = client_a.post(f"/prescripteur/{world.kind.pk}/", _data(world, starts_at))
    assert response.status_code == 400 and "pas disponible" in response.content.decode()
    with tenant_context(administration_a):
        assert Appointment.objects.count() == count
        assert not Prescriber.objects.exists()


def test_booking_posts_are_rate_limited(world, administration_a, client_a, settings):
    settings.PUBLIC_RATE_LIMITS = {"booking": (2, 60)}
    for _ in range(2):
        assert client_a.post(f"/prescripteur/{world.kind.pk}/", {}).status_code == 400
    response = client_a.post(f"/prescripteur/{world.kind.pk}/", {})
    assert response.status_code == 429 and "Trop de" in response.content.decode()
    assert client_a.get(f"/prescripteur/{world.kind.pk}/").status_code == 200  # reading stays open
