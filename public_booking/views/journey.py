"""The booking journey: address → motif → place → slot → who and details → confirmation.

Every step reads the journey's state from its link (``JourneyStateForm``: a tampered or truncated value is
dropped and the step asks again); the contact confirmed by a one-time code lives in the session. Nothing is
written before the last step, which books through ``scheduling.services`` (``public_booking.services``)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods

from messaging import rendering
from scheduling import addresses, slot_cache
from scheduling.models import Appointment, AppointmentType, Location, Organisation, Service
from scheduling.sectorisation import sector_match
from scheduling.selectors import booking_window
from scheduling.services import SlotUnavailable

from .. import ratelimit
from .. import selectors as journey_selectors
from .. import services as journey_services
from ..forms import AddressForm, CodeForm, ContactForm, DetailsForm, JourneyStateForm
from .contact import (
    VERIFIED_SESSION_KEY,
    contact_step,
    pending_contact,
    verified_contact,
)

STATE_KEYS = ("adresse", "insee", "rue", "lat", "lon", "organisation", "service", "motif", "lieu", "semaine",
              "creneau")
SLOT_BUTTON = ('<li><button type="submit" class="fr-btn fr-btn--secondary fr-btn--sm" name="creneau" value="{}" '
               'aria-label="{} à {}">{}</button></li>')
BOOKED_SESSION_KEY = "journey_booked"
# Hook for invitations: ids of the types (bookable by invited usagers) that this session was invited to book.
INVITED_SESSION_KEY = "journey_invited_type_ids"


# --- State carried by the links ------------------------------------------------------------------

def _state(request, data=None) -> dict:
    state, tampered = JourneyStateForm.read(data if data is not None else request.GET)
    if tampered:
        messages.warning(request, "Une partie du lien n'était pas valide : elle a été ignorée.")
    return state


def _serialise(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _query(state: dict, **overrides) -> str:
    values = {**state, **overrides}
    pairs = [(key, _serialise(values.get(key))) for key in STATE_KEYS]
    return urlencode([(key, value) for key, value in pairs if value])


def _link(name: str, state: dict, **overrides) -> str:
    query = _query(state, **overrides)
    return reverse(name) + (f"?{query}" if query else "")


def _match(state: dict):
    return sector_match(city_code=state.get("insee") or "", street_id=state.get("rue") or "")


def invited_type_ids(request) -> list[int]:
    """Types an invitation opened to this session (set by the invitation pages under ``INVITED_SESSION_KEY``)."""
    ids = request.session.get(INVITED_SESSION_KEY) or []
    return [value for value in ids if isinstance(value, int)]


def _types(state: dict, match, *, filtered=True, request=None, type_id=None):
    return journey_selectors.bookable_types(
        match=match, invited_type_ids=invited_type_ids(request) if request is not None else (),
        organisation_id=state.get("organisation") if filtered else None,
        service_id=state.get("service") if filtered else None, type_id=type_id,
    )


def _chosen_type(request, state: dict, match):
    """The chosen type if this address may book it, else None (with a message when it was asked for)."""
    motif = state.get("motif")
    if motif is None:
        return None
    for kind in _types(state, match, filtered=False, request=request, type_id=motif):
        return kind
    messages.warning(request, "Ce motif n'est pas proposé en ligne pour votre adresse. Choisissez un autre motif.")
    return None


def _chosen_location(state: dict, kind: AppointmentType):
    """(ok, location or None): the place must belong to the type's organisation."""
    lieu = state.get("lieu")
    if lieu == "aucun":
        return True, None
    if not lieu:
        return False, None
    location = journey_selectors.public_location(location_id=int(lieu), organisation_id=kind.organisation_id)
    if location is None or location.availability == Location.Availability.DISABLED:
        return False, None
    return True, location


def _address_context(state: dict) -> dict:
    return {"address_label": state.get("adresse") if state.get("insee") else ""}


# --- 1. Start and address ------------------------------------------------------------------------

def _start_context(request, state: dict, *, embed: bool) -> tuple[dict, object]:
    form = AddressForm(request.GET if "q" in request.GET else None)
    results, ban_error = [], ""
    if form.is_bound and form.is_valid():
        if not ratelimit.hit(request, "address_search"):
            return {}, ratelimit.too_many_requests(request, "address_search")
        try:
            results = addresses.search(form.cleaned_data["q"])
        except addresses.AddressServiceUnavailable as error:
            ban_error = error.message
        if not results and not ban_error:
            form.add_error("q", "Aucune adresse ne correspond. Vérifiez l'orthographe ou précisez la commune.")
    prefilter = {key: state.get(key) for key in ("organisation", "service", "motif")}
    choices = [
        {"label": found.label, "url": _link("journey_types", prefilter, adresse=found.label, insee=found.city_code,
                                           rue=found.street_id, lat=round(found.latitude, 6),
                                           lon=round(found.longitude, 6))}
        for found in results
    ]
    prefilter_names = []
    if state.get("organisation"):
        organisation = Organisation.objects.filter(pk=state["organisation"]).first()
        if organisation:
            prefilter_names.append(organisation.name)
    if state.get("service"):
        service = Service.objects.filter(pk=state["service"]).first()
        if service:
            prefilter_names.append(service.name)
    return {
        "form": form, "choices": choices, "ban_error": ban_error, "embed": embed,
        "hidden": {key: _serialise(value) for key, value in prefilter.items() if value},
        "without_address_url": _link("journey_types", prefilter), "prefilter_names": prefilter_names,
    }, None


def journey_start(request):
    """Step 1–2: where do you live (or continue without an address)."""
    context, response = _start_context(request, _state(request), embed=False)
    return response or render(request, "public_booking/journey/start.html", context)


@xframe_options_exempt
def journey_embed(request):
    """The embeddable start (other sites may frame it): the journey itself opens in a new tab."""
    context, response = _start_context(request, _state(request), embed=True)
    response = response or render(request, "public_booking/journey/embed.html", context)
    response["Content-Security-Policy"] = "frame-ancestors *"
    return response


def journey_direct(request, kind: str, pk: int):
    """Direct links that agents share: /prendre-rdv/organisation/<id>/, /service/<id>/, /motif/<id>/."""
    model = {"organisation": Organisation, "service": Service, "motif": AppointmentType}.get(kind)
    if model is None:
        raise Http404
    get_object_or_404(model, pk=pk)
    return redirect(_link("journey_start", {kind: pk}))


# --- 3. What for ---------------------------------------------------------------------------------

def journey_types(request):
    state = _state(request)
    match = _match(state)
    types = _types(state, match, request=request)
    if state.get("motif") is not None:
        kind = _chosen_type(request, state, match)
        if kind is not None:
            return redirect(_link("journey_places", state, lieu=None, semaine=None, creneau=None))
    motifs = journey_selectors.distinct_motifs(types)
    services = []
    for kind in motifs:
        if not services or services[-1]["service"].pk != kind.service_id:
            services.append({"service": kind.service, "motifs": []})
        services[-1]["motifs"].append({
            "type": kind, "url": _link("journey_places", state, motif=kind.pk, lieu=None, semaine=None, creneau=None),
        })
    hidden_sectorised = not match.address_known and AppointmentType.objects.filter(
        bookable_by=AppointmentType.BookableBy.EVERYONE, archived_at__isnull=True,
    ).exclude(sectorisation_level=AppointmentType.SectorisationLevel.ADMINISTRATION).exists()
    return render(request, "public_booking/journey/types.html", {
        "services": services, "hidden_sectorised": hidden_sectorised, **_address_context(state),
        "change_address_url": _link("journey_start", {k: state.get(k) for k in ("organisation", "service")}),
    })


# --- 4. Where ------------------------------------------------------------------------------------

def journey_places(request):
    state = _state(request)
    match = _match(state)
    kind = _chosen_type(request, state, match)
    if kind is None:
        return redirect(_link("journey_types", state, motif=None))
    same = journey_selectors.same_motif(kind, _types(state, match, request=request))
    options = journey_selectors.place_options(types=same or [kind], match=match, latitude=state.get("lat"),
                                               longitude=state.get("lon"))
    rows = []
    for option in options:
        tz = journey_selectors.ZoneInfo(option.organisation.timezone)
        next_local = option.next_slot.starts_at.astimezone(tz)
        rows.append({
            "option": option, "next_local": next_local,
            "url": _link("journey_slots", state, motif=option.appointment_type.pk,
                         lieu=option.location.pk if option.location else "aucun",
                         semaine=journey_selectors.monday_of(next_local.date()), creneau=None),
        })
    return render(request, "public_booking/journey/places.html", {
        "kind": kind, "rows": rows, **_address_context(state),
        "back_url": _link("journey_types", state, motif=None, lieu=None, semaine=None, creneau=None),
    })


# --- 5. When -------------------------------------------------------------------------------------

@slot_cache.one_version
def journey_slots(request):
    state = _state(request)
    match = _match(state)
    kind = _chosen_type(request, state, match)
    if kind is None:
        return redirect(_link("journey_types", state, motif=None))
    ok, location = _chosen_location(state, kind)
    if not ok:
        messages.warning(request, "Choisissez un lieu.")
        return redirect(_link("journey_places", state, lieu=None, semaine=None, creneau=None))
    week = journey_selectors.week_of_slots(appointment_type=kind, location_id=location.pk if location else None,
                                           agent_ids=match.agent_ids_for(kind), monday=state.get("semaine"))
    days = []
    for day, slots in week.days:
        # The buttons are built here, not by a template loop: a busy week has a hundred of them and the
        # loop cost more than the slot search itself (bench/public_booking.py).
        label = date_format(day, "l j F")
        escaped = conditional_escape(label)  # once per day; ISO datetimes and "HH:MM" hold no markup
        buttons = mark_safe("".join(  # noqa: S308 (only the escaped label and digits/punctuation go in)
            SLOT_BUTTON.format(iso, escaped, hour, hour) for iso, hour in
            ((slot.starts_at.isoformat(), slot.starts_at.astimezone(week.tz).strftime("%H:%M")) for slot in slots)
        ))
        days.append({"day": day, "label": label, "count": len(slots), "buttons": buttons})
    next_available = None
    if week.next_available is not None:
        local = week.next_available.starts_at.astimezone(week.tz)
        next_available = {"local": local, "url": _link("journey_slots", state,
                                                       semaine=journey_selectors.monday_of(local.date()))}
    base = {k: state.get(k) for k in STATE_KEYS if k not in ("semaine", "creneau")}
    return render(request, "public_booking/journey/slots.html", {
        "kind": kind, "location": location, "organisation": kind.organisation, "week": week, "days": days,
        "sunday": week.monday + timedelta(days=6), "next_available": next_available,
        "previous_url": _link("journey_slots", state, semaine=week.previous_week) if week.previous_week else "",
        "next_url": _link("journey_slots", state, semaine=week.next_week) if week.next_week else "",
        "hidden": {key: _serialise(value) for key, value in base.items() if value is not None and value != ""},
        "back_url": _link("journey_places", state, lieu=None, semaine=None, creneau=None),
        **_address_context(state),
    })


# --- 6–7. Who and details ------------------------------------------------------------------------

def _signed_in_citizen(request):
    user = request.user
    if not user.is_authenticated:
        return None
    citizen = getattr(user, "citizen", None)
    if citizen is None or citizen.deleted_at is not None:
        return None
    return citizen


def _slot_taken(request, *, state, kind, location, match, starts_at, reason: str):
    tz = journey_selectors.ZoneInfo(kind.organisation.timezone)
    window_start, window_end = booking_window(kind, timezone.now())
    starts_at = min(max(starts_at, window_start), window_end)  # the nearest slots are searched in the window
    nearest = journey_selectors.nearest_slots(appointment_type=kind, location_id=location.pk if location else None,
                                              agent_ids=match.agent_ids_for(kind), around=starts_at)
    others = [{"local": slot.starts_at.astimezone(tz),
               "url": _link("journey_contact", state, creneau=slot.starts_at)} for slot in nearest]
    return render(request, "public_booking/journey/taken.html", {
        "kind": kind, "reason": reason, "others": others,
        "week_url": _link("journey_slots", state, creneau=None,
                          semaine=journey_selectors.monday_of(starts_at.astimezone(tz).date())),
    }, status=409)


@require_http_methods(["GET", "POST"])
def journey_contact(request):
    state = _state(request, request.GET)
    match = _match(state)
    kind = _chosen_type(request, state, match)
    if kind is None:
        return redirect(_link("journey_types", state, motif=None))
    ok, location = _chosen_location(state, kind)
    if not ok:
        return redirect(_link("journey_places", state, lieu=None, semaine=None, creneau=None))
    starts_at = state.get("creneau")
    if starts_at is None:
        messages.warning(request, "Choisissez un horaire.")
        return redirect(_link("journey_slots", state))
    agent_ids = match.agent_ids_for(kind)
    window_start, window_end = booking_window(kind, timezone.now())
    if not window_start <= starts_at <= window_end:
        return _slot_taken(request, state=state, kind=kind, location=location, match=match, starts_at=starts_at,
                           reason="Cet horaire n'est pas ouvert à la réservation en ligne (trop proche ou trop "
                                  "lointain).")
    here = _link("journey_contact", state)
    citizen = _signed_in_citizen(request)
    verified = None if citizen else verified_contact(request)
    pending = None if citizen or verified else pending_contact(request)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    contact_form = code_form = details_form = None

    response, contact_form, code_form = (None, None, None) if citizen else contact_step(
        request, action=action, here=here, pending=pending, verified=verified)
    if response is not None:
        return response
    if action == "book" and (citizen or verified):
        if not ratelimit.hit(request, "booking"):
            return ratelimit.too_many_requests(request, "booking")
        relatives = citizen.relatives.filter(deleted_at__isnull=True) if citizen else ()
        details_form = DetailsForm(request.POST, appointment_type=kind, relatives=relatives,
                                   signed_in=citizen is not None)
        if details_form.is_valid():
            data = details_form.cleaned_data
            contact = None
            if citizen is None:
                contact = {"first_name": data["first_name"], "last_name": data["last_name"],
                           "email": verified["destination"] if verified["channel"] == "email" else "",
                           "phone": verified["destination"] if verified["channel"] == "sms" else ""}
            try:
                appointment = journey_services.journey_book(
                    appointment_type=kind, starts_at=starts_at, location=location, agent_ids=agent_ids,
                    booker=citizen, contact=contact, relative=data.get("relative"),
                    new_relative=(data["relative_first_name"], data["relative_last_name"])
                    if data.get("for_whom") == "relative" else None,
                    phone=data.get("phone", ""), address=data.get("address", ""),
                )
            except SlotUnavailable:
                return _slot_taken(request, state=state, kind=kind, location=location, match=match,
                                   starts_at=starts_at, reason="Ce créneau n'est plus disponible : quelqu'un vient "
                                                               "de le réserver. Rien n'a été enregistré.")
            except ValidationError as error:
                details_form.add_error(None, " ".join(error.messages))
            else:
                booked = request.session.get(BOOKED_SESSION_KEY, [])[-19:]
                request.session[BOOKED_SESSION_KEY] = [*booked, str(appointment.uuid)]
                request.session.pop(VERIFIED_SESSION_KEY, None)
                return redirect("journey_done", uuid=appointment.uuid)

    if request.method == "GET" and not journey_selectors.slot_is_free(
        appointment_type=kind, location_id=location.pk if location else None, agent_ids=agent_ids,
        starts_at=starts_at,
    ):
        return _slot_taken(request, state=state, kind=kind, location=location, match=match, starts_at=starts_at,
                           reason="Ce créneau n'est plus disponible. Choisissez un autre horaire.")

    if citizen or verified:
        if details_form is None:
            initial = {}
            if verified and verified["channel"] == "sms":
                initial["phone"] = verified["destination"]
            elif citizen and citizen.phone:
                initial["phone"] = citizen.phone
            if citizen and citizen.address:
                initial["address"] = citizen.address
            details_form = DetailsForm(
                initial=initial, appointment_type=kind, signed_in=citizen is not None,
                relatives=citizen.relatives.filter(deleted_at__isnull=True) if citizen else (),
            )
    elif pending:
        code_form = code_form or CodeForm()
    else:
        contact_form = contact_form or ContactForm()

    tz = journey_selectors.ZoneInfo(kind.organisation.timezone)
    return render(request, "public_booking/journey/contact.html", {
        "kind": kind, "location": location, "organisation": kind.organisation,
        "starts_local": starts_at.astimezone(tz), "citizen": citizen, "verified": verified, "pending": pending,
        "contact_form": contact_form, "code_form": code_form, "details_form": details_form,
        "login_url": reverse("account_login") + "?" + urlencode({"next": here}),
        "signup_url": reverse("journey_signup") + "?" + urlencode({"next": here}),
        "back_url": _link("journey_slots", state, creneau=None), **_address_context(state),
    })


# --- 8. Confirmation -----------------------------------------------------------------------------

def _booked(request, uuid) -> Appointment:
    if str(uuid) not in request.session.get(BOOKED_SESSION_KEY, []):
        raise Http404
    return get_object_or_404(
        Appointment.objects.select_related("appointment_type", "location", "organisation"), uuid=uuid
    )


def public_manage_link(appointment: Appointment) -> tuple[str, bool]:
    """(address of the page to manage the appointment, whether it is a page of this site to link to)."""
    for kwargs in ({"uuid": appointment.uuid}, {"appointment_uuid": appointment.uuid}):
        try:
            return reverse("public_appointment", kwargs=kwargs), True
        except NoReverseMatch:
            continue
    return rendering.manage_url(appointment), False


def journey_done(request, uuid):
    appointment = _booked(request, uuid)
    tz = journey_selectors.ZoneInfo(appointment.organisation.timezone)
    manage, linked = public_manage_link(appointment)
    return render(request, "public_booking/journey/done.html", {
        "appointment": appointment, "kind": appointment.appointment_type,
        "starts_local": appointment.starts_at.astimezone(tz), "ends_local": appointment.ends_at.astimezone(tz),
        "place": rendering.place_label(appointment), "manage_url": manage, "manage_linked": linked,
    })


def journey_ics(request, uuid):
    appointment = _booked(request, uuid)
    from email.utils import parseaddr

    from django.conf import settings

    data = rendering.calendar_data(appointment=appointment, audience="citizen", cancelled=False,
                                   attendee_emails=[], organizer_email=parseaddr(settings.DEFAULT_FROM_EMAIL)[1])
    response = HttpResponse(rendering.calendar_bytes(data), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rendez-vous.ics"'
    return response


# --- Account -------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def journey_signup(request):
    """Create an usager account (a user with an usager record, never an agent), then back to the journey."""
    from django.contrib.auth import login
    from django.utils.http import url_has_allowed_host_and_scheme

    from ..forms import SignupForm

    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("journey_start")
    if _signed_in_citizen(request):
        return redirect(next_url)
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.hit(request, "signup"):
            return ratelimit.too_many_requests(request, "signup")
        if form.is_valid():
            data = form.cleaned_data
            citizen = journey_services.citizen_account_create(
                email=data["email"], password=data["password1"], first_name=data["first_name"],
                last_name=data["last_name"],
            )
            login(request, citizen.account, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Votre compte est créé : vous êtes connecté(e).")
            return redirect(next_url)
    return render(request, "public_booking/journey/signup.html", {"form": form, "next": next_url})
