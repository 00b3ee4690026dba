"""Every write of the scheduling domain. Keyword-only arguments, one transaction each; what happened
is announced through ``scheduling.events`` inside that transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import events
from . import status as status_rules
from .models import (
    ACTIVE_STATUSES,
    Agent,
    AgentRole,
    Appointment,
    AppointmentAgent,
    AppointmentChange,
    AppointmentType,
    Citizen,
    Location,
    Organisation,
    Participation,
    Prescriber,
)
from .selectors import (
    absences_overlapping,
    appointments_overlapping,
    booked_minutes_on,
    local_day_bounds,
    slots_for,
)
from .slots import choose_agent

DOUBLE_BOOKING_CONSTRAINT = "no_double_booking"
SLOT_TAKEN_MESSAGE = "Ce créneau n'est plus disponible : il vient d'être réservé. Choisissez un autre horaire."


@dataclass(frozen=True)
class Actor:
    """Who makes a change: recorded in the history and passed to event receivers."""

    kind: str  # "agent" | "citizen" | "prescriber" | "api" | "system" | "support"
    label: str
    agent: Agent | None = None
    prescriber: Prescriber | None = None

    @classmethod
    def for_agent(cls, agent: Agent, *, via_api: bool = False, impersonated_by: str | None = None) -> Actor:
        label = str(agent)
        if impersonated_by:
            label = f"[Support] {impersonated_by} pour {agent}"
        return cls(kind="api" if via_api else "agent", label=label, agent=agent)


class SlotUnavailable(Exception):
    """The slot was taken meanwhile (or is not a slot): nothing was booked."""

    def __init__(self, message: str = SLOT_TAKEN_MESSAGE):
        super().__init__(message)
        self.message = message


class BookingWarnings(Exception):
    """An agent's booking needs confirmation: each warning is a French sentence."""

    def __init__(self, warnings: list[str]):
        super().__init__("; ".join(warnings))
        self.warnings = warnings


def _record(appointment, actor: Actor, action: str, changes: dict, participation=None) -> None:
    AppointmentChange.objects.create(
        appointment=appointment, appointment_uuid=appointment.uuid, organisation_id=appointment.organisation_id,
        participation=participation, actor_label=actor.label[:300],
        actor_agent=actor.agent, action=action, changes=changes,
    )


def _sync_agent_links(appointment: Appointment) -> None:
    """Copy the appointment's time and whether it blocks onto its agent rows (the exclusion
    constraint checks those rows). Raises SlotUnavailable on a conflict."""
    blocks = appointment.status in ACTIVE_STATUSES and not appointment.accepted_overlap
    try:
        with transaction.atomic():
            AppointmentAgent.objects.filter(appointment=appointment).update(
                starts_at=appointment.starts_at, ends_at=appointment.ends_at, blocks=blocks
            )
    except IntegrityError as error:
        if DOUBLE_BOOKING_CONSTRAINT in str(error):
            raise SlotUnavailable() from None
        raise


def _conflict_warnings(*, agents, starts_at, ends_at, citizens, appointment_type, exclude_id=None) -> list[str]:

    warnings = []
    for appointment in appointments_overlapping(agents=agents, starts_at=starts_at, ends_at=ends_at,
                                                exclude_id=exclude_id):
        warnings.append(
            f"{', '.join(str(a) for a in appointment.agents.all())} a déjà un rendez-vous de "
            f"{timezone.localtime(appointment.starts_at):%H:%M} à {timezone.localtime(appointment.ends_at):%H:%M}."
        )
    tz = ZoneInfo(appointment_type.organisation.timezone)
    for agent, absence in absences_overlapping(agents=agents, starts_at=starts_at, ends_at=ends_at, tz=tz):
        warnings.append(f"{agent} est absent(e) sur ce créneau ({absence}).")
    if citizens:
        day = timezone.localtime(starts_at).date()
        same_day = (
            Appointment.objects.filter(
                participations__citizen__in=citizens, appointment_type=appointment_type,
                status__in=ACTIVE_STATUSES, starts_at__date=day,
            )
            .exclude(pk=exclude_id)
            .distinct()
        )
        if same_day.exists():
            warnings.append("Cet usager a déjà un rendez-vous pour ce motif le même jour.")
    if starts_at < timezone.now():
        warnings.append("Ce rendez-vous commence dans le passé.")
    return warnings


def appointment_create(
    *,
    appointment_type: AppointmentType,
    starts_at: datetime,
    agents: list[Agent],
    citizens: list[Citizen],
    actor: Actor,
    location: Location | None = None,
    duration: timedelta | None = None,
    context: str = "",
    accept_warnings: bool = False,
    capacity: int | None = None,
    title: str = "",
    created_by: str = Appointment.CreatedBy.AGENT,
    prescriber: Prescriber | None = None,
    notify: dict[int, bool] | None = None,
    refuse_overlap: bool = False,
    unlimited: bool = False,
) -> Appointment:
    """Book an appointment for the given agents.

    Without ``accept_warnings`` any conflict (other appointment, absence, same usager and type that
    day, start in the past) raises ``BookingWarnings`` and nothing is written. With it, a conflicting
    appointment is kept as an accepted overlap, left out of the exclusion constraint. An exact
    duplicate (same agents, type, start and usagers) is always refused. A race lost against another
    booking raises ``SlotUnavailable``; so does any overlap when ``refuse_overlap`` (computed slots).
    A session is ``unlimited`` (no capacity) even when its type has a default capacity.
    """
    with transaction.atomic():
        return _appointment_create(
            appointment_type=appointment_type, starts_at=starts_at, agents=agents, citizens=citizens, actor=actor,
            location=location, duration=duration, context=context, accept_warnings=accept_warnings,
            capacity=capacity, title=title, created_by=created_by, prescriber=prescriber, notify=notify,
            refuse_overlap=refuse_overlap, unlimited=unlimited,
        )


def _appointment_create(
    *, appointment_type, starts_at, agents, citizens, actor, location, duration, context, accept_warnings,
    capacity, title, created_by, prescriber, notify, refuse_overlap, unlimited=False,
) -> Appointment:
    if not agents:
        raise ValidationError({"agents": ["Choisissez au moins un agent."]})
    if appointment_type.archived_at:
        raise ValidationError({"appointment_type": ["Ce motif est archivé."]})
    if appointment_type.mode == AppointmentType.Mode.IN_PERSON and location is None:
        raise ValidationError({"location": ["Un rendez-vous sur place a besoin d'un lieu."]})
    if not appointment_type.collective and not citizens:
        raise ValidationError({"citizens": ["Choisissez au moins un usager."]})
    ends_at = starts_at + (duration or appointment_type.duration)

    duplicate = Appointment.objects.filter(
        appointment_type=appointment_type, starts_at=starts_at, status__in=ACTIVE_STATUSES,
        agent_links__agent__in=agents,
    )
    for citizen in citizens:
        duplicate = duplicate.filter(participations__citizen=citizen)
    if duplicate.exists():
        raise ValidationError("Ce rendez-vous existe déjà (même motif, même horaire, mêmes agents et usagers).")

    if refuse_overlap:
        warnings, overlapping = [], False
    else:
        warnings = _conflict_warnings(agents=agents, starts_at=starts_at, ends_at=ends_at, citizens=citizens,
                                      appointment_type=appointment_type)
        if warnings and not accept_warnings:
            raise BookingWarnings(warnings)
        overlapping = any("a déjà un rendez-vous" in w for w in warnings)

    appointment = Appointment.objects.create(
        organisation=appointment_type.organisation, appointment_type=appointment_type, location=location,
        starts_at=starts_at, ends_at=ends_at, context=context,
        capacity=None if unlimited else (capacity or appointment_type.default_capacity),
        title=title, created_by=created_by, created_by_agent=actor.agent, created_by_prescriber=prescriber,
        accepted_overlap=overlapping,
    )
    try:
        with transaction.atomic():
            AppointmentAgent.objects.bulk_create(
                AppointmentAgent(appointment=appointment, agent=agent, starts_at=starts_at, ends_at=ends_at,
                                 blocks=not overlapping)
                for agent in agents
            )
    except IntegrityError as error:
        if DOUBLE_BOOKING_CONSTRAINT in str(error):
            raise SlotUnavailable() from None
        raise
    notified = appointment_type.visibility == AppointmentType.Visibility.VISIBLE_NOTIFIED
    participations = [
        Participation.objects.create(
            appointment=appointment, citizen=citizen, created_by=created_by, created_by_prescriber=prescriber,
            send_lifecycle_notifications=(notify or {}).get(citizen.pk, notified),
            send_reminder_notification=(notify or {}).get(citizen.pk, notified),
        )
        for citizen in citizens
    ]
    for citizen in citizens:
        citizen.organisations.add(appointment.organisation)
    _record(appointment, actor, "created", {
        "starts_at": starts_at.isoformat(), "agents": [a.pk for a in agents],
        "citizens": [c.pk for c in citizens], "warnings_accepted": warnings,
    })
    events.appointment_booked.send(sender=Appointment, appointment=appointment, actor=actor,
                                   participations=participations)
    return appointment


def _check_status(status: str, *, collective: bool) -> None:
    try:
        status_rules.check_allowed(status, collective=collective)
    except status_rules.StatusError as error:
        raise ValidationError({"status": [str(error)]}) from None


def _store_status(appointment: Appointment, status: str) -> None:
    """Save the appointment's status; its agents' time is freed when cancelled and taken again when
    not (``SlotUnavailable`` if someone took it meanwhile: the transaction then rolls back)."""
    appointment.status = status
    appointment.cancelled_at = timezone.now() if status in (*status_rules.CANCELLED, "noshow") else None
    appointment.save(update_fields=["status", "cancelled_at", "updated_at"])
    _sync_agent_links(appointment)


@transaction.atomic
def appointment_set_status(*, appointment: Appointment, status: str, actor: Actor) -> Appointment:
    """Change an appointment's status and propagate it to its participations."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_status(status, collective=appointment.appointment_type.collective)
    previous = appointment.status
    if previous == status:
        return appointment
    _store_status(appointment, status)
    participations = list(appointment.participations.order_by("pk"))
    new_statuses = status_rules.propagate_to_participations(status, [p.status for p in participations])
    for participation, new_status in zip(participations, new_statuses, strict=True):
        if participation.status != new_status:
            participation.status = new_status
            participation.save(update_fields=["status"])
    _record(appointment, actor, "status", {"from": previous, "to": status})
    events.appointment_status_changed.send(sender=Appointment, appointment=appointment, actor=actor,
                                           previous_status=previous, status=status)
    if status in status_rules.CANCELLED:
        events.appointment_cancelled.send(sender=Appointment, appointment=appointment, actor=actor, status=status)
    elif previous in status_rules.CANCELLED and status == "unknown":
        events.appointment_booked.send(sender=Appointment, appointment=appointment, actor=actor,
                                       participations=participations)
    return appointment


@transaction.atomic
def participation_set_status(*, participation: Participation, status: str, actor: Actor) -> Participation:
    """Change one participant's status; the appointment's status follows the participations."""
    appointment = Appointment.objects.select_for_update().get(pk=participation.appointment_id)
    collective = appointment.appointment_type.collective
    _check_status(status, collective=False)
    previous = participation.status
    if collective and (status in status_rules.CANCELLED) != (previous in status_rules.CANCELLED):
        # In a session, cancelling a registration frees its seat, and restoring one takes a seat again
        # (checked against the capacity): the same paths, and messages, as withdrawing and registering.
        if status in status_rules.CANCELLED:
            participant_remove(participation=participation, actor=actor, status=status)
            return participation
        participation = participant_add(appointment=appointment, citizen=participation.citizen, actor=actor)
        if status == status_rules.UNKNOWN:
            return participation
        previous = participation.status
    participation.status = status
    participation.save(update_fields=["status"])
    statuses = list(appointment.participations.values_list("status", flat=True))
    derived = status_rules.derive_from_participations(appointment.status, statuses, collective=collective)
    _record(appointment, actor, "participation_status", {"from": previous, "to": status}, participation)
    if derived != appointment.status:
        previous_appointment_status = appointment.status
        _store_status(appointment, derived)
        events.appointment_status_changed.send(sender=Appointment, appointment=appointment, actor=actor,
                                               previous_status=previous_appointment_status, status=derived)
    return participation


def appointment_book_slot(
    *,
    appointment_type: AppointmentType,
    starts_at: datetime,
    citizens: list[Citizen],
    actor: Actor,
    location: Location | None = None,
    audience: str = "usager",
    created_by: str = Appointment.CreatedBy.CITIZEN,
    prescriber: Prescriber | None = None,
    context: str = "",
    now: datetime | None = None,
    agent_ids: list | None = None,
) -> Appointment:
    """Book a computed slot (usagers, prescribers, API): the slot is computed again, one of its free
    agents is chosen by the fair rule (least booked that day, then lowest id), and the exclusion
    constraint settles any race. ``SlotUnavailable`` when the slot is not (or no longer) free."""

    now = now or timezone.now()
    if starts_at.tzinfo is None:
        raise ValidationError({"starts_at": ["Indiquez l'heure avec son fuseau horaire (ISO 8601)."]})
    location_id = location.pk if location else None
    candidates = [
        slot for slot in slots_for(
            appointment_type=appointment_type, start=starts_at, end=starts_at + appointment_type.duration,
            audience=audience, location_id=location_id, now=now, agent_ids=agent_ids,  # agent_ids: sectorisation
        )
        if slot.starts_at == starts_at and slot.location_id == location_id
    ]
    if not candidates:
        raise SlotUnavailable("Ce créneau n'est pas disponible. Choisissez un autre horaire.")
    # Usagers get one slot per time (every free agent in it); agents one slot per agent: pool them all.
    free_agents = sorted({agent_id for slot in candidates for agent_id in slot.agent_ids})
    day_start, day_end = local_day_bounds(starts_at, ZoneInfo(appointment_type.organisation.timezone))
    booked = booked_minutes_on(free_agents, day_start, day_end)
    agents_by_id = Agent.objects.in_bulk(free_agents)
    while free_agents:
        agent_id = choose_agent(free_agents, booked)
        try:
            return appointment_create(
                appointment_type=appointment_type, starts_at=starts_at, agents=[agents_by_id[agent_id]],
                citizens=citizens, actor=actor, location=location, context=context, accept_warnings=True,
                created_by=created_by, prescriber=prescriber, refuse_overlap=True,
            )
        except SlotUnavailable:
            free_agents.remove(agent_id)  # taken meanwhile: another free agent may still hold the slot
    raise SlotUnavailable()


@transaction.atomic
def participant_add(
    *, appointment: Appointment, citizen: Citizen, actor: Actor, created_by: str = Appointment.CreatedBy.AGENT,
    prescriber: Prescriber | None = None,
) -> Participation:
    """Register a usager in a collective session. The session row is locked while its seats are
    counted, so two registrations racing for the last seat never both succeed."""
    session = Appointment.objects.select_for_update().select_related("appointment_type").get(pk=appointment.pk)
    if not session.appointment_type.collective:
        raise ValidationError("On n'ajoute des participants qu'à un RDV collectif.")
    if session.status in status_rules.CANCELLED:
        raise ValidationError("Cet atelier a été annulé : l'inscription n'est plus possible.")
    existing = session.participations.filter(citizen=citizen).first()
    if existing is not None and existing.status not in status_rules.CANCELLED:
        raise ValidationError("Cet usager est déjà inscrit à cet atelier.")
    taken = session.participations.exclude(status__in=status_rules.CANCELLED).count()
    if session.capacity is not None and taken >= session.capacity:
        raise ValidationError("Cet atelier est complet.")
    notified = session.appointment_type.visibility == AppointmentType.Visibility.VISIBLE_NOTIFIED
    if existing is not None:  # a cancelled registration comes back
        existing.status = status_rules.UNKNOWN
        existing.save(update_fields=["status"])
        participation = existing
    else:
        participation = Participation.objects.create(
            appointment=session, citizen=citizen, created_by=created_by, created_by_prescriber=prescriber,
            send_lifecycle_notifications=notified, send_reminder_notification=notified,
        )
    citizen.organisations.add(session.organisation)
    _record(session, actor, "participant_added", {"citizen": citizen.pk}, participation)
    events.participant_added.send(sender=Appointment, appointment=session, actor=actor, participation=participation)
    return participation


@transaction.atomic
def participant_remove(*, participation: Participation, actor: Actor, status: str = status_rules.EXCUSED) -> None:
    """Cancel one registration to a collective session (excused by default); the seat is free again."""
    session = Appointment.objects.select_for_update().select_related("appointment_type").get(
        pk=participation.appointment_id
    )
    if not session.appointment_type.collective:
        raise ValidationError("Seuls les participants d'un RDV collectif se retirent un par un.")
    if status not in status_rules.CANCELLED:
        raise ValidationError({"status": ["Un retrait est une annulation (excusée ou par le service)."]})
    participation.status = status
    participation.save(update_fields=["status"])
    _record(session, actor, "participant_removed", {"citizen": participation.citizen_id, "status": status},
            participation)
    events.participant_removed.send(sender=Appointment, appointment=session, actor=actor, participation=participation)


@transaction.atomic
def appointment_move(
    *, appointment: Appointment, actor: Actor, starts_at: datetime | None = None, location: Location | None = None,
    agents: list[Agent] | None = None, duration: timedelta | None = None, accept_warnings: bool = False,
) -> Appointment:
    """Change the time, place, agents or length of an appointment. Conflicts are warnings for agents
    (as when booking); the exclusion constraint still refuses a double booking of a blocking row."""
    appointment = Appointment.objects.select_for_update().select_related("appointment_type").get(pk=appointment.pk)
    if appointment.is_cancelled:
        raise ValidationError("Un rendez-vous annulé ne se déplace pas : réinitialisez-le d'abord.")
    previous = {
        "starts_at": appointment.starts_at, "ends_at": appointment.ends_at, "location_id": appointment.location_id,
        "agent_ids": sorted(appointment.agent_links.values_list("agent_id", flat=True)),
    }
    new_start = starts_at or appointment.starts_at
    new_end = new_start + (duration or (appointment.ends_at - appointment.starts_at))
    new_agents = agents if agents is not None else list(appointment.agents.all())
    if not new_agents:
        raise ValidationError({"agents": ["Choisissez au moins un agent."]})
    in_person = appointment.appointment_type.mode == AppointmentType.Mode.IN_PERSON
    if in_person and (location or appointment.location) is None:
        raise ValidationError({"location": ["Un rendez-vous sur place a besoin d'un lieu."]})
    citizens = [p.citizen for p in appointment.participations.select_related("citizen")]
    warnings = _conflict_warnings(agents=new_agents, starts_at=new_start, ends_at=new_end, citizens=citizens,
                                  appointment_type=appointment.appointment_type, exclude_id=appointment.pk)
    if warnings and not accept_warnings:
        raise BookingWarnings(warnings)
    appointment.starts_at, appointment.ends_at = new_start, new_end
    if location is not None:
        appointment.location = location
    appointment.accepted_overlap = any("a déjà un rendez-vous" in w for w in warnings)
    appointment.save(update_fields=["starts_at", "ends_at", "location", "accepted_overlap", "updated_at"])
    new_ids = {agent.pk for agent in new_agents}
    appointment.agent_links.exclude(agent_id__in=new_ids).delete()
    for agent in new_agents:
        AppointmentAgent.objects.get_or_create(
            appointment=appointment, agent=agent,
            defaults={"starts_at": new_start, "ends_at": new_end, "blocks": False},
        )
    _sync_agent_links(appointment)
    current = {
        "starts_at": new_start, "ends_at": new_end, "location_id": appointment.location_id,
        "agent_ids": sorted(new_ids),
    }
    if current == previous:
        return appointment
    _record(appointment, actor, "moved", {
        key: {"from": str(previous[key]), "to": str(current[key])} for key in current if current[key] != previous[key]
    } | {"warnings_accepted": warnings})
    events.appointment_moved.send(sender=Appointment, appointment=appointment, actor=actor, previous=previous)
    return appointment


@transaction.atomic
def appointment_delete(*, appointment: Appointment, actor: Actor, reason: str | None = None) -> None:
    """Delete an appointment (admins: a booking made by mistake). Its audit trail stays, with a last
    "deleted" entry holding what the appointment was; receivers hear it before the rows go. ``reason``
    ("rgpd" for the retention job) is announced with the event (webhooks' ``webhook_reason``)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    snapshot = {
        "appointment_type": appointment.appointment_type_id, "location": appointment.location_id,
        "starts_at": appointment.starts_at.isoformat(), "ends_at": appointment.ends_at.isoformat(),
        "status": appointment.status,
        "agents": sorted(appointment.agent_links.values_list("agent_id", flat=True)),
        "citizens": sorted(appointment.participations.values_list("citizen_id", flat=True)),
    }
    events.appointment_deleted.send(sender=Appointment, appointment=appointment, actor=actor, reason=reason)
    _record(appointment, actor, "deleted", snapshot | ({"reason": reason} if reason else {}))
    appointment.delete()


# --- Structure ------------------------------------------------------------------------------------

def agent_calendar_token_regenerate(*, agent: Agent) -> str:
    """A new secret for the agent's calendar feed: the old address stops working at once."""
    import secrets

    agent.calendar_token = secrets.token_urlsafe()
    agent.save(update_fields=["calendar_token"])
    return agent.calendar_token


def location_single_use_create(*, organisation: Organisation, name: str, address: str, phone: str = "") -> Location:
    """A place used for one appointment only (a home visit address, a partner's office): not offered for
    plages d'ouverture nor to usagers."""
    location = Location(organisation=organisation, name=name, address=address, phone=phone,
                        availability=Location.Availability.SINGLE_USE)
    location.full_clean()
    location.save()
    return location


def _admins_left(organisation, *, without_agent_id) -> int:
    return (
        AgentRole.objects.filter(organisation=organisation, level=AgentRole.Level.ADMIN)
        .exclude(agent_id=without_agent_id)
        .count()
    )


@transaction.atomic
def agent_role_set(*, agent: Agent, organisation, level: str):
    """Give an agent a role in an organisation (or change it). An organisation always keeps an admin."""
    Organisation.objects.select_for_update().get(pk=organisation.pk)  # serialise role changes per organisation
    if level not in AgentRole.Level.values:
        raise ValidationError({"level": [f"Rôle inconnu : « {level} »."]})
    if level == AgentRole.Level.INTERVENANT and not agent.is_intervenant:
        raise ValidationError({"level": ["Le rôle intervenant est réservé aux agents sans compte de connexion."]})
    if agent.is_intervenant and level != AgentRole.Level.INTERVENANT:
        raise ValidationError({"level": ["Un intervenant n'a pas de compte : il ne peut être qu'intervenant."]})
    role = AgentRole.objects.filter(agent=agent, organisation=organisation).first()
    if role and role.level == AgentRole.Level.ADMIN and level != AgentRole.Level.ADMIN:
        if not _admins_left(organisation, without_agent_id=agent.pk):
            raise ValidationError("Cette organisation doit garder au moins un administrateur.")
    if role is None:
        return AgentRole.objects.create(agent=agent, organisation=organisation, level=level)
    role.level = level
    role.save(update_fields=["level"])
    return role


@transaction.atomic
def agent_role_remove(*, agent: Agent, organisation) -> None:
    """Remove an agent from an organisation: never its last admin, never while he has appointments to come."""
    Organisation.objects.select_for_update().get(pk=organisation.pk)
    role = AgentRole.objects.filter(agent=agent, organisation=organisation).first()
    if role is None:
        return
    if role.level == AgentRole.Level.ADMIN and not _admins_left(organisation, without_agent_id=agent.pk):
        raise ValidationError("Cette organisation doit garder au moins un administrateur.")
    upcoming = AppointmentAgent.objects.filter(
        agent=agent, appointment__organisation=organisation, appointment__status__in=ACTIVE_STATUSES,
        ends_at__gt=timezone.now(),
    )
    if upcoming.exists():
        raise ValidationError("Cet agent a encore des rendez-vous à venir dans cette organisation : "
                              "déplacez-les ou annulez-les d'abord.")
    role.delete()


def appointment_type_remove(*, appointment_type: AppointmentType) -> str:
    """Delete a type without appointments; archive one that has some. Returns "deleted" or "archived"."""
    if appointment_type.appointments.exists():
        if appointment_type.archived_at is None:
            appointment_type.archived_at = timezone.now()
            appointment_type.save(update_fields=["archived_at"])
        return "archived"
    appointment_type.delete()
    return "deleted"


@transaction.atomic
def citizen_set_responsible(*, citizen: Citizen, responsible: Citizen | None) -> Citizen:
    """Make ``citizen`` a relative of ``responsible`` (or independent again). Refuses cycles (Citizen.clean)."""
    previous, citizen.responsible = citizen.responsible, responsible
    try:
        citizen.clean()
    except ValidationError:
        citizen.responsible = previous
        raise
    citizen.save(update_fields=["responsible"])
    return citizen


# --- Back office: appointment page ----------------------------------------------------------------

CONTEXT_MAX_LENGTH = 5000


@transaction.atomic
def appointment_update_context(*, appointment: Appointment, context: str, actor: Actor) -> Appointment:
    """Change the context note of an appointment (seen by agents only); the change is kept in its history."""
    context = (context or "").replace("\r\n", "\n").strip()
    if len(context) > CONTEXT_MAX_LENGTH:
        raise ValidationError({"context": [f"Le contexte compte au plus {CONTEXT_MAX_LENGTH} caractères."]})
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    previous = appointment.context
    if previous == context:
        return appointment
    appointment.context = context
    appointment.save(update_fields=["context", "updated_at"])
    _record(appointment, actor, "context", {"from": previous, "to": context})
    return appointment


# --- Back office: booking wizard (issue 5, screens 3-4) -----------------------------------------

def booking_warnings(*, appointment_type: AppointmentType, agents: list[Agent], starts_at: datetime,
                     duration: timedelta | None = None, citizens: list[Citizen] = ()) -> list[str]:
    """The warnings ``appointment_create`` would raise for this booking (overlap, absence, same usager and
    type that day, start in the past), computed without writing: the wizard shows them before confirming."""
    ends_at = starts_at + (duration or appointment_type.duration)
    return _conflict_warnings(agents=agents, starts_at=starts_at, ends_at=ends_at, citizens=list(citizens),
                              appointment_type=appointment_type)


@transaction.atomic
def citizen_create_by_agent(*, organisation: Organisation, first_name: str, last_name: str, birth_name: str = "",
                            birth_date=None, email: str = "", phone: str = "", address: str = "",
                            responsible: Citizen | None = None) -> Citizen:
    """A usager recorded by an agent (or a relative of ``responsible``), followed by ``organisation``."""
    citizen = Citizen(first_name=first_name.strip(), last_name=last_name.strip(), birth_name=birth_name.strip(),
                      birth_date=birth_date, email=email.strip(), phone=phone, address=address.strip(),
                      responsible=responsible)
    citizen.full_clean(exclude=["account"])
    citizen.save()
    citizen.organisations.add(organisation)
    return citizen


# --- Back office: usager records ------------------------------------------------------------------

CITIZEN_EDITABLE_FIELDS = (
    "first_name", "last_name", "birth_name", "birth_date", "email", "phone", "address", "city_code",
    "notify_by_email", "notify_by_sms",
)
# Filled on the kept record from the merged one when the kept one has none.
CITIZEN_MERGE_FILLED_FIELDS = ("birth_name", "birth_date", "email", "phone", "address", "city_code")


def _citizen_apply(citizen: Citizen, data: dict) -> None:
    unknown = set(data) - set(CITIZEN_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Champs non modifiables : {sorted(unknown)}")
    for name, value in data.items():
        setattr(citizen, name, value)
    citizen.full_clean(exclude=["account", "responsible"])


@transaction.atomic
def citizen_create(*, organisation: Organisation, data: dict, responsible: Citizen | None = None) -> Citizen:
    """A new usager record linked to ``organisation`` (a relative when ``responsible`` is given: he also
    joins the responsible's organisations, as relatives do in the reference system)."""
    citizen = Citizen()
    _citizen_apply(citizen, data)
    citizen.responsible = responsible
    citizen.save()
    citizen.organisations.add(organisation)
    if responsible is not None:
        others = set(responsible.organisations.values_list("pk", flat=True)) - {organisation.pk}
        if others:
            citizen.organisations.add(*others)
    return citizen


@transaction.atomic
def citizen_update(*, citizen: Citizen, data: dict) -> Citizen:
    """Change a usager's identity, contact details and notification choices."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    _citizen_apply(citizen, data)
    citizen.save(update_fields=list(data))
    return citizen


def citizen_referent_add(*, citizen: Citizen, agent: Agent) -> None:
    """Make ``agent`` a référent of the usager: he must have a role in one of the usager's organisations."""
    if agent.deleted_at is not None or not AgentRole.objects.filter(
        agent=agent, organisation__in=citizen.organisations.all()
    ).exists():
        raise ValidationError({"agent": ["Cet agent ne fait partie d'aucune organisation de cet usager."]})
    citizen.referents.add(agent)


def citizen_referent_remove(*, citizen: Citizen, agent: Agent) -> None:
    citizen.referents.remove(agent)


def _future_participations(citizen: Citizen, organisation_ids=None):
    qs = Participation.objects.filter(
        citizen=citizen, appointment__ends_at__gt=timezone.now(), appointment__status__in=ACTIVE_STATUSES,
    ).exclude(status__in=status_rules.CANCELLED)
    if organisation_ids is not None:
        qs = qs.filter(appointment__organisation_id__in=organisation_ids)
    return qs


@transaction.atomic
def citizen_remove_from_organisation(*, actor: Actor, citizen: Citizen, organisation: Organisation) -> bool:
    """Unlink a usager from an organisation. Refused while he has appointments to come there (cancel or
    move them first). When no organisation is left the record is soft-deleted. Returns True if deleted."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if not citizen.organisations.filter(pk=organisation.pk).exists():
        raise ValidationError("Cet usager n'est pas rattaché à cette organisation.")
    if _future_participations(citizen, [organisation.pk]).exists():
        raise ValidationError("Cet usager a encore des rendez-vous à venir dans cette organisation : "
                              "annulez-les ou déplacez-les d'abord.")
    citizen.organisations.remove(organisation)
    citizen.referents.remove(*Agent.objects.filter(roles__organisation=organisation).exclude(
        roles__organisation__in=citizen.organisations.all()))
    if citizen.organisations.exists():
        return False
    citizen.deleted_at = timezone.now()
    citizen.save(update_fields=["deleted_at"])
    return True


@transaction.atomic
def citizen_merge(*, actor: Actor, kept: Citizen, merged: Citizen) -> Citizen:
    """Merge the record ``merged`` into ``kept``: participations (a duplicate one — both records in the
    same appointment — is dropped, the kept record's stays), relatives, référents and organisations move
    to ``kept``; ``kept``'s empty fields take ``merged``'s values; ``merged`` is soft-deleted. Each
    appointment concerned gets a "citizen_merged" row in its history."""
    if kept.pk == merged.pk:
        raise ValidationError("Choisissez deux fiches différentes : une fiche ne se fusionne pas avec elle-même.")
    rows = {c.pk: c for c in Citizen.objects.select_for_update().filter(pk__in=[kept.pk, merged.pk])}
    kept, merged = rows.get(kept.pk), rows.get(merged.pk)
    if kept is None or merged is None or kept.deleted_at or merged.deleted_at:
        raise ValidationError("Une des deux fiches n'existe plus.")

    appointments = {}
    kept_appointment_ids = set(Participation.objects.filter(citizen=kept).values_list("appointment_id", flat=True))
    for participation in Participation.objects.filter(citizen=merged).select_related("appointment"):
        appointment = participation.appointment
        if participation.appointment_id in kept_appointment_ids:
            participation.delete()
            appointments[appointment.pk] = (appointment, "duplicate_dropped")
        else:
            participation.citizen = kept
            participation.save(update_fields=["citizen"])
            appointments[appointment.pk] = (appointment, "moved")
    for appointment, what in appointments.values():
        _record(appointment, actor, "citizen_merged", {"kept": kept.pk, "merged": merged.pk, "participation": what})

    # Relatives: merged's relatives follow kept; if kept was merged's relative, he takes merged's responsible.
    Citizen.objects.filter(responsible=merged).exclude(pk=kept.pk).update(responsible=kept)
    update_fields = []
    if kept.responsible_id == merged.pk or (kept.responsible_id is None and merged.responsible_id):
        candidate = merged.responsible if merged.responsible_id != kept.pk else None
        kept.responsible = candidate
        try:
            kept.clean()
        except ValidationError:
            kept.responsible = None
        update_fields.append("responsible")
    for name in CITIZEN_MERGE_FILLED_FIELDS:
        if getattr(kept, name) in ("", None) and getattr(merged, name) not in ("", None):
            setattr(kept, name, getattr(merged, name))
            update_fields.append(name)
    account = None
    if kept.account_id is None and merged.account_id is not None:
        account = merged.account_id
        merged.account = None
        merged.save(update_fields=["account"])
        kept.account_id = account
        update_fields.append("account")
    if update_fields:
        kept.save(update_fields=update_fields)

    kept.referents.add(*merged.referents.all())
    kept.organisations.add(*merged.organisations.all())
    merged.deleted_at = timezone.now()
    merged.responsible = None
    merged.save(update_fields=["deleted_at", "responsible"])
    merged.referents.clear()
    merged.organisations.clear()
    return kept


# --- Back office: agent settings ------------------------------------------------------------------

def agent_notification_level_set(*, agent: Agent, level: str) -> Agent:
    """Which appointment notifications the agent receives by e-mail (all, others' changes, soon, none)."""
    if level not in Agent.NotificationLevel.values:
        raise ValidationError({"notification_level": [f"Niveau de notification inconnu : « {level} »."]})
    agent.notification_level = level
    agent.save(update_fields=["notification_level"])
    return agent


# --- Back office: administration (agents of an organisation) ---------------------------------------

@transaction.atomic
def agent_invite_to_organisation(
    *, administration, organisation: Organisation, email: str, first_name: str = "", last_name: str = "",
    level: str = AgentRole.Level.BASIC, services=(), invited_by=None,
) -> Agent:
    """Invite someone by e-mail into an organisation: his account (tenants.accounts.services.agent_invite
    sends the invitation e-mail once the transaction commits), his agent profile with its services, his
    role. An agent already known keeps his profile: he gets the role here and the services added."""
    from tenants.accounts.services import agent_invite

    if level not in (AgentRole.Level.BASIC, AgentRole.Level.ADMIN):
        raise ValidationError({"level": ["Choisissez le rôle « Agent » ou « Administrateur »."]})
    user = agent_invite(administration=administration, email=email, first_name=first_name, last_name=last_name,
                        invited_by=invited_by)
    agent = Agent.objects.filter(user=user).first()
    if agent is None:
        agent = Agent.objects.create(user=user, first_name=first_name or user.first_name,
                                     last_name=last_name or user.last_name or user.email.split("@")[0])
    elif agent.deleted_at is not None:
        raise ValidationError({"email": ["Le compte de cet agent a été supprimé : il ne peut pas être invité."]})
    if AgentRole.objects.filter(agent=agent, organisation=organisation).exists():
        raise ValidationError({"email": ["Cet agent fait déjà partie de l'organisation."]})
    agent.services.add(*services)
    agent_role_set(agent=agent, organisation=organisation, level=level)
    return agent


@transaction.atomic
def intervenant_create(*, organisation: Organisation, last_name: str, first_name: str = "", services=()) -> Agent:
    """An intervenant ("Guichet 1"): an agent without account, who receives appointments but never signs in."""
    last_name = (last_name or "").strip()
    if not last_name:
        raise ValidationError({"last_name": ["Indiquez un nom."]})
    agent = Agent.objects.create(user=None, first_name=(first_name or "").strip(), last_name=last_name)
    agent.services.set(services)
    agent_role_set(agent=agent, organisation=organisation, level=AgentRole.Level.INTERVENANT)
    return agent


@transaction.atomic
def agent_services_set(*, agent: Agent, services) -> Agent:
    """The services an agent belongs to (at least one): they decide which types he books and whose
    appointments he sees. An agent's services are the same in every organisation where he has a role."""
    services = list(services)
    if not services:
        raise ValidationError({"services": ["Choisissez au moins un service."]})
    agent.services.set(services)
    return agent


def appointment_type_restore(*, appointment_type: AppointmentType) -> AppointmentType:
    """Offer an archived type again."""
    appointment_type.archived_at = None
    appointment_type.save(update_fields=["archived_at"])
    return appointment_type


def location_set_enabled(*, location: Location, enabled: bool) -> Location:
    """Disable a place (no longer offered for new plages nor to usagers; its appointments stay) or enable it
    again. Single-use places keep their kind."""
    if location.availability == Location.Availability.SINGLE_USE:
        raise ValidationError("Un lieu ponctuel ne s'active ni ne se désactive.")
    location.availability = Location.Availability.ENABLED if enabled else Location.Availability.DISABLED
    location.save(update_fields=["availability"])
    return location


# --- Back office: availability (plages d'ouverture, absences, teams) ----------------------------------
# Shared by the API (scheduling.api.serializers) and the HTML screens (scheduling.views.availability,
# scheduling.views.teams): who may write is decided by the caller through scheduling.policy; what may be
# written is decided here.

WINDOW_FIELDS = ("first_day", "start_time", "end_time", "recurrence", "interval", "weekdays", "until",
                 "excluded_dates")
AVAILABILITY_FIELDS = ("agent", "organisation", "location", "title", *WINDOW_FIELDS)
ABSENCE_FIELDS = ("agent", "title", "end_day", *WINDOW_FIELDS)
EARLIEST_AGENDA_DAY = datetime(2018, 1, 1).date()
MAX_EXCLUDED_DATES = 200


class AvailabilityWarnings(Exception):
    """A plage d'ouverture needs confirmation (overlap with another one, a type longer than the window):
    nothing was written; each warning is a French sentence."""

    def __init__(self, warnings: list[str]):
        super().__init__("; ".join(warnings))
        self.warnings = warnings


def _add_error(errors: dict, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _normalise_window(window) -> None:
    """A one-off window repeats nothing; only a weekly one has days. Days and exclusions sorted, unique."""
    if window.recurrence == "none":
        window.interval, window.weekdays, window.until, window.excluded_dates = 1, [], None, []
    elif window.recurrence == "monthly":
        window.weekdays = []
    window.interval = window.interval or 1
    window.weekdays = sorted(set(window.weekdays or []))
    window.excluded_dates = sorted(set(window.excluded_dates or []))


def _check_window_dates(window, errors: dict, *, names=("first_day", "until")) -> None:
    """Dates an agent may really mean: from 2018 to five years ahead (a typo like 2206 is refused)."""
    latest = timezone.localdate() + timedelta(days=5 * 366)
    message = (f"Cette date n'est pas réaliste : choisissez une date entre le {EARLIEST_AGENDA_DAY:%d/%m/%Y} "
               f"et le {latest:%d/%m/%Y}.")
    for name in names:
        value = getattr(window, name, None)
        if value is not None and not EARLIEST_AGENDA_DAY <= value <= latest:
            _add_error(errors, name, message)
    excluded = window.excluded_dates or []
    if len(excluded) > MAX_EXCLUDED_DATES:
        _add_error(errors, "excluded_dates", f"Pas plus de {MAX_EXCLUDED_DATES} dates exclues.")
    elif any(not EARLIEST_AGENDA_DAY <= day <= latest for day in excluded):
        _add_error(errors, "excluded_dates", message)


def _full_clean(instance, errors: dict) -> None:
    """Model validation (fields, ``clean``, constraints) merged with the service's own errors; raise if any."""
    from django.core.exceptions import NON_FIELD_ERRORS

    try:
        instance.full_clean(exclude=[name for name in errors if name != NON_FIELD_ERRORS])
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            for message in messages:
                if message not in errors.get(field, []):
                    _add_error(errors, field, message)
    if errors:
        raise ValidationError(errors)


def _availability_errors(availability, appointment_types) -> dict:
    from .models import Location

    errors: dict = {}
    location, organisation_id = availability.location, availability.organisation_id
    if location is not None and organisation_id is not None:
        if location.organisation_id != organisation_id:
            _add_error(errors, "location", "Ce lieu n'appartient pas à cette organisation.")
        elif location.availability != Location.Availability.ENABLED:
            _add_error(errors, "location", "Une plage d'ouverture se tient dans un lieu actif (ni désactivé, "
                                           "ni ponctuel).")
    if not appointment_types:
        _add_error(errors, "appointment_types", "Choisissez au moins un motif.")
    for kind in appointment_types:
        if kind.organisation_id != organisation_id:
            _add_error(errors, "appointment_types", f"Le motif « {kind} » n'appartient pas à cette organisation.")
        elif kind.collective:
            _add_error(errors, "appointment_types",
                       f"Le motif « {kind} » est collectif : créez une session à la place.")
        elif kind.archived_at is not None:
            _add_error(errors, "appointment_types", f"Le motif « {kind} » est archivé.")
        elif kind.mode == AppointmentType.Mode.IN_PERSON and location is None and "location" not in errors:
            _add_error(errors, "location", f"Le motif « {kind} » est sur place : choisissez un lieu.")
    _check_window_dates(availability, errors)
    return errors


def _window_recurrence(window):
    from .selectors import recurrence_of

    return recurrence_of({name: getattr(window, name) for name in WINDOW_FIELDS})


def availability_warnings_for(availability, appointment_types) -> list[str]:
    """The warnings an agent accepts when saving this (unsaved or changed) plage."""
    from .selectors import availability_warnings

    return availability_warnings(
        agent_id=availability.agent_id, first_day=availability.first_day, start_time=availability.start_time,
        end_time=availability.end_time, recurrence=_window_recurrence(availability),
        appointment_types=appointment_types, tz=ZoneInfo(availability.organisation.timezone),
        exclude_id=availability.pk,
    )


def _availability_save(availability, appointment_types, accept_warnings: bool):
    appointment_types = list(appointment_types)
    _normalise_window(availability)
    _full_clean(availability, _availability_errors(availability, appointment_types))
    if not accept_warnings:
        warnings = availability_warnings_for(availability, appointment_types)
        if warnings:
            raise AvailabilityWarnings(warnings)
    availability.save()
    availability.appointment_types.set(appointment_types)
    return availability


@transaction.atomic
def availability_create(
    *, agent: Agent, organisation: Organisation, appointment_types, first_day, start_time, end_time,
    location: Location | None = None, title: str = "", recurrence: str = "none", interval: int = 1,
    weekdays=(), until=None, excluded_dates=(), accept_warnings: bool = False,
):
    """Create a plage d'ouverture. ``ValidationError`` (French, per field) on bad input;
    ``AvailabilityWarnings`` when it overlaps another plage of the agent or a type outlasts the window,
    unless ``accept_warnings``. Nothing is written in either case."""
    from .models import Availability

    availability = Availability(
        agent=agent, organisation=organisation, location=location, title=title or "", first_day=first_day,
        start_time=start_time, end_time=end_time, recurrence=recurrence, interval=interval,
        weekdays=list(weekdays or ()), until=until, excluded_dates=list(excluded_dates or ()),
    )
    return _availability_save(availability, appointment_types, accept_warnings)


@transaction.atomic
def availability_update(*, availability, appointment_types=None, accept_warnings: bool = False, **changes):
    """Change a plage d'ouverture (any of ``AVAILABILITY_FIELDS``, and its types). Same errors and
    warnings as :func:`availability_create`; the stored row is unchanged on refusal (the caller's
    instance is left as it was too: the change is made on a fresh copy, which is returned)."""
    from .models import Availability

    unknown = set(changes) - set(AVAILABILITY_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    current = Availability.objects.select_for_update().select_related("organisation").get(pk=availability.pk)
    for name, value in changes.items():
        setattr(current, name, value)
    if appointment_types is None:
        appointment_types = list(current.appointment_types.all())
    return _availability_save(current, appointment_types, accept_warnings)


@transaction.atomic
def availability_delete(*, availability) -> None:
    availability.delete()


def _absence_errors(absence) -> dict:
    errors: dict = {}
    if absence.recurrence != "none" and absence.end_day is None:
        absence.end_day = absence.first_day
    if absence.end_day is None:
        absence.end_day = absence.first_day
    if None not in (absence.first_day, absence.end_day, absence.start_time, absence.end_time):
        if absence.recurrence == "none":
            if (absence.end_day, absence.end_time) <= (absence.first_day, absence.start_time):
                _add_error(errors, "end_time", "La fin de l'absence doit être après son début.")
        elif absence.end_day == absence.first_day and absence.end_time <= absence.start_time:
            _add_error(errors, "end_time", "L'heure de fin doit être après l'heure de début.")
    _check_window_dates(absence, errors, names=("first_day", "end_day", "until"))
    return errors


def _absence_save(absence):
    _normalise_window(absence)
    _full_clean(absence, _absence_errors(absence))
    absence.save()
    return absence


@transaction.atomic
def absence_create(
    *, agent: Agent, first_day, start_time, end_time, end_day=None, title: str = "", recurrence: str = "none",
    interval: int = 1, weekdays=(), until=None, excluded_dates=(),
):
    """Create an absence (agent-wide, every organisation): one-off over one or several days, or recurring
    within a day. ``ValidationError`` (French, per field) on bad input, nothing written."""
    from .models import Absence

    absence = Absence(
        agent=agent, title=title or "", first_day=first_day, end_day=end_day, start_time=start_time,
        end_time=end_time, recurrence=recurrence, interval=interval, weekdays=list(weekdays or ()), until=until,
        excluded_dates=list(excluded_dates or ()),
    )
    return _absence_save(absence)


@transaction.atomic
def absence_update(*, absence, **changes):
    """Change an absence (any of ``ABSENCE_FIELDS``) on a fresh copy, returned; unchanged on refusal."""
    from .models import Absence

    unknown = set(changes) - set(ABSENCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    current = Absence.objects.select_for_update().get(pk=absence.pk)
    for name, value in changes.items():
        setattr(current, name, value)
    return _absence_save(current)


@transaction.atomic
def absence_delete(*, absence) -> None:
    absence.delete()


def _team_save(team, agents):
    from .models import AgentRole, Team

    errors: dict = {}
    agents = list(agents)
    members = set(
        AgentRole.objects.filter(organisation_id=team.organisation_id, agent__in=agents).values_list("agent_id",
                                                                                                    flat=True)
    )
    for agent in agents:
        if agent.pk not in members or agent.deleted_at is not None:
            _add_error(errors, "agents", f"{agent} n'est pas agent de cette organisation.")
    team.name = (team.name or "").strip()
    if team.name and Team.objects.filter(organisation_id=team.organisation_id, name__iexact=team.name).exclude(
            pk=team.pk).exists():
        _add_error(errors, "name", "Une équipe de ce nom existe déjà dans l'organisation.")
    _full_clean(team, errors)
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise ValidationError({"name": ["Une équipe de ce nom existe déjà dans l'organisation."]}) from None
    team.agents.set(agents)
    return team


@transaction.atomic
def team_create(*, organisation: Organisation, name: str, agents=()):
    """A team of agents of one organisation (its name unique there, whatever the case)."""
    from .models import Team

    return _team_save(Team(organisation=organisation, name=name), agents)


@transaction.atomic
def team_update(*, team, name: str | None = None, agents=None):
    """Rename a team and/or set its agents, on a fresh copy (returned); unchanged on refusal."""
    from .models import Team

    current = Team.objects.select_for_update().get(pk=team.pk)
    if name is not None:
        current.name = name
    if agents is None:
        agents = list(current.agents.all())
    return _team_save(current, agents)


@transaction.atomic
def team_delete(*, team) -> None:
    team.delete()
