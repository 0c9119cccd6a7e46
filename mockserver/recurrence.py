"""When the occurrences of a recurring send fall: a day-of-week pattern, an end, repeats.

Provider-neutral arithmetic: a provider reads its own fields into a :class:`Recurrence`
(2sms ``Options.RecurringOptions`` and ``Options.Repeat``; how each field is read is in the
2sms provider module and the README, "Time and lifecycle"), and the lifecycle takes the
times :meth:`Recurrence.times` gives as the namespace's clock passes them.

Days are counted in the UTC offset the start was written with (``+02:00`` keeps its
occurrences at the same wall-clock time at that offset); a daylight-saving change of a named
zone is not followed, because a fixed offset is all an RFC 3339 date-time carries.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DAY", "Recurrence", "weekdays_of_flags"]

DAY = 86_400.0

#: Day-of-week flags in the layout of Outlook's ``OlDaysOfWeek`` (and DevExpress's
#: ``WeekDays``): Sunday 1, Monday 2, Tuesday 4, … Saturday 64; index = Python's weekday.
_FLAG_OF_WEEKDAY = (2, 4, 8, 16, 32, 64, 1)
ALL_DAYS = 127


def weekdays_of_flags(flags: int) -> frozenset[int] | None:
    """Python weekdays (0 = Monday) of a sum of day flags; None (every day) for 0 or all
    seven.  ``flags`` must be 0..127."""
    if not 0 <= flags <= ALL_DAYS:
        raise ValueError(f"day flags are 0..{ALL_DAYS}, got {flags}")
    if flags in (0, ALL_DAYS):
        return None
    return frozenset(day for day, flag in enumerate(_FLAG_OF_WEEKDAY) if flags & flag)


@dataclass(frozen=True, slots=True)
class Recurrence:
    """Occurrences from ``start`` on the days of ``weekdays`` (None: every day), at the
    time of day of ``start``; ending after ``count`` occurrences or at ``until`` (epoch
    seconds), whichever comes first (neither: no end).  Each occurrence is followed by
    ``repeats`` more sends, ``repeat_every`` seconds apart."""

    start: float
    utc_offset: float = 0.0
    weekdays: frozenset[int] | None = None
    count: int | None = None
    until: float | None = None
    repeats: int = 0
    repeat_every: float = 0.0

    def occurrences(self) -> Iterator[float]:
        """The pattern's occurrences, in order, without repeats."""
        local = self.start + self.utc_offset
        # Day number (days since 1970-01-01, a Thursday: weekday 3) and time of day.
        day, second = divmod(local, DAY)
        day_number = int(day)
        made = 0
        while self.count is None or made < self.count:
            if self.weekdays is None or (day_number + 3) % 7 in self.weekdays:
                at = day_number * DAY + second - self.utc_offset
                if self.until is not None and at > self.until:
                    return
                made += 1
                yield at
            day_number += 1

    def times(self) -> Iterator[float]:
        """Every send, in time order: each occurrence and its repeats (a repeat that falls
        after the next occurrence comes after it)."""
        repeats: list[float] = []
        for at in self.occurrences():
            while repeats and repeats[0] <= at:
                yield heapq.heappop(repeats)
            yield at
            for n in range(1, self.repeats + 1):
                heapq.heappush(repeats, at + n * self.repeat_every)
        while repeats:
            yield heapq.heappop(repeats)
