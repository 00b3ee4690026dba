from __future__ import annotations

from django import forms

from scheduling.phones import to_e164

from .models import Channel, MessageStatus, MessagingSettings, WebhookEndpoint


class MessageSearchForm(forms.Form):
    text = forms.CharField(
        label="Rechercher", required=False, max_length=300,
        help_text="Adresse e-mail, numéro (+336…), URL, identifiant du rendez-vous ou du fournisseur.",
    )
    status = forms.ChoiceField(label="Statut", required=False, choices=[("", "Tous"), *MessageStatus.choices])
    channel = forms.ChoiceField(label="Canal", required=False, choices=[("", "Tous"), *Channel.choices])

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        if text.startswith("0") and text.replace(" ", "").isdigit():
            text = to_e164(text) or text  # numbers are stored in E.164
        return text


class MessagingSettingsForm(forms.ModelForm):
    """The administration's sender, SMS provider (its key stored encrypted, never shown again) and reminders."""

    sms_provider = forms.ChoiceField(label="Fournisseur SMS", required=False)
    sms_api_key = forms.CharField(
        label="Clé d'API du fournisseur SMS", required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Laissez vide pour garder la clé enregistrée. Elle est stockée chiffrée.",
    )
    reminder_hours = forms.CharField(
        label="Rappels (heures avant le rendez-vous)", required=False, max_length=100,
        help_text="Séparées par des virgules, par exemple « 48, 2 ». Vide : un rappel 48 h avant.",
    )

    class Meta:
        model = MessagingSettings
        fields = ["sender_name", "sender_email", "reply_to", "sms_provider", "sms_sender"]

    def __init__(self, *args, **kwargs):
        from .sms import PROVIDERS

        super().__init__(*args, **kwargs)
        self.fields["sms_provider"].choices = [("", "Fournisseur par défaut de la plateforme"), *PROVIDERS]
        self.fields["reminder_hours"].initial = ", ".join(str(hours) for hours in self.instance.reminder_lead_hours)

    def clean_reminder_hours(self):
        raw = self.cleaned_data["reminder_hours"].strip()
        if not raw:
            return []
        hours = []
        for part in raw.replace(";", ",").split(","):
            part = part.strip().lower().removesuffix("h").strip()
            if not part.isdigit() or not 1 <= int(part) <= 24 * 30:
                raise forms.ValidationError(
                    "Indiquez des nombres d'heures entre 1 et 720, séparés par des virgules (par exemple « 48, 2 »)."
                )
            hours.append(int(part))
        if len(set(hours)) > 5:
            raise forms.ValidationError("Cinq rappels au plus.")
        return sorted(set(hours), reverse=True)

    def clean(self):
        cleaned = super().clean()
        provider = cleaned.get("sms_provider")
        if provider and provider != "log" and not cleaned.get("sms_api_key") \
                and not (self.instance.sms_provider == provider and self.instance.sms_credentials):
            self.add_error("sms_api_key", "Ce fournisseur demande sa clé d'API.")
        return cleaned

    def save(self, commit=True):
        settings = super().save(commit=False)
        settings.reminder_lead_hours = self.cleaned_data["reminder_hours"]
        if self.cleaned_data.get("sms_api_key"):
            settings.set_sms_credentials({"api_key": self.cleaned_data["sms_api_key"]})
        elif not settings.sms_provider or settings.sms_provider == "log":
            settings.set_sms_credentials({})
        if commit:
            settings.save()
        return settings


class WebhookEndpointForm(forms.ModelForm):
    target_url = forms.URLField(label="URL de destination", max_length=500, assume_scheme="https")
    subscriptions = forms.MultipleChoiceField(
        label="Abonnements", choices=WebhookEndpoint.Subscription.choices, widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organisation", "target_url", "secret", "subscriptions"]
        widgets = {"secret": forms.PasswordInput(render_value=False)}

    def clean_target_url(self):
        from django.core.exceptions import ValidationError

        from .webhooks import validate_target_url

        url = self.cleaned_data["target_url"]
        try:
            validate_target_url(url)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None
        return url
