"""In-memory store: the default for tests; state lives as long as the process.

Messages are kept as JSON bytes (orjson), with their filter keys beside them, rather than
as live objects: a journal of tens of thousands of messages made of dicts and lists would be
rescanned by every full garbage collection (pauses of 100-200 ms at 60k messages, measured
with ``make bench``), while bytes and tuples of strings are not scanned at all.  It is also
the form the SQLite and Redis stores will keep.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import orjson

from ..errors import StoreFullError
from .base import StoredMessage, Violation

__all__ = ["MemoryStore"]


class MemoryStore:
    """Thread-safe in-memory :class:`~mockserver.store.MessageStore`.

    ``max_messages`` caps each namespace (so a runaway client fails loudly instead of eating
    memory); ``max_violations`` keeps only the most recent violations; ``max_tokens`` caps
    live access tokens, revoking the oldest (as OAuth servers do).
    """

    def __init__(
        self, *, max_messages: int = 10_000, max_violations: int = 10_000, max_tokens: int = 10_000
    ) -> None:
        self.max_messages = max_messages
        self.max_tokens = max_tokens
        self.max_violations = max_violations
        self._lock = threading.Lock()
        # (namespace, provider, to, StoredMessage as JSON), oldest first.
        self._messages: list[tuple[str, str, str, bytes]] = []
        self._counts: dict[str, int] = {}
        self._violations: list[Violation] = []
        self._tokens: dict[str, tuple[str, float]] = {}
        self._credits: dict[tuple[str, str], int] = {}

    def add(self, *messages: StoredMessage) -> None:
        """Keep ``messages`` atomically; raises StoreFullError when a namespace is full."""
        # Encoded before taking the lock: the lock then only guards list and counter updates.
        records = [(m.namespace, m.provider, m.to, _encode(m)) for m in messages]
        wanted: dict[str, int] = {}
        for message in messages:
            wanted[message.namespace] = wanted.get(message.namespace, 0) + 1
        with self._lock:
            for namespace, extra in wanted.items():
                count = self._counts.get(namespace, 0)
                if count + extra > self.max_messages:
                    raise StoreFullError(
                        f"sms-mockserver: namespace {namespace!r} holds {count} messages and "
                        f"the limit is {self.max_messages} (max_messages); "
                        "DELETE /_mock/messages to clear it"
                    )
            self._messages += records
            for namespace, extra in wanted.items():
                self._counts[namespace] = self._counts.get(namespace, 0) + extra

    def messages(
        self,
        *,
        namespace: str | None = None,
        provider: str | None = None,
        to: str | None = None,
    ) -> Sequence[StoredMessage]:
        """Messages, oldest first, optionally filtered by namespace, provider and recipient."""
        with self._lock:
            items = list(self._messages)
        return [
            StoredMessage.from_json(orjson.loads(blob))
            for ns, prov, dest, blob in items
            if (namespace is None or ns == namespace)
            and (provider is None or prov == provider)
            and (to is None or dest == to)
        ]

    def record_violations(self, violations: Sequence[Violation]) -> None:
        """Keep violations, dropping the oldest beyond ``max_violations``."""
        if not violations:
            return
        with self._lock:
            self._violations.extend(violations)
            excess = len(self._violations) - self.max_violations
            if excess > 0:
                del self._violations[:excess]

    def violations(
        self, *, namespace: str | None = None, provider: str | None = None
    ) -> Sequence[Violation]:
        """Violations, oldest first, optionally filtered."""
        with self._lock:
            items = list(self._violations)
        return _where(items, namespace=namespace, provider=provider)

    def reset(self, *, namespace: str | None = None) -> int:
        """Forget everything, or one namespace; returns the number of messages dropped."""
        with self._lock:
            before = len(self._messages)
            if namespace is None:
                self._messages.clear()
                self._violations.clear()
                self._counts.clear()
                self._credits.clear()
            else:
                self._messages = [m for m in self._messages if m[0] != namespace]
                self._violations = [v for v in self._violations if v.namespace != namespace]
                self._counts.pop(namespace, None)
                self._credits = {k: v for k, v in self._credits.items() if k[0] != namespace}
            return before - len(self._messages)

    def issue_token(self, token: str, account: str, expires_at: float) -> None:
        """Remember a token; beyond ``max_tokens`` the oldest issued is revoked."""
        with self._lock:
            self._tokens[token] = (account, expires_at)
            while len(self._tokens) > self.max_tokens:
                del self._tokens[next(iter(self._tokens))]

    def token_account(self, token: str, now: float) -> str | None:
        """The account of a live token."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def spend_credits(
        self, namespace: str, account: str, amount: int, start: int
    ) -> tuple[int, int] | None:
        """Take credits atomically; None when there are not enough."""
        key = (namespace, account)
        with self._lock:
            before = self._credits.get(key, start)
            if amount > before:
                return None
            self._credits[key] = before - amount
            return before, before - amount


def _where(items: list[Violation], **filters: str | None) -> list[Violation]:
    """Items whose attributes equal every filter that is not None."""
    wanted = {k: v for k, v in filters.items() if v is not None}
    return [i for i in items if all(getattr(i, k) == v for k, v in wanted.items())]


def _encode(message: StoredMessage) -> bytes:
    """The message as compact JSON, in an allocation of its own size.

    orjson returns an over-allocated buffer shrunk in place; keeping hundreds of thousands
    of those fragments the heap until every later allocation slows down (5 -> 28 us per
    message after 150k, measured).  Copying once keeps the cost flat.
    """
    return bytes(memoryview(orjson.dumps(message)))
