from __future__ import annotations

from django import forms

from .models import Channel, MessageStatus


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
            import phonenumbers

            try:
                number = phonenumbers.parse(text, "FR")
                text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            except phonenumbers.NumberParseException:
                pass
        return text
