"""Which numbers may receive a SMS: valid French mobiles, metropolitan or overseas."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

# Metropolitan France and the overseas territories that share the French numbering plan or have their
# own country code: Guadeloupe, Saint-Barthélemy, Saint-Martin, Guyane, Martinique, La Réunion, Mayotte,
# Saint-Pierre-et-Miquelon, Wallis-et-Futuna, Nouvelle-Calédonie, Polynésie française.
FRENCH_REGIONS = frozenset({"FR", "GP", "BL", "MF", "GF", "MQ", "RE", "YT", "PM", "WF", "NC", "PF"})

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def is_mobile_number(e164: str) -> bool:
    """Whether ``e164`` (``+33612345678``) is a valid French mobile number, metropolitan or overseas.

    Relies on the numbering plans shipped with ``phonenumbers``: landlines, special numbers, foreign
    mobiles and malformed input are refused (``False``, never an exception).
    """
    if not e164 or not e164.startswith("+"):
        return False
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    if not phonenumbers.is_valid_number(number):
        return False
    if phonenumbers.region_code_for_number(number) not in FRENCH_REGIONS:
        return False
    return phonenumbers.number_type(number) in _MOBILE_TYPES
