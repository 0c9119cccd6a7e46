"""Segment counting and number parsing."""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec the reference rule uses)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver import sms
from mockserver.sms import parse_number, segments, why_invalid


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("", "GSM-7", 0, 0),
        ("hello", "GSM-7", 5, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("{" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("{" * 81, "GSM-7", 162, 2),
        ("a" + "€" * 76 + "b", "GSM-7", 154, 1),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà", "GSM-7", 41, 1),
        ("✓" * 70, "UCS-2", 70, 1),
        ("✓" * 71, "UCS-2", 71, 2),
        ("✓" * 134, "UCS-2", 134, 2),
        ("✓" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: a surrogate pair each
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_segments(text: str, encoding: str, units: int, count: int) -> None:
    result = segments(text)
    assert (result.encoding, result.units, result.count) == (encoding, units, count)


def test_an_escape_pair_is_not_split_across_parts() -> None:
    # 152 plain septets then "{" (2): the pair moves whole to part two.
    assert segments("a" * 152 + "{" + "a" * 10).count == 2
    assert segments("a" * 152 + "{" + "a" * 152).count == 3


def test_a_surrogate_pair_is_not_split_across_parts() -> None:
    assert segments("✓" * 66 + "😀" + "✓" * 66).count == 3


def reference_segments(text: str) -> tuple[str, int, int]:
    """The rule spelled out a character at a time (the ``mockserver.sms`` docstring)."""
    try:
        encoding, widths = "GSM-7", [len(ch.encode("gsm03.38")) for ch in text]
    except UnicodeEncodeError:
        encoding, widths = "UCS-2", [len(ch.encode("utf-16-le")) // 2 for ch in text]
    units = sum(widths)
    if units <= {"GSM-7": 160, "UCS-2": 70}[encoding]:
        return encoding, units, 1 if units else 0
    size, count, used = {"GSM-7": 153, "UCS-2": 67}[encoding], 1, 0
    for width in widths:
        if used + width > size:
            count, used = count + 1, 0
        used += width
    return encoding, units, count


# Plain and extension GSM characters, ESC itself, a BMP character outside GSM, and one
# outside the BMP: every kind of width.  The GSM-only and UCS-2-only alphabets make long
# multi-part texts of one encoding likely, where a misplaced boundary changes the count.
_ANY = st.sampled_from(list("a@é{€^\\\f\x1b✓😀"))
_GSM = st.sampled_from(list("a@é{€^\\\f\x1b"))
_UCS2 = st.sampled_from(list("a✓😀"))


@given(
    st.one_of(
        st.text(_ANY, max_size=700), st.text(_GSM, max_size=700), st.text(_UCS2, max_size=300)
    )
)
def test_segments_match_the_rule_character_by_character(text: str) -> None:
    result = segments(text)
    assert (result.encoding, result.units, result.count) == reference_segments(text)


def test_a_two_unit_character_at_every_boundary() -> None:
    # Exhaustive near the boundaries: the 2-unit character at every position of the first
    # part, and the total just under, at and over two full parts, where moving it to the
    # next part is what adds one more.
    for char, width, part in (("{", 2, 153), ("\x1b", 1, 153), ("😀", 2, 67), ("✓", 1, 67)):
        for prefix in range(part + 3):
            for total in (2 * part - 1, 2 * part, 2 * part + 1):
                text = "a" * prefix + char + "a" * max(0, total - prefix - width)
                result = segments(text)
                expected = reference_segments(text)
                assert (result.encoding, result.units, result.count) == expected, (char, prefix)


def test_texts_longer_than_the_cached_ones_are_counted_exactly() -> None:
    for text in ("{" * (sms.CACHED_TEXT_CHARS + 1), "é" * (sms.CACHED_TEXT_CHARS + 7)):
        result = segments(text)
        assert (result.encoding, result.units, result.count) == reference_segments(text)


@pytest.mark.parametrize(
    ("raw", "e164", "spaced", "region"),
    [
        ("14155550100", "+14155550100", "+1 4155550100", "us"),
        ("+14155550100", "+14155550100", "+1 4155550100", "us"),
        (" +919876543210 ", "+919876543210", "+91 9876543210", "in"),
        ("+61412345678", "+61412345678", "+61 412345678", "au"),
    ],
)
def test_parse_number(raw: str, e164: str, spaced: str, region: str) -> None:
    number = parse_number(raw)
    assert number is not None
    assert (number.e164, number.spaced, number.region) == (e164, spaced, region)


@pytest.mark.parametrize("raw", ["", "12345", "+1415CALLME", "not a number", "+999123"])
def test_invalid_numbers(raw: str) -> None:
    assert parse_number(raw) is None


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        ("+447700900123", "+447700900123", "gb"),  # Ofcom drama mobile range
        ("441632960999", "+441632960999", "gb"),
        ("+442079460123", "+442079460123", "gb"),  # allocated-looking, still fictional
        ("+15555550100", "+15555550100", "us"),  # 555-01XX, even in area code 555
        ("+12125550150", "+12125550150", "us"),
        ("+61491570006", "+61491570006", "au"),  # ACMA's list of mobile numbers
        ("61 491 579 455", "+61491579455", "au"),
        ("+61255501234", "+61255501234", "au"),  # (02) 5550 xxxx
        ("+61870109999", "+61870109999", "au"),  # (08) 7010 xxxx
    ],
)
def test_fictional_numbers_are_accepted_and_marked(raw: str, e164: str, region: str) -> None:
    number = parse_number(raw)
    assert number is not None
    assert (number.e164, number.region, number.test) == (e164, region, True)


@pytest.mark.parametrize(
    "raw", ["+14152007986", "+12125550200", "+447911123456", "+61491570007", "+61255511234"]
)
def test_numbers_in_service_are_not_marked(raw: str) -> None:
    number = parse_number(raw)
    assert number is not None
    assert number.test is False


def test_numbers_just_outside_the_fictional_ranges_are_refused() -> None:
    assert parse_number("+4477009001234") is None  # one digit too many
    assert parse_number("+15555550200") is None  # 555-0200 is not fictional; NPA 555 invalid
    assert parse_number("+11005550123") is None  # no area code starts with 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("+4477009", "too short for +44 (GB): 5 digits after the country code"),
        ("+447700900123456", "too long for +44 (GB): 13 digits after the country code"),
        ("+1201555", "too short for +1 (US): 6 digits after the country code"),
        ("+99912345", "+999… starts with no country calling code"),
        ("07700900123", "a national number (it starts with 0): write it with the country code"),
        ("+1415CALLME", "'+1415CALLME' is not a phone number: digits only, after an optional +"),
        ("+15555550200", "not in a range allocated in +1 (US) (libphonenumber's numbering plan)"),
        ("", "empty"),
    ],
)
def test_why_a_number_is_refused(raw: str, reason: str) -> None:
    assert parse_number(raw) is None
    assert why_invalid(raw).startswith(reason)


def test_parses_are_kept_up_to_the_cache_size_the_oldest_going_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mockserver import sms

    monkeypatch.setattr(sms, "_parses", {})
    monkeypatch.setattr(sms, "NUMBER_CACHE", 3)
    raws = ["+12125550150", "+12125550151", "+12125550152", "+12125550153"]
    assert sms.unparsed(raws) == raws
    for raw in raws:
        parse_number(raw)
    assert sms.unparsed(raws) == raws[:1]
    assert len(sms._parses) == 3


def test_a_text_too_long_for_any_number_is_parsed_but_never_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mockserver import sms

    monkeypatch.setattr(sms, "_parses", {})
    long = "+1" + "2" * 200
    assert parse_number(long) is None
    assert sms._parses == {}
    assert sms.unparsed([long]) == []
