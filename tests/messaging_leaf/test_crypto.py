"""messaging.crypto: Fernet encryption of JSON with a configured or derived key, and rotation."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from messaging.crypto import decrypt_json, derive_key, encrypt_json, rotate

CREDENTIALS = {"api_key": "xkeysib-0123456789", "base_url": "https://api.brevo.com", "note": "clé « test »"}


def test_round_trip_with_key_derived_from_secret_key(settings):
    settings.MESSAGING_ENCRYPTION_KEY = []
    token = encrypt_json(CREDENTIALS)
    assert isinstance(token, str) and token.isascii()
    assert "xkeysib" not in token
    assert decrypt_json(token) == CREDENTIALS
    # It really is the documented derivation: a plain Fernet with that key reads it.
    assert Fernet(derive_key(settings.SECRET_KEY)).decrypt(token.encode())


def test_two_encryptions_differ_but_both_decrypt(settings):
    settings.MESSAGING_ENCRYPTION_KEY = []
    first, second = encrypt_json(CREDENTIALS), encrypt_json(CREDENTIALS)
    assert first != second
    assert decrypt_json(first) == decrypt_json(second) == CREDENTIALS


def test_dates_are_serialised(settings):
    settings.MESSAGING_ENCRYPTION_KEY = []
    assert decrypt_json(encrypt_json({"since": dt.date(2026, 3, 12)})) == {"since": "2026-03-12"}


def test_secret_key_fallbacks_still_decrypt(settings):
    settings.MESSAGING_ENCRYPTION_KEY = []
    token = encrypt_json(CREDENTIALS)
    old_secret = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "x" * 40
    with pytest.raises(ValueError):
        decrypt_json(token)
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    assert decrypt_json(token) == CREDENTIALS


def test_configured_key_and_rotation(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MESSAGING_ENCRYPTION_KEY = [old_key]
    token = encrypt_json(CREDENTIALS)
    assert Fernet(old_key).decrypt(token.encode())

    # New key first, old one kept: old tokens still read, new ones use the new key.
    settings.MESSAGING_ENCRYPTION_KEY = f"{new_key}, {old_key}"
    assert decrypt_json(token) == CREDENTIALS
    rotated = rotate(token)
    assert Fernet(new_key).decrypt(rotated.encode())

    # Old key dropped: only the rotated token still reads.
    settings.MESSAGING_ENCRYPTION_KEY = new_key
    assert decrypt_json(rotated) == CREDENTIALS
    with pytest.raises(ValueError, match="Impossible de déchiffrer"):
        decrypt_json(token)


def test_configured_key_does_not_read_derived_tokens(settings):
    settings.MESSAGING_ENCRYPTION_KEY = []
    token = encrypt_json(CREDENTIALS)
    settings.MESSAGING_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(ValueError, match="Impossible de déchiffrer"):
        decrypt_json(token)


@pytest.mark.parametrize("token", ["", "pas-un-jeton", "gAAAAABfake", "é"])
def test_invalid_tokens(settings, token):
    settings.MESSAGING_ENCRYPTION_KEY = []
    with pytest.raises(ValueError, match="Impossible de déchiffrer"):
        decrypt_json(token)


def test_tampered_token(settings):
    settings.MESSAGING_ENCRYPTION_KEY = []
    token = encrypt_json(CREDENTIALS)
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(ValueError, match="altérée"):
        decrypt_json(tampered)


def test_malformed_configured_key(settings):
    settings.MESSAGING_ENCRYPTION_KEY = "trop-court"
    with pytest.raises(ImproperlyConfigured, match="MESSAGING_ENCRYPTION_KEY"):
        encrypt_json(CREDENTIALS)
