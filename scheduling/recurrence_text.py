"""A plage d'ouverture's or an absence's rule in plain French, for lists and pages:

"Toutes les 2 semaines le lundi et le jeudi, de 09:00 à 12:00, jusqu'au 31/03/2027".

Pure: no ORM, no clock (``today`` is passed by the caller when "à partir du" should be said).
"""

from __future__ import annotations

from datetime import date

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
MAX_LISTED_EXCLUSIONS = 5


def join_fr(items: list[str]) -> str:
    """"a", "a et b", "a, b et c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} et {items[-1]}"


def ordinal_fr(n: int) -> str:
    return "1er" if n == 1 else f"{n}e"


def long_date(day: date) -> str:
    """"lundi 7 décembre 2026" (1er for the first of the month)."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{WEEKDAYS[day.weekday()]} {number} {MONTHS[day.month - 1]} {day.year}"


def _days(weekdays) -> str:
    days = sorted(set(weekdays))
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        return f"du {WEEKDAYS[days[0]]} au {WEEKDAYS[days[-1]]}"
    return join_fr([f"le {WEEKDAYS[d]}" for d in days])


def describe_window(window, *, today: date | None = None) -> str:
    """French description of a window with the fields of ``RecurringWindow`` (``first_day``, ``start_time``,
    ``end_time``, ``recurrence``, ``interval``, ``weekdays``, ``until``, ``excluded_dates``) and, for
    absences, ``end_day``. ``today``: say "à partir du ..." when a repeating rule starts after it."""
    start, end = window.start_time, window.end_time
    first_day = window.first_day
    end_day = getattr(window, "end_day", None) or first_day
    if window.recurrence == "none" and end_day > first_day:
        return f"Du {long_date(first_day)} à {start:%H:%M} au {long_date(end_day)} à {end:%H:%M}"
    hours = f"de {start:%H:%M} à {end:%H:%M}" + (" (le lendemain)" if end <= start else "")
    if window.recurrence == "none":
        return f"Le {long_date(first_day)}, {hours}"
    interval = window.interval or 1
    if window.recurrence == "weekly":
        every = "Toutes les semaines" if interval == 1 else f"Toutes les {interval} semaines"
        days = _days(window.weekdays or [])
        text = f"{every} {days}, {hours}" if days else f"{every}, {hours}"
    else:
        every = "Tous les mois" if interval == 1 else f"Tous les {interval} mois"
        n = (first_day.day - 1) // 7 + 1
        text = f"{every} le {ordinal_fr(n)} {WEEKDAYS[first_day.weekday()]}, {hours}"
    if today is not None and first_day > today:
        text += f", à partir du {first_day:%d/%m/%Y}"
    if window.until:
        text += f", jusqu'au {window.until:%d/%m/%Y}"
    excluded = sorted(window.excluded_dates or [])
    if len(excluded) > MAX_LISTED_EXCLUSIONS:
        text += f", sauf {len(excluded)} dates"
    elif excluded:
        text += ", sauf " + join_fr([f"le {day:%d/%m/%Y}" for day in excluded])
    return text
