"""Forms of plages d'ouverture, absences and teams. They check the input's shape (dates, times, choices
limited to what the agent may use) and hand clean values to ``scheduling.services``, whose French errors
they show next to the fields."""

from __future__ import annotations

import re
from datetime import datetime

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from ..recurrence_text import WEEKDAYS

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
WEEKDAY_CHOICES = [(index, name.capitalize()) for index, name in enumerate(WEEKDAYS)]
RECURRENCE_CHOICES = [
    ("none", "Une seule fois"),
    ("weekly", "Chaque semaine, ou toutes les N semaines, les jours choisis"),
    ("monthly", "Chaque mois, le même jour de la semaine que le premier jour (ex. le 2e mardi)"),
]
INTERVAL_CHOICES = [(n, str(n)) for n in range(1, 6)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


def date_field(label: str, **kwargs) -> forms.DateField:
    return forms.DateField(label=label, widget=DateInput(), input_formats=DATE_FORMATS,
                           error_messages={"invalid": "Saisissez une date valide (JJ/MM/AAAA)."}, **kwargs)


def time_field(label: str) -> forms.TimeField:
    return forms.TimeField(label=label, widget=TimeInput(), input_formats=["%H:%M", "%H:%M:%S", "%Hh%M"],
                           error_messages={"invalid": "Saisissez une heure valide (HH:MM)."})


class ExcludedDatesField(forms.CharField):
    """Dates separated by commas, spaces or lines, as JJ/MM/AAAA or AAAA-MM-JJ."""

    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value):
        text = super().to_python(value)
        days = []
        for token in re.split(r"[\s,;]+", text or ""):
            if not token:
                continue
            for fmt in DATE_FORMATS:
                try:
                    days.append(datetime.strptime(token, fmt).date())
                    break
                except ValueError:
                    continue
            else:
                raise ValidationError(f"« {token[:20]} » n'est pas une date (JJ/MM/AAAA).")
        return sorted(set(days))

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(day.strftime("%d/%m/%Y") for day in value)
        return value


class ServiceErrorsMixin:
    """Show a service's ``ValidationError`` on the form: per field when the form has it, else on top."""

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, messages in error.message_dict.items():
            target = field if field in self.fields and field != NON_FIELD_ERRORS else None
            for message in messages:
                self.add_error(target, message)


class RecurrenceFields(ServiceErrorsMixin, forms.Form):
    """The window and its rule, shared by plages d'ouverture and absences."""

    first_day = date_field("Premier jour")
    start_time = time_field("Heure de début")
    end_time = time_field("Heure de fin")
    recurrence = forms.ChoiceField(label="Répétition", choices=RECURRENCE_CHOICES, widget=forms.RadioSelect,
                                   initial="weekly")
    interval = forms.TypedChoiceField(
        label="Fréquence : toutes les", choices=INTERVAL_CHOICES, coerce=int, initial=1,
        help_text="Nombre de semaines (répétition hebdomadaire) ou de mois (répétition mensuelle) entre deux "
                  "occurrences.",
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Jours de la semaine (répétition hebdomadaire)", choices=WEEKDAY_CHOICES, coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    until = date_field("Jusqu'au (inclus)", required=False,
                       help_text="Laissez vide pour une répétition sans fin.")
    excluded_dates = ExcludedDatesField(
        label="Dates exclues", required=False, max_length=4000,
        help_text="Jours où la règle ne s'applique pas : une date par ligne, au format JJ/MM/AAAA.",
    )

    def clean(self):
        data = super().clean()
        recurrence = data.get("recurrence")
        first_day, until = data.get("first_day"), data.get("until")
        if recurrence == "weekly" and "weekdays" in data and not data["weekdays"]:
            self.add_error("weekdays", "Choisissez au moins un jour de la semaine.")
        if recurrence and recurrence != "none" and first_day and until and until < first_day:
            self.add_error("until", "La date de fin de répétition doit être après le premier jour.")
        return data

    def window(self) -> dict:
        data = self.cleaned_data
        window = {name: data.get(name) for name in ("first_day", "start_time", "end_time", "recurrence",
                                                    "interval", "weekdays", "until", "excluded_dates")}
        if window["recurrence"] == "none":
            window.update(interval=1, weekdays=[], until=None, excluded_dates=[])
        elif window["recurrence"] == "monthly":
            window["weekdays"] = []
        return window


class AvailabilityForm(RecurrenceFields):
    organisation = forms.ModelChoiceField(label="Organisation", queryset=None, empty_label=None)
    location = forms.ModelChoiceField(
        label="Lieu", queryset=None, required=False, empty_label="Aucun lieu (téléphone, visio ou à domicile)",
        help_text="Les lieux actifs de l'organisation.",
    )
    appointment_types = forms.ModelMultipleChoiceField(
        label="Motifs reçus sur cette plage", queryset=None, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choisissez au moins un motif.",
                        "invalid_choice": "Ce motif n'est pas disponible pour cette plage."},
    )
    title = forms.CharField(label="Titre", max_length=200, required=False,
                            help_text="Facultatif, par exemple « Permanence du matin ».")
    accept_warnings = forms.BooleanField(label="Je confirme malgré ces avertissements", required=False)

    field_order = ["organisation", "location", "appointment_types", "title", "first_day", "start_time", "end_time"]

    def __init__(self, *args, organisations, locations, appointment_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.fields["location"].queryset = locations
        self.fields["appointment_types"].queryset = appointment_types
        self.several_organisations = len(organisations) > 1
        self.fields["location"].error_messages["invalid_choice"] = (
            "Ce lieu n'est pas disponible : choisissez un lieu actif de l'organisation."
        )
        self.fields["organisation"].error_messages["invalid_choice"] = (
            "Vous ne pouvez pas créer de plage d'ouverture pour cet agent dans cette organisation."
        )
        self.fields["appointment_types"].error_messages["invalid_pk_value"] = "Identifiant de motif invalide."
        if self.several_organisations:
            self.fields["location"].label_from_instance = lambda place: f"{place.name} ({place.organisation})"
        self.fields["appointment_types"].label_from_instance = (
            (lambda kind: f"{kind.name} ({kind.organisation}) — {kind.duration_minutes} min")
            if self.several_organisations else (lambda kind: f"{kind.name} — {kind.duration_minutes} min")
        )

    def clean_excluded_dates(self):
        return self.cleaned_data.get("excluded_dates") or []

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "L'heure de fin doit être après l'heure de début.")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            **self.window(), "organisation": data["organisation"], "location": data.get("location"),
            "appointment_types": list(data["appointment_types"]), "title": data.get("title", ""),
            "accept_warnings": bool(data.get("accept_warnings")),
        }


class AbsenceForm(RecurrenceFields):
    title = forms.CharField(label="Intitulé", max_length=200, required=False,
                            help_text="Facultatif, par exemple « Congés » ou « Formation ».")
    end_day = date_field(
        "Dernier jour", required=False,
        help_text="Pour une absence sur plusieurs jours (sans répétition). Laissez vide pour une absence d'une "
                  "journée ou répétée.",
    )

    field_order = ["title", "first_day", "start_time", "end_day", "end_time"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recurrence"].initial = "none"

    def clean(self):
        data = super().clean()
        first_day, end_day = data.get("first_day"), data.get("end_day")
        recurrence = data.get("recurrence")
        if recurrence and recurrence != "none" and end_day and first_day and end_day != first_day:
            self.add_error("end_day", "Une absence répétée tient dans une journée : laissez le dernier jour vide "
                                      "(ou identique au premier).")
        elif first_day and end_day and end_day < first_day:
            self.add_error("end_day", "Le dernier jour doit être après le premier jour.")
        start, end = data.get("start_time"), data.get("end_time")
        if first_day and start and end and (end_day or first_day) == first_day and end <= start:
            self.add_error("end_time", "L'heure de fin doit être après l'heure de début.")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {**self.window(), "end_day": data.get("end_day") or data["first_day"], "title": data.get("title", "")}


class TeamForm(ServiceErrorsMixin, forms.Form):
    organisation = forms.ModelChoiceField(label="Organisation", queryset=None, empty_label=None)
    name = forms.CharField(label="Nom de l'équipe", max_length=120)
    agents = forms.ModelMultipleChoiceField(
        label="Agents de l'équipe", queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Cet agent n'est pas un agent de vos organisations."},
    )

    def __init__(self, *args, organisations, agents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.fields["organisation"].error_messages["invalid_choice"] = (
            "Vous n'administrez pas cette organisation."
        )
        self.fields["agents"].queryset = agents
        self.several_organisations = len(organisations) > 1

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Donnez un nom à l'équipe.")
        return name
