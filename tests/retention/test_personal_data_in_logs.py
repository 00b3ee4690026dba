"""Logs and Sentry carry no personal data: a known name, e-mail and phone go through a booking, its e-mails
and SMS (the SMS through the production provider's client, pointed at a local fake server), the usager's
back-office page and a retention run; no log record at DEBUG holds any of them. Sentry's scrubber removes
them from an event."""

from __future__ import annotations

import json
import logging

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from config.sentry import _scrub
from messaging.models import Channel, Message, MessageStatus, MessagingSettings
from messaging.services import message_send
from messaging.sms.brevo import SEND_PATH, BrevoProvider
from public_booking.services import journey_book
from retention.services import retention_apply
from scheduling.models import Citizen
from tests.conftest import login_client
from tests.public_booking.journey_world import a_slot_after, build_world

FIRST_NAME, LAST_NAME = "Zéphyrine", "Quenouillard"
EMAIL = "zephyrine.quenouillard@exemple.fr"
PHONE = "+33798765432"
SECRETS = (FIRST_NAME, LAST_NAME, EMAIL, PHONE, "0798765432", "98765432")
OUR_LOGGERS = ("", "scheduling", "messaging", "messaging.sms", "public_booking", "retention", "tenants", "config",
               "django", "django.request", "celery", "urllib3")


@pytest.fixture
def everything_logged(caplog):
    """Every record of the root and of our loggers, at DEBUG."""
    levels = {}
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


def test_a_booking_leaves_no_personal_data_in_the_logs(administration_a, httpserver, everything_logged):
    world = build_world(administration_a)
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_json({"messageId": 4242}, status=201)
    with tenant_context(administration_a):
        settings_row = MessagingSettings.load()
        settings_row.sms_provider = BrevoProvider.name
        settings_row.set_sms_credentials({"api_key": "cle-de-test", "base_url": httpserver.url_for(""), "timeout": 2})
        settings_row.save()
        slot = a_slot_after(world.open_type)
        appointment = journey_book(
            appointment_type=world.open_type, starts_at=slot.starts_at, location=world.north_place,
            agent_ids=[world.north_agent.pk], contact={"first_name": FIRST_NAME, "last_name": LAST_NAME,
                                                       "email": EMAIL, "phone": PHONE},
        )
        rows = list(Message.objects.filter(appointment=appointment, status=MessageStatus.PENDING,
                                           send_after__isnull=True).exclude(channel=Channel.WEBHOOK))
        assert {row.channel for row in rows} >= {Channel.EMAIL, Channel.SMS}
        for row in rows:
            assert message_send(message_id=row.pk).status == MessageStatus.SENT
        citizen = Citizen.objects.get(email=EMAIL)
    assert any(EMAIL in message.to for message in mail.outbox), "the e-mail did leave"
    assert PHONE.lstrip("+") in httpserver.log[0][0].get_data(as_text=True), "the SMS did leave"
    agent = login_client(administration_a, world.north_agent.user)
    assert agent.get(f"/agents/usagers/{citizen.pk}/").status_code == 200
    assert agent.get(f"/agents/usagers/?q={LAST_NAME}").status_code == 200
    assert agent.get(f"/agents/usagers/{citizen.pk}/donnees-rgpd/").status_code == 200
    with tenant_context(administration_a):
        retention_apply(dry_run=True)

    records = [record for record in everything_logged.records if not record.name.startswith(("factory", "faker"))]
    assert records, "the capture works (the fake server and the run log something)"
    text = "\n".join(f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in records)
    assert _leaks(text) == [], text


def test_sentry_events_lose_names_addresses_and_numbers(administration_a):
    event = {
        "user": {"email": EMAIL},
        "message": f"Envoi impossible à {EMAIL} ou au 07 98 76 54 32",
        "logentry": {"message": "Could not send message %s to %s", "params": [12, EMAIL],
                     "formatted": f"Could not send message 12 to {EMAIL}"},
        "exception": {"values": [{
            "type": "ValidationError", "value": f"Adresse refusée : {EMAIL}, numéro {PHONE}",
            "stacktrace": {"frames": [{"function": "journey_book", "vars": {
                "contact": {"first_name": FIRST_NAME, "last_name": LAST_NAME, "email": EMAIL, "phone": PHONE}}}]},
        }]},
        "breadcrumbs": {"values": [
            {"category": "query", "message": f"SELECT … WHERE last_name = '{LAST_NAME}'", "data": {"p": FIRST_NAME}},
        ]},
        "extra": {"citizen": f"{FIRST_NAME} {LAST_NAME}"},
        "request": {"url": "http://test-a.localhost/rdv/", "data": {"phone": PHONE}, "query_string": f"q={LAST_NAME}",
                    "headers": {"User-Agent": "x"}},
    }
    with tenant_context(administration_a):
        scrubbed = _scrub(event, None)
    dumped = json.dumps(scrubbed, ensure_ascii=False)
    assert _leaks(dumped) == [], dumped
    assert scrubbed["exception"]["values"][0]["type"] == "ValidationError"
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["function"] == "journey_book"
    assert scrubbed["logentry"]["message"] == "Could not send message %s to %s"
    assert scrubbed["tags"]["schema"] == administration_a.schema_name
