"""Phone numbers as stored (E.164), from what people type ("06 12 34 56 78", "+262 692 …")."""

from __future__ import annotations

import phonenumbers


def to_e164(value: str, region: str = "FR") -> str | None:
    """The E.164 form of a valid number (national numbers read as French), or None."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
