"""Whole numbers, durations and points in time as clients write them: ``2.0``, ``90s``,
``1h30m``, ``2030-01-01T09:00Z``.

One reading for every place that takes one (a fault's ``latency=`` and its rule's counts, the
admin clock's ``advance`` and ``set``, a rate limit's burst), so ``1.5s`` means the same
everywhere and the same inputs are refused everywhere: digits other than ASCII ones
(``str.isdigit``, ``re``'s ``\\d`` and ``float`` all accept Arabic-Indic and fullwidth
digits), numbers too long to be meant, and times outside the years 1970 to 9999 (a virtual
clock there would make ``datetime`` overflow wherever the time is shown as a date).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["LATEST", "parse_duration", "parse_epoch", "whole_number"]

#: The last second a clock may show (9999-12-31T23:59:59Z): ``datetime``'s last year.
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()

_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
# ASCII digits only, and at most 12 of them before the point: no one means a longer number.
_NUMBER = r"[0-9]{1,12}(?:\.[0-9]{1,9})?"
_PART = re.compile(rf"({_NUMBER})(ms|d|h|m|s)")
_BARE = re.compile(_NUMBER)


def parse_duration(value: Any, *, most: float) -> float:
    """Seconds of a duration: a JSON number, or text such as ``90``, ``200ms``, ``1.5s``,
    ``1h30m`` or ``2d`` (a bare number is seconds); at most ``most`` seconds.

    Raises :class:`ValueError` saying what is expected.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if _BARE.fullmatch(text):
            seconds = float(text)
        else:
            parts = _PART.findall(text)
            if not parts or "".join(a + b for a, b in parts) != text:
                raise ValueError(f"{value!r} is not a duration like 200ms, 1.5s, 90s or 1h30m")
            seconds = sum(float(a) * _SCALE[b] for a, b in parts)
    else:
        raise ValueError(f"a duration is a number of seconds or text like 1h30m, got {value!r}")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"a duration is 0 seconds or more, got {value!r}")
    if seconds > most:
        raise ValueError(f"at most {most:g} s, got {value!r}")
    return seconds


def parse_epoch(value: Any) -> float:
    """Epoch seconds of a point in time: a JSON number, or an ISO 8601 time with its offset
    (``2030-01-01T09:00:00Z``), from 1970 to the end of 9999.

    Raises :class:`ValueError` saying what is expected.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        when = float(value)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or not str(value).isascii():
            raise ValueError(
                f"a time is epoch seconds or an ISO 8601 time with an offset "
                f"(2030-01-01T09:00:00Z), got {value!r}"
            )
        try:
            when = parsed.timestamp()
        except (OverflowError, ValueError):  # year 1 with a negative offset, and the like
            when = -1.0
    if not (math.isfinite(when) and 0 <= when <= LATEST):
        raise ValueError(
            f"a time is from 1970-01-01T00:00:00Z (0) to 9999-12-31T23:59:59Z ({LATEST:.0f}), "
            f"got {value!r}"
        )
    return when


def whole_number(value: Any) -> int | None:
    """``value`` as an int when it is a whole JSON number (``2`` or ``2.0``, which JSON and
    JSON Schema count as the same integer), else None (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
