"""The SMS provider interface, the sender-name rule and the registry of providers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from django.core.exceptions import ValidationError

SENDER_NAME_MAX_LENGTH = 11
_SENDER_NAME = re.compile(r"[A-Za-z0-9]{1,11}")


@dataclass(frozen=True)
class SendResult:
    """What a provider answers when it accepted a message."""

    provider_message_id: str


class Provider(Protocol):
    name: str

    def send(self, *, sender: str, to: str, text: str) -> SendResult:
        """Send ``text`` (already normalised and checked) from ``sender`` to ``to`` (E.164).

        Raises ``TemporaryProviderError`` or ``PermanentProviderError`` (``messaging.errors``).
        """
        ...


def validate_sender_name(name: str) -> str:
    """Refuse a sender name operators would reject: 1 to 11 ASCII letters or digits, at least one letter.

    Returns the name. Raises ``django.core.exceptions.ValidationError`` (usable as a field validator).
    """
    if not isinstance(name, str) or not _SENDER_NAME.fullmatch(name):
        raise ValidationError(
            "Le nom d'expéditeur des SMS doit compter de 1 à %(max)d lettres (sans accent) ou chiffres, "
            "sans espace ni ponctuation.",
            code="invalid_sender_name",
            params={"max": SENDER_NAME_MAX_LENGTH},
        )
    if not any(char.isalpha() for char in name):
        raise ValidationError(
            "Le nom d'expéditeur des SMS doit contenir au moins une lettre.", code="sender_name_without_letter"
        )
    return name
