"""Invitations: an agent generates a signed link (TimestampSigner, short expiry) for a usager to book a
type or a type of a service; opening it signs the usager in for a short time (session only) and shows only
what he is invited to; tampered or expired links get a French page."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.utils import timezone
from django_tenants.utils import tenant_context

from public_booking import self_service as rules
from scheduling.models import Appointment, AppointmentType
from scheduling.selectors import slots_for
from tests.conftest import login_client, make_client
from tests.public_booking.selfservice_world import build_world
from tests.scheduling.factories import AgentFactory, AppointmentTypeFactory, CitizenFactory


@pytest.fixture
def world(administration_a):
    with tenant_context(administration_a):
        world = build_world(bookable_by=AppointmentType.BookableBy.AGENTS_PRESCRIBERS_AND_INVITED)
        world.other_type = AppointmentTypeFactory(organisation=world.organisation, service=world.service,
                                                  bookable_by=AppointmentType.BookableBy.AGENTS_PRESCRIBERS_AND_INVITED,
                                                  name="Autre motif invité")
        world.invited = CitizenFactory(first_name="Paul", email="paul@exemple.fr")
        return world


def _token(world, **kwargs):
    with_kind = kwargs or {"appointment_type": world.kind}
    return rules.invitation_token(citizen=world.invited, **with_kind)


def test_link_opens_a_short_session_showing_only_the_invited_type(world, administration_a, client_a):
    with tenant_context(administration_a):
        token = _token(world)
    response = client_a.get(f"/invitation-rdv/{token}/")
    assert response.status_code == 302 and response["Location"] == "/invitation-rdv/"
    html = client_a.get("/invitation-rdv/").content.decode()
    assert "Bonjour Paul" in html and world.kind.name in html and "Autre motif invité" not in html
    assert client_a.get(f"/invitation-rdv/motif/{world.other_type.pk}/").status_code == 404
    # Not signed in with an account: "Mes rendez-vous" still needs one.
    assert client_a.get("/mes-rendez-vous/").status_code == 302


def test_service_invitation_shows_the_service_types(world, administration_a, client_a):
    with tenant_context(administration_a):
        token = _token(world, service=world.service)
    client_a.get(f"/invitation-rdv/{token}/")
    html = client_a.get("/invitation-rdv/").content.decode()
    assert world.kind.name in html and "Autre motif invité" in html


def test_invited_usager_books(world, administration_a, client_a):
    with tenant_context(administration_a):
        token = _token(world)
        after = timezone.now() + timedelta(days=2)
        starts_at = slots_for(appointment_type=world.kind, start=after, end=after + timedelta(days=1),
                              location_id=world.location.pk)[0].starts_at
    client_a.get(f"/invitation-rdv/{token}/")
    page = client_a.get(f"/invitation-rdv/motif/{world.kind.pk}/")
    assert 'name="starts_at"' in page.content.decode()
    response = client_a.post(f"/invitation-rdv/motif/{world.kind.pk}/",
                             {"starts_at": starts_at.isoformat(), "lieu": world.location.pk})
    assert response.status_code == 302
    with tenant_context(administration_a):
        appointment = Appointment.objects.get(starts_at=starts_at)
        assert appointment.participations.get().citizen == world.invited
        assert appointment.created_by == Appointment.CreatedBy.CITIZEN
    assert response["Location"] == f"/rdv/{appointment.uuid}/"


def test_tampered_links_get_a_french_page(world, administration_a, client_a):
    with tenant_context(administration_a):
        token = _token(world)
    value, signature = token.rsplit(":", 1)
    forged = signing.TimestampSigner(salt="autre").sign_object({"c": world.invited.pk, "t": world.kind.pk, "s": None})
    for bad in (token[:-2] + "xx", "nimportequoi", value, forged, token.replace(":", "::"), "%00", "a" * 500):
        response = client_a.get(f"/invitation-rdv/{bad}/")
        assert response.status_code in (400, 404), bad
        if response.status_code == 400:
            assert "pas valide" in response.content.decode()
    assert client_a.get("/invitation-rdv/").status_code == 403


def test_expired_link(world, administration_a, client_a):
    with tenant_context(administration_a):
        token = _token(world)
    later = timezone.now().timestamp() + rules.INVITATION_MAX_AGE.total_seconds() + 60
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client_a.get(f"/invitation-rdv/{token}/")
    assert response.status_code == 400 and "expiré" in response.content.decode()


def test_session_ends_after_a_short_time(world, administration_a, client_a):
    with tenant_context(administration_a):
        token = _token(world)
    client_a.get(f"/invitation-rdv/{token}/")
    later = timezone.now() + rules.INVITATION_SESSION_LENGTH + timedelta(minutes=1)
    with mock.patch("public_booking.views.self_service.timezone.now", return_value=later):
        response = client_a.get("/invitation-rdv/")
    assert response.status_code == 403 and "expiré" in response.content.decode()


def test_invitation_of_a_deleted_usager_is_refused(world, administration_a, client_a):
    with tenant_context(administration_a):
        token = _token(world)
        world.invited.deleted_at = timezone.now()
        world.invited.save()
    assert client_a.get(f"/invitation-rdv/{token}/").status_code == 400


def test_token_of_another_administration_names_nobody_there(world, administration_a, administration_b):
    with tenant_context(administration_a):
        token = _token(world)
    client_b = make_client(administration_b)
    response = client_b.get(f"/invitation-rdv/{token}/")
    # Same secret key, but the usager id does not exist (or is someone else) in B: ids are per schema.
    with tenant_context(administration_b):
        from scheduling.models import Citizen

        exists = Citizen.objects.filter(pk=world.invited.pk).exists()
    assert response.status_code == (302 if exists else 400)


# --- Agent side ----------------------------------------------------------------------------------

@pytest.fixture
def agent_client(world, administration_a):
    with tenant_context(administration_a):
        agent = AgentFactory(services=[world.service], organisation=world.organisation,
                             organisation__level="admin")
        world.invited.organisations.add(world.organisation)
    return login_client(administration_a, agent.user)


def test_agent_generates_a_link(world, administration_a, agent_client):
    page = agent_client.get(f"/agents/invitations/nouvelle/?usager={world.invited.pk}")
    assert page.status_code == 200 and str(world.invited) in page.content.decode()
    response = agent_client.post("/agents/invitations/nouvelle/",
                                 {"citizen": world.invited.pk, "appointment_type": world.kind.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "/invitation-rdv/" in html
    link = html.split('id="invitation-link" type="text" readonly value="')[1].split('"')[0]
    token = link.split("/invitation-rdv/")[1].rstrip("/")
    with tenant_context(administration_a):
        invitation = rules.invitation_read(token.replace("&#x27;", "'"))
    assert invitation["citizen"] == world.invited and invitation["type_id"] == world.kind.pk


@pytest.mark.parametrize("data", [
    {}, {"citizen": "abc"}, {"citizen": "999999", "service": "1"}, {"citizen": "{invited}"},
    {"citizen": "{invited}", "appointment_type": "{kind}", "service": "{service}"},
    {"citizen": "{invited}", "appointment_type": "999999"}, {"citizen": "{invited}", "service": "x"},
])
def test_agent_bad_input(world, agent_client, data):
    values = {k: v.format(invited=world.invited.pk, kind=world.kind.pk, service=world.service.pk)
              for k, v in data.items()}
    response = agent_client.post("/agents/invitations/nouvelle/", values)
    assert response.status_code == 400
    assert "invitation-link" not in response.content.decode()


def test_agent_cannot_invite_a_usager_he_does_not_see(world, administration_a):
    with tenant_context(administration_a):
        from tests.scheduling.factories import OrganisationFactory, ServiceFactory

        outsider_org = OrganisationFactory()
        outsider = AgentFactory(services=[ServiceFactory()], organisation=outsider_org)
    client = login_client(administration_a, outsider.user)
    response = client.post("/agents/invitations/nouvelle/",
                           {"citizen": world.invited.pk, "appointment_type": world.kind.pk})
    assert response.status_code == 400


def test_agent_page_personas(world, administration_a, client_a, agent_b):
    assert client_a.get("/agents/invitations/nouvelle/").status_code == 302
    with tenant_context(administration_a):
        usager_user = world.user
    assert login_client(administration_a, usager_user).get("/agents/invitations/nouvelle/").status_code == 403


def test_guessing_tokens_is_rate_limited(world, client_a, settings):
    settings.PUBLIC_RATE_LIMITS = {"otp_verify": (3, 600)}
    statuses = [client_a.get(f"/invitation-rdv/essai{n}/").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_opening_the_link_also_opens_the_invited_type_in_the_journey(world, administration_a, client_a):
    with tenant_context(administration_a):
        token = _token(world)
    client_a.get(f"/invitation-rdv/{token}/")
    assert client_a.session["journey_invited_type_ids"] == [world.kind.pk]


# --- Persona matrix of the agent page ------------------------------------------------------------

@pytest.fixture
def personas(administration_a):
    from tests.scheduling.api_world import build_world as build_api_world

    return build_api_world(administration_a)


@pytest.mark.parametrize(("persona", "expected"), [
    ("basic", 200), ("colleague", 400), ("secretary", 200), ("admin", 200), ("outsider", 400),
    ("no_profile", 403), ("anonymous", 302),
])
def test_agent_invitation_persona_matrix(personas, administration_a, persona, expected):
    if persona == "anonymous":
        client = make_client(administration_a)
    elif persona == "no_profile":
        client = login_client(administration_a, personas.no_profile)
    else:
        client = login_client(administration_a, personas.agents[persona].user)
    response = client.post("/agents/invitations/nouvelle/",
                           {"citizen": personas.citizen.pk, "appointment_type": personas.pmi_type.pk})
    assert response.status_code == expected
    assert ("invitation-link" in response.content.decode()) == (expected == 200)


def test_agent_of_another_administration(personas, administration_b, agent_b):
    client = login_client(administration_b, agent_b)
    response = client.post("/agents/invitations/nouvelle/",
                           {"citizen": personas.citizen.pk, "appointment_type": personas.pmi_type.pk})
    assert response.status_code == 403
