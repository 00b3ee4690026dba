"""Writes of the usager's pages. The booking journey's part first; other parts may add their own sections."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from scheduling import services as scheduling_services
from scheduling.models import Appointment, AppointmentType, Citizen, Location

# --- Journey (book) ------------------------------------------------------------------------------


def _citizen_actor(citizen: Citizen) -> scheduling_services.Actor:
    return scheduling_services.Actor(kind="citizen", label=f"{citizen} (usager)")


def citizen_for_contact(*, first_name: str, last_name: str, email: str = "", phone: str = "") -> Citizen:
    """The usager record of someone who confirmed an e-mail address or a mobile number without an account:
    the record without account with the same names and that contact, or a new one."""
    first_name, last_name = first_name.strip(), last_name.strip()
    existing = Citizen.objects.filter(account__isnull=True, deleted_at__isnull=True, first_name__iexact=first_name,
                                      last_name__iexact=last_name)
    if email:
        existing = existing.filter(email__iexact=email)
    elif phone:
        existing = existing.filter(phone=phone)
    else:
        existing = existing.none()
    citizen = existing.order_by("pk").first()
    if citizen is None:
        citizen = Citizen.objects.create(first_name=first_name, last_name=last_name, email=email, phone=phone)
    return citizen


def relative_for(*, responsible: Citizen, first_name: str, last_name: str) -> Citizen:
    """A relative of ``responsible`` with these names, added when new."""
    first_name, last_name = first_name.strip(), last_name.strip()
    relative = responsible.relatives.filter(first_name__iexact=first_name, last_name__iexact=last_name,
                                            deleted_at__isnull=True).order_by("pk").first()
    if relative is None:
        relative = Citizen.objects.create(first_name=first_name, last_name=last_name, responsible=responsible)
    return relative


def journey_book(
    *, appointment_type: AppointmentType, starts_at: datetime, location: Location | None, agent_ids,
    booker: Citizen | None = None, contact: dict | None = None, relative: Citizen | None = None,
    new_relative: tuple[str, str] | None = None, phone: str = "", address: str = "", now: datetime | None = None,
) -> Appointment:
    """Book a slot for an usager (``created_by`` citizen): ``booker`` (a signed-in usager) or ``contact``
    (names and the confirmed e-mail or mobile of someone without an account), for himself, one of his
    ``relative``s, or a ``new_relative`` (first and last names). The booker's phone and address are completed
    from what the mode asked. ``scheduling.services.SlotUnavailable`` when the slot went meanwhile: nothing at
    all is written then (usager records included)."""
    with transaction.atomic():
        if booker is None:
            booker = citizen_for_contact(**contact)
        changed = []
        if phone and booker.phone != phone:
            booker.phone = phone
            changed.append("phone")
        if address and booker.address != address:
            booker.address = address
            changed.append("address")
        if changed:
            booker.save(update_fields=changed)
        participant = booker
        if relative is not None:
            if relative.responsible_id != booker.pk:
                raise ValueError("not a relative of the booker")
            participant = relative
        elif new_relative:
            participant = relative_for(responsible=booker, first_name=new_relative[0], last_name=new_relative[1])
        context = ""
        if appointment_type.mode == AppointmentType.Mode.PHONE and phone:
            context = f"Numéro à appeler : {phone}"
        elif appointment_type.mode == AppointmentType.Mode.HOME and address:
            context = f"Adresse du rendez-vous : {address}"
        return scheduling_services.appointment_book_slot(
            appointment_type=appointment_type, starts_at=starts_at, citizens=[participant],
            actor=_citizen_actor(booker), location=location, audience="usager",
            created_by=Appointment.CreatedBy.CITIZEN, context=context, now=now, agent_ids=agent_ids,
        )


def citizen_account_create(*, email: str, password: str, first_name: str, last_name: str) -> Citizen:
    """An usager's account: a user of this administration (never an agent) and his usager record."""
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        user = get_user_model().objects.create_user(email=email, password=password, first_name=first_name.strip(),
                                                    last_name=last_name.strip())
        return Citizen.objects.create(account=user, first_name=first_name.strip(), last_name=last_name.strip(),
                                      email=email)
