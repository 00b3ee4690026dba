"""Manage an appointment from its link or "Mes rendez-vous": see, cancel (up to 4 hours before, when the
type allows it), move (up to 48 hours before, same type, not when an agent created it); relatives."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging.models import Message
from public_booking import self_service as rules
from public_booking.models import WaitingListEntry
from scheduling.models import Appointment, AppointmentChange, Status
from tests.conftest import login_client
from tests.public_booking.selfservice_world import book, build_world
from tests.scheduling.factories import AgentFactory, CitizenFactory


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        return build_world()


def _get(client, path, **kwargs):
    return client.get(path, **kwargs)


# --- The manage page -----------------------------------------------------------------------------

def test_manage_page_shows_the_appointment(world, administration_a, client_a):
    with tenant_context(administration_a):
        world.kind.instructions = "Apportez votre livret de famille."
        world.kind.save()
        appointment = book(world, timezone.now() + timedelta(days=3))
        Appointment.objects.filter(pk=appointment.pk).update(video_url="https://visio.exemple.fr/abc")
    response = client_a.get(f"/rdv/{appointment.uuid}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert world.kind.name in html and world.location.name in html
    assert "Apportez votre livret de famille." in html
    assert "https://visio.exemple.fr/abc" in html
    assert "Déplacer le rendez-vous" in html and "Annuler le rendez-vous" in html
    assert "heure locale" in html


@pytest.mark.parametrize("path", [
    "/rdv/{random}/", "/rdv/pas-un-uuid/", "/rdv/{random}/annuler/", "/rdv/{random}/deplacer/",
    "/rdv/00000000-0000-0000-0000-000000000000/", "/rdv/%00/",
])
def test_unknown_or_malformed_link_is_a_french_404(world, client_a, path):
    response = client_a.get(path.format(random=uuid.uuid4()))
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_link_of_another_administration_is_404(world, administration_a, client_b):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=3))
    assert client_b.get(f"/rdv/{appointment.uuid}/").status_code == 404


# --- Cancel --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("delay", "allowed"), [(timedelta(hours=3, minutes=59), False),
                                                  (timedelta(hours=4, minutes=1), True)])
def test_cancel_deadline(world, administration_a, client_a, delay, allowed):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + delay + timedelta(seconds=59))
    response = client_a.post(f"/rdv/{appointment.uuid}/annuler/")
    with tenant_context(administration_a):
        appointment.refresh_from_db()
        if allowed:
            assert response.status_code == 302
            assert appointment.status == Status.EXCUSED
            change = AppointmentChange.objects.filter(appointment=appointment, action="status").get()
            assert "(usager)" in change.actor_label and change.actor_agent is None
            # The usager and the agent hear of it (outbox rows).
            assert Message.objects.filter(appointment=appointment, kind="cancelled").exists()
        else:
            assert response.status_code == 400
            assert "moins de 4 heures" in response.content.decode()
            assert appointment.status == Status.UNKNOWN


def test_cancel_rule_at_the_minute(world, administration_a):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=2))
        now = appointment.starts_at
        assert not rules.can_cancel(appointment, now - timedelta(hours=3, minutes=59)).allowed
        assert rules.can_cancel(appointment, now - timedelta(hours=4, minutes=1)).allowed
        assert rules.can_cancel(appointment, now - timedelta(hours=4)).allowed


def test_type_that_forbids_cancel(world, administration_a, client_a):
    with tenant_context(administration_a):
        world.kind.citizen_can_cancel = False
        world.kind.save()
        appointment = book(world, timezone.now() + timedelta(days=3))
    page = client_a.get(f"/rdv/{appointment.uuid}/").content.decode()
    assert "ne peut pas être annulé en ligne" in page
    response = client_a.post(f"/rdv/{appointment.uuid}/annuler/")
    assert response.status_code == 400
    with tenant_context(administration_a):
        appointment.refresh_from_db()
        assert appointment.status == Status.UNKNOWN


def test_cancel_page_shows_the_warning_and_cancels_once(world, administration_a, client_a):
    with tenant_context(administration_a):
        world.kind.cancellation_warning = "Un nouveau rendez-vous peut prendre plusieurs semaines."
        world.kind.save()
        appointment = book(world, timezone.now() + timedelta(days=10))
        WaitingListEntry.objects.create(appointment=appointment)
    page = client_a.get(f"/rdv/{appointment.uuid}/annuler/").content.decode()
    assert "plusieurs semaines" in page
    assert client_a.post(f"/rdv/{appointment.uuid}/annuler/").status_code == 302
    with tenant_context(administration_a):
        assert not WaitingListEntry.objects.filter(appointment=appointment).exists()
    again = client_a.post(f"/rdv/{appointment.uuid}/annuler/")
    assert again.status_code == 400 and "déjà annulé" in again.content.decode()


# --- Move ----------------------------------------------------------------------------------------

def _free_start(world, after):
    from scheduling.selectors import slots_for

    slots = slots_for(appointment_type=world.kind, start=after, end=after + timedelta(days=2),
                      location_id=world.location.pk)
    return slots[0].starts_at


@pytest.mark.parametrize(("delay", "allowed"), [(timedelta(hours=47), False), (timedelta(hours=49), True)])
def test_move_deadline(world, administration_a, client_a, delay, allowed):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + delay)
        target = _free_start(world, timezone.now() + timedelta(days=5))
    response = client_a.post(f"/rdv/{appointment.uuid}/deplacer/", {"starts_at": target.isoformat()})
    with tenant_context(administration_a):
        appointment.refresh_from_db()
        if allowed:
            assert response.status_code == 302, response.content.decode()
            assert appointment.starts_at == target
            assert appointment.ends_at == target + world.kind.duration
            assert Message.objects.filter(appointment=appointment, kind="moved").exists()
        else:
            assert response.status_code == 403
            assert "moins de 48 heures" in response.content.decode()
            assert appointment.starts_at != target


def test_move_rule_at_the_hour(world, administration_a):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=4))
        assert not rules.can_move(appointment, appointment.starts_at - timedelta(hours=47)).allowed
        assert rules.can_move(appointment, appointment.starts_at - timedelta(hours=49)).allowed


def test_move_page_lists_the_week_of_slots(world, administration_a, client_a):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=5))
    response = client_a.get(f"/rdv/{appointment.uuid}/deplacer/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'type="radio" name="starts_at"' in html and "<legend" in html
    # Navigation never goes past the booking window nor before this week; bad weeks fall back.
    for week in ("2099-01-01", "1999-01-01", "pas-une-date", "2026-13-45"):
        assert client_a.get(f"/rdv/{appointment.uuid}/deplacer/?semaine={week}").status_code == 200


def test_agent_created_appointment_is_not_movable(world, administration_a, client_a):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=5), created_by=Appointment.CreatedBy.AGENT)
        target = _free_start(world, timezone.now() + timedelta(days=6))
    page = client_a.get(f"/rdv/{appointment.uuid}/").content.decode()
    assert "pris par un agent" in page
    response = client_a.post(f"/rdv/{appointment.uuid}/deplacer/", {"starts_at": target.isoformat()})
    assert response.status_code == 403
    with tenant_context(administration_a):
        appointment.refresh_from_db()
        assert appointment.starts_at != target


def test_type_that_forbids_move(world, administration_a, client_a):
    with tenant_context(administration_a):
        world.kind.citizen_can_move = False
        world.kind.save()
        appointment = book(world, timezone.now() + timedelta(days=5))
    assert client_a.post(f"/rdv/{appointment.uuid}/deplacer/", {"starts_at": "x"}).status_code == 403


@pytest.mark.parametrize("value", ["", "pas une date", "2026-01-01T10:00:00", "2026-01-01T10:00:00+01:00",
                                   "9999-12-31T23:59:59+14:00", "\x00", "2026-02-30T10:00+01:00"])
def test_move_to_a_non_slot_changes_nothing(world, administration_a, client_a, value):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=5))
        before = appointment.starts_at
    response = client_a.post(f"/rdv/{appointment.uuid}/deplacer/", {"starts_at": value})
    assert response.status_code == 400
    assert "créneau" in response.content.decode().lower()
    with tenant_context(administration_a):
        appointment.refresh_from_db()
        assert appointment.starts_at == before


def test_move_to_a_slot_taken_meanwhile(world, administration_a, client_a):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=5))
        target = _free_start(world, timezone.now() + timedelta(days=6))
        other = CitizenFactory()
        book(world, target, citizens=[other])
    response = client_a.post(f"/rdv/{appointment.uuid}/deplacer/", {"starts_at": target.isoformat()})
    assert response.status_code == 400
    assert "pas disponible" in response.content.decode()


def test_move_picks_a_free_agent_of_the_slot(world, administration_a):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.scheduling.factories import AvailabilityFactory

    with tenant_context(administration_a):
        colleague = AgentFactory(services=[world.service], organisation=world.organisation)
        AvailabilityFactory(agent=colleague, location=world.location, organisation=world.organisation,
                            first_day=timezone.localdate(), weekdays=[0, 1, 2, 3, 4, 5, 6],
                            appointment_types=[world.kind])  # 9:00-12:00 every day
        appointment = book(world, timezone.now() + timedelta(days=5))
        day = timezone.localdate() + timedelta(days=7)
        target = datetime(day.year, day.month, day.day, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
        book(world, target, citizens=[CitizenFactory()])  # the usager's agent is busy then, the colleague free
        moved = rules.appointment_move_by_citizen(appointment=appointment, starts_at=target)
        assert list(moved.agents.all()) == [colleague]
        assert moved.starts_at == target and moved.location == world.location


def test_cancelled_appointment_neither_moves_nor_cancels(world, administration_a):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=5))
        rules.appointment_cancel_by_citizen(appointment=appointment)
        appointment.refresh_from_db()
        assert not rules.can_move(appointment).allowed
        with pytest.raises(ValidationError):
            rules.appointment_cancel_by_citizen(appointment=appointment)


# --- Mes rendez-vous -----------------------------------------------------------------------------

def test_my_appointments_lists_mine_and_my_relatives(world, administration_a):
    with tenant_context(administration_a):
        child = CitizenFactory(responsible=world.citizen, email="")
        stranger = CitizenFactory()
        mine = book(world, timezone.now() + timedelta(days=3))
        childs = book(world, timezone.now() + timedelta(days=4), citizens=[child])
        other = book(world, timezone.now() + timedelta(days=5), citizens=[stranger])
    client = login_client(administration_a, world.user)
    response = client.get("/mes-rendez-vous/")
    html = response.content.decode()
    assert response.status_code == 200
    assert str(mine.uuid) in html and str(childs.uuid) in html
    assert str(other.uuid) not in html


def test_my_appointments_query_count_does_not_grow(world, administration_a, django_assert_max_num_queries):
    client = login_client(administration_a, world.user)
    with tenant_context(administration_a):
        book(world, timezone.now() + timedelta(days=3))
    with django_assert_max_num_queries(12) as first:
        client.get("/mes-rendez-vous/")
    with tenant_context(administration_a):
        for day in (4, 5, 6, 7):
            book(world, timezone.now() + timedelta(days=day))
            book(world, timezone.now() + timedelta(days=day, hours=2),
                 citizens=[CitizenFactory(responsible=world.citizen)])
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get("/mes-rendez-vous/")


def test_my_appointments_needs_a_signed_in_usager(world, administration_a, client_a, agent_a):
    response = client_a.get("/mes-rendez-vous/")
    assert response.status_code == 302 and "/comptes/" in response["Location"]
    agent = login_client(administration_a, agent_a)
    response = agent.get("/mes-rendez-vous/")
    assert response.status_code == 403 and "réservée aux usagers" in response.content.decode()


# --- No 500 on bad input -------------------------------------------------------------------------

GARBAGE = [{}, {"starts_at": "\x00"}, {"citizen": "-1", "action": "x" * 5000}, {"lieu": "1e9", "semaine": "\x00"},
           {"confirm": "peut-être", "notify_by_email": "\x00", "first_name": "\x00"}]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "usager"])
def test_no_500_on_garbage(world, administration_a, client_a, signed_in):
    with tenant_context(administration_a):
        appointment = book(world, timezone.now() + timedelta(days=9))
    client = login_client(administration_a, world.user) if signed_in else client_a
    paths = [
        f"/rdv/{appointment.uuid}/", f"/rdv/{appointment.uuid}/annuler/", f"/rdv/{appointment.uuid}/deplacer/",
        f"/rdv/{appointment.uuid}/liste-attente/", "/mes-rendez-vous/", "/mon-compte/", "/mon-compte/notifications/",
        "/mon-compte/proches/", "/mon-compte/proches/ajouter/", "/mon-compte/proches/0/", "/mon-compte/supprimer/",
        "/ateliers/", f"/ateliers/{appointment.uuid}/inscription/", f"/ateliers/{appointment.uuid}/desinscription/",
        f"/ateliers/{appointment.uuid}/inscription-sans-compte/", "/prescripteur/", f"/prescripteur/{world.kind.pk}/",
        "/prescripteur/99999999999999999999/", "/invitation-rdv/", "/invitation-rdv/motif/1/",
        "/invitation-rdv/%FF%FE/", "/agents/invitations/nouvelle/?usager=abc",
    ]
    from django.core.cache import cache

    for path in paths:
        for data in GARBAGE:
            cache.clear()  # rate limits would hide the views behind a 429
            assert client.get(path, data).status_code < 500, (path, data)
            # Posting to these two acts whatever the data (a confirmation button): covered above.
            if path not in ("/mon-compte/supprimer/", f"/rdv/{appointment.uuid}/annuler/"):
                assert client.post(path, data).status_code < 500, (path, data)
    with tenant_context(administration_a):
        appointment.refresh_from_db()
        assert appointment.status == Status.UNKNOWN


def test_responsible_cancelling_a_relatives_appointment_is_recorded(world, administration_a):
    with tenant_context(administration_a):
        child = CitizenFactory(responsible=world.citizen, first_name="Zoé")
        appointment = book(world, timezone.now() + timedelta(days=3), citizens=[child])
    client = login_client(administration_a, world.user)
    assert client.post(f"/rdv/{appointment.uuid}/annuler/").status_code == 302
    with tenant_context(administration_a):
        change = AppointmentChange.objects.get(appointment=appointment, action="status")
        assert change.actor_label.startswith(str(world.citizen))
