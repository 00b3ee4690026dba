"""Account pages of signed-in usagers (profile, notifications, relatives, deletion) and collective sessions
(list with seats left, register oneself or one relative per family, cancel up to 4 hours before)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from scheduling import services
from scheduling.models import Appointment, AppointmentType, Citizen, Participation, Status
from tenants.accounts.models import User
from tests.conftest import login_client
from tests.public_booking.selfservice_world import book, build_world
from tests.scheduling.factories import AgentFactory, AppointmentTypeFactory, CitizenFactory


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        return build_world()


@pytest.fixture
def usager(world, administration_a):
    return login_client(administration_a, world.user)


def test_profile_update_and_bad_input(world, administration_a, usager):
    assert usager.get("/mon-compte/").status_code == 200
    response = usager.post("/mon-compte/", {"profil-first_name": "Anne", "profil-last_name": "Martin",
                                            "profil-phone": "06 98 76 54 32", "profil-birth_date": "1990-02-03"})
    assert response.status_code == 302
    with tenant_context(administration_a):
        world.citizen.refresh_from_db()
        assert (world.citizen.first_name, world.citizen.phone) == ("Anne", "+33698765432")
    for bad in ({"profil-first_name": "", "profil-last_name": "M"},
                {"profil-first_name": "A", "profil-last_name": "M", "profil-phone": "12"},
                {"profil-first_name": "A", "profil-last_name": "M", "profil-birth_date": "2999-01-01"},
                {"profil-first_name": "A\x00", "profil-last_name": "M"}):
        response = usager.post("/mon-compte/", bad)
        assert response.status_code == 400
    with tenant_context(administration_a):
        world.citizen.refresh_from_db()
        assert world.citizen.first_name == "Anne"


def test_notification_preferences(world, administration_a, usager):
    usager.post("/mon-compte/notifications/", {"notify_by_email": "on"})
    with tenant_context(administration_a):
        world.citizen.refresh_from_db()
        assert world.citizen.notify_by_email and not world.citizen.notify_by_sms


def test_relatives_add_edit_remove(world, administration_a, usager):
    response = usager.post("/mon-compte/proches/ajouter/", {"first_name": "Léa", "last_name": "Martin",
                                                            "birth_date": "2015-06-01"})
    assert response.status_code == 302
    with tenant_context(administration_a):
        child = Citizen.objects.get(first_name="Léa")
        assert child.responsible == world.citizen and child.email == ""
    assert "Léa Martin" in usager.get("/mon-compte/proches/").content.decode()
    usager.post(f"/mon-compte/proches/{child.pk}/", {"first_name": "Léa", "last_name": "Dupont"})
    with tenant_context(administration_a):
        child.refresh_from_db()
        assert child.last_name == "Dupont"
        appointment = book(world, timezone.now() + timedelta(days=3), citizens=[child])
    assert usager.post(f"/mon-compte/proches/{child.pk}/retirer/").status_code == 302
    with tenant_context(administration_a):
        child.refresh_from_db()
        appointment.refresh_from_db()
        assert child.deleted_at is not None and child.first_name == "Usager" and child.responsible is None
        assert appointment.status == Status.EXCUSED


def test_someone_elses_relative_is_404(world, administration_a, usager):
    with tenant_context(administration_a):
        stranger_child = CitizenFactory(responsible=CitizenFactory())
    for path in (f"/mon-compte/proches/{stranger_child.pk}/", f"/mon-compte/proches/{stranger_child.pk}/retirer/",
                 "/mon-compte/proches/999999/"):
        assert usager.get(path).status_code == 404
        assert usager.post(path, {"first_name": "X", "last_name": "Y"}).status_code == 404


def test_account_deletion(world, administration_a, usager):
    with tenant_context(administration_a):
        child = CitizenFactory(responsible=world.citizen)
        mine = book(world, timezone.now() + timedelta(days=3))
        childs = book(world, timezone.now() + timedelta(days=4), citizens=[child])
        past = book(world, timezone.now() - timedelta(days=4))
    assert usager.post("/mon-compte/supprimer/", {}).status_code == 400  # not confirmed
    response = usager.post("/mon-compte/supprimer/", {"confirm": "on"})
    assert response.status_code == 200 and "supprimé" in response.content.decode()
    with tenant_context(administration_a):
        for appointment in (mine, childs):
            appointment.refresh_from_db()
            assert appointment.status == Status.EXCUSED
        past.refresh_from_db()
        assert past.status == Status.UNKNOWN  # the past stays as it was, without identity
        world.citizen.refresh_from_db()
        child.refresh_from_db()
        for person in (world.citizen, child):
            assert person.deleted_at is not None and person.email == "" and person.phone == ""
        assert not User.objects.filter(email="usager@exemple.fr").exists()
    assert usager.get("/mes-rendez-vous/").status_code == 302


def test_erasing_a_usager_whose_account_is_also_an_agents_keeps_the_account(world, administration_a):
    """An agent's account is protected (Agent.user PROTECT): the usager record is erased, the account stays."""
    from public_booking.self_service import citizen_account_delete

    with tenant_context(administration_a):
        agent = AgentFactory(user=world.user)
        citizen_account_delete(citizen=world.citizen)
        world.citizen.refresh_from_db()
        assert world.citizen.deleted_at is not None and world.citizen.account is None
        assert User.objects.filter(pk=world.user.pk).exists() and agent.user_id == world.user.pk


def test_account_pages_personas(world, administration_a, client_a, agent_a):
    agent = login_client(administration_a, agent_a)
    for path in ("/mon-compte/", "/mon-compte/notifications/", "/mon-compte/proches/", "/mon-compte/supprimer/"):
        assert client_a.get(path).status_code == 302
        assert agent.get(path).status_code == 403


# --- Collective sessions -------------------------------------------------------------------------

@pytest.fixture
def session(world, administration_a):
    with tenant_context(administration_a):
        kind = AppointmentTypeFactory(organisation=world.organisation, service=world.service, collective=True,
                                      default_capacity=2, name="Atelier parentalité")
        return services.appointment_create(
            appointment_type=kind, starts_at=(timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0),
            agents=[world.agent], citizens=[], actor=services.Actor.for_agent(world.agent), location=world.location,
            accept_warnings=True, title="Atelier parentalité",
        )


def test_sessions_list_and_register(world, administration_a, usager, session, client_a):
    assert "Atelier parentalité" in client_a.get("/ateliers/").content.decode()
    assert "connectez-vous" in client_a.get("/ateliers/").content.decode()
    assert client_a.post(f"/ateliers/{session.uuid}/inscription/").status_code == 302  # to sign-in
    response = usager.post(f"/ateliers/{session.uuid}/inscription/", {"citizen": world.citizen.pk}, follow=True)
    assert "Inscription confirmée" in response.content.decode()
    with tenant_context(administration_a):
        assert Participation.objects.filter(appointment=session, citizen=world.citizen).exists()
        child = CitizenFactory(responsible=world.citizen)
    # One person per family.
    response = usager.post(f"/ateliers/{session.uuid}/inscription/", {"citizen": child.pk}, follow=True)
    assert "déjà inscrite" in response.content.decode()
    response = usager.post(f"/ateliers/{session.uuid}/desinscription/", follow=True)
    assert "inscription est annulée" in response.content.decode()
    response = usager.post(f"/ateliers/{session.uuid}/inscription/", {"citizen": child.pk}, follow=True)
    assert "Inscription confirmée" in response.content.decode()


def test_full_or_revoked_session_refuses_clearly(world, administration_a, usager, session):
    with tenant_context(administration_a):
        for _ in range(2):
            services.participant_add(appointment=session, citizen=CitizenFactory(),
                                     actor=services.Actor.for_agent(world.agent))
    assert "Atelier parentalité" not in usager.get("/ateliers/").content.decode().split("Ateliers à venir")[1]
    response = usager.post(f"/ateliers/{session.uuid}/inscription/", {"citizen": world.citizen.pk}, follow=True)
    assert "complet" in response.content.decode()
    with tenant_context(administration_a):
        services.appointment_set_status(appointment=session, status=Status.REVOKED,
                                        actor=services.Actor.for_agent(world.agent))
    response = usager.post(f"/ateliers/{session.uuid}/inscription/", {"citizen": world.citizen.pk}, follow=True)
    assert "annulé" in response.content.decode()


def test_session_cancel_deadline(world, administration_a, usager, session):
    with tenant_context(administration_a):
        services.participant_add(appointment=session, citizen=world.citizen,
                                 actor=services.Actor.for_agent(world.agent))
        Appointment.objects.filter(pk=session.pk).update(starts_at=timezone.now() + timedelta(hours=3, minutes=59),
                                                         ends_at=timezone.now() + timedelta(hours=5))
    response = usager.post(f"/ateliers/{session.uuid}/desinscription/", follow=True)
    assert "moins de 4 heures" in response.content.decode()


def test_session_bad_input(world, administration_a, usager, session):
    with tenant_context(administration_a):
        stranger = CitizenFactory()
        individual = book(world, timezone.now() + timedelta(days=3))
        closed = AppointmentTypeFactory(organisation=world.organisation, service=world.service, collective=True,
                                        bookable_by=AppointmentType.BookableBy.AGENTS)
        closed_session = services.appointment_create(
            appointment_type=closed, starts_at=(timezone.now() + timedelta(days=6)).replace(second=0, microsecond=0),
            agents=[world.agent], citizens=[], actor=services.Actor.for_agent(world.agent), location=world.location,
            accept_warnings=True)
    response = usager.post(f"/ateliers/{session.uuid}/inscription/", {"citizen": stranger.pk}, follow=True)
    assert "vous-même ou l&#x27;un de vos proches" in response.content.decode()
    for value in ("abc", "", "\x00", "99999999999999999999"):
        assert usager.post(f"/ateliers/{session.uuid}/inscription/", {"citizen": value}).status_code == 302
    assert usager.post(f"/ateliers/{individual.uuid}/inscription/").status_code == 404
    assert usager.post(f"/ateliers/{closed_session.uuid}/inscription/").status_code == 404
    assert usager.get(f"/ateliers/{session.uuid}/inscription/").status_code == 405


# --- Registering without an account (the journey's one-time code) -------------------------------

def _code_from(mailbox) -> str:
    import re

    return re.search(r"\b(\d{6})\b", mailbox[-1].body).group(1)


def test_register_without_account_with_a_one_time_code(world, administration_a, client_a, session, mailoutbox):
    url = f"/ateliers/{session.uuid}/inscription-sans-compte/"
    page = client_a.get(url).content.decode()
    assert "Recevoir un code" in page
    assert client_a.post(url, {"action": "send_code", "channel": "email", "email": "nouvel@exemple.fr"}
                         ).status_code == 302
    code = _code_from(mailoutbox)
    wrong = client_a.post(url, {"action": "verify_code", "code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400 and "Code erroné" in wrong.content.decode()
    assert client_a.post(url, {"action": "verify_code", "code": code}).status_code == 302
    assert client_a.post(url, {"action": "register", "first_name": ""}).status_code == 400
    response = client_a.post(url, {"action": "register", "first_name": "Nina", "last_name": "Nouvelle"}, follow=True)
    assert "Inscription confirmée" in response.content.decode()
    with tenant_context(administration_a):
        participation = Participation.objects.get(appointment=session)
        assert (participation.citizen.first_name, participation.citizen.email) == ("Nina", "nouvel@exemple.fr")
    again = client_a.post(url, {"action": "register", "first_name": "Nina", "last_name": "Nouvelle"}, follow=True)
    assert "déjà inscrit" in again.content.decode()


def test_register_without_account_needs_a_confirmed_contact(world, administration_a, client_a, session):
    url = f"/ateliers/{session.uuid}/inscription-sans-compte/"
    for data in ({"action": "register", "first_name": "A", "last_name": "B"}, {"action": "verify_code", "code": "1"},
                 {"action": "send_code", "channel": "sms", "mobile": "01 23 45 67 89"},
                 {"action": "send_code", "channel": "fax"}, {"action": "\x00"}):
        response = client_a.post(url, data)
        assert response.status_code == 400
    with tenant_context(administration_a):
        assert not Participation.objects.filter(appointment=session).exists()
    assert client_a.get(f"/ateliers/{world.citizen.pk}/inscription-sans-compte/").status_code == 404


def test_sessions_list_query_count_does_not_grow(world, administration_a, usager, session,
                                                 django_assert_max_num_queries):
    with django_assert_max_num_queries(15) as first:
        usager.get("/ateliers/")
    with tenant_context(administration_a):
        for day in (6, 7, 8):
            other = services.appointment_create(
                appointment_type=session.appointment_type,
                starts_at=(timezone.now() + timedelta(days=day)).replace(second=0, microsecond=0),
                agents=[world.agent], citizens=[], actor=services.Actor.for_agent(world.agent),
                location=world.location, accept_warnings=True)
            services.participant_add(appointment=other, citizen=CitizenFactory(),
                                     actor=services.Actor.for_agent(world.agent))
        services.participant_add(appointment=other, citizen=world.citizen, actor=services.Actor.for_agent(world.agent))
        CitizenFactory(responsible=world.citizen)
    with django_assert_max_num_queries(len(first.captured_queries)):
        html = usager.get("/ateliers/").content.decode()
    assert "Mes inscriptions" in html
