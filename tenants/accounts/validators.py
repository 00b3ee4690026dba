"""Password rules beyond Django's: common French passwords, with their usual decorations."""

import re
from functools import cache
from pathlib import Path

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

FRENCH_LIST = Path(__file__).resolve().parent / "data" / "french-common-passwords.txt"
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@cache
def _french_words() -> frozenset[str]:
    return frozenset(line.strip() for line in FRENCH_LIST.read_text().splitlines() if line.strip())


class FrenchCommonPasswordValidator(CommonPasswordValidator):
    """Refuse Django's 20,000 common passwords and common French ones, also when only digits or
    symbols were added around them ("Soleil2026!", "motdepasse123")."""

    def validate(self, password, user=None):
        lowered = password.lower().strip()
        core = _DECORATION.sub("", lowered)
        if lowered in self.passwords or core in self.passwords or lowered in _french_words() or (
            core in _french_words()
        ):
            raise ValidationError(
                "Ce mot de passe est trop courant : choisissez une phrase ou une suite de mots moins prévisible.",
                code="password_too_common",
            )

    def get_help_text(self):
        return "Votre mot de passe ne peut pas être un mot de passe couramment utilisé."
