"""When a 2sms send goes out: ``DateToSend``, ``ExpiryDate``, ``RecurringOptions``, ``Repeat``.

Document: the 2sms help page "POST api/v2/sms/messages"
(https://portal.2sms.us/Help/Api/POST-api-v2-sms-messages), "Body Parameters"
(MessageOptionsV2).  The page names the fields and gives sample values; it says what none
of them means beyond its name, so each reading below is an INFERENCE, with its reason:

- ``DateToSend``: the send goes out then (a time in the past, or none: now).
- ``ExpiryDate``: a message not delivered by then ends ``expired``.
- ``RecurringOptions`` applies when ``Type`` is Recurring (it is required then; on another
  type it is ignored, as the service would have no recurrence to apply it to).
  ``RecDateToSend`` is the first occurrence (absent: ``DateToSend``, else now), and the
  occurrences keep its time of day.  ``PatternScheduleDays`` is a sum of day flags, Sunday
  1, Monday 2, Tuesday 4, Wednesday 8, Thursday 16, Friday 32, Saturday 64 (an int in v2 and
  "Days of the week to scheduled to send the sms" in the v1 recurring-message page, so a
  flags enum; this is the layout of Outlook's ``OlDaysOfWeek``); 0, the sample's value, is
  read as every day, since no day at all would never send.  ``Range`` numbers how the
  recurrence ends (setting ``[twosms] recurrence_ranges``): no end, after ``OccurrencesEnd``
  occurrences, or by a date; v2 has no end-date field, so the date is ``ExpiryDate``.
- ``Repeat``: each occurrence (or the one send) goes out ``Repetitions`` more times,
  ``Frequency`` units apart (setting ``[twosms] repeat_frequency_seconds``, minutes by
  default).  A send with ``Repetitions`` 0 or none is not repeated.

Occurrences that fell before the request are not sent; the send itself goes out at once, as
a past ``DateToSend`` does.  At most ``max_occurrences`` sends are made in all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from ..config import Settings
from ..errors import FieldProblem, Reject
from ..recurrence import ALL_DAYS, DAY, Recurrence, weekdays_of_flags
from .twosms_settings import TwoSmsSettings

__all__ = ["AT_ONCE", "Schedule", "check_schedule", "epoch", "schedule_of"]

_RECURRING = "Options.RecurringOptions"
_REPEAT = "Options.Repeat"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a send goes out (``send_at`` None: now) and what follows it."""

    send_at: float | None = None
    #: ``send_at`` as the journal shows it (the client's own text where it sent one).
    scheduled_at: str | None = None
    expire_at: float | None = None
    #: The later sends of a recurring or repeated send (epoch seconds, in order).
    recurs: Iterator[float] | None = None


#: The schedule of a send with no date, expiry, repeat or recurrence: now, once.
AT_ONCE = Schedule()


def epoch(iso: str) -> float:
    """Epoch seconds of an RFC 3339 date-time (the contract's format).

    Python 3.11's fromisoformat refuses two RFC 3339 spellings the format check allows:
    lower-case ``t``/``z`` and a leap second; both are read here.
    """
    when = _parsed(iso)
    return when[0].timestamp() + when[1] if when else 0.0


def _parsed(iso: str) -> tuple[datetime, int] | None:
    text = iso.upper()
    leap = text[17:19] == "60" and text[13:14] == ":" and text[16:17] == ":"
    if leap:
        text = text[:17] + "59" + text[19:]
    try:
        return datetime.fromisoformat(text), 1 if leap else 0
    except ValueError:
        return None


def _offset(iso: str) -> float:
    when = _parsed(iso)
    offset = when[0].utcoffset() if when else None
    return offset.total_seconds() if offset else 0.0


def _whole(options: Mapping[str, Any], name: str) -> int:
    """An integer option, 0 when absent or null.  The contract's ``integer`` admits ``2.0``
    (JSON Schema counts a number with no fraction as an integer, and Json.NET binds it to
    an ``int``), which Python keeps as a float: ``range`` and ``&`` refuse floats."""
    return int(options.get(name) or 0)


def check_schedule(options: Mapping[str, Any], recurring: bool, settings: Settings) -> None:
    """Refuse values of the recurrence and repeat options the readings above cannot apply
    (a business rule: the contract allows any int32)."""
    problems: list[FieldProblem] = []
    rec = options.get("RecurringOptions") if recurring else None
    if rec:
        days = _whole(rec, "PatternScheduleDays")
        if not 0 <= days <= ALL_DAYS:
            problems.append(
                FieldProblem(
                    f"{_RECURRING}.PatternScheduleDays",
                    days,
                    f"a sum of day flags from 0 to {ALL_DAYS} (Sunday 1, Monday 2, Tuesday 4, "
                    "Wednesday 8, Thursday 16, Friday 32, Saturday 64; 0: every day)",
                )
            )
        ranges = settings.provider(TwoSmsSettings).recurrence_ranges
        end = _whole(rec, "Range")
        if end not in ranges.values():
            named = ", ".join(f"{number} ({name})" for name, number in ranges.items())
            problems.append(
                FieldProblem(
                    f"{_RECURRING}.Range",
                    end,
                    f"one of {named} (setting [twosms] recurrence_ranges)",
                )
            )
        elif end == ranges["OccurrenceCount"] and _whole(rec, "OccurrencesEnd") < 1:
            problems.append(
                FieldProblem(
                    f"{_RECURRING}.OccurrencesEnd",
                    rec.get("OccurrencesEnd"),
                    "1 or more when Range ends the recurrence after a count of occurrences",
                )
            )
    repeat = options.get("Repeat")
    if repeat:
        times = _whole(repeat, "Repetitions")
        if times < 0:
            problems.append(FieldProblem(f"{_REPEAT}.Repetitions", times, "0 or more"))
        elif times and _whole(repeat, "Frequency") < 1:
            problems.append(
                FieldProblem(
                    f"{_REPEAT}.Frequency",
                    repeat.get("Frequency"),
                    "1 or more (units of [twosms] repeat_frequency_seconds) when Repetitions "
                    "is set",
                )
            )
    if problems:
        # The mock's own limit, not the contract's (which allows any int32): not recorded as
        # a violation.
        raise Reject("invalid_request", problems, violation=False)


def schedule_of(
    options: Mapping[str, Any], recurring: bool, now: float, settings: Settings
) -> Schedule:
    """The schedule of a send whose options passed :func:`check_schedule`."""
    when = options.get("DateToSend")
    expiry = options.get("ExpiryDate")
    if not (when or expiry or options.get("Repeat") or options.get("RecurringOptions")):
        return AT_ONCE  # the usual send: nothing to work out
    # INFERENCE: ExpiryDate ends a message not delivered by then as expired.
    expire_at = epoch(expiry) if expiry else None
    recurrence = _recurrence(options, recurring, when, expire_at, now, settings)
    if recurrence is None:
        if when and epoch(when) > now:
            return Schedule(epoch(when), when, expire_at)
        return Schedule(expire_at=expire_at)
    times = recurrence.times()
    first = next(times, None)
    later = itertools.islice(
        itertools.dropwhile(lambda at: at <= now, times), settings.max_occurrences - 1
    )
    if first is None or first <= now:
        return Schedule(expire_at=expire_at, recurs=later)
    rec = options.get("RecurringOptions") if recurring else None
    start = (rec or {}).get("RecDateToSend") or when
    if start and epoch(start) == first:
        shown = start  # the client's own text
    else:
        zone = timezone(timedelta(seconds=_offset(start) if start else 0.0))
        shown = datetime.fromtimestamp(first, zone).isoformat()
    return Schedule(first, shown, expire_at, later)


def _recurrence(
    options: Mapping[str, Any],
    recurring: bool,
    when: str | None,
    expire_at: float | None,
    now: float,
    settings: Settings,
) -> Recurrence | None:
    repeat = options.get("Repeat") or {}
    repeats = _whole(repeat, "Repetitions")
    unit = settings.provider(TwoSmsSettings).repeat_frequency_seconds
    every = _whole(repeat, "Frequency") * unit
    rec = options.get("RecurringOptions") if recurring else None
    if not rec:
        if not repeats:
            return None
        start = epoch(when) if when else now
        return Recurrence(max(start, now), count=1, repeats=repeats, repeat_every=every)
    first = rec.get("RecDateToSend") or when
    start = max(epoch(first), 0.0) if first else now
    ranges = settings.provider(TwoSmsSettings).recurrence_ranges
    end = _whole(rec, "Range")
    recurrence = Recurrence(
        start,
        utc_offset=_offset(first) if first else 0.0,
        weekdays=weekdays_of_flags(_whole(rec, "PatternScheduleDays")),
        count=_whole(rec, "OccurrencesEnd") if end == ranges["OccurrenceCount"] else None,
        until=expire_at if end == ranges["EndByDate"] else None,
        repeats=repeats,
        repeat_every=every,
    )
    return _resumed(recurrence, now)


def _resumed(recurrence: Recurrence, now: float) -> Recurrence:
    """``recurrence`` without the whole weeks that ended before ``now``: a start years back
    is not walked day by day (the pattern repeats every week, so the count of the weeks
    left out is known)."""
    weeks = int((now - recurrence.start) // (7 * DAY)) - 1
    if weeks <= 0:
        return recurrence
    per_week = 7 if recurrence.weekdays is None else len(recurrence.weekdays)
    count = recurrence.count
    if count is not None:
        count = max(count - weeks * per_week, 0)
    return replace(recurrence, start=recurrence.start + weeks * 7 * DAY, count=count)
