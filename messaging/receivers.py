"""Subscriptions to ``scheduling.events``. Receivers run inside the transaction of the change, so the
outbox rows they write commit or roll back with it. The decisions are in ``messaging.services``."""

from scheduling import events

from . import services


def appointment_booked(sender, *, appointment, actor, participations=None, **kwargs):
    services.on_appointment_booked(appointment=appointment, actor=actor)


def appointment_moved(sender, *, appointment, actor, previous, **kwargs):
    services.on_appointment_moved(appointment=appointment, actor=actor, previous=previous)


def appointment_cancelled(sender, *, appointment, actor, status, **kwargs):
    services.on_appointment_cancelled(appointment=appointment, actor=actor, status=status)


def appointment_status_changed(sender, *, appointment, actor, previous_status, status, **kwargs):
    services.on_appointment_status_changed(appointment=appointment, actor=actor, previous_status=previous_status,
                                           status=status)


def participant_added(sender, *, appointment, actor, participation, **kwargs):
    services.on_participant_added(appointment=appointment, actor=actor, participation=participation)


def participant_removed(sender, *, appointment, actor, participation, **kwargs):
    services.on_participant_removed(appointment=appointment, actor=actor, participation=participation)


def appointment_deleted(sender, *, appointment, actor, reason=None, **kwargs):
    services.on_appointment_deleted(appointment=appointment, actor=actor, reason=reason)


def connect() -> None:
    for signal, receiver in (
        (events.appointment_booked, appointment_booked),
        (events.appointment_moved, appointment_moved),
        (events.appointment_cancelled, appointment_cancelled),
        (events.appointment_status_changed, appointment_status_changed),
        (events.participant_added, participant_added),
        (events.participant_removed, participant_removed),
        (events.appointment_deleted, appointment_deleted),
    ):
        signal.connect(receiver, dispatch_uid=f"messaging.{receiver.__name__}")
