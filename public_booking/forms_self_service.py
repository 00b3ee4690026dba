"""Forms of the usager's self-service pages (French errors; rules stay in public_booking.self_service)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django import forms
from django.utils import timezone

from messaging.sms.phone import is_mobile_number
from scheduling.models import Citizen
from scheduling.phones import to_e164

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _clean_birth_date(value):
    if value is None:
        return value
    today = timezone.localdate()
    if value > today:
        raise forms.ValidationError("La date de naissance ne peut pas être dans le futur.")
    if value < date(today.year - 130, 1, 1):
        raise forms.ValidationError("Vérifiez la date de naissance.")
    return value


def _clean_phone(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    e164 = to_e164(value)
    if e164 is None:
        raise forms.ValidationError("Ce numéro de téléphone n'est pas valide (ex. 06 12 34 56 78).")
    return e164


class StyledMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                continue
            widget.attrs.setdefault("class", "fr-input" if not isinstance(widget, forms.Select) else "fr-select")


def parse_slot(value: str) -> datetime | None:
    """A slot's start as sent by the week page (ISO 8601 with offset), or None."""
    try:
        moment = datetime.fromisoformat((value or "").strip())
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


class SlotForm(forms.Form):
    starts_at = forms.CharField(label="Créneau", max_length=40,
                                error_messages={"required": "Choisissez un créneau.",
                                                "max_length": "Ce créneau n'est pas valide."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].validators = []  # anything unparsable gets the one message below

    def clean_starts_at(self):
        moment = parse_slot(self.cleaned_data["starts_at"])
        now = timezone.now()
        if moment is None or not now - timedelta(days=1) < moment < now + timedelta(days=3 * 366):
            raise forms.ValidationError("Ce créneau n'est pas valide. Choisissez un horaire dans la liste.")
        return moment


class ProfileForm(StyledMixin, forms.ModelForm):
    class Meta:
        model = Citizen
        fields = ["first_name", "last_name", "birth_name", "birth_date", "phone", "address"]
        widgets = {"birth_date": DATE_WIDGET}
        labels = {"phone": "Téléphone portable"}

    CERTIFIED_HELP = "Identité certifiée par FranceConnect"

    def __init__(self, *args, certified_fields=(), **kwargs):
        """``certified_fields``: fields whose value comes from FranceConnect. They are shown read-only and
        Django ignores what is posted for a disabled field (the record's value is kept)."""
        super().__init__(*args, **kwargs)
        for name in certified_fields:
            field = self.fields[name]
            field.disabled = True
            field.help_text = self.CERTIFIED_HELP

    def clean_birth_date(self):
        return _clean_birth_date(self.cleaned_data.get("birth_date"))

    def clean_phone(self):
        return _clean_phone(self.cleaned_data.get("phone"))


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = Citizen
        fields = ["notify_by_email", "notify_by_sms"]
        labels = {"notify_by_email": "Recevoir les confirmations et rappels par e-mail",
                  "notify_by_sms": "Recevoir les confirmations et rappels par SMS"}


class RelativeForm(StyledMixin, forms.ModelForm):
    class Meta:
        model = Citizen
        fields = ["first_name", "last_name", "birth_name", "birth_date"]
        widgets = {"birth_date": DATE_WIDGET}

    def clean_birth_date(self):
        return _clean_birth_date(self.cleaned_data.get("birth_date"))


class GuestNameForm(StyledMixin, forms.Form):
    """Who registers to a session without an account (his contact was confirmed by a code)."""

    first_name = forms.CharField(label="Votre prénom", max_length=150,
                                 error_messages={"required": "Indiquez votre prénom."})
    last_name = forms.CharField(label="Votre nom", max_length=150, error_messages={"required": "Indiquez votre nom."})


class DeleteAccountForm(forms.Form):
    confirm = forms.BooleanField(
        label="Je comprends que mes rendez-vous à venir et ceux de mes proches seront annulés et que mon compte "
              "sera supprimé définitivement.",
        error_messages={"required": "Cochez la case pour confirmer la suppression."},
    )


class PrescriberBookingForm(StyledMixin, SlotForm):
    """"Je prends rendez-vous pour quelqu'un d'autre": the prescripteur, the beneficiary, the slot."""

    prescriber_first_name = forms.CharField(label="Votre prénom", max_length=150)
    prescriber_last_name = forms.CharField(label="Votre nom", max_length=150)
    prescriber_email = forms.EmailField(label="Votre adresse e-mail", max_length=254,
                                        help_text="La confirmation du rendez-vous vous sera envoyée.")
    first_name = forms.CharField(label="Prénom du bénéficiaire", max_length=150)
    last_name = forms.CharField(label="Nom du bénéficiaire", max_length=150)
    birth_date = forms.DateField(label="Date de naissance du bénéficiaire", widget=DATE_WIDGET,
                                 error_messages={"invalid": "Saisissez une date valide (jj/mm/aaaa)."})
    email = forms.EmailField(label="E-mail du bénéficiaire", required=False, max_length=254)
    phone = forms.CharField(label="Téléphone portable du bénéficiaire", required=False, max_length=30,
                            help_text="Pour qu'il reçoive la confirmation et le rappel par SMS.")
    no_mobile_confirmed = forms.BooleanField(
        label="Je confirme que le bénéficiaire n'a pas de téléphone portable (il ne recevra pas de SMS).",
        required=False,
    )

    def clean_birth_date(self):
        return _clean_birth_date(self.cleaned_data.get("birth_date"))

    def clean_phone(self):
        value = _clean_phone(self.cleaned_data.get("phone"))
        if value and not is_mobile_number(value):
            raise forms.ValidationError("Ce numéro n'est pas un portable : les SMS ne peuvent pas y être envoyés. "
                                        "Indiquez un numéro de portable, ou laissez le champ vide.")
        return value

    def clean(self):
        data = super().clean()
        if "phone" in data and not data.get("phone") and not data.get("no_mobile_confirmed"):
            self.add_error("no_mobile_confirmed", "Sans numéro de portable, confirmez que le bénéficiaire n'en a "
                                                  "pas (il ne recevra pas de SMS).")
        return data

    def prescriber(self) -> dict:
        data = self.cleaned_data
        return {"first_name": data["prescriber_first_name"].strip(), "last_name": data["prescriber_last_name"].strip(),
                "email": data["prescriber_email"]}

    def beneficiary(self) -> dict:
        data = self.cleaned_data
        return {"first_name": data["first_name"].strip(), "last_name": data["last_name"].strip(),
                "birth_date": data["birth_date"], "email": data.get("email", ""), "phone": data.get("phone", "")}


class InvitationForm(forms.Form):
    """Agent side: which usager, and a type or a service."""

    citizen = forms.IntegerField(min_value=1, error_messages={"required": "Choisissez un usager.",
                                                              "invalid": "Usager inconnu."})
    appointment_type = forms.IntegerField(min_value=1, required=False)
    service = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args, citizens, appointment_types, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.citizens, self.appointment_types, self.services = citizens, appointment_types, services

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        citizen = self.citizens.filter(pk=data["citizen"]).first()
        if citizen is None:
            raise forms.ValidationError("Usager inconnu.")
        type_id, service_id = data.get("appointment_type"), data.get("service")
        if bool(type_id) == bool(service_id):
            raise forms.ValidationError("Choisissez un motif ou un service (l'un des deux).")
        data["citizen"] = citizen
        data["appointment_type"] = self.appointment_types.filter(pk=type_id).first() if type_id else None
        data["service"] = self.services.filter(pk=service_id).first() if service_id else None
        if type_id and data["appointment_type"] is None:
            raise forms.ValidationError("Motif inconnu ou non ouvert aux usagers invités.")
        if service_id and data["service"] is None:
            raise forms.ValidationError("Service inconnu.")
        return data

