"""The agent's appointment page shows the notifications written for it, under the policy's visibility."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from tests.conftest import login_client
from tests.scheduling.api_world import build_world


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def test_an_agent_sees_the_appointment_with_its_notifications_and_history(world):
    appointment = world.appointments["pmi_appt"]
    page = login_client(world.administration, world.agents["basic"].user).get(f"/agents/rdv/{appointment.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert world.pmi_type.name in text and str(world.citizen) in text
    assert "Notifications" in text and "RDV confirmé" in text  # the usager's confirmation row
    assert "Création par" in text
    assert list(page.context["notifications"]) and all(
        row.appointment_id == appointment.pk for row in page.context["notifications"]
    )


def test_invisible_appointments_are_404_and_visitors_sign_in(world):
    other = world.appointments["other_appt"]
    basic = login_client(world.administration, world.agents["basic"].user)
    assert basic.get(f"/agents/rdv/{other.pk}/").status_code == 404
    assert basic.get("/agents/rdv/99999999/").status_code == 404
    anonymous = Client(HTTP_HOST=world.administration.primary_domain)
    assert anonymous.get(f"/agents/rdv/{other.pk}/").status_code == 302


def test_an_account_without_agent_profile_gets_a_french_403(world):
    response = login_client(world.administration, world.no_profile).get(
        f"/agents/rdv/{world.appointments['pmi_appt'].pk}/"
    )
    assert response.status_code == 403 and "profil d'agent" in html.unescape(response.content.decode())
