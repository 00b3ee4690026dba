"""Forms of the agenda area: the agenda's options, the appointment list's filters and the actions of the
appointment page. Choices always come from the policy's querysets, so a foreign id is a field error."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms

from .. import policy
from .. import status as status_rules
from ..models import Status
from ..recurrence import to_utc

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
INVALID_DATE = "Saisissez une date valide (jj/mm/aaaa)."
FIRST_YEAR, LAST_YEAR = 1950, 2150


def _reasonable_year(value):
    """Dates far in the past or future make no sense here (and would overflow date arithmetic)."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise forms.ValidationError(f"Choisissez une date entre {FIRST_YEAR} et {LAST_YEAR}.")


class DateField(forms.DateField):
    default_validators = [_reasonable_year]


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class AgentsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


# --- Agenda ------------------------------------------------------------------------------------------

class AgendaForm(forms.Form):
    """The agenda's query string: whose agenda, day or week, which date, weekends, cancelled appointments."""

    agent = AgentChoiceField(
        label="Agenda de", queryset=None, required=False, empty_label=None,
        error_messages={"invalid_choice": "Vous ne pouvez pas consulter l'agenda de cet agent."},
    )
    view = forms.ChoiceField(label="Affichage", choices=(("week", "Semaine"), ("day", "Jour")), required=False,
                             error_messages={"invalid_choice": "Affichage inconnu : choisissez jour ou semaine."})
    date = DateField(label="Date", required=False, widget=DATE_INPUT, input_formats=DATE_FORMATS,
                           error_messages={"invalid": INVALID_DATE})
    weekends = forms.BooleanField(label="Samedis et dimanches", required=False)
    cancelled = forms.BooleanField(label="Rendez-vous annulés", required=False)

    def __init__(self, *args, scope: policy.Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = policy.agenda_agents(scope).order_by("last_name", "first_name", "pk")


# --- Appointment list ---------------------------------------------------------------------------------

TO_FILL = "to_fill"
STATUS_FILTERS = (("", "Tous les statuts"), (TO_FILL, "À renseigner (passés)"), *Status.choices)


class AppointmentFilterForm(forms.Form):
    date_from = DateField(label="Du", required=False, widget=DATE_INPUT, input_formats=DATE_FORMATS,
                                error_messages={"invalid": INVALID_DATE})
    date_to = DateField(label="Au", required=False, widget=DATE_INPUT, input_formats=DATE_FORMATS,
                              error_messages={"invalid": INVALID_DATE})
    status = forms.ChoiceField(label="Statut", choices=STATUS_FILTERS, required=False,
                               error_messages={"invalid_choice": "Statut inconnu."})
    agent = AgentChoiceField(label="Agent", queryset=None, required=False, empty_label="Tous les agents",
                             error_messages={"invalid_choice": "Cet agent n'existe pas ou ne vous est pas visible."})
    appointment_type = forms.ModelChoiceField(
        label="Motif", queryset=None, required=False, empty_label="Tous les motifs",
        error_messages={"invalid_choice": "Ce motif n'existe pas ou ne vous est pas visible."},
    )
    location = forms.ModelChoiceField(
        label="Lieu", queryset=None, required=False, empty_label="Tous les lieux",
        error_messages={"invalid_choice": "Ce lieu n'existe pas ou ne vous est pas visible."},
    )
    organisation = forms.ModelChoiceField(
        label="Organisation", queryset=None, required=False, empty_label="Toutes les organisations",
        error_messages={"invalid_choice": "Cette organisation n'existe pas ou ne vous est pas visible."},
    )

    def __init__(self, *args, scope: policy.Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = policy.agents(scope).order_by("last_name", "first_name", "pk")
        self.fields["appointment_type"].queryset = policy.appointment_types(scope).order_by("name", "pk")
        self.fields["location"].queryset = policy.locations(scope).order_by("name", "pk")
        self.fields["organisation"].queryset = policy.organisations(scope).order_by("name", "pk")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "La date de fin doit être après la date de début.")
        return data


# --- Appointment page ---------------------------------------------------------------------------------

STATUS_ACTIONS = (
    (status_rules.SEEN, "Honoré"),
    (status_rules.NOSHOW, "Absence non excusée (lapin)"),
    (status_rules.EXCUSED, "Annulé (excusé)"),
    (status_rules.REVOKED, "Annulé par le service"),
    (status_rules.UNKNOWN, "Réinitialiser (à venir / à renseigner)"),
)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_ACTIONS, error_messages={
        "required": "Choisissez un statut.", "invalid_choice": "Ce statut n'existe pas.",
    })
    participation = forms.IntegerField(required=False, min_value=1, error_messages={
        "invalid": "Cet usager ne participe pas à ce rendez-vous.",
        "min_value": "Cet usager ne participe pas à ce rendez-vous.",
    })


class MoveForm(forms.Form):
    date = DateField(label="Date", widget=DATE_INPUT, input_formats=DATE_FORMATS,
                           error_messages={"required": "Indiquez la date.", "invalid": INVALID_DATE})
    time = forms.TimeField(label="Heure", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                           error_messages={"required": "Indiquez l'heure.",
                                           "invalid": "Saisissez une heure valide (hh:mm)."})
    duration_minutes = forms.IntegerField(
        label="Durée (minutes)", min_value=5, max_value=24 * 60,
        error_messages={"required": "Indiquez la durée.", "invalid": "Saisissez un nombre entier de minutes.",
                        "min_value": "La durée est d'au moins 5 minutes.",
                        "max_value": "La durée est d'au plus 24 heures."},
    )
    agents = AgentsChoiceField(
        label="Agents", queryset=None, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choisissez au moins un agent.",
                        "invalid_choice": "Cet agent n'appartient pas à l'organisation du rendez-vous.",
                        "invalid_pk_value": "Cet agent n'appartient pas à l'organisation du rendez-vous."},
    )
    accept_warnings = forms.BooleanField(label="J'ai lu les avertissements et je déplace quand même", required=False)

    def __init__(self, *args, scope: policy.Scope, appointment, tz: ZoneInfo, **kwargs):
        self.tz = tz
        super().__init__(*args, **kwargs)
        members = policy.agents(scope).filter(roles__organisation_id=appointment.organisation_id)
        self.fields["agents"].queryset = members.order_by("last_name", "first_name", "pk")
        if not self.is_bound:
            start = appointment.starts_at.astimezone(tz)
            self.initial.update({
                "date": start.date(), "time": start.time().replace(second=0, microsecond=0),
                "duration_minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
                "agents": [link.agent_id for link in appointment.agent_links.all()],
            })

    @property
    def starts_at(self) -> datetime:
        """The new start, read in the organisation's timezone (a time in a DST gap moves forward)."""
        return to_utc(self.cleaned_data["date"], self.cleaned_data["time"], self.tz)

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["duration_minutes"])


class ContextForm(forms.Form):
    context = forms.CharField(
        label="Contexte (visible des agents uniquement)", required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": "Le contexte compte au plus %(limit_value)d caractères (il en a %(show_value)d).",
        },
    )
