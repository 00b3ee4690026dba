"""Encryption at rest of small secrets (SMS provider credentials, ...) as JSON.

Tokens are Fernet tokens (AES-128-CBC + HMAC-SHA256, with their creation time), from ``cryptography``.

Keys, in this order:

1. ``settings.MESSAGING_ENCRYPTION_KEY`` (environment variable of the same name): one Fernet key
   (``Fernet.generate_key()``: 32 url-safe base64-encoded bytes) or several separated by commas. The
   first one encrypts; every one of them decrypts. To rotate: put a new key first, keep the old ones
   after it, re-encrypt the stored values with ``rotate`` (or let them be rewritten), then drop the old.
2. When that setting is empty: a key derived from ``SECRET_KEY`` with HKDF-SHA256 (32 bytes, no salt,
   info ``rdv-service-public/messaging/credentials``), so that a deployment works with no extra
   secret. Keys derived the same way from ``SECRET_KEY_FALLBACKS`` still decrypt, so rotating
   Django's secret key the documented way does not lose the stored credentials. Setting an explicit
   key later makes the values encrypted with the derived key unreadable unless the derived key is
   listed too: prefer to choose once.
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder

HKDF_INFO = b"rdv-service-public/messaging/credentials"


def derive_key(secret: str) -> bytes:
    """The Fernet key derived from a Django secret key (HKDF-SHA256, see the module docstring)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def _configured_keys() -> list[str]:
    value = getattr(settings, "MESSAGING_ENCRYPTION_KEY", None) or []
    if isinstance(value, str):
        value = value.split(",")
    return [key.strip() for key in value if key and key.strip()]


def _fernet() -> MultiFernet:
    keys = _configured_keys()
    if keys:
        try:
            return MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                "MESSAGING_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes) separated by commas."
            ) from None
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(derive_key(secret)) for secret in secrets])


def encrypt_json(data: dict) -> str:
    """Encrypt ``data`` (JSON-serialisable, dates and decimals allowed) into an ASCII token."""
    plain = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()
    return _fernet().encrypt(plain).decode("ascii")


def decrypt_json(token: str) -> dict:
    """Decrypt a token made by ``encrypt_json``; ``ValueError`` (French) if it cannot be read."""
    try:
        plain = _fernet().decrypt(token.encode("ascii") if isinstance(token, str) else token)
    except (InvalidToken, UnicodeEncodeError, TypeError, AttributeError):
        raise ValueError(
            "Impossible de déchiffrer ces paramètres : donnée altérée ou clé de chiffrement changée."
        ) from None
    return json.loads(plain)


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the current first key (after a key rotation)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise ValueError(
            "Impossible de déchiffrer ces paramètres : donnée altérée ou clé de chiffrement changée."
        ) from None
