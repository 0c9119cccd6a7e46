"""The exception tree: one base class, and AssertionError subclasses for test-facing failures."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ContractError",
    "ContractViolation",
    "FieldProblem",
    "MockServerError",
    "NoMessageError",
    "StoreFullError",
    "near_miss",
    "unknown_member",
]

TOOL = "sms-mockserver"


class MockServerError(Exception):
    """Base class of every error raised by sms-mockserver itself."""


class ContractError(MockServerError):
    """A contract file is missing or malformed (a bug in the data, not in a request)."""


class StoreFullError(MockServerError):
    """The store holds its configured maximum of messages; reset it or raise the limit."""


class NoMessageError(AssertionError, MockServerError):
    """A test waited for a message that did not arrive in time."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One field-level disagreement between what was sent and what the contract expects."""

    field: str
    sent: Any
    expected: str
    #: For an unknown member: the contract's field it is probably a misspelling of.  Such a
    #: member is ignored when the request is accepted, but named in the answer when the
    #: request is refused (it is the likely cause: ``Mms`` for ``mms``).
    near: str | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.expected}"


def near_miss(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is most likely a misspelling of: the same name in another
    letter case, else the closest by difflib's ratio (0.8 or more); None when none is close."""
    names = list(known)
    lowered = name.lower()
    for candidate in names:
        if candidate.lower() == lowered and candidate != name:
            return candidate
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
    return close[0] if close else None


#: Unknown members of one object (or one form) checked for a near miss; the rest are reported
#: without one.  difflib costs about 100 µs a name (2-core AMD EPYC): a 2sms body of 50,000
#: unknown members spent 5 s of a core on them, and a request records 100 violations at most.
NEAR_MISSES_CHECKED = 100


def unknown_member(
    field: str,
    sent: Any,
    where: str,
    known: Iterable[str],
    name: str | None = None,
    *,
    before: int = 0,
) -> FieldProblem:
    """The problem of an ignored member ``field`` whose own name (``name``, by default the
    last dotted step of ``field``) is checked against ``known``, the names beside it, for
    the name it is probably a misspelling of; unless ``before``, the problems already found
    in the same object (or form), reaches :data:`NEAR_MISSES_CHECKED`."""
    last = field.rsplit(".", 1)[-1] if name is None else name
    near = near_miss(last, known) if before < NEAR_MISSES_CHECKED else None
    expected = f"not a field of {where} (ignored)"
    if near is not None:
        expected = f"an unknown key `{last}` (ignored); did you mean `{near}`?"
    return FieldProblem(field, sent, expected, near)


class ContractViolation(AssertionError, MockServerError):
    """Client traffic broke the provider contract; shows a field-level diff, one line per
    field: ``smsmock: sms_data.customerNumber: sent 16502530000 (int), contract expects a
    string``."""

    def __init__(
        self, problems: Sequence[FieldProblem], *, context: str = "", tool: str = TOOL
    ) -> None:
        self.problems = tuple(problems)
        self.context = context
        self.tool = tool
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.tool}: {len(self.problems)} contract violation(s)"
        if self.context:
            head += f" in {self.context}"
        return "\n".join([head, *(diff_line(self.tool, p) for p in self.problems)])


def diff_line(tool: str, problem: FieldProblem) -> str:
    """One field of a diff: what was sent (and its type) against what the contract expects."""
    expected = problem.expected
    if expected == "required":
        return f"{tool}: {problem.field}: missing, the contract requires it"
    sent = "nothing" if problem.sent is None else f"{_short(problem.sent)} ({_kind(problem.sent)})"
    if expected.startswith("expected "):
        # "expected a string, got a whole number": the sent value already says what it got.
        wanted = expected.removeprefix("expected ").split(", got ")[0]
        return f"{tool}: {problem.field}: sent {sent}, contract expects {wanted}"
    return f"{tool}: {problem.field}: sent {sent}; contract: {expected}"


def _kind(value: Any) -> str:
    return type(value).__name__


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Shared outcomes whose problems are the client's breach of the contract (recorded).
CONTRACT_OUTCOMES = frozenset({"invalid_request", "unauthorized", "unsupported_media_type"})


class Reject(Exception):
    """A refused request: a shared outcome, the field problems behind it, and a detail.

    ``violation`` says whether the problems break the contract (and are recorded); by
    default they do for ``invalid_request``, ``unauthorized`` and ``unsupported_media_type``.
    ``status`` overrides the provider's HTTP status for the outcome; ``headers`` are added.
    """

    def __init__(
        self,
        outcome: str,
        problems: Sequence[FieldProblem] = (),
        *,
        detail: str = "",
        status: int | None = None,
        violation: bool | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(outcome, detail or "; ".join(map(str, problems)))
        self.outcome = outcome
        self.problems = tuple(problems)
        self.detail = detail
        self.status = status
        self.violation = outcome in CONTRACT_OUTCOMES if violation is None else violation
        self.headers = tuple(headers)
