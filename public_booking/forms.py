"""Forms of the booking journey: the state carried in the journey's links, the address search, the
contact confirmation (one-time code), and the usager's details."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.validators import RegexValidator

from messaging.sms.phone import is_mobile_number
from scheduling.models import AppointmentType
from scheduling.phones import to_e164

INSEE = RegexValidator(r"^\d[0-9AB]\d{3}$", "Code de commune invalide.")
STREET_ID = RegexValidator(r"^[0-9A-Za-z_]{1,40}$", "Identifiant de rue invalide.")


class JourneyStateForm(forms.Form):
    """Everything a journey link carries. A value that does not validate is dropped (a tampered or truncated
    link never reaches a 500: the step that needs it asks again)."""

    adresse = forms.CharField(max_length=300, required=False)
    insee = forms.CharField(max_length=5, required=False, validators=[INSEE])
    rue = forms.CharField(max_length=40, required=False, validators=[STREET_ID])
    lat = forms.FloatField(required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180)
    organisation = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    service = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    motif = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    lieu = forms.CharField(max_length=12, required=False, validators=[RegexValidator(r"^(\d{1,10}|aucun)$")])
    semaine = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def clean_semaine(self):
        value = self.cleaned_data["semaine"]
        if value is not None and not 2000 <= value.year <= 2100:
            raise forms.ValidationError("Semaine invalide.")
        return value
    creneau = forms.CharField(max_length=40, required=False)

    def clean_creneau(self):
        value = self.cleaned_data["creneau"]
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise forms.ValidationError("Créneau invalide.") from None
        if moment.tzinfo is None or not 2000 <= moment.year <= 2100:
            raise forms.ValidationError("Créneau invalide.")
        return moment

    @classmethod
    def read(cls, data) -> tuple[dict, bool]:
        """(valid values, whether something was dropped)."""
        form = cls(data)
        form.is_valid()
        values = {name: form.cleaned_data.get(name) for name in cls.base_fields if name not in form.errors}
        if not values.get("insee"):
            values.update(insee="", rue="", lat=None, lon=None)
        if values.get("lat") is None or values.get("lon") is None:
            values.update(lat=None, lon=None)
        return values, bool(form.errors)


class AddressForm(forms.Form):
    q = forms.CharField(label="Votre adresse", max_length=200, min_length=3,
                        help_text="Numéro, rue et commune, par exemple : 20 avenue de Ségur, Paris",
                        error_messages={"required": "Indiquez votre adresse.",
                                        "min_length": "Indiquez au moins 3 caractères de votre adresse."})
    q.widget.attrs.update({"autocomplete": "street-address", "class": "fr-input"})


class ContactForm(forms.Form):
    """Book without an account: the e-mail address or mobile number to confirm with a code."""

    channel = forms.ChoiceField(label="Recevoir le code par", widget=forms.RadioSelect,
                                choices=[("email", "E-mail"), ("sms", "SMS (téléphone mobile)")], initial="email")
    email = forms.EmailField(label="Adresse e-mail", required=False, max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "fr-input"}))
    mobile = forms.CharField(label="Numéro de téléphone mobile", required=False, max_length=30,
                             widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel", "class": "fr-input"}))

    def clean(self):
        data = super().clean()
        if data.get("channel") == "email":
            if not data.get("email") and "email" not in self.errors:
                self.add_error("email", "Indiquez votre adresse e-mail.")
            data["destination"] = (data.get("email") or "").lower()
        elif data.get("channel") == "sms":
            number = to_e164(data.get("mobile") or "")
            if not data.get("mobile"):
                self.add_error("mobile", "Indiquez votre numéro de téléphone mobile.")
            elif not number or not is_mobile_number(number):
                self.add_error("mobile", "Ce numéro n'est pas un numéro de mobile valide (par exemple 06 12 34 56 78).")
            data["destination"] = number or ""
        return data


class CodeForm(forms.Form):
    code = forms.CharField(label="Code reçu", max_length=12, help_text="Les 6 chiffres reçus",
                           error_messages={"required": "Indiquez le code reçu."},
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "class": "fr-input"}))


class DetailsForm(forms.Form):
    """Who the appointment is for, and what its mode needs."""

    first_name = forms.CharField(label="Votre prénom", max_length=150,
                                 error_messages={"required": "Indiquez votre prénom."},
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name", "class": "fr-input"}))
    last_name = forms.CharField(label="Votre nom", max_length=150, error_messages={"required": "Indiquez votre nom."},
                                widget=forms.TextInput(attrs={"autocomplete": "family-name", "class": "fr-input"}))
    for_whom = forms.ChoiceField(label="Pour qui est ce rendez-vous ?", widget=forms.RadioSelect, initial="self",
                                 choices=[("self", "Pour moi"), ("relative", "Pour un proche (enfant, parent…)")])
    relative_first_name = forms.CharField(label="Prénom du proche", max_length=150, required=False,
                                          widget=forms.TextInput(attrs={"class": "fr-input"}))
    relative_last_name = forms.CharField(label="Nom du proche", max_length=150, required=False,
                                         widget=forms.TextInput(attrs={"class": "fr-input"}))
    phone = forms.CharField(label="Numéro de téléphone", max_length=30, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel", "class": "fr-input"}))
    address = forms.CharField(label="Adresse du rendez-vous à domicile", max_length=300, required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "street-address", "class": "fr-input"}))
    accept = forms.BooleanField(label="J'ai lu et j'accepte ces conditions", required=False)

    def __init__(self, *args, appointment_type: AppointmentType, relatives=(), signed_in=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.appointment_type = appointment_type
        self.relatives = list(relatives)
        if signed_in:
            # A signed-in usager's identity is his account's; he chooses himself, a relative, or a new one.
            del self.fields["first_name"], self.fields["last_name"]
            choices = [("self", "Pour moi")] + [(f"r{r.pk}", f"Pour {r}") for r in self.relatives]
            choices.append(("relative", "Pour un autre proche (à ajouter)"))
            self.fields["for_whom"].choices = choices
        mode = appointment_type.mode
        if mode == AppointmentType.Mode.PHONE:
            self.fields["phone"].required = True
            self.fields["phone"].help_text = "L'agent vous appellera à ce numéro."
            self.fields["phone"].error_messages["required"] = "Indiquez le numéro auquel l'agent vous appellera."
        elif mode == AppointmentType.Mode.HOME:
            self.fields["address"].required = True
            self.fields["address"].error_messages["required"] = "Indiquez l'adresse où l'agent viendra."
        else:
            self.fields["phone"].label = "Numéro de téléphone (facultatif)"
        if mode != AppointmentType.Mode.HOME:
            del self.fields["address"]
        if appointment_type.text_to_accept:
            self.fields["accept"].required = True
            self.fields["accept"].error_messages["required"] = "Vous devez accepter ces conditions pour réserver."
        else:
            del self.fields["accept"]

    def clean_phone(self):
        value = self.cleaned_data.get("phone") or ""
        if not value:
            return ""
        number = to_e164(value)
        if not number:
            raise forms.ValidationError("Ce numéro de téléphone n'est pas valide (par exemple 01 23 45 67 89).")
        return number

    def clean(self):
        data = super().clean()
        choice = data.get("for_whom")
        if choice == "relative":
            if not (data.get("relative_first_name") or "").strip():
                self.add_error("relative_first_name", "Indiquez le prénom du proche.")
            if not (data.get("relative_last_name") or "").strip():
                self.add_error("relative_last_name", "Indiquez le nom du proche.")
        elif choice and choice.startswith("r"):
            data["relative"] = next((r for r in self.relatives if f"r{r.pk}" == choice), None)
        return data


class SignupForm(forms.Form):
    """An usager's account: his identity and an e-mail address with a password."""

    first_name = forms.CharField(label="Prénom", max_length=150, error_messages={"required": "Indiquez votre prénom."},
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name", "class": "fr-input"}))
    last_name = forms.CharField(label="Nom", max_length=150, error_messages={"required": "Indiquez votre nom."},
                                widget=forms.TextInput(attrs={"autocomplete": "family-name", "class": "fr-input"}))
    email = forms.EmailField(label="Adresse e-mail", max_length=254,
                             error_messages={"required": "Indiquez votre adresse e-mail.",
                                             "invalid": "Cette adresse e-mail n'est pas valide."},
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "fr-input"}))
    password1 = forms.CharField(label="Mot de passe", strip=False,
                                help_text="Au moins 12 caractères, pas trop simple.",
                                error_messages={"required": "Choisissez un mot de passe."},
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "class": "fr-input"}))
    password2 = forms.CharField(label="Mot de passe (confirmation)", strip=False,
                                error_messages={"required": "Saisissez à nouveau le mot de passe."},
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "class": "fr-input"}))

    def clean_email(self):
        from django.contrib.auth import get_user_model

        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("Un compte existe déjà avec cette adresse : connectez-vous, ou réservez "
                                        "sans compte.")
        return email

    def clean(self):
        from django.contrib.auth.password_validation import validate_password

        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "Les deux mots de passe ne sont pas identiques.")
        elif first:
            try:
                validate_password(first)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data
