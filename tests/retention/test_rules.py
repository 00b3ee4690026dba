"""Each retention rule just before and just after its boundary (time-machine), with what must be kept."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging.models import Channel, Message, MessageStatus, WebhookEndpoint
from messaging.services import message_send
from retention.services import MARKER, WARNING_ACTION, retention_apply
from scheduling.models import Agent, AgentRole, Appointment, AppointmentChange, Citizen
from tests.retention.world import build_world, soon, travel
from tests.scheduling.factories import AgentFactory

MINUTE = timedelta(minutes=1)
TWO_YEARS = timedelta(days=730)


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        yield build_world(administration_a)


def test_an_appointment_goes_two_years_after_it_took_place_with_a_rgpd_webhook(world, httpserver):
    endpoint = WebhookEndpoint.objects.create(organisation=world.org, target_url=httpserver.url_for("/rdv"),
                                              secret="s3cret", subscriptions=["appointment"])
    citizen = world.citizen()
    appointment = world.book(citizen, soon())
    appointment_uuid = appointment.uuid
    with travel(appointment.ends_at + TWO_YEARS - MINUTE):
        assert retention_apply().counts["appointments"] == 0
    assert Appointment.objects.filter(pk=appointment.pk).exists()
    with travel(appointment.ends_at + TWO_YEARS + MINUTE):
        assert retention_apply().counts["appointments"] == 1
        assert not Appointment.objects.filter(pk=appointment.pk).exists()
        # The trail stays, saying who deleted it and why.
        last = AppointmentChange.objects.filter(appointment_uuid=appointment_uuid).order_by("-id").first()
        assert last.action == "deleted" and last.changes["reason"] == "rgpd"
        assert last.actor_label == "Conservation des données (RGPD)"
        hook = Message.objects.get(channel=Channel.WEBHOOK, webhook_endpoint=endpoint, context__event="destroyed")
        httpserver.expect_request("/rdv", method="POST").respond_with_data("ok")
        assert message_send(message_id=hook.pk).status == MessageStatus.SENT
    payload = json.loads(httpserver.log[0][0].get_data())
    assert payload["meta"] == {**payload["meta"], "model": "Rdv", "event": "destroyed", "webhook_reason": "rgpd"}
    assert payload["data"]["uuid"] == str(appointment_uuid)


def test_an_ordinary_deletion_still_has_no_reason(world):
    from scheduling.services import Actor, appointment_delete

    WebhookEndpoint.objects.create(organisation=world.org, target_url="https://recepteur.example.fr/rdv",
                                   secret="x", subscriptions=["appointment"])
    appointment = world.book(world.citizen(), soon())
    appointment_delete(appointment=appointment, actor=Actor.for_agent(world.admin))
    hook = Message.objects.get(channel=Channel.WEBHOOK, context__event="destroyed")
    assert hook.context["reason"] is None


def _message(created_at, status=MessageStatus.SENT, **fields):
    values = {"channel": Channel.SMS, "recipient": "+33612345678", "recipient_kind": "citizen", "kind": "booked",
              "body": "Votre RDV avec Marie Dupont le 12/03", "sms_segments": 1, "status": status,
              "provider": "brevo", "provider_message_id": "4242", "sent_at": created_at} | fields
    return Message.objects.create(idempotency_key=f"test-{uuid.uuid4().hex}",
                                  created_at=created_at, **values)


def test_message_contents_are_blanked_after_six_months_and_rows_deleted_after_two_years(world):
    written = timezone.now().replace(microsecond=0)
    sms = _message(written)
    email = _message(written, channel=Channel.EMAIL, recipient="marie.dupont@exemple.fr", subject="RDV confirmé",
                     html="<p>Marie</p>", sms_segments=None, context={"calendar": {"summary": "Marie"}})
    pending = _message(written, status=MessageStatus.PENDING)
    with travel(written + timedelta(days=182) - MINUTE):
        assert retention_apply().counts["message_contents"] == 0
    sms.refresh_from_db()
    assert sms.body.startswith("Votre RDV")
    with travel(written + timedelta(days=182) + MINUTE):
        assert retention_apply().counts["message_contents"] == 2
    sms.refresh_from_db()
    email.refresh_from_db()
    pending.refresh_from_db()
    assert (sms.recipient, sms.body, sms.provider_message_id) == (MARKER, MARKER, "")
    assert (email.recipient, email.subject, email.body, email.html, email.context) == (MARKER, MARKER, MARKER, "", {})
    # What the statistics need stays.
    assert (sms.channel, sms.kind, sms.status, sms.sms_segments, sms.provider, sms.sent_at) == (
        Channel.SMS, "booked", MessageStatus.SENT, 1, "brevo", written)
    assert pending.body.startswith("Votre RDV"), "a message still to send keeps its content"
    with travel(written + TWO_YEARS - MINUTE):
        assert retention_apply().counts["messages"] == 0
    with travel(written + TWO_YEARS + MINUTE):
        assert retention_apply().counts["messages"] == 2
    assert list(Message.objects.filter(pk__in=[sms.pk, email.pk, pending.pk]).values_list("pk", flat=True)) == [
        pending.pk]


def test_usagers_without_appointment_for_two_years_are_erased_unless_kept_by_a_rule(world):
    start = soon()
    gone = world.citizen(first_name="Paul", email="paul@exemple.fr", phone="+33611111111")
    world.book(gone, start)
    with travel(start + TWO_YEARS - MINUTE):
        retention_apply()
    assert Citizen.objects.get(pk=gone.pk).deleted_at is None
    moment = start + TWO_YEARS + MINUTE
    recent = world.citizen()
    world.book(recent, start + timedelta(days=1), agent=world.admin)
    parent = world.citizen()
    child = world.citizen(responsible=parent, email="")
    future = world.citizen()
    account = type(world.agent.user).objects.create_user(email="u@exemple.fr")
    account.last_login = moment - timedelta(days=10)
    account.save(update_fields=["last_login"])
    signed_in = world.citizen(account=account)
    with travel(moment):
        world.book(future, moment + timedelta(days=3))
        report = retention_apply()
    erased = {c.pk for c in Citizen.objects.filter(deleted_at__isnull=False)}
    assert {gone.pk, child.pk} <= erased
    assert not {recent.pk, future.pk, signed_in.pk, parent.pk} & erased
    assert report.counts["citizens"] >= 2
    gone.refresh_from_db()
    assert (gone.first_name, gone.email, gone.phone) == ("Usager", "", "")  # decision 0014: anonymised in place
    # The responsible had a relative at the time of the run; the next night he has none left.
    with travel(moment + timedelta(days=1)):
        retention_apply()
    assert Citizen.objects.get(pk=parent.pk).deleted_at is not None


def test_an_erased_usager_is_announced_destroyed_with_the_rgpd_reason(world):
    WebhookEndpoint.objects.create(organisation=world.org, target_url="https://recepteur.example.fr/usagers",
                                   secret="x", subscriptions=["citizen"])
    citizen = world.citizen()
    created = Message.objects.get(channel=Channel.WEBHOOK, context__model="User", context__data__id=citizen.pk)
    assert created.context["event"] == "created" and created.context["reason"] is None
    with travel(citizen.created_at + TWO_YEARS + MINUTE):
        assert retention_apply().counts["citizens"] >= 1
    destroyed = Message.objects.get(channel=Channel.WEBHOOK, context__model="User", context__data__id=citizen.pk,
                                    context__event="destroyed")
    assert destroyed.context["reason"] == "rgpd"
    # Outside the purge, an ordinary change still has no reason.
    other = world.citizen()
    assert Message.objects.get(context__model="User", context__data__id=other.pk).context["reason"] is None


def test_inactive_agents_are_warned_then_removed_a_month_later(world):
    idle, back = world.agent, world.admin
    busy = AgentFactory(services=[world.service], organisation=world.org)
    # ``admin`` becomes a plain agent so that another admin keeps the organisation.
    AgentRole.objects.filter(agent=back).update(level="basic")
    keeper = Agent.objects.create(first_name="Garde", last_name="Admin", user=None)
    AgentRole.objects.create(agent=keeper, organisation=world.org, level="admin")  # an intervenant never signs in
    last = timezone.now().replace(microsecond=0)
    for agent in (idle, back, busy):
        agent.user.last_login = last
        agent.user.save(update_fields=["last_login"])
    year = timedelta(days=365)

    def mails_to(agent):
        return [m for m in mail.outbox if m.to == [agent.user.email]]

    with travel(last + year - MINUTE):
        retention_apply()
    assert not mails_to(idle)
    warned_at = last + year + MINUTE
    with travel(warned_at):
        retention_apply()
        retention_apply()  # the same night twice: one warning only
    assert len(mails_to(idle)) == 1 and len(mails_to(back)) == 1
    removal_day = timezone.localtime(warned_at + timedelta(days=30)).strftime("%d/%m/%Y")
    assert removal_day in mails_to(idle)[0].body and removal_day in mails_to(idle)[0].subject
    assert AppointmentChange.objects.filter(action=WARNING_ACTION, changes__agent=idle.pk).count() == 1

    # ``back`` signs in again; ``busy`` has an appointment to come when the month is over.
    with travel(warned_at + timedelta(days=3)):
        back.user.last_login = timezone.now()
        back.user.save(update_fields=["last_login"])
    world.book(world.citizen(), warned_at + timedelta(days=40), agent=busy)
    with travel(warned_at + timedelta(days=30) - MINUTE):
        retention_apply()
    idle.refresh_from_db()
    assert idle.deleted_at is None
    with travel(warned_at + timedelta(days=30) + MINUTE):
        report = retention_apply()
    for agent in (idle, back, busy):
        agent.refresh_from_db()
        agent.user.refresh_from_db()
    assert idle.deleted_at is not None and not idle.user.is_active and not idle.roles.exists()
    assert back.deleted_at is None and back.user.is_active and len(mails_to(back)) == 1
    assert busy.deleted_at is None and busy.roles.exists(), "appointments to come: kept"
    assert report.counts["agents_removed"] >= 1 and report.counts["agents_kept"] >= 1


def test_history_loses_personal_values_after_a_year(world):
    appointment = world.book(world.citizen(), soon())
    written = timezone.now().replace(microsecond=0)
    common = {"appointment": appointment, "appointment_uuid": appointment.uuid, "organisation": world.org,
              "at": written}
    by_usager = AppointmentChange.objects.create(actor_label="Marie Dupont (usager)", action="status",
                                                 changes={"from": "unknown", "to": "excused"}, **common)
    by_prescriber = AppointmentChange.objects.create(actor_label="Luc Martin (prescripteur)", action="created",
                                                     changes={"warnings_accepted": ["Marie Dupont a déjà un RDV"]},
                                                     **common)
    context = AppointmentChange.objects.create(actor_label=str(world.agent), actor_agent=world.agent,
                                               action="context", changes={"from": "", "to": "Tél. 0612345678"},
                                               **common)
    by_agent = AppointmentChange.objects.create(actor_label=str(world.agent), actor_agent=world.agent,
                                                action="status", changes={"from": "unknown", "to": "seen"}, **common)
    with travel(written + timedelta(days=365) - MINUTE):
        assert retention_apply().counts["history"] == 0
    with travel(written + timedelta(days=365) + MINUTE):
        assert retention_apply().counts["history"] >= 3
        assert retention_apply().counts["history"] == 0  # idempotent
    for row in (by_usager, by_prescriber, context, by_agent):
        row.refresh_from_db()
    assert by_usager.actor_label == "Usager" and by_usager.changes["to"] == "excused"
    assert by_prescriber.actor_label == "Prescripteur" and by_prescriber.changes["warnings_accepted"] == [MARKER]
    assert context.changes["to"] == MARKER and context.actor_label == str(world.agent)
    assert by_agent.actor_label == str(world.agent) and by_agent.changes == {"from": "unknown", "to": "seen"}
