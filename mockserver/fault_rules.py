"""Faults as data: the fault grammar (:func:`parse_fault`) and the rules that choose them.

The grammar and what each fault does are in :mod:`mockserver.faults` and the README
("Testing failures"); this module reads a fault string into a :class:`Fault` and a rule
document (``POST /_mock/faults``) into a :class:`Rule`, refusing what it cannot read with a
message that names the field and the expected form.  The engine that applies them is
:class:`mockserver.faults.FaultEngine`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import MockServerError
from .exchange import Outcome, Point
from .pipeline import CUTS
from .readings import parse_duration, whole_number
from .runtime import Runtime

__all__ = [
    "FAULT_HEADER",
    "FIRED_KEPT",
    "GATEWAY",
    "MAX_RULES",
    "Fault",
    "FaultError",
    "Latency",
    "Rule",
    "parse_fault",
    "retry_after",
]

FAULT_HEADER = "x-mock-fault"
#: Longest latency a fault may ask for, in seconds (a client's timeout test needs no more).
MAX_LATENCY = 60.0
#: Rules per namespace, and fired faults remembered per namespace.
MAX_RULES = 100
#: Longest regex a rule may match on (``match.to``, ``.sender``, ``.text``).
MAX_PATTERN = 1_000
FIRED_KEPT = 100

#: Bodies of the outages, as nginx (the usual gateway) writes them.
GATEWAY = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}

_OUTAGES = frozenset(map(str, GATEWAY))
#: Longest Retry-After a fault or a rate limit answers with, in seconds (a day).
MAX_RETRY_AFTER = 86_400


def retry_after(wait: float) -> int:
    """Whole seconds of Retry-After for a wait: at least 1, at most a day (a rate such as
    5e-324 per second waits for longer than any integer holds)."""
    return int(min(MAX_RETRY_AFTER, max(1, math.ceil(min(wait, MAX_RETRY_AFTER)))))


class FaultError(MockServerError):
    """A fault written wrong: the message says where and what is expected."""


@dataclass(frozen=True, slots=True)
class Latency:
    """A delay: fixed, or drawn from a distribution (seconds)."""

    kind: str  # fixed, uniform, normal, lognormal
    a: float
    b: float = 0.0

    def draw(self, runtime: Runtime) -> float:
        """One delay in seconds, from the runtime's seeded source, within [0, MAX_LATENCY]."""
        r = runtime.random
        if self.kind == "uniform":
            value = r.uniform(self.a, self.b)
        elif self.kind == "normal":
            value = r.gauss(self.a, self.b)
        elif self.kind == "lognormal":
            # Given as the median and the spread (sigma) of the delay in seconds.
            value = r.lognormvariate(math.log(self.a), self.b / self.a if self.a else 0.0)
        else:
            value = self.a
        return min(max(value, 0.0), MAX_LATENCY)


@dataclass(frozen=True, slots=True)
class Fault:
    """One parsed fault: what to answer (if anything) and how long to wait first."""

    text: str
    error: str | None = None  # a provider code or shared outcome
    outage: int | None = None  # 500, 502, 503, 504
    throttle: bool = False
    cut: str | None = None  # reset, hang, truncate, close_after_headers
    bad_json: bool = False
    undelivered: bool = False
    status: int | None = None
    retry_after: int | None = None
    latency: Latency | None = None

    @property
    def answers(self) -> bool:
        """Whether the fault replaces the answer (latency alone does not)."""
        return (
            self.error is not None
            or self.outage is not None
            or self.throttle
            or self.cut is not None
            or self.bad_json
            or self.undelivered
        )


def _seconds(text: str, where: str) -> float:
    try:
        return parse_duration(text, most=MAX_LATENCY)
    except ValueError as exc:
        raise FaultError(f"sms-mockserver: {where}: {exc}") from None


def _latency(text: str) -> Latency:
    call = re.fullmatch(r"(uniform|normal|lognormal)\((.*)\)", text.strip())
    if call is None:
        return Latency("fixed", _seconds(text, "latency"))
    args = [a for a in call.group(2).split(",") if a.strip()]
    if len(args) != 2:
        raise FaultError(
            f"sms-mockserver: latency={text}: {call.group(1)}() takes two durations, "
            f"e.g. {call.group(1)}(100ms,500ms)"
        )
    low, high = (_seconds(a, "latency") for a in args)
    if call.group(1) == "uniform" and high < low:
        raise FaultError(f"sms-mockserver: latency={text}: uniform(low,high) needs low <= high")
    return Latency(call.group(1), low, high)


def parse_fault(text: str) -> Fault:
    """Parse the fault grammar (module docstring); raises :class:`FaultError` naming the
    item that is wrong and what was expected."""
    values: dict[str, Any] = {"text": text.strip()}
    answers = 0  # errors, outages and throttles named: at most one
    items = [item.strip() for item in text.split(";") if item.strip()]
    if not items:
        raise FaultError("sms-mockserver: an empty fault; e.g. zvsms-4038, 503 or latency=200ms")
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if eq:
            if name == "latency":
                values["latency"] = _latency(value)
            elif name in ("status", "retry-after"):
                digits = value.strip()
                # ASCII digits only (isdigit() and int() take any script's), and few enough
                # that int() never refuses them.
                if not (digits.isascii() and digits.isdigit() and len(digits) <= 6):
                    raise FaultError(
                        f"sms-mockserver: {item}: {name} takes a whole number (ASCII digits)"
                    )
                number = int(digits)
                if name == "status" and not 200 <= number <= 599:
                    raise FaultError(f"sms-mockserver: {item}: an HTTP status from 200 to 599")
                if name == "retry-after" and number > MAX_RETRY_AFTER:
                    raise FaultError(
                        f"sms-mockserver: {item}: retry-after is at most {MAX_RETRY_AFTER} "
                        "seconds (a day)"
                    )
                values["status" if name == "status" else "retry_after"] = number
            else:
                raise FaultError(
                    f"sms-mockserver: {item}: unknown setting {name!r}; use latency=, status= "
                    "or retry-after="
                )
        elif name in _OUTAGES:
            values["outage"] = int(name)
            answers += 1
        elif name == "throttle":
            values["throttle"] = True
            answers += 1
        elif name in CUTS:
            values["cut"] = name
            answers += 1
        elif name == "bad_json":
            values["bad_json"] = True
            answers += 1
        elif name in ("undelivered", "failed"):
            values["undelivered"] = True
            answers += 1
        elif re.fullmatch(r"[a-z0-9_.-]+", name):
            values["error"] = name
            answers += 1
        else:
            raise FaultError(
                f"sms-mockserver: {item!r} is not a fault; use a provider error code "
                "(zvsms-4038, InsufficientCredit), 500/502/503/504, throttle, reset, hang, "
                "truncate, close_after_headers, bad_json or latency=…"
            )
    if answers > 1:
        raise FaultError(f"sms-mockserver: {text!r}: one answer (an error, an outage, …) per fault")
    return Fault(**values)


# ---------------------------------------------------------------------- rules


_WHEN = frozenset({"next", "every", "after", "probability", "for_seconds", "sequence"})
_MATCH = frozenset({"provider", "operation", "to", "sender", "text"})


@dataclass(slots=True)
class Rule:
    """A namespace's fault rule: which requests, what fault, and when."""

    id: str
    fault: str | None  # the grammar (None for a sequence rule)
    match: dict[str, str]
    when: dict[str, Any]
    created_at: float
    seen: int = 0  # requests it matched
    hits: int = 0  # faults it fired
    sequence: list[Fault | None] = field(default_factory=list)
    parsed: Fault | None = None
    patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], rule_id: str, now: float) -> Rule:
        """A rule from the admin API's JSON; raises :class:`FaultError` naming the key."""
        if not isinstance(data, Mapping):
            raise FaultError("sms-mockserver: a rule is a JSON object")
        unknown = set(data) - {"fault", "match", "when"}
        if unknown:
            raise FaultError(f"sms-mockserver: unknown rule key(s) {sorted(unknown)}")
        match = data.get("match", {})
        when = data.get("when", {})
        if (
            not isinstance(match, Mapping)
            or set(match) - _MATCH
            or not all(isinstance(v, str) for v in match.values())
        ):
            raise FaultError(
                f"sms-mockserver: match takes {sorted(_MATCH)}, each a string, got {match!r}"
            )
        if not isinstance(when, Mapping) or len(when) > 1 or set(when) - _WHEN:
            raise FaultError(
                f'sms-mockserver: when is one of {sorted(_WHEN)} (e.g. {{"next": 2}}), got {when!r}'
            )
        rule = cls(
            rule_id, data.get("fault"), {k: str(v) for k, v in match.items()}, dict(when), now
        )
        if "sequence" in when:
            steps = when["sequence"]
            if not isinstance(steps, list) or not steps:
                raise FaultError('sms-mockserver: sequence is a list, e.g. ["503", "503", "ok"]')
            if not all(isinstance(step, str) for step in steps):
                raise FaultError('sms-mockserver: every step of a sequence is a fault or "ok"')
            rule.sequence = [None if step == "ok" else parse_fault(step) for step in steps]
        else:
            if not isinstance(rule.fault, str):
                raise FaultError('sms-mockserver: a rule needs a fault, e.g. "fault": "503"')
            rule.parsed = parse_fault(rule.fault)
        for key, number in (("next", 1), ("every", 1), ("after", 0)):
            if key in when:
                count = whole_number(when[key])
                if count is None or count < number:
                    raise FaultError(f"sms-mockserver: when.{key} is a whole number >= {number}")
                rule.when[key] = count  # 2.0 is JSON's 2 too
        p = when.get("probability")
        if "probability" in when and not (
            isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p <= 1
        ):
            raise FaultError("sms-mockserver: when.probability is a number from 0 to 1")
        t = when.get("for_seconds")
        if "for_seconds" in when and not (
            isinstance(t, int | float) and not isinstance(t, bool) and t > 0
        ):
            raise FaultError("sms-mockserver: when.for_seconds is a number of seconds above 0")
        for key in ("to", "sender", "text"):
            if key in rule.match:
                if len(rule.match[key]) > MAX_PATTERN:
                    raise FaultError(
                        f"sms-mockserver: match.{key}: a regex of at most {MAX_PATTERN} characters"
                    )
                try:
                    rule.patterns[key] = re.compile(rule.match[key])
                # A repeat count beyond the engine's (a{4294967296}) or nesting deeper than
                # the compiler recurses are refused like any other bad pattern.
                except (re.error, OverflowError, RecursionError) as exc:
                    raise FaultError(f"sms-mockserver: match.{key}: not a regex ({exc})") from None
        return rule

    def to_json(self) -> dict[str, Any]:
        """The rule as the admin API shows it, with its counts."""
        return {
            "id": self.id,
            "fault": self.fault,
            "match": self.match,
            "when": self.when,
            "created_at": self.created_at,
            "seen": self.seen,
            "hits": self.hits,
        }

    def matches(self, point: Point, outcome: Outcome) -> bool:
        """Whether the request is one of the rule's."""
        m = self.match
        op = point.operation
        if m.get("provider") not in (None, op.provider) or m.get("operation") not in (None, op.id):
            return False
        submission = outcome.submission
        if not self.patterns:
            return True
        if submission is None:
            return False
        checks = (
            ("to", [r.to for r in submission.recipients]),
            ("sender", [submission.sender]),
            ("text", [submission.text]),
        )
        return all(
            any(self.patterns[key].search(v) for v in values)
            for key, values in checks
            if key in self.patterns
        )

    def choose(self, runtime: Runtime, now: float) -> Fault | None:
        """Count the request, and the fault it gets now (None: this time, none)."""
        self.seen += 1
        when = self.when
        if "sequence" in when:
            index = self.seen - 1
            return self.sequence[index] if index < len(self.sequence) else None
        fires = True
        if "next" in when:
            fires = self.hits < when["next"]
        elif "every" in when:
            fires = self.seen % when["every"] == 0
        elif "after" in when:
            fires = self.seen > when["after"]
        elif "probability" in when:
            fires = runtime.random.random() < when["probability"]
        elif "for_seconds" in when:
            fires = now < self.created_at + when["for_seconds"]
        return self.parsed if fires else None
