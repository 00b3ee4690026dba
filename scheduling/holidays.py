"""French public holidays per region, from the ``holidays`` package. Pure: no ORM, no clock, no I/O.

A public holiday blocks the whole local day for slot computation (``scheduling.slots``). Regions are
metropolitan France, Alsace-Moselle (adds Good Friday and 26 December) and each overseas département or
collectivity the package supports, with their own days (abolition of slavery, local feasts).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays as holidays_lib

__all__ = ["REGIONS", "DEFAULT_REGION", "public_holidays", "region_for_timezone"]

DEFAULT_REGION = "metropole"

# region code -> French label (shown in the administration settings)
REGIONS: dict[str, str] = {
    "metropole": "France métropolitaine",
    "alsace-moselle": "Alsace-Moselle",
    "guadeloupe": "Guadeloupe",
    "martinique": "Martinique",
    "guyane": "Guyane",
    "la-reunion": "La Réunion",
    "mayotte": "Mayotte",
    "saint-barthelemy": "Saint-Barthélemy",
    "saint-martin": "Saint-Martin",
    "saint-pierre-et-miquelon": "Saint-Pierre-et-Miquelon",
    "polynesie-francaise": "Polynésie française",
    "nouvelle-caledonie": "Nouvelle-Calédonie",
    "wallis-et-futuna": "Wallis-et-Futuna",
}

# region code -> subdivision of holidays.France (None: the national days only)
_SUBDIVISIONS: dict[str, str | None] = {
    "metropole": None,
    "alsace-moselle": "57",  # "57" (Moselle) and "6AE" (Alsace) carry the same days
    "guadeloupe": "971",
    "martinique": "972",
    "guyane": "973",
    "la-reunion": "974",
    "mayotte": "976",
    "saint-barthelemy": "BL",
    "saint-martin": "MF",
    "saint-pierre-et-miquelon": "PM",
    "polynesie-francaise": "PF",
    "nouvelle-caledonie": "NC",
    "wallis-et-futuna": "WF",
}

_TIMEZONE_REGIONS: dict[str, str] = {
    "Europe/Paris": "metropole",
    "America/Guadeloupe": "guadeloupe",
    "America/Martinique": "martinique",
    "America/Cayenne": "guyane",
    "Indian/Reunion": "la-reunion",
    "Indian/Mayotte": "mayotte",
    "America/St_Barthelemy": "saint-barthelemy",
    "America/Marigot": "saint-martin",
    "America/Miquelon": "saint-pierre-et-miquelon",
    "Pacific/Tahiti": "polynesie-francaise",
    "Pacific/Marquesas": "polynesie-francaise",
    "Pacific/Gambier": "polynesie-francaise",
    "Pacific/Noumea": "nouvelle-caledonie",
    "Pacific/Wallis": "wallis-et-futuna",
}


def public_holidays(region: str, years: int | Iterable[int]) -> frozenset[date]:
    """The public holidays of a region (a key of :data:`REGIONS`) over the given years."""
    if region not in _SUBDIVISIONS:
        raise ValueError(f"unknown holiday region {region!r}")
    years = (years,) if isinstance(years, int) else tuple(sorted(set(years)))
    return _public_holidays(region, years)


@lru_cache(maxsize=256)
def _public_holidays(region: str, years: tuple[int, ...]) -> frozenset[date]:
    if not years:
        return frozenset()
    calendar = holidays_lib.country_holidays(
        "FR", subdiv=_SUBDIVISIONS[region], years=years, categories=(holidays_lib.PUBLIC,)
    )
    return frozenset(calendar.keys())


def region_for_timezone(tz_name: str) -> str:
    """A default region guessed from an IANA timezone (Europe/Paris gives the metropole, never
    Alsace-Moselle, which an administrator picks explicitly); unknown zones give the metropole."""
    return _TIMEZONE_REGIONS.get(tz_name, DEFAULT_REGION)
