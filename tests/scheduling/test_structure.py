"""Rules of the structure: an admin per organisation, archived types, relatives, likely duplicates."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from scheduling.models import AgentRole
from scheduling.selectors import citizen_likely_duplicates
from scheduling.services import (
    Actor,
    agent_role_remove,
    agent_role_set,
    appointment_create,
    appointment_type_remove,
    citizen_set_responsible,
)
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    CitizenFactory,
    LocationFactory,
    OrganisationFactory,
    ServiceFactory,
)


@pytest.fixture
def organisation(administration_a):
    with tenant_context(administration_a):
        yield OrganisationFactory()


def test_an_organisation_keeps_an_admin(organisation):
    admin, other = AgentFactory(), AgentFactory()
    agent_role_set(agent=admin, organisation=organisation, level="admin")
    agent_role_set(agent=other, organisation=organisation, level="basic")
    with pytest.raises(ValidationError, match="au moins un administrateur"):
        agent_role_set(agent=admin, organisation=organisation, level="basic")
    with pytest.raises(ValidationError, match="au moins un administrateur"):
        agent_role_remove(agent=admin, organisation=organisation)
    agent_role_set(agent=other, organisation=organisation, level="admin")
    agent_role_set(agent=admin, organisation=organisation, level="basic")
    assert AgentRole.objects.get(agent=admin, organisation=organisation).level == "basic"


def test_intervenants_have_only_their_role(organisation):
    guichet = AgentFactory(user=None, first_name="Guichet", last_name="1")
    agent = AgentFactory()
    with pytest.raises(ValidationError, match="ne peut être qu'intervenant"):
        agent_role_set(agent=guichet, organisation=organisation, level="admin")
    with pytest.raises(ValidationError, match="réservé aux agents sans compte"):
        agent_role_set(agent=agent, organisation=organisation, level="intervenant")
    with pytest.raises(ValidationError, match="Rôle inconnu"):
        agent_role_set(agent=agent, organisation=organisation, level="chef")
    assert agent_role_set(agent=guichet, organisation=organisation, level="intervenant").level == "intervenant"


def test_an_agent_with_appointments_to_come_stays(organisation):
    location = LocationFactory(organisation=organisation)
    service = ServiceFactory()
    kind = AppointmentTypeFactory(organisation=organisation, service=service)
    admin, agent = AgentFactory(), AgentFactory(services=[service])
    agent_role_set(agent=admin, organisation=organisation, level="admin")
    agent_role_set(agent=agent, organisation=organisation, level="basic")
    appointment_create(appointment_type=kind, starts_at=datetime(2030, 1, 7, 9, tzinfo=ZoneInfo("Europe/Paris")),
                       agents=[agent], citizens=[CitizenFactory()], actor=Actor.for_agent(admin), location=location)
    with pytest.raises(ValidationError, match="rendez-vous à venir"):
        agent_role_remove(agent=agent, organisation=organisation)


def test_types_with_appointments_are_archived_not_deleted(organisation):
    location = LocationFactory(organisation=organisation)
    used, unused = AppointmentTypeFactory(organisation=organisation), AppointmentTypeFactory(organisation=organisation)
    agent = AgentFactory()
    appointment_create(appointment_type=used, starts_at=datetime(2030, 1, 7, 9, tzinfo=ZoneInfo("Europe/Paris")),
                       agents=[agent], citizens=[CitizenFactory()], actor=Actor.for_agent(agent), location=location)
    assert appointment_type_remove(appointment_type=used) == "archived"
    assert appointment_type_remove(appointment_type=unused) == "deleted"
    used.refresh_from_db()
    assert used.archived_at is not None
    with pytest.raises(ValidationError, match="archivé"):
        appointment_create(appointment_type=used, starts_at=datetime(2030, 1, 8, 9, tzinfo=ZoneInfo("Europe/Paris")),
                           agents=[agent], citizens=[CitizenFactory()], actor=Actor.for_agent(agent), location=location)


def test_relatives_never_form_a_cycle(organisation):
    parent, child, grandchild = CitizenFactory(), CitizenFactory(), CitizenFactory()
    citizen_set_responsible(citizen=child, responsible=parent)
    citizen_set_responsible(citizen=grandchild, responsible=child)
    for responsible in (grandchild, child):
        with pytest.raises(ValidationError, match="proche"):
            citizen_set_responsible(citizen=parent, responsible=responsible)
    with pytest.raises(ValidationError, match="proche"):
        citizen_set_responsible(citizen=parent, responsible=parent)
    citizen_set_responsible(citizen=grandchild, responsible=None)
    assert grandchild.responsible is None


def test_likely_duplicates(organisation):
    marie = CitizenFactory(first_name="Marie", last_name="Dupont", birth_date=date(1980, 5, 2),
                           email="marie@exemple.fr", phone="+33612345678")
    CitizenFactory(first_name="Marie", last_name="Dupont", birth_date=date(1990, 1, 1), email="autre@exemple.fr")
    by_identity = citizen_likely_duplicates(first_name="marie", last_name="DUPONT", birth_date=date(1980, 5, 2))
    assert list(by_identity) == [marie]
    assert list(citizen_likely_duplicates(email="MARIE@exemple.fr")) == [marie]
    assert list(citizen_likely_duplicates(phone="+33612345678")) == [marie]
    assert list(citizen_likely_duplicates(first_name="Marie", last_name="Dupont")) == []
    assert list(citizen_likely_duplicates(email="marie@exemple.fr", exclude_id=marie.pk)) == []
