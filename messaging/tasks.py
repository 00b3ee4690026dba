"""Outbox tasks (thin: ids in, one service call). Sending runs in the administration's schema
(``AdministrationTask``); the periodic sweep fans out from the platform over every active administration."""

from __future__ import annotations

import logging

from config.celery import app
from tenants.tasks import AdministrationTask, PlatformTask, send_to_active_administrations

logger = logging.getLogger(__name__)

# Publishing fails fast when the broker is down: the rows stay pending and the sweeper sends them later.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
MAX_COUNTDOWN_SECONDS = 30 * 60  # beyond, the sweeper picks the row up (redis visibility timeout is 1 h)


BATCH_SIZE = 50  # rows per task: one broker round trip and one tenant switch for many SMS (bench/messaging.py)


def enqueue(message_ids: list[int], countdown: float | None = None) -> int:
    """Put messages on the broker, by batches of ``BATCH_SIZE`` (a single row: ``send_message``). Returns
    how many rows were queued. Never raises: what could not be queued is left to the sweeper."""
    from .services import mark_not_queued

    queued, failed = 0, []
    for start in range(0, len(message_ids), BATCH_SIZE):
        batch = list(message_ids[start:start + BATCH_SIZE])
        task, arguments = (send_message, (batch[0],)) if len(batch) == 1 else (send_messages, (batch,))
        try:
            task.apply_async(arguments, countdown=countdown, retry=True, retry_policy=RETRY_POLICY)
            queued += len(batch)
        except Exception:  # broker unreachable (connection refused, timeout...)
            failed.extend(batch)
    if failed:
        logger.warning("Broker unavailable: %d message(s) left pending for the sweeper", len(failed))
        try:
            mark_not_queued(failed)
        except Exception:
            logger.exception("Could not mark messages as not queued")
    return queued


def _requeue(message_id: int, outcome) -> None:
    if outcome.retry_in is not None and outcome.retry_in.total_seconds() <= MAX_COUNTDOWN_SECONDS:
        enqueue([message_id], countdown=outcome.retry_in.total_seconds())


@app.task(base=AdministrationTask, name="messaging.send_message", ignore_result=True)
def send_message(message_id: int) -> str:
    from .services import message_send

    outcome = message_send(message_id=message_id)
    _requeue(message_id, outcome)
    return outcome.status


@app.task(base=AdministrationTask, name="messaging.send_messages", ignore_result=True)
def send_messages(message_ids: list[int]) -> dict[str, int]:
    """A batch: each row claimed and sent on its own (``services.messages_send``); retries one by one."""
    from .services import messages_send

    counts: dict[str, int] = {}
    for message_id, outcome in messages_send(message_ids=message_ids).items():
        _requeue(message_id, outcome)
        counts[str(outcome.status)] = counts.get(str(outcome.status), 0) + 1
    return counts


SWEEP_ROUNDS = 20  # with batches of 5,000: up to 100,000 rows put on the broker per run


@app.task(base=AdministrationTask, name="messaging.sweep", ignore_result=True)
def sweep() -> int:
    from .services import SWEEP_BATCH, outbox_sweep

    total = 0
    for _ in range(SWEEP_ROUNDS):
        ids = outbox_sweep()
        queued = enqueue(ids)
        total += queued
        if len(ids) < SWEEP_BATCH or queued < len(ids):  # all taken, or the broker is down
            break
    return total


@app.task(base=PlatformTask, name="messaging.sweep_all", ignore_result=True)
def sweep_all() -> int:
    """Every minute (beat): one sweep per active administration, in its schema."""
    return send_to_active_administrations(sweep)
