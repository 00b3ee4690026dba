"""Webhooks for what is not an appointment: absences, plages d'ouverture, usagers and participations.

These objects are written by plain saves (API serializers, admin), so their changes are heard through
Django's model signals, which run inside the saving transaction: the outbox rows commit or roll back with
the change. Each subscribed endpoint of each organisation concerned gets one row; ``meta.model`` uses the
names RDV Service Public's receivers know (``Absence``, ``PlageOuverture``, ``User``, ``Participation``).
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from scheduling.models import Absence, AgentRole, Availability, Citizen, Participation

from .models import Channel, Kind, RecipientKind, WebhookEndpoint

Subscription = WebhookEndpoint.Subscription

# The ``webhook_reason`` of the rows written meanwhile (these changes are heard through model signals, which
# carry no argument of ours): ``with webhook_reason("rgpd"):`` around a purge.
_reason: ContextVar[str | None] = ContextVar("webhook_reason", default=None)


@contextmanager
def webhook_reason(reason: str):
    token = _reason.set(reason)
    try:
        yield
    finally:
        _reason.reset(token)


def _absence(absence: Absence) -> tuple[set[int], dict]:
    organisations = set(AgentRole.objects.filter(agent_id=absence.agent_id).values_list("organisation_id", flat=True))
    return organisations, {
        "id": absence.pk, "title": absence.title, "agent": {"id": absence.agent_id},
        "first_day": absence.first_day.isoformat(), "start_time": absence.start_time.isoformat(),
        "end_day": absence.end_day.isoformat(),
        "end_time": absence.end_time.isoformat(), "recurrence": absence.recurrence,
    }


def _availability(availability: Availability) -> tuple[set[int], dict]:
    return {availability.organisation_id}, {
        "id": availability.pk, "title": availability.title, "agent": {"id": availability.agent_id},
        "organisation": {"id": availability.organisation_id}, "lieu": {"id": availability.location_id},
        "first_day": availability.first_day.isoformat(), "start_time": availability.start_time.isoformat(),
        "end_time": availability.end_time.isoformat(), "recurrence": availability.recurrence,
        "weekdays": list(availability.weekdays or []), "until": availability.until.isoformat() if availability.until
        else None,
    }


def _citizen(citizen: Citizen, organisations: set[int] | None = None) -> tuple[set[int], dict]:
    if organisations is None:
        organisations = set(citizen.organisations.values_list("pk", flat=True))
    return organisations, {
        "id": citizen.pk, "first_name": citizen.first_name, "last_name": citizen.last_name,
        "birth_name": citizen.birth_name, "birth_date": citizen.birth_date.isoformat() if citizen.birth_date else None,
        "email": citizen.email, "phone_number": citizen.phone, "address": citizen.address,
        "responsible": {"id": citizen.responsible_id} if citizen.responsible_id else None,
    }


def _participation(participation: Participation) -> tuple[set[int], dict]:
    appointment = participation.appointment
    return {appointment.organisation_id}, {
        "id": participation.pk, "status": participation.status, "rdv": {"id": appointment.pk,
                                                                         "uuid": str(appointment.uuid)},
        "user": {"id": participation.citizen_id},
    }


DESCRIBE = {Absence: _absence, Availability: _availability, Citizen: _citizen, Participation: _participation}
SUBSCRIPTIONS = {Absence: Subscription.ABSENCE, Availability: Subscription.AVAILABILITY, Citizen: Subscription.CITIZEN,
                 Participation: Subscription.PARTICIPATION}
MODEL_NAMES = {Absence: "Absence", Availability: "PlageOuverture", Citizen: "User", Participation: "Participation"}


def write(instance, event: str, *, organisations: set[int] | None = None) -> int:
    """One outbox row per subscribed endpoint of the organisations concerned. Returns the number written.
    The endpoints are read first (one query): without any, nothing else is read."""
    from .services import _Batch

    model = type(instance)
    subscription = SUBSCRIPTIONS[model]
    endpoints = list(WebhookEndpoint.objects.filter(subscriptions__contains=[subscription]))
    if not endpoints:
        return 0
    if model is Citizen and organisations is not None:
        concerned, data = _citizen(instance, organisations)
    else:
        concerned, data = DESCRIBE[model](instance)
    endpoints = [endpoint for endpoint in endpoints if endpoint.organisation_id in concerned]
    if not endpoints:
        return 0
    now = timezone.now()
    batch = _Batch(event_id=f"{MODEL_NAMES[model]}-{instance.pk}-{event}-{uuid.uuid4().hex}", now=now)
    payload = {"data": data, "model": MODEL_NAMES[model], "event": event, "timestamp": now.isoformat(),
               "reason": _reason.get()}
    for endpoint in endpoints:
        batch.add(("webhook", endpoint.pk), channel=Channel.WEBHOOK, recipient=endpoint.target_url[:500],
                  recipient_kind=RecipientKind.WEBHOOK, kind=Kind.WEBHOOK, webhook_endpoint=endpoint, context=payload)
    return len(batch.save())


def _saved(sender, instance, created, raw=False, **kwargs):
    if raw:  # fixtures
        return
    if sender is Citizen and instance.deleted_at is not None:
        write(instance, "destroyed")
    elif not (sender is Citizen and created):  # a new usager is announced when linked to an organisation
        write(instance, "created" if created else "updated")


def _deleted(sender, instance, **kwargs):
    write(instance, "destroyed")


def _citizen_organisations(sender, instance, action, pk_set, reverse=False, **kwargs):
    if action == "post_add" and not reverse and pk_set:
        write(instance, "created", organisations=set(pk_set))


def connect() -> None:
    for model in DESCRIBE:
        post_save.connect(_saved, sender=model, dispatch_uid=f"messaging.webhook.saved.{model.__name__}")
        if model is not Participation:  # a participation goes with its Rdv, whose webhook says "destroyed"
            post_delete.connect(_deleted, sender=model, dispatch_uid=f"messaging.webhook.deleted.{model.__name__}")
    m2m_changed.connect(_citizen_organisations, sender=Citizen.organisations.through,
                        dispatch_uid="messaging.webhook.citizen_organisations")
