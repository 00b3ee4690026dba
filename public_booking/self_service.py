"""Self-service rules and writes of the usager's side: manage an appointment from its link or "Mes
rendez-vous" (cancel, move), account (profile, relatives, deletion), collective sessions, prescripteurs,
invitations. Keyword-only arguments; every change of an appointment goes through ``scheduling.services``
with an ``Actor`` of kind "citizen" or "prescriber".

(The brief suggested a "# --- Self-service" section of ``public_booking/services.py``; that file belongs to
the journey, written at the same time, so this area keeps its rules in this module of its own.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from scheduling import services as scheduling_services
from scheduling.models import (
    ACTIVE_STATUSES,
    CANCELLED_STATUSES,
    Agent,
    Appointment,
    AppointmentType,
    Citizen,
    Location,
    Participation,
    Prescriber,
    Status,
)
from scheduling.selectors import slots_for
from scheduling.services import Actor

CANCEL_DEADLINE = timedelta(hours=4)
MOVE_DEADLINE = timedelta(hours=48)
WAITING_LIST_MIN_DELAY = timedelta(days=7)

PRESCRIBER_BOOKABLE = (
    AppointmentType.BookableBy.AGENTS_AND_PRESCRIBERS,
    AppointmentType.BookableBy.AGENTS_PRESCRIBERS_AND_INVITED,
    AppointmentType.BookableBy.EVERYONE,
)
INVITED_BOOKABLE = (
    AppointmentType.BookableBy.AGENTS_PRESCRIBERS_AND_INVITED,
    AppointmentType.BookableBy.EVERYONE,
)


def citizen_actor(citizen: Citizen) -> Actor:
    return Actor(kind="citizen", label=f"{citizen} (usager)"[:300])


def prescriber_actor(prescriber: Prescriber) -> Actor:
    return Actor(kind="prescriber", label=f"{prescriber} (prescripteur)"[:300], prescriber=prescriber)


# --- Reads ---------------------------------------------------------------------------------------

def appointment_for_link(uuid) -> Appointment | None:
    """The appointment behind a manage link (the UUID4 is the secret), or None."""
    return (
        Appointment.objects.select_related("appointment_type__service", "organisation", "location")
        .filter(uuid=uuid)
        .first()
    )


def family_ids(citizen: Citizen) -> list[int]:
    """The usager and the relatives he is responsible for (one level, as in the reference)."""
    return [citizen.pk, *Citizen.objects.filter(responsible=citizen, deleted_at__isnull=True).values_list(
        "pk", flat=True)]


def citizen_appointments(*, citizen: Citizen, now: datetime | None = None):
    """Upcoming (then past) appointments of the usager and his relatives, three queries."""
    now = now or timezone.now()
    rows = (
        Appointment.objects.filter(participations__citizen_id__in=family_ids(citizen))
        .select_related("appointment_type__service", "location", "organisation")
        .prefetch_related("participations__citizen")
        .distinct()
        .order_by("starts_at")
    )
    return (
        [a for a in rows.filter(ends_at__gte=now)],
        list(rows.filter(ends_at__lt=now).order_by("-starts_at")[:20]),
    )


def citizen_relatives(citizen: Citizen):
    return Citizen.objects.filter(responsible=citizen, deleted_at__isnull=True).order_by("first_name")


# --- Rules ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Permission:
    allowed: bool
    reason: str = ""


def can_cancel(appointment: Appointment, now: datetime | None = None) -> Permission:
    now = now or timezone.now()
    kind = appointment.appointment_type
    if appointment.status in CANCELLED_STATUSES:
        return Permission(False, "Ce rendez-vous est déjà annulé.")
    if appointment.status != Status.UNKNOWN or appointment.starts_at <= now:
        return Permission(False, "Ce rendez-vous est passé.")
    if kind.collective:
        return Permission(False, "Pour un atelier collectif, annulez votre inscription depuis la liste des ateliers.")
    if not kind.citizen_can_cancel:
        return Permission(False, "Ce rendez-vous ne peut pas être annulé en ligne : contactez le service.")
    if appointment.starts_at - now < CANCEL_DEADLINE:
        return Permission(False, "Ce rendez-vous commence dans moins de 4 heures : il ne peut plus être annulé "
                                 "en ligne. Contactez le service.")
    return Permission(True)


def can_move(appointment: Appointment, now: datetime | None = None) -> Permission:
    now = now or timezone.now()
    kind = appointment.appointment_type
    if appointment.status in CANCELLED_STATUSES:
        return Permission(False, "Ce rendez-vous est annulé.")
    if appointment.status != Status.UNKNOWN or appointment.starts_at <= now:
        return Permission(False, "Ce rendez-vous est passé.")
    if kind.collective:
        return Permission(False, "Un atelier collectif ne se déplace pas.")
    if not kind.citizen_can_move or kind.archived_at:
        return Permission(False, "Ce rendez-vous ne peut pas être déplacé en ligne : contactez le service.")
    if appointment.created_by == Appointment.CreatedBy.AGENT:
        return Permission(False, "Ce rendez-vous a été pris par un agent : pour le déplacer, contactez le service.")
    if appointment.starts_at - now < MOVE_DEADLINE:
        return Permission(False, "Ce rendez-vous commence dans moins de 48 heures : il ne peut plus être déplacé "
                                 "en ligne. Contactez le service.")
    return Permission(True)


def can_join_waiting_list(appointment: Appointment, now: datetime | None = None) -> Permission:
    now = now or timezone.now()
    if appointment.status != Status.UNKNOWN or appointment.appointment_type.collective:
        return Permission(False, "La liste d'attente concerne les rendez-vous à venir.")
    movable = can_move(appointment, now)
    if not movable.allowed:  # the messages invite to move it: pointless when it cannot be moved online
        return movable
    if appointment.starts_at - now <= WAITING_LIST_MIN_DELAY:
        return Permission(False, "Votre rendez-vous a lieu dans moins de 7 jours : la liste d'attente ne "
                                 "s'applique pas.")
    return Permission(True)


def _main_citizen(appointment: Appointment) -> Citizen | None:
    participation = appointment.participations.select_related("citizen").order_by("pk").first()
    return participation.citizen if participation else None


# --- Cancel and move -----------------------------------------------------------------------------

@transaction.atomic
def appointment_cancel_by_citizen(*, appointment: Appointment, now: datetime | None = None,
                                  by: Citizen | None = None) -> Appointment:
    """The usager cancels his appointment (excused). Refused (ValidationError) past the deadline or when
    the type does not allow it; the waiting list entry goes."""
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related("appointment_type").get(
        pk=appointment.pk)
    permission = can_cancel(appointment, now)
    if not permission.allowed:
        raise ValidationError(permission.reason)
    citizen = by or _main_citizen(appointment)  # ``by``: the signed-in responsible acting for a relative
    actor = citizen_actor(citizen) if citizen else Actor(kind="citizen", label="Usager")
    appointment = scheduling_services.appointment_set_status(appointment=appointment, status=Status.EXCUSED,
                                                             actor=actor)
    from .models import WaitingListEntry

    WaitingListEntry.objects.filter(appointment=appointment).delete()
    return appointment


def _free_agents_at(*, appointment_type, location_id, starts_at, now):
    return sorted({
        agent_id
        for slot in slots_for(appointment_type=appointment_type, start=starts_at,
                              end=starts_at + appointment_type.duration, location_id=location_id, now=now)
        if slot.starts_at == starts_at and slot.location_id == location_id
        for agent_id in slot.agent_ids
    })


@transaction.atomic
def appointment_move_by_citizen(*, appointment: Appointment, starts_at: datetime,
                                now: datetime | None = None, by: Citizen | None = None) -> Appointment:
    """Move to another free slot of the same type and place (booking window, one of its free agents).
    ValidationError past the deadline; ``SlotUnavailable`` when the slot is not (or no longer) free."""
    from scheduling.models import Agent
    from scheduling.selectors import booked_minutes_on, local_day_bounds
    from scheduling.slots import choose_agent

    now = now or timezone.now()
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related(
        "appointment_type__organisation", "location").get(pk=appointment.pk)
    permission = can_move(appointment, now)
    if not permission.allowed:
        raise ValidationError(permission.reason)
    kind = appointment.appointment_type
    free = _free_agents_at(appointment_type=kind, location_id=appointment.location_id, starts_at=starts_at, now=now)
    if not free:
        raise scheduling_services.SlotUnavailable("Ce créneau n'est pas disponible. Choisissez un autre horaire.")
    day_start, day_end = local_day_bounds(starts_at, ZoneInfo(kind.organisation.timezone))
    agent = Agent.objects.get(pk=choose_agent(free, booked_minutes_on(free, day_start, day_end)))
    citizen = by or _main_citizen(appointment)  # ``by``: the signed-in responsible acting for a relative
    actor = citizen_actor(citizen) if citizen else Actor(kind="citizen", label="Usager")
    try:
        with transaction.atomic():
            moved = scheduling_services.appointment_move(appointment=appointment, actor=actor, starts_at=starts_at,
                                                         agents=[agent])
    except scheduling_services.BookingWarnings:
        raise scheduling_services.SlotUnavailable() from None
    from .models import WaitingListEntry

    if moved.starts_at - now <= WAITING_LIST_MIN_DELAY:
        WaitingListEntry.objects.filter(appointment=moved).delete()
    return moved


# --- Waiting list --------------------------------------------------------------------------------

def waiting_list_join(*, appointment: Appointment, now: datetime | None = None):
    from .models import WaitingListEntry

    permission = can_join_waiting_list(appointment, now)
    if not permission.allowed:
        raise ValidationError(permission.reason)
    entry, _ = WaitingListEntry.objects.get_or_create(appointment=appointment)
    return entry


def waiting_list_leave(*, appointment: Appointment) -> None:
    from .models import WaitingListEntry

    WaitingListEntry.objects.filter(appointment=appointment).delete()


# --- Account -------------------------------------------------------------------------------------

def relative_save(*, responsible: Citizen, relative: Citizen) -> Citizen:
    """Create or update a relative of ``responsible`` (the form validated the fields)."""
    relative.responsible = responsible
    if not relative.pk:
        relative.email = ""
        relative.phone = ""
    relative.full_clean(exclude=["account", "responsible"])
    relative.save()
    for organisation_id in responsible.organisations.values_list("pk", flat=True):
        relative.organisations.add(organisation_id)
    return relative


@transaction.atomic
def relative_remove(*, responsible: Citizen, relative: Citizen, now: datetime | None = None) -> None:
    """A relative leaves the family: his upcoming appointments are cancelled, the record anonymised
    (its history stays for the services) unless it has none, in which case it goes."""
    if relative.responsible_id != responsible.pk:
        raise ValidationError("Cette personne n'est pas l'un de vos proches.")
    _citizen_erase(citizen=relative, now=now)


def _cancel_future(citizen: Citizen, now: datetime) -> int:
    count = 0
    participations = Participation.objects.filter(
        citizen=citizen, status__in=ACTIVE_STATUSES, appointment__starts_at__gt=now,
        appointment__status__in=ACTIVE_STATUSES,
    ).select_related("appointment__appointment_type")
    for participation in participations:
        actor = citizen_actor(citizen)
        if participation.appointment.appointment_type.collective:
            scheduling_services.participant_remove(participation=participation, actor=actor)
        else:
            scheduling_services.participation_set_status(participation=participation, status=Status.EXCUSED,
                                                         actor=actor)
        count += 1
    return count


def _citizen_erase(*, citizen: Citizen, now: datetime | None = None) -> None:
    from .models import WaitingListEntry

    now = now or timezone.now()
    _cancel_future(citizen, now)
    WaitingListEntry.objects.filter(appointment__participations__citizen=citizen).delete()
    citizen.first_name = "Usager"
    citizen.last_name = "anonymisé"
    citizen.birth_name = ""
    citizen.birth_date = None
    citizen.email = ""
    citizen.phone = ""
    citizen.address = ""
    citizen.city_code = ""
    citizen.notify_by_email = False
    citizen.notify_by_sms = False
    citizen.responsible = None
    citizen.account = None
    citizen.deleted_at = now
    citizen.save()


@transaction.atomic
def citizen_account_delete(*, citizen: Citizen, now: datetime | None = None) -> None:
    """Delete an usager's account (docs/decisions/0014): upcoming appointments of the usager and his
    relatives are cancelled, the records anonymised and soft-deleted (appointments and their history stay,
    without identity), the sign-in account removed - unless it is also an agent's or staff's account, which
    only loses its usager record (an agent's account is protected: deleting it would fail)."""
    now = now or timezone.now()
    user = citizen.account
    for relative in list(citizen_relatives(citizen)):
        _citizen_erase(citizen=relative, now=now)
    _citizen_erase(citizen=citizen, now=now)
    if user is not None and not (user.is_staff or user.is_superuser or Agent.objects.filter(user=user).exists()):
        user.delete()


# --- Collective sessions -------------------------------------------------------------------------

def open_sessions(*, now: datetime | None = None):
    """Upcoming sessions of collective types open to usagers, with seats left (two queries)."""
    now = now or timezone.now()
    rows = (
        Appointment.objects.filter(
            appointment_type__collective=True, appointment_type__bookable_by=AppointmentType.BookableBy.EVERYONE,
            appointment_type__archived_at__isnull=True, status=Status.UNKNOWN, starts_at__gt=now,
        )
        .select_related("appointment_type__service", "location", "organisation")
        .annotate(taken=Count("participations", filter=~Q(participations__status__in=CANCELLED_STATUSES)))
        .order_by("starts_at")
    )
    return [s for s in rows if s.capacity is None or s.taken < s.capacity]


def session_for_citizens(uuid):
    return (
        Appointment.objects.filter(uuid=uuid, appointment_type__collective=True,
                                   appointment_type__bookable_by=AppointmentType.BookableBy.EVERYONE)
        .select_related("appointment_type__service", "location", "organisation")
        .first()
    )


def session_register(*, session: Appointment, citizen: Citizen, family: Citizen,
                     now: datetime | None = None) -> Participation:
    """Register ``citizen`` (the usager or one of his relatives) in a session: one person per family."""
    now = now or timezone.now()
    if session.starts_at <= now:
        raise ValidationError("Cet atelier a déjà eu lieu.")
    ids = family_ids(family)
    if citizen.pk not in ids:
        raise ValidationError("Choisissez vous-même ou l'un de vos proches.")
    if session.participations.filter(citizen_id__in=ids).exclude(status__in=CANCELLED_STATUSES).exists():
        raise ValidationError("Une personne de votre famille est déjà inscrite à cet atelier.")
    return scheduling_services.participant_add(appointment=session, citizen=citizen, actor=citizen_actor(family),
                                               created_by=Appointment.CreatedBy.CITIZEN)


def session_unregister(*, session: Appointment, family: Citizen, now: datetime | None = None) -> None:
    now = now or timezone.now()
    participation = session.participations.filter(citizen_id__in=family_ids(family)).exclude(
        status__in=CANCELLED_STATUSES).first()
    if participation is None:
        raise ValidationError("Personne de votre famille n'est inscrit à cet atelier.")
    if session.starts_at - now < CANCEL_DEADLINE:
        raise ValidationError("L'atelier commence dans moins de 4 heures : l'inscription ne peut plus être "
                              "annulée en ligne. Contactez le service.")
    scheduling_services.participant_remove(participation=participation, actor=citizen_actor(family))


# --- Prescripteurs -------------------------------------------------------------------------------

def prescriber_types():
    return (
        AppointmentType.objects.filter(bookable_by__in=PRESCRIBER_BOOKABLE, archived_at__isnull=True, collective=False)
        .select_related("service", "organisation")
        .order_by("service__name", "name")
    )


def type_locations(appointment_type: AppointmentType):
    """Places where the type has plages d'ouverture (none for phone, video and home appointments)."""
    if appointment_type.mode != AppointmentType.Mode.IN_PERSON:
        return Location.objects.none()
    return Location.objects.filter(
        availabilities__appointment_types=appointment_type, availability=Location.Availability.ENABLED,
    ).distinct().order_by("name")


def _matched_citizen(*, first_name, last_name, birth_date, email, phone) -> Citizen | None:
    """An existing record of the same person: same names and birth date, and (if given) same e-mail or
    phone; never a record matched only on a contact (two persons may share an e-mail)."""
    from scheduling.selectors import citizen_likely_duplicates

    for candidate in citizen_likely_duplicates(first_name=first_name, last_name=last_name, birth_date=birth_date,
                                               email=email, phone=phone):
        same_person = (candidate.first_name.lower() == first_name.strip().lower()
                       and candidate.last_name.lower() == last_name.strip().lower()
                       and candidate.birth_date == birth_date)
        if same_person:
            return candidate
    return None


@transaction.atomic
def prescriber_book(
    *, appointment_type: AppointmentType, starts_at: datetime, location: Location | None,
    prescriber: dict, beneficiary: dict, now: datetime | None = None,
) -> Appointment:
    """A prescripteur books for a beneficiary: the usager record is matched or created, the appointment
    records the prescripteur (created_by and created_by_prescriber). ``SlotUnavailable`` if taken."""
    if appointment_type.bookable_by not in PRESCRIBER_BOOKABLE or appointment_type.collective:
        raise ValidationError("Ce motif n'est pas ouvert aux prescripteurs.")
    citizen = _matched_citizen(**beneficiary)
    if citizen is None:
        citizen = Citizen(**beneficiary)
        citizen.full_clean(exclude=["account", "responsible"])
        citizen.save()
    else:
        changed = [name for name in ("email", "phone") if beneficiary[name] and not getattr(citizen, name)]
        for name in changed:
            setattr(citizen, name, beneficiary[name])
        if changed:
            citizen.save(update_fields=changed)
    record = Prescriber.objects.create(**prescriber)
    return scheduling_services.appointment_book_slot(
        appointment_type=appointment_type, starts_at=starts_at, citizens=[citizen], actor=prescriber_actor(record),
        location=location, created_by=Appointment.CreatedBy.PRESCRIBER, prescriber=record, now=now,
    )


# --- Invitations ---------------------------------------------------------------------------------

INVITATION_SALT = "public_booking.invitation"
INVITATION_MAX_AGE = timedelta(days=3)
INVITATION_SESSION_KEY = "public_booking_invitation"
INVITATION_SESSION_LENGTH = timedelta(hours=1)


def invitation_token(*, citizen: Citizen, appointment_type: AppointmentType | None = None, service=None) -> str:
    if (appointment_type is None) == (service is None):
        raise ValueError("Une invitation porte sur un motif ou sur un service.")
    payload = {"c": citizen.pk, "t": appointment_type.pk if appointment_type else None,
               "s": service.pk if service else None}
    return signing.TimestampSigner(salt=INVITATION_SALT).sign_object(payload)


def invitation_link(*, citizen: Citizen, appointment_type: AppointmentType | None = None, service=None) -> str:
    """The absolute link an agent sends to a usager so that he books this type (or a type of this service)."""
    from django.db import connection
    from django.urls import reverse

    path = reverse("invitation_open", args=[invitation_token(citizen=citizen, appointment_type=appointment_type,
                                                             service=service)])
    tenant = getattr(connection, "tenant", None)
    return tenant.url(path) if hasattr(tenant, "url") else path


def invitation_read(token: str) -> dict:
    """The invitation behind a token; ValidationError (French) when tampered, expired or stale."""
    try:
        payload = signing.TimestampSigner(salt=INVITATION_SALT).unsign_object(
            token, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError("Ce lien d'invitation a expiré. Demandez un nouveau lien au service.") from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise ValidationError("Ce lien d'invitation n'est pas valide. Vérifiez qu'il est complet.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), int):
        raise ValidationError("Ce lien d'invitation n'est pas valide. Vérifiez qu'il est complet.")
    citizen = Citizen.objects.filter(pk=payload["c"], deleted_at__isnull=True).first()
    if citizen is None:
        raise ValidationError("Ce lien d'invitation n'est plus valide. Demandez un nouveau lien au service.")
    return {"citizen": citizen, "type_id": payload.get("t"), "service_id": payload.get("s")}


def invited_types(invitation: dict):
    types = AppointmentType.objects.filter(bookable_by__in=INVITED_BOOKABLE, archived_at__isnull=True,
                                           collective=False).select_related("service", "organisation")
    if invitation.get("type_id"):
        return types.filter(pk=invitation["type_id"])
    return types.filter(service_id=invitation.get("service_id"))


def invited_book(*, invitation: dict, appointment_type: AppointmentType, starts_at: datetime,
                 location: Location | None, now: datetime | None = None) -> Appointment:
    citizen = invitation["citizen"]
    if not invited_types(invitation).filter(pk=appointment_type.pk).exists():
        raise ValidationError("Cette invitation ne porte pas sur ce motif.")
    return scheduling_services.appointment_book_slot(
        appointment_type=appointment_type, starts_at=starts_at, citizens=[citizen], actor=citizen_actor(citizen),
        location=location, created_by=Appointment.CreatedBy.CITIZEN, now=now,
    )
