"""Usager records in the back office: list and search, record page, create and edit, relatives and the
responsible, référents, merge of two records, removal from an organisation.

Every read goes through ``scheduling.policy``: a usager the agent may not see (no common organisation,
another administration, soft-deleted) answers 404; his appointments are those the agent may see."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import policy, selectors, services
from ..forms.citizens import (
    CitizenCreateForm,
    CitizenForm,
    CitizenSearchForm,
    MergeForm,
    ReferentForm,
    RelativeForm,
    RemoveFromOrganisationForm,
    ResponsibleForm,
)
from ..models import AppointmentAgent, Participation
from .common import agent_view

PAGE_SIZE = 30
MERGE_LABELS = {
    "first_name": "Prénom", "last_name": "Nom", "birth_name": "Nom de naissance", "birth_date": "Date de naissance",
    "email": "E-mail", "phone": "Téléphone", "address": "Adresse", "city_code": "Code INSEE",
}
PICKER_SIZE = 10


def _visible(request, pk):
    return policy.get_visible_or_404(policy.citizens(request.scope), pk=pk)


def _actor(request):
    return services.Actor.for_agent(request.scope.agent)


def _search(request, queryset, size):
    """(search form, page) for the ``q`` and ``page`` of the query string."""
    form = CitizenSearchForm(request.GET or None)
    term = form.cleaned_data["q"] if form.is_valid() else ""
    rows = selectors.citizen_search(queryset, term).order_by("last_name", "first_name", "pk")
    page = Paginator(rows, size).get_page(request.GET.get("page"))
    return form, term, page


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        for message in error.messages:
            form.add_error(None, message)


@agent_view
def citizen_list(request):
    form, term, page = _search(request, policy.citizens(request.scope), PAGE_SIZE)
    return render(request, "scheduling/citizens/list.html", {"form": form, "term": term, "page": page})


@agent_view
def citizen_create(request):
    scope = request.scope
    form = CitizenCreateForm(request.POST or None, scope=scope)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        candidates = selectors.citizen_likely_duplicates(
            first_name=data["first_name"], last_name=data["last_name"], birth_date=data["birth_date"],
            email=data["email"], phone=data["phone"],
        )
        duplicates = list(policy.citizens(scope).filter(pk__in=[c.pk for c in candidates]).order_by("last_name"))
        if duplicates and not data["confirm_not_duplicate"]:
            form.add_error("confirm_not_duplicate", "Des fiches semblent correspondre à cette personne : "
                           "ouvrez-les, ou cochez cette case si c'est bien une autre personne.")
        else:
            try:
                citizen = services.citizen_create(organisation=data["organisation"], data=form.data_for_service())
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"La fiche de {citizen} est créée.")
                return redirect("citizen_detail", pk=citizen.pk)
    return render(request, "scheduling/citizens/form.html", {
        "form": form, "duplicates": duplicates, "title": "Nouvel usager",
    })


@agent_view
def citizen_detail(request, pk: int):
    scope = request.scope
    citizen = _visible(request, pk)
    visible_citizens = policy.citizens(scope)
    appointments = list(
        policy.appointments(scope).filter(participations__citizen=citizen)
        .select_related("appointment_type", "location", "organisation")
        .prefetch_related(Prefetch("agent_links", AppointmentAgent.objects.select_related("agent")))
        .prefetch_related(Prefetch("participations", Participation.objects.filter(citizen=citizen),
                                   to_attr="own_participations"))
        .order_by("-starts_at")
    )
    now = timezone.now()
    upcoming = sorted((a for a in appointments if a.ends_at > now), key=lambda a: a.starts_at)
    past = [a for a in appointments if a.ends_at <= now]
    responsible = visible_citizens.filter(pk=citizen.responsible_id).first() if citizen.responsible_id else None
    return render(request, "scheduling/citizens/detail.html", {
        "citizen": citizen,
        "responsible": responsible,
        "relatives": list(visible_citizens.filter(responsible=citizen).order_by("last_name", "first_name")),
        "referents": list(citizen.referents.filter(deleted_at__isnull=True).order_by("last_name", "first_name")),
        "organisations": list(citizen.organisations.filter(pk__in=scope.organisation_ids).order_by("name")),
        "upcoming": upcoming,
        "past": past,
        "referent_form": ReferentForm(scope=scope, citizen=citizen),
        "remove_form": RemoveFromOrganisationForm(scope=scope, citizen=citizen),
        "tz": timezone.get_current_timezone_name(),
    })


@agent_view
def citizen_edit(request, pk: int):
    citizen = _visible(request, pk)
    form = CitizenForm(request.POST or None, instance=citizen)
    if request.method == "POST" and form.is_valid():
        try:
            services.citizen_update(citizen=citizen, data=form.data_for_service())
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Fiche enregistrée.")
            return redirect("citizen_detail", pk=citizen.pk)
    return render(request, "scheduling/citizens/form.html", {
        "form": form, "citizen": citizen, "title": f"Modifier la fiche de {citizen}",
    })


@agent_view
def citizen_relative_add(request, pk: int):
    scope = request.scope
    citizen = _visible(request, pk)
    form = RelativeForm(request.POST or None, initial={"last_name": citizen.last_name})
    if request.method == "POST" and form.is_valid():
        organisation = citizen.organisations.filter(pk__in=scope.organisation_ids).order_by("pk").first()
        try:
            relative = services.citizen_create(organisation=organisation, data=form.data_for_service(),
                                               responsible=citizen)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"{relative} est ajouté(e) aux proches de {citizen}.")
            return redirect("citizen_detail", pk=citizen.pk)
    return render(request, "scheduling/citizens/relative_form.html", {"form": form, "citizen": citizen})


@agent_view
def citizen_responsible(request, pk: int):
    """Choose the usager responsible for this one (search, then a button per result), or remove him."""
    scope = request.scope
    citizen = _visible(request, pk)
    form = ResponsibleForm(request.POST or None, scope=scope, citizen=citizen)
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            services.citizen_set_responsible(citizen=citizen, responsible=None)
            messages.success(request, f"{citizen} n'a plus de responsable.")
            return redirect("citizen_detail", pk=citizen.pk)
        if form.is_valid():
            try:
                services.citizen_set_responsible(citizen=citizen, responsible=form.cleaned_data["responsible"])
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"{form.cleaned_data['responsible']} est désormais responsable de {citizen}.")
                return redirect("citizen_detail", pk=citizen.pk)
    search_form, term, page = _search(request, policy.citizens(scope).exclude(pk=citizen.pk), PICKER_SIZE)
    responsible = policy.citizens(scope).filter(pk=citizen.responsible_id).first() if citizen.responsible_id else None
    return render(request, "scheduling/citizens/responsible.html", {
        "citizen": citizen, "responsible": responsible, "form": form, "search_form": search_form, "term": term,
        "page": page,
    }, status=400 if form.errors else 200)


@agent_view
@require_POST
def citizen_referents(request, pk: int):
    """Add (``action=add`` and ``agent``) or remove (``action=remove`` and ``agent``) a référent."""
    scope = request.scope
    citizen = _visible(request, pk)
    if request.POST.get("action") == "remove":
        agent = policy.get_visible_or_404(citizen.referents.all(), pk=request.POST.get("agent"))
        services.citizen_referent_remove(citizen=citizen, agent=agent)
        messages.success(request, f"{agent} n'est plus référent(e) de {citizen}.")
        return redirect("citizen_detail", pk=citizen.pk)
    form = ReferentForm(request.POST, scope=scope, citizen=citizen)
    if form.is_valid():
        try:
            services.citizen_referent_add(citizen=citizen, agent=form.cleaned_data["agent"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['agent']} est désormais référent(e) de {citizen}.")
            return redirect("citizen_detail", pk=citizen.pk)
    return render(request, "scheduling/citizens/referent_error.html", {"form": form, "citizen": citizen},
                  status=400)


@agent_view
def citizen_merge(request, pk: int):
    """Merge another record into this one: search the other record, compare, confirm."""
    scope = request.scope
    kept = _visible(request, pk)
    form = None
    merged = None
    if request.method == "POST":
        form = MergeForm(request.POST, scope=scope, kept=kept)
        if form.is_valid():
            merged = form.cleaned_data["merged"]
            try:
                services.citizen_merge(actor=_actor(request), kept=kept, merged=merged)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"La fiche n° {merged.pk} est fusionnée dans celle-ci.")
                return redirect("citizen_detail", pk=kept.pk)
        merged = form.cleaned_data.get("merged") if hasattr(form, "cleaned_data") else None
    elif request.GET.get("avec"):
        merged = policy.get_visible_or_404(policy.citizens(scope).exclude(pk=kept.pk), pk=request.GET["avec"])
        form = MergeForm(initial={"merged": merged.pk}, scope=scope, kept=kept)
    search_form, term, page = _search(request, policy.citizens(scope).exclude(pk=kept.pk), PICKER_SIZE)
    rows = []
    if merged is not None:
        for name in ("first_name", "last_name", *services.CITIZEN_MERGE_FILLED_FIELDS):
            mine, theirs = getattr(kept, name), getattr(merged, name)
            rows.append({
                "label": MERGE_LABELS[name], "kept": mine, "merged": theirs,
                "filled": mine in ("", None) and theirs not in ("", None)
                and name in services.CITIZEN_MERGE_FILLED_FIELDS,
            })
    status = 400 if form is not None and form.errors else 200
    return render(request, "scheduling/citizens/merge.html", {
        "kept": kept, "merged": merged, "form": form, "rows": rows, "search_form": search_form, "term": term,
        "page": page,
    }, status=status)


@agent_view
@require_POST
def citizen_remove(request, pk: int):
    scope = request.scope
    citizen = _visible(request, pk)
    form = RemoveFromOrganisationForm(request.POST, scope=scope, citizen=citizen)
    if form.is_valid():
        organisation = form.cleaned_data["organisation"]
        try:
            deleted = services.citizen_remove_from_organisation(
                actor=_actor(request), citizen=citizen, organisation=organisation,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"{citizen} n'est plus rattaché(e) à {organisation.name}.")
            if deleted or not policy.citizens(scope).filter(pk=citizen.pk).exists():
                return redirect(reverse("citizens"))
            return redirect("citizen_detail", pk=citizen.pk)
    return render(request, "scheduling/citizens/remove_error.html", {"form": form, "citizen": citizen}, status=400)
