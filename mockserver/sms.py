"""SMS facts computed the way carriers do: encoding, segment count, numbers and countries.

Segments: a single SMS carries 140 octets, i.e. 160 GSM-7 septets or 70 UCS-2 code units;
a concatenated part loses 6 octets to the UDH, leaving 153 septets or 67 code units
(140 * 8 / 7 = 160 and 140 * 8 / 16 = 70; 134 * 8 / 7 = 153 and 134 * 8 / 16 = 67, rounded
down).  A GSM-7 extension character (``^{}\\[~]|€`` and form feed)
takes two septets and is never split across parts; neither is a UTF-16 surrogate pair.
The GSM 03.38 alphabet comes from ``gsm0338``'s tables; numbers use ``phonenumbers``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from gsm0338.charset import BASIC_CHARACTER_SET, BASIC_CHARACTER_SET_EXTENSION

__all__ = [
    "NUMBER_CACHE",
    "Number",
    "Segments",
    "check_number",
    "keep_parse",
    "parse_number",
    "segments",
    "unparsed",
    "why_invalid",
]

Encoding = Literal["GSM-7", "UCS-2"]

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_MULTI = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True, slots=True)
class Segments:
    """How a text travels: its encoding, length in units, and the number of SMS parts."""

    encoding: Encoding
    units: int
    count: int


#: Texts up to this many characters are cached by :func:`segments` (a send often repeats its
#: text); longer ones are counted each time, so a few huge bodies can't pin memory.
CACHED_TEXT_CHARS = 2_000
_ESC = "\x1b"  # GSM 03.38 escape to the extension table: first septet of a 2-septet char
#: The GSM 03.38 basic character set and its extension table (2 septets each), from gsm0338.
_BASIC = frozenset(unicodedata.lookup(name) for name in BASIC_CHARACTER_SET.values())
_EXTENSION = tuple(unicodedata.lookup(name) for name in BASIC_CHARACTER_SET_EXTENSION.values())
_NOT_GSM = re.compile("[^" + re.escape("".join(sorted(_BASIC.union(_EXTENSION)))) + "]")


def segments(text: str) -> Segments:
    """Encoding and number of SMS segments for ``text``.

    >>> segments("hello")
    Segments(encoding='GSM-7', units=5, count=1)
    >>> segments("a" * 161).count
    2
    """
    if len(text) <= CACHED_TEXT_CHARS:
        return _cached_segments(text)
    return _count_segments(text)


def _count_segments(text: str) -> Segments:
    """Map the text to its units once, then walk it a part at a time.

    Every step is a C-level scan (a regex search, ``str.replace``, ``str.encode``), so the
    time is linear in the text.  The ``gsm0338`` codec itself is not used here: it builds its
    output by repeated bytes concatenation, which is quadratic (a 1 MB text took 32 s).
    """
    if _NOT_GSM.search(text) is None:
        # One character per septet: ESC stands for itself (1 septet) but is also the marker
        # of a 2-septet extension character, so it is replaced first.
        septets = text.replace(_ESC, "@")
        for char in _EXTENSION:
            if char in septets:
                septets = septets.replace(char, _ESC + char)
        # A part must not end on an ESC: its extension character would be split.
        return _parts("GSM-7", len(septets), lambda end: septets[end - 1] == _ESC)
    # Any character outside GSM 03.38 switches the whole message to UCS-2 (UTF-16 units).
    utf16 = text.encode("utf-16-le", "surrogatepass")
    # A part must not end on a high surrogate (D800-DBFF): the pair would be split.
    return _parts("UCS-2", len(utf16) // 2, lambda end: 0xD8 <= utf16[2 * end - 1] <= 0xDB)


def _parts(encoding: Encoding, units: int, splits_a_pair: Callable[[int], bool]) -> Segments:
    """Greedy fill: ``splits_a_pair(end)`` tells whether ending a part before unit ``end``
    would cut a 2-unit character in two; such a character moves whole to the next part."""
    if units <= _SINGLE[encoding]:
        return Segments(encoding, units, 1 if units else 0)
    size, count, start = _MULTI[encoding], 0, 0
    while start < units:
        end = start + size
        if end < units and splits_a_pair(end):
            end -= 1
        count += 1
        start = end
    return Segments(encoding, units, count)


_cached_segments = lru_cache(maxsize=4096)(_count_segments)


@dataclass(frozen=True, slots=True)
class Number:
    """A parsed, valid phone number."""

    e164: str
    country_code: int
    national: str
    region: str  # lower-case ISO-2, e.g. "us"
    #: In a range set aside for fiction and testing (:func:`is_fictional`): never assigned,
    #: so phonenumbers calls it invalid, but it is what test suites send.
    test: bool = False

    @property
    def spaced(self) -> str:
        """``+<country code> <national number>``, as Zoho shows ``customerNumber``."""
        return f"+{self.country_code} {self.national}"


#: Numbers kept parsed.  A send's numbers are parsed twice (the contract's format check, then
#: the provider's rules), so the cache holds a whole 10,000-recipient 2sms send: with 2,048
#: every number of such a send was parsed twice, about 0.45 s of its answer time
#: (``bench/store_bounds.py``, big_send).  An entry costs about 350 bytes; the oldest goes
#: first.
NUMBER_CACHE = 16_384
#: Longer texts are parsed each time, never kept: no E.164 number, however written, comes
#: near it, and a few huge keys must not pin memory.
_CACHED_NUMBER_CHARS = 64
_parses: dict[str, Number | None] = {}


def parse_number(raw: str) -> Number | None:
    """Parse an international number with or without the leading ``+``; None if not valid."""
    try:
        return _parses[raw]
    except KeyError:
        number = check_number(raw)
        if len(raw) <= _CACHED_NUMBER_CHARS:
            keep_parse(raw, number)
        return number


def keep_parse(raw: str, number: Number | None) -> None:
    """Keep ``raw``'s parse for :func:`parse_number` (the oldest one goes beyond the cap)."""
    parses = _parses
    parses[raw] = number
    if len(parses) > NUMBER_CACHE:
        try:
            oldest = next(iter(parses))
        except RuntimeError:  # another thread (large bodies are parsed in threads) changed
            return  # it meanwhile: it evicts too, and the next insertion catches up
        parses.pop(oldest, None)


def unparsed(raws: Iterable[str]) -> list[str]:
    """The texts of ``raws`` that :func:`parse_number` has not parsed yet and would keep (a
    text too long to keep is left out: it is parsed where it is used)."""
    parses = _parses
    return [raw for raw in raws if raw not in parses and len(raw) <= _CACHED_NUMBER_CHARS]


def check_number(raw: str) -> Number | None:
    """:func:`parse_number` without its cache: phonenumbers' parse and validation."""
    text = raw.strip()
    if not text:
        return None
    candidate = text if text.startswith("+") else "+" + text
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None
    # is_valid_number(n) is is_valid_number_for_region(n, region_code_for_number(n)): the
    # region is looked up once here, not twice (a +1 number tries every NANP region; about
    # 6 us of a number's 45, measured on a 10,000-recipient send).
    region = phonenumbers.region_code_for_number(parsed)
    national = phonenumbers.national_significant_number(parsed)
    # Fictional ranges are marked whether or not phonenumbers knows them as allocated
    # (+1 212 555 0150 is "valid"; +44 7700 900123 is not).
    fictional = _fictional_region(parsed.country_code or 0, national)
    test = fictional is not None
    if region is None or not phonenumbers.is_valid_number_for_region(parsed, region):
        if fictional is None:
            return None
        region = fictional
    return Number(
        e164=f"+{parsed.country_code}{national}",
        country_code=parsed.country_code or 0,
        national=national,
        region=region.lower(),
        test=test,
    )


#: UK numbers Ofcom sets aside for TV and radio drama ("Telephone numbers for drama
#: purposes", ofcom.org.uk), as national significant numbers: 07700 900000-900999 (mobile),
#: 020 7946 0000-0999 (London) and 01632 960000-960999 (no area).
_UK_FICTIONAL = (("7700900", 10), ("2079460", 10), ("1632960", 10))
#: Australian numbers the ACMA reserves for creative works ("Phone numbers for use in TV
#: shows, films and creative works", acma.gov.au), as national significant numbers: the 30
#: mobile numbers it lists (0491 570 006, 0491 570 156, …) and the geographic ranges
#: (02|03|07|08) 5550 xxxx and (02|03|07|08) 7010 xxxx.
_AU_FICTIONAL_MOBILES = frozenset(
    "491" + n
    for n in [
        "570006",
        "570156",
        "570157",
        "570158",
        "570159",
        "570110",
        "570313",
        "570737",
        "571266",
        "571491",
        "571804",
        "572549",
        "572665",
        "572983",
        "573770",
        "573087",
        "574118",
        "574632",
        "575254",
        "575789",
        "576398",
        "576801",
        "577426",
        "577644",
        "578957",
        "578148",
        "578888",
        "579212",
        "579760",
        "579455",
    ]
)
_AU_FICTIONAL_PREFIXES = tuple(area + block for area in "2378" for block in ("5550", "7010"))


def _fictional_region(country_code: int, national: str) -> str | None:
    """The region of a number in a well-known fictional range, else None.

    - NANP: line numbers 555-0100 to 555-0199 in any area code are reserved for fictional
      use (the North American Numbering Plan Administrator's "555 NXX" assignments): +1, any
      three-digit area code, 555, 0100 to 0199.  Marked "us": the rule is NANP-wide and the
      area code of a fictional number says nothing.
    - UK: Ofcom's drama ranges (``_UK_FICTIONAL``).
    """
    if country_code == 1:
        if (
            len(national) == 10
            and national[0] in "23456789"  # an area code starts with 2-9 (NANP's NXX)
            and national[3:6] == "555"
            and "0100" <= national[6:] <= "0199"
        ):
            return "US"
        return None
    if country_code == 44 and any(
        national.startswith(prefix) and len(national) == size for prefix, size in _UK_FICTIONAL
    ):
        return "GB"
    if country_code == 61 and (
        national in _AU_FICTIONAL_MOBILES
        or (len(national) == 9 and national.startswith(_AU_FICTIONAL_PREFIXES))
    ):
        return "AU"
    return None


#: phonenumbers' reasons a number is not possible, in words.
_IMPOSSIBLE = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "not a length numbers there have",
}


def why_invalid(raw: str) -> str:
    """Why :func:`parse_number` refuses ``raw``, in words (for error messages): not a
    number, a national number without its country code, no such country code, too short
    or too long for the country, or a range not allocated there."""
    text = raw.strip()
    digits = text.removeprefix("+")
    compact = "".join(c for c in digits if c not in " -().")
    if not compact:
        return "empty"
    if not compact.isdigit():
        return f"{raw[:40]!r} is not a phone number: digits only, after an optional +"
    if compact.startswith("0"):
        return (
            "a national number (it starts with 0): write it with the country code instead "
            "of the 0, e.g. +447700900123 for 07700 900123"
        )
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return f"+{compact[:3]}… starts with no country calling code"
    code = parsed.country_code
    region = phonenumbers.region_code_for_country_code(code or 0)
    where = f"+{code} ({region})" if region and region != "001" else f"+{code}"
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        return f"+{compact[:3]}… starts with no country calling code"
    if reason in _IMPOSSIBLE:
        national = phonenumbers.national_significant_number(parsed)
        return f"{_IMPOSSIBLE[reason]} for {where}: {len(national)} digits after the country code"
    return f"not in a range allocated in {where} (libphonenumber's numbering plan)"
