"""Whole numbers, durations and times as the mock reads them (faults, clock, rate limits)."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.readings import LATEST, parse_duration, parse_epoch, whole_number


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        ("90", 90.0),
        ("200ms", 0.2),
        ("1.5s", 1.5),
        ("1h30m", 5400.0),
        ("2d", 172_800.0),
        (" 1H ", 3600.0),
        ("0", 0.0),
    ],
)
def test_a_duration_is_a_number_or_parts_with_units(value: Any, seconds: float) -> None:
    assert parse_duration(value, most=LATEST) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "is not a duration like 200ms"),
        ("1h 30m", "is not a duration like"),
        ("\u0661\u0662s", "is not a duration like"),  # Arabic-Indic digits: float() takes them
        ("\uff11s", "is not a duration like"),  # fullwidth
        ("9" * 13 + "s", "is not a duration like"),  # more digits than anyone means
        ("1e3s", "is not a duration like"),
        (-1, "0 seconds or more"),
        (True, "a duration is a number of seconds"),
        (None, "a duration is a number of seconds"),
        (61, "at most 60 s"),
        ("2m", "at most 60 s"),
    ],
)
def test_a_bad_duration_says_what_is_expected(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value, most=60)


def test_a_time_is_epoch_seconds_or_iso_8601_with_an_offset() -> None:
    assert parse_epoch(0) == 0.0
    assert parse_epoch("2030-01-01T00:00:00Z") == 1_893_456_000.0
    assert parse_epoch("2030-01-01T01:00:00+01:00") == 1_893_456_000.0
    assert parse_epoch("9999-12-31T23:59:59Z") == LATEST


@pytest.mark.parametrize(
    "value",
    [
        -1,
        LATEST + 1,
        1e300,
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC: datetime overflows
        "2030-01-01T00:00:00",  # no offset
        "\u0662030-01-01T00:00:00Z",
        "tomorrow",
        None,
        True,
    ],
)
def test_a_time_out_of_range_or_form_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="a time is"):
        parse_epoch(value)


def test_whole_numbers_are_ints_or_integral_floats() -> None:
    assert [whole_number(v) for v in (2, 2.0, -3.0, 0)] == [2, 2, -3, 0]
    assert [whole_number(v) for v in (2.5, True, "2", None, float("inf"))] == [None] * 5
