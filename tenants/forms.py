"""Console forms: onboarding an administration, suspending it, signing in as one of its agents.

Forms only check what is typed; the rules and the writes live in ``tenants.services`` and
``tenants.impersonation``, whose ``ValidationError`` are put back on the form by ``add_service_errors``.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .models import Administration
from .validators import validate_slug, validate_timezone

TIMEZONE_SUGGESTIONS = [
    "Europe/Paris",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Reunion",
    "Indian/Mayotte",
    "America/Miquelon",
    "Pacific/Noumea",
    "Pacific/Tahiti",
    "Pacific/Wallis",
]


class ServiceErrorsMixin:
    def add_service_errors(self, error: ValidationError) -> None:
        """Attach a service's ``ValidationError`` to the fields it names (others to the form)."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class AdministrationCreationForm(ServiceErrorsMixin, forms.Form):
    """What an operator types to onboard an administration (names kept for the browser tests)."""

    name = forms.CharField(
        label="Nom", max_length=200,
        error_messages={"required": "Indiquez le nom de l'administration."},
        help_text="Tel qu'il s'affichera sur les pages, par exemple « Département de la Drôme ».",
    )
    kind = forms.ChoiceField(
        label="Type", choices=[("", "Choisissez un type")] + list(Administration.Kind.choices),
        error_messages={
            "required": "Choisissez le type d'administration.",
            "invalid_choice": "Ce type d'administration n'existe pas.",
        },
    )
    slug = forms.CharField(
        label="Identifiant (sous-domaine)", max_length=63, validators=[validate_slug],
        error_messages={
            "required": "L'identifiant est obligatoire.",
            "max_length": "L'identifiant fait au plus 63 caractères.",
        },
        help_text="Lettres minuscules sans accent, chiffres et tirets, par exemple « drome ». "
        "Il ne pourra plus être modifié.",
    )
    timezone = forms.CharField(
        label="Fuseau horaire", max_length=64, initial="Europe/Paris", validators=[validate_timezone],
        error_messages={"required": "Indiquez le fuseau horaire, par exemple Europe/Paris."},
        help_text="Nom IANA : Europe/Paris, America/Cayenne, Indian/Reunion, Pacific/Noumea…",
        widget=forms.TextInput(attrs={"list": "timezone-suggestions", "autocomplete": "off"}),
    )
    first_admin_email = forms.EmailField(
        label="E-mail du premier administrateur",
        error_messages={
            "required": "Indiquez l'adresse e-mail du premier administrateur.",
            "invalid": "Saisissez une adresse e-mail valide, par exemple prenom.nom@exemple.fr.",
        },
        help_text="Cette personne recevra l'invitation à choisir son mot de passe quand l'espace sera prêt.",
    )

    timezone_suggestions = TIMEZONE_SUGGESTIONS

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip().lower()
        if Administration.objects.filter(slug=slug).exists():
            raise ValidationError("Cet identifiant est déjà utilisé par une autre administration.")
        return slug

    def clean_timezone(self):
        return self.cleaned_data["timezone"].strip()


class SuspensionForm(forms.Form):
    reason = forms.CharField(
        label="Motif de la suspension (facultatif)", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ImpersonationForm(ServiceErrorsMixin, forms.Form):
    agent_email = forms.EmailField(
        label="E-mail de l'agent",
        error_messages={
            "required": "Indiquez l'adresse e-mail de l'agent.",
            "invalid": "Saisissez une adresse e-mail valide.",
        },
    )
    reason = forms.CharField(
        label="Motif de la connexion", min_length=10, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Indiquez le motif de la connexion (10 caractères au moins).",
            "min_length": "Indiquez le motif de la connexion (10 caractères au moins).",
        },
        help_text="Obligatoire, enregistré dans le journal : par exemple le numéro du ticket et la demande.",
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < 10:
            raise ValidationError("Indiquez le motif de la connexion (10 caractères au moins).")
        return reason
