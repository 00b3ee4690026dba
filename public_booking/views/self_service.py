"""The usager's pages after booking: manage an appointment (link or "Mes rendez-vous"), waiting list,
account, collective sessions, prescripteurs, invitations. Thin: rules in ``public_booking.self_service``."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from messaging.rendering import place_label
from scheduling import policy
from scheduling.models import AppointmentType, Citizen
from scheduling.services import SlotUnavailable
from scheduling.views.common import agent_view
from tenants.accounts import franceconnect

from .. import self_service as rules
from ..forms_self_service import (
    DeleteAccountForm,
    GuestNameForm,
    InvitationForm,
    NotificationsForm,
    PrescriberBookingForm,
    ProfileForm,
    RelativeForm,
    SlotForm,
)
from ..ratelimit import rate_limited

TEMPLATES = "public_booking/self_service/"


def _posted(request):
    """The submitted data on POST (even empty: the form is then bound and says what is missing)."""
    return request.POST if request.method == "POST" else None


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def current_citizen(request) -> Citizen | None:
    """The usager signed in with his account (agents and others: None)."""
    user = request.user
    if not user.is_authenticated:
        return None
    return Citizen.objects.filter(account=user, deleted_at__isnull=True).first()


def citizen_required(view):
    """Signed-in usager with a record here; anonymous → sign-in page; an account without a usager record
    (an agent) → a French explanation (403)."""

    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        citizen = current_citizen(request)
        if citizen is None:
            return render(request, TEMPLATES + "no_citizen.html", status=403)
        request.citizen = citizen
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _week_context(*, appointment_type, location_id, request, now=None) -> dict:
    """The week of slots of a type at a place (the journey's selector: booking window, one slot per time,
    navigation only across weeks holding part of the window), with local times by day for the template."""
    from ..selectors import monday_of, week_of_slots

    now = now or timezone.now()
    tz = ZoneInfo(appointment_type.organisation.timezone)
    try:
        asked = date.fromisoformat(request.GET.get("semaine", ""))
    except ValueError:
        asked = None
    week = week_of_slots(appointment_type=appointment_type, location_id=location_id, agent_ids=None, monday=asked,
                         now=now)
    days = [(day, [slot.starts_at.astimezone(tz) for slot in slots]) for day, slots in week.days if slots]
    next_available = week.next_available.starts_at.astimezone(tz) if week.next_available else None
    return {
        "days": days, "monday": week.monday, "sunday": week.monday + timedelta(days=6),
        "previous_week": week.previous_week, "next_week": week.next_week, "next_available": next_available,
        "next_available_week": monday_of(next_available.date()) if next_available else None, "tz": tz,
    }


# --- Manage an appointment -----------------------------------------------------------------------

def _appointment_or_404(uuid):
    appointment = rules.appointment_for_link(uuid)
    if appointment is None:
        raise Http404("Rendez-vous introuvable")
    return appointment


def _manage_context(appointment, request) -> dict:
    from ..models import WaitingListEntry

    now = timezone.now()
    citizen = current_citizen(request)
    participants = list(appointment.participations.select_related("citizen").order_by("pk"))
    if appointment.appointment_type.collective:
        # A session's link is shared by every participant: show only the usager's own family.
        ids = set(rules.family_ids(citizen)) if citizen else set()
        participants = [p for p in participants if p.citizen_id in ids]
    return {
        "appointment": appointment, "kind": appointment.appointment_type,
        "place": place_label(appointment), "participants": participants,
        "cancel": rules.can_cancel(appointment, now), "move": rules.can_move(appointment, now),
        "waiting_list": rules.can_join_waiting_list(appointment, now),
        "on_waiting_list": WaitingListEntry.objects.filter(appointment=appointment).exists(),
        "tz": ZoneInfo(appointment.organisation.timezone),
    }


def _acting_citizen(request, appointment) -> Citizen | None:
    """The signed-in usager when the appointment is his or a relative's (recorded as the author)."""
    citizen = current_citizen(request)
    if citizen and appointment.participations.filter(citizen_id__in=rules.family_ids(citizen)).exists():
        return citizen
    return None


def public_appointment(request, uuid):
    """The manage page behind the link of every message (the UUID4 is the secret)."""
    appointment = _appointment_or_404(uuid)
    return render(request, TEMPLATES + "appointment.html", _manage_context(appointment, request))


def public_appointment_cancel(request, uuid):
    appointment = _appointment_or_404(uuid)
    context = _manage_context(appointment, request)
    if request.method == "POST":
        try:
            rules.appointment_cancel_by_citizen(appointment=appointment, by=_acting_citizen(request, appointment))
        except ValidationError as error:
            context["error"] = _errors(error)
            return render(request, TEMPLATES + "cancel.html", context, status=400)
        messages.success(request, "Votre rendez-vous est annulé.")
        return redirect("public_appointment", uuid=appointment.uuid)
    return render(request, TEMPLATES + "cancel.html", context)


@rate_limited("booking", methods=("POST",))
def public_appointment_move(request, uuid):
    appointment = _appointment_or_404(uuid)
    context = _manage_context(appointment, request)
    status = 200
    if not context["move"].allowed:
        return render(request, TEMPLATES + "move.html", context, status=403 if request.method == "POST" else 200)
    form = SlotForm(_posted(request))
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.appointment_move_by_citizen(appointment=appointment, starts_at=form.cleaned_data["starts_at"],
                                                  by=_acting_citizen(request, appointment))
            except SlotUnavailable as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                form.add_error(None, _errors(error))
            else:
                messages.success(request, "Votre rendez-vous est déplacé.")
                return redirect("public_appointment", uuid=appointment.uuid)
        status = 400
    context.update(form=form, **_week_context(appointment_type=appointment.appointment_type,
                                              location_id=appointment.location_id, request=request))
    return render(request, TEMPLATES + "move.html", context, status=status)


@require_POST
def public_appointment_waiting_list(request, uuid):
    appointment = _appointment_or_404(uuid)
    if request.POST.get("action") == "leave":
        rules.waiting_list_leave(appointment=appointment)
        messages.success(request, "Vous ne serez plus prévenu(e) des créneaux libérés.")
    else:
        try:
            rules.waiting_list_join(appointment=appointment)
        except ValidationError as error:
            messages.error(request, _errors(error))
        else:
            messages.success(request, "C'est noté : vous serez prévenu(e) si un créneau se libère plus tôt "
                                      "(trois messages au plus).")
    return redirect("public_appointment", uuid=appointment.uuid)


@citizen_required
def my_appointments(request):
    upcoming, past = rules.citizen_appointments(citizen=request.citizen)
    return render(request, TEMPLATES + "my_appointments.html", {"upcoming": upcoming, "past": past})


# --- Account -------------------------------------------------------------------------------------

@citizen_required
def citizen_account(request):
    citizen = request.citizen
    certified = franceconnect.is_certified(request.user)
    form = ProfileForm(_posted(request), instance=citizen, prefix="profil",
                       certified_fields=franceconnect.CERTIFIED_FIELDS if certified else ())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Votre profil est enregistré.")
        return redirect("citizen_account")
    return render(request, TEMPLATES + "account.html", {"form": form, "citizen": citizen, "certified": certified},
                  status=400 if form.is_bound else 200)


@citizen_required
def citizen_account_notifications(request):
    form = NotificationsForm(_posted(request), instance=request.citizen)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Vos préférences de notification sont enregistrées.")
        return redirect("citizen_account_notifications")
    return render(request, TEMPLATES + "notifications.html", {"form": form})


@citizen_required
def citizen_relatives(request):
    return render(request, TEMPLATES + "relatives.html", {"relatives": rules.citizen_relatives(request.citizen)})


def _relative_or_404(request, pk):
    relative = rules.citizen_relatives(request.citizen).filter(pk=pk).first()
    if relative is None:
        raise Http404("Proche introuvable")
    return relative


@citizen_required
def citizen_relative_edit(request, pk=None):
    relative = _relative_or_404(request, pk) if pk is not None else Citizen()
    form = RelativeForm(_posted(request), instance=relative)
    if request.method == "POST" and form.is_valid():
        try:
            rules.relative_save(responsible=request.citizen, relative=form.instance)
        except ValidationError as error:
            form.add_error(None, _errors(error))
        else:
            messages.success(request, "Proche enregistré.")
            return redirect("citizen_relatives")
    return render(request, TEMPLATES + "relative_form.html", {"form": form, "relative": relative},
                  status=400 if form.is_bound else 200)


@citizen_required
def citizen_relative_remove(request, pk):
    relative = _relative_or_404(request, pk)
    if request.method == "POST":
        rules.relative_remove(responsible=request.citizen, relative=relative)
        messages.success(request, "Ce proche a été retiré de votre compte ; ses rendez-vous à venir sont annulés.")
        return redirect("citizen_relatives")
    return render(request, TEMPLATES + "relative_remove.html", {"relative": relative})


@citizen_required
def citizen_account_delete(request):
    form = DeleteAccountForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        rules.citizen_account_delete(citizen=request.citizen)
        logout(request)
        return render(request, TEMPLATES + "account_deleted.html")
    return render(request, TEMPLATES + "account_delete.html", {"form": form}, status=400 if form.is_bound else 200)


# --- Collective sessions -------------------------------------------------------------------------

def public_sessions(request):
    citizen = current_citizen(request)
    family = [citizen, *rules.citizen_relatives(citizen)] if citizen else []
    mine = set()
    if citizen:
        from scheduling.models import Participation

        mine = set(Participation.objects.filter(citizen_id__in=rules.family_ids(citizen))
                   .exclude(status__in=("excused", "revoked")).values_list("appointment_id", flat=True))
    sessions = rules.open_sessions()
    registered = [s for s in sessions if s.pk in mine]
    if citizen:
        from scheduling.models import Appointment

        registered = list(
            Appointment.objects.filter(pk__in=mine, starts_at__gt=timezone.now(), appointment_type__collective=True)
            .select_related("appointment_type__service", "location", "organisation").order_by("starts_at")
        )
    return render(request, TEMPLATES + "sessions.html", {
        "sessions": [s for s in sessions if s.pk not in mine], "registered": registered, "family": family,
        "citizen": citizen,
    })


def _session_or_404(uuid):
    session = rules.session_for_citizens(uuid)
    if session is None:
        raise Http404("Atelier introuvable")
    return session


@require_POST
@citizen_required
@rate_limited("booking", methods=("POST",))
def public_session_register(request, uuid):
    session = _session_or_404(uuid)
    try:
        person_id = int(request.POST.get("citizen", ""))
    except ValueError:
        person_id = request.citizen.pk
    person = Citizen.objects.filter(pk=person_id, deleted_at__isnull=True).first() or request.citizen
    try:
        rules.session_register(session=session, citizen=person, family=request.citizen)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        name = session.title or session.appointment_type.name
        messages.success(request, f"Inscription confirmée : {person} est inscrit(e) à « {name} ».")
    return redirect("public_sessions")


@rate_limited("booking", methods=("POST",))
def public_session_register_guest(request, uuid):
    """Register without an account: confirm an e-mail address or a mobile with a one-time code (the journey's
    ``public_booking.otp`` flow and session keys), then give one's name."""
    from ..forms import CodeForm, ContactForm
    from ..services import citizen_for_contact
    from .contact import contact_step, pending_contact, verified_contact

    session = _session_or_404(uuid)
    if current_citizen(request) is not None:
        return redirect("public_sessions")
    here = reverse("public_session_register_guest", args=[session.uuid])
    pending = pending_contact(request)
    verified = verified_contact(request)
    contact_form, code_form = ContactForm(), CodeForm()
    name_form = GuestNameForm()
    action = request.POST.get("action") if request.method == "POST" else None
    response, sent_form, checked_form = contact_step(request, action=action or "", here=here, pending=pending,
                                                     verified=verified)
    if response is not None:
        return response
    contact_form, code_form = sent_form or contact_form, checked_form or code_form
    if action == "register" and verified:
        name_form = GuestNameForm(request.POST)
        if name_form.is_valid():
            email = verified["destination"] if verified.get("channel") == "email" else ""
            phone = verified["destination"] if verified.get("channel") == "sms" else ""
            citizen = citizen_for_contact(first_name=name_form.cleaned_data["first_name"],
                                          last_name=name_form.cleaned_data["last_name"], email=email, phone=phone)
            try:
                rules.session_register(session=session, citizen=citizen, family=citizen)
            except ValidationError as error:
                name_form.add_error(None, _errors(error))
            else:
                name = session.title or session.appointment_type.name
                messages.success(request, f"Inscription confirmée : {citizen} est inscrit(e) à « {name} ». "
                                          "La confirmation vous est envoyée.")
                return redirect("public_sessions")
    status = 400 if action and request.method == "POST" else 200
    return render(request, TEMPLATES + "session_guest.html", {
        "session": session, "pending": pending, "verified": verified, "contact_form": contact_form,
        "code_form": code_form, "name_form": name_form,
    }, status=status)


@require_POST
@citizen_required
def public_session_unregister(request, uuid):
    session = _session_or_404(uuid)
    try:
        rules.session_unregister(session=session, family=request.citizen)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, "Votre inscription est annulée.")
    return redirect("public_sessions")


# --- Prescripteurs -------------------------------------------------------------------------------

def prescriber_start(request):
    return render(request, TEMPLATES + "prescriber_start.html", {"types": rules.prescriber_types()})


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _slot_page(request, *, appointment_type, form, template, extra):
    """Choose the place (in person) then a slot of the week; the form wraps the slot radios."""
    locations = list(rules.type_locations(appointment_type))
    location = None
    if appointment_type.mode == AppointmentType.Mode.IN_PERSON:
        location_id = _int(request.POST.get("lieu") or request.GET.get("lieu"))
        location = next((loc for loc in locations if loc.pk == location_id), None)
        if location is None and len(locations) == 1:
            location = locations[0]
    context = {"kind": appointment_type, "locations": locations, "location": location, "form": form,
               "nav_query": f"lieu={location.pk}&" if location else "", **extra}
    if appointment_type.mode != AppointmentType.Mode.IN_PERSON or location is not None:
        context.update(_week_context(appointment_type=appointment_type, location_id=location.pk if location else None,
                                     request=request))
    return context, location


@rate_limited("booking", methods=("POST",))
def prescriber_book(request, type_id):
    appointment_type = rules.prescriber_types().filter(pk=type_id).first()
    if appointment_type is None:
        raise Http404("Motif introuvable")
    form = PrescriberBookingForm(_posted(request))
    context, location = _slot_page(request, appointment_type=appointment_type, form=form,
                                   template="prescriber_book.html", extra={})
    if request.method == "POST":
        if appointment_type.mode == AppointmentType.Mode.IN_PERSON and location is None:
            form.add_error(None, "Choisissez un lieu.")
        if form.is_valid():
            try:
                appointment = rules.prescriber_book(
                    appointment_type=appointment_type, starts_at=form.cleaned_data["starts_at"], location=location,
                    prescriber=form.prescriber(), beneficiary=form.beneficiary(),
                )
            except SlotUnavailable as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                form.add_error(None, _errors(error))
            else:
                return render(request, TEMPLATES + "prescriber_done.html", {
                    "appointment": appointment, "place": place_label(appointment),
                    "tz": ZoneInfo(appointment.organisation.timezone),
                    "citizen": appointment.participations.select_related("citizen").first().citizen,
                })
        return render(request, TEMPLATES + "prescriber_book.html", context, status=400)
    return render(request, TEMPLATES + "prescriber_book.html", context)


# --- Invitations ---------------------------------------------------------------------------------

def _invitation_in_session(request) -> dict | None:
    data = request.session.get(rules.INVITATION_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    if data.get("until", 0) < timezone.now().timestamp():
        request.session.pop(rules.INVITATION_SESSION_KEY, None)
        return None
    try:
        invitation = rules.invitation_read(data.get("token", ""))
    except ValidationError:
        request.session.pop(rules.INVITATION_SESSION_KEY, None)
        return None
    return invitation


@rate_limited("otp_verify", methods=("GET",))
def invitation_open(request, token):
    """Opening the link signs the usager in for a short time (session only, no password)."""
    try:
        invitation = rules.invitation_read(token)
    except ValidationError as error:
        return render(request, TEMPLATES + "invitation_invalid.html", {"error": _errors(error)}, status=400)
    request.session.cycle_key()
    request.session[rules.INVITATION_SESSION_KEY] = {
        "token": token, "until": (timezone.now() + rules.INVITATION_SESSION_LENGTH).timestamp(),
    }
    # The journey's hook (views.journey.INVITED_SESSION_KEY): the invited types also show in "Prendre RDV".
    request.session["journey_invited_type_ids"] = list(rules.invited_types(invitation).values_list("pk", flat=True))
    return redirect("invitation_home")


def invitation_home(request):
    invitation = _invitation_in_session(request)
    if invitation is None:
        return render(request, TEMPLATES + "invitation_invalid.html", {
            "error": "Votre session d'invitation a expiré. Rouvrez le lien reçu, ou demandez-en un nouveau."},
            status=403)
    return render(request, TEMPLATES + "invitation_home.html", {
        "citizen": invitation["citizen"], "types": rules.invited_types(invitation)})


@rate_limited("booking", methods=("POST",))
def invitation_book(request, type_id):
    invitation = _invitation_in_session(request)
    if invitation is None:
        return render(request, TEMPLATES + "invitation_invalid.html", {
            "error": "Votre session d'invitation a expiré. Rouvrez le lien reçu, ou demandez-en un nouveau."},
            status=403)
    appointment_type = rules.invited_types(invitation).filter(pk=type_id).first()
    if appointment_type is None:
        raise Http404("Motif introuvable")
    form = SlotForm(_posted(request))
    context, location = _slot_page(request, appointment_type=appointment_type, form=form,
                                   template="invitation_book.html", extra={"citizen": invitation["citizen"]})
    if request.method == "POST":
        if appointment_type.mode == AppointmentType.Mode.IN_PERSON and location is None:
            form.add_error(None, "Choisissez un lieu.")
        if form.is_valid():
            try:
                appointment = rules.invited_book(invitation=invitation, appointment_type=appointment_type,
                                                 starts_at=form.cleaned_data["starts_at"], location=location)
            except SlotUnavailable as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                form.add_error(None, _errors(error))
            else:
                messages.success(request, "Votre rendez-vous est confirmé.")
                return redirect("public_appointment", uuid=appointment.uuid)
        return render(request, TEMPLATES + "invitation_book.html", context, status=400)
    return render(request, TEMPLATES + "invitation_book.html", context)


@agent_view
def agent_invitation_create(request):
    """Agents: generate the invitation link of a usager they see, for a type (open to invited usagers)
    or a service. GET ?usager=<id> shows the form; POST shows the link to copy."""
    scope = request.scope
    citizens = policy.citizens(scope)
    # The types he may book himself (policy.can_book), open to invited usagers.
    types = policy.appointment_types(scope).filter(
        Q(organisation_id__in=scope.wide_organisation_ids) | Q(service_id__in=scope.service_ids),
        bookable_by__in=rules.INVITED_BOOKABLE, archived_at__isnull=True, collective=False,
    ).select_related("service")
    services = policy.services(scope).filter(Q(appointment_types__in=types)).distinct()
    citizen = citizens.filter(pk=_int(request.GET.get("usager") or request.POST.get("citizen"))).first()
    form = InvitationForm(_posted(request), citizens=citizens, appointment_types=types, services=services)
    link = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        link = rules.invitation_link(citizen=data["citizen"], appointment_type=data["appointment_type"],
                                     service=data["service"])
        citizen = data["citizen"]
    return render(request, TEMPLATES + "agent_invitation.html", {
        "form": form, "citizen": citizen, "types": types, "services": services, "link": link,
        "max_age_days": rules.INVITATION_MAX_AGE.days,
    }, status=400 if form.is_bound and not form.is_valid() else 200)

