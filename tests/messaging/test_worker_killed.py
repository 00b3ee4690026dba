"""A worker process killed (SIGKILL) in the middle of a batch of SMS: after the sweeper, every row ends
sent, and the fake provider received each text once — except, at most, the one in flight at the kill,
which the at-least-once edge of decision 0008 allows to arrive twice (its row then shows 2 attempts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from werkzeug import Response

from config.celery import app
from messaging.models import Channel, Kind, Message, MessageStatus, MessagingSettings, RecipientKind
from messaging.services import REQUEUE_AFTER, STUCK_AFTER, message_send, outbox_sweep
from messaging.sms.brevo import SEND_PATH
from messaging.tasks import enqueue
from tests.messaging.conftest import MOBILE
from tests.messaging.test_worker import _book, committed_world  # noqa: F401 (fixture)

ROWS = 24
ROOT = Path(__file__).resolve().parents[2]


def test_worker_killed_in_the_middle_of_a_batch(committed_world, django_db_blocker, httpserver):  # noqa: F811
    received: list[str] = []
    lock = threading.Lock()

    def provider(request):
        time.sleep(0.15)
        with lock:
            received.append(request.get_json()["content"])
            number = len(received)
        return Response(f'{{"messageId": {number}}}', status=201, content_type="application/json")

    httpserver.expect_request(SEND_PATH, method="POST").respond_with_handler(provider)
    administration = committed_world["administration"]
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "TEST_REDIS_URL": settings.REDIS_URL,
           "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)}
    worker = None
    try:
        with django_db_blocker.unblock(), tenant_context(administration):
            messaging_settings = MessagingSettings.load()
            messaging_settings.sms_provider = "brevo"
            messaging_settings.set_sms_credentials({"api_key": "k", "base_url": httpserver.url_for("")})
            messaging_settings.save()
            appointment = _book(committed_world)
            Message.objects.filter(appointment=appointment).update(status=MessageStatus.SKIPPED, reason="test")
            now = timezone.now()
            rows = Message.objects.bulk_create(
                Message(channel=Channel.SMS, recipient=MOBILE, recipient_kind=RecipientKind.CITIZEN,
                        kind=Kind.BOOKED, appointment=appointment, body=f"Texte {i}",
                        idempotency_key=f"kill-test-{appointment.pk}-{i}", next_attempt_at=now, queued_at=now)
                for i in range(ROWS)
            )
            ids = [row.pk for row in rows]
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "-P", "solo", "-Q", queue,
                 "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "ERROR"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            assert enqueue(ids) == ROWS
            deadline = time.monotonic() + 60
            while len(received) < ROWS // 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert received, "the worker never sent anything"
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            sent_by_worker = len(received)
            assert sent_by_worker < ROWS, "the worker finished before being killed"

            later = timezone.now() + STUCK_AFTER + REQUEUE_AFTER + timedelta(seconds=1)
            for message_id in outbox_sweep(now=later):  # stuck row back to pending, the others re-queued
                message_send(message_id=message_id, now=later)
            final = Message.objects.filter(pk__in=ids)
            assert set(final.values_list("status", flat=True)) == {MessageStatus.SENT}
            counts = Counter(received)
            assert set(counts) == {f"Texte {i}" for i in range(ROWS)}
            twice = [text for text, n in counts.items() if n > 1]
            assert len(twice) <= 1 and max(counts.values()) <= 2
            if twice:
                assert final.get(body=twice[0]).attempts == 2
            assert sum(final.values_list("attempts", flat=True)) <= ROWS + 1
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        with app.connection_for_write() as broker:
            broker.default_channel.queue_purge(queue)
        with django_db_blocker.unblock(), tenant_context(administration):
            MessagingSettings.objects.all().delete()
        connection.set_schema_to_public()
