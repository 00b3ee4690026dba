"""The statistics page's filters: period (local dates), organisation (among the agent's), week or month.

Every bad value gets a French message and no figures are computed; missing values take their defaults
(the last three months up to today, in the chosen organisation's time zone; every organisation; by month).
"""

from __future__ import annotations

from datetime import date

from django import forms

from .selectors import GRANULARITIES, MONTH, default_period

MAX_YEARS = 3
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
DATE_MESSAGE = "Saisissez une date valide, par exemple 31/01/2025."


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, input_formats=DATE_FORMATS, error_messages={"invalid": DATE_MESSAGE},
        widget=forms.DateInput(attrs={"type": "date", "class": "fr-input"}, format="%Y-%m-%d"),
    )


class StatisticsFilterForm(forms.Form):
    start = _date_field("Du")
    end = _date_field("Au")
    organisation = forms.TypedChoiceField(
        label="Organisation", required=False, coerce=int, empty_value=None,
        error_messages={"invalid_choice": "Cette organisation n'existe pas ou ne fait pas partie des vôtres."},
        widget=forms.Select(attrs={"class": "fr-select"}),
    )
    granularity = forms.ChoiceField(
        label="Regrouper par", required=False, choices=list(GRANULARITIES.items()),
        error_messages={"invalid_choice": "Choisissez un regroupement par semaine ou par mois."},
        widget=forms.Select(attrs={"class": "fr-select"}),
    )

    def __init__(self, data=None, *, organisations, default_tz: str, today: date | None = None):
        """``organisations``: those the agent may pick (``policy.organisations(scope)``), with their
        ``timezone``; ``default_tz``: the zone when he keeps every organisation (the administration's,
        unless all of his share one)."""
        super().__init__(data)
        self.organisations = list(organisations)
        self.default_tz = default_tz
        self.today = today
        choices = [("", "Toutes mes organisations")] if len(self.organisations) != 1 else []
        self.fields["organisation"].choices = choices + [(str(o.pk), o.name) for o in self.organisations]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        chosen = cleaned.get("organisation")
        if chosen is None and len(self.organisations) == 1:
            chosen = cleaned["organisation"] = self.organisations[0].pk
        organisation = next((o for o in self.organisations if o.pk == chosen), None)
        cleaned["organisation_obj"] = organisation
        cleaned["tz"] = organisation.timezone if organisation else self.default_tz
        default_start, default_end = default_period(cleaned["tz"], self.today)
        start = cleaned.get("start") or (default_start if not cleaned.get("end") else None)
        end = cleaned.get("end") or default_end
        if start is None:  # only the end given: the three months before it
            try:
                start, _ = default_period(cleaned["tz"], end)
            except ValueError:  # the first days of year 1
                start = date.min
        if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
            raise forms.ValidationError(
                f"Choisissez des dates entre le {EARLIEST:%d/%m/%Y} et le {LATEST:%d/%m/%Y}.", code="out_of_range")
        cleaned["start"], cleaned["end"] = start, end
        cleaned["granularity"] = cleaned.get("granularity") or MONTH
        if start > end:
            raise forms.ValidationError("La date de début doit précéder la date de fin.", code="inverted")
        if _add_years(start, MAX_YEARS) < end:
            raise forms.ValidationError("La période ne peut dépasser 3 ans.", code="too_long")
        return cleaned

    @property
    def organisation_ids(self) -> list[int] | None:
        chosen = self.cleaned_data.get("organisation")
        return None if chosen is None else [chosen]


def _add_years(day: date, years: int) -> date:
    if day.year + years > date.max.year:
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
