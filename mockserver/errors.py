"""The exception tree: one base class, and AssertionError subclasses for test-facing failures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ContractError",
    "ContractViolation",
    "FieldProblem",
    "MockServerError",
    "NoMessageError",
    "StoreFullError",
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

    def __str__(self) -> str:
        return f"{self.field}: {self.expected}"


class ContractViolation(AssertionError, MockServerError):
    """Client traffic broke the provider contract; shows a field-level diff."""

    def __init__(self, problems: Sequence[FieldProblem], *, context: str = "") -> None:
        self.problems = tuple(problems)
        self.context = context
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{TOOL}: {len(self.problems)} contract violation(s)"
        if self.context:
            head += f" in {self.context}"
        width = max([len("field"), *(len(p.field) for p in self.problems)])
        lines = [head, f"  {'field'.ljust(width)} | sent | expected"]
        lines += [f"  {p.field.ljust(width)} | {p.sent!r} | {p.expected}" for p in self.problems]
        return "\n".join(lines)
