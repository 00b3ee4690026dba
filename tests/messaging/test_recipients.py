"""Who gets what, written in the transaction of the change: the event-by-recipient matrix, the agents'
levels, the usagers' opt-outs, relatives, types not notified, reminders (late booking, DST, moves)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from messaging.models import Channel, Kind, Message, MessageStatus, RecipientKind, WebhookEndpoint
from messaging.services import agent_wants
from messaging.sms import is_gsm7
from scheduling.models import Agent, AppointmentType, Prescriber
from scheduling.services import (
    Actor,
    appointment_move,
    appointment_set_status,
    participant_add,
    participant_remove,
)
from tests.messaging.conftest import CITIZEN_ACTOR, LANDLINE, MOBILE, PARIS, agent_actor, book, in_days
from tests.scheduling.factories import AgentFactory, AppointmentTypeFactory, CitizenFactory


def rows(appointment, **filters):
    return list(Message.objects.filter(appointment=appointment, **filters).order_by("id"))


def summary(appointment, **filters):
    return sorted((m.kind, m.channel, m.recipient_kind, m.recipient, m.status) for m in rows(appointment, **filters))


def test_booking_by_an_agent_writes_the_whole_matrix(world):
    author, colleague = world["agents"][:2]
    citizen = world["citizens"][0]
    appointment = book(world, starts_at=in_days(10))
    assert summary(appointment, kind=Kind.BOOKED) == sorted([
        ("booked", "email", "citizen", citizen.email, "pending"),
        ("booked", "sms", "citizen", MOBILE, "pending"),
        ("booked", "email", "agent", colleague.user.email, "pending"),  # the author (level "others") is not told
    ])
    reminders = rows(appointment, kind=Kind.REMINDER)
    assert {(m.channel, m.status) for m in reminders} == {("email", "pending"), ("sms", "pending")}
    assert all(m.send_after == appointment.starts_at - timedelta(hours=48) == m.next_attempt_at for m in reminders)
    email = rows(appointment, kind=Kind.BOOKED, channel=Channel.EMAIL, recipient_kind=RecipientKind.CITIZEN)[0]
    assert email.subject.startswith("RDV confirmé le ")
    assert "10h00" in email.body and world["location"].address in email.body
    assert "Apportez le carnet de santé." in email.body and f"/rdv/{appointment.uuid}/" in email.body
    assert email.context["calendar"]["method"] == "PUBLISH"
    sms = rows(appointment, kind=Kind.BOOKED, channel=Channel.SMS)[0]
    assert sms.body.startswith("RDV PMI le ") and is_gsm7(sms.body) and sms.sms_segments >= 1
    agent_mail = rows(appointment, kind=Kind.BOOKED, recipient_kind=RecipientKind.AGENT)[0]
    assert agent_mail.subject.startswith("Nouveau RDV ajouté sur votre agenda")
    assert agent_mail.context["calendar"]["method"] == "REQUEST"
    assert author.user.email not in {m.recipient for m in rows(appointment)}


def test_keys_are_unique_and_rows_roll_back_with_the_booking(world):
    from django.db import transaction

    class Boom(Exception):
        pass

    started = timezone.now()
    with pytest.raises(Boom), transaction.atomic():
        appointment = book(world, starts_at=in_days(10))
        assert Message.objects.filter(appointment=appointment).exists()
        raise Boom
    assert not Message.objects.filter(created_at__gte=started).exists()


@pytest.mark.parametrize(("level", "is_author", "days", "expected"), [
    ("all", True, 10, True), ("all", False, 10, True),
    ("others", True, 10, False), ("others", False, 10, True),
    ("soon", False, 10, False), ("soon", False, 1, True), ("soon", False, 0, True), ("soon", True, 0, False),
    ("none", False, 0, False),
])
def test_agent_levels(level, is_author, days, expected):
    now = datetime(2027, 3, 10, 23, 30, tzinfo=PARIS)
    moment = datetime(2027, 3, 10, 9, tzinfo=PARIS) + timedelta(days=days)
    assert agent_wants(level=level, is_author=is_author, dates=[moment], now=now, tz=PARIS) is expected


def test_soon_level_looks_at_the_previous_date_too():
    now = datetime(2027, 3, 10, 12, tzinfo=PARIS)
    far, tomorrow = datetime(2027, 4, 1, 9, tzinfo=PARIS), datetime(2027, 3, 11, 9, tzinfo=PARIS)
    assert agent_wants(level="soon", is_author=False, dates=[far, tomorrow], now=now, tz=PARIS)


def test_agent_levels_in_a_booking(world):
    author, soon_agent, all_agent = world["agents"]
    soon_agent.notification_level = Agent.NotificationLevel.SOON
    soon_agent.save()
    author.notification_level = Agent.NotificationLevel.ALL
    author.save()
    far = book(world, starts_at=in_days(10), agents=[author, soon_agent])
    assert {m.agent for m in rows(far, recipient_kind=RecipientKind.AGENT)} == {author}
    near = book(world, starts_at=in_days(1, hour=15), agents=[author, soon_agent])
    assert {m.agent for m in rows(near, recipient_kind=RecipientKind.AGENT)} == {author, soon_agent}
    intervenant = AgentFactory(user=None, services=[world["service"]])
    other = book(world, starts_at=in_days(12), agents=[intervenant], citizens=[world["citizens"][1]])
    assert rows(other, recipient_kind=RecipientKind.AGENT) == []


def test_usager_opt_outs_and_numbers_give_skipped_rows_with_reasons(world):
    no_mail = CitizenFactory(email="", phone=LANDLINE)
    refuses = CitizenFactory(notify_by_email=False, notify_by_sms=False, phone=MOBILE)
    first = book(world, starts_at=in_days(10), citizens=[no_mail])
    assert {(m.channel, m.status, m.reason) for m in rows(first, kind=Kind.BOOKED, recipient_kind="citizen")} == {
        ("email", "skipped", "L'usager n'a pas d'adresse e-mail."),
        ("sms", "skipped", "Le numéro de l'usager n'est pas un numéro de mobile."),
    }
    second = book(world, starts_at=in_days(11), citizens=[refuses])
    assert {(m.channel, m.status, m.reason) for m in rows(second, kind=Kind.BOOKED, recipient_kind="citizen")} == {
        ("email", "skipped", "L'usager a refusé les notifications par e-mail."),
        ("sms", "skipped", "L'usager a refusé les notifications par SMS."),
    }


def test_per_participation_switches(world):
    citizen = world["citizens"][0]
    appointment = book(world, starts_at=in_days(10), notify={citizen.pk: False})
    assert rows(appointment, recipient_kind=RecipientKind.CITIZEN) == []
    assert rows(appointment, recipient_kind=RecipientKind.AGENT)


def test_relatives_messages_go_to_the_responsible_once(world):
    parent = CitizenFactory(phone=MOBILE)
    children = [CitizenFactory(email="", phone="", responsible=parent) for _ in range(2)]
    appointment = book(world, starts_at=in_days(10), citizens=children)
    booked = rows(appointment, kind=Kind.BOOKED, recipient_kind=RecipientKind.CITIZEN)
    assert sorted((m.channel, m.recipient, m.citizen_id) for m in booked) == [
        ("email", parent.email, parent.pk), ("sms", MOBILE, parent.pk),
    ]
    email = next(m for m in booked if m.channel == "email")
    assert all(str(child) in email.body for child in children)


@pytest.mark.parametrize("visibility", [AppointmentType.Visibility.VISIBLE_NOT_NOTIFIED,
                                        AppointmentType.Visibility.INVISIBLE])
def test_types_not_notified_tell_agents_only(world, visibility):
    kind = AppointmentTypeFactory(organisation=world["organisation"], service=world["service"], visibility=visibility)
    appointment = book(world, starts_at=in_days(10), kind=kind)
    assert rows(appointment, recipient_kind=RecipientKind.CITIZEN) == []
    assert [m.agent for m in rows(appointment)] == [world["agents"][1]]


def test_nothing_for_an_appointment_already_started(world):
    appointment = book(world, starts_at=timezone.now() - timedelta(minutes=5))
    assert rows(appointment) == []


def test_prescriber_gets_his_own_confirmation(world):
    prescriber = Prescriber.objects.create(first_name="Paule", last_name="Assistante", email="paule@cias.fr")
    appointment = book(world, starts_at=in_days(10), prescriber=prescriber, created_by="prescriber",
                       actor=Actor(kind="prescriber", label="Paule Assistante", prescriber=prescriber))
    mail = rows(appointment, recipient_kind=RecipientKind.PRESCRIBER)
    assert [(m.recipient, m.kind) for m in mail] == [("paule@cias.fr", "booked")]
    assert str(world["citizens"][0]) in mail[0].body


def test_late_booking_skips_the_reminders_whose_time_has_passed(world):
    world["settings"].reminder_lead_hours = [48, 2]
    world["settings"].save()
    appointment = book(world, starts_at=timezone.now() + timedelta(hours=20))
    reminders = rows(appointment, kind=Kind.REMINDER)
    by_lead = {(m.channel, m.send_after): m for m in reminders}
    late = [m for m in reminders if m.send_after == appointment.starts_at - timedelta(hours=48)]
    due = [m for m in reminders if m.send_after == appointment.starts_at - timedelta(hours=2)]
    assert len(by_lead) == 4 and len(late) == 2 and len(due) == 2
    assert all(m.status == "skipped" and "moins de 48 h avant" in m.reason for m in late)
    assert all(m.status == "pending" for m in due)


def test_reminder_48_hours_before_across_the_october_dst_change(world):
    # Sunday 31 October 2027 at 03:00 CEST clocks go back to 02:00 CET.
    starts_at = datetime(2027, 11, 1, 10, 0, tzinfo=PARIS)  # 09:00Z, winter time
    appointment = book(world, starts_at=starts_at)
    email = rows(appointment, kind=Kind.REMINDER, channel=Channel.EMAIL)[0]
    assert email.send_after == datetime(2027, 10, 30, 9, 0, tzinfo=ZoneInfo("UTC"))  # 48 elapsed hours
    assert email.send_after.astimezone(PARIS).hour == 11  # 11:00 summer time on the Saturday
    assert "lundi 1 novembre 2027 à 10h00" in email.body and email.subject.startswith("[Rappel]")


def test_move_replaces_reminders_and_tells_kept_added_and_removed_agents(world):
    author, kept, removed = world["agents"]
    appointment = book(world, starts_at=in_days(10), agents=[author, kept, removed])
    old_reminders = rows(appointment, kind=Kind.REMINDER)
    new_start = in_days(12, hour=14)
    added = AgentFactory(services=[world["service"]], organisation=world["organisation"])
    appointment_move(appointment=appointment, actor=agent_actor(author), starts_at=new_start,
                     agents=[author, kept, added], accept_warnings=True)
    for reminder in old_reminders:
        reminder.refresh_from_db()
        assert (reminder.status, reminder.reason) == (
            "skipped", "Rendez-vous déplacé : ce rappel est remplacé par un nouveau.")
    pending = rows(appointment, kind=Kind.REMINDER, status=MessageStatus.PENDING)
    assert len(pending) == 2 and all(m.send_after == new_start - timedelta(hours=48) for m in pending)
    assert sorted((m.agent.pk, m.kind) for m in rows(appointment, recipient_kind="agent")
                  if m.created_at > old_reminders[0].created_at) == sorted(
        [(kept.pk, "moved"), (added.pk, "booked"), (removed.pk, "cancelled")])
    moved_mail = rows(appointment, kind=Kind.MOVED, recipient_kind="citizen", channel="email")[0]
    old_local = timezone.localtime(old_reminders[0].send_after + timedelta(hours=48), PARIS)
    assert f"à {old_local:%H}h00" in moved_mail.body and "14h00" in moved_mail.body
    assert rows(appointment, kind=Kind.MOVED, recipient_kind="citizen", channel="sms")


def test_agents_only_change_does_not_tell_the_usager(world):
    author, colleague, third = world["agents"]
    appointment = book(world, starts_at=in_days(10), agents=[author, colleague])
    appointment_move(appointment=appointment, actor=agent_actor(author), agents=[author, third], accept_warnings=True)
    assert rows(appointment, kind=Kind.MOVED, recipient_kind="citizen") == []
    assert rows(appointment, kind=Kind.REMINDER, status="pending")


@pytest.mark.parametrize(("actor_kind", "status", "sms"), [("agent", "revoked", True), ("citizen", "excused", False)])
def test_cancellation(world, actor_kind, status, sms):
    author = world["agents"][0]
    appointment = book(world, starts_at=in_days(10))
    actor = agent_actor(author) if actor_kind == "agent" else CITIZEN_ACTOR
    appointment_set_status(appointment=appointment, status=status, actor=actor)
    cancelled = rows(appointment, kind=Kind.CANCELLED)
    channels = {m.channel for m in cancelled if m.recipient_kind == "citizen"}
    assert channels == ({"email", "sms"} if sms else {"email"})
    agents = {m.agent for m in cancelled if m.recipient_kind == "agent"}
    assert agents == ({world["agents"][1]} if actor_kind == "agent" else {author, world["agents"][1]})
    mail = next(m for m in cancelled if m.recipient_kind == "citizen" and m.channel == "email")
    assert ("raison administrative" in mail.body) is (status == "revoked")
    assert mail.context["calendar"]["method"] == "CANCEL"
    assert {m.status for m in rows(appointment, kind=Kind.REMINDER)} == {"skipped"}
    # Back to "à venir": confirmed again, with new reminders.
    appointment_set_status(appointment=appointment, status="unknown", actor=agent_actor(author))
    assert len(rows(appointment, kind=Kind.BOOKED, recipient_kind="citizen")) == 4
    assert len(rows(appointment, kind=Kind.REMINDER, status="pending")) == 2


def test_collective_participants_added_and_removed(world):
    kind = AppointmentTypeFactory(organisation=world["organisation"], service=world["service"], collective=True,
                                  default_capacity=5)
    session = book(world, starts_at=in_days(10), kind=kind, citizens=[], title="Atelier budget")
    assert rows(session, recipient_kind="citizen") == []
    citizen = world["citizens"][2]
    participation = participant_add(appointment=session, citizen=citizen, actor=agent_actor(world["agents"][0]))
    added = rows(session, kind=Kind.PARTICIPANT_ADDED)
    assert {(m.channel, m.recipient) for m in added} == {("email", citizen.email), ("sms", MOBILE)}
    assert "Atelier budget" in next(m for m in added if m.channel == "email").body
    assert len(rows(session, kind=Kind.REMINDER, status="pending")) == 2
    participant_remove(participation=participation, actor=agent_actor(world["agents"][0]))
    assert {m.channel for m in rows(session, kind=Kind.PARTICIPANT_REMOVED)} == {"email", "sms"}
    assert rows(session, kind=Kind.REMINDER, status="pending") == []
    assert rows(session, recipient_kind="agent", kind=Kind.PARTICIPANT_ADDED) == []


def test_webhook_rows_for_subscribed_endpoints(world):
    WebhookEndpoint.objects.create(organisation=world["organisation"], target_url="https://si.exemple.fr/hook",
                                   secret="s3cret", subscriptions=["appointment"])
    WebhookEndpoint.objects.create(organisation=world["organisation"], target_url="https://autre.exemple.fr/hook",
                                   secret="s3cret", subscriptions=["absence"])
    appointment = book(world, starts_at=in_days(10))
    appointment_set_status(appointment=appointment, status="revoked", actor=agent_actor(world["agents"][0]))
    hooks = rows(appointment, channel=Channel.WEBHOOK)
    assert [(m.recipient, m.context["event"]) for m in hooks] == [
        ("https://si.exemple.fr/hook", "created"), ("https://si.exemple.fr/hook", "updated")]
    assert hooks[1].context["data"]["status"] == "revoked" and hooks[0].context["model"] == "Rdv"


def test_deleted_appointment_skips_its_pending_rows_and_tells_webhooks(world):
    from scheduling.services import appointment_delete

    WebhookEndpoint.objects.create(organisation=world["organisation"], target_url="https://si.exemple.fr/hook",
                                   secret="s3cret", subscriptions=["appointment"])
    appointment = book(world, starts_at=in_days(10))
    ids = [m.pk for m in rows(appointment)]
    appointment_delete(appointment=appointment, actor=agent_actor(world["agents"][0]))
    left = Message.objects.filter(pk__in=ids)
    assert set(left.exclude(channel="webhook").values_list("status", "reason")) == {
        ("skipped", "Rendez-vous supprimé.")}
    destroyed = Message.objects.get(channel="webhook", context__event="destroyed")
    assert destroyed.status == "pending" and destroyed.context["data"]["uuid"] == str(appointment.uuid)


def test_waiting_list_slot_is_told_once_a_day(world):
    from messaging.services import waiting_list_slot_notify

    appointment = book(world, starts_at=in_days(20))
    created = waiting_list_slot_notify(appointment=appointment)
    assert {(m.channel, m.status) for m in created} == {("email", "pending"), ("sms", "pending")}
    assert "se libérer" in created[0].subject and f"/rdv/{appointment.uuid}/" in created[0].body
    assert waiting_list_slot_notify(appointment=appointment) == []  # same day: not again


def test_the_delivery_log_of_an_appointment(world):
    from django.template.loader import render_to_string

    from messaging.selectors import delivery_summary, messages_for_appointment

    no_mail = CitizenFactory(email="", phone="")
    appointment = book(world, starts_at=in_days(10), citizens=[no_mail])
    messages = list(messages_for_appointment(appointment))
    assert delivery_summary(appointment) == {"pending": 1, "sending": 0, "sent": 0, "delivered": 0, "failed": 0,
                                             "skipped": 4}
    html = render_to_string("messaging/partials/appointment_messages.html", {"notifications": messages})
    assert "L&#x27;usager n&#x27;a pas d&#x27;adresse e-mail." in html and "Non envoyé" in html


def test_overseas_local_time(world):
    world["organisation"].timezone = "America/Cayenne"
    world["organisation"].save()
    cayenne = ZoneInfo("America/Cayenne")
    day = in_days(10).date()
    appointment = book(world, starts_at=datetime(day.year, day.month, day.day, 9, 30, tzinfo=cayenne))
    email = rows(appointment, kind=Kind.BOOKED, channel=Channel.EMAIL, recipient_kind="citizen")[0]
    sms = rows(appointment, kind=Kind.BOOKED, channel=Channel.SMS)[0]
    assert "9h30" in email.subject and "à 09h30" in email.body and "09h30" in sms.body
    assert email.context["calendar"]["tz"] == "America/Cayenne"
