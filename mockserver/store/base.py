"""The store's verbs (async, no HTTP) and the bounds every back-end keeps in the same way.

A store has three parts, each partitioned by namespace:

- :class:`Journal`: accepted requests and their messages, status changes, contract violations,
  paged queries and waits that wake on a new message without polling;
- :class:`Accounts`: a key-value space with expiry and an atomic add (2sms tokens and credits,
  and whatever a later provider needs), so providers never widen the store's protocol;
- :class:`Control`: small JSON documents per namespace (fault rules, the clock, the seed).

The bytes of MMS attachments are kept beside the journal, not in its records, within a byte
budget of their own (``max_kept_media_bytes``): the oldest go first, and the message then
still shows its attachment's summary, with ``kept`` false.

Namespaces are created on first use, like moto's per-account back-ends.  The namespace
:data:`SHARED` (the empty name, which no request can pick) holds what belongs to no namespace
(tokens): it is never evicted and never reset.

Bounds are kept by :class:`Ledger`, one policy object that every back-end consults, so memory
and SQLite evict the same messages at the same moment.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..errors import StoreFullError
from .records import (
    Message,
    MessageFilter,
    Page,
    RecordBounds,
    StoredMedia,
    Submission,
    Violation,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "SHARED",
    "Accounts",
    "Control",
    "Journal",
    "Ledger",
    "Store",
    "StoreLimits",
]

DEFAULT_NAMESPACE = "default"
#: Namespace of state that belongs to no test (issued tokens); never evicted nor reset.
SHARED = ""

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoreLimits:
    """Every bound of a store; the defaults are the documented ones (README, "Limits")."""

    #: Messages kept per namespace.  Beyond it the oldest is evicted (and counted), or with
    #: ``on_full="reject"`` the send is refused with 507.
    max_messages: int = 10_000
    on_full: Literal["evict", "reject"] = "evict"
    #: Namespaces kept; a new one beyond it evicts the least recently used idle one.
    max_namespaces: int = 10_000
    #: Bytes of journal records kept across all namespaces (messages, requests, violations);
    #: beyond it the oldest messages of the least recently used namespace are evicted.
    max_bytes: int = 64 * MiB
    #: Violations kept per namespace (a ring: the oldest go first, counted).
    max_violations: int = 1_000
    #: Live keys in the shared namespace (issued tokens): expired ones are dropped first,
    #: then a new key is refused.
    max_shared_keys: int = 10_000
    #: Keys per namespace in Accounts (credit balances) and entries in Control.
    max_keys: int = 1_000
    #: Largest JSON document one Accounts or Control value may be.
    max_value_bytes: int = 64 * 1024
    #: Bytes of attachments (MMS media) kept across all namespaces; beyond it the oldest
    #: attachments are dropped (and counted), their messages kept.
    max_kept_media_bytes: int = 64 * MiB
    records: RecordBounds = field(default_factory=RecordBounds)

    def __post_init__(self) -> None:
        if self.on_full not in ("evict", "reject"):
            raise ValueError(f"on_full must be 'evict' or 'reject', got {self.on_full!r}")
        for name in (
            "max_messages",
            "max_namespaces",
            "max_bytes",
            "max_violations",
            "max_shared_keys",
            "max_keys",
            "max_value_bytes",
            "max_kept_media_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


#: Messages one page of a listing examines at most (a filter that matches few of them gives
#: a short page and a cursor to go on); keeps every listing to milliseconds.
MAX_SCAN = 10_000

#: What a kept message costs beyond its encoded row (ids, index entries), for the byte budget.
MESSAGE_OVERHEAD = 160
#: Likewise for a submission and a violation.
SUBMISSION_OVERHEAD = 240
VIOLATION_OVERHEAD = 96


@dataclass(slots=True)
class NamespaceStats:
    """What one namespace holds, and what was evicted from it."""

    messages: int = 0
    bytes: int = 0
    violations: int = 0
    evicted_messages: int = 0
    evicted_violations: int = 0
    #: Waits in progress; a namespace with waiters is not idle and is never evicted.
    waiters: int = 0

    def to_json(self) -> dict[str, int]:
        """Counts as the admin API shows them."""
        return {
            "messages": self.messages,
            "bytes": self.bytes,
            "violations": self.violations,
            "evicted_messages": self.evicted_messages,
            "evicted_violations": self.evicted_violations,
        }


class Ledger:
    """The bounds policy: counts and bytes per namespace, LRU order, evictions.

    Not thread-safe: each back-end calls it under its own lock (memory) or from its single
    writer thread (SQLite).  It decides; the back-end removes the data and reports back.
    """

    def __init__(self, limits: StoreLimits) -> None:
        self.limits = limits
        self.spaces: OrderedDict[str, NamespaceStats] = OrderedDict()
        self.total_bytes = 0
        self.total_messages = 0
        self.evicted_namespaces = 0
        #: Evictions of namespaces that no longer exist (so totals never go down).
        self._gone_messages = 0
        self._gone_violations = 0
        #: Attachments whose bytes are kept, their bytes, and those dropped to stay within
        #: ``max_kept_media_bytes`` (an attachment that goes with its message is not counted:
        #: the message's eviction is).
        self.media = 0
        self.media_bytes = 0
        self.evicted_media = 0

    def use(self, namespace: str) -> NamespaceStats:
        """The stats of ``namespace``, created if new, marked most recently used."""
        stats = self.spaces.get(namespace)
        if stats is None:
            stats = self.spaces[namespace] = NamespaceStats()
        else:
            self.spaces.move_to_end(namespace)
        return stats

    def peek(self, namespace: str) -> NamespaceStats | None:
        """The stats of ``namespace`` without touching its LRU place."""
        return self.spaces.get(namespace)

    def surplus_namespaces(self, keep: str) -> list[str]:
        """Idle namespaces to evict so that at most ``max_namespaces`` remain (LRU first)."""
        # The shared namespace (tokens) is not one of the max_namespaces.
        excess = len(self.spaces) - (SHARED in self.spaces) - self.limits.max_namespaces
        out: list[str] = []
        if excess <= 0:
            return out
        for name, stats in self.spaces.items():
            if len(out) == excess:
                break
            if name not in (keep, SHARED) and stats.waiters == 0:
                out.append(name)
        return out

    def ring_excess(self, namespace: str, incoming: int) -> int:
        """Oldest messages of ``namespace`` to evict before ``incoming`` more are kept.

        Raises :class:`StoreFullError` instead when the store is set to refuse.
        """
        stats = self.spaces.get(namespace) or self.use(namespace)
        over = stats.messages + incoming - self.limits.max_messages
        if over <= 0:
            return 0
        if self.limits.on_full == "reject":
            raise StoreFullError(
                f"sms-mockserver: namespace {namespace!r} holds {stats.messages} messages and "
                f"the limit is {self.limits.max_messages} (max_messages, on_full = reject); "
                f"this send has {incoming} (one message per recipient); DELETE /_mock/messages "
                "to clear it"
            )
        return min(over, stats.messages)

    def over_budget(self) -> bool:
        """True while the journal holds more than ``max_bytes``."""
        return self.total_bytes > self.limits.max_bytes

    def budget_victim(self, current: str) -> str | None:
        """The namespace whose oldest message goes next to get under the byte budget:
        the least recently used one that holds messages, ``current`` only as a last resort."""
        for name, stats in self.spaces.items():
            if name != current and stats.messages:
                return name
        own = self.spaces.get(current)
        return current if own is not None and own.messages else None

    def added(self, namespace: str, messages: int, size: int) -> None:
        """``messages`` new messages and ``size`` bytes are kept in ``namespace``."""
        stats = self.spaces.get(namespace) or self.use(namespace)
        stats.messages += messages
        stats.bytes += size
        self.total_messages += messages
        self.total_bytes += size

    def grew(self, namespace: str, size: int) -> None:
        """A kept record of ``namespace`` changed size by ``size`` bytes (may be negative)."""
        stats = self.spaces.get(namespace)
        if stats is not None:
            stats.bytes += size
            self.total_bytes += size

    def evicted(self, namespace: str, messages: int, size: int) -> None:
        """``messages`` of ``namespace`` and ``size`` bytes were evicted."""
        stats = self.spaces[namespace]
        stats.messages -= messages
        stats.evicted_messages += messages
        stats.bytes -= size
        self.total_messages -= messages
        self.total_bytes -= size

    def violations_added(self, namespace: str, count: int, size: int, evicted: int) -> None:
        """``count`` violations kept (``evicted`` of the oldest dropped), net ``size`` bytes."""
        stats = self.use(namespace)
        stats.violations += count - evicted
        stats.evicted_violations += evicted
        stats.bytes += size
        self.total_bytes += size

    def violation_room(self, namespace: str, incoming: int) -> int:
        """How many of the oldest violations of ``namespace`` make room for ``incoming``."""
        stats = self.use(namespace)
        return max(
            0, min(stats.violations, stats.violations + incoming - self.limits.max_violations)
        )

    def forget(self, namespace: str, *, evicted: bool) -> int:
        """Drop ``namespace`` (reset or evicted); returns the messages it held."""
        stats = self.spaces.pop(namespace, None)
        if stats is None:
            return 0
        self.total_messages -= stats.messages
        self.total_bytes -= stats.bytes
        if evicted:
            self.evicted_namespaces += 1
            self._gone_messages += stats.evicted_messages + stats.messages
            self._gone_violations += stats.evicted_violations + stats.violations
        return stats.messages

    def media_fits(self, size: int) -> bool:
        """Whether an attachment of ``size`` bytes can be kept at all (else it is counted as
        evicted at once, and its message kept without it)."""
        if size <= self.limits.max_kept_media_bytes:
            return True
        self.evicted_media += 1
        return False

    def media_added(self, size: int) -> None:
        """One attachment of ``size`` bytes is kept."""
        self.media += 1
        self.media_bytes += size

    def media_over_budget(self) -> bool:
        """True while the kept attachments hold more than ``max_kept_media_bytes``."""
        return self.media_bytes > self.limits.max_kept_media_bytes

    def media_dropped(self, count: int, size: int, *, evicted: bool) -> None:
        """``count`` attachments of ``size`` bytes in all are no longer kept: ``evicted``
        for the byte budget, else with their messages (or a reset)."""
        self.media -= count
        self.media_bytes -= size
        if evicted:
            self.evicted_media += count

    def usage(self) -> dict[str, Any]:
        """Counts and limits, as ``/_mock/health`` shows them."""
        spaces = [s for name, s in self.spaces.items() if name != SHARED]
        lim = self.limits
        return {
            "namespaces": len(spaces),
            "messages": self.total_messages,
            "bytes": self.total_bytes,
            "violations": sum(s.violations for s in spaces),
            "media": {"kept": self.media, "bytes": self.media_bytes},
            "evicted": {
                "messages": self._gone_messages + sum(s.evicted_messages for s in spaces),
                "violations": self._gone_violations + sum(s.evicted_violations for s in spaces),
                "namespaces": self.evicted_namespaces,
                "media": self.evicted_media,
            },
            "limits": {
                "max_messages": lim.max_messages,
                "on_full": lim.on_full,
                "max_namespaces": lim.max_namespaces,
                "max_bytes": lim.max_bytes,
                "max_violations": lim.max_violations,
                "max_tokens": lim.max_shared_keys,
                "max_kept_media_bytes": lim.max_kept_media_bytes,
            },
        }


class Journal(Protocol):
    """Accepted requests, their messages, status changes and violations."""

    async def append(self, namespace: str, submission: Submission) -> None:
        """Keep one accepted request and one message per recipient, all or none.

        Old messages evicted to make room are counted in :meth:`Store.usage`; raises
        :class:`~mockserver.errors.StoreFullError` when the store is set to refuse instead.
        The write is durable (for a durable back-end) when this returns, and every verb
        called after it sees it.
        """
        ...

    async def get(
        self, message_id: str, namespace: str | None = None, *, seq: int = 0
    ) -> Message | None:
        """One message by id (in one namespace, or in any)."""
        ...

    async def submission(self, submission_id: str, namespace: str) -> dict[str, Any] | None:
        """A submission's exchange (headers, request, status code, response) by id."""
        ...

    async def query(
        self,
        where: MessageFilter,
        *,
        cursor: int | None = None,
        limit: int = 100,
        descending: bool = False,
    ) -> Page:
        """A page of messages after ``cursor`` (a ``seq``), oldest first unless
        ``descending``; ``Page.next_cursor`` continues it."""
        ...

    async def set_status(
        self,
        message_id: str,
        namespace: str,
        status: str,
        at: float,
        reason: str | None = None,
        *,
        seq: int = 0,
    ) -> Message | None:
        """Change a message's status, adding the change to its history; None if unknown.

        ``seq`` (in ``get`` too) is the message's seq when the caller knows it
        (:attr:`Recipient.seq`): a hint a store may use to find it without a search."""
        ...

    async def wait(
        self, where: MessageFilter, *, timeout: float, cursor: int | None = None
    ) -> Message | None:
        """The first message matching ``where`` after ``cursor``, waiting up to ``timeout``
        seconds for one to be appended (or to change status) without polling."""
        ...

    async def media(self, namespace: str, submission_id: str, index: int) -> StoredMedia | None:
        """The kept bytes of attachment ``index`` (from 0) of a submission; None when they
        are not kept (evicted, the submission unknown, no such attachment)."""
        ...

    async def kept_media(self, namespace: str, submission_id: str) -> frozenset[int]:
        """Which attachments of a submission still have their bytes kept (indexes)."""
        ...

    async def record_violations(self, namespace: str, violations: Sequence[Violation]) -> None:
        """Keep contract violations (a ring per namespace)."""
        ...

    async def violations(
        self,
        namespace: str | None = None,
        provider: str | None = None,
        *,
        cursor: int | None = None,
        limit: int = 100,
    ) -> Page:
        """A page of violations, oldest first."""
        ...

    async def reset(self, namespace: str | None = None) -> int:
        """Forget one namespace (or every one but :data:`SHARED`): messages, violations,
        accounts and control.  Returns the number of messages dropped."""
        ...


class Accounts(Protocol):
    """A key-value space per namespace with expiry and an atomic add."""

    async def get_account(self, namespace: str, key: str, *, now: float) -> Any:
        """The value of ``key`` (None when absent or expired at ``now``)."""
        ...

    async def put_account(
        self, namespace: str, key: str, value: Any, *, now: float, expires_at: float | None = None
    ) -> bool:
        """Set ``key``.  When the namespace is at its key limit, expired keys are dropped
        first; False (nothing written) when there is still no room."""
        ...

    async def add_account(
        self, namespace: str, key: str, delta: int, *, start: int, floor: int = 0
    ) -> tuple[int, int] | None:
        """Atomically add ``delta`` to the integer at ``key`` (``start`` when absent).

        Returns (before, after), or None (nothing changed) when the result would be below
        ``floor``: a balance is read with ``delta=0`` and never overdrawn.
        """
        ...


class Control(Protocol):
    """Small JSON documents per namespace: fault rules, the clock, the seed."""

    async def get_control(self, namespace: str, name: str) -> Any:
        """The document ``name`` of ``namespace`` (None when absent)."""
        ...

    async def put_control(self, namespace: str, name: str, value: Any) -> bool:
        """Set a document; False when the namespace is at its entry limit."""
        ...

    async def delete_control(self, namespace: str, name: str) -> bool:
        """Remove a document; False when there was none."""
        ...


class Store(Journal, Accounts, Control, Protocol):
    """A whole back-end: journal, accounts and control, with a lifecycle."""

    limits: StoreLimits
    #: A short description for logs and ``/_mock/health`` (``memory``, ``sqlite:///…``).
    url: str

    async def open(self) -> None:
        """Make the store ready (idempotent)."""
        ...

    async def close(self) -> None:
        """Release files and threads; pending writes are finished first."""
        ...

    async def usage(self) -> dict[str, Any]:
        """Counts, bytes, evictions and limits."""
        ...

    async def namespace_usage(self, namespace: str) -> dict[str, int] | None:
        """One namespace's counts and evictions (None when it does not exist)."""
        ...
