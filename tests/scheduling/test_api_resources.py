"""API v1: creating and updating the configuration resources, with the policy's permissions (admins
manage their organisation; agents their own agenda) and French 400s from model validation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from scheduling.models import Agent, AgentRole, AppointmentType, Citizen, Location
from tests.scheduling.api_world import MONDAY, build_world


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def post(world, persona, url, body):
    return world.client(persona).post(url, body, content_type="application/json")


def patch(world, persona, url, body):
    return world.client(persona).patch(url, body, content_type="application/json")


ADMIN_ONLY = "Seuls les administrateurs de cette organisation peuvent faire cette modification."


@pytest.mark.parametrize(("persona", "code"), [
    ("admin", 201), ("basic", 403), ("secretary", 403), ("outsider", 400), ("anonymous", 401),
])
def test_locations_are_created_by_admins_only(world, persona, code):
    response = post(world, persona, "/api/v1/locations/",
                    {"organisation": world.org.pk, "name": "Annexe", "address": "2 rue Haute, 26000 Valence"})
    assert response.status_code == code, response.content
    if code == 403:
        assert response.json() == {"detail": ADMIN_ONLY}
    if code == 400:
        assert "introuvable" in response.json()["organisation"][0]


def test_location_update_and_model_validation(world):
    url = f"/api/v1/locations/{world.location.pk}/"
    assert patch(world, "basic", url, {"name": "X"}).status_code == 403
    assert patch(world, "admin", url, {"name": "Centre-ville"}).json()["name"] == "Centre-ville"
    bad = patch(world, "admin", url, {"latitude": 123, "availability": "jamais"})
    assert bad.status_code == 400 and set(bad.json()) == {"latitude", "availability"}
    moved = patch(world, "admin", url, {"organisation": world.other_org.pk})
    assert moved.status_code == 400  # invisible for this admin, and never movable
    assert patch(world, "outsider", url, {"name": "X"}).status_code == 404


def test_appointment_types_admin_and_frozen_fields(world):
    body = {"organisation": world.org.pk, "service": world.services["pmi"].pk, "name": "Vaccination",
            "duration_minutes": 20}
    assert post(world, "basic", "/api/v1/appointment-types/", body).status_code == 403
    created = post(world, "admin", "/api/v1/appointment-types/", body)
    assert created.status_code == 201 and created.json()["min_booking_delay"] == "00:30:00"
    bad_colour = post(world, "admin", "/api/v1/appointment-types/", {**body, "colour": "rouge"})
    assert bad_colour.json() == {"colour": ["La couleur doit être au format #RRVVBB."]}
    delays = post(world, "admin", "/api/v1/appointment-types/",
                  {**body, "min_booking_delay": "10 00:00:00", "max_booking_delay": "01:00:00"})
    assert delays.status_code == 400 and "non_field_errors" in delays.json()  # database constraint, checked first
    collective_phone = post(world, "admin", "/api/v1/appointment-types/",
                            {**body, "name": "Atelier", "collective": True, "mode": "phone"})
    assert collective_phone.status_code == 400
    frozen = patch(world, "admin", f"/api/v1/appointment-types/{world.pmi_type.pk}/", {"mode": "phone"})
    assert frozen.status_code == 400 and "ne change plus" in frozen.json()["mode"][0]
    assert patch(world, "admin", f"/api/v1/appointment-types/{world.pmi_type.pk}/",
                 {"name": "Consultation"}).status_code == 200


def test_frozen_mode_holds_outside_the_api_too(world):
    from django.core.exceptions import ValidationError

    with tenant_context(world.administration):
        kind = AppointmentType.objects.get(pk=world.pmi_type.pk)
        kind.mode, kind.collective = "phone", False
        with pytest.raises(ValidationError) as error:
            kind.full_clean()
        assert "ne change plus" in error.value.message_dict["mode"][0]
        unused = AppointmentType.objects.get(pk=world.pmi_type.pk)
        unused.pk = None
        unused.name = "Copie"
        unused.save()
        unused.mode = "phone"
        unused.full_clean()  # no appointment yet: free to change


def test_deleting_a_type_archives_it_once_used(world):
    used = f"/api/v1/appointment-types/{world.pmi_type.pk}/"
    assert world.client("basic").delete(used).status_code == 403
    archived = world.client("admin").delete(used)
    assert archived.status_code == 200 and archived.json()["archived_at"]
    assert world.client("admin").get(used).status_code == 200  # kept, with its appointments
    body = {"organisation": world.org.pk, "service": world.services["pmi"].pk, "name": "Jamais servi"}
    fresh = post(world, "admin", "/api/v1/appointment-types/", body).json()
    assert world.client("admin").delete(f"/api/v1/appointment-types/{fresh['id']}/").status_code == 204
    with tenant_context(world.administration):
        assert not AppointmentType.objects.filter(pk=fresh["id"]).exists()
        assert AppointmentType.objects.get(pk=world.pmi_type.pk).archived_at is not None


def test_roles_are_given_and_removed_by_admins_keeping_one_admin(world):
    roles = f"/api/v1/agents/{world.agents['colleague'].pk}/roles/"
    give = {"organisation": world.org.pk, "level": "admin"}
    assert post(world, "basic", roles, give).status_code == 403
    promoted = post(world, "admin", roles, give)
    assert promoted.status_code == 200, promoted.content
    assert {"organisation": world.org.pk, "level": "admin"} in promoted.json()["roles"]
    assert post(world, "admin", roles, {"organisation": world.org.pk, "level": "chef"}).status_code == 400
    intervenant = post(world, "admin", roles, {"organisation": world.org.pk, "level": "intervenant"})
    assert intervenant.status_code == 400 and "intervenant" in intervenant.json()["level"][0]
    # The admin steps down: allowed while the colleague stays admin, refused for the last one.
    own = f"/api/v1/agents/{world.agents['admin'].pk}/roles/"
    assert post(world, "admin", own, {"organisation": world.org.pk, "level": "basic"}).status_code == 200
    last = post(world, "colleague", roles, {"organisation": world.org.pk, "level": "basic"})
    assert last.status_code == 400 and "au moins un administrateur" in last.json()["non_field_errors"][0]
    # Removing an agent who still has appointments to come is refused; without any, it goes.
    busy = post(world, "colleague", f"/api/v1/agents/{world.agents['basic'].pk}/roles/",
                {"organisation": world.org.pk, "level": None})
    assert busy.status_code == 400 and "rendez-vous à venir" in busy.json()["non_field_errors"][0]
    secretary = f"/api/v1/agents/{world.agents['secretary'].pk}/roles/"
    assert post(world, "colleague", secretary, {"organisation": world.org.pk, "level": None}).status_code == 200
    with tenant_context(world.administration):
        assert not AgentRole.objects.filter(agent=world.agents["secretary"], organisation=world.org).exists()


def test_organisation_details_are_changed_by_its_admins(world):
    url = f"/api/v1/organisations/{world.org.pk}/"
    assert patch(world, "basic", url, {"phone": "0475000000"}).status_code == 403
    response = patch(world, "admin", url, {"phone": "0475000000", "timezone": "America/Cayenne"})
    assert response.status_code == 200
    assert response.json()["phone"] == "0475000000" and response.json()["timezone"] == "Europe/Paris"
    assert world.client("admin").post("/api/v1/organisations/", {}).status_code == 405


def test_intervenants_are_created_and_agents_updated_by_admins(world):
    body = {"first_name": "", "last_name": "Guichet 2", "services": [world.services["pmi"].pk],
            "organisation": world.org.pk}
    assert post(world, "basic", "/api/v1/agents/", body).status_code == 403
    created = post(world, "admin", "/api/v1/agents/", body)
    assert created.status_code == 201, created.content
    assert created.json()["is_intervenant"] and created.json()["roles"] == [
        {"organisation": world.org.pk, "level": "intervenant"}]
    assert post(world, "admin", "/api/v1/agents/", {**body, "organisation": None}).status_code == 400
    url = f"/api/v1/agents/{world.agents['basic'].pk}/"
    assert patch(world, "colleague", url, {"last_name": "X"}).status_code == 403
    updated = patch(world, "admin", url, {"services": [world.services["pmi"].pk, world.services["social"].pk]})
    assert updated.status_code == 200 and len(updated.json()["services"]) == 2
    with tenant_context(world.administration):
        assert AgentRole.objects.filter(agent_id=created.json()["id"]).count() == 1
        assert Agent.objects.get(pk=world.agents["basic"].pk).services.count() == 2


def test_own_availability_and_admins_for_their_agents(world):
    body = {"agent": world.agents["basic"].pk, "organisation": world.org.pk, "location": world.location.pk,
            "appointment_types": [world.pmi_type.pk], "first_day": (MONDAY + timedelta(days=1)).isoformat(),
            "start_time": "14:00", "end_time": "17:00", "recurrence": "weekly", "weekdays": [1]}
    assert post(world, "basic", "/api/v1/availabilities/", body).status_code == 201
    assert post(world, "colleague", "/api/v1/availabilities/", body).status_code == 403
    assert post(world, "admin", "/api/v1/availabilities/", {**body, "start_time": "08:00", "end_time": "09:00"}
                ).status_code == 201
    inverted = post(world, "basic", "/api/v1/availabilities/", {**body, "end_time": "13:00"})
    assert inverted.status_code == 400 and "non_field_errors" in inverted.json()
    wrong_type = post(world, "admin", "/api/v1/availabilities/",
                      {**body, "appointment_types": [world.other_type.pk]})
    assert wrong_type.status_code == 400 and "appointment_types" in wrong_type.json()
    no_place = post(world, "basic", "/api/v1/availabilities/", {**body, "location": None})
    assert no_place.status_code == 400 and "lieu" in no_place.json()["location"][0]
    bad_days = post(world, "basic", "/api/v1/availabilities/", {**body, "weekdays": [9], "interval": 9})
    assert bad_days.status_code == 400 and {"weekdays", "interval"} <= set(bad_days.json())
    url = f"/api/v1/availabilities/{world.availabilities['colleague'].pk}/"
    assert patch(world, "basic", url, {"title": "X"}).status_code == 404  # invisible to him
    assert patch(world, "secretary", url, {"title": "X"}).status_code == 403  # visible, not his
    assert patch(world, "colleague", url, {"title": "Matin"}).json()["title"] == "Matin"


def test_absences_own_or_admin(world):
    body = {"agent": world.agents["colleague"].pk, "first_day": MONDAY.isoformat(), "end_day": MONDAY.isoformat(),
            "start_time": "13:00", "end_time": "18:00", "title": "Formation"}
    assert post(world, "colleague", "/api/v1/absences/", body).status_code == 201
    assert post(world, "admin", "/api/v1/absences/", body).status_code == 201
    assert post(world, "basic", "/api/v1/absences/", body).status_code == 403  # a colleague, not his agenda
    assert post(world, "outsider", "/api/v1/absences/", body).status_code == 400  # an unknown agent to him
    assert post(world, "secretary", "/api/v1/absences/", body).status_code == 403
    before = post(world, "colleague", "/api/v1/absences/",
                  {**body, "end_day": (MONDAY - timedelta(days=1)).isoformat()})
    assert before.status_code == 400


def test_citizens_created_linked_and_validated(world):
    created = post(world, "basic", "/api/v1/citizens/",
                   {"first_name": "Lina", "last_name": "Morel", "phone": "06 12 34 56 78", "birth_date": "2019-05-01"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["phone"] == "+33612345678" and body["organisations"] == [world.org.pk]
    assert world.client("colleague").get(f"/api/v1/citizens/{body['id']}/").status_code == 200
    assert world.client("outsider").get(f"/api/v1/citizens/{body['id']}/").status_code == 404
    bad = post(world, "basic", "/api/v1/citizens/",
               {"first_name": "", "last_name": "X", "phone": "12", "birth_date": "2999-01-01", "email": "pas-un-mail"})
    assert bad.status_code == 400
    assert set(bad.json()) == {"first_name", "phone", "birth_date", "email"}
    assert "futur" in bad.json()["birth_date"][0] and bad.json()["phone"] == ["Numéro de téléphone invalide."]
    old = post(world, "basic", "/api/v1/citizens/", {"first_name": "A", "last_name": "B", "birth_date": "1850-01-01"})
    assert "130 ans" in old.json()["birth_date"][0]
    twin = post(world, "basic", "/api/v1/citizens/",
                {"first_name": "lina", "last_name": "MOREL", "birth_date": "2019-05-01"})
    assert twin.status_code == 201 and twin.json()["likely_duplicates"] == [body["id"]]
    assert "likely_duplicates" not in world.client("basic").get(f"/api/v1/citizens/{body['id']}/").json()
    elsewhere = post(world, "outsider", "/api/v1/citizens/", {"first_name": "Lina", "last_name": "Morel",
                                                             "birth_date": "2019-05-01"})
    assert elsewhere.json()["likely_duplicates"] == []  # the others are not his to see
    hidden_org = post(world, "basic", "/api/v1/citizens/",
                      {"first_name": "A", "last_name": "B", "organisations": [world.other_org.pk]})
    assert hidden_org.status_code == 400


def test_citizen_relatives_without_cycles_and_hidden_links_kept(world):
    child = post(world, "basic", "/api/v1/citizens/",
                 {"first_name": "Enzo", "last_name": "Morel", "responsible": world.citizen.pk}).json()
    assert child["responsible"] == world.citizen.pk
    cycle = patch(world, "basic", f"/api/v1/citizens/{world.citizen.pk}/", {"responsible": child["id"]})
    assert cycle.status_code == 400 and "proche" in cycle.json()["responsible"][0]
    with tenant_context(world.administration):
        world.citizen.organisations.add(world.other_org)
    assert patch(world, "basic", f"/api/v1/citizens/{world.citizen.pk}/",
                 {"organisations": [world.org.pk]}).status_code == 200
    with tenant_context(world.administration):
        assert set(Citizen.objects.get(pk=world.citizen.pk).organisations.all()) == {world.org, world.other_org}


def test_services_are_read_only(world):
    assert post(world, "admin", "/api/v1/services/", {"name": "X", "short_name": "X"}).status_code == 405


def test_nothing_is_written_on_a_refusal(world):
    with tenant_context(world.administration):
        before = Location.objects.count()
    post(world, "basic", "/api/v1/locations/", {"organisation": world.org.pk, "name": "A", "address": "B"})
    post(world, "admin", "/api/v1/locations/", {"organisation": world.org.pk, "name": "", "address": ""})
    with tenant_context(world.administration):
        assert Location.objects.count() == before


def test_availability_warnings_need_confirmation(world):
    """Overlapping another plage of the same agent, or a type longer than the window: 400 with the
    warnings, then 201 with accept_warnings."""
    body = {"agent": world.agents["basic"].pk, "organisation": world.org.pk, "location": world.location.pk,
            "appointment_types": [world.pmi_type.pk], "first_day": MONDAY.isoformat(),
            "start_time": "11:00", "end_time": "11:20", "recurrence": "weekly", "weekdays": [0]}
    warned = post(world, "basic", "/api/v1/availabilities/", body)
    assert warned.status_code == 400
    text = " ".join(warned.json()["warnings"])
    assert "chevauche la plage" in text and "plus que la plage (20 min)" in text
    accepted = post(world, "basic", "/api/v1/availabilities/", {**body, "accept_warnings": True})
    assert accepted.status_code == 201 and "accept_warnings" not in accepted.json()


def test_a_weekly_plage_needs_its_days(world):
    body = {"agent": world.agents["basic"].pk, "organisation": world.org.pk, "location": world.location.pk,
            "appointment_types": [world.pmi_type.pk], "first_day": MONDAY.isoformat(),
            "start_time": "14:00", "end_time": "17:00", "recurrence": "weekly", "weekdays": []}
    response = post(world, "basic", "/api/v1/availabilities/", body)
    assert response.status_code == 400
    assert "au moins un jour" in response.json()["weekdays"][0]
