"""Segment counting and number parsing."""

from __future__ import annotations

import pytest

from mockserver.sms import parse_number, segments


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
