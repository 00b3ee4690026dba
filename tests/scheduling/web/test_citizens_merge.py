"""Merging two usager records: everything moves to the kept record, the merged one is soft-deleted, a
participation in the same appointment is dropped without an IntegrityError; bad input changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from scheduling.models import AppointmentChange, Citizen, Participation
from scheduling.services import Actor, appointment_create, citizen_merge, participant_add
from tests.conftest import login_client
from tests.factories import UserFactory
from tests.scheduling.api_world import at, build_world
from tests.scheduling.factories import AppointmentTypeFactory, CitizenFactory


@pytest.fixture
def world(administration_a):
    return build_world(administration_a)


def html(response) -> str:
    return unescape(response.content.decode())


@pytest.fixture
def duplicate(world):
    """A second record of world.citizen's person, in other_org too, with its own appointments, relative and
    référent, and details the kept record lacks; one collective session holds both records."""
    with tenant_context(world.administration):
        basic = world.agents["basic"]
        Citizen.objects.filter(pk=world.citizen.pk).update(phone="", birth_date=None, address="")
        world.citizen.refresh_from_db()
        twin = CitizenFactory(first_name=world.citizen.first_name, last_name=world.citizen.last_name,
                              email="twin@exemple.fr", phone="+33699887766", birth_date=date(1990, 1, 2),
                              address="1 rue de la Paix, Paris", account=UserFactory(email="twin-account@exemple.fr"))
        twin.organisations.add(world.org, world.other_org)
        twin.referents.add(world.agents["colleague"])
        child = CitizenFactory(first_name="Enfant", responsible=twin)
        child.organisations.add(world.org)
        own = appointment_create(
            appointment_type=world.pmi_type, starts_at=at(14), agents=[basic], citizens=[twin],
            actor=Actor.for_agent(basic), location=world.location, accept_warnings=True,
        )
        session_type = AppointmentTypeFactory(organisation=world.org, service=world.services["pmi"], collective=True,
                                              name="Atelier")
        session = appointment_create(
            appointment_type=session_type, starts_at=at(16), agents=[basic], citizens=[],
            actor=Actor.for_agent(basic), location=world.location, accept_warnings=True, capacity=10,
        )
        participant_add(appointment=session, citizen=world.citizen, actor=Actor.for_agent(basic))
        participant_add(appointment=session, citizen=twin, actor=Actor.for_agent(basic))
    return {"twin": twin, "child": child, "own": own, "session": session}


def test_merge_moves_everything_to_the_kept_record(world, duplicate):
    twin, child = duplicate["twin"], duplicate["child"]
    client = login_client(world.administration, world.agents["basic"].user)
    path = f"/agents/usagers/{world.citizen.pk}/fusionner/"
    page = html(client.get(path, {"q": "twin@exemple"}))
    assert f"?avec={twin.pk}" in page
    page = html(client.get(path, {"avec": twin.pk}))
    assert "Comparer les deux fiches" in page and "1 rue de la Paix" in page
    response = client.post(path, {"merged": twin.pk, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == f"/agents/usagers/{world.citizen.pk}/"

    with tenant_context(world.administration):
        kept = Citizen.objects.get(pk=world.citizen.pk)
        twin.refresh_from_db()
        child.refresh_from_db()
        # appointments and participations
        assert Participation.objects.filter(appointment=duplicate["own"], citizen=kept).exists()
        assert not Participation.objects.filter(citizen=twin).exists()
        assert Participation.objects.filter(appointment=duplicate["session"]).count() == 1  # duplicate dropped
        assert Participation.objects.filter(appointment=duplicate["session"], citizen=kept).exists()
        # relatives, référents, organisations
        assert child.responsible_id == kept.pk
        assert world.agents["colleague"] in kept.referents.all()
        assert set(kept.organisations.all()) == {world.org, world.other_org}
        # missing fields filled; existing ones kept
        assert kept.phone == "+33699887766" and kept.birth_date == date(1990, 1, 2)
        assert kept.address == "1 rue de la Paix, Paris"
        assert kept.email == world.citizen.email
        assert kept.account.email == "twin-account@exemple.fr" and twin.account_id is None
        # the merged record is soft-deleted and linked to nothing
        assert twin.deleted_at is not None
        assert not twin.organisations.exists() and not twin.referents.exists()
        # the trail
        changes = AppointmentChange.objects.filter(action="citizen_merged")
        assert {c.appointment_id for c in changes} == {duplicate["own"].pk, duplicate["session"].pk}
        assert {c.changes["participation"] for c in changes} == {"moved", "duplicate_dropped"}
        assert all(c.actor_agent_id == world.agents["basic"].pk for c in changes)
    assert client.get(f"/agents/usagers/{twin.pk}/").status_code == 404


def test_merging_a_relative_into_his_responsible_keeps_no_self_reference(world, duplicate):
    with tenant_context(world.administration):
        child = duplicate["child"]
        citizen_merge(actor=Actor.for_agent(world.agents["admin"]), kept=child, merged=duplicate["twin"])
        child.refresh_from_db()
        assert child.responsible_id is None
        assert Participation.objects.filter(appointment=duplicate["own"], citizen=child).exists()


def test_the_service_refuses_a_record_with_itself_and_a_deleted_record(world):
    with tenant_context(world.administration):
        actor = Actor.for_agent(world.agents["admin"])
        with pytest.raises(ValidationError):
            citizen_merge(actor=actor, kept=world.citizen, merged=world.citizen)
        gone = CitizenFactory(deleted_at=at(9) - timedelta(days=1))
        with pytest.raises(ValidationError):
            citizen_merge(actor=actor, kept=world.citizen, merged=gone)


@pytest.mark.parametrize("case", ["self", "invisible", "unknown", "tampered", "missing", "no_confirm"])
def test_merge_refuses_bad_input_and_changes_nothing(world, duplicate, case):
    twin = duplicate["twin"]
    merged = {"self": world.citizen.pk, "invisible": world.other_citizen.pk, "unknown": 999999,
              "tampered": "1 OR 1=1", "missing": "", "no_confirm": twin.pk}[case]
    data = {"merged": merged} if case == "no_confirm" else {"merged": merged, "confirm": "on"}
    client = login_client(world.administration, world.agents["basic"].user)
    response = client.post(f"/agents/usagers/{world.citizen.pk}/fusionner/", data)
    assert response.status_code == 400
    page = html(response)
    expected = {
        "self": "ne se fusionne pas avec elle-même", "no_confirm": "Cochez la case pour confirmer la fusion.",
        "missing": "Choisissez un usager.",
    }.get(case, "Usager introuvable")
    assert expected in page
    with tenant_context(world.administration):
        twin.refresh_from_db()
        world.other_citizen.refresh_from_db()
        assert twin.deleted_at is None and world.other_citizen.deleted_at is None
        assert Participation.objects.filter(citizen=twin).count() == 2
        assert not AppointmentChange.objects.filter(action="citizen_merged").exists()


def test_merge_picker_never_offers_an_invisible_record(world):
    client = login_client(world.administration, world.agents["basic"].user)
    path = f"/agents/usagers/{world.citizen.pk}/fusionner/"
    assert client.get(path, {"avec": world.other_citizen.pk}).status_code == 404
    assert client.get(path, {"avec": world.citizen.pk}).status_code == 404
    assert client.get(path, {"avec": "abc"}).status_code == 404
    page = html(client.get(path, {"q": world.other_citizen.last_name}))
    assert f"?avec={world.other_citizen.pk}" not in page
