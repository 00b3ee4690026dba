"""Running the rules: the dry run changes nothing and predicts the real run; a second run has nothing left;
one administration's run never touches another's data; the command and the periodic tasks."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging.models import Channel, Message, MessageStatus
from retention import tasks
from retention.services import retention_apply
from scheduling.models import Agent, Appointment, AppointmentChange, Citizen
from tenants.tasks import TaskSentWithoutAdministration
from tests.retention.world import build_world, soon, travel

FAR = timedelta(days=800)


def _old_message(created_at):
    return Message.objects.create(channel=Channel.EMAIL, recipient="lea.martin@exemple.fr", recipient_kind="citizen",
                                  kind="booked", subject="RDV", body="Bonjour Léa", status=MessageStatus.SENT,
                                  idempotency_key=f"run-{uuid.uuid4().hex}", created_at=created_at)


def _state():
    return {
        "appointments": Appointment.objects.count(),
        "messages": list(Message.objects.order_by("pk").values_list("pk", "recipient", "body")),
        "citizens": list(Citizen.objects.order_by("pk").values_list("pk", "first_name", "deleted_at")),
        "agents": list(Agent.objects.order_by("pk").values_list("pk", "deleted_at")),
        "history": list(AppointmentChange.objects.order_by("pk").values_list("pk", "actor_label", "changes")),
        "mails": len(mail.outbox),
    }


@pytest.fixture
def aged(administration_a):
    """Administration A with something for every rule once the clock is 800 days ahead."""
    with tenant_context(administration_a):
        world = build_world(administration_a)
        for _ in range(3):
            citizen = world.citizen()
            world.book(citizen, soon())
            AppointmentChange.objects.create(actor_label=f"{citizen} (usager)", action="status",
                                             changes={"from": "unknown", "to": "excused"})
        _old_message(timezone.now())
        world.moment = timezone.now() + FAR
        yield world


def test_a_dry_run_changes_nothing_and_predicts_the_real_run(aged):
    with travel(aged.moment):
        before = _state()
        dry = retention_apply(dry_run=True)
        assert _state() == before
        assert dry.counts["appointments"] >= 3 and dry.counts["citizens"] >= 3 and dry.counts["messages"] >= 1
        assert dry.counts["agents_warned"] >= 2 and dry.counts["history"] >= 3
        assert "rendez-vous à supprimer : " in dry.lines()[2]
        done = retention_apply()
        assert done.counts == dry.counts
        assert "rendez-vous supprimés : " in done.lines()[2]
        # The reminders of tonight's deleted appointments ended skipped: the next night blanks and deletes them.
        again = retention_apply()
        assert {key for key, value in again.counts.items() if value} == {"message_contents", "messages"}
        last = retention_apply()
    assert {key: value for key, value in last.counts.items() if value} == {}


def test_a_run_stays_in_its_administration(aged, administration_b):
    with tenant_context(administration_b):
        other = build_world(administration_b)
        citizen = other.citizen()
        appointment = other.book(citizen, soon())
        message = _old_message(timezone.now())
    with travel(aged.moment), tenant_context(aged.administration):
        assert retention_apply().counts["appointments"] >= 3
    with tenant_context(administration_b):
        assert Appointment.objects.filter(pk=appointment.pk).exists()
        assert Message.objects.get(pk=message.pk).body == "Bonjour Léa"
        assert Citizen.objects.get(pk=citizen.pk).deleted_at is None


def test_the_command_prints_a_dry_run_report(aged):
    out = io.StringIO()
    schema = connection.schema_name
    with travel(aged.moment):
        call_command("tenant_command", "apply_retention", "--dry-run", schema=schema, stdout=out)
    text = out.getvalue()
    assert "Simulation (rien n'est modifié)" in text
    assert "rendez-vous à supprimer : " in text and "usagers à supprimer : " in text
    assert "rendez-vous à supprimer : 0" not in text
    assert Appointment.objects.count() >= 3


def test_the_command_refuses_the_public_schema(db):
    connection.set_schema_to_public()
    with pytest.raises(CommandError, match="Choisissez une administration"):
        call_command("apply_retention", "--dry-run")


def test_the_nightly_task_fans_out_and_each_run_needs_an_administration(administration_a):
    connection.set_schema_to_public()
    assert tasks.apply_all.apply().get() >= 3
    with pytest.raises(TaskSentWithoutAdministration):
        tasks.apply.apply().get()
    with tenant_context(administration_a):
        counts = tasks.apply.apply().get()
    assert set(counts) >= {"appointments", "messages", "citizens", "history"}


def test_small_batches_reach_every_row(administration_a, settings):
    settings.RGPD_BATCH_SIZE = 2
    with tenant_context(administration_a):
        written = timezone.now()
        rows = [_old_message(written) for _ in range(5)]
        with travel(written + timedelta(days=200)):
            assert retention_apply(dry_run=True).counts["message_contents"] == 5
            assert retention_apply().counts["message_contents"] == 5
        assert {row.recipient for row in Message.objects.filter(pk__in=[r.pk for r in rows])} == {"[anonymisé]"}


def test_a_run_already_going_in_the_administration_is_not_doubled(administration_a):
    from django.core.cache import cache

    with tenant_context(administration_a):
        assert cache.add(tasks.LOCK_KEY, 1, 60)
        try:
            assert tasks.apply.apply().get() == {}
        finally:
            cache.delete(tasks.LOCK_KEY)
        assert tasks.apply.apply().get() != {}
