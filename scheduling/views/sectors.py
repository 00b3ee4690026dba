"""Sectorisation screens (``/agents/secteurs/``): sectors, their zones (communes or streets) and attributions
to organisations or agents, CSV import and export of zones, and "tester la sectorisation".

Sectors are shared by the whole administration: admins of an organisation read them and test an address;
only administrators of the administration (``policy.can_manage_administration``) change them (else 403)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .. import addresses, policy
from ..forms.sectors import AddressTestForm, AttributionForm, SectorForm, ZoneForm, ZoneImportForm
from ..models import Sector, SectorAttribution, Zone
from ..sectorisation import address_preview, zones_export_csv, zones_import_csv
from .common import agent_view

MANAGE_MESSAGE = "Seuls les administrateurs de l'administration peuvent modifier les secteurs."


def _can_edit(request) -> bool:
    return policy.can_manage_administration(request.scope, request.user)


def _require_edit(request) -> None:
    if not _can_edit(request):
        raise PermissionDenied(MANAGE_MESSAGE)


def _sector(pk) -> Sector:
    return policy.get_visible_or_404(Sector.objects.all(), pk=pk)


@agent_view(admin=True)
def sector_list(request):
    sectors = Sector.objects.annotate(zone_count=Count("zones", distinct=True),
                                      attribution_count=Count("attributions", distinct=True)).order_by("name")
    return render(request, "scheduling/sectors/list.html", {"sectors": sectors, "can_edit": _can_edit(request)})


@agent_view(admin=True)
def sector_create(request):
    _require_edit(request)
    form = SectorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        sector = form.save()
        messages.success(request, f"Secteur « {sector.name} » créé.")
        return redirect("sector_detail", pk=sector.pk)
    return render(request, "scheduling/sectors/form.html", {"form": form, "heading": "Nouveau secteur"})


@agent_view(admin=True)
def sector_detail(request, pk):
    sector = _sector(pk)
    can_edit = _can_edit(request)
    which = request.POST.get("form") if request.method == "POST" else None
    if which is not None:
        _require_edit(request)
    sector_form = SectorForm(request.POST if which == "sector" else None, instance=sector, prefix="sector")
    zone_form = ZoneForm(request.POST if which == "zone" else None, sector=sector, prefix="zone")
    attribution_form = AttributionForm(request.POST if which == "attribution" else None, sector=sector,
                                       prefix="attribution")
    if which == "sector" and sector_form.is_valid():
        sector_form.save()
        messages.success(request, "Secteur enregistré.")
        return redirect("sector_detail", pk=sector.pk)
    if which == "zone" and zone_form.is_valid():
        try:
            with transaction.atomic():
                zone_form.save()
        except IntegrityError:
            zone_form.add_error(None, "Cette zone existe déjà dans ce secteur.")
        else:
            messages.success(request, "Zone ajoutée.")
            return redirect("sector_detail", pk=sector.pk)
    if which == "attribution" and attribution_form.is_valid():
        try:
            with transaction.atomic():
                data = attribution_form.cleaned_data
                SectorAttribution.objects.create(sector=sector, organisation=data["organisation"], agent=data["agent"])
        except IntegrityError:
            attribution_form.add_error(None, "Ce secteur est déjà attribué ainsi.")
        else:
            messages.success(request, "Attribution ajoutée.")
            return redirect("sector_detail", pk=sector.pk)
    return render(request, "scheduling/sectors/detail.html", {
        "sector": sector, "can_edit": can_edit, "zones": sector.zones.order_by("city_name", "street_name"),
        "attributions": sector.attributions.select_related("organisation", "agent").order_by("organisation__name"),
        "sector_form": sector_form, "zone_form": zone_form, "attribution_form": attribution_form,
    }, status=400 if which and request.method == "POST" else 200)


@require_POST
@agent_view(admin=True)
def sector_delete(request, pk):
    _require_edit(request)
    sector = _sector(pk)
    sector.delete()
    messages.success(request, f"Secteur « {sector.name} » supprimé, avec ses zones et attributions.")
    return redirect("sectors")


@require_POST
@agent_view(admin=True)
def zone_delete(request, pk, zone_id):
    _require_edit(request)
    sector = _sector(pk)
    zone = policy.get_visible_or_404(Zone.objects.filter(sector=sector), pk=zone_id)
    zone.delete()
    messages.success(request, f"Zone « {zone} » retirée.")
    return redirect("sector_detail", pk=sector.pk)


@require_POST
@agent_view(admin=True)
def attribution_delete(request, pk, attribution_id):
    _require_edit(request)
    sector = _sector(pk)
    attribution = policy.get_visible_or_404(SectorAttribution.objects.filter(sector=sector), pk=attribution_id)
    attribution.delete()
    messages.success(request, "Attribution retirée.")
    return redirect("sector_detail", pk=sector.pk)


@agent_view(admin=True)
def zones_export(request):
    response = HttpResponse(zones_export_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="zones.csv"'
    return response


@agent_view(admin=True)
def zones_import(request):
    _require_edit(request)
    form = ZoneImportForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            result = zones_import_csv(content=form.cleaned_data["file"])
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"{result['created']} zone(s) importée(s), "
                                      f"{result['existing']} déjà présente(s).")
            return redirect("sectors")
    return render(request, "scheduling/sectors/import.html", {"form": form, "errors": errors},
                  status=400 if request.method == "POST" else 200)


@agent_view(admin=True)
def sector_test(request):
    """What an address would see: BAN geocoding (or INSEE code and street id typed directly)."""
    form = AddressTestForm(request.GET if "q" in request.GET else None)
    found, error, preview = None, "", None
    if form.is_bound and form.is_valid():
        try:
            found = addresses.geocode(form.cleaned_data["q"])
        except addresses.AddressServiceUnavailable as unavailable:
            error = unavailable.message
        else:
            if found is None:
                form.add_error("q", "Aucune adresse ne correspond.")
    if found is not None:
        match, sectors, rows = address_preview(city_code=found.city_code, street_id=found.street_id)
        preview = {"address": found, "sectors": sectors, "rows": rows}
    return render(request, "scheduling/sectors/test.html", {"form": form, "error": error, "preview": preview})
