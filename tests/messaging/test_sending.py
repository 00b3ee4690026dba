"""Sending the outbox: one claim per row (never sent twice), e-mail with its calendar, SMS through the
log provider and the real Brevo client against a local fake server, webhooks, temporary errors retried
with backoff, permanent ones not, the sweeper (due reminders, stuck rows) and a broker that is down."""

from __future__ import annotations

import json
import socket
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from werkzeug import Response

from config.celery import app
from messaging import tasks
from messaging.models import Channel, Kind, Message, MessageStatus, RecipientKind, WebhookEndpoint
from messaging.services import MAX_ATTEMPTS, REQUEUE_AFTER, STUCK_AFTER, message_send, outbox_sweep
from messaging.sms.brevo import SEND_PATH, BrevoProvider
from scheduling.services import appointment_set_status
from tenants.tasks import TaskSentWithoutAdministration
from tests.messaging.conftest import agent_actor, book, in_days


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def row(appointment, **filters) -> Message:
    return Message.objects.get(appointment=appointment, **filters)


def citizen_email(appointment, kind=Kind.BOOKED) -> Message:
    return row(appointment, kind=kind, channel=Channel.EMAIL, recipient_kind=RecipientKind.CITIZEN)


def test_email_is_sent_once_with_its_calendar(world, mailoutbox):
    world["settings"].reply_to = "accueil@mds.fr"
    world["settings"].save()
    appointment = book(world, starts_at=in_days(10))
    message = citizen_email(appointment)
    assert message_send(message_id=message.pk).status == "sent"
    assert message_send(message_id=message.pk).status == "not_claimed"  # a second worker, or a retry
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == [world["citizens"][0].email] and email.reply_to == ["accueil@mds.fr"]
    assert email.from_email == "=?utf-8?q?D=C3=A9partement_A?= <ne-pas-repondre@rdv.localhost>"
    assert email.subject == message.subject
    mimetypes = [mimetype for _, mimetype in email.alternatives]
    assert mimetypes == ["text/html", "text/calendar; method=PUBLISH"]
    ics = email.alternatives[1][0]
    assert f"UID:{appointment.uuid}" in ics and "METHOD:PUBLISH" in ics
    assert [name for name, _, _ in email.attachments] == ["rdv.ics"]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider) == ("sent", 1, "locmem")
    assert message.sent_at is not None


def test_sms_through_the_log_provider(world):
    appointment = book(world, starts_at=in_days(10))
    message = row(appointment, kind=Kind.BOOKED, channel=Channel.SMS)
    assert message_send(message_id=message.pk).status == "sent"
    message.refresh_from_db()
    assert message.provider == "log" and message.provider_message_id


@pytest.fixture
def brevo(world, httpserver):
    world["settings"].sms_provider = BrevoProvider.name
    world["settings"].sms_sender = "MDS26"
    world["settings"].set_sms_credentials({"api_key": "cle-de-test", "base_url": httpserver.url_for(""),
                                           "timeout": 1})
    world["settings"].save()
    return httpserver


def test_sms_through_brevo_temporary_error_is_retried_then_sent(world, brevo):
    appointment = book(world, starts_at=in_days(10))
    message = row(appointment, kind=Kind.BOOKED, channel=Channel.SMS)
    brevo.expect_oneshot_request(SEND_PATH, method="POST").respond_with_data("indisponible", status=503)
    now = timezone.now()
    outcome = message_send(message_id=message.pk, now=now)
    assert outcome.status == "pending" and outcome.retry_in == timedelta(minutes=1)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at) == ("pending", 1, now + timedelta(minutes=1))
    assert message.reason.startswith("Tentative 1 échouée : Brevo : refus 503")
    assert message_send(message_id=message.pk, now=now).status == "not_claimed"  # not due yet
    brevo.expect_oneshot_request(SEND_PATH, method="POST").respond_with_json({"messageId": 4242}, status=201)
    assert message_send(message_id=message.pk, now=now + timedelta(minutes=1)).status == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider, message.provider_message_id) == (
        "sent", 2, "brevo", "4242")
    sent = json.loads(brevo.log[-1][0].get_data())
    assert sent["sender"] == "MDS26" and sent["recipient"] == "33612345678" and sent["content"] == message.body


def test_sms_permanent_error_is_not_retried(world, brevo):
    appointment = book(world, starts_at=in_days(10))
    message = row(appointment, kind=Kind.BOOKED, channel=Channel.SMS)
    brevo.expect_request(SEND_PATH, method="POST").respond_with_json({"message": "numéro invalide"}, status=400)
    assert message_send(message_id=message.pk).status == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and "400" in message.reason and message.attempts == 1
    assert message_send(message_id=message.pk).status == "not_claimed"
    assert len(brevo.log) == 1


def test_temporary_email_failures_end_failed_after_the_maximum(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    appointment = book(world, starts_at=in_days(10))
    message = citizen_email(appointment)
    now = timezone.now()
    delays = []
    for _ in range(MAX_ATTEMPTS[Channel.EMAIL]):
        outcome = message_send(message_id=message.pk, now=now)
        if outcome.retry_in:
            delays.append(outcome.retry_in)
            now += outcome.retry_in
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == MAX_ATTEMPTS[Channel.EMAIL]
    assert message.reason.startswith("Échec après 6 tentatives. Dernière erreur : Serveur d'e-mail indisponible")


def test_webhook_delivered_signed(world, httpserver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    WebhookEndpoint.objects.create(organisation=world["organisation"], target_url=httpserver.url_for("/hook"),
                                   secret="s3cret", subscriptions=["appointment"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    appointment = book(world, starts_at=in_days(10))
    message = row(appointment, channel=Channel.WEBHOOK)
    assert message_send(message_id=message.pk).status == "sent"
    request = httpserver.log[0][0]
    body = json.loads(request.get_data())
    assert body["meta"]["model"] == "Rdv" and body["meta"]["event"] == "created"
    assert body["data"]["uuid"] == str(appointment.uuid)
    assert len(request.headers["X-Lapin-Signature"]) == 64


def test_webhook_server_error_is_retried(world, httpserver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    WebhookEndpoint.objects.create(organisation=world["organisation"], target_url=httpserver.url_for("/hook"),
                                   secret="s3cret", subscriptions=["appointment"])
    httpserver.expect_request("/hook").respond_with_response(Response("erreur", status=500))
    appointment = book(world, starts_at=in_days(10))
    message = row(appointment, channel=Channel.WEBHOOK)
    assert message_send(message_id=message.pk).status == "pending"


def test_reminder_is_swept_when_due_and_skipped_if_cancelled_meanwhile(world, mailoutbox):
    appointment = book(world, starts_at=in_days(10))
    reminder = citizen_email(appointment, kind=Kind.REMINDER)
    assert reminder.pk not in outbox_sweep()
    due = reminder.send_after + timedelta(seconds=1)
    assert reminder.pk in outbox_sweep(now=due)
    assert reminder.pk not in outbox_sweep(now=due + timedelta(seconds=30))  # already on the broker
    assert reminder.pk in outbox_sweep(now=due + REQUEUE_AFTER + timedelta(seconds=2))  # lost by the broker?
    assert message_send(message_id=reminder.pk, now=due).status == "sent"
    assert mailoutbox[0].subject.startswith("[Rappel] RDV le ")
    other = book(world, starts_at=in_days(11), citizens=[world["citizens"][1]])
    late = citizen_email(other, kind=Kind.REMINDER)
    other.status = "revoked"  # cancelled by a path that sent no event: the send-time check still holds
    other.save(update_fields=["status"])
    assert message_send(message_id=late.pk, now=late.send_after).status == "skipped"
    late.refresh_from_db()
    assert late.reason == "Rendez-vous annulé ou déjà renseigné."


def test_cancelled_appointment_reminders_are_skipped_at_once(world):
    appointment = book(world, starts_at=in_days(10))
    appointment_set_status(appointment=appointment, status="revoked", actor=agent_actor(world["agents"][0]))
    assert set(Message.objects.filter(appointment=appointment, kind=Kind.REMINDER).values_list("status", "reason")) == {
        ("skipped", "Rendez-vous annulé.")}


def test_sweeper_takes_back_rows_stuck_by_a_dead_worker(world, mailoutbox):
    appointment = book(world, starts_at=in_days(10))
    message = citizen_email(appointment)
    claimed_at = timezone.now() - STUCK_AFTER - timedelta(seconds=5)
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING, claimed_at=claimed_at, attempts=1)
    recent = row(appointment, kind=Kind.BOOKED, channel=Channel.SMS)
    Message.objects.filter(pk=recent.pk).update(status=MessageStatus.SENDING, claimed_at=timezone.now(), attempts=1)
    ids = outbox_sweep()
    assert message.pk in ids and recent.pk not in ids
    message.refresh_from_db()
    assert message.status == "pending" and message.reason.startswith("Envoi interrompu")
    assert message_send(message_id=message.pk).status == "sent"
    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert message.attempts == 2
    recent.refresh_from_db()
    assert recent.status == "sending"


def test_a_stuck_row_past_the_maximum_ends_failed(world):
    appointment = book(world, starts_at=in_days(10))
    message = citizen_email(appointment)
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=timezone.now() - STUCK_AFTER * 2, attempts=MAX_ATTEMPTS["email"])
    assert message.pk not in outbox_sweep()
    message.refresh_from_db()
    assert message.status == "failed" and "interrompu" in message.reason


@contextmanager
def broker_at(url: str):
    """Point the Celery app at another broker (a closed port: a real "connection refused")."""
    previous = app.conf.broker_url

    def switch(to):
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url = to

    switch(url)
    try:
        yield
    finally:
        switch(previous)


def purge_test_queue():
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(app.conf.task_default_queue)


def test_redis_down_while_booking(world, administration_a, mailoutbox, django_capture_on_commit_callbacks):
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"), django_capture_on_commit_callbacks(execute=True):
        appointment = book(world, starts_at=in_days(10))
    due = Message.objects.filter(appointment=appointment, status=MessageStatus.PENDING, kind=Kind.BOOKED)
    assert due.count() == 3 and not due.filter(queued_at__isnull=False).exists()  # left for the sweeper
    try:
        with tenant_context(administration_a):
            assert tasks.sweep.apply().get() == 3  # Redis is back: the sweeper put them on the broker
            for message_id in due.values_list("pk", flat=True):
                assert tasks.send_message.apply((message_id,)).get() == "sent"
                assert tasks.send_message.apply((message_id,)).get() == "not_claimed"
            assert tasks.sweep.apply().get() == 0
    finally:
        purge_test_queue()
    assert len(mailoutbox) == 2  # the usager and the other agent, once each
    assert set(due.model.objects.filter(appointment=appointment, kind=Kind.BOOKED).values_list("status", flat=True)) \
        == {"sent"}


def test_booking_puts_due_rows_on_the_broker_after_commit(world, django_capture_on_commit_callbacks):
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            appointment = book(world, starts_at=in_days(10))
        from scheduling import slot_cache

        # one enqueue step for the whole batch (beside the slot cache's own after-commit step)
        assert len([callback for callback in callbacks if callback is not slot_cache._bump]) == 1
        queued = Message.objects.filter(appointment=appointment, queued_at__isnull=False)
        assert queued.count() == 3 and not queued.filter(kind=Kind.REMINDER).exists()
    finally:
        purge_test_queue()


def test_tasks_refuse_the_public_schema(db):
    with schema_context("public"), pytest.raises(TaskSentWithoutAdministration):
        tasks.send_message.apply((1,)).get()


def test_sweep_all_fans_out_over_active_administrations(db):
    try:
        with schema_context("public"):
            assert tasks.sweep_all.apply().get() >= 3
    finally:
        purge_test_queue()


def test_a_batch_sends_each_row_once_even_when_delivered_twice(world, brevo):
    from messaging.services import messages_send

    appointments = [book(world, starts_at=in_days(10 + offset)) for offset in range(3)]
    sms = [row(appointment, kind=Kind.BOOKED, channel=Channel.SMS).pk for appointment in appointments]
    brevo.expect_request(SEND_PATH, method="POST").respond_with_json({"messageId": 1}, status=201)
    first = messages_send(message_ids=sms)
    assert [outcome.status for outcome in first.values()] == ["sent", "sent", "sent"]
    again = messages_send(message_ids=sms)  # the broker redelivers the batch (worker lost): nothing twice
    assert [outcome.status for outcome in again.values()] == ["not_claimed"] * 3
    assert len(brevo.log) == 3


def test_one_broken_row_does_not_stop_its_batch(world, brevo):
    from messaging.services import messages_send

    appointments = [book(world, starts_at=in_days(20 + offset)) for offset in range(2)]
    broken, fine = (row(appointment, kind=Kind.BOOKED, channel=Channel.SMS) for appointment in appointments)
    brevo.expect_request(SEND_PATH, method="POST").respond_with_json({"messageId": 1}, status=201)
    Message.objects.filter(pk=broken.pk).update(channel="fax")  # a row no sender knows: a bug, not a lost row
    outcomes = messages_send(message_ids=[broken.pk, fine.pk, 999_999_999])
    assert outcomes[fine.pk].status == "sent"
    assert outcomes[broken.pk].status == "pending" and outcomes[broken.pk].retry_in is not None
    assert outcomes[999_999_999].status == "not_claimed"
    broken.refresh_from_db()
    assert broken.status != "sending" and broken.reason  # never left claimed without a word


def test_the_batch_task_reports_its_outcomes(world):
    appointment = book(world, starts_at=in_days(30))
    ids = list(Message.objects.filter(appointment=appointment, status="pending", send_after__isnull=True)
               .values_list("pk", flat=True))
    counts = tasks.send_messages.apply(args=(ids,)).get()
    assert sum(counts.values()) == len(ids) and counts.get("sent", 0) >= 1
