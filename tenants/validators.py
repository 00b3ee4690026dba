"""Validation of what an operator types when creating an administration."""

import re
import zoneinfo

from django.core.exceptions import ValidationError

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Hosts and paths the platform needs for itself, or that would mislead a visitor.
RESERVED_SLUGS = frozenset(
    {
        "www", "admin", "api", "static", "media", "console", "public", "app", "mail", "smtp",
        "imap", "pop", "ftp", "support", "status", "docs", "help", "aide", "assets", "cdn",
        "auth", "login", "connexion", "agents", "beta", "demo", "test", "staging", "prod",
        "localhost", "rdv", "pg", "postgres", "redis", "celery", "healthz", "metrics",
    }
)


def validate_slug(value: str) -> None:
    if not value:
        raise ValidationError("L'identifiant est obligatoire.", code="required")
    if len(value) > 63:
        raise ValidationError("L'identifiant fait au plus 63 caractères.", code="max_length")
    if not SLUG_RE.match(value):
        raise ValidationError(
            "L'identifiant ne peut contenir que des lettres minuscules sans accent, des chiffres et des "
            "tirets, et ne peut ni commencer ni finir par un tiret.",
            code="invalid",
        )
    if "--" in value:
        raise ValidationError("L'identifiant ne peut pas contenir deux tirets de suite.", code="invalid")
    if value in RESERVED_SLUGS or value.startswith("pg-"):
        raise ValidationError(f"L'identifiant « {value} » est réservé par la plateforme.", code="reserved")


def validate_timezone(value: str) -> None:
    if not value or value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"« {value} » n'est pas un fuseau horaire reconnu (exemples : Europe/Paris, "
            "America/Cayenne, Indian/Reunion).",
            code="invalid",
        )


HEX_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(hex_colour: str) -> float:
    return 1.05 / (_relative_luminance(hex_colour) + 0.05)


def validate_brand_colour(value: str) -> None:
    if not HEX_COLOUR_RE.match(value or ""):
        raise ValidationError("La couleur doit être au format #RRVVBB, par exemple #1d4ed8.", code="invalid")
    if contrast_with_white(value) < 4.5:
        raise ValidationError(
            "Cette couleur est trop claire : un texte blanc posé dessus ne serait pas lisible "
            "(contraste minimal 4,5:1, RGAA).",
            code="contrast",
        )


def schema_name_for(slug: str) -> str:
    """PostgreSQL schema of an administration: its slug with underscores for hyphens."""
    return slug.replace("-", "_")
