"""Occurrence times: day flags, ends, repeats, and the UTC offset days are counted in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.recurrence import DAY, Recurrence, weekdays_of_flags

MONDAY_10 = datetime(2030, 3, 18, 10, tzinfo=UTC).timestamp()


def weekdays(times: list[float], offset: float = 0.0) -> list[str]:
    return [datetime.fromtimestamp(t + offset, UTC).strftime("%a %H:%M") for t in times]


def test_day_flags_follow_sunday_one_to_saturday_sixty_four() -> None:
    assert weekdays_of_flags(1) == frozenset({6})  # Sunday
    assert weekdays_of_flags(2 + 64) == frozenset({0, 5})  # Monday, Saturday
    assert weekdays_of_flags(0) is None
    assert weekdays_of_flags(127) is None
    with pytest.raises(ValueError, match=r"0\.\.127"):
        weekdays_of_flags(128)


def test_occurrences_fall_on_the_pattern_days_at_the_start_time() -> None:
    tue_thu = weekdays_of_flags(4 + 16)
    times = list(Recurrence(MONDAY_10, weekdays=tue_thu, count=4).times())
    assert weekdays(times) == ["Tue 10:00", "Thu 10:00", "Tue 10:00", "Thu 10:00"]


def test_days_are_counted_at_the_start_offset() -> None:
    # 23:30 on a Monday at -05:00 is 04:30 UTC on the Tuesday: Monday is the local day.
    offset = -5 * 3600
    start = datetime(2030, 3, 19, 4, 30, tzinfo=UTC).timestamp()
    times = list(Recurrence(start, utc_offset=offset, weekdays=frozenset({0}), count=2).times())
    assert weekdays(times, offset) == ["Mon 23:30", "Mon 23:30"]
    assert times[1] - times[0] == 7 * DAY


def test_until_ends_the_recurrence_and_repeats_interleave_with_the_next_day() -> None:
    rec = Recurrence(MONDAY_10, until=MONDAY_10 + 1.5 * DAY, repeats=2, repeat_every=DAY * 0.75)
    assert [t - MONDAY_10 for t in rec.times()] == [
        0,
        0.75 * DAY,
        DAY,
        1.5 * DAY,
        1.75 * DAY,
        2.5 * DAY,
    ]


def test_no_end_goes_on() -> None:
    times = list(itertools.islice(Recurrence(MONDAY_10).times(), 400))
    assert times[-1] == MONDAY_10 + 399 * DAY


@given(
    flags=st.integers(1, 127),
    count=st.integers(1, 30),
    repeats=st.integers(0, 3),
    every=st.floats(60, 3 * DAY),
    offset=st.integers(-12, 14).map(lambda h: h * 3600.0),
)
def test_times_are_in_order_and_count_occurrences(
    flags: int, count: int, repeats: int, every: float, offset: float
) -> None:
    rec = Recurrence(
        MONDAY_10,
        utc_offset=offset,
        weekdays=weekdays_of_flags(flags),
        count=count,
        repeats=repeats,
        repeat_every=every,
    )
    times = list(rec.times())
    assert times == sorted(times)
    assert len(times) == count * (1 + repeats)
    assert len(list(rec.occurrences())) == count
    assert times[0] >= MONDAY_10
