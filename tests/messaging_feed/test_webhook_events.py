"""Webhooks beyond appointments: plages d'ouverture, absences, usagers and participations announce their
changes to the subscribed endpoints of the organisations concerned, signed like RDV Service Public's."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from messaging.models import Channel, Message, WebhookEndpoint
from messaging.services import message_send
from tests.scheduling.api_world import MONDAY, build_world
from tests.scheduling.factories import AbsenceFactory


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def hooks(world, model):
    with tenant_context(world.administration):
        return [(row.context["event"], row.context["data"]["id"], row.webhook_endpoint.organisation_id)
                for row in Message.objects.filter(channel=Channel.WEBHOOK, context__model=model).order_by("id")]


@pytest.fixture
def endpoints(world):
    with tenant_context(world.administration):
        everything = WebhookEndpoint.objects.create(
            organisation=world.org, target_url="https://recepteur.example.fr/rdv", secret="s3cret",
            subscriptions=["absence", "availability", "citizen", "participation"],
        )
        WebhookEndpoint.objects.create(  # another organisation, appointments only
            organisation=world.other_org, target_url="https://nord.example.fr/rdv", secret="x",
            subscriptions=["appointment"],
        )
    return everything


def test_plages_and_absences_are_announced_to_their_organisations(world, endpoints):
    client = world.client("basic")
    created = client.post("/api/v1/availabilities/", {
        "agent": world.agents["basic"].pk, "organisation": world.org.pk, "location": world.location.pk,
        "appointment_types": [world.pmi_type.pk], "first_day": str(MONDAY + timedelta(days=56)),
        "start_time": "14:00", "end_time": "17:00",
    }, content_type="application/json")
    assert created.status_code == 201, created.content
    plage = created.json()["id"]
    assert client.patch(f"/api/v1/availabilities/{plage}/", {"end_time": "16:00"},
                        content_type="application/json").status_code == 200
    with tenant_context(world.administration):
        AbsenceFactory(agent=world.agents["basic"], first_day=MONDAY + timedelta(days=70)).delete()
        AbsenceFactory(agent=world.agents["outsider"], first_day=MONDAY + timedelta(days=70))  # other org only
    assert hooks(world, "PlageOuverture") == [("created", plage, world.org.pk), ("updated", plage, world.org.pk)]
    assert [event for event, _, _ in hooks(world, "Absence")] == ["created", "destroyed"]


def test_usagers_are_announced_when_linked_and_when_deleted(world, endpoints):
    created = world.client("basic").post("/api/v1/citizens/", {"first_name": "Lina", "last_name": "Morel"},
                                         content_type="application/json").json()
    with tenant_context(world.administration):
        from scheduling.models import Citizen

        citizen = Citizen.objects.get(pk=created["id"])
        citizen.deleted_at = citizen.created_at
        citizen.save()
    pk = created["id"]
    assert hooks(world, "User") == [("created", pk, world.org.pk), ("destroyed", pk, world.org.pk)]


def test_a_participation_change_is_delivered_signed(world, endpoints, httpserver):
    with tenant_context(world.administration):
        participation = world.appointments["pmi_appt"].participations.get()
        endpoints.target_url = httpserver.url_for("/rdv")
        endpoints.save()
    httpserver.expect_request("/rdv", method="POST").respond_with_data("ok")
    response = world.client("basic").post(f"/api/v1/participations/{participation.pk}/status/", {"status": "seen"},
                                          content_type="application/json")
    assert response.status_code == 200
    with tenant_context(world.administration):
        row = Message.objects.get(channel=Channel.WEBHOOK, context__model="Participation")
        assert message_send(message_id=row.pk).status == "sent"
    request = httpserver.log[0][0]
    body = request.get_data()
    assert request.headers["X-Lapin-Signature"] == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["meta"]["model"] == "Participation" and payload["meta"]["event"] == "updated"
    assert payload["data"]["status"] == "seen" and payload["data"]["rdv"]["id"] == world.appointments["pmi_appt"].pk


def test_nothing_is_written_without_a_subscribed_endpoint(world):
    with tenant_context(world.administration):
        AbsenceFactory(agent=world.agents["basic"], first_day=MONDAY + timedelta(days=70))
        assert not Message.objects.filter(channel=Channel.WEBHOOK).exists()
