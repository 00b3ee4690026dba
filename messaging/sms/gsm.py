"""GSM 03.38 (GSM-7) text: normalisation, segment counting and length guard.

A SMS in the GSM-7 alphabet carries 160 characters in one part, or 153 per part once it is split
(the user data header takes 7 septets); the characters of the extension table (``^ { } \\ [ ~ ] | €``)
take two septets each (escape + character) and an escape pair is never split across two parts. A text
with any other character must be sent in UCS-2: 70 UTF-16 units in one part, 67 per part.

``normalise_gsm7`` turns French text into GSM-7 so that every SMS is cheap and displays the same on
every handset: accents that GSM-7 lacks are removed ("ê" -> "e", "ç" -> "c"), those it has are kept
("é", "è", "à", "ù", "Ç", "É"...), typographic signs become their plain equivalents ("œ" -> "oe",
"’" -> "'", "«" -> '"', "…" -> "...", non-breaking spaces -> space) and whatever has no GSM-7 spelling
(emoji, other scripts) is dropped.
"""

from __future__ import annotations

import unicodedata

# GSM 03.38 basic character set (the escape 0x1B is not a printable character and is left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: each character costs two septets (escape + character).
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

MAX_SEGMENTS = 6

SINGLE_GSM7 = 160
PART_GSM7 = 153
SINGLE_UCS2 = 70
PART_UCS2 = 67

# Explicit replacements, applied before the generic accent stripping.
_REPLACEMENTS = {
    "œ": "oe",
    "Œ": "OE",
    "ç": "c",  # GSM-7 has "Ç" but no lower-case "ç"
    "’": "'",
    "‘": "'",
    "‚": "'",
    "′": "'",
    "`": "'",
    "´": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "″": '"',
    "…": "...",
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "−": "-",
    "•": "-",
    "·": ".",
    "\t": " ",
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space (French typography before ; : ! ?)
    "\u2007": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u200b": "",  # zero-width space
    "\ufeff": "",
    "\u00ad": "",  # soft hyphen
    "°": "o",
    "ª": "a",
    "º": "o",
    "©": "(c)",
    "®": "(R)",
    "™": "TM",
    "×": "x",
    "÷": "/",
    "½": "1/2",
    "¼": "1/4",
    "¾": "3/4",
}


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM-7 basic or extension table."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _normalise_char(char: str) -> str:
    if char in GSM7_BASIC or char in GSM7_EXTENSION:
        return char
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    # Compatibility decomposition: "ê" -> "e" + circumflex, "ﬁ" -> "fi", "²" -> "2", "Ａ" -> "A".
    # Keep the GSM-7 part of each decomposed character (a decomposed "é" is recomposed first).
    kept = []
    for part in unicodedata.normalize("NFKD", char):
        if unicodedata.combining(part):
            continue
        if part in GSM7_BASIC or part in GSM7_EXTENSION:
            kept.append(part)
        elif part in _REPLACEMENTS:
            kept.append(_REPLACEMENTS[part])
        elif unicodedata.category(part).startswith("Z"):
            kept.append(" ")
    return "".join(kept)


def normalise_gsm7(text: str) -> str:
    """Return ``text`` spelled with the GSM-7 alphabet only (see the module docstring)."""
    # NFC first, so that a decomposed "é" (e + combining acute) is kept as the GSM-7 "é".
    text = unicodedata.normalize("NFC", text)
    return "".join(_normalise_char(char) for char in text)


def _split_count(units: list[int], part_size: int) -> int:
    """Parts needed for ``units`` (sizes of unsplittable units) with at most ``part_size`` per part."""
    parts, used = 1, 0
    for size in units:
        if used + size > part_size:
            parts += 1
            used = 0
        used += size
    return parts


def count_segments(text: str) -> int:
    """Number of SMS parts needed to send ``text`` exactly as given.

    GSM-7 when every character is in the GSM-7 tables (extension characters count twice), UCS-2
    otherwise. Call it on the text that is sent, i.e. after ``normalise_gsm7``. An empty text still
    costs one part.
    """
    if is_gsm7(text):
        units = [2 if char in GSM7_EXTENSION else 1 for char in text]
        single, part = SINGLE_GSM7, PART_GSM7
    else:
        # UTF-16 code units; a character outside the BMP is a surrogate pair that is never split.
        units = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, part = SINGLE_UCS2, PART_UCS2
    if sum(units) <= single:
        return 1
    return _split_count(units, part)


def check_length(text: str) -> int:
    """Refuse an empty text or one longer than ``MAX_SEGMENTS`` parts; return its number of parts."""
    if not text.strip():
        raise ValueError("Le SMS est vide.")
    segments = count_segments(text)
    if segments > MAX_SEGMENTS:
        raise ValueError(
            f"Le SMS est trop long : {segments} parties alors que {MAX_SEGMENTS} au plus sont autorisées "
            f"({len(text)} caractères)."
        )
    return segments
