"""In-memory store: the default for tests; state lives as long as the process.

Messages are kept as JSON arrays of their fields (orjson; positional, so the field names are
not repeated in every message) appended to a journal of large byte chunks, with their filter
keys as small integers in arrays beside it, rather than as live objects or one ``bytes`` per
message:

- a journal of tens of thousands of messages made of dicts and lists would be rescanned by
  every full garbage collection (pauses of 100-200 ms at 60k messages, measured with
  ``make bench``);
- one allocation kept per message scatters the heap, so every later request's short-lived
  objects land in cold memory: appending into a chunk writes sequentially and keeps nothing
  else alive (the 2sms send went from about 0.76 to 0.83 of the bare floor, ``make bench``).

JSON is also the form the SQLite and Redis stores will keep.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any

import orjson

from ..errors import StoreFullError
from .base import Media, StoredMessage, Violation

__all__ = ["MemoryStore"]

#: Size at which the journal starts a new chunk.  Appending to a chunk may move it when it
#: grows, so a chunk stays small enough to copy cheaply, and large enough that a journal of
#: a million messages is a few hundred objects.
CHUNK_BYTES = 1 << 20


class _Journal:
    """Encoded messages, oldest first, with interned filter keys.  Not thread-safe."""

    #: Columns of :attr:`index`, one row per message.
    CHUNK, START, SIZE, NAMESPACE, PROVIDER, TO = range(6)
    WIDTH = 6

    def __init__(self) -> None:
        self.chunks: list[bytearray] = [bytearray()]
        # Per message, one row: its chunk, where it starts there, its length, and the
        # interned ids of its namespace, provider and recipient.  One flat array: appending
        # a row is one call, and a million rows are 24 MB, not a million objects.
        self.index = array("I")
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def __len__(self) -> int:
        return len(self.index) // self.WIDTH

    def intern(self, name: str) -> int:
        """The id of ``name`` (a namespace, provider or recipient)."""
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.names)
            self.names.append(name)
        return found

    def append(self, namespace: str, provider: str, to: str, blob: bytes) -> None:
        """Add one encoded message."""
        chunk = self.chunks[-1]
        if chunk and len(chunk) + len(blob) > CHUNK_BYTES:
            chunk = bytearray()
            self.chunks.append(chunk)
        self.index.extend(
            (
                len(self.chunks) - 1,
                len(chunk),
                len(blob),
                self.intern(namespace),
                self.intern(provider),
                self.intern(to),
            )
        )
        chunk += blob

    def column(self, col: int) -> array[int]:
        """One column of the index (a value per message)."""
        return self.index[col :: self.WIDTH]

    def select(self, namespace: str | None, provider: str | None, to: str | None) -> list[int]:
        """Indexes of the messages matching every filter that is not None, oldest first."""
        found: Sequence[int] = range(len(self))
        for col, value in ((self.NAMESPACE, namespace), (self.PROVIDER, provider), (self.TO, to)):
            if value is None:
                continue
            key = self.ids.get(value)
            if key is None:
                return []
            column = self.column(col)
            found = [i for i in found if column[i] == key]
        return list(found)

    def blob(self, i: int) -> bytes:
        """The encoded message at index ``i``."""
        row = i * self.WIDTH
        chunk, start, size = self.index[row : row + 3]
        return bytes(self.chunks[chunk][start : start + size])

    def key(self, i: int, col: int) -> str:
        """The namespace, provider or recipient (``col``) of the message at index ``i``."""
        return self.names[self.index[i * self.WIDTH + col]]


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
        self._journal = _Journal()
        self._counts: dict[str, int] = {}
        self._violations: list[Violation] = []
        self._tokens: dict[str, tuple[str, float]] = {}
        self._credits: dict[tuple[str, str], int] = {}

    def add(self, *messages: StoredMessage) -> None:
        """Keep ``messages`` (all of one namespace) atomically; raises StoreFullError when
        the namespace would go over ``max_messages``."""
        if not messages:
            return
        namespace = messages[0].namespace
        for m in messages:
            if m.namespace != namespace:
                raise ValueError(f"one add() keeps messages of one namespace, got {m.namespace!r}")
        # Encoded before taking the lock: the lock then only guards the journal and counters.
        blobs = [_encode(m) for m in messages]
        with self._lock:
            count = self._counts.get(namespace, 0) + len(messages)
            if count > self.max_messages:
                raise self._full(namespace)
            self._counts[namespace] = count
            append = self._journal.append
            for m, blob in zip(messages, blobs, strict=True):
                append(namespace, m.provider, m.to, blob)

    def _full(self, namespace: str) -> StoreFullError:
        return StoreFullError(
            f"sms-mockserver: namespace {namespace!r} holds {self._counts.get(namespace, 0)} "
            f"messages and the limit is {self.max_messages} (max_messages); "
            "DELETE /_mock/messages to clear it"
        )

    def messages(
        self,
        *,
        namespace: str | None = None,
        provider: str | None = None,
        to: str | None = None,
    ) -> Sequence[StoredMessage]:
        """Messages, oldest first, optionally filtered by namespace, provider and recipient."""
        with self._lock:
            journal = self._journal
            blobs = [journal.blob(i) for i in journal.select(namespace, provider, to)]
        return [_decode(blob) for blob in blobs]

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
            old = self._journal
            self._journal = _Journal()
            if namespace is None:
                self._violations.clear()
                self._counts.clear()
                self._credits.clear()
                return len(old)
            for i in range(len(old)):
                kept_namespace = old.key(i, old.NAMESPACE)
                if kept_namespace != namespace:
                    provider, to = old.key(i, old.PROVIDER), old.key(i, old.TO)
                    self._journal.append(kept_namespace, provider, to, old.blob(i))
            self._violations = [v for v in self._violations if v.namespace != namespace]
            self._counts.pop(namespace, None)
            self._credits = {k: v for k, v in self._credits.items() if k[0] != namespace}
            return len(old) - len(self._journal)

    def issue_token(self, token: str, account: str, expires_at: float) -> None:
        """Remember a token; beyond ``max_tokens`` the oldest issued is revoked."""
        with self._lock:
            self._tokens[token] = (account, expires_at)
            while len(self._tokens) > self.max_tokens:
                del self._tokens[next(iter(self._tokens))]

    def token_account(self, token: str, now: float) -> str | None:
        """The account of a live token."""
        entry = self._tokens.get(token)  # one dict read: atomic, no lock needed
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


#: The fields of a StoredMessage as a tuple, in declaration order (one C call).
_ROW = attrgetter(*(f.name for f in fields(StoredMessage)))
_MEDIA = [f.name for f in fields(StoredMessage)].index("media")


def _encode(message: StoredMessage) -> bytes:
    """A message as a JSON array of its field values.

    orjson serialises a tuple in about a third of the time it takes for the same dataclass
    (which it reads field by field), and the names are left out of every stored message.
    """
    return orjson.dumps(_ROW(message))


def _decode(blob: bytes) -> StoredMessage:
    """The message back from :func:`_encode`."""
    row: list[Any] = orjson.loads(blob)
    row[_MEDIA] = tuple(Media(**m) for m in row[_MEDIA])
    return StoredMessage(*row)
