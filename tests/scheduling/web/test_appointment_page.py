"""The appointment page (/agents/rdv/<pk>/) and its actions: statuses, move, context note, reminder now,
printable view. Every action with bad input answers a French error and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from messaging.models import Kind, Message, MessageStatus
from scheduling.models import Appointment, AppointmentChange, AppointmentType, Participation
from scheduling.services import Actor, SlotUnavailable, appointment_create, appointment_set_status
from tests.conftest import login_client
from tests.factories import UserFactory
from tests.scheduling.api_world import MONDAY, TUESDAY, at, build_world
from tests.scheduling.factories import AgentFactory, AppointmentTypeFactory, CitizenFactory, OrganisationFactory
from tests.scheduling.web.agenda_support import client_for, text

WEDNESDAY = MONDAY + timedelta(days=2)


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def url(appointment, action=""):
    return f"/agents/rdv/{appointment.pk}/{action + '/' if action else ''}"


def fresh(world, appointment):
    with tenant_context(world.administration):
        return Appointment.objects.prefetch_related("participations", "agent_links").get(pk=appointment.pk)


def snapshot(world, appointment):
    with tenant_context(world.administration):
        row = Appointment.objects.get(pk=appointment.pk)
        return (row.status, row.starts_at, row.ends_at, row.context,
                sorted(row.agent_links.values_list("agent_id", flat=True)),
                sorted(row.participations.values_list("status", flat=True)),
                AppointmentChange.objects.filter(appointment=row).count(),
                Message.objects.filter(appointment=row).count())


# --- Persona matrix -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("persona", "expected"), [
    ("anonymous", 302), ("no_profile", 403), ("basic", 200), ("colleague", 404), ("secretary", 200),
    ("admin", 200), ("outsider", 404),
])
@pytest.mark.parametrize("action", ["", "imprimer"])
def test_who_may_open_the_page_and_its_printable_view(world, persona, expected, action):
    response = client_for(world, persona).get(url(world.appointments["pmi_appt"], action))
    assert response.status_code == expected
    if expected == 200:
        page = text(response)
        assert world.pmi_type.name in page and str(world.citizen) in page
        assert ("Imprimé le" in page) == (action == "imprimer")
    if expected == 403:
        assert "profil d'agent" in text(response)


def test_an_agent_of_another_administration_gets_nothing(world, administration_b):
    with tenant_context(administration_b):
        user = UserFactory(email="rdv-b@test-b.fr")
        AgentFactory(user=user, organisation=OrganisationFactory(name="Mairie B"), organisation__level="admin")
    client = login_client(administration_b, user)
    assert client.get(url(world.appointments["pmi_appt"])).status_code == 404
    assert client.post(url(world.appointments["pmi_appt"], "statut"), {"status": "seen"}).status_code == 404
    client.defaults["HTTP_HOST"] = world.administration.primary_domain
    assert client.get(url(world.appointments["pmi_appt"])).status_code == 302


def test_the_page_shows_details_participants_history_notifications_and_actions(world):
    page = text(client_for(world, "basic").get(url(world.appointments["pmi_appt"])))
    for expected in ("Statut : À venir / à renseigner", "Honoré", "Absence non excusée (lapin)", "Annulé (excusé)",
                     "Annulé par le service", "Déplacer le rendez-vous", "Contexte", "Envoyer un rappel",
                     "Notifications", "Historique", "Création par", "Version imprimable", "30 min"):
        assert expected in page, expected
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page


# --- Statuses -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["seen", "noshow", "excused", "revoked"])
def test_status_actions_then_reset(world, status):
    appointment = world.appointments["pmi_appt"]
    client = client_for(world, "basic")
    response = client.post(url(appointment, "statut"), {"status": status})
    assert response.status_code == 302 and response["Location"] == url(appointment)
    row = fresh(world, appointment)
    assert row.status == status and {p.status for p in row.participations.all()} == {status}
    page = text(client.get(url(appointment)))
    assert "Le statut a été enregistré." in page and "Changement de statut par" in page
    assert client.post(url(appointment, "statut"), {"status": "unknown"}).status_code == 302
    assert fresh(world, appointment).status == "unknown"


def test_the_secretariat_and_an_assigned_agent_may_record_a_status(world):
    assert client_for(world, "secretary").post(url(world.appointments["pmi_appt"], "statut"),
                                               {"status": "seen"}).status_code == 302
    assigned = world.appointments["assigned_appt"]  # social type, basic assigned
    assert client_for(world, "basic").post(url(assigned, "statut"), {"status": "seen"}).status_code == 302
    assert fresh(world, assigned).status == "seen"


@pytest.mark.parametrize(("data", "message"), [
    ({"status": "deleted"}, "Ce statut n'existe pas."),
    ({"status": ""}, "Choisissez un statut."),
    ({}, "Choisissez un statut."),
    ({"status": "seen", "participation": "abc"}, "Cet usager ne participe pas à ce rendez-vous."),
    ({"status": "seen", "participation": "-3"}, "Cet usager ne participe pas à ce rendez-vous."),
    ({"status": "seen", "participation": "99999999"}, "Cet usager ne participe pas à ce rendez-vous."),
])
def test_tampered_status_forms_give_french_errors_and_change_nothing(world, data, message):
    appointment = world.appointments["pmi_appt"]
    before = snapshot(world, appointment)
    response = client_for(world, "basic").post(url(appointment, "statut"), data)
    assert response.status_code == 400 and message in text(response)
    assert snapshot(world, appointment) == before


def test_a_participation_of_another_appointment_is_refused(world):
    appointment, other = world.appointments["pmi_appt"], world.appointments["other_appt"]
    with tenant_context(world.administration):
        foreign = Participation.objects.get(appointment=other).pk
    before, before_other = snapshot(world, appointment), snapshot(world, other)
    response = client_for(world, "basic").post(url(appointment, "statut"), {"status": "seen", "participation": foreign})
    assert response.status_code == 400 and "ne participe pas" in text(response)
    assert snapshot(world, appointment) == before and snapshot(world, other) == before_other


def test_invisible_appointments_answer_404_to_every_action_and_nothing_changes(world):
    appointment = world.appointments["pmi_appt"]
    before = snapshot(world, appointment)
    client = client_for(world, "colleague")
    for action, data in (("statut", {"status": "seen"}), ("contexte", {"context": "x"}), ("rappel", {}),
                         ("deplacer", {"date": WEDNESDAY.isoformat(), "time": "10:00", "duration_minutes": 30,
                                       "agents": [world.agents["colleague"].pk]})):
        assert client.post(url(appointment, action), data).status_code == 404, action
    assert snapshot(world, appointment) == before
    assert client_for(world, "basic").post("/agents/rdv/99999999/statut/", {"status": "seen"}).status_code == 404
    assert client_for(world, "anonymous").post(url(appointment, "statut"), {"status": "seen"}).status_code == 302
    assert client_for(world, "basic").get(url(appointment, "statut")).status_code == 405
    assert snapshot(world, appointment) == before


def test_collective_sessions_take_statuses_per_participation(world):
    with tenant_context(world.administration):
        workshop = AppointmentTypeFactory(organisation=world.org, service=world.services["pmi"], collective=True,
                                          name="Atelier portage")
        people = [CitizenFactory(), CitizenFactory()]
        session = appointment_create(
            appointment_type=workshop, starts_at=at(14, day=WEDNESDAY), agents=[world.agents["basic"]],
            citizens=people, actor=Actor.for_agent(world.agents["basic"]), location=world.location, capacity=5,
            accept_warnings=True,
        )
        first = session.participations.get(citizen=people[0])
    client = client_for(world, "basic")
    page = text(client.get(url(session)))
    assert "Absence non excusée (lapin)</button>" not in page and "2 / 5 places" in page
    assert client.post(url(session, "statut"), {"status": "seen", "participation": first.pk}).status_code == 302
    row = fresh(world, session)
    assert {p.citizen_id: p.status for p in row.participations.all()} == {people[0].pk: "seen", people[1].pk: "unknown"}
    response = client.post(url(session, "statut"), {"status": "noshow"})  # not for a whole session
    assert response.status_code == 400 and "Un RDV collectif ne peut être que" in text(response)


# --- Move -------------------------------------------------------------------------------------------------

def move(client, appointment, **data):
    return client.post(url(appointment, "deplacer"), data)


def test_move_to_a_free_time(world):
    appointment = world.appointments["pmi_appt"]
    response = move(client_for(world, "basic"), appointment, date=WEDNESDAY.isoformat(), time="10:15",
                    duration_minutes=45, agents=[world.agents["basic"].pk, world.agents["admin"].pk])
    assert response.status_code == 302
    row = fresh(world, appointment)
    assert row.starts_at == at(10, 15, day=WEDNESDAY) and row.ends_at == at(11, 0, day=WEDNESDAY)
    assert sorted(link.agent_id for link in row.agent_links.all()) == sorted(
        [world.agents["basic"].pk, world.agents["admin"].pk])
    assert "Déplacement par" in text(client_for(world, "basic").get(url(appointment)))


def test_move_warnings_are_shown_then_accepted(world):
    appointment = world.appointments["pmi_appt"]
    client = client_for(world, "basic")
    data = {"date": TUESDAY.isoformat(), "time": "11:00", "duration_minutes": 30, "agents": [world.agents["basic"].pk]}
    before = snapshot(world, appointment)
    response = move(client, appointment, **data)
    page = text(response)
    assert response.status_code == 400 and "a déjà un rendez-vous de 11:00 à 11:30" in page
    assert "J'ai lu les avertissements et je déplace quand même" in page
    assert snapshot(world, appointment) == before
    assert move(client, appointment, **data, accept_warnings="on").status_code == 302
    row = fresh(world, appointment)
    assert row.starts_at == at(11, day=TUESDAY) and row.accepted_overlap


def test_a_slot_taken_meanwhile_is_a_409_in_french(world, monkeypatch):
    def taken(**kwargs):
        raise SlotUnavailable()

    monkeypatch.setattr("scheduling.views.agenda.appointment_move", taken)
    response = move(client_for(world, "basic"), world.appointments["pmi_appt"], date=WEDNESDAY.isoformat(),
                    time="10:00", duration_minutes=30, agents=[world.agents["basic"].pk])
    assert response.status_code == 409 and "Ce créneau n'est plus disponible" in text(response)


@pytest.mark.parametrize(("change", "message"), [
    ({"date": "2026-02-30"}, "Saisissez une date valide"),
    ({"date": ""}, "Indiquez la date."),
    ({"date": "9999-12-31"}, "Choisissez une date entre 1950 et 2150."),
    ({"time": "25:00"}, "Saisissez une heure valide"),
    ({"duration_minutes": "0"}, "La durée est d'au moins 5 minutes."),
    ({"duration_minutes": "trente"}, "Saisissez un nombre entier de minutes."),
    ({"duration_minutes": "100000"}, "La durée est d'au plus 24 heures."),
    ({"agents": []}, "Choisissez au moins un agent."),
    ({"agents": ["abc"]}, "n'appartient pas à l'organisation"),
    ({"agents": ["outsider"]}, "n'appartient pas à l'organisation"),
    ({"agents": ["99999999"]}, "n'appartient pas à l'organisation"),
])
def test_bad_move_input_gives_french_errors_and_changes_nothing(world, change, message):
    appointment = world.appointments["pmi_appt"]
    data = {"date": WEDNESDAY.isoformat(), "time": "10:00", "duration_minutes": "30",
            "agents": [world.agents["basic"].pk]} | change
    data["agents"] = [world.agents["outsider"].pk if value == "outsider" else value for value in data["agents"]]
    before = snapshot(world, appointment)
    response = move(client_for(world, "basic"), appointment, **data)
    assert response.status_code == 400 and message in text(response)
    assert snapshot(world, appointment) == before


def test_a_cancelled_appointment_does_not_move_and_a_reader_without_booking_rights_cannot(world):
    appointment = world.appointments["pmi_appt"]
    with tenant_context(world.administration):
        appointment_set_status(appointment=appointment, status="excused", actor=Actor.for_agent(world.agents["basic"]))
    before = snapshot(world, appointment)
    data = {"date": WEDNESDAY.isoformat(), "time": "10:00", "duration_minutes": 30,
            "agents": [world.agents["basic"].pk]}
    response = move(client_for(world, "basic"), appointment, **data)
    assert response.status_code == 400 and "Un rendez-vous annulé ne se déplace pas" in text(response)
    assert snapshot(world, appointment) == before
    assigned = world.appointments["assigned_appt"]  # social type: basic sees it but may not book it
    before = snapshot(world, assigned)
    response = move(client_for(world, "basic"), assigned, **data)
    assert response.status_code == 403 and "Vous ne pouvez pas déplacer ce rendez-vous." in text(response)
    assert "Déplacer le rendez-vous" not in text(client_for(world, "basic").get(url(assigned)))
    assert snapshot(world, assigned) == before


# --- Context note ---------------------------------------------------------------------------------------------

def test_the_context_note_is_saved_and_recorded(world):
    appointment = world.appointments["pmi_appt"]
    client = client_for(world, "admin")
    assert client.post(url(appointment, "contexte"), {"context": "Apporter le carnet de santé.\r\n"}).status_code == 302
    assert fresh(world, appointment).context == "Apporter le carnet de santé."
    page = text(client.get(url(appointment)))
    assert "Modification du contexte par" in page and "Apporter le carnet de santé." in page
    with tenant_context(world.administration):
        change = AppointmentChange.objects.filter(appointment=appointment, action="context").get()
        assert change.changes == {"from": "", "to": "Apporter le carnet de santé."}
        assert change.actor_agent_id == world.agents["admin"].pk


def test_a_too_long_context_is_refused(world):
    appointment = world.appointments["pmi_appt"]
    before = snapshot(world, appointment)
    response = client_for(world, "basic").post(url(appointment, "contexte"), {"context": "x" * 5001})
    assert response.status_code == 400 and "Le contexte compte au plus 5000 caractères" in text(response)
    assert snapshot(world, appointment) == before


# --- Reminder now ----------------------------------------------------------------------------------------------

def test_send_a_reminder_now_writes_due_rows_put_on_the_broker_after_commit(world, django_capture_on_commit_callbacks):
    appointment = world.appointments["pmi_appt"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(world, "basic").post(url(appointment, "rappel"))
    assert response.status_code == 302
    with tenant_context(world.administration):
        rows = list(Message.objects.filter(appointment=appointment, kind=Kind.REMINDER, send_after__isnull=True))
        assert AppointmentChange.objects.filter(appointment=appointment, action="reminder_sent").count() == 1
    pending = [row for row in rows if row.status == MessageStatus.PENDING]
    assert [row.recipient for row in pending] == [world.citizen.email] and pending[0].queued_at is not None
    assert any(row.status == MessageStatus.SKIPPED and "numéro" in row.reason for row in rows)  # no phone
    enqueued = [callback for callback in callbacks if getattr(callback, "func", None).__name__ == "enqueue"]
    assert enqueued and enqueued[0].args == ([pending[0].pk],)
    page = text(client_for(world, "basic").get(url(appointment)))
    assert "Rappel envoyé" in page
    # a second click writes a second reminder (a new event), never a duplicate key error
    assert client_for(world, "basic").post(url(appointment, "rappel")).status_code == 302


@pytest.mark.parametrize(("setup", "message"), [
    ("cancelled", "Ce rendez-vous est annulé"),
    ("past", "a déjà commencé"),
    ("not_notified", "ne reçoivent pas de notification"),
    ("switched_off", "Aucun usager de ce rendez-vous ne reçoit de rappel."),
])
def test_a_reminder_that_cannot_be_sent_is_explained(world, setup, message):
    appointment = world.appointments["pmi_appt"]
    with tenant_context(world.administration):
        if setup == "cancelled":
            appointment_set_status(appointment=appointment, status="revoked",
                                   actor=Actor.for_agent(world.agents["basic"]))
        elif setup == "past":
            appointment = appointment_create(
                appointment_type=world.pmi_type, starts_at=at(9, day=MONDAY - timedelta(days=28)),
                agents=[world.agents["basic"]], citizens=[world.citizen], actor=Actor.for_agent(world.agents["basic"]),
                location=world.location, accept_warnings=True,
            )
        elif setup == "not_notified":
            AppointmentType.objects.filter(pk=world.pmi_type.pk).update(
                visibility=AppointmentType.Visibility.VISIBLE_NOT_NOTIFIED)
        else:
            Participation.objects.filter(appointment=appointment).update(send_reminder_notification=False)
    before = snapshot(world, appointment)
    response = client_for(world, "basic").post(url(appointment, "rappel"))
    assert response.status_code == 400 and message in text(response)
    assert snapshot(world, appointment) == before
    if setup in ("cancelled", "past"):  # the page explains it instead of offering the button
        page = text(client_for(world, "basic").get(url(appointment)))
        assert "Envoyer un rappel</button>" not in page and message in page
