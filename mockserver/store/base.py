"""What the store keeps and the verbs every back-end offers. No HTTP here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = ["DEFAULT_NAMESPACE", "Media", "MessageStore", "StoredMessage", "Violation"]

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class Media:
    """An attachment that was accepted with a message (its bytes are summarised, not kept)."""

    filename: str
    content_type: str | None
    size: int
    sha256: str
    provider_id: str


@dataclass(slots=True)
class StoredMessage:
    """One accepted message with the facts computed for it."""

    id: str
    provider: str
    namespace: str
    to: str
    sender: str
    text: str
    encoding: str
    segments: int
    country: str
    status: str
    created_at: float
    scheduled_at: str | None = None
    media: tuple[Media, ...] = ()
    #: The fields as the client sent them (parsed, not re-typed).
    request: Mapping[str, Any] = field(default_factory=dict)
    #: Request headers with secrets redacted.
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The body the mock answered with.
    response: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data, as the admin API shows it."""
        data = asdict(self)
        data["media"] = [asdict(m) for m in self.media]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredMessage:
        """The message back from :meth:`to_json` data (how stores keep it)."""
        fields = dict(data)
        fields["media"] = tuple(Media(**m) for m in fields.get("media", ()))
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class Violation:
    """A request that disagreed with the provider contract, field by field."""

    provider: str
    namespace: str
    operation: str
    field: str
    sent: Any
    expected: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data, as the admin API shows it."""
        data = asdict(self)
        if not isinstance(self.sent, str | int | float | bool | type(None)):
            data["sent"] = repr(self.sent)
        return data


class MessageStore(Protocol):
    """The verbs every store back-end implements; all of them are thread-safe."""

    def add(self, *messages: StoredMessage) -> None:
        """Keep ``messages`` (the messages of one accepted request, so of one namespace),
        all or none; raises StoreFullError when the namespace would go over its limit and
        ValueError when the messages are of several namespaces."""

    def messages(
        self,
        *,
        namespace: str | None = None,
        provider: str | None = None,
        to: str | None = None,
    ) -> Sequence[StoredMessage]:
        """Messages, oldest first, optionally filtered."""

    def record_violations(self, violations: Sequence[Violation]) -> None:
        """Keep contract violations seen in requests."""

    def violations(
        self, *, namespace: str | None = None, provider: str | None = None
    ) -> Sequence[Violation]:
        """Violations, oldest first, optionally filtered."""

    def reset(self, *, namespace: str | None = None) -> int:
        """Forget messages, violations and credit balances (of one namespace, or all);
        returns the number of messages dropped.  Issued tokens stay valid."""

    def issue_token(self, token: str, account: str, expires_at: float) -> None:
        """Remember an access token issued to ``account`` until ``expires_at`` (epoch s)."""

    def token_account(self, token: str, now: float) -> str | None:
        """The account a token was issued to, or None when unknown or expired at ``now``."""

    def spend_credits(
        self, namespace: str, account: str, amount: int, start: int
    ) -> tuple[int, int] | None:
        """Atomically take ``amount`` credits from ``account`` in ``namespace`` (balances
        start at ``start``; a negative amount refunds).

        Returns (balance before, balance after), or None when the balance is too low.
        """
