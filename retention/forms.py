"""The confirmation an agent gives before erasing a usager's data."""

from django import forms


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="Je confirme que cet usager a demandé l'effacement de ses données : ses rendez-vous à venir et ceux de "
              "ses proches seront annulés, et leurs informations personnelles effacées définitivement.",
        error_messages={"required": "Cochez la case pour confirmer l'effacement."},
    )
