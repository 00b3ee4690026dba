"""One-time codes: an usager booking without an account proves that he holds an e-mail address or a mobile
number. Six digits, only a keyed hash stored, valid 10 minutes, used once, locked after 5 wrong tries.

Codes go out directly (not through the appointments' outbox): by e-mail through Django's mail path with the
administration's sender, by SMS through the administration's SMS provider (``messaging.sms``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone

from .models import OneTimeCode

VALIDITY = timedelta(minutes=10)
MAX_ATTEMPTS = 5


class CodeError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CodeNotSent(CodeError):
    pass


def _hash(*, destination: str, code: str) -> str:
    key = f"{settings.SECRET_KEY}|otp|{connection.schema_name}".encode()
    return hmac.new(key, f"{destination}|{code}".encode(), hashlib.sha256).hexdigest()


def _send_email(destination: str, code: str) -> None:
    from messaging.models import MessagingSettings
    from messaging.rendering import administration_name

    messaging_settings = MessagingSettings.load()
    default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = messaging_settings.sender_name or administration_name() or default_name
    sender = formataddr((name, messaging_settings.sender_email or default_address))
    body = (f"Bonjour,\n\nVotre code de confirmation est : {code}\n\n"
            f"Il est valable 10 minutes. Si vous n'avez pas demandé de rendez-vous, ignorez ce message.\n\n{name}\n")
    try:
        EmailMessage(subject=f"Votre code de confirmation : {code}", body=body, from_email=sender,
                     to=[destination]).send()
    except (OSError, ConnectionError):
        raise CodeNotSent("L'e-mail n'a pas pu être envoyé. Réessayez dans quelques instants.") from None


def _send_sms(destination: str, code: str) -> None:
    from messaging.errors import ProviderError
    from messaging.models import MessagingSettings
    from messaging.sms import get_provider

    messaging_settings = MessagingSettings.load()
    name = messaging_settings.sms_provider or getattr(settings, "SMS_DEFAULT_PROVIDER", "log")
    sender = messaging_settings.sms_sender or getattr(settings, "SMS_DEFAULT_SENDER", "RDV")
    try:
        provider = get_provider(name, messaging_settings.get_sms_credentials())
        provider.send(sender=sender, to=destination, text=f"Votre code de confirmation : {code} (valable 10 min)")
    except ProviderError:
        raise CodeNotSent("Le SMS n'a pas pu être envoyé. Réessayez, ou confirmez plutôt une adresse e-mail.") from None


def code_send(*, channel: str, destination: str, purpose: str = "booking", now: datetime | None = None) -> OneTimeCode:
    """Create a code for ``destination`` (an e-mail address or an E.164 mobile) and send it. Earlier unused
    codes of the same destination and purpose stop working. Raises :class:`CodeNotSent`."""
    now = now or timezone.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        OneTimeCode.objects.filter(destination=destination, purpose=purpose, used_at__isnull=True).update(
            expires_at=now
        )
        row = OneTimeCode.objects.create(channel=channel, destination=destination, purpose=purpose,
                                         code_hash=_hash(destination=destination, code=code), created_at=now,
                                         expires_at=now + VALIDITY)
    if channel == OneTimeCode.Channel.EMAIL:
        _send_email(destination, code)
    else:
        _send_sms(destination, code)
    return row


def code_verify(*, destination: str, code: str, purpose: str = "booking", now: datetime | None = None) -> OneTimeCode:
    """Check the latest code sent to ``destination``; mark it used. Raises :class:`CodeError` (French).
    A wrong try is counted (committed) before the error is raised."""
    with transaction.atomic():
        row, error = _check(destination=destination, code=code, purpose=purpose, now=now or timezone.now())
    if error:
        raise CodeError(error)
    return row


def _check(*, destination, code, purpose, now):
    row = (OneTimeCode.objects.select_for_update().filter(destination=destination, purpose=purpose)
           .order_by("-created_at", "-pk").first())
    if row is None:
        return None, "Aucun code n'a été envoyé à cette adresse. Demandez un nouveau code."
    if row.used_at is not None:
        return row, "Ce code a déjà servi. Demandez un nouveau code."
    if row.attempts >= MAX_ATTEMPTS:
        return row, "Trop d'essais erronés : ce code est bloqué. Demandez un nouveau code."
    if row.expires_at <= now:
        return row, "Ce code a expiré (il est valable 10 minutes). Demandez un nouveau code."
    code = "".join((code or "").split())
    if not hmac.compare_digest(row.code_hash, _hash(destination=destination, code=code)):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        left = MAX_ATTEMPTS - row.attempts
        if left <= 0:
            return row, "Code erroné. Trop d'essais : ce code est bloqué. Demandez un nouveau code."
        return row, f"Code erroné. Il vous reste {left} essai{'s' if left > 1 else ''}."
    row.used_at = now
    row.save(update_fields=["used_at"])
    return row, ""
