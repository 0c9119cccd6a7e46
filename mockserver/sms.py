"""SMS facts computed the way carriers do: encoding, segment count, numbers and countries.

Segments: a single SMS carries 140 octets, i.e. 160 GSM-7 septets or 70 UCS-2 code units;
a concatenated part loses 6 octets to the UDH, leaving 153 septets or 67 code units
(notes/providers.md section 3).  A GSM-7 extension character (``^{}\\[~]|€`` and form feed)
takes two septets and is never split across parts; neither is a UTF-16 surrogate pair.
Encoding uses the ``gsm0338`` codec; numbers use ``phonenumbers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import phonenumbers

__all__ = ["Number", "Segments", "parse_number", "segments"]

Encoding = Literal["GSM-7", "UCS-2"]

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_MULTI = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True, slots=True)
class Segments:
    """How a text travels: its encoding, length in units, and the number of SMS parts."""

    encoding: Encoding
    units: int
    count: int


def _unit_widths(text: str) -> tuple[Encoding, list[int]]:
    """Width of every character in transport units, and the encoding that applies."""
    try:
        return "GSM-7", [len(ch.encode("gsm03.38")) for ch in text]
    except UnicodeEncodeError:
        # Any character outside GSM 03.38 switches the whole message to UCS-2 (UTF-16 units).
        return "UCS-2", [len(ch.encode("utf-16-le")) // 2 for ch in text]


@lru_cache(maxsize=4096)
def segments(text: str) -> Segments:
    """Encoding and number of SMS segments for ``text``.

    >>> segments("hello")
    Segments(encoding='GSM-7', units=5, count=1)
    >>> segments("a" * 161).count
    2
    """
    encoding, widths = _unit_widths(text)
    units = sum(widths)
    if units <= _SINGLE[encoding]:
        return Segments(encoding, units, 1 if units else 0)
    size, count, used = _MULTI[encoding], 1, 0
    for width in widths:  # greedy fill; a 2-unit character never straddles two parts
        if used + width > size:
            count, used = count + 1, 0
        used += width
    return Segments(encoding, units, count)


@dataclass(frozen=True, slots=True)
class Number:
    """A parsed, valid phone number."""

    e164: str
    country_code: int
    national: str
    region: str  # lower-case ISO-2, e.g. "us"

    @property
    def spaced(self) -> str:
        """``+<country code> <national number>``, as Zoho shows ``customerNumber``."""
        return f"+{self.country_code} {self.national}"


@lru_cache(maxsize=8192)
def parse_number(raw: str) -> Number | None:
    """Parse an international number with or without the leading ``+``; None if not valid."""
    text = raw.strip()
    if not text:
        return None
    candidate = text if text.startswith("+") else "+" + text
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    region = phonenumbers.region_code_for_number(parsed) or "ZZ"
    return Number(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        country_code=parsed.country_code or 0,
        national=phonenumbers.national_significant_number(parsed),
        region=region.lower(),
    )
