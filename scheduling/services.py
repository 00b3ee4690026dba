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
) -> Appointment:
    """Book an appointment for the given agents.

    Without ``accept_warnings`` any conflict (other appointment, absence, same usager and type that
    day, start in the past) raises ``BookingWarnings`` and nothing is written. With it, a conflicting
    appointment is kept as an accepted overlap, left out of the exclusion constraint. An exact
    duplicate (same agents, type, start and usagers) is always refused. A race lost against another
    booking raises ``SlotUnavailable``; so does any overlap when ``refuse_overlap`` (computed slots).
    """
    with transaction.atomic():
        return _appointment_create(
            appointment_type=appointment_type, starts_at=starts_at, agents=agents, citizens=citizens, actor=actor,
            location=location, duration=duration, context=context, accept_warnings=accept_warnings,
            capacity=capacity, title=title, created_by=created_by, prescriber=prescriber, notify=notify,
            refuse_overlap=refuse_overlap,
        )


def _appointment_create(
    *, appointment_type, starts_at, agents, citizens, actor, location, duration, context, accept_warnings,
    capacity, title, created_by, prescriber, notify, refuse_overlap,
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
        starts_at=starts_at, ends_at=ends_at, context=context, capacity=capacity or appointment_type.default_capacity,
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
            audience=audience, location_id=location_id, now=now,
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
def appointment_delete(*, appointment: Appointment, actor: Actor) -> None:
    """Delete an appointment (admins: a booking made by mistake). Its audit trail stays, with a last
    "deleted" entry holding what the appointment was; receivers hear it before the rows go."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    snapshot = {
        "appointment_type": appointment.appointment_type_id, "location": appointment.location_id,
        "starts_at": appointment.starts_at.isoformat(), "ends_at": appointment.ends_at.isoformat(),
        "status": appointment.status,
        "agents": sorted(appointment.agent_links.values_list("agent_id", flat=True)),
        "citizens": sorted(appointment.participations.values_list("citizen_id", flat=True)),
    }
    events.appointment_deleted.send(sender=Appointment, appointment=appointment, actor=actor)
    _record(appointment, actor, "deleted", snapshot)
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
