"""The policy layer on its own: scopes, visible querysets, predicates and 404 fetching."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from scheduling import policy
from scheduling.models import AgentRole, Appointment
from tests.scheduling.api_world import build_world
from tests.scheduling.factories import AgentFactory


@pytest.fixture
def world(administration_a):
    world = build_world(administration_a)
    with tenant_context(administration_a):
        yield world


def scope(world, persona):
    return policy.scope_for_agent(world.agents[persona])


def visible_appointments(world, persona):
    names = {pk: name for name, pk in ((n, a.pk) for n, a in world.appointments.items())}
    return {names[pk] for pk in policy.appointments(scope(world, persona)).values_list("pk", flat=True)}


def test_scopes(world):
    basic, secretary, admin = scope(world, "basic"), scope(world, "secretary"), scope(world, "admin")
    assert basic.organisation_ids == {world.org.pk} and basic.wide_organisation_ids == frozenset()
    assert secretary.wide_organisation_ids == {world.org.pk} and secretary.admin_organisation_ids == frozenset()
    assert admin.wide_organisation_ids == admin.admin_organisation_ids == {world.org.pk}


@pytest.mark.parametrize(("persona", "names"), [
    ("basic", {"pmi_appt", "assigned_appt"}),
    ("colleague", {"social_appt", "assigned_appt"}),
    ("secretary", {"pmi_appt", "social_appt", "assigned_appt"}),
    ("admin", {"pmi_appt", "social_appt", "assigned_appt"}),
    ("outsider", {"other_appt"}),
])
def test_appointment_visibility(world, persona, names):
    assert visible_appointments(world, persona) == names
    participations = policy.participations(scope(world, persona))
    assert {p.appointment_id for p in participations} == {world.appointments[n].pk for n in names}


def test_a_role_is_needed_even_for_assigned_appointments(world):
    """Assigned to an appointment of an organisation where he has no role: still invisible."""
    with tenant_context(world.administration):
        from scheduling.models import AppointmentAgent

        AppointmentAgent.objects.filter(appointment=world.appointments["other_appt"]).update(blocks=False)
        AppointmentAgent.objects.create(appointment=world.appointments["other_appt"], agent=world.agents["basic"],
                                        starts_at=world.appointments["other_appt"].starts_at,
                                        ends_at=world.appointments["other_appt"].ends_at, blocks=False)
    assert "other_appt" not in visible_appointments(world, "basic")


def test_secretariat_in_one_organisation_is_wide_in_each_of_his_organisations_only(world):
    AgentRole.objects.create(agent=world.agents["secretary"], organisation=world.other_org)
    assert visible_appointments(world, "secretary") == set(world.appointments)
    agent_without_role = AgentFactory(services=[world.services["secretariat"]])
    assert not policy.appointments(policy.scope_for_agent(agent_without_role)).exists()


def test_predicates(world):
    basic, colleague, admin = scope(world, "basic"), scope(world, "colleague"), scope(world, "admin")
    pmi_appt = world.appointments["pmi_appt"]
    assert policy.can_manage_organisation(admin, world.org.pk)
    assert not policy.can_manage_organisation(basic, world.org.pk)
    assert not policy.can_manage_organisation(admin, world.other_org.pk)
    assert policy.can_delete_appointment(admin, pmi_appt) and not policy.can_delete_appointment(basic, pmi_appt)
    assert policy.can_book(basic, world.pmi_type) and not policy.can_book(colleague, world.pmi_type)
    assert policy.can_book(scope(world, "secretary"), world.pmi_type)
    assert not policy.can_book(scope(world, "outsider"), world.pmi_type)
    assert policy.can_change_status(basic, pmi_appt) and not policy.can_change_status(colleague, pmi_appt)
    assert policy.can_manage_agenda_of(basic, world.agents["basic"].pk, world.org.pk)
    assert not policy.can_manage_agenda_of(basic, world.agents["basic"].pk, world.other_org.pk)
    assert not policy.can_manage_agenda_of(basic, world.agents["colleague"].pk)
    assert policy.can_manage_agenda_of(admin, world.agents["colleague"].pk, world.org.pk)
    assert not policy.can_manage_agenda_of(admin, world.agents["outsider"].pk)


def test_agendas_citizens_and_structure(world):
    basic, secretary, outsider = scope(world, "basic"), scope(world, "secretary"), scope(world, "outsider")
    assert set(policy.availabilities(basic)) == {world.availabilities["basic"]}
    assert set(policy.availabilities(secretary)) == {world.availabilities["basic"], world.availabilities["colleague"]}
    assert set(policy.absences(outsider)) == {world.absences["outsider"]}
    assert set(policy.citizens(basic)) == {world.citizen}
    assert set(policy.citizens(outsider)) == {world.other_citizen}
    assert set(policy.locations(outsider)) == {world.other_location}
    assert set(policy.appointment_types(basic)) == {world.pmi_type, world.social_type}
    assert set(policy.agents(outsider)) == {world.agents["outsider"]}
    assert set(policy.organisations(basic)) == {world.org}


def test_deleted_citizens_and_agents_are_invisible(world):
    from django.utils import timezone

    world.citizen.deleted_at = timezone.now()
    world.citizen.save()
    assert not policy.citizens(scope(world, "basic")).exists()
    agent = world.agents["colleague"]
    agent.deleted_at = timezone.now()
    agent.save()
    assert agent not in policy.agents(scope(world, "basic"))
    assert policy.agent_of(agent.user) is None


def test_get_visible_or_404(world):
    visible = policy.appointments(scope(world, "basic"))
    assert policy.get_visible_or_404(visible, pk=world.appointments["pmi_appt"].pk) == world.appointments["pmi_appt"]
    for pk in (world.appointments["other_appt"].pk, 999999999, "abc"):
        with pytest.raises(Http404):
            policy.get_visible_or_404(visible, pk=pk)


def test_scope_is_computed_once_per_request(world, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = world.agents["basic"].user
    list(policy.organisations(scope(world, "basic")))  # the schema is set: only the scope's queries count
    with django_assert_num_queries(3):
        first = policy.scope_for_request(request)
        assert policy.scope_for_request(request) is first
    request = RequestFactory().get("/")
    request.user = world.no_profile
    assert policy.scope_for_request(request) is None


def test_querysets_are_single_queries(world, django_assert_num_queries):
    basic = scope(world, "basic")
    with django_assert_num_queries(1):
        list(policy.appointments(basic))
    with django_assert_num_queries(1):
        list(policy.absences(basic))
    assert Appointment.objects.count() >= 4
