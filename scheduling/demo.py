"""Demo content of an administration for ``make run`` (``bootstrap_demo``): an organisation, its services,
places, types of every mode, agents with their weekly plages, a team, sectors (communes) attributed to the
organisation, usagers and a few appointments, so that every
page has something to show. Idempotent: nothing is added to an administration that already has an
organisation. Runs in the administration's schema; bookings go through the real services (and so write
their notifications)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from .models import (
    Absence,
    Agent,
    AgentRole,
    AppointmentType,
    Availability,
    Citizen,
    Location,
    Organisation,
    Recurrence,
    Sector,
    SectorAttribution,
    Service,
    Team,
    Zone,
)
from .services import Actor, appointment_create, participant_add

PROFILES = {
    "departement": {
        "sectors": [("Valence et environs", "valence", [("26362", "Valence"), ("26058", "Bourg-lès-Valence")]),
                    ("Vallée de la Drôme", "vallee-drome", [("26108", "Crest"), ("26004", "Allex")])],
        "organisation": ("Maison des solidarités du Centre", "12 rue de la République, 26000 Valence",
                         "04 75 00 00 00"),
        "services": [("PMI", "PMI", False), ("Service social", "SOCIAL", False), ("Secrétariat", "SECR", True)],
        "locations": [("MDS Centre", "12 rue de la République, 26000 Valence", 44.9334, 4.8924),
                      ("Antenne de Crest", "3 place du Marché, 26400 Crest", 44.7282, 5.0224)],
        "types": [
            ("Consultation PMI", "PMI", "in_person", 30, "everyone", "#0063cb"),
            ("Entretien avec un travailleur social", "SOCIAL", "in_person", 45, "everyone", "#18753c"),
            ("Entretien téléphonique", "SOCIAL", "phone", 20, "everyone", "#b34000"),
            ("Visite à domicile", "PMI", "home", 60, "agents", "#6a6af4"),
            ("Atelier parentalité", "PMI", "in_person", 90, "everyone", "#a94645"),  # collective
        ],
    },
    "commune": {
        "sectors": [("Commune de Valence", "valence", [("26362", "Valence")])],
        "organisation": ("Mairie - Accueil des usagers", "1 place de l'Hôtel de Ville, 26000 Valence",
                         "04 75 11 11 11"),
        "services": [("État civil", "EC", False), ("Urbanisme", "URBA", False), ("Accueil", "ACC", True)],
        "locations": [("Hôtel de ville", "1 place de l'Hôtel de Ville, 26000 Valence", 44.9333, 4.8917)],
        "types": [
            ("Dépôt de dossier de passeport", "EC", "in_person", 20, "everyone", "#0063cb"),
            ("Carte nationale d'identité", "EC", "in_person", 20, "everyone", "#18753c"),
            ("Rendez-vous urbanisme en visio", "URBA", "video", 30, "everyone", "#b34000"),
            ("Mariage : préparation du dossier", "EC", "in_person", 45, "agents", "#6a6af4"),
        ],
    },
}
CITIZENS = [("Camille", "Martin", "camille.martin@exemple.fr", "+33612345678"),
            ("Karim", "Benali", "karim.benali@exemple.fr", "+33698765432"),
            ("Léa", "Dubois", "", "+33611223344"),
            ("Jean", "Petit", "jean.petit@exemple.fr", "")]


def _next_weekday(today, weekday: int):
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


@transaction.atomic
def demo_populate(*, kind: str, timezone_name: str, users: dict) -> bool:
    """Fill an empty administration. ``users``: {"admin": User, "agent": User}. Returns False if it had content."""
    if Organisation.objects.exists():
        return False
    profile = PROFILES["commune" if kind == "commune" else "departement"]
    tz = ZoneInfo(timezone_name)
    name, address, phone = profile["organisation"]
    organisation = Organisation.objects.create(name=name, address=address, phone=phone, timezone=timezone_name,
                                               opening_hours="Du lundi au vendredi, 9 h – 12 h et 14 h – 17 h")
    services = {
        short: Service.objects.get_or_create(short_name=short, defaults={"name": label, "is_secretariat": sec})[0]
        for label, short, sec in profile["services"]
    }
    locations = [Location.objects.create(organisation=organisation, name=label, address=place, latitude=lat,
                                         longitude=lon, phone=phone)
                 for label, place, lat, lon in profile["locations"]]
    types = []
    for label, short, mode, minutes, bookable_by, colour in profile["types"]:
        collective = label.startswith("Atelier")
        types.append(AppointmentType.objects.create(
            organisation=organisation, service=services[short], name=label, mode=mode, duration_minutes=minutes,
            bookable_by=bookable_by, colour=colour, collective=collective, default_capacity=8 if collective else None,
            instructions="Munissez-vous d'une pièce d'identité." if mode == "in_person" else "",
        ))
    working = [service for service in services.values() if not service.is_secretariat]
    admin = Agent.objects.create(user=users["admin"], first_name=users["admin"].first_name,
                                 last_name=users["admin"].last_name)
    agent = Agent.objects.create(user=users["agent"], first_name=users["agent"].first_name,
                                 last_name=users["agent"].last_name)
    desk = Agent.objects.create(first_name="Guichet", last_name="1")
    for person, level in ((admin, "admin"), (agent, "basic"), (desk, "intervenant")):
        person.services.set(working)
        AgentRole.objects.create(agent=person, organisation=organisation, level=level)
    today = timezone.localdate(timezone=tz)
    individual = [kind_ for kind_ in types if not kind_.collective]
    for person, location in ((admin, locations[0]), (agent, locations[-1]), (desk, locations[0])):
        for start, end in ((time(9), time(12)), (time(14), time(17))):
            availability = Availability.objects.create(
                agent=person, organisation=organisation, location=location, first_day=today, start_time=start,
                end_time=end, recurrence=Recurrence.WEEKLY, interval=1, weekdays=[0, 1, 2, 3, 4],
                title="Permanence",
            )
            availability.appointment_types.set(individual)
    Absence.objects.create(agent=agent, title="Formation", first_day=_next_weekday(today, 4),
                           end_day=_next_weekday(today, 4), start_time=time(9), end_time=time(12))
    team = Team.objects.create(organisation=organisation, name="Équipe de l'accueil")
    team.agents.set([admin, agent])
    for sector_name, code, communes in profile["sectors"]:
        sector = Sector.objects.create(name=sector_name, code=code)
        for city_code, city_name in communes:
            Zone.objects.create(sector=sector, level=Zone.Level.CITY, city_code=city_code, city_name=city_name)
        SectorAttribution.objects.create(sector=sector, organisation=organisation)
    citizens = []
    for first, last, email, mobile in CITIZENS:
        citizen = Citizen.objects.create(first_name=first, last_name=last, email=email, phone=mobile)
        citizen.organisations.add(organisation)
        citizens.append(citizen)
    actor = Actor.for_agent(admin)
    monday = _next_weekday(today, 0)
    for offset, hour, person, kind_, who in ((0, 9, admin, individual[0], citizens[0]),
                                             (0, 10, agent, individual[1], citizens[1]),
                                             (1, 14, admin, individual[-1], citizens[2]),
                                             (2, 15, desk, individual[0], citizens[3])):
        day = monday + timedelta(days=offset)
        location = locations[0] if person is not agent else locations[-1]
        appointment_create(
            appointment_type=kind_, starts_at=datetime.combine(day, time(hour), tz), agents=[person],
            citizens=[who], actor=actor, location=location if kind_.mode == "in_person" else None,
            accept_warnings=True,
        )
    collective = next((kind_ for kind_ in types if kind_.collective), None)
    if collective is not None:
        session = appointment_create(
            appointment_type=collective, starts_at=datetime.combine(monday + timedelta(days=3), time(14), tz),
            agents=[agent], citizens=[], actor=actor, location=locations[0], title="Atelier : le sommeil du bébé",
            accept_warnings=True,
        )
        participant_add(appointment=session, citizen=citizens[0], actor=actor)
    return True
