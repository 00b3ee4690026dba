"""Administration screens (/agents/administration/): persona matrix, every form's bad input (French errors,
nothing changed, no 500), the last admin, geocoding against the fake address API, the invitation e-mail."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django_tenants.utils import tenant_context
from werkzeug.wrappers import Response

from scheduling.models import Agent, AgentRole, AppointmentType, Location, Organisation, Service
from tests.conftest import login_client, make_client
from tests.factories import UserFactory
from tests.fakes.ban import FakeBan
from tests.scheduling.api_world import build_world
from tests.scheduling.factories import AgentFactory, AppointmentTypeFactory, LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(administration_a):
    world = build_world(administration_a)
    with tenant_context(administration_a):
        # an admin of the other organisation only, and an administrator of the whole administration
        world.agents["other_admin"] = AgentFactory(services=[world.services["pmi"]], organisation=world.other_org,
                                                   organisation__level="admin")
        world.agents["head"] = AgentFactory(user=UserFactory(is_administration_admin=True),
                                            services=[world.services["pmi"]], organisation=world.org,
                                            organisation__level="admin")
    return world


def client_for(world, persona):
    if persona == "anonymous":
        return make_client(world.administration)
    return login_client(world.administration, world.agents[persona].user)


def in_a(world):
    return tenant_context(world.administration)


def org_urls(world):
    org = world.org.pk
    return [
        reverse("administration_types", args=[org]), reverse("administration_type_create", args=[org]),
        reverse("administration_type_edit", args=[org, world.pmi_type.pk]),
        reverse("administration_locations", args=[org]), reverse("administration_location_create", args=[org]),
        reverse("administration_location_edit", args=[org, world.location.pk]),
        reverse("administration_agents", args=[org]), reverse("administration_agent_invite", args=[org]),
        reverse("administration_intervenant_create", args=[org]),
        reverse("administration_organisation", args=[org]),
    ]


# --- Persona matrix --------------------------------------------------------------------------------

def test_anonymous_is_sent_to_login(world):
    client = client_for(world, "anonymous")
    for url in [reverse("administration_index"), *org_urls(world), reverse("administration_services"),
                reverse("administration_messaging"), reverse("administration_branding")]:
        response = client.get(url)
        assert response.status_code == 302 and "next=" in response["Location"], url


@pytest.mark.parametrize("persona", ["basic", "colleague", "secretary", "outsider"])
def test_agents_who_are_not_admins_get_403(world, persona):
    client = client_for(world, persona)
    for url in [reverse("administration_index"), *org_urls(world), reverse("administration_services"),
                reverse("administration_messaging"), reverse("administration_branding")]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "administrateurs" in response.content.decode()
    response = client.post(reverse("administration_agent_remove", args=[world.org.pk, world.agents["basic"].pk]))
    assert response.status_code == 403
    with in_a(world):
        assert AgentRole.objects.filter(agent=world.agents["basic"], organisation=world.org).exists()


def test_admin_of_another_organisation_cannot_reach_this_one(world):
    client = client_for(world, "other_admin")
    assert client.get(reverse("administration_index")).status_code == 200
    for url in org_urls(world):
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("administration_index"), {"organisation": world.org.pk}).status_code == 404
    response = client.post(reverse("administration_type_remove", args=[world.org.pk, world.pmi_type.pk]))
    assert response.status_code == 404
    # and an object of the other organisation through his own organisation's URL
    own = world.other_org.pk
    assert client.get(reverse("administration_type_edit", args=[own, world.pmi_type.pk])).status_code == 404
    assert client.get(reverse("administration_location_edit", args=[own, world.location.pk])).status_code == 404
    with in_a(world):
        assert AppointmentType.objects.filter(pk=world.pmi_type.pk).exists()


def test_basic_agent_of_the_organisation_with_admin_role_elsewhere_gets_403_here(world):
    with in_a(world):
        AgentRole.objects.create(agent=world.agents["outsider"], organisation=world.org, level="basic")
        AgentRole.objects.filter(agent=world.agents["outsider"], organisation=world.other_org).update(level="admin")
    client = client_for(world, "outsider")
    for url in org_urls(world):
        assert client.get(url).status_code == 403, url


def test_agent_of_another_administration_is_not_signed_in_here(world, agent_b_client):
    agent_b_client.defaults["HTTP_HOST"] = world.administration.primary_domain
    response = agent_b_client.get(reverse("administration_index"))
    assert response.status_code == 302 and "next=" in response["Location"]


def test_admin_sees_every_page(world):
    client = client_for(world, "admin")
    for url in [reverse("administration_index"), *org_urls(world), reverse("administration_services")]:
        assert client.get(url).status_code == 200, url
    # administration-wide settings: administrators of the administration only
    assert client.get(reverse("administration_messaging")).status_code == 403
    assert client.get(reverse("administration_branding")).status_code == 403
    assert client.get(reverse("administration_service_create")).status_code == 403
    head = client_for(world, "head")
    for url in [reverse("administration_messaging"), reverse("administration_branding"),
                reverse("administration_service_create"),
                reverse("administration_service_edit", args=[world.services["pmi"].pk])]:
        assert head.get(url).status_code == 200, url


def test_index_links_and_organisation_selector(world):
    with in_a(world):
        AgentRole.objects.filter(agent=world.agents["head"], organisation=world.other_org).delete()
        AgentRole.objects.create(agent=world.agents["head"], organisation=world.other_org, level="admin")
    client = client_for(world, "head")
    page = client.get(reverse("administration_index")).content.decode()
    assert 'name="organisation"' in page and world.other_org.name in page
    assert reverse("api_token") in page
    try:
        assert reverse("teams") in page  # once the teams screens exist
    except NoReverseMatch:
        pass
    page = client.get(reverse("administration_index"), {"organisation": world.other_org.pk}).content.decode()
    assert reverse("administration_types", args=[world.other_org.pk]) in page
    assert client.get(reverse("administration_index"), {"organisation": "abc"}).status_code == 404
    # one organisation: no selector
    page = client_for(world, "admin").get(reverse("administration_index")).content.decode()
    assert 'name="organisation"' not in page


# --- Types -----------------------------------------------------------------------------------------

def type_data(world, **overrides):
    data = {
        "name": "Bilan de santé", "service": world.services["pmi"].pk, "colour": "#aa3300", "duration_minutes": 45,
        "mode": "in_person", "default_capacity": "", "bookable_by": "everyone",
        "min_delay_value": 2, "min_delay_unit": "hours", "max_delay_value": 6, "max_delay_unit": "weeks",
        "visibility": "visible_notified", "sectorisation_level": "administration", "text_to_accept": "",
        "instructions": "Apportez le carnet de santé.", "cancellation_warning": "", "citizen_can_cancel": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_admin_creates_and_edits_a_type(world):
    client = client_for(world, "admin")
    url = reverse("administration_type_create", args=[world.org.pk])
    page = client.get(url).content.decode()
    assert "Combien de temps avant le rendez-vous" in page  # explanations shown
    response = client.post(url, type_data(world, organisation=world.other_org.pk))  # a tampered extra field
    assert response.status_code == 302
    with in_a(world):
        kind = AppointmentType.objects.get(name="Bilan de santé")
        assert kind.organisation_id == world.org.pk and kind.duration_minutes == 45
        assert kind.min_booking_delay == timedelta(hours=2) and kind.max_booking_delay == timedelta(weeks=6)
        assert kind.bookable_by == "everyone" and kind.citizen_can_cancel and not kind.citizen_can_move
    edit = reverse("administration_type_edit", args=[world.org.pk, kind.pk])
    page = client.get(edit).content.decode()
    assert 'value="6"' in page and '<option value="weeks" selected>' in page
    response = client.post(edit, type_data(world, name="Bilan", collective="on", default_capacity=12,
                                           max_delay_value=3, max_delay_unit="days"))
    assert response.status_code == 302
    with in_a(world):
        kind.refresh_from_db()
        assert (kind.name, kind.collective, kind.default_capacity) == ("Bilan", True, 12)
        assert kind.max_booking_delay == timedelta(days=3)


@pytest.mark.parametrize("overrides, field, message", [
    ({"name": ""}, "name", "Ce champ est obligatoire."),
    ({"service": 999999}, "service", "Sélectionnez un choix valide"),
    ({"service": "abc"}, "service", "Sélectionnez un choix valide"),
    ({"colour": "rouge"}, "colour", "#RRVVBB"),
    ({"duration_minutes": 2}, "duration_minutes", "supérieure ou égale à 5"),
    ({"mode": "teleportation"}, "mode", "Sélectionnez un choix valide"),
    ({"mode": "phone", "collective": "on"}, "collective", "sur place"),
    ({"min_delay_value": 3, "min_delay_unit": "days", "max_delay_value": 2, "max_delay_unit": "days"},
     "max_delay_value", "supérieur au délai minimum"),
    ({"min_delay_unit": "siècles"}, "min_delay_unit", "Sélectionnez un choix valide"),
    ({"max_delay_value": "beaucoup"}, "max_delay_value", "Saisissez un nombre entier"),
    ({"collective": "on", "default_capacity": -3}, "default_capacity", "supérieure ou égale à 0"),
])
def test_type_bad_input(world, overrides, field, message):
    client = client_for(world, "admin")
    with in_a(world):
        before = AppointmentType.objects.count()
    response = client.post(reverse("administration_type_create", args=[world.org.pk]), type_data(world, **overrides))
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    with in_a(world):
        assert AppointmentType.objects.count() == before


def test_type_from_another_organisation_id_cannot_be_edited_through_this_one(world):
    client = client_for(world, "admin")
    url = reverse("administration_type_edit", args=[world.org.pk, world.other_type.pk])
    assert client.post(url, type_data(world, name="Piraté")).status_code == 404
    with in_a(world):
        assert AppointmentType.objects.get(pk=world.other_type.pk).name == "PMI Nord"


def test_mode_and_collective_are_frozen_once_booked(world):
    client = client_for(world, "admin")
    url = reverse("administration_type_edit", args=[world.org.pk, world.pmi_type.pk])
    response = client.post(url, type_data(world, name="Consultation PMI", mode="phone"))
    assert response.status_code == 200
    assert "ne change plus" in str(response.context["form"].errors["mode"])
    response = client.post(url, type_data(world, name="Consultation PMI", collective="on"))
    assert "ne change plus" in str(response.context["form"].errors["collective"])
    with in_a(world):
        world.pmi_type.refresh_from_db()
        assert world.pmi_type.mode == "in_person" and not world.pmi_type.collective


def test_remove_archives_a_booked_type_and_deletes_an_unused_one(world):
    client = client_for(world, "admin")
    with in_a(world):
        unused = AppointmentTypeFactory(organisation=world.org, service=world.services["pmi"], name="Inutile")
    response = client.post(reverse("administration_type_remove", args=[world.org.pk, world.pmi_type.pk]),
                           follow=True)
    assert "archivé" in response.content.decode()
    client.post(reverse("administration_type_remove", args=[world.org.pk, unused.pk]))
    with in_a(world):
        world.pmi_type.refresh_from_db()
        assert world.pmi_type.archived_at is not None
        assert not AppointmentType.objects.filter(pk=unused.pk).exists()
    page = client.get(reverse("administration_types", args=[world.org.pk])).content.decode()
    assert page.index("Motifs archivés") < page.index("Consultation PMI")
    client.post(reverse("administration_type_restore", args=[world.org.pk, world.pmi_type.pk]))
    with in_a(world):
        world.pmi_type.refresh_from_db()
        assert world.pmi_type.archived_at is None
    assert client.get(reverse("administration_type_remove", args=[world.org.pk, world.pmi_type.pk])).status_code == 405


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_pages_keep_a_constant_number_of_queries(world):
    client = client_for(world, "admin")
    urls = [reverse(name, args=[world.org.pk]) for name in
            ("administration_types", "administration_locations", "administration_agents")]
    urls.append(reverse("administration_services"))
    _count_queries(client, urls[0])  # the first request of a session loads what later ones find cached
    first = [_count_queries(client, url) for url in urls]
    with in_a(world):
        for number in range(6):
            service = ServiceFactory(name=f"Service en plus {number}")
            AppointmentTypeFactory(organisation=world.org, service=service, name=f"Motif en plus {number}")
            LocationFactory(organisation=world.org, name=f"Lieu en plus {number}")
            AgentFactory(services=[service, world.services["pmi"]], organisation=world.org)
    _count_queries(client, urls[0])  # the factories changed the connection's search path: set again once
    assert [_count_queries(client, url) for url in urls] == first


# --- Places ----------------------------------------------------------------------------------------

def location_data(**overrides):
    data = {"name": "Antenne Ségur", "address": "20 avenue de Ségur, 75007 Paris", "phone": "",
            "availability": "enabled"}
    data.update(overrides)
    return data


def test_location_geocoded_when_the_api_knows_the_address(world, httpserver, settings):
    ban = FakeBan(httpserver, settings)
    ban.add("20 Avenue de Ségur 75007 Paris", city_code="75107", city="Paris", postcode="75007",
            street_id="75107_8909", street="Avenue de Ségur", housenumber="20", lon=2.3095, lat=48.8497,
            match="20 avenue de segur, 75007 paris")
    client = client_for(world, "admin")
    response = client.post(reverse("administration_location_create", args=[world.org.pk]), location_data())
    assert response.status_code == 302
    with in_a(world):
        place = Location.objects.get(name="Antenne Ségur")
        assert (place.latitude, place.longitude, place.organisation_id) == (48.8497, 2.3095, world.org.pk)


def test_location_unknown_address_is_a_field_error(world, httpserver, settings):
    FakeBan(httpserver, settings)
    client = client_for(world, "admin")
    response = client.post(reverse("administration_location_create", args=[world.org.pk]),
                           location_data(address="999 rue qui n'existe pas, 00000 Nulle-part"))
    assert response.status_code == 200
    assert "inconnue de la Base Adresse Nationale" in str(response.context["form"].errors["address"])
    with in_a(world):
        assert not Location.objects.filter(name="Antenne Ségur").exists()


def test_location_saved_without_coordinates_when_the_api_is_down(world, httpserver, settings):
    settings.ADDRESS_API_URL = httpserver.url_for("/")
    httpserver.expect_request("/search/").respond_with_response(Response("panne", status=503))
    client = client_for(world, "admin")
    response = client.post(reverse("administration_location_edit", args=[world.org.pk, world.location.pk]),
                           location_data(name="Centre rénové"), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "ne répond pas" in page and "flash--warning" in page
    with in_a(world):
        world.location.refresh_from_db()
        assert world.location.name == "Centre rénové" and world.location.latitude is None


@pytest.mark.parametrize("overrides, field", [
    ({"name": ""}, "name"), ({"address": ""}, "address"), ({"availability": "single_use"}, "availability"),
    ({"name": "x" * 201}, "name"),
])
def test_location_bad_input(world, overrides, field):
    client = client_for(world, "admin")
    response = client.post(reverse("administration_location_edit", args=[world.org.pk, world.location.pk]),
                           location_data(**overrides))
    assert response.status_code == 200 and field in response.context["form"].errors
    with in_a(world):
        world.location.refresh_from_db()
        assert world.location.name == "Centre"


def test_location_disable_and_enable(world):
    client = client_for(world, "admin")
    url = reverse("administration_location_toggle", args=[world.org.pk, world.location.pk])
    client.post(url)
    with in_a(world):
        world.location.refresh_from_db()
        assert world.location.availability == "disabled"
    client.post(url)
    with in_a(world):
        world.location.refresh_from_db()
        assert world.location.availability == "enabled"
    assert client.post(reverse("administration_location_toggle",
                               args=[world.org.pk, world.other_location.pk])).status_code == 404


# --- Services --------------------------------------------------------------------------------------

def test_administration_admin_creates_and_edits_services(world):
    client = client_for(world, "head")
    response = client.post(reverse("administration_service_create"),
                           {"name": "Protection de l'enfance", "short_name": "ASE"})
    assert response.status_code == 302
    with in_a(world):
        service = Service.objects.get(short_name="ASE")
    response = client.post(reverse("administration_service_edit", args=[service.pk]),
                           {"name": "Aide sociale à l'enfance", "short_name": "ASE", "is_secretariat": "on"})
    assert response.status_code == 302
    with in_a(world):
        service.refresh_from_db()
        assert service.name == "Aide sociale à l'enfance" and service.is_secretariat


@pytest.mark.parametrize("data, field, message", [
    ({"name": "pmi", "short_name": "X"}, "name", "porte déjà ce nom"),
    ({"name": "Nouveau", "short_name": ""}, "short_name", "obligatoire"),
    ({"name": "", "short_name": "N"}, "name", "obligatoire"),
])
def test_service_bad_input(world, data, field, message):
    client = client_for(world, "head")
    with in_a(world):
        before = list(Service.objects.values_list("name", "short_name"))
    response = client.post(reverse("administration_service_create"), data)
    assert response.status_code == 200 and message in str(response.context["form"].errors[field])
    with in_a(world):
        assert list(Service.objects.values_list("name", "short_name")) == before


def test_organisation_admin_cannot_edit_services(world):
    client = client_for(world, "admin")
    response = client.post(reverse("administration_service_edit", args=[world.services["pmi"].pk]),
                           {"name": "Piraté", "short_name": "P"})
    assert response.status_code == 403
    assert client.get(reverse("administration_service_edit", args=[999999])).status_code == 403
    assert client_for(world, "head").get(reverse("administration_service_edit", args=[999999])).status_code == 404


# --- Agents ----------------------------------------------------------------------------------------

def test_invite_an_agent_sends_the_invitation_e_mail(world, django_capture_on_commit_callbacks):
    client = client_for(world, "admin")
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("administration_agent_invite", args=[world.org.pk]), {
            "email": "Nouvelle.Agente@exemple.fr", "first_name": "Nina", "last_name": "Agente", "level": "admin",
            "services": [world.services["social"].pk],
        })
    assert response.status_code == 302
    with in_a(world):
        agent = Agent.objects.get(user__email="nouvelle.agente@exemple.fr")
        assert agent.roles.get().organisation_id == world.org.pk and agent.roles.get().level == "admin"
        assert list(agent.services.all()) == [world.services["social"]]
    (message,) = mail.outbox
    assert message.to == ["nouvelle.agente@exemple.fr"] and "Invitation" in message.subject
    assert "/invitation/" in message.body or "invitation" in message.body.lower()
    page = client.get(reverse("administration_agents", args=[world.org.pk])).content.decode()
    assert "nouvelle.agente@exemple.fr" in page and "invitation en attente" in page


def test_inviting_an_agent_already_in_the_organisation_is_refused(world, django_capture_on_commit_callbacks):
    client = client_for(world, "admin")
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("administration_agent_invite", args=[world.org.pk]), {
            "email": world.agents["basic"].user.email, "last_name": "X", "level": "basic",
            "services": [world.services["pmi"].pk],
        })
    assert response.status_code == 200
    assert "déjà partie" in str(response.context["form"].errors["email"])
    assert mail.outbox == []


@pytest.mark.parametrize("overrides, field", [
    ({"email": "pas-une-adresse"}, "email"), ({"email": ""}, "email"), ({"last_name": ""}, "last_name"),
    ({"level": "intervenant"}, "level"), ({"level": "superadmin"}, "level"),
    ({"services": [999999]}, "services"), ({"services": ["abc"]}, "services"), ({"services": []}, "services"),
])
def test_invite_bad_input(world, overrides, field, django_capture_on_commit_callbacks):
    client = client_for(world, "admin")
    data = {"email": "x@exemple.fr", "first_name": "", "last_name": "X", "level": "basic",
            "services": [world.services["pmi"].pk]}
    data.update(overrides)
    mail.outbox = []
    with in_a(world):
        before = Agent.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("administration_agent_invite", args=[world.org.pk]), data)
    assert response.status_code == 200 and field in response.context["form"].errors
    with in_a(world):
        assert Agent.objects.count() == before
    assert mail.outbox == []


def test_empty_posts_show_errors_and_change_nothing(world):
    client = client_for(world, "head")
    org = world.org.pk
    with in_a(world):
        before = (AppointmentType.objects.count(), Location.objects.count(), Agent.objects.count(),
                  Service.objects.count())
    urls = [reverse(name, args=[org]) for name in (
        "administration_type_create", "administration_location_create", "administration_agent_invite",
        "administration_intervenant_create", "administration_organisation")]
    for url in [*urls, reverse("administration_service_create"), reverse("administration_branding")]:
        response = client.post(url, {})
        assert response.status_code == 200 and response.context["form"].errors, url
        assert "obligatoire" in response.content.decode(), url
    with in_a(world):
        assert before == (AppointmentType.objects.count(), Location.objects.count(), Agent.objects.count(),
                          Service.objects.count())


def test_create_an_intervenant(world):
    client = client_for(world, "admin")
    response = client.post(reverse("administration_intervenant_create", args=[world.org.pk]),
                           {"last_name": "Guichet 2", "services": [world.services["pmi"].pk]})
    assert response.status_code == 302
    with in_a(world):
        agent = Agent.objects.get(last_name="Guichet 2")
        assert agent.user is None and agent.roles.get().level == "intervenant"
    response = client.post(reverse("administration_intervenant_create", args=[world.org.pk]),
                           {"last_name": "", "services": [999999]})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"last_name", "services"}


def test_change_an_agents_services(world):
    client = client_for(world, "admin")
    basic = world.agents["basic"]
    url = reverse("administration_agent_services", args=[world.org.pk, basic.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"services": [world.services["social"].pk, world.services["pmi"].pk]}).status_code == 302
    with in_a(world):
        assert set(basic.services.values_list("name", flat=True)) == {"PMI", "Service social"}
    for bad in ([], [999999], ["abc"]):
        response = client.post(url, {"services": bad})
        assert response.status_code == 200 and "services" in response.context["form"].errors
    with in_a(world):
        assert set(basic.services.values_list("name", flat=True)) == {"PMI", "Service social"}
    outsider_url = reverse("administration_agent_services", args=[world.org.pk, world.agents["outsider"].pk])
    assert client.post(outsider_url, {"services": [world.services["social"].pk]}).status_code == 404
    assert client_for(world, "basic").get(url).status_code == 403


def test_change_role(world):
    client = client_for(world, "admin")
    basic = world.agents["basic"]
    client.post(reverse("administration_agent_role", args=[world.org.pk, basic.pk]), {"level": "admin"})
    with in_a(world):
        assert AgentRole.objects.get(agent=basic, organisation=world.org).level == "admin"
    response = client.post(reverse("administration_agent_role", args=[world.org.pk, basic.pk]),
                           {"level": "empereur"}, follow=True)
    assert "Choisissez le rôle" in response.content.decode()
    with in_a(world):
        assert AgentRole.objects.get(agent=basic, organisation=world.org).level == "admin"
    # an agent of another organisation through this organisation's URL
    assert client.post(reverse("administration_agent_role", args=[world.org.pk, world.agents["outsider"].pk]),
                       {"level": "admin"}).status_code == 404


def test_last_admin_can_be_neither_demoted_nor_removed(world):
    with in_a(world):
        AgentRole.objects.filter(agent=world.agents["head"], organisation=world.org).delete()
    client = client_for(world, "admin")
    admin = world.agents["admin"]
    response = client.post(reverse("administration_agent_role", args=[world.org.pk, admin.pk]), {"level": "basic"},
                           follow=True)
    assert "au moins un administrateur" in response.content.decode()
    response = client.post(reverse("administration_agent_remove", args=[world.org.pk, admin.pk]), follow=True)
    assert "au moins un administrateur" in response.content.decode()
    with in_a(world):
        assert AgentRole.objects.get(agent=admin, organisation=world.org).level == "admin"


def test_agent_with_future_appointments_is_not_removed(world):
    client = client_for(world, "admin")
    basic, secretary = world.agents["basic"], world.agents["secretary"]
    response = client.post(reverse("administration_agent_remove", args=[world.org.pk, basic.pk]), follow=True)
    assert "rendez-vous à venir" in response.content.decode()
    client.post(reverse("administration_agent_remove", args=[world.org.pk, secretary.pk]))
    with in_a(world):
        assert AgentRole.objects.filter(agent=basic, organisation=world.org).exists()
        assert not AgentRole.objects.filter(agent=secretary, organisation=world.org).exists()
    assert client.post(reverse("administration_agent_remove", args=[world.org.pk, 999999])).status_code == 404


# --- The organisation ------------------------------------------------------------------------------

def test_organisation_details(world):
    client = client_for(world, "admin")
    url = reverse("administration_organisation", args=[world.org.pk])
    data = {"name": "MDS Centre-ville", "address": "1 place de la Mairie, 26000 Valence", "phone": "04 75 00 00 00",
            "email": "mds@exemple.fr", "website": "", "opening_hours": "9 h – 17 h", "timezone": "Europe/Paris"}
    assert client.post(url, data).status_code == 302
    with in_a(world):
        world.org.refresh_from_db()
        assert (world.org.name, world.org.phone) == ("MDS Centre-ville", "04 75 00 00 00")
    for overrides, field in [({"name": "MDS Nord"}, "name"), ({"timezone": "Mars/Olympus"}, "timezone"),
                             ({"email": "pas-un-mail"}, "email"), ({"phone": "appelez-moi"}, "phone"),
                             ({"name": ""}, "name")]:
        response = client.post(url, {**data, "name": "Changé", **overrides})
        assert response.status_code == 200 and field in response.context["form"].errors, overrides
        with in_a(world):
            assert Organisation.objects.get(pk=world.org.pk).name == "MDS Centre-ville"


# --- The administration ----------------------------------------------------------------------------

def test_messaging_settings(world):
    from messaging.models import MessagingSettings

    client = client_for(world, "head")
    url = reverse("administration_messaging")
    response = client.post(url, {"sender_name": "MDS", "sender_email": "", "reply_to": "", "sms_provider": "",
                                 "sms_sender": "MDS", "reminder_hours": "48, 2"})
    assert response.status_code == 302
    with in_a(world):
        assert MessagingSettings.load().lead_hours == [48, 2]
    response = client.post(url, {"sender_name": "Autre", "sms_provider": "", "sms_sender": "MDS",
                                 "reminder_hours": "demain"})
    assert response.status_code == 200 and "reminder_hours" in response.context["form"].errors
    with in_a(world):
        assert MessagingSettings.load().sender_name == "MDS"


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "#123456").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def restore_branding(administration_a):
    from tenants.models import Administration

    before = Administration.objects.get(pk=administration_a.pk)
    yield
    Administration.objects.filter(pk=before.pk).update(brand_colour=before.brand_colour, logo=before.logo.name)


def test_branding_colour_and_logo(world, restore_branding, administration_b):
    from tenants.models import Administration

    client = client_for(world, "head")
    url = reverse("administration_branding")
    response = client.post(url, {"brand_colour": "#123456",
                                 "logo": SimpleUploadedFile("logo.png", _png(), content_type="image/png")})
    assert response.status_code == 302, response.context["form"].errors
    stored = Administration.objects.get(pk=world.administration.pk)
    assert stored.brand_colour == "#123456" and stored.logo.name.startswith("branding/")
    with in_a(world):
        logo_url = stored.logo.url
    served = client.get(logo_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png", logo_url
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")  # read to the end: the file closes
    assert make_client(administration_b).get(logo_url).status_code == 404  # never on another host
    for data, message in [
        ({"brand_colour": "bleu"}, "#RRVVBB"),
        ({"brand_colour": "#ffff00"}, "trop claire"),
        ({"brand_colour": "#000000", "logo": SimpleUploadedFile("logo.png", b"%PDF-1.4 pas une image")},
         "n'est pas une image"),
    ]:
        response = client.post(url, data)
        errors = " ".join(message for messages in response.context["form"].errors.values() for message in messages)
        assert response.status_code == 200 and message in errors, data
        stored = Administration.objects.get(pk=world.administration.pk)
        assert stored.brand_colour == "#123456"
    client.post(url, {"brand_colour": "#123456", "remove_logo": "on"})
    assert not Administration.objects.get(pk=world.administration.pk).logo
    assert client.get(logo_url).status_code == 404  # the file went with it


def test_organisation_admin_cannot_change_administration_settings(world, restore_branding):
    from tenants.models import Administration

    client = client_for(world, "admin")
    assert client.post(reverse("administration_branding"), {"brand_colour": "#000000"}).status_code == 403
    assert client.post(reverse("administration_messaging"), {"reminder_hours": "1"}).status_code == 403
    assert Administration.objects.get(pk=world.administration.pk).brand_colour != "#000000"


def test_navigation_shows_administration_to_admins_only(world):
    assert reverse("administration_index") in client_for(world, "admin").get(reverse("agents_home")).content.decode()
    assert reverse("administration_index") not in client_for(world, "basic").get(
        reverse("agents_home")).content.decode()
