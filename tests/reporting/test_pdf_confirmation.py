"""The usager's printable confirmation (PDF): from the manage link and from the agent's appointment page."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from scheduling.models import AppointmentType
from scheduling.services import Actor, appointment_set_status
from tests.conftest import login_client
from tests.reporting.pdf_support import page_image, pdf_text
from tests.scheduling.api_world import TUESDAY, build_world


@pytest.fixture
def world(administration_a):
    world = build_world(administration_a)
    with tenant_context(administration_a):
        world.org.phone = "04 75 00 00 00"
        world.org.address = "12 rue des Alpes, 26000 Valence"
        world.org.save()
        world.pmi_type.instructions = "Apportez le carnet de santé de l'enfant."
        world.pmi_type.save()
    return world


def _public(world) -> Client:
    return Client(HTTP_HOST=world.administration.primary_domain)


def _date_fr(day) -> str:
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre"]
    return f"{day.day} {months[day.month - 1]} {day.year}"


def test_the_usager_downloads_his_confirmation_from_the_manage_link(world):
    appointment = world.appointments["pmi_appt"]
    response = _public(world).get(f"/rdv/{appointment.uuid}/confirmation.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"] and ".pdf" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    assert "Confirmation de rendez-vous" in text
    assert f"RDV-{appointment.pk:06d}" in text
    assert "Consultation PMI" in text and "PMI" in text
    assert _date_fr(TUESDAY) in text and "09:00" in text and "Europe/Paris" in text  # local time, 09:00 Paris
    assert "Centre" in text and "1 place de la Mairie, 26000 Valence" in text
    assert "Apportez le carnet de santé de l'enfant." in text
    assert str(world.citizen) in text
    assert f"/rdv/{appointment.uuid}/" in text and "04 75 00 00 00" in text  # how to cancel or move
    assert "Département A" in text  # the header: the administration's name
    assert "Page 1 / 1" in text
    image = page_image(response.content)
    assert image.width > 500 and image.height > 800  # A4, portrait
    assert image.convert("L").getextrema()[0] < 100  # something dark is printed on it


def test_the_manage_page_links_to_the_confirmation(world):
    appointment = world.appointments["pmi_appt"]
    page = _public(world).get(f"/rdv/{appointment.uuid}/")
    assert page.status_code == 200
    assert f"/rdv/{appointment.uuid}/confirmation.pdf" in page.content.decode()
    assert "Télécharger la confirmation (PDF)" in page.content.decode()


def test_an_unknown_link_is_a_404_and_another_administration_does_not_know_it(world, client_b):
    assert _public(world).get(f"/rdv/{uuid.uuid4()}/confirmation.pdf").status_code == 404
    appointment = world.appointments["pmi_appt"]
    assert client_b.get(f"/rdv/{appointment.uuid}/confirmation.pdf").status_code == 404


def test_a_cancelled_appointment_gives_a_pdf_that_says_so(world):
    appointment = world.appointments["pmi_appt"]
    with tenant_context(world.administration):
        appointment_set_status(appointment=appointment, status="revoked", actor=Actor.for_agent(world.agents["admin"]))
    text = pdf_text(_public(world).get(f"/rdv/{appointment.uuid}/confirmation.pdf").content)
    assert "Rendez-vous annulé" in text and "Il n'aura pas lieu" in text
    assert "Confirmation de rendez-vous" not in text
    assert "carnet de santé" not in text  # no instructions
    assert "Annuler ou déplacer" not in text


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (AppointmentType.Mode.PHONE, "un agent vous appellera"),
        (AppointmentType.Mode.VIDEO, "le lien de connexion vous sera communiqué"),
        (AppointmentType.Mode.HOME, "un agent se rendra à l'adresse"),
    ],
)
def test_the_mode_replaces_the_place_when_not_in_person(world, mode, expected):
    appointment = world.appointments["pmi_appt"]
    with tenant_context(world.administration):
        AppointmentType.objects.filter(pk=world.pmi_type.pk).update(mode=mode)
    text = pdf_text(_public(world).get(f"/rdv/{appointment.uuid}/confirmation.pdf").content)
    assert expected in text and "Modalité" in text


def test_a_type_the_usager_cannot_change_online_says_to_call(world):
    appointment = world.appointments["pmi_appt"]
    with tenant_context(world.administration):
        AppointmentType.objects.filter(pk=world.pmi_type.pk).update(citizen_can_cancel=False, citizen_can_move=False)
    text = pdf_text(_public(world).get(f"/rdv/{appointment.uuid}/confirmation.pdf").content)
    assert "ne peut pas être annulé ou déplacé en ligne" in text and "Appelez le 04 75 00 00 00" in text


def test_agents_get_the_confirmation_of_what_they_see_only(world):
    appointment = world.appointments["pmi_appt"]
    basic = login_client(world.administration, world.agents["basic"].user)
    response = basic.get(f"/agents/rdv/{appointment.pk}/confirmation.pdf")
    assert response.status_code == 200 and "Consultation PMI" in pdf_text(response.content)
    # invisible (another organisation), unknown: 404 alike
    assert basic.get(f"/agents/rdv/{world.appointments['other_appt'].pk}/confirmation.pdf").status_code == 404
    assert basic.get("/agents/rdv/99999999/confirmation.pdf").status_code == 404
    # the colleague of another service sees neither
    colleague = login_client(world.administration, world.agents["colleague"].user)
    assert colleague.get(f"/agents/rdv/{appointment.pk}/confirmation.pdf").status_code == 404
    # the secretariat sees the whole organisation
    secretary = login_client(world.administration, world.agents["secretary"].user)
    assert secretary.get(f"/agents/rdv/{appointment.pk}/confirmation.pdf").status_code == 200
    # anonymous: sign in; no agent profile: French 403
    assert _public(world).get(f"/agents/rdv/{appointment.pk}/confirmation.pdf").status_code == 302
    refused = login_client(world.administration, world.no_profile).get(f"/agents/rdv/{appointment.pk}/confirmation.pdf")
    assert refused.status_code == 403 and "profil d" in refused.content.decode()


def test_the_agent_page_links_to_the_confirmation(world):
    appointment = world.appointments["pmi_appt"]
    page = login_client(world.administration, world.agents["basic"].user).get(f"/agents/rdv/{appointment.pk}/")
    assert f"/agents/rdv/{appointment.pk}/confirmation.pdf" in page.content.decode()
    assert "Confirmation PDF" in page.content.decode()


def test_an_agent_of_another_administration_gets_nothing(world, agent_b_client):
    appointment = world.appointments["pmi_appt"]
    response = agent_b_client.get(f"/agents/rdv/{appointment.pk}/confirmation.pdf")
    assert response.status_code in (403, 404)
    assert not response.content.startswith(b"%PDF")


def test_the_pdf_module_does_not_import_weasyprint():
    code = (
        "import django, sys; django.setup(); import reporting.pdf, reporting.documents, reporting.views.pdf; "
        "import reporting.tasks_pdf; print('weasyprint' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"



def test_a_collective_session_confirmation_prints_no_participant_names(world):
    from scheduling.services import appointment_create
    from tests.scheduling.api_world import at
    from tests.scheduling.factories import AppointmentTypeFactory, CitizenFactory

    with tenant_context(world.administration):
        kind = AppointmentTypeFactory(organisation=world.org, service=world.services["pmi"], name="Atelier parents",
                                      collective=True, default_capacity=10)
        other = CitizenFactory(first_name="Voisine", last_name="Inconnue")
        session = appointment_create(
            appointment_type=kind, starts_at=at(14, day=TUESDAY), agents=[world.agents["basic"]],
            citizens=[world.citizen, other], actor=Actor.for_agent(world.agents["basic"]), location=world.location,
            accept_warnings=True, title="Atelier du mardi",
        )
    text = pdf_text(_public(world).get(f"/rdv/{session.uuid}/confirmation.pdf").content)
    assert "Atelier du mardi" in text and "14:00" in text
    assert "Inconnue" not in text and str(world.citizen) not in text  # the link is shared by every participant


def test_the_time_is_the_organisation_local_time(world):
    from scheduling.models import Organisation

    appointment = world.appointments["pmi_appt"]  # Tuesday 09:00 in Paris
    with tenant_context(world.administration):
        Organisation.objects.filter(pk=world.org.pk).update(timezone="America/Cayenne")
        appointment.refresh_from_db()
    local = appointment.starts_at.astimezone(ZoneInfo("America/Cayenne"))
    text = pdf_text(_public(world).get(f"/rdv/{appointment.uuid}/confirmation.pdf").content)
    assert f"{local:%H:%M} (heure locale, America/Cayenne)" in text and local.hour in (4, 5)
