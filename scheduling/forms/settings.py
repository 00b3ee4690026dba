"""Forms of the agent's own settings page."""

from __future__ import annotations

from django import forms

from ..models import Agent


class NotificationLevelForm(forms.Form):
    notification_level = forms.ChoiceField(
        label="Recevoir un e-mail pour les rendez-vous qui me concernent",
        choices=Agent.NotificationLevel.choices, widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choisissez un des niveaux proposés.",
                        "required": "Choisissez un niveau de notification."},
    )
