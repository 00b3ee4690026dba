"""The demo content of ``make run``: a fresh administration gets an organisation whose agents have slots
and appointments (booked through the real services), once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from scheduling.demo import demo_populate
from scheduling.models import Agent, Appointment, AppointmentType, Location, SectorAttribution, Team, Zone
from scheduling.selectors import slots_for
from tenants.accounts.models import User
from tenants.services import administration_create


def test_demo_content_is_complete_and_added_once(committed):
    slug = f"demo-{uuid.uuid4().hex[:8]}"
    committed.append(slug)
    administration = administration_create(name="Démo Réunion", kind="departement", slug=slug,
                                           timezone_name="Indian/Reunion", first_admin_email="chef@demo.fr",
                                           provision="sync")
    with tenant_context(administration):
        admin = User.objects.get(email="chef@demo.fr")
        agent = User.objects.create_user(email="agent@demo.fr", password=None, first_name="Bruno", last_name="Agent")
        assert demo_populate(kind="departement", timezone_name="Indian/Reunion", users={"admin": admin, "agent": agent})
        assert not demo_populate(kind="departement", timezone_name="Indian/Reunion",
                                 users={"admin": admin, "agent": agent})
        assert Agent.objects.filter(user=admin, roles__level="admin").exists()
        assert Agent.objects.filter(user__isnull=True).count() == 1  # an intervenant
        assert set(AppointmentType.objects.values_list("mode", flat=True)) == {"in_person", "phone", "home"}
        assert Appointment.objects.filter(appointment_type__collective=True).get().participations.count() == 1
        assert Appointment.objects.count() == 5
        assert Team.objects.get().agents.count() == 2
        assert set(Zone.objects.values_list("city_code", flat=True)) == {"26362", "26058", "26108", "26004"}
        assert SectorAttribution.objects.filter(agent__isnull=True).count() == 2
        kind = AppointmentType.objects.get(name="Consultation PMI")
        now = timezone.now()
        slots = slots_for(appointment_type=kind, location_id=Location.objects.order_by("pk").first().pk, start=now,
                          end=now + timedelta(days=14), now=now, audience="usager")
        assert slots, "the demo's plages offer slots to usagers"
