"""Usager records in the back office: persona matrix, list and search, record page, create and edit,
relatives, référents, removal from an organisation. Bad input always gives French errors and changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from scheduling.models import Citizen, Participation
from scheduling.services import Actor, appointment_create
from tests.conftest import login_client, make_client
from tests.factories import UserFactory
from tests.scheduling.api_world import at, build_world
from tests.scheduling.factories import AgentFactory, CitizenFactory, OrganisationFactory, ServiceFactory


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def client_for(world, persona):
    if persona == "anonymous":
        return make_client(world.administration)
    if persona == "no_profile":
        return login_client(world.administration, world.no_profile)
    return login_client(world.administration, world.agents[persona].user)


def html(response) -> str:
    """The page's text with HTML entities decoded (Django escapes apostrophes)."""
    return unescape(response.content.decode())


# --- Persona matrix ---------------------------------------------------------------------------------

@pytest.mark.parametrize("persona, visible", [
    ("basic", {"pmi_appt", "assigned_appt"}),
    ("colleague", {"social_appt", "assigned_appt"}),
    ("secretary", {"pmi_appt", "social_appt", "assigned_appt"}),
    ("admin", {"pmi_appt", "social_appt", "assigned_appt"}),
])
def test_record_page_shows_only_the_appointments_the_agent_may_see(world, persona, visible):
    response = client_for(world, persona).get(f"/agents/usagers/{world.citizen.pk}/")
    assert response.status_code == 200
    page = html(response)
    assert world.citizen.last_name in page
    for name in ("pmi_appt", "social_appt", "assigned_appt"):
        link = f'href="/agents/rdv/{world.appointments[name].pk}/"'
        assert (link in page) == (name in visible), name


@pytest.mark.parametrize("path", [
    "/agents/usagers/{pk}/", "/agents/usagers/{pk}/modifier/", "/agents/usagers/{pk}/proches/nouveau/",
    "/agents/usagers/{pk}/responsable/", "/agents/usagers/{pk}/fusionner/",
])
def test_an_agent_of_another_organisation_gets_404(world, path):
    client = client_for(world, "outsider")
    assert client.get(path.format(pk=world.citizen.pk)).status_code == 404
    assert client.get(path.format(pk=world.other_citizen.pk)).status_code == 200


@pytest.mark.parametrize("path", ["/agents/usagers/{pk}/referents/", "/agents/usagers/{pk}/retirer/"])
def test_posts_on_an_invisible_usager_are_404_and_change_nothing(world, path):
    response = client_for(world, "outsider").post(path.format(pk=world.citizen.pk),
                                                  {"organisation": world.org.pk, "agent": world.agents["basic"].pk})
    assert response.status_code == 404
    with tenant_context(world.administration):
        assert world.citizen.organisations.filter(pk=world.org.pk).exists()
        assert not world.citizen.referents.exists()


def test_anonymous_is_sent_to_login_and_an_account_without_profile_gets_a_french_403(world):
    for path in ("/agents/usagers/", f"/agents/usagers/{world.citizen.pk}/", "/agents/usagers/nouveau/"):
        response = client_for(world, "anonymous").get(path)
        assert response.status_code == 302 and "/comptes/login/" in response["Location"]
        response = client_for(world, "no_profile").get(path)
        assert response.status_code == 403
        assert "profil d'agent" in html(response)


def test_an_agent_of_another_administration_sees_nothing_of_a(world, administration_b):
    with tenant_context(administration_b):
        user = UserFactory(email="agent-usagers@test-b.fr")
        AgentFactory(user=user, services=[ServiceFactory()], organisation=OrganisationFactory())
        # whatever record B holds under that number is linked to none of his organisations
        Citizen.objects.filter(pk=world.citizen.pk).update(deleted_at=None)
    client = login_client(administration_b, user)
    assert client.get(f"/agents/usagers/{world.citizen.pk}/").status_code == 404
    response = client.get("/agents/usagers/", {"q": world.citizen.last_name})
    assert response.status_code == 200
    assert f"/agents/usagers/{world.citizen.pk}/" not in html(response)
    # and his session means nothing on A's host
    other = make_client(world.administration)
    other.cookies = client.cookies
    response = other.get(f"/agents/usagers/{world.citizen.pk}/")
    assert response.status_code == 302


def test_list_shows_the_usagers_of_the_agent_organisations_only(world):
    page = html(client_for(world, "basic").get("/agents/usagers/"))
    assert f"/agents/usagers/{world.citizen.pk}/" in page
    assert f"/agents/usagers/{world.other_citizen.pk}/" not in page
    page = html(client_for(world, "outsider").get("/agents/usagers/"))
    assert f"/agents/usagers/{world.other_citizen.pk}/" in page
    assert f"/agents/usagers/{world.citizen.pk}/" not in page


def test_a_soft_deleted_usager_is_404(world):
    with tenant_context(world.administration):
        Citizen.objects.filter(pk=world.citizen.pk).update(deleted_at=at(9))
    assert client_for(world, "admin").get(f"/agents/usagers/{world.citizen.pk}/").status_code == 404


# --- Search ---------------------------------------------------------------------------------------

@pytest.fixture
def elodie(world):
    with tenant_context(world.administration):
        citizen = CitizenFactory(first_name="Élodie", last_name="Lefèvre", email="e.lefevre@exemple.fr",
                                 phone="+33612345678")
        citizen.organisations.add(world.org)
        other = CitizenFactory(first_name="Marc", last_name="Durand", email="marc@exemple.fr", phone="+33700000000")
        other.organisations.add(world.org)
    return citizen


@pytest.mark.parametrize("term", [
    "elodie", "ELODIE", "Élodie", "élodie lefevre", "LEFEVRE", "lefèvre élo", "e.lefevre@", "06 12 34 56 78",
    "0612345678", "+33 6 12 34 56 78", "06.12.34", "12 34 56",
])
def test_search_is_accent_and_case_insensitive_on_names_email_and_phone(world, elodie, term):
    page = html(client_for(world, "basic").get("/agents/usagers/", {"q": term}))
    assert f"/agents/usagers/{elodie.pk}/" in page, term
    assert "Durand" not in page


def test_search_without_match_says_so(world, elodie):
    page = html(client_for(world, "basic").get("/agents/usagers/", {"q": "zzz élodie"}))
    assert "Aucun usager ne correspond" in page


def test_list_keeps_a_constant_number_of_queries_and_paginates(world):
    client = client_for(world, "basic")

    def grow(count):
        with tenant_context(world.administration):
            for _ in range(count):
                CitizenFactory().organisations.add(world.org)

    def measure(params):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/agents/usagers/", params)
        assert response.status_code == 200
        # "SET search_path" comes from switching schemas in the test itself (grow), not from the page
        return len([q for q in queries.captured_queries if not q["sql"].startswith("SET ")]), response

    grow(3)
    measure({})  # the first request of a session reads a little more (session, tenant caches)
    small, _ = measure({})
    grow(70)
    large, response = measure({})
    assert small == large, (small, large)
    assert large <= 10
    assert "Page 1 sur 3" in html(response)
    searched, _ = measure({"q": "a", "page": "2"})
    assert searched == large
    assert measure({"page": "abc"})[0] == large  # a bad page number is the first page, not a 500


# --- Create and edit --------------------------------------------------------------------------------

def valid_data(**overrides):
    data = {"first_name": "Jeanne", "last_name": "Martin", "birth_date": "1980-05-01", "email": "jeanne@exemple.fr",
            "phone": "06 11 22 33 44", "address": "", "city_code": "", "notify_by_email": "on"}
    data.update(overrides)
    return data


def test_create_normalises_the_phone_and_links_the_organisation(world):
    response = client_for(world, "basic").post("/agents/usagers/nouveau/", valid_data())
    assert response.status_code == 302
    with tenant_context(world.administration):
        citizen = Citizen.objects.get(email="jeanne@exemple.fr")
        assert citizen.phone == "+33611223344"
        assert list(citizen.organisations.all()) == [world.org]
        assert response["Location"] == f"/agents/usagers/{citizen.pk}/"
        assert citizen.notify_by_email and not citizen.notify_by_sms


@pytest.mark.parametrize("overrides, message", [
    ({"phone": "12"}, "Numéro de téléphone invalide"),
    ({"phone": "06 12 34"}, "Numéro de téléphone invalide"),
    ({"email": "pas-un-email"}, "adresse e-mail valide"),
    ({"first_name": ""}, "Indiquez le prénom."),
    ({"last_name": ""}, "Indiquez le nom."),
    ({"birth_date": "31/02/2000"}, "date valide"),
    ({"birth_date": (date.today() + timedelta(days=2)).isoformat()}, "dans le futur"),
    ({"birth_date": "1850-01-01"}, "trop ancienne"),
    ({"city_code": "7505"}, "cinq caractères"),
    ({"organisation": "999999"}, "Choisissez une de vos organisations."),
])
def test_create_refuses_bad_input_in_french(world, overrides, message):
    with tenant_context(world.administration):
        before = Citizen.objects.count()
    response = client_for(world, "basic").post("/agents/usagers/nouveau/", valid_data(**overrides))
    assert response.status_code == 200
    assert message in html(response)
    with tenant_context(world.administration):
        assert Citizen.objects.count() == before


def test_create_refuses_the_organisation_of_another_agent(world):
    client = client_for(world, "basic")
    response = client.post("/agents/usagers/nouveau/", valid_data(organisation=world.other_org.pk))
    assert "Choisissez une de vos organisations." in html(response)
    with tenant_context(world.administration):
        assert not Citizen.objects.filter(email="jeanne@exemple.fr").exists()


def test_create_shows_likely_duplicates_and_needs_a_confirmation(world):
    with tenant_context(world.administration):
        Citizen.objects.filter(pk=world.citizen.pk).update(phone="+33611223344")
        invisible = CitizenFactory(email="jeanne@exemple.fr")
        invisible.organisations.add(world.other_org)
    client = client_for(world, "basic")
    response = client.post("/agents/usagers/nouveau/", valid_data(email="autre@exemple.fr"))
    page = html(response)
    assert "Cette personne a peut-être déjà une fiche" in page
    assert f"/agents/usagers/{world.citizen.pk}/" in page
    assert "cochez cette case" in page
    with tenant_context(world.administration):
        assert not Citizen.objects.filter(email="autre@exemple.fr").exists()
    # a record of an organisation he does not see is never shown (same e-mail: no hint, no leak)
    page = html(client.post("/agents/usagers/nouveau/", valid_data(phone="")))
    assert f"/agents/usagers/{invisible.pk}/" not in page
    response = client.post("/agents/usagers/nouveau/",
                           valid_data(email="autre@exemple.fr", confirm_not_duplicate="on"))
    assert response.status_code == 302
    with tenant_context(world.administration):
        assert Citizen.objects.filter(email="autre@exemple.fr").exists()


def test_edit_changes_the_record_and_refuses_bad_input(world):
    client = client_for(world, "colleague")
    path = f"/agents/usagers/{world.citizen.pk}/modifier/"
    assert client.get(path).status_code == 200
    response = client.post(path, valid_data(phone="+262 (0) 692 12 34 56", email="nouveau@exemple.fr"))
    assert response.status_code == 302
    with tenant_context(world.administration):
        world.citizen.refresh_from_db()
        assert world.citizen.phone == "+262692123456" and world.citizen.email == "nouveau@exemple.fr"
    response = client.post(path, valid_data(phone="0000", email="x@"))
    page = html(response)
    assert "Numéro de téléphone invalide" in page and "adresse e-mail valide" in page
    with tenant_context(world.administration):
        world.citizen.refresh_from_db()
        assert world.citizen.phone == "+262692123456"


# --- Relatives and responsible -------------------------------------------------------------------------

def test_add_a_relative_who_joins_the_responsible_organisations(world):
    with tenant_context(world.administration):
        world.citizen.organisations.add(world.other_org)
    client = client_for(world, "basic")
    path = f"/agents/usagers/{world.citizen.pk}/proches/nouveau/"
    assert client.post(path, {"first_name": "", "last_name": "X"}).status_code == 200
    response = client.post(path, {"first_name": "Lou", "last_name": world.citizen.last_name,
                                  "birth_date": "2019-03-04"})
    assert response.status_code == 302
    with tenant_context(world.administration):
        relative = Citizen.objects.get(first_name="Lou", responsible=world.citizen)
        assert set(relative.organisations.all()) == {world.org, world.other_org}
    page = html(client.get(f"/agents/usagers/{world.citizen.pk}/"))
    assert f"/agents/usagers/{relative.pk}/" in page


def test_set_and_remove_the_responsible_and_refuse_a_cycle(world):
    with tenant_context(world.administration):
        parent = CitizenFactory(first_name="Paul", last_name="Parent")
        parent.organisations.add(world.org)
    client = client_for(world, "basic")
    path = f"/agents/usagers/{world.citizen.pk}/responsable/"
    page = html(client.get(path, {"q": "parent"}))
    assert "comme responsable" in page and "Paul" in page
    assert client.post(path, {"responsible": parent.pk}).status_code == 302
    with tenant_context(world.administration):
        world.citizen.refresh_from_db()
        assert world.citizen.responsible_id == parent.pk
    # the parent cannot become his child's relative (a cycle)
    response = client.post(f"/agents/usagers/{parent.pk}/responsable/", {"responsible": world.citizen.pk})
    assert response.status_code == 400
    assert "Ce responsable est lui-même un proche de cet usager." in html(response)
    with tenant_context(world.administration):
        parent.refresh_from_db()
        assert parent.responsible_id is None
    assert client.post(path, {"action": "remove"}).status_code == 302
    with tenant_context(world.administration):
        world.citizen.refresh_from_db()
        assert world.citizen.responsible_id is None


@pytest.mark.parametrize("value", ["", "abc", "999999", "self", "other"])
def test_responsible_refuses_foreign_and_tampered_ids(world, value):
    value = {"self": world.citizen.pk, "other": world.other_citizen.pk}.get(value, value)
    response = client_for(world, "basic").post(f"/agents/usagers/{world.citizen.pk}/responsable/",
                                               {"responsible": value})
    assert response.status_code == 400
    page = html(response)
    assert "Usager introuvable" in page or "Choisissez un usager." in page
    with tenant_context(world.administration):
        world.citizen.refresh_from_db()
        assert world.citizen.responsible_id is None


# --- Référents --------------------------------------------------------------------------------------

def test_add_and_remove_a_referent(world):
    client = client_for(world, "basic")
    path = f"/agents/usagers/{world.citizen.pk}/referents/"
    assert client.post(path, {"action": "add", "agent": world.agents["colleague"].pk}).status_code == 302
    with tenant_context(world.administration):
        assert list(world.citizen.referents.all()) == [world.agents["colleague"]]
    page = html(client.get(f"/agents/usagers/{world.citizen.pk}/"))
    assert str(world.agents["colleague"]) in page and "Retirer" in page
    assert client.post(path, {"action": "remove", "agent": world.agents["colleague"].pk}).status_code == 302
    with tenant_context(world.administration):
        assert not world.citizen.referents.exists()
    # removing an agent who is not a référent: 404, nothing changes
    assert client.post(path, {"action": "remove", "agent": world.agents["admin"].pk}).status_code == 404


@pytest.mark.parametrize("value", ["", "abc", "999999", "outsider"])
def test_referent_refuses_agents_outside_the_usager_organisations(world, value):
    value = world.agents["outsider"].pk if value == "outsider" else value
    response = client_for(world, "basic").post(f"/agents/usagers/{world.citizen.pk}/referents/",
                                               {"action": "add", "agent": value})
    assert response.status_code == 400
    page = html(response)
    assert "Choisissez un agent" in page
    with tenant_context(world.administration):
        assert not world.citizen.referents.exists()


def test_referents_page_answers_only_post(world):
    assert client_for(world, "basic").get(f"/agents/usagers/{world.citizen.pk}/referents/").status_code == 405


# --- Removal from an organisation ---------------------------------------------------------------------

def test_removal_is_refused_while_appointments_are_to_come(world):
    client = client_for(world, "admin")
    response = client.post(f"/agents/usagers/{world.citizen.pk}/retirer/", {"organisation": world.org.pk})
    assert response.status_code == 400
    assert "encore des rendez-vous à venir" in html(response)
    with tenant_context(world.administration):
        assert world.citizen.organisations.filter(pk=world.org.pk).exists()


def test_removal_of_a_usager_without_future_appointments(world):
    with tenant_context(world.administration):
        citizen = CitizenFactory()
        citizen.organisations.add(world.org, world.other_org)
        citizen.referents.add(world.agents["basic"])
        past = appointment_create(
            appointment_type=world.pmi_type, starts_at=at(9) - timedelta(days=60), agents=[world.agents["basic"]],
            citizens=[citizen], actor=Actor.for_agent(world.agents["basic"]), location=world.location,
            accept_warnings=True,
        )
    client = client_for(world, "basic")
    response = client.post(f"/agents/usagers/{citizen.pk}/retirer/", {"organisation": world.org.pk})
    assert response.status_code == 302 and response["Location"] == "/agents/usagers/"
    with tenant_context(world.administration):
        citizen.refresh_from_db()
        assert list(citizen.organisations.all()) == [world.other_org]
        assert citizen.deleted_at is None
        assert not citizen.referents.exists()  # the basic agent has no role in other_org
        assert Participation.objects.filter(appointment=past, citizen=citizen).exists()  # the past stays
    assert client.get(f"/agents/usagers/{citizen.pk}/").status_code == 404
    # the last organisation: the record is soft-deleted
    outsider = client_for(world, "outsider")
    assert outsider.post(f"/agents/usagers/{citizen.pk}/retirer/",
                         {"organisation": world.other_org.pk}).status_code == 302
    with tenant_context(world.administration):
        citizen.refresh_from_db()
        assert citizen.deleted_at is not None


@pytest.mark.parametrize("value", ["", "abc", "999999", "other_org"])
def test_removal_refuses_foreign_organisations(world, value):
    with tenant_context(world.administration):
        world.citizen.organisations.add(world.other_org)
    value = world.other_org.pk if value == "other_org" else value
    response = client_for(world, "basic").post(f"/agents/usagers/{world.citizen.pk}/retirer/",
                                               {"organisation": value})
    assert response.status_code == 400
    assert "Cet usager n'est pas rattaché à cette organisation." in html(response) or \
        "Choisissez une organisation." in html(response)
    with tenant_context(world.administration):
        assert world.citizen.organisations.count() == 2


def test_record_page_keeps_a_constant_number_of_queries(world):
    client = client_for(world, "secretary")
    path = f"/agents/usagers/{world.citizen.pk}/"

    def measure():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len([q for q in queries.captured_queries if not q["sql"].startswith("SET ")])

    measure()
    small = measure()
    with tenant_context(world.administration):
        basic = world.agents["basic"]
        for week in range(1, 13):
            appointment_create(
                appointment_type=world.pmi_type, starts_at=at(9) + timedelta(weeks=week), agents=[basic],
                citizens=[world.citizen], actor=Actor.for_agent(basic), location=world.location,
                accept_warnings=True,
            )
            relative = CitizenFactory(responsible=world.citizen)
            relative.organisations.add(world.org)
            world.citizen.referents.add(AgentFactory(services=[world.services["pmi"]], organisation=world.org))
    assert measure() == small
    assert small <= 20


def test_a_cancelled_future_appointment_does_not_block_the_removal(world):
    from scheduling.services import appointment_set_status

    with tenant_context(world.administration):
        citizen = CitizenFactory()
        basic = world.agents["basic"]
        appointment = appointment_create(
            appointment_type=world.pmi_type, starts_at=at(9) + timedelta(weeks=2), agents=[basic],
            citizens=[citizen], actor=Actor.for_agent(basic), location=world.location, accept_warnings=True,
        )
        appointment_set_status(appointment=appointment, status="excused", actor=Actor.for_agent(basic))
    response = client_for(world, "basic").post(f"/agents/usagers/{citizen.pk}/retirer/", {"organisation": world.org.pk})
    assert response.status_code == 302
    with tenant_context(world.administration):
        citizen.refresh_from_db()
        assert citizen.deleted_at is not None and not citizen.organisations.exists()
