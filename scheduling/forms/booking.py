"""Forms of the back office's slot search and booking wizard (issue 5, screens 3-4).

Every choice is limited to what the agent's scope shows (``scheduling.policy``): an id typed or tampered
outside it is "not a valid choice", never a lookup of someone else's row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Q

from .. import policy
from ..models import AgentRole, AppointmentType, Citizen, Location, Team
from ..phones import to_e164

INVALID_CHOICE = "Ce choix n'est pas valide : il n'existe pas ou ne vous est pas accessible."
INVALID_MULTIPLE = "Un des choix n'est pas valide : il n'existe pas ou ne vous est pas accessible."
INVALID_DATE = "Saisissez une date valide (jj/mm/aaaa)."
INVALID_TIME = "Saisissez une heure valide (hh:mm)."


def bookable_types(scope: policy.Scope):
    """The types this agent may book (``policy.can_book`` as one SQL filter), archived ones left out."""
    return (
        AppointmentType.objects.filter(archived_at__isnull=True)
        .filter(Q(organisation_id__in=scope.wide_organisation_ids)
                | Q(organisation_id__in=scope.organisation_ids, service_id__in=scope.service_ids))
        .select_related("organisation", "service")
        .order_by("organisation__name", "name")
    )


class TypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        suffix = " (atelier collectif)" if obj.collective else ""
        return f"{obj.name}{suffix} — {obj.organisation.name}"


def _choice(field_class, **kwargs):
    messages = {"invalid_choice": INVALID_CHOICE, "required": "Ce champ est obligatoire.",
                "invalid_pk_value": INVALID_MULTIPLE, "invalid_list": INVALID_MULTIPLE}
    return field_class(error_messages=messages, **kwargs)


def _date_field(label, **kwargs):
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                           input_formats=["%Y-%m-%d", "%d/%m/%Y"], error_messages={"invalid": INVALID_DATE}, **kwargs)


# --- Trouver un créneau ----------------------------------------------------------------------------

class SlotSearchForm(forms.Form):
    appointment_type = _choice(TypeChoiceField, label="Motif", queryset=AppointmentType.objects.none())
    locations = _choice(forms.ModelMultipleChoiceField, label="Lieux", required=False,
                        queryset=Location.objects.none(), widget=forms.CheckboxSelectMultiple,
                        help_text="Aucun lieu coché : tous les lieux.")
    agents = _choice(forms.ModelMultipleChoiceField, label="Agents", required=False,
                     queryset=policy.Agent.objects.none(), widget=forms.CheckboxSelectMultiple)
    teams = _choice(forms.ModelMultipleChoiceField, label="Équipes", required=False,
                    queryset=Team.objects.none(), widget=forms.CheckboxSelectMultiple,
                    help_text="Ni agent ni équipe cochés : tous les agents.")
    start = _date_field("À partir du", required=False)

    def __init__(self, *args, scope: policy.Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.fields["appointment_type"].queryset = bookable_types(scope)
        self.fields["locations"].queryset = policy.locations(scope).filter(
            availability=Location.Availability.ENABLED).order_by("name")
        self.fields["agents"].queryset = policy.agents(scope).order_by("last_name", "first_name")
        self.fields["teams"].queryset = Team.objects.filter(organisation_id__in=scope.organisation_ids)

    def agent_ids(self) -> list[int] | None:
        """Agents chosen directly or through their teams (None: everyone)."""
        agents = self.cleaned_data.get("agents") or []
        teams = self.cleaned_data.get("teams") or []
        if not agents and not teams:
            return None
        ids = {agent.pk for agent in agents}
        visible = policy.agents(self.scope)
        ids |= set(visible.filter(teams__in=teams).values_list("pk", flat=True))
        return sorted(ids)


# --- Booking wizard ----------------------------------------------------------------------------------

class TypeStepForm(forms.Form):
    appointment_type = _choice(TypeChoiceField, label="Motif", queryset=AppointmentType.objects.none(),
                               widget=forms.RadioSelect)

    def __init__(self, *args, scope: policy.Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = bookable_types(scope)


class CitizenSearchForm(forms.Form):
    q = forms.CharField(label="Rechercher un usager", max_length=150, required=False,
                        help_text="Nom, prénom, e-mail ou téléphone ; les accents et majuscules sont ignorés.")


class CitizenCreateForm(forms.Form):
    first_name = forms.CharField(label="Prénom", max_length=150)
    last_name = forms.CharField(label="Nom", max_length=150)
    birth_date = _date_field("Date de naissance", required=False)
    email = forms.EmailField(label="E-mail", required=False,
                             error_messages={"invalid": "Saisissez une adresse e-mail valide."})
    phone = forms.CharField(label="Téléphone", max_length=30, required=False,
                            help_text="Par exemple 06 12 34 56 78.")
    responsible = _choice(forms.ModelChoiceField, label="Proche de", required=False,
                          queryset=Citizen.objects.none(), empty_label="— (usager indépendant)",
                          help_text="Pour un enfant ou une personne accompagnée : l'usager responsable.")
    confirm_duplicate = forms.BooleanField(
        label="Je confirme qu'il s'agit d'une autre personne que les fiches semblables ci-dessus", required=False)

    def __init__(self, *args, responsibles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = responsibles

    def clean_first_name(self):
        return self._required("first_name")

    def clean_last_name(self):
        return self._required("last_name")

    def _required(self, name):
        value = self.cleaned_data[name].strip()
        if not value:
            raise forms.ValidationError("Ce champ est obligatoire.")
        return value

    def clean_birth_date(self):
        value = self.cleaned_data.get("birth_date")
        if value and (value > datetime.now().date() or value.year < 1880):
            raise forms.ValidationError("Cette date de naissance n'est pas plausible.")
        return value

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        if not value:
            return ""
        e164 = to_e164(value)
        if e164 is None:
            raise forms.ValidationError("Ce numéro de téléphone n'est pas valide.")
        return e164


class DetailsStepForm(forms.Form):
    """Agents, date, time, duration and place of the appointment (title and seats for a session)."""

    agents = _choice(forms.ModelMultipleChoiceField, label="Agents", queryset=policy.Agent.objects.none(),
                     widget=forms.CheckboxSelectMultiple)
    date = _date_field("Date")
    time = forms.TimeField(label="Heure de début", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                           input_formats=["%H:%M"], error_messages={"invalid": INVALID_TIME})
    duration_minutes = forms.IntegerField(
        label="Durée (minutes)", min_value=5, max_value=24 * 60,
        error_messages={"invalid": "Saisissez un nombre entier de minutes.",
                        "min_value": "La durée est d'au moins 5 minutes.",
                        "max_value": "La durée est d'au plus 24 heures (1440 minutes)."})
    location = _choice(forms.ModelChoiceField, label="Lieu", required=False, queryset=Location.objects.none(),
                       empty_label="— (aucun, ou lieu ponctuel ci-dessous)")
    single_use_name = forms.CharField(label="Lieu ponctuel : nom", max_length=200, required=False,
                                      help_text="Pour un lieu utilisé une seule fois (domicile, partenaire).")
    single_use_address = forms.CharField(label="Lieu ponctuel : adresse", max_length=300, required=False)
    context = forms.CharField(label="Contexte (visible des agents uniquement)", required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, scope: policy.Scope, appointment_type: AppointmentType, **kwargs):
        super().__init__(*args, **kwargs)
        self.appointment_type = appointment_type
        members = AgentRole.objects.filter(organisation_id=appointment_type.organisation_id).values("agent_id")
        self.fields["agents"].queryset = policy.agents(scope).filter(pk__in=members).order_by("last_name",
                                                                                              "first_name")
        self.fields["location"].queryset = policy.locations(scope).filter(
            organisation_id=appointment_type.organisation_id, availability=Location.Availability.ENABLED,
        ).order_by("name")
        if appointment_type.collective:
            self.fields["title"] = forms.CharField(label="Intitulé de l'atelier", max_length=200, required=False)
            self.fields["capacity"] = forms.IntegerField(
                label="Nombre de places", required=False, min_value=1, max_value=10000,
                error_messages={"invalid": "Saisissez un nombre entier de places.",
                                "min_value": "Il faut au moins une place.",
                                "max_value": "Au plus 10 000 places."})
            self.fields["unlimited"] = forms.BooleanField(label="Places illimitées", required=False)

    def clean(self):
        data = super().clean()
        kind = self.appointment_type
        location, name, address = data.get("location"), data.get("single_use_name", ""), data.get(
            "single_use_address", "")
        if (name or address) and location is not None:
            self.add_error("single_use_name", "Choisissez un lieu existant ou un lieu ponctuel, pas les deux.")
        elif (name or address) and not (name and address):
            self.add_error("single_use_address" if name else "single_use_name",
                           "Un lieu ponctuel a un nom et une adresse.")
        elif kind.mode == AppointmentType.Mode.IN_PERSON and location is None and not name and \
                "location" not in self.errors:
            self.add_error("location", "Un rendez-vous sur place a besoin d'un lieu (existant ou ponctuel).")
        if kind.collective and not data.get("unlimited") and not data.get("capacity") and "capacity" not in self.errors:
            self.add_error("capacity", "Indiquez le nombre de places, ou cochez « Places illimitées ».")
        if data.get("date") and data.get("time"):
            tz = ZoneInfo(kind.organisation.timezone)
            data["starts_at"] = datetime.combine(data["date"], data["time"], tzinfo=tz)
            if abs(data["starts_at"] - datetime.now(tz)) > timedelta(days=5 * 366):
                self.add_error("date", "Cette date est trop éloignée (plus de cinq ans).")
        return data


def notify_form(citizens, defaults: dict[int, bool]) -> type[forms.Form]:
    """The summary's per-usager switches: one checkbox per usager, "notify" by default when the type does."""
    fields = {
        f"notify_{citizen.pk}": forms.BooleanField(label=f"Envoyer les messages à {citizen}", required=False,
                                                   initial=defaults.get(citizen.pk, True))
        for citizen in citizens
    }
    fields["version"] = forms.CharField(widget=forms.HiddenInput, required=False)
    return type("NotifyForm", (forms.Form,), fields)


# --- Collective sessions ---------------------------------------------------------------------------

class DuplicateSessionForm(forms.Form):
    date = _date_field("Nouvelle date")
    time = forms.TimeField(label="Heure de début", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                           input_formats=["%H:%M"], error_messages={"invalid": INVALID_TIME})


class ParticipantAddForm(forms.Form):
    citizen = _choice(forms.ModelChoiceField, label="Usager", queryset=Citizen.objects.none())

    def __init__(self, *args, scope: policy.Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["citizen"].queryset = policy.citizens(scope)
