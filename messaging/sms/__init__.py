"""SMS: GSM-7 text, segments, mobile numbers, sender names and the providers.

Usage by the outbox::

    text = normalise_gsm7(rendered)
    segments = check_length(text)            # ValueError (French) when too long
    provider = get_provider(name, decrypt_json(stored_credentials))
    result = provider.send(sender=sender_name, to="+33612345678", text=text)
    # TemporaryProviderError -> retry later; PermanentProviderError -> failed with its message
"""

from __future__ import annotations

from messaging.errors import PermanentProviderError, ProviderError, TemporaryProviderError
from messaging.sms.base import Provider, SendResult, validate_sender_name
from messaging.sms.brevo import BrevoProvider
from messaging.sms.gsm import MAX_SEGMENTS, check_length, count_segments, is_gsm7, normalise_gsm7
from messaging.sms.log import LogProvider
from messaging.sms.phone import is_mobile_number

_REGISTRY = {
    LogProvider.name: LogProvider,
    BrevoProvider.name: BrevoProvider,
}

PROVIDERS = [
    (LogProvider.name, "Journal (développement : aucun SMS n'est envoyé)"),
    (BrevoProvider.name, "Brevo (ex-Sendinblue)"),
]


def get_provider(name: str, credentials: dict) -> Provider:
    """The provider called ``name`` configured with ``credentials``.

    An unknown name or missing credentials raise ``PermanentProviderError``: the message cannot be sent
    until an administrator fixes the SMS settings.
    """
    if not name:
        raise PermanentProviderError("Aucun fournisseur de SMS n'est configuré pour cette administration.")
    try:
        provider_class = _REGISTRY[name]
    except KeyError:
        raise PermanentProviderError(f"Fournisseur de SMS inconnu : « {name} ».") from None
    return provider_class(credentials or {})


__all__ = [
    "MAX_SEGMENTS",
    "PROVIDERS",
    "BrevoProvider",
    "LogProvider",
    "PermanentProviderError",
    "Provider",
    "ProviderError",
    "SendResult",
    "TemporaryProviderError",
    "check_length",
    "count_segments",
    "get_provider",
    "is_gsm7",
    "is_mobile_number",
    "normalise_gsm7",
    "validate_sender_name",
]
