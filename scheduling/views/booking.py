"""Back office: "Trouver un créneau", the booking wizard and collective sessions (issue 5, screens 3-4).

Views stay thin: what the agent may see comes from ``scheduling.policy``, slots from the selectors, every
write from ``scheduling.services``. The wizard keeps its state in the session under a random id that is
part of its URLs (several bookings may be prepared in several tabs); every id it holds is checked again
against the policy at each step, and the summary carries a signed fingerprint of what it shows, so a
confirmation never books something other than what the agent read.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import policy
from ..forms import booking as booking_forms
from ..models import ACTIVE_STATUSES, Agent, AgentRole, Citizen, Location, Participation
from ..selectors import citizen_likely_duplicates, citizens_matching, next_availability_for, slots_for
from ..services import (
    Actor,
    BookingWarnings,
    SlotUnavailable,
    appointment_create,
    booking_warnings,
    citizen_create_by_agent,
    location_single_use_create,
    participant_add,
    participant_remove,
)
from .common import agent_view

WIZARDS_KEY = "booking_wizards"
MAX_WIZARDS = 5
SIGNING_SALT = "scheduling.booking.summary"
STEPS = (("booking_wizard", "Motif"), ("booking_wizard_citizens", "Usagers"),
         ("booking_wizard_details", "Horaire et lieu"), ("booking_wizard_warnings", "Avertissements"),
         ("booking_wizard_summary", "Récapitulatif"))
EXPIRED = "Cette prise de rendez-vous n'existe plus (terminée ou expirée) : recommencez."
CANNOT_BOOK = "Vous ne pouvez pas prendre de rendez-vous pour ce motif."


class StaleWizard(Exception):
    """What the wizard holds is no longer valid for this agent (a row gone, a right lost, a tampered id)."""

    def __init__(self, message: str, step: str = "booking_wizard_details"):
        super().__init__(message)
        self.message, self.step = message, step


def _id(value) -> int | None:
    """A positive database id typed in a form or a link, or None ("12" yes; "²", "-1", "1e3", "x" no)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value) or None


def _actor(request) -> Actor:
    return Actor.for_agent(request.scope.agent)


def _tz(kind) -> ZoneInfo:
    return ZoneInfo(kind.organisation.timezone)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- Trouver un créneau ----------------------------------------------------------------------------

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


@agent_view
def slot_search(request):
    """Next availability per location, then a week of slots (one button per agent and time) at one place."""
    form = booking_forms.SlotSearchForm(request.GET or None, scope=request.scope)
    context = {"form": form, "searched": form.is_bound}
    if not form.is_bound or not form.is_valid():
        return render(request, "scheduling/booking/slot_search.html", context)
    kind = form.cleaned_data["appointment_type"]
    tz, now = _tz(kind), timezone.now()
    start_day = form.cleaned_data.get("start") or now.astimezone(tz).date()
    after = max(datetime.combine(start_day, time.min, tzinfo=tz), now)
    agent_ids = form.agent_ids()
    chosen = {location.pk for location in form.cleaned_data.get("locations") or []}
    found = next_availability_for(appointment_type=kind, after=after, audience="agent", agent_ids=agent_ids,
                                  per_location=True, now=now)
    found = {key: slot for key, slot in found.items() if not chosen or key in chosen}
    places = Location.objects.in_bulk([key for key in found if key is not None])
    results = sorted(found.items(), key=lambda item: item[1].starts_at)
    context["results"] = [
        {"key": "aucun" if key is None else str(key), "location": places.get(key), "slot": slot,
         "url": _grid_url(request, key, _monday(slot.starts_at.astimezone(tz).date()))}
        for key, slot in results
    ]
    context.update(kind=kind, tz=tz)
    if not results:
        return render(request, "scheduling/booking/slot_search.html", context)
    wanted = request.GET.get("lieu", "")
    keys = {item["key"]: key for item, (key, _) in zip(context["results"], results, strict=True)}
    location_key = keys[wanted] if wanted in keys else results[0][0]
    week = _week_param(request.GET.get("semaine", ""), now.astimezone(tz).date())
    week = _monday(week or found[location_key].starts_at.astimezone(tz).date())
    week_start = datetime.combine(week, time.min, tzinfo=tz)
    week_end = datetime.combine(week + timedelta(days=7), time.min, tzinfo=tz)
    slots = slots_for(appointment_type=kind, start=week_start, end=week_end, audience="agent",
                      location_id=location_key, agent_ids=agent_ids, now=now)
    names = Agent.objects.in_bulk({agent_id for slot in slots for agent_id in slot.agent_ids})
    days = [{"date": week + timedelta(days=i), "label": WEEKDAYS[i], "slots": []} for i in range(7)]
    for slot in sorted(slots, key=lambda s: (s.starts_at, str(names.get(s.agent_ids[0], "")))):
        local = slot.starts_at.astimezone(tz)
        agent = names.get(slot.agent_ids[0])
        query = {"type": kind.pk, "agent": slot.agent_ids[0], "start": local.isoformat()}
        if location_key is not None:
            query["location"] = location_key
        days[local.weekday()]["slots"].append({
            "time": local, "agent": agent, "url": reverse("booking_wizard") + "?" + urlencode(query),
        })
    context.update(
        grid_location=places.get(location_key), grid_key="aucun" if location_key is None else str(location_key),
        days=[day for day in days if day["slots"] or day["date"].weekday() < 5], week=week,
        previous_week=_grid_url(request, location_key, week - timedelta(days=7)),
        next_week=_grid_url(request, location_key, week + timedelta(days=7)),
        slot_count=len(slots),
    )
    return render(request, "scheduling/booking/slot_search.html", context)


def _week_param(value: str, today: date) -> date | None:
    """The week asked for, within five years of today (else None: the week of the next availability)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    if day is None or abs((day - today).days) > 5 * 366:
        return None
    return day


def _grid_url(request, location_key, week: date) -> str:
    query = request.GET.copy()
    query["lieu"] = "aucun" if location_key is None else str(location_key)
    query["semaine"] = week.isoformat()
    return "?" + query.urlencode() + "#semaine"


# --- Booking wizard: state ---------------------------------------------------------------------------

def _wizards(request) -> dict:
    return request.session.setdefault(WIZARDS_KEY, {})


def _save(request, wid: str, state: dict) -> None:
    wizards = _wizards(request)
    wizards[wid] = state
    while len(wizards) > MAX_WIZARDS:
        wizards.pop(next(iter(wizards)))
    request.session.modified = True


def _new_wizard(request, kind, prefill: dict | None = None) -> str:
    wid = secrets.token_urlsafe(9)
    _save(request, wid, {"type": kind.pk, "citizens": [], "prefill": prefill or {}, "details": None,
                         "accepted": []})
    return wid


def _load(request, wid: str):
    """(state, type) of a wizard, or a redirect to a fresh start with a French message."""
    state = _wizards(request).get(wid) if isinstance(wid, str) else None
    if not isinstance(state, dict):
        messages.error(request, EXPIRED)
        return None, None, redirect("booking_wizard")
    kind = booking_forms.bookable_types(request.scope).filter(pk=state.get("type")).first()
    if kind is None:
        _wizards(request).pop(wid, None)
        request.session.modified = True
        messages.error(request, "Ce motif n'est plus disponible pour vous : recommencez la prise de rendez-vous.")
        return None, None, redirect("booking_wizard")
    return state, kind, None


def _citizens(request, state) -> list[Citizen]:
    ids = [pk for pk in state.get("citizens", []) if isinstance(pk, int)]
    found = policy.citizens(request.scope).select_related("responsible").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def _step_context(wid: str, current: str, kind, state) -> dict:
    steps, reached = [], [name for name, _ in STEPS].index(current) + 1
    for index, (name, label) in enumerate(STEPS, start=1):  # earlier steps are links back, later ones text
        steps.append({"number": index, "label": label, "current": name == current,
                      "url": reverse(name, args=[wid]) if 1 < index < reached else None})
    return {"wid": wid, "steps": steps, "kind": kind, "state": state, "tz": _tz(kind)}


def _details(request, kind, state) -> dict:
    """The stored details turned back into objects, each checked against the policy again."""
    raw = state.get("details")
    if not isinstance(raw, dict):
        raise StaleWizard("Choisissez d'abord l'horaire et le lieu.")
    try:
        agent_ids = [int(pk) for pk in raw["agents"]]
        starts_at = datetime.fromisoformat(raw["starts_at"])
        duration = timedelta(minutes=int(raw["duration"]))
        location_id = raw.get("location")
        single_use = raw.get("single_use")
    except (KeyError, TypeError, ValueError):
        raise StaleWizard("Les informations de la prise de rendez-vous sont illisibles : ressaisissez-les.") from None
    members = AgentRole.objects.filter(organisation_id=kind.organisation_id).values("agent_id")
    agents = list(policy.agents(request.scope).filter(pk__in=agent_ids).filter(pk__in=members).order_by("pk"))
    if not agents or len(agents) != len(set(agent_ids)) or starts_at.tzinfo is None:
        raise StaleWizard("Un des agents choisis n'est plus disponible pour ce motif : vérifiez le choix.")
    location = None
    if location_id is not None:
        location = policy.locations(request.scope).filter(
            pk=location_id, organisation_id=kind.organisation_id, availability=Location.Availability.ENABLED,
        ).first()
        if location is None:
            raise StaleWizard("Le lieu choisi n'est plus disponible : choisissez-en un autre.")
    return {"agents": agents, "starts_at": starts_at, "ends_at": starts_at + duration, "duration": duration,
            "location": location, "single_use": single_use if isinstance(single_use, dict) else None,
            "context": str(raw.get("context", "")), "title": str(raw.get("title", "")),
            "capacity": raw.get("capacity") if isinstance(raw.get("capacity"), int) else None,
            "unlimited": bool(kind.collective and raw.get("unlimited"))}


def _fingerprint(state: dict) -> str:
    payload = {key: state.get(key) for key in ("type", "citizens", "details", "accepted")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# --- Booking wizard: steps ---------------------------------------------------------------------------

@agent_view
def booking_wizard(request):
    """Step 1: the type. A link from "Trouver un créneau" (``?type=&agent=&location=&start=``) skips it."""
    scope = request.scope
    if request.method == "POST":
        form = booking_forms.TypeStepForm(request.POST, scope=scope)
        if form.is_valid():
            wid = _new_wizard(request, form.cleaned_data["appointment_type"])
            return redirect("booking_wizard_citizens", wid)
    elif "type" in request.GET:
        form = booking_forms.TypeStepForm({"appointment_type": request.GET.get("type")}, scope=scope)
        if form.is_valid():
            kind = form.cleaned_data["appointment_type"]
            wid = _new_wizard(request, kind, _prefill(request, kind))
            return redirect("booking_wizard_citizens", wid)
    else:
        form = booking_forms.TypeStepForm(scope=scope)
    return render(request, "scheduling/booking/wizard_type.html", {
        "form": form, "steps": [{"number": i, "label": label, "current": i == 1, "url": None}
                                for i, (_, label) in enumerate(STEPS, start=1)],
    })


def _prefill(request, kind) -> dict:
    """Agent, place and start proposed by a slot button, kept only when valid for this agent and type."""
    prefill, ignored = {}, False
    agent_id, location_id, start = (request.GET.get(name, "") for name in ("agent", "location", "start"))
    if agent_id:
        members = AgentRole.objects.filter(organisation_id=kind.organisation_id).values("agent_id")
        if _id(agent_id) and policy.agents(request.scope).filter(pk=_id(agent_id), pk__in=members).exists():
            prefill["agent"] = _id(agent_id)
        else:
            ignored = True
    if location_id:
        visible = policy.locations(request.scope).filter(organisation_id=kind.organisation_id)
        if _id(location_id) and visible.filter(pk=_id(location_id)).exists():
            prefill["location"] = _id(location_id)
        else:
            ignored = True
    if start:
        moment = None
        try:
            moment = parse_datetime(start)
        except ValueError:
            pass
        if moment is not None and moment.tzinfo is not None:
            prefill["start"] = moment.astimezone(_tz(kind)).isoformat()
        else:
            ignored = True
    if ignored:
        messages.warning(request, "Une partie du créneau proposé n'était pas valide et a été ignorée.")
    return prefill


@agent_view
def booking_wizard_citizens(request, wid: str):
    """Step 2: the usagers (search, create with the likely-duplicate hint, relatives)."""
    state, kind, bounce = _load(request, wid)
    if bounce:
        return bounce
    scope = request.scope
    visible = policy.citizens(scope)
    search = booking_forms.CitizenSearchForm(request.GET or None)
    create = booking_forms.CitizenCreateForm(prefix="nouveau", responsibles=visible)
    duplicates, error = [], ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in ("add", "remove"):
            raw = request.POST.get("citizen", "")
            citizen = visible.filter(pk=_id(raw)).first() if _id(raw) else None
            if citizen is None:
                error = "Cet usager n'existe pas ou ne vous est pas accessible."
            else:
                ids = [pk for pk in state["citizens"] if pk != citizen.pk]
                if action == "add":
                    ids.append(citizen.pk)
                state["citizens"] = ids
                _save(request, wid, state)
                return redirect(reverse("booking_wizard_citizens", args=[wid]) + _keep_query(request))
        elif action == "create":
            create = booking_forms.CitizenCreateForm(request.POST, prefix="nouveau", responsibles=visible)
            if create.is_valid():
                data = create.cleaned_data
                duplicates = list(visible.filter(pk__in=[c.pk for c in citizen_likely_duplicates(
                    first_name=data["first_name"], last_name=data["last_name"], birth_date=data["birth_date"],
                    email=data["email"], phone=data["phone"])]))
                if duplicates and not data["confirm_duplicate"]:
                    error = ("Des fiches semblables existent : choisissez l'une d'elles, ou cochez la confirmation "
                             "pour créer une nouvelle fiche.")
                else:
                    try:
                        citizen = citizen_create_by_agent(
                            organisation=kind.organisation, first_name=data["first_name"],
                            last_name=data["last_name"], birth_date=data["birth_date"], email=data["email"],
                            phone=data["phone"], responsible=data["responsible"],
                        )
                    except ValidationError as exc:
                        error = " ".join(exc.messages)
                    else:
                        state["citizens"] = [*state["citizens"], citizen.pk]
                        _save(request, wid, state)
                        messages.success(request, f"Fiche de {citizen} créée et ajoutée au rendez-vous.")
                        return redirect("booking_wizard_citizens", wid)
        elif action == "next":
            if not kind.collective and not _citizens(request, state):
                error = "Choisissez au moins un usager."
            else:
                return redirect("booking_wizard_details", wid)
        else:
            error = "Action inconnue."
    elif _id(request.GET.get("proche_de", "")):
        create = booking_forms.CitizenCreateForm(prefix="nouveau", responsibles=visible,
                                                 initial={"responsible": request.GET["proche_de"]})
    selected = _citizens(request, state)
    results = []
    if search.is_bound and search.is_valid() and search.cleaned_data["q"]:
        results = list(citizens_matching(visible, search.cleaned_data["q"]))
    relatives = list(visible.filter(responsible__in=selected).exclude(pk__in=[c.pk for c in selected])) \
        if selected else []
    context = _step_context(wid, "booking_wizard_citizens", kind, state)
    context.update(search=search, create=create, selected=selected, results=results, relatives=relatives,
                   duplicates=duplicates, error=error, selected_ids={c.pk for c in selected})
    return render(request, "scheduling/booking/wizard_citizens.html", context, status=400 if error else 200)


def _keep_query(request) -> str:
    q = request.POST.get("q", "")
    return "?" + urlencode({"q": q}) if q else ""


@agent_view
def booking_wizard_details(request, wid: str):
    """Step 3: agents, date, time, duration, place (or a single-use place); title and seats of a session."""
    state, kind, bounce = _load(request, wid)
    if bounce:
        return bounce
    tz = _tz(kind)
    if request.method == "POST":
        form = booking_forms.DetailsStepForm(request.POST, scope=request.scope, appointment_type=kind)
        if form.is_valid():
            data = form.cleaned_data
            state["details"] = {
                "agents": sorted(agent.pk for agent in data["agents"]), "starts_at": data["starts_at"].isoformat(),
                "duration": data["duration_minutes"], "location": data["location"].pk if data["location"] else None,
                "single_use": {"name": data["single_use_name"], "address": data["single_use_address"]}
                if data["single_use_name"] else None,
                "context": data["context"], "title": data.get("title", ""),
                "capacity": None if data.get("unlimited") else data.get("capacity"),
                "unlimited": bool(kind.collective and data.get("unlimited")),
            }
            state["accepted"] = []
            _save(request, wid, state)
            details = _details(request, kind, state)
            warnings = booking_warnings(appointment_type=kind, agents=details["agents"],
                                        starts_at=details["starts_at"], duration=details["duration"],
                                        citizens=_citizens(request, state))
            return redirect("booking_wizard_warnings" if warnings else "booking_wizard_summary", wid)
    else:
        form = booking_forms.DetailsStepForm(initial=_details_initial(state, kind, tz), scope=request.scope,
                                             appointment_type=kind)
    context = _step_context(wid, "booking_wizard_details", kind, state)
    context.update(form=form)
    return render(request, "scheduling/booking/wizard_details.html", context, status=400 if form.errors else 200)


def _details_initial(state, kind, tz) -> dict:
    raw = state.get("details")
    if isinstance(raw, dict):
        try:
            starts_at = datetime.fromisoformat(raw["starts_at"]).astimezone(tz)
        except (KeyError, TypeError, ValueError):
            starts_at = None
        single = raw.get("single_use") or {}
        initial = {"agents": raw.get("agents", []), "duration_minutes": raw.get("duration"),
                   "location": raw.get("location"), "context": raw.get("context", ""),
                   "single_use_name": single.get("name", ""), "single_use_address": single.get("address", ""),
                   "title": raw.get("title", ""), "capacity": raw.get("capacity"),
                   "unlimited": bool(kind.collective and raw.get("unlimited"))}
        if starts_at:
            initial.update(date=starts_at.date(), time=starts_at.time().replace(second=0, microsecond=0))
        return initial
    prefill = state.get("prefill") or {}
    initial = {"duration_minutes": kind.duration_minutes, "capacity": kind.default_capacity,
               "title": kind.name if kind.collective else ""}
    if prefill.get("agent"):
        initial["agents"] = [prefill["agent"]]
    if prefill.get("location"):
        initial["location"] = prefill["location"]
    if prefill.get("start"):
        starts_at = datetime.fromisoformat(prefill["start"]).astimezone(tz)
        initial.update(date=starts_at.date(), time=starts_at.time().replace(second=0, microsecond=0))
    return initial


def _current_warnings(request, kind, state, details) -> list[str]:
    return booking_warnings(appointment_type=kind, agents=details["agents"], starts_at=details["starts_at"],
                            duration=details["duration"], citizens=_citizens(request, state))


@agent_view
def booking_wizard_warnings(request, wid: str):
    """Step 4: warnings the agent may accept (overlap, absence, same usager and type that day, past start)."""
    state, kind, bounce = _load(request, wid)
    if bounce:
        return bounce
    try:
        details = _details(request, kind, state)
    except StaleWizard as stale:
        messages.error(request, stale.message)
        return redirect(stale.step, wid)
    warnings = _current_warnings(request, kind, state, details)
    if not warnings:
        return redirect("booking_wizard_summary", wid)
    error = ""
    if request.method == "POST":
        if request.POST.get("accept") == "oui":
            state["accepted"] = warnings
            _save(request, wid, state)
            return redirect("booking_wizard_summary", wid)
        error = "Cochez la case pour confirmer que vous avez lu ces avertissements, ou modifiez le rendez-vous."
    context = _step_context(wid, "booking_wizard_warnings", kind, state)
    context.update(warnings=warnings, error=error)
    return render(request, "scheduling/booking/wizard_warnings.html", context, status=400 if error else 200)


@agent_view
def booking_wizard_summary(request, wid: str):
    """Step 5: what will be booked and the messages it will send (per-usager switches); confirm."""
    from messaging.selectors import booking_messages_preview

    state, kind, bounce = _load(request, wid)
    if bounce:
        return bounce
    try:
        details = _details(request, kind, state)
    except StaleWizard as stale:
        messages.error(request, stale.message)
        return redirect(stale.step, wid)
    citizens = _citizens(request, state)
    if not kind.collective and not citizens:
        messages.error(request, "Choisissez au moins un usager.")
        return redirect("booking_wizard_citizens", wid)
    warnings = _current_warnings(request, kind, state, details)
    if any(warning not in state.get("accepted", []) for warning in warnings):
        if state.get("accepted") or request.method == "POST":
            messages.warning(request, "La situation a changé : de nouveaux avertissements sont à lire. "
                                      "Rien n'a été enregistré.")
        return redirect("booking_wizard_warnings", wid)
    agents = list(Agent.objects.filter(pk__in=[a.pk for a in details["agents"]]).select_related("user"))
    preview = booking_messages_preview(appointment_type=kind, starts_at=details["starts_at"], citizens=citizens,
                                       agents=agents, author=request.scope.agent)
    defaults = {row["citizen"].pk: row["default"] for row in preview["citizens"]}
    form_class = booking_forms.notify_form(citizens, defaults)
    version = signing.dumps(_fingerprint(state), salt=SIGNING_SALT)
    error = ""
    if request.method == "POST":
        form = form_class(request.POST)
        if not form.is_valid():
            error = "Le formulaire n'est pas valide."
        elif not _version_matches(form.cleaned_data.get("version", ""), state):
            error = ("Le récapitulatif a changé ou le formulaire a été altéré : relisez-le puis confirmez à "
                     "nouveau. Rien n'a été enregistré.")
        else:
            notify = {citizen.pk: bool(form.cleaned_data.get(f"notify_{citizen.pk}")) for citizen in citizens}
            outcome = _book(request, wid, kind, state, details, citizens, notify, accepted=bool(warnings))
            if outcome is not None:
                return outcome
            error = getattr(request, "_booking_error", "")
        form = form_class(initial={"version": version, **{f"notify_{pk}": value for pk, value in defaults.items()}})
    else:
        form = form_class(initial={"version": version})
    context = _step_context(wid, "booking_wizard_summary", kind, state)
    context.update(details=details, citizens=citizens, preview=preview, form=form, warnings=warnings, error=error,
                   rows=[(row, form[f"notify_{row['citizen'].pk}"]) for row in preview["citizens"]])
    return render(request, "scheduling/booking/wizard_summary.html", context, status=400 if error else 200)


def _version_matches(version: str, state: dict) -> bool:
    try:
        return signing.loads(version, salt=SIGNING_SALT, max_age=3600) == _fingerprint(state)
    except signing.BadSignature:
        return False


def _book(request, wid, kind, state, details, citizens, notify, *, accepted: bool):
    """Book through the service; None (and ``request._booking_error``) when nothing was booked."""
    try:
        with transaction.atomic():
            location = details["location"]
            if details["single_use"]:
                location = location_single_use_create(organisation=kind.organisation, **details["single_use"])
            appointment = appointment_create(
                appointment_type=kind, starts_at=details["starts_at"], agents=details["agents"], citizens=citizens,
                actor=_actor(request), location=location, duration=details["duration"], context=details["context"],
                accept_warnings=accepted, capacity=details["capacity"], title=details["title"], notify=notify,
                unlimited=details["unlimited"],
            )
    except SlotUnavailable as error:
        request._booking_error = error.message + " Rien n'a été enregistré."
        return None
    except BookingWarnings:
        messages.warning(request, "La situation a changé : de nouveaux avertissements sont à lire.")
        return redirect("booking_wizard_warnings", wid)
    except ValidationError as error:
        request._booking_error = " ".join(error.messages) + " Rien n'a été enregistré."
        return None
    _wizards(request).pop(wid, None)
    request.session.modified = True
    messages.success(request, "Le rendez-vous est enregistré.")
    if kind.collective:
        return redirect("collective_session", appointment.pk)
    return redirect("agent_appointment", appointment.pk)


# --- Collective sessions -----------------------------------------------------------------------------

def _sessions(scope):
    return (
        policy.appointments(scope).filter(appointment_type__collective=True)
        .select_related("appointment_type", "location", "organisation")
        .annotate(taken=Count("participations", filter=~Q(participations__status__in=("excused", "revoked"))))
    )


@agent_view
def collective_sessions(request):
    """Upcoming sessions the agent may see, with their seats ("Complet" when full)."""
    since = timezone.now() - timedelta(hours=12)
    sessions = list(_sessions(request.scope).filter(starts_at__gte=since, status__in=ACTIVE_STATUSES)
                    .order_by("starts_at")[:200])
    return render(request, "scheduling/booking/sessions.html", {"sessions": sessions})


@agent_view
def collective_session(request, pk: int):
    """One session: its participants, register (search) and withdraw usagers."""
    session = policy.get_visible_or_404(_sessions(request.scope), pk=pk)
    may_book = policy.can_book(request.scope, session.appointment_type)
    visible = policy.citizens(request.scope)
    error = ""
    if request.method == "POST":
        if not may_book:
            raise PermissionDenied(CANNOT_BOOK)
        action = request.POST.get("action", "")
        try:
            if action == "add":
                form = booking_forms.ParticipantAddForm(request.POST, scope=request.scope)
                if not form.is_valid():
                    raise ValidationError(form.errors["citizen"][0])
                participant_add(appointment=session, citizen=form.cleaned_data["citizen"], actor=_actor(request))
                messages.success(request, f"{form.cleaned_data['citizen']} est inscrit(e).")
            elif action == "remove":
                raw = request.POST.get("participation", "")
                participation = session.participations.filter(pk=raw).exclude(
                    status__in=("excused", "revoked")).select_related("citizen").first() if _id(raw) else None
                if participation is None:
                    raise ValidationError("Cette inscription n'existe pas ou est déjà annulée.")
                participant_remove(participation=participation, actor=_actor(request))
                messages.success(request, f"L'inscription de {participation.citizen} est annulée.")
            else:
                raise ValidationError("Action inconnue.")
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return redirect("collective_session", pk)
    participants = list(Participation.objects.filter(appointment=session).select_related("citizen").order_by(
        "citizen__last_name", "citizen__first_name", "pk"))
    search = booking_forms.CitizenSearchForm(request.GET or None)
    results = []
    if search.is_bound and search.is_valid() and search.cleaned_data["q"]:
        registered = {p.citizen_id for p in participants if p.status not in ("excused", "revoked")}
        results = [c for c in citizens_matching(visible, search.cleaned_data["q"]) if c.pk not in registered]
    session = _sessions(request.scope).get(pk=pk)
    return render(request, "scheduling/booking/session_detail.html", {
        "session": session, "participants": participants, "search": search, "results": results, "error": error,
        "may_book": may_book, "full": session.capacity is not None and session.taken >= session.capacity,
        "tz": ZoneInfo(session.organisation.timezone),
    }, status=400 if error else 200)


@agent_view
def collective_session_duplicate(request, pk: int):
    """The same session (type, agents, place, length, seats, title) on another date, without participants."""
    session = policy.get_visible_or_404(_sessions(request.scope), pk=pk)
    if not policy.can_book(request.scope, session.appointment_type):
        raise PermissionDenied(CANNOT_BOOK)
    tz = ZoneInfo(session.organisation.timezone)
    warnings, error = [], ""
    if request.method == "POST":
        form = booking_forms.DuplicateSessionForm(request.POST)
        if form.is_valid():
            starts_at = datetime.combine(form.cleaned_data["date"], form.cleaned_data["time"], tzinfo=tz)
            agents = list(session.agents.filter(deleted_at__isnull=True))
            try:
                copy = appointment_create(
                    appointment_type=session.appointment_type, starts_at=starts_at, agents=agents, citizens=[],
                    actor=_actor(request), location=session.location, duration=session.ends_at - session.starts_at,
                    accept_warnings=request.POST.get("accept") == "oui", capacity=session.capacity,
                    title=session.title, context=session.context, unlimited=session.capacity is None,
                )
            except BookingWarnings as exc:
                warnings = exc.warnings
            except SlotUnavailable as exc:
                error = exc.message + " Rien n'a été enregistré."
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                messages.success(request, "L'atelier est dupliqué.")
                return redirect("collective_session", copy.pk)
    else:
        local = session.starts_at.astimezone(tz)
        form = booking_forms.DuplicateSessionForm(initial={"date": local.date() + timedelta(days=7),
                                                           "time": local.time().replace(second=0, microsecond=0)})
    status = 400 if (form.errors or error or warnings) else 200
    return render(request, "scheduling/booking/session_duplicate.html", {
        "session": session, "form": form, "warnings": warnings, "error": error, "tz": tz,
    }, status=status)

