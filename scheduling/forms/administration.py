"""Forms of the administration screens (admins of an organisation): types, places, services, agents,
the organisation's details and the administration's look."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings

from ..models import AgentRole, AppointmentType, Location, Organisation, Service

# --- Durations in human units ---------------------------------------------------------------------

DELAY_UNITS = (("minutes", "minutes"), ("hours", "heures"), ("days", "jours"), ("weeks", "semaines"))
_UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 24 * 60, "weeks": 7 * 24 * 60}


def split_delay(delay: timedelta | None) -> tuple[int, str]:
    """(value, unit) in the largest unit that divides the delay exactly: 2 days, not 2880 minutes."""
    minutes = int((delay or timedelta()).total_seconds() // 60)
    for unit in ("weeks", "days", "hours"):
        if minutes and minutes % _UNIT_MINUTES[unit] == 0:
            return minutes // _UNIT_MINUTES[unit], unit
    return minutes, "minutes"


# --- Types ----------------------------------------------------------------------------------------

TYPE_HELP = {
    "name": "Ce que l'usager et les agents voient, par exemple « Consultation PMI ».",
    "service": "Le service qui reçoit ce motif : ses agents peuvent le réserver.",
    "colour": "Couleur du motif dans les agendas.",
    "duration_minutes": "Durée par défaut d'un rendez-vous, entre 5 et 1440 minutes.",
    "mode": "Sur place, par téléphone, en visio ou à domicile. Ne change plus une fois des rendez-vous pris.",
    "collective": "Plusieurs usagers s'inscrivent au même rendez-vous (atelier, réunion d'information). "
                  "Uniquement sur place. Ne change plus une fois des rendez-vous pris.",
    "default_capacity": "Places proposées par défaut pour un rendez-vous collectif. Vide : illimité.",
    "bookable_by": "Qui peut prendre ce rendez-vous : les agents seulement, aussi les prescripteurs, "
                   "les usagers invités, ou tout le monde en ligne.",
    "visibility": "Visible et notifié : l'usager voit le rendez-vous et reçoit les messages. "
                  "Invisible : rendez-vous interne, l'usager n'en sait rien.",
    "sectorisation_level": "À qui l'usager en ligne est adressé selon son adresse : toute l'administration, "
                           "les organisations de son secteur ou les agents de son secteur.",
    "follow_up": "Réservé aux usagers qui ont un agent référent : ils sont reçus par lui.",
    "for_secretariat": "Le secrétariat peut aussi recevoir ce motif.",
    "text_to_accept": "Affiché à l'usager, qui doit l'accepter avant de réserver (pièces à apporter, conditions).",
    "instructions": "Envoyées à l'usager après la réservation (accès, documents à préparer).",
    "cancellation_warning": "Affiché à l'usager quand il veut annuler.",
    "citizen_can_cancel": "L'usager peut annuler lui-même son rendez-vous en ligne.",
    "citizen_can_move": "L'usager peut déplacer lui-même son rendez-vous en ligne.",
}


class AppointmentTypeForm(forms.ModelForm):
    min_delay_value = forms.IntegerField(
        label="Délai minimum de réservation", min_value=0, max_value=100_000,
        help_text="Combien de temps avant le rendez-vous un usager peut encore le réserver en ligne.",
    )
    min_delay_unit = forms.ChoiceField(label="Unité du délai minimum", choices=DELAY_UNITS)
    max_delay_value = forms.IntegerField(
        label="Délai maximum de réservation", min_value=1, max_value=100_000,
        help_text="Jusqu'à quand, dans le futur, un usager peut réserver en ligne.",
    )
    max_delay_unit = forms.ChoiceField(label="Unité du délai maximum", choices=DELAY_UNITS)

    class Meta:
        model = AppointmentType
        fields = [
            "name", "service", "colour", "duration_minutes", "mode", "collective", "default_capacity",
            "bookable_by", "visibility", "sectorisation_level", "follow_up", "for_secretariat",
            "text_to_accept", "instructions", "cancellation_warning", "citizen_can_cancel", "citizen_can_move",
        ]
        labels = {
            "bookable_by": "Qui peut réserver", "visibility": "Visibilité pour l'usager",
            "sectorisation_level": "Sectorisation",
        }
        widgets = {
            "colour": forms.TextInput(attrs={"type": "color"}),
            "text_to_accept": forms.Textarea(attrs={"rows": 3}),
            "instructions": forms.Textarea(attrs={"rows": 3}),
            "cancellation_warning": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = TYPE_HELP

    def __init__(self, *args, organisation: Organisation, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.organisation = organisation
        self.fields["service"].queryset = services
        self.fields["service"].empty_label = "Choisissez un service"
        for prefix, delay in (("min", self.instance.min_booking_delay), ("max", self.instance.max_booking_delay)):
            value, unit = split_delay(delay)
            self.fields[f"{prefix}_delay_value"].initial = value
            self.fields[f"{prefix}_delay_unit"].initial = unit

    def _delay(self, prefix: str) -> timedelta | None:
        value = self.cleaned_data.get(f"{prefix}_delay_value")
        unit = self.cleaned_data.get(f"{prefix}_delay_unit")
        if value is None or unit not in _UNIT_MINUTES:
            return None
        return timedelta(minutes=value * _UNIT_MINUTES[unit])

    def clean(self):
        cleaned = super().clean()
        minimum, maximum = self._delay("min"), self._delay("max")
        if minimum is not None and maximum is not None:
            if maximum <= minimum:
                self.add_error("max_delay_value", "Le délai maximum doit être supérieur au délai minimum.")
            elif maximum > timedelta(days=3 * 366):
                self.add_error("max_delay_value", "Le délai maximum ne peut pas dépasser trois ans.")
            else:
                self.instance.min_booking_delay, self.instance.max_booking_delay = minimum, maximum
        if cleaned.get("collective"):
            if cleaned.get("mode") and cleaned["mode"] != AppointmentType.Mode.IN_PERSON:
                self.add_error("collective", "Un motif collectif se déroule sur place.")
            capacity = cleaned.get("default_capacity")
            if capacity is not None and capacity < 1:
                self.add_error("default_capacity", "Le nombre de places doit être d'au moins 1.")
        else:
            cleaned["default_capacity"] = None
        return cleaned


# --- Places ---------------------------------------------------------------------------------------

ADDRESS_UNKNOWN_MESSAGE = ("Cette adresse est inconnue de la Base Adresse Nationale. Vérifiez le numéro, la voie "
                           "et la commune (par exemple « 20 avenue de Ségur, 75007 Paris »).")


class LocationForm(forms.ModelForm):
    """A place where agents receive. When the address API is configured, the address is checked and its
    coordinates kept; when the API does not answer, the place is saved without them (``geocode_warning``)."""

    availability = forms.ChoiceField(
        label="État", choices=[(Location.Availability.ENABLED, "Actif"), (Location.Availability.DISABLED, "Désactivé")],
        help_text="Un lieu désactivé n'est plus proposé pour les nouvelles plages d'ouverture ni aux usagers.",
    )

    class Meta:
        model = Location
        fields = ["name", "address", "phone", "availability"]
        help_texts = {
            "name": "Le nom affiché aux usagers, par exemple « MDS Centre ».",
            "address": "Adresse complète avec code postal et commune ; elle est vérifiée auprès de la "
                       "Base Adresse Nationale.",
            "phone": "Facultatif : le numéro de l'accueil de ce lieu.",
        }

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.organisation = organisation
        self.geocode_warning = ""
        self._stored_address = self.instance.address if self.instance.pk else None

    def clean_address(self):
        from .. import addresses

        address = " ".join(self.cleaned_data["address"].split())
        if not settings.ADDRESS_API_URL:
            return address
        if address == self._stored_address and self.instance.latitude is not None:
            return address  # unchanged and already geocoded
        try:
            found = addresses.geocode(address)
        except addresses.AddressServiceUnavailable:
            self.instance.latitude = self.instance.longitude = None
            self.geocode_warning = ("Le service d'adresses ne répond pas : le lieu est enregistré sans ses "
                                    "coordonnées. Enregistrez-le à nouveau plus tard pour les ajouter.")
            return address
        if found is None:
            raise forms.ValidationError(ADDRESS_UNKNOWN_MESSAGE)
        self.instance.latitude, self.instance.longitude = found.latitude, found.longitude
        return address


# --- Services -------------------------------------------------------------------------------------

class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["name", "short_name", "is_secretariat"]
        help_texts = {
            "name": "Le métier, par exemple « Protection maternelle et infantile ».",
            "short_name": "Abréviation affichée dans les listes, par exemple « PMI ».",
            "is_secretariat": "Les agents d'un service secrétariat voient tous les rendez-vous de leurs organisations.",
        }

    def _unique(self, field: str, message: str):
        value = self.cleaned_data[field].strip()
        clash = Service.objects.filter(**{f"{field}__iexact": value})
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(message)
        return value

    def clean_name(self):
        return self._unique("name", "Un service porte déjà ce nom.")

    def clean_short_name(self):
        return self._unique("short_name", "Un service porte déjà ce nom court.")

    def validate_constraints(self):
        pass  # the case-insensitive uniqueness is checked above with French messages; the database keeps it


# --- Agents ---------------------------------------------------------------------------------------

ROLE_CHOICES = [(AgentRole.Level.BASIC, "Agent"), (AgentRole.Level.ADMIN, "Administrateur")]


class AgentInviteForm(forms.Form):
    email = forms.EmailField(label="Adresse e-mail", max_length=254,
                             help_text="L'agent y reçoit un lien pour choisir son mot de passe (valable 7 jours).")
    first_name = forms.CharField(label="Prénom", max_length=150, required=False)
    last_name = forms.CharField(label="Nom", max_length=150)
    level = forms.ChoiceField(label="Rôle", choices=ROLE_CHOICES,
                              help_text="Un administrateur gère les motifs, les lieux et les agents de l'organisation.")
    services = forms.ModelMultipleChoiceField(
        label="Services", queryset=Service.objects.none(), widget=forms.CheckboxSelectMultiple,
        help_text="L'agent réserve les motifs de ses services.",
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = services

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class IntervenantForm(forms.Form):
    last_name = forms.CharField(label="Nom", max_length=150,
                                help_text="Par exemple « Guichet 1 » : un agent sans compte de connexion.")
    first_name = forms.CharField(label="Prénom", max_length=150, required=False)
    services = forms.ModelMultipleChoiceField(
        label="Services", queryset=Service.objects.none(), widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = services


class AgentServicesForm(forms.Form):
    services = forms.ModelMultipleChoiceField(
        label="Services", queryset=Service.objects.none(), widget=forms.CheckboxSelectMultiple,
        help_text="L'agent réserve les motifs de ses services. Ses services sont les mêmes dans toutes les "
                  "organisations où il travaille.",
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = services


class AgentRoleForm(forms.Form):
    level = forms.ChoiceField(label="Rôle", choices=ROLE_CHOICES)


# --- The organisation and the administration -------------------------------------------------------

class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["name", "address", "phone", "email", "website", "opening_hours", "timezone"]
        help_texts = {
            "name": "Le nom affiché aux usagers et dans les messages.",
            "address": "Adresse postale de l'accueil.",
            "phone": "Numéro affiché aux usagers, par exemple 01 23 45 67 89.",
            "email": "Adresse de contact affichée aux usagers.",
            "opening_hours": "Par exemple « du lundi au vendredi, 9 h – 12 h et 14 h – 17 h ».",
            "timezone": "Fuseau horaire des rendez-vous : Europe/Paris, America/Cayenne, Indian/Reunion…",
        }
        widgets = {"opening_hours": forms.Textarea(attrs={"rows": 3})}
        field_classes = {"website": lambda **kwargs: forms.URLField(assume_scheme="https", **kwargs)}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = Organisation.objects.filter(name=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Une autre organisation porte déjà ce nom.")
        return name

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and not all(c.isdigit() or c in " +.-()" for c in phone):
            raise forms.ValidationError("Saisissez un numéro de téléphone, par exemple 01 23 45 67 89.")
        return phone

    def validate_constraints(self):
        pass  # the unique name is checked above with a French message


LOGO_MAX_BYTES = 1024 * 1024
LOGO_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


class BrandingForm(forms.Form):
    brand_colour = forms.CharField(
        label="Couleur principale", max_length=7, widget=forms.TextInput(attrs={"type": "color"}),
        help_text="Couleur des boutons et des liens du thème neutre, au format #RRVVBB. Un texte blanc doit "
                  "rester lisible dessus (contraste d'au moins 4,5:1).",
    )
    logo = forms.ImageField(
        label="Logo", required=False,
        help_text="Image PNG, JPEG, WebP ou GIF de 1 Mo au plus, affichée en haut des pages du thème neutre.",
        error_messages={"invalid_image": "Ce fichier n'est pas une image (PNG, JPEG, WebP ou GIF)."},
    )
    remove_logo = forms.BooleanField(label="Retirer le logo actuel", required=False)

    def clean_brand_colour(self):
        from tenants.validators import validate_brand_colour

        colour = self.cleaned_data["brand_colour"].strip()
        validate_brand_colour(colour)
        return colour.lower()

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if not logo:
            return logo
        if logo.size > LOGO_MAX_BYTES:
            raise forms.ValidationError("Le logo ne doit pas dépasser 1 Mo.")
        image = getattr(logo, "image", None)
        if image is None or image.format not in LOGO_FORMATS:
            raise forms.ValidationError("Ce fichier n'est pas une image (PNG, JPEG, WebP ou GIF).")
        return logo
