"""Factories of the scheduling domain. Call them inside ``tenant_context(administration)``."""

from datetime import time

import factory

from scheduling.models import (
    Absence,
    Agent,
    AgentRole,
    AppointmentType,
    Availability,
    Citizen,
    Location,
    Organisation,
    Service,
)
from tests.factories import UserFactory


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Maison des solidarités {n}")
    timezone = "Europe/Paris"


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    short_name = factory.Sequence(lambda n: f"S{n}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Lieu {n}")
    address = "1 place de la Mairie, 26000 Valence"


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    first_name = factory.LazyAttribute(lambda o: o.user.first_name if o.user else "Guichet")
    last_name = factory.LazyAttribute(lambda o: o.user.last_name if o.user else "1")

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)

    @factory.post_generation
    def organisation(self, create, extracted, **kwargs):
        if create and extracted:
            AgentRole.objects.create(agent=self, organisation=extracted, level=kwargs.get("level", "basic"))


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentType

    organisation = factory.SubFactory(OrganisationFactory)
    service = factory.SubFactory(ServiceFactory)
    name = factory.Sequence(lambda n: f"Motif {n}")
    bookable_by = AppointmentType.BookableBy.EVERYONE


class AvailabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Availability
        skip_postgeneration_save = True

    organisation = factory.LazyAttribute(lambda o: o.location.organisation if o.location else None)
    location = factory.SubFactory(LocationFactory)
    start_time = time(9, 0)
    end_time = time(12, 0)
    recurrence = "weekly"
    weekdays = factory.LazyFunction(lambda: [0, 1, 2, 3, 4])

    @factory.post_generation
    def appointment_types(self, create, extracted, **kwargs):
        if create and extracted:
            self.appointment_types.set(extracted)


class AbsenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Absence

    start_time = time(9, 0)
    end_time = time(18, 0)
    end_day = factory.LazyAttribute(lambda o: o.first_day)


class CitizenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Citizen

    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    email = factory.Sequence(lambda n: f"usager{n}@exemple.fr")
