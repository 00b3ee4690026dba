"""The agent's calendar feed: a secret address listing his appointments, cancelled ones marked, nobody
else's, no usager names; replaced from his settings page."""

from __future__ import annotations

import icalendar
import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from scheduling.models import Agent
from scheduling.services import Actor, appointment_set_status
from tests.conftest import login_client
from tests.scheduling.api_world import build_world


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def feed(world, token):
    return Client(HTTP_HOST=world.administration.primary_domain).get(f"/agenda/{token}.ics")


def events_of(response):
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_the_feed_lists_the_agents_appointments_and_marks_cancelled_ones(world):
    basic = world.agents["basic"]
    with tenant_context(world.administration):
        appointment_set_status(appointment=world.appointments["pmi_appt"], status="revoked",
                               actor=Actor.for_agent(world.agents["admin"]))
    response = feed(world, basic.calendar_token)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    events = events_of(response)
    mine = {world.appointments[name].uuid for name in ("pmi_appt", "assigned_appt")}
    assert {uid.split("@")[0] for uid in events} == {str(uuid) for uuid in mine}
    cancelled = events[f"{world.appointments['pmi_appt'].uuid}@{world.administration.schema_name}"]
    assert cancelled["STATUS"] == "CANCELLED" and str(cancelled["SUMMARY"]).startswith("Annulé : ")
    assert cancelled["DTSTART"].params["TZID"] == "Europe/Paris"
    fields = [str(event.get(name, "")) for event in events.values() for name in ("SUMMARY", "DESCRIPTION", "LOCATION")]
    for citizen in (world.citizen, world.other_citizen):
        assert not [field for field in fields if str(citizen) in field or (citizen.email and citizen.email in field)]
    assigned = events[f"{world.appointments['assigned_appt'].uuid}@{world.administration.schema_name}"]
    assert str(assigned["SUMMARY"]) == f"RDV {world.social_type.name} (1 usager)" and assigned["STATUS"] == "CONFIRMED"


def test_unknown_or_replaced_addresses_are_404(world, administration_b):
    basic = world.agents["basic"]
    assert feed(world, "pas-un-jeton").status_code == 404
    for odd in ("%00" * 20, "a%00" + "b" * 30, "é" * 20, "x" * 500):  # never a 500, never a query
        assert feed(world, odd).status_code == 404
    page = login_client(world.administration, basic.user)
    settings_page = page.get("/agents/parametres/agenda/")
    assert basic.calendar_token in settings_page.content.decode() and "webcal://" in settings_page.content.decode()
    assert page.post("/agents/parametres/agenda/", follow=True).status_code == 200
    with tenant_context(world.administration):
        new_token = Agent.objects.get(pk=basic.pk).calendar_token
    assert new_token != basic.calendar_token
    assert feed(world, basic.calendar_token).status_code == 404
    assert feed(world, new_token).status_code == 200
    # Another administration never answers for this token.
    other = Client(HTTP_HOST=administration_b.primary_domain).get(f"/agenda/{new_token}.ics")
    assert other.status_code == 404


def test_the_settings_page_needs_a_sign_in(world):
    anonymous = Client(HTTP_HOST=world.administration.primary_domain)
    assert anonymous.get("/agents/parametres/agenda/").status_code == 302
    assert anonymous.post("/agents/parametres/agenda/").status_code == 302
