"""Many integrators book the same slot at once through the API: exactly one 201, the others 409.

Real concurrency: each thread has its own HTTP client and database connection, so the data is committed
(no ``db`` fixture here) and removed at the end."""

from __future__ import annotations

import threading

from django.db import connection, connections
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from scheduling.models import Agent, AgentRole, Appointment, Citizen
from tests.scheduling.api_world import MONDAY, at
from tests.scheduling.factories import (
    AgentFactory,
    AppointmentTypeFactory,
    AvailabilityFactory,
    CitizenFactory,
    LocationFactory,
    ServiceFactory,
)

CLIENTS = 8


def test_many_api_clients_racing_for_one_slot_book_it_once(django_db_setup, django_db_blocker):
    from tenants.models import Administration

    with django_db_blocker.unblock():
        administration = Administration.objects.get(slug="test-a")
        host = administration.primary_domain
    with django_db_blocker.unblock(), tenant_context(administration):
        location = LocationFactory()
        organisation = location.organisation
        service = ServiceFactory()
        kind = AppointmentTypeFactory(organisation=organisation, service=service)
        receiver = AgentFactory(services=[service], organisation=organisation)
        AvailabilityFactory(agent=receiver, location=location, first_day=MONDAY, appointment_types=[kind])
        bookers = [AgentFactory(services=[service], organisation=organisation) for _ in range(CLIENTS)]
        keys = [Token.objects.create(user=booker.user).key for booker in bookers]
        citizens = [CitizenFactory() for _ in range(CLIENTS)]
        for citizen in citizens:
            citizen.organisations.add(organisation)
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[tuple[int, dict]] = []

    def book(key, citizen):
        try:
            client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {key}")
            body = {"appointment_type": kind.pk, "location": location.pk, "starts_at": at(9).isoformat(),
                    "citizens": [citizen.pk]}
            barrier.wait()
            response = client.post("/api/v1/appointments/", body, content_type="application/json")
            outcomes.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    try:
        with django_db_blocker.unblock():
            threads = [threading.Thread(target=book, args=(key, citizen)) for key, citizen in zip(keys, citizens,
                                                                                                 strict=True)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        codes = sorted(code for code, _ in outcomes)
        assert codes == [201] + [409] * (CLIENTS - 1), outcomes
        assert all("disponible" in body["detail"] for code, body in outcomes if code == 409)
        with django_db_blocker.unblock(), tenant_context(administration):
            assert Appointment.objects.filter(appointment_type=kind).count() == 1
    finally:
        with django_db_blocker.unblock(), tenant_context(administration):
            Appointment.objects.filter(appointment_type=kind).delete()
            Citizen.objects.filter(pk__in=[c.pk for c in citizens]).delete()
            kind.availabilities.all().delete()
            kind.delete()
            users = [agent.user for agent in (receiver, *bookers)]
            AgentRole.objects.filter(organisation=organisation).delete()
            Agent.objects.filter(pk__in=[agent.pk for agent in (receiver, *bookers)]).delete()
            for user in users:
                type(user).objects.filter(pk=user.pk).delete()  # tokens go with their users
            location.delete()
            organisation.delete()
            service.delete()
        connection.set_schema_to_public()
