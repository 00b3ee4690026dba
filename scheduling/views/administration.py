"""Administration screens (``/agents/administration/``): an organisation's types, places, agents and
details for its admins; services and the administration's settings for the administrators of the
administration. Every page checks rights on the organisation of its URL through ``scheduling.policy``:
an organisation where the agent has no role answers 404, one where he is not admin 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from .. import policy
from ..forms.administration import (
    AgentInviteForm,
    AgentRoleForm,
    AgentServicesForm,
    AppointmentTypeForm,
    BrandingForm,
    IntervenantForm,
    LocationForm,
    OrganisationForm,
    ServiceForm,
)
from ..models import Agent, AgentRole, Location, Organisation, Service
from ..services import (
    agent_invite_to_organisation,
    agent_role_remove,
    agent_role_set,
    agent_services_set,
    appointment_type_remove,
    appointment_type_restore,
    intervenant_create,
    location_set_enabled,
)
from .common import agent_view

ADMINISTRATION_ONLY_MESSAGE = ("Cette page est réservée aux administrateurs de l'administration "
                               "(services, notifications, apparence).")


def _admin_organisation(request, organisation_id) -> Organisation:
    """The organisation of the URL: 404 when the agent has no role there, 403 when he is not its admin."""
    organisation = policy.get_visible_or_404(policy.organisations(request.scope), pk=organisation_id)
    if not policy.can_manage_organisation(request.scope, organisation.pk):
        raise PermissionDenied("Seuls les administrateurs de cette organisation peuvent gérer ses paramètres.")
    return organisation


def _require_administration_admin(request) -> None:
    if not policy.can_manage_administration(request.scope, request.user):
        raise PermissionDenied(ADMINISTRATION_ONLY_MESSAGE)


def _posted(request):
    """The POST data of a POST (even an empty one, so that it shows its errors), else None."""
    return request.POST if request.method == "POST" else None


def _url_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _error_messages(error: ValidationError) -> list[str]:
    return [message for messages_ in getattr(error, "message_dict", {"": error.messages}).values()
            for message in messages_]


# --- Index ------------------------------------------------------------------------------------------

@agent_view(admin=True)
def administration_index(request):
    """The sections of one organisation; a selector when the agent administers several."""
    organisations = list(policy.organisations(request.scope).filter(pk__in=request.scope.admin_organisation_ids))
    chosen = request.GET.get("organisation")
    if chosen:
        organisation = _admin_organisation(request, chosen)
    else:
        organisation = organisations[0]
    teams_url = _url_or_none("teams")
    return render(request, "scheduling/administration/index.html", {
        "organisation": organisation,
        "organisations": organisations,
        "can_manage_administration": policy.can_manage_administration(request.scope, request.user),
        "teams_url": teams_url,
        "api_token_url": _url_or_none("api_token"),
    })


# --- Types ------------------------------------------------------------------------------------------

@agent_view(admin=True)
def type_list(request, organisation_id):
    organisation = _admin_organisation(request, organisation_id)
    types = list(
        policy.appointment_types(request.scope).filter(organisation=organisation).select_related("service")
        .annotate(appointment_count=Count("appointments"))
    )
    return render(request, "scheduling/administration/type_list.html", {
        "organisation": organisation,
        "active_types": [kind for kind in types if kind.archived_at is None],
        "archived_types": [kind for kind in types if kind.archived_at is not None],
    })


def _type_form(request, organisation, instance=None):
    return AppointmentTypeForm(
        _posted(request), instance=instance, organisation=organisation,
        services=policy.services(request.scope),
    )


@agent_view(admin=True)
def type_create(request, organisation_id):
    organisation = _admin_organisation(request, organisation_id)
    form = _type_form(request, organisation)
    if request.method == "POST" and form.is_valid():
        kind = form.save()
        messages.success(request, f"Le motif « {kind.name} » est créé.")
        return redirect("administration_types", organisation.pk)
    return render(request, "scheduling/administration/type_form.html", {
        "organisation": organisation, "form": form, "appointment_type": None,
    })


@agent_view(admin=True)
def type_edit(request, organisation_id, pk):
    organisation = _admin_organisation(request, organisation_id)
    kind = policy.get_visible_or_404(
        policy.appointment_types(request.scope).filter(organisation=organisation), pk=pk
    )
    form = _type_form(request, organisation, instance=kind)
    if request.method == "POST" and form.is_valid():
        kind = form.save()
        messages.success(request, f"Le motif « {kind.name} » est enregistré.")
        return redirect("administration_types", organisation.pk)
    return render(request, "scheduling/administration/type_form.html", {
        "organisation": organisation, "form": form, "appointment_type": kind,
        "booked": kind.appointments.exists(),
    })


@require_POST
@agent_view(admin=True)
def type_remove(request, organisation_id, pk):
    organisation = _admin_organisation(request, organisation_id)
    kind = policy.get_visible_or_404(
        policy.appointment_types(request.scope).filter(organisation=organisation), pk=pk
    )
    name = kind.name
    outcome = appointment_type_remove(appointment_type=kind)
    if outcome == "archived":
        messages.success(request, f"Le motif « {name} » a des rendez-vous : il est archivé (plus proposé, "
                                  "son historique est conservé).")
    else:
        messages.success(request, f"Le motif « {name} » est supprimé.")
    return redirect("administration_types", organisation.pk)


@require_POST
@agent_view(admin=True)
def type_restore(request, organisation_id, pk):
    organisation = _admin_organisation(request, organisation_id)
    kind = policy.get_visible_or_404(
        policy.appointment_types(request.scope).filter(organisation=organisation, archived_at__isnull=False), pk=pk
    )
    appointment_type_restore(appointment_type=kind)
    messages.success(request, f"Le motif « {kind.name} » est de nouveau actif.")
    return redirect("administration_types", organisation.pk)


# --- Places -----------------------------------------------------------------------------------------

@agent_view(admin=True)
def location_list(request, organisation_id):
    organisation = _admin_organisation(request, organisation_id)
    locations = list(policy.locations(request.scope).filter(organisation=organisation).exclude(
        availability=Location.Availability.SINGLE_USE))
    return render(request, "scheduling/administration/location_list.html", {
        "organisation": organisation,
        "enabled": [place for place in locations if place.availability == Location.Availability.ENABLED],
        "disabled": [place for place in locations if place.availability == Location.Availability.DISABLED],
    })


def _location_page(request, organisation, location=None):
    form = LocationForm(_posted(request), instance=location, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        place = form.save()
        if form.geocode_warning:
            messages.warning(request, form.geocode_warning)
        messages.success(request, f"Le lieu « {place.name} » est enregistré.")
        return redirect("administration_locations", organisation.pk)
    return render(request, "scheduling/administration/location_form.html", {
        "organisation": organisation, "form": form, "location": location,
    })


@agent_view(admin=True)
def location_create(request, organisation_id):
    return _location_page(request, _admin_organisation(request, organisation_id))


def _organisation_location(request, organisation, pk) -> Location:
    return policy.get_visible_or_404(
        policy.locations(request.scope).filter(organisation=organisation)
        .exclude(availability=Location.Availability.SINGLE_USE), pk=pk,
    )


@agent_view(admin=True)
def location_edit(request, organisation_id, pk):
    organisation = _admin_organisation(request, organisation_id)
    return _location_page(request, organisation, _organisation_location(request, organisation, pk))


@require_POST
@agent_view(admin=True)
def location_toggle(request, organisation_id, pk):
    organisation = _admin_organisation(request, organisation_id)
    place = _organisation_location(request, organisation, pk)
    enable = place.availability == Location.Availability.DISABLED
    location_set_enabled(location=place, enabled=enable)
    messages.success(request, f"Le lieu « {place.name} » est {'réactivé' if enable else 'désactivé'}.")
    return redirect("administration_locations", organisation.pk)


# --- Services (administration-wide) -----------------------------------------------------------------

@agent_view(admin=True)
def service_list(request):
    services = policy.services(request.scope).annotate(
        agent_count=Count("agents", filter=Q(agents__deleted_at__isnull=True), distinct=True),
        type_count=Count("appointment_types", distinct=True),
    )
    return render(request, "scheduling/administration/service_list.html", {
        "services": services,
        "can_edit": policy.can_manage_administration(request.scope, request.user),
    })


def _service_page(request, service=None):
    _require_administration_admin(request)
    form = ServiceForm(_posted(request), instance=service)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Le service « {saved.name} » est enregistré.")
        return redirect("administration_services")
    return render(request, "scheduling/administration/service_form.html", {"form": form, "service": service})


@agent_view(admin=True)
def service_create(request):
    return _service_page(request)


@agent_view(admin=True)
def service_edit(request, pk):
    _require_administration_admin(request)
    return _service_page(request, policy.get_visible_or_404(policy.services(request.scope), pk=pk))


# --- Agents -----------------------------------------------------------------------------------------

@agent_view(admin=True)
def agent_list(request, organisation_id):
    organisation = _admin_organisation(request, organisation_id)
    roles = (
        AgentRole.objects.filter(organisation=organisation, agent__in=policy.agents(request.scope))
        .select_related("agent__user")
        .prefetch_related(Prefetch("agent__services", Service.objects.order_by("name")))
        .order_by("agent__last_name", "agent__first_name")
    )
    return render(request, "scheduling/administration/agent_list.html", {
        "organisation": organisation, "roles": roles, "role_choices": AgentRoleForm.base_fields["level"].choices,
    })


@agent_view(admin=True)
def agent_invite(request, organisation_id):
    organisation = _admin_organisation(request, organisation_id)
    form = AgentInviteForm(_posted(request), services=policy.services(request.scope))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                agent = agent_invite_to_organisation(
                    administration=request.tenant, organisation=organisation, email=data["email"],
                    first_name=data["first_name"], last_name=data["last_name"], level=data["level"],
                    services=data["services"], invited_by=request.user,
                )
        except ValidationError as error:
            for field, errors in getattr(error, "message_dict", {None: error.messages}).items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, f"Invitation envoyée à {data['email']} : {agent} rejoint {organisation.name}.")
            return redirect("administration_agents", organisation.pk)
    return render(request, "scheduling/administration/agent_invite.html", {"organisation": organisation, "form": form})


@agent_view(admin=True)
def intervenant_new(request, organisation_id):
    organisation = _admin_organisation(request, organisation_id)
    form = IntervenantForm(_posted(request), services=policy.services(request.scope))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        agent = intervenant_create(organisation=organisation, last_name=data["last_name"],
                                   first_name=data["first_name"], services=data["services"])
        messages.success(request, f"L'intervenant « {agent} » est créé.")
        return redirect("administration_agents", organisation.pk)
    return render(request, "scheduling/administration/intervenant_form.html", {
        "organisation": organisation, "form": form,
    })


def _organisation_agent(request, organisation, agent_id) -> Agent:
    return policy.get_visible_or_404(policy.agents(request.scope).filter(roles__organisation=organisation),
                                     pk=agent_id)


@agent_view(admin=True)
def agent_services(request, organisation_id, agent_id):
    organisation = _admin_organisation(request, organisation_id)
    agent = _organisation_agent(request, organisation, agent_id)
    form = AgentServicesForm(_posted(request), services=policy.services(request.scope),
                             initial={"services": list(agent.services.all())})
    if request.method == "POST" and form.is_valid():
        agent_services_set(agent=agent, services=form.cleaned_data["services"])
        messages.success(request, f"Les services de {agent} sont enregistrés.")
        return redirect("administration_agents", organisation.pk)
    return render(request, "scheduling/administration/agent_services.html", {
        "organisation": organisation, "form": form, "agent": agent, "heading": f"Services de {agent}",
    })


@require_POST
@agent_view(admin=True)
def agent_role_change(request, organisation_id, agent_id):
    organisation = _admin_organisation(request, organisation_id)
    agent = _organisation_agent(request, organisation, agent_id)
    form = AgentRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choisissez le rôle « Agent » ou « Administrateur ».")
    elif agent.is_intervenant:
        messages.error(request, "Un intervenant n'a pas de compte : son rôle ne change pas.")
    else:
        try:
            agent_role_set(agent=agent, organisation=organisation, level=form.cleaned_data["level"])
        except ValidationError as error:
            for message in _error_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, f"Le rôle de {agent} est enregistré.")
    return redirect("administration_agents", organisation.pk)


@require_POST
@agent_view(admin=True)
def agent_remove(request, organisation_id, agent_id):
    organisation = _admin_organisation(request, organisation_id)
    agent = _organisation_agent(request, organisation, agent_id)
    try:
        agent_role_remove(agent=agent, organisation=organisation)
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, f"{agent} ne fait plus partie de {organisation.name}.")
    return redirect("administration_agents", organisation.pk)


# --- The organisation and the administration --------------------------------------------------------

@agent_view(admin=True)
def organisation_edit(request, organisation_id):
    organisation = _admin_organisation(request, organisation_id)
    form = OrganisationForm(_posted(request), instance=organisation)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Les informations de l'organisation sont enregistrées.")
        return redirect(f"{reverse('administration_index')}?organisation={organisation.pk}")
    return render(request, "scheduling/administration/organisation_form.html", {
        "organisation": organisation, "form": form,
    })


@agent_view(admin=True)
def messaging_settings(request):
    from messaging.forms import MessagingSettingsForm
    from messaging.models import MessagingSettings

    _require_administration_admin(request)
    form = MessagingSettingsForm(_posted(request), instance=MessagingSettings.load())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Les paramètres des notifications sont enregistrés.")
        return redirect("administration_messaging")
    return render(request, "scheduling/administration/messaging_form.html", {"form": form})


@agent_view(admin=True)
def branding(request):
    from tenants.models import Administration
    from tenants.services import administration_branding_set

    _require_administration_admin(request)
    administration = Administration.objects.get(pk=request.tenant.pk)
    form = BrandingForm(_posted(request), request.FILES if request.method == "POST" else None,
                        initial={"brand_colour": administration.brand_colour})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            administration_branding_set(administration=administration, brand_colour=data["brand_colour"],
                                        logo=data.get("logo") or None, remove_logo=data.get("remove_logo", False))
        except ValidationError as error:
            for message in error.messages:
                form.add_error("brand_colour", message)
        else:
            messages.success(request, "L'apparence de l'administration est enregistrée.")
            return redirect("administration_branding")
    return render(request, "scheduling/administration/branding_form.html", {
        "form": form, "current": administration,
    })
