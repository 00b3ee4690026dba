"""Support staff search an administration's notifications in the console: what was sent, failed (why) or
skipped (why); operators don't; the search stays inside the chosen administration."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from messaging.models import Message
from scheduling.services import Actor, appointment_create
from tests.scheduling.api_world import TUESDAY, at, build_world
from tests.scheduling.factories import CitizenFactory

ADMIN_URL = "/console/tenants/administration/"


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def url(administration):
    return f"{ADMIN_URL}{administration.pk}/messages/"


def test_support_finds_the_messages_of_an_appointment_and_of_a_recipient(world, support_client):
    appointment = world.appointments["pmi_appt"]
    with tenant_context(world.administration):
        rows = list(Message.objects.filter(appointment=appointment))
    assert rows, "booking wrote its notifications"
    by_appointment = support_client.get(url(world.administration), {"text": str(appointment.uuid)})
    assert by_appointment.status_code == 200
    assert set(row.pk for row in by_appointment.context["rows"]) == {row.pk for row in rows}
    email_row = next(row for row in rows if row.channel == "email")
    by_recipient = support_client.get(url(world.administration), {"text": email_row.recipient.upper()})
    assert email_row.pk in {row.pk for row in by_recipient.context["rows"]}
    page = by_recipient.content.decode()
    assert email_row.get_status_display() in page and "Notifications" in page
    nothing = support_client.get(url(world.administration), {"text": "personne@nulle-part.fr", "status": "failed"})
    assert nothing.context["rows"] == [] and "Aucune notification ne correspond." in nothing.content.decode()


def test_a_french_number_is_searched_in_e164(world, support_client):
    with tenant_context(world.administration):
        citizen = CitizenFactory(phone="+33698765432", notify_by_sms=True)
        citizen.organisations.add(world.org)
        appointment_create(
            appointment_type=world.pmi_type, starts_at=at(16, day=TUESDAY), agents=[world.agents["basic"]],
            citizens=[citizen], actor=Actor.for_agent(world.agents["admin"]), location=world.location,
            accept_warnings=True,
        )
        sms = Message.objects.get(channel="sms", recipient="+33698765432", kind="booked")
    response = support_client.get(url(world.administration), {"text": "06 98 76 54 32"})
    rows = response.context["rows"]
    assert sms.pk in {row.pk for row in rows} and {row.recipient for row in rows} == {"+33698765432"}


def test_bad_filters_are_french_form_errors(world, support_client):
    response = support_client.get(url(world.administration), {"status": "perdu", "channel": "pigeon"})
    assert response.status_code == 200 and response.context["rows"] == []
    assert not response.context["form"].is_valid()
    assert "Sélectionnez un choix valide" in response.content.decode()


def test_operators_do_not_search_messages_and_other_administrations_stay_apart(
    world, support_client, operator_client, administration_b,
):
    assert operator_client.get(url(world.administration)).status_code == 403
    response = support_client.get(url(administration_b), {"text": str(world.appointments["pmi_appt"].uuid)})
    assert response.status_code == 200 and response.context["rows"] == []
    assert support_client.get(f"{ADMIN_URL}999999/messages/").status_code == 404
