"""Abuse of the administration host: oversized and malformed bodies, posts without CSRF token, ids of
another administration or of an organisation the agent may not see, tampered signed links. Each is refused
cleanly (a 4xx, in French where it is a page) and changes nothing."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from public_booking import self_service as rules
from scheduling.models import Appointment, AppointmentType, Citizen, Status
from tenants.accounts.services import agent_invite
from tests.conftest import login_client
from tests.public_booking.selfservice_world import book
from tests.public_booking.selfservice_world import build_world as build_public_world
from tests.scheduling.api_world import build_world as build_api_world
from tests.scheduling.factories import CitizenFactory

TOO_BIG = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024


@pytest.fixture
def public(administration_a):
    with tenant_context(administration_a):
        world = build_public_world(bookable_by=AppointmentType.BookableBy.AGENTS_PRESCRIBERS_AND_INVITED)
        world.appointment = book(world, timezone.now() + timedelta(days=3))
        return world


@pytest.fixture
def api(administration_a):
    return build_api_world(administration_a)


def status_of(administration, appointment) -> str:
    with tenant_context(administration):
        return Appointment.objects.get(pk=appointment.pk).status


def citizen_count(administration) -> int:
    with tenant_context(administration):
        return Citizen.objects.count()


def french_page(response) -> str:
    html = response.content.decode()
    assert 'lang="fr"' in html, html[:300]
    return html


# --- Oversized and malformed bodies ---------------------------------------------------------------

def test_oversized_form_post_is_refused_and_cancels_nothing(public, administration_a):
    # As in production, the CSRF check reads the form first: that read is what refuses the size.
    client = strict_client(administration_a)
    client.cookies["csrftoken"] = "a" * 32
    response = client.post(f"/rdv/{public.appointment.uuid}/annuler/",
                           {"csrfmiddlewaretoken": "a" * 32, "confirm": "1", "pad": "x" * TOO_BIG})
    assert response.status_code == 400
    assert "Demande invalide" in french_page(response)
    assert status_of(administration_a, public.appointment) == Status.UNKNOWN


def test_oversized_api_body_is_refused(api, administration_a):
    before = citizen_count(administration_a)
    body = json.dumps({"first_name": "A", "last_name": "x" * TOO_BIG})
    response = api.client("admin").post("/api/v1/citizens/", body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert citizen_count(administration_a) == before


@pytest.mark.parametrize(("body", "content_type"), [
    ("{\"first_name\": ", "application/json"),
    ("[1, 2, 3]", "application/json"),
    ("null", "application/json"),
    ("\"texte\"", "application/json"),
    ("first_name=Jean", "text/plain"),
    ("<citizen/>", "application/xml"),
    ("[" * 100_000 + "]" * 100_000, "application/json"),
    ("{\"a\": " * 5_000 + "1" + "}" * 5_000, "application/json"),
    (b"{\"first_name\": \"\xff\xfe\"}", "application/json"),
    (json.dumps({"first_name": "Je\x00an", "last_name": "Nul"}), "application/json"),
    (json.dumps({"first_name": "J" * 10_000, "last_name": "Long"}), "application/json"),
    (json.dumps({"first_name": "Jean", "last_name": "Dupont", "birth_date": "2024-02-30"}), "application/json"),
])
def test_malformed_api_bodies_are_clean_400s(api, administration_a, body, content_type):
    before = citizen_count(administration_a)
    response = api.client("admin").post("/api/v1/citizens/", body, content_type=content_type)
    assert response.status_code in (400, 415), response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert citizen_count(administration_a) == before


@pytest.mark.parametrize("query", ["search=%ff%fe", "page=%00", "page=99999999999999999999999", "ordering=%C0%AF",
                                   "organisation=abc", "starts_after=demain"])
def test_strange_query_strings_on_the_api(api, query):
    response = api.client("admin").get(f"/api/v1/appointments/?{query}")
    assert response.status_code in (200, 400, 404), response.content[:300]


@pytest.mark.parametrize("path", [
    "/rdv/%ff/", "/agents/rdv/%ff/", "/api/v1/appointments/%ff/", "/invitation-rdv/%ff%fe/",
    "/prendre-rdv/?motif=%ff&lieu=%00", "/prendre-rdv/creneaux/?date=%ff%00",
])
def test_invalid_utf8_in_paths_and_queries(public, api, administration_a, path):
    client = login_client(administration_a, api.agents["admin"].user) if path.startswith("/agents/") else Client(
        HTTP_HOST=administration_a.primary_domain)
    if path.startswith("/api/"):
        client = api.client("admin")
    response = client.get(path)
    assert response.status_code in (200, 302, 400, 404), response.content[:300]


# --- Posts without CSRF token -----------------------------------------------------------------------

def strict_client(administration, user=None) -> Client:
    client = Client(enforce_csrf_checks=True, HTTP_HOST=administration.primary_domain)
    if user is not None:
        with tenant_context(administration):
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def assert_csrf_refusal(response):
    assert response.status_code == 403
    assert "Le formulaire a expiré" in french_page(response)


def test_usager_cancel_without_csrf_token(public, administration_a):
    response = strict_client(administration_a).post(f"/rdv/{public.appointment.uuid}/annuler/", {"confirm": "1"})
    assert_csrf_refusal(response)
    assert status_of(administration_a, public.appointment) == Status.UNKNOWN


def test_public_booking_confirmation_without_csrf_token(public, administration_a):
    with tenant_context(administration_a):
        count = Appointment.objects.count()
    response = strict_client(administration_a, public.user).post("/prendre-rdv/coordonnees/", {"confirm": "1"})
    assert_csrf_refusal(response)
    with tenant_context(administration_a):
        assert Appointment.objects.count() == count


def test_agent_status_change_without_csrf_token(api, administration_a):
    appointment = api.appointments["pmi_appt"]
    response = strict_client(administration_a, api.agents["basic"].user).post(
        f"/agents/rdv/{appointment.pk}/statut/", {"status": Status.SEEN})
    assert_csrf_refusal(response)
    assert status_of(administration_a, appointment) == Status.UNKNOWN


# --- Ids of another administration, or of an organisation out of sight --------------------------------

def test_token_of_a_is_refused_on_b(api, administration_b):
    client = api.client("admin")
    response = client.get("/api/v1/appointments/", HTTP_HOST=administration_b.primary_domain)
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Mauvais jeton d'identification."


def test_appointments_of_b_are_404_on_a(api, administration_a, administration_b, public):
    del public  # an appointment of A with a public link, to be asked for on B's host
    with tenant_context(administration_b):
        world_b = build_public_world()
        theirs = book(world_b, timezone.now() + timedelta(days=4))
    with tenant_context(administration_a):
        assert not Appointment.objects.filter(uuid=theirs.uuid).exists()
        same_pk = Appointment.objects.filter(pk=theirs.pk).exists()
    if not same_pk:  # the integer id may exist in A by chance: then it is A's own appointment
        assert api.client("admin").get(f"/api/v1/appointments/{theirs.pk}/").status_code == 404
        agent_page = login_client(administration_a, api.agents["admin"].user).get(f"/agents/rdv/{theirs.pk}/")
        assert agent_page.status_code == 404
    page = Client(HTTP_HOST=administration_a.primary_domain).get(f"/rdv/{theirs.uuid}/")
    assert page.status_code == 404
    assert "Page introuvable" in french_page(page)
    assert Client(HTTP_HOST=administration_a.primary_domain).post(
        f"/rdv/{theirs.uuid}/annuler/", {"confirm": "1"}).status_code == 404
    assert status_of(administration_b, theirs) == Status.UNKNOWN


def test_appointment_of_an_organisation_out_of_sight_is_404(api, administration_a):
    other = api.appointments["other_appt"]
    assert api.client("basic").get(f"/api/v1/appointments/{other.pk}/").status_code == 404
    assert api.client("basic").post(f"/api/v1/appointments/{other.pk}/status/", {"status": "seen"},
                                    content_type="application/json").status_code == 404
    client = login_client(administration_a, api.agents["basic"].user)
    page = client.get(f"/agents/rdv/{other.pk}/")
    assert page.status_code == 404
    assert client.post(f"/agents/rdv/{other.pk}/statut/", {"status": Status.SEEN}).status_code == 404
    assert status_of(administration_a, other) == Status.UNKNOWN
    response = api.client("basic").get(f"/api/v1/organisations/{api.other_org.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Ressource introuvable."}


# --- Tampered signed links ------------------------------------------------------------------------

def one_character_changed(token: str):
    """The token with each of its characters replaced in turn (by another character of the same alphabet)."""
    for index, char in enumerate(token):
        replacement = "A" if char != "A" else "B"
        if char in ":":
            replacement = "_"
        yield token[:index] + replacement + token[index + 1:]


def test_invitation_link_with_any_character_changed_is_refused(public, administration_a):
    with tenant_context(administration_a):
        invited = CitizenFactory(first_name="Paul", email="paul@exemple.fr")
        token = rules.invitation_token(citizen=invited, appointment_type=public.kind)
    client = Client(HTTP_HOST=administration_a.primary_domain)
    assert client.get(f"/invitation-rdv/{token}/").status_code in (200, 302)  # the genuine link works
    base = uuid.uuid4().int
    for index, bad in enumerate(one_character_changed(token)):
        # One client address each: the public pages' rate limit would otherwise answer 429 after a few tries.
        address = f"10.{(base >> 8) % 250}.{(base + index) % 250}.{index % 250 + 1}"
        client = Client(HTTP_HOST=administration_a.primary_domain, REMOTE_ADDR=address)
        response = client.get(f"/invitation-rdv/{bad}/")
        assert response.status_code in (400, 403, 404), bad
        html = french_page(response)
        assert "pas valide" in html or "Page introuvable" in html
        assert rules.INVITATION_SESSION_KEY not in client.session


def test_agent_invitation_link_with_any_character_changed_is_refused(
        administration_a, mailoutbox, django_capture_on_commit_callbacks):
    with tenant_context(administration_a), django_capture_on_commit_callbacks(execute=True):
        user = agent_invite(administration=administration_a, email="nouvelle.agente@exemple.fr", first_name="Ana")
    link = re.search(r"http://test-a\.localhost(/invitation/\S+/)", mailoutbox[-1].body).group(1)
    uidb64, token = link.strip("/").split("/")[1:]
    password = {"new_password1": "Rendez-vous-2026!", "new_password2": "Rendez-vous-2026!"}
    for bad_uid in one_character_changed(uidb64):
        assert Client(HTTP_HOST=administration_a.primary_domain).get(f"/invitation/{bad_uid}/{token}/").status_code \
            == 404
    for bad in one_character_changed(token):
        client = Client(HTTP_HOST=administration_a.primary_domain)
        page = client.get(f"/invitation/{uidb64}/{bad}/")
        assert page.status_code == 404, bad
        assert "n&#x27;est pas valide" in french_page(page) or "n'est pas valide" in page.content.decode()
        assert client.post(f"/invitation/{uidb64}/{bad}/", password).status_code == 404
    with tenant_context(administration_a):
        user.refresh_from_db()
        assert not user.has_usable_password() or not user.check_password(password["new_password1"])


def test_calendar_feed_address_with_any_character_changed_is_404(api, administration_a):
    token = api.agents["basic"].calendar_token
    client = Client(HTTP_HOST=administration_a.primary_domain)
    assert client.get(f"/agenda/{token}.ics").status_code == 200
    for bad in one_character_changed(token):
        response = client.get(f"/agenda/{bad}.ics")
        assert response.status_code == 404, bad
        assert "BEGIN:VCALENDAR" not in response.content.decode()


def test_administration_pages_of_an_organisation_out_of_sight(api, administration_a):
    """The admin of one organisation, on the pages of another one of the same administration (or on a
    type of that other organisation slipped under his own organisation's address)."""
    client = login_client(administration_a, api.agents["admin"].user)
    other, own = api.other_org, api.org
    for path in (f"/agents/administration/{other.pk}/informations/",
                 f"/agents/administration/{own.pk}/motifs/{api.other_type.pk}/",
                 f"/agents/administration/{own.pk}/lieux/{api.other_location.pk}/"):
        page = client.get(path)
        assert page.status_code in (403, 404), path
        french_page(page)
    response = client.post(f"/agents/administration/{other.pk}/informations/", {"name": "Détournée"})
    assert response.status_code in (403, 404)
    with tenant_context(administration_a):
        other.refresh_from_db()
        assert other.name == "MDS Nord"


def test_support_sign_in_link_with_any_character_changed_is_refused(support, administration_a, agent_a):
    from tenants.impersonation import impersonation_start
    from tenants.models import ImpersonationLog

    url = impersonation_start(support_user=support, administration=administration_a, agent_email=agent_a.email,
                              reason="Ticket 4242 : vérification d'un lien altéré")
    path = urlsplit(url).path
    token = path.rstrip("/").rsplit("/", 1)[1]
    for bad in one_character_changed(token):
        client = Client(HTTP_HOST=administration_a.primary_domain)
        response = client.get(f"/connexion-support/{bad}/")
        assert response.status_code in (400, 403, 404), bad
        french_page(response)
        assert "_auth_user_id" not in client.session
    assert ImpersonationLog.objects.get().consumed_at is None
