"""In-memory store: the default in-process (tests, ``create_app()``); gone with the process.

Each namespace is a :class:`_Space` made on first use; its messages live in an
:class:`~mockserver.store.arena.Arena` (byte chunks and one flat index: nothing per message is
a Python object).  The bounds are :class:`~mockserver.store.base.Ledger`'s, shared with
SQLite, so both evict the same messages at the same moment.  Attachments' bytes are kept on a
:class:`~mockserver.store.media.MediaShelf`, within their own budget.

Every verb runs under one lock and never awaits while holding it, so the store is safe from
several event loops and threads (``MockServer`` serves from its own thread).
"""

from __future__ import annotations

import asyncio
import heapq
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from .arena import ID, STATUS, TO, Arena, status_id
from .base import (
    MAX_SCAN,
    SHARED,
    VIOLATION_OVERHEAD,
    Ledger,
    StoreLimits,
)
from .media import MediaShelf
from .records import (
    Message,
    MessageFilter,
    Page,
    StoredMedia,
    Submission,
    Violation,
    decode_exchange,
    decode_head,
    decode_message,
    page_of,
    record_id,
    with_status,
)
from .waiters import Waiters

__all__ = ["BATCH", "MemoryStore"]

#: Most one-recipient submissions queued before they are filed (see ``MemoryStore.append``).
BATCH = 64


class _Space:
    """What one namespace holds."""

    __slots__ = ("accounts", "arena", "control", "violations")

    def __init__(self) -> None:
        self.arena = Arena()
        self.violations: deque[tuple[int, bytes]] = deque()
        self.accounts: dict[str, tuple[Any, float | None]] = {}
        self.control: dict[str, Any] = {}


class MemoryStore:
    """The :class:`~mockserver.store.base.Store` in this process's memory."""

    url = "memory"

    def __init__(self, limits: StoreLimits | None = None) -> None:
        self.limits = limits or StoreLimits()
        self._lock = threading.Lock()
        self._ledger = Ledger(self.limits)
        self._shelf = MediaShelf(self._ledger)
        self._spaces: dict[str, _Space] = {}
        self._seq = 0

        self._vseq = 0
        self._waiters = Waiters()
        #: Appended submissions not yet filed (see :meth:`append`).
        self._pending: deque[tuple[str, Submission]] = deque()
        self._reject = self.limits.on_full == "reject"

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to release."""

    # ------------------------------------------------------------------ namespaces

    def _space(self, namespace: str) -> _Space:
        """The namespace's state (made on first use, evicting the least recently used)."""
        self._ledger.use(namespace)
        space = self._spaces.get(namespace)
        if space is None:
            space = self._spaces[namespace] = _Space()
            victims = self._ledger.surplus_namespaces(keep=namespace)
            for victim in victims:
                self._ledger.forget(victim, evicted=True)
                self._spaces.pop(victim, None)
            self._shelf.drop_namespaces(victims)
        return space

    async def usage(self) -> dict[str, Any]:
        """Counts, bytes, evictions and limits."""
        with self._filed():
            data = self._ledger.usage()
            data["tokens"] = len(self._spaces[SHARED].accounts) if SHARED in self._spaces else 0
        data["store"] = self.url
        return data

    async def namespace_usage(self, namespace: str) -> dict[str, int] | None:
        """One namespace's counts and evictions."""
        with self._filed():
            stats = self._ledger.peek(namespace)
            return stats.to_json() if stats is not None else None

    # ------------------------------------------------------------------ journal

    async def append(self, namespace: str, submission: Submission) -> None:
        """Keep a submission and its messages.

        A one-recipient send in ``evict`` mode is queued and filed with the others that
        arrive in the same turn of the event loop (at most :data:`BATCH`): filing them
        together costs about half as much per send under load as filing each one in the
        middle of its own request (``make bench``, Zoho send), because the encoder and the
        arena stay in the processor's caches.  Every other verb files the queue first, so
        nothing reads a store without what was appended before.  Anything that can fail
        (a 507 in ``reject`` mode), a waiter on the namespace, or a submission with several
        recipients is filed at once.
        """
        with self._lock:
            pending = self._pending
            pending.append((namespace, submission))
            if (
                len(pending) < BATCH
                and len(submission.recipients) == 1
                and not self._reject
                and not self._waiters.wanted(namespace)
            ):
                if len(pending) == 1:
                    self._schedule_flush()
                return
            notify = self._flush_locked()
        if notify:
            self._waiters.offer(notify)

    @contextmanager
    def _filed(self) -> Iterator[None]:
        """The lock, held with every queued submission filed first."""
        with self._lock:
            notify = self._flush_locked() if self._pending else None
            yield
        if notify:
            self._waiters.offer(notify)

    def _schedule_flush(self) -> None:
        """File the queue once the event loop has run the requests of this turn."""
        try:
            asyncio.get_running_loop().call_soon(self._flush)
        except RuntimeError:  # no loop running in this thread: file at once
            self._flush_locked()

    def _flush(self) -> None:
        with self._lock:
            notify = self._flush_locked()
        if notify:
            self._waiters.offer(notify)

    def _flush_locked(self) -> list[Message]:
        """File every queued submission, oldest first; the messages waiters want.

        Consecutive one-recipient submissions to one namespace (the queued kind) are filed as
        one run: one ring check, one eviction, one arena append and one ledger update for all
        of them rather than one each (``bench/inproc.py``, 2sms send at the default ring, with
        the arena's eviction by column sums: 166 to 153 µs a send).
        The store ends as it would have after filing them one by one, since reads see it only
        once the whole queue is filed; a run holds at most ``max_messages`` so that it never
        has to evict its own first members.
        """
        notify: list[Message] = []
        pending = self._pending
        cap = self.limits.max_messages
        while pending:
            namespace, submission = pending.popleft()
            run = [submission]
            if _single(submission):
                while (
                    pending
                    and len(run) < cap
                    and pending[0][0] == namespace
                    and _single(pending[0][1])
                ):
                    run.append(pending.popleft()[1])
            self._file(namespace, run, notify)
        return notify

    def _file(self, namespace: str, run: list[Submission], notify: list[Message]) -> None:
        """File ``run`` (submissions of one namespace, in order) as one step."""
        parts = [submission.encode() for submission in run]
        keys = [(r.id, r.to, status_id(r.status)) for s in run for r in s.recipients]
        n = len(keys)
        ledger = self._ledger
        excess = ledger.ring_excess(namespace, n)  # may raise StoreFullError
        space = self._space(namespace)
        if excess:
            self._evict(namespace, space, excess)
        arena = space.arena
        seq = self._seq + 1
        size = arena.append(seq, parts, keys)
        for submission in run:
            for recipient in submission.recipients:
                recipient.seq = seq  # found again by seq without a scan (the lifecycle)
                seq += 1
        self._seq += n
        ledger.added(namespace, n, size)
        if run[0].media_data:  # never in a run of several
            self._shelf.put(namespace, run[0], self._seq)
        while ledger.over_budget():
            victim = ledger.budget_victim(namespace)
            if victim is None:
                break
            self._evict(victim, self._spaces[victim], 1)
        if self._waiters.wanted(namespace):
            total = len(arena.seqs)
            notify += self._messages(namespace, arena, range(total - n, total))

    def _evict(self, namespace: str, space: _Space, count: int) -> int:
        arena = space.arena
        dropped, freed = arena.evict(count)
        self._ledger.evicted(namespace, dropped, freed)
        if self._shelf.holds(namespace):
            # The attachments of submissions left without messages go with them.
            self._shelf.drop_before(namespace, arena.seqs[arena.first] if len(arena) else None)
        return dropped

    @staticmethod
    def _messages(namespace: str, arena: Arena, positions: Iterable[int]) -> list[Message]:
        heads: dict[tuple[int, int], dict[str, Any]] = {}
        return [_decode(namespace, arena, i, heads) for i in positions]

    def _locate(
        self, message_id: str, namespace: str | None, seq: int = 0
    ) -> tuple[str, Arena, int] | None:
        """The namespace, arena and position of a live message: by ``seq`` when it is
        given (a bisection), else by a scan of the namespace's ids."""
        key = hash(message_id)
        if seq and namespace is not None:
            space = self._spaces.get(namespace)
            if space is not None:
                arena = space.arena
                i = bisect_left(arena.seqs, seq, arena.first)
                if i < len(arena.seqs) and arena.seqs[i] == seq and arena.key(i, ID) == key:
                    return namespace, arena, i
        names = [namespace] if namespace is not None else list(self._spaces)
        for name in names:
            space = self._spaces.get(name)
            if space is None:
                continue
            for i in space.arena.find(ID, key):
                if record_id(space.arena.row(i)) == message_id:
                    return name, space.arena, i
        return None

    async def get(
        self, message_id: str, namespace: str | None = None, *, seq: int = 0
    ) -> Message | None:
        """One message by id."""
        with self._filed():
            found = self._locate(message_id, namespace, seq)
            return self._messages(found[0], found[1], (found[2],))[0] if found else None

    async def submission(self, submission_id: str, namespace: str) -> dict[str, Any] | None:
        """A submission's exchange by id."""
        with self._filed():
            space = self._spaces.get(namespace)
            if space is None:
                return None
            arena = space.arena
            blob = None
            seen: set[tuple[int, int]] = set()
            for i in range(arena.first, len(arena.seqs)):
                where = arena.head_key(i)
                if where in seen:
                    continue
                seen.add(where)
                if record_id(arena.head(i)) == submission_id:
                    blob = arena.exchange(i)
                    break
        return decode_exchange(bytes(blob)) if blob is not None else None

    async def query(
        self,
        where: MessageFilter,
        *,
        cursor: int | None = None,
        limit: int = 100,
        descending: bool = False,
    ) -> Page:
        """A page of messages after ``cursor``.

        At most :data:`~mockserver.store.base.MAX_SCAN` messages are examined per page, so a
        filter that skips most of a large journal holds the lock for milliseconds, not
        seconds; the page is then shorter than ``limit`` and ``next_cursor`` goes on from
        where the scan stopped.
        """
        with self._filed():
            if where.namespace is not None:
                names = [where.namespace] if where.namespace in self._spaces else []
            else:
                names = [n for n, s in self._spaces.items() if len(s.arena)]
            budget = [MAX_SCAN]
            stops: list[int] = []
            streams = [self._scan(n, where, cursor, descending, budget, stops) for n in names]
            merged = (
                heapq.merge(*streams, key=lambda m: m.seq, reverse=descending)
                if len(streams) > 1
                else (streams[0] if streams else iter(()))
            )
            items: list[Message] = []
            for message in merged:
                items.append(message)
                if len(items) == limit + 1:
                    break
        return page_of(items, limit, stops, descending)

    def _scan(
        self,
        namespace: str,
        where: MessageFilter,
        cursor: int | None,
        descending: bool,
        budget: list[int],
        stops: list[int],
    ) -> Iterator[Message]:
        """Matching messages of one namespace after ``cursor``, in seq order.

        Each message examined takes one from ``budget``; once it is spent the scan stops
        (after at least one message, so every page makes progress) and adds the seq it
        stopped at to ``stops``.
        """
        arena = self._spaces[namespace].arena
        to_key = hash(where.to) if where.to is not None else None
        status_key = status_id(where.status) if where.status is not None else None
        heads: dict[tuple[int, int], dict[str, Any]] = {}
        i = arena.start(cursor, descending)
        step, stop = (-1, arena.first - 1) if descending else (1, len(arena.seqs))
        examined = 0
        while i != stop:
            if examined and budget[0] <= 0:
                stops.append(arena.seqs[i - step])
                return
            examined += 1
            budget[0] -= 1
            if (to_key is None or arena.key(i, TO) == to_key) and (
                status_key is None or arena.key(i, STATUS) == status_key
            ):
                message = _decode(namespace, arena, i, heads)
                if where.matches(message):
                    yield message
            i += step

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
        """Change a message's status and add the change to its history."""
        with self._filed():
            found = self._locate(message_id, namespace, seq)
            if found is None:
                return None
            _, arena, i = found
            row = with_status(bytes(arena.row(i)), status, at, reason)
            self._ledger.grew(namespace, arena.set_row(i, row, status_id(status)))
            message = self._messages(namespace, arena, (i,))[0]
        self._waiters.offer([message])
        return message

    async def wait(
        self, where: MessageFilter, *, timeout: float, cursor: int | None = None
    ) -> Message | None:
        """The first message matching ``where`` after ``cursor``, waiting for one."""
        with self._filed():
            found = self._first_locked(where, cursor)
            if found is not None:
                return found
            waiter = self._waiters.add(where, cursor)
            stats = self._ledger.peek(where.namespace) if where.namespace is not None else None
            if stats is not None:
                stats.waiters += 1
        try:
            return await self._waiters.result(waiter, timeout)
        finally:
            with self._lock:
                self._waiters.remove(waiter)
                if where.namespace is not None:
                    stats = self._ledger.peek(where.namespace)
                    if stats is not None and stats.waiters:
                        stats.waiters -= 1

    def _first_locked(self, where: MessageFilter, cursor: int | None) -> Message | None:
        names = [where.namespace] if where.namespace is not None else list(self._spaces)
        best: Message | None = None
        for name in names:
            if name not in self._spaces:
                continue
            found = next(self._scan(name, where, cursor, False, [1 << 62], []), None)
            if found is not None and (best is None or found.seq < best.seq):
                best = found
        return best

    async def media(self, namespace: str, submission_id: str, index: int) -> StoredMedia | None:
        """The kept bytes of one attachment of a submission."""
        with self._filed():
            return self._shelf.get(namespace, submission_id, index)

    async def kept_media(self, namespace: str, submission_id: str) -> frozenset[int]:
        """Which attachments of a submission are still kept."""
        with self._filed():
            return self._shelf.kept(namespace, submission_id)

    async def record_violations(self, namespace: str, violations: Sequence[Violation]) -> None:
        """Keep violations; the oldest of the namespace go beyond ``max_violations``."""
        if not violations:
            return
        blobs = [v.encode() for v in violations]
        with self._filed():
            drop = self._ledger.violation_room(namespace, len(blobs))
            space = self._space(namespace)
            size = 0
            for _ in range(drop):
                size -= len(space.violations.popleft()[1]) + VIOLATION_OVERHEAD
            for blob in blobs:
                self._vseq += 1
                space.violations.append((self._vseq, blob))
                size += len(blob) + VIOLATION_OVERHEAD
            # Beyond max_violations per namespace the ring keeps the newest only.
            extra = len(space.violations) - self.limits.max_violations
            for _ in range(max(0, extra)):
                size -= len(space.violations.popleft()[1]) + VIOLATION_OVERHEAD
            self._ledger.violations_added(namespace, len(blobs), size, drop + max(0, extra))

    async def violations(
        self,
        namespace: str | None = None,
        provider: str | None = None,
        *,
        cursor: int | None = None,
        limit: int = 100,
    ) -> Page:
        """A page of violations, oldest first."""
        with self._filed():
            names = [namespace] if namespace is not None else list(self._spaces)
            rows = [
                (seq, name, blob)
                for name in names
                if name in self._spaces
                for seq, blob in self._spaces[name].violations
                if cursor is None or seq > cursor
            ]
        rows.sort(key=lambda r: r[0])
        items: list[Violation] = []
        for seq, name, blob in rows:
            v = Violation.decode(seq, name, blob)
            if provider is None or v.provider == provider:
                items.append(v)
                if len(items) == limit + 1:
                    break
        more = len(items) > limit
        del items[limit:]
        return Page(items, items[-1].seq if more and items else None)

    async def reset(self, namespace: str | None = None) -> int:
        """Forget one namespace, or all but the shared one; returns messages dropped."""
        with self._filed():
            if namespace is not None:
                if namespace == SHARED:
                    return 0
                old = {namespace: self._spaces.pop(namespace)} if namespace in self._spaces else {}
                dropped = self._ledger.forget(namespace, evicted=False)
            else:
                old = {n: s for n, s in self._spaces.items() if n != SHARED}
                dropped = sum(self._ledger.forget(n, evicted=False) for n in old)
                self._spaces = {n: s for n, s in self._spaces.items() if n == SHARED}
            self._shelf.drop_namespaces(list(old))
        # Freeing a large journal takes a while: do it off the event loop.
        if dropped > 10_000:
            await asyncio.to_thread(old.clear)
        return dropped

    # ------------------------------------------------------------------ accounts

    async def get_account(self, namespace: str, key: str, *, now: float) -> Any:
        """The value of ``key``, None when absent or expired."""
        with self._lock:
            space = self._spaces.get(namespace)
            entry = space.accounts.get(key) if space is not None else None
        if entry is None or (entry[1] is not None and entry[1] <= now):
            return None
        return entry[0]

    async def put_account(
        self, namespace: str, key: str, value: Any, *, now: float, expires_at: float | None = None
    ) -> bool:
        """Set ``key``; False when the namespace has no room even after dropping expired keys."""
        self._check_value(value)
        with self._lock:
            space = self._space(namespace)
            cap = self.limits.max_shared_keys if namespace == SHARED else self.limits.max_keys
            if key not in space.accounts and len(space.accounts) >= cap:
                expired = [
                    k for k, (_, exp) in space.accounts.items() if exp is not None and exp <= now
                ]
                for k in expired:
                    del space.accounts[k]
                if len(space.accounts) >= cap:
                    return False
            space.accounts[key] = (value, expires_at)
            return True

    async def add_account(
        self, namespace: str, key: str, delta: int, *, start: int, floor: int = 0
    ) -> tuple[int, int] | None:
        """Atomically add ``delta`` to an integer key; None when it would go below ``floor``."""
        with self._lock:
            space = self._space(namespace)
            entry = space.accounts.get(key)
            before = int(entry[0]) if entry is not None else start
            after = before + delta
            if after < floor:
                return None
            if entry is None and len(space.accounts) >= self.limits.max_keys:
                return None
            space.accounts[key] = (after, None)
            return before, after

    # ------------------------------------------------------------------ control

    async def get_control(self, namespace: str, name: str) -> Any:
        """A control document, None when absent."""
        with self._lock:
            space = self._spaces.get(namespace)
            return space.control.get(name) if space is not None else None

    async def put_control(self, namespace: str, name: str, value: Any) -> bool:
        """Set a control document; False at the entry limit."""
        self._check_value(value)
        with self._lock:
            space = self._space(namespace)
            if name not in space.control and len(space.control) >= self.limits.max_keys:
                return False
            space.control[name] = value
            return True

    async def delete_control(self, namespace: str, name: str) -> bool:
        """Remove a control document."""
        with self._lock:
            space = self._spaces.get(namespace)
            return space is not None and space.control.pop(name, None) is not None

    def _check_value(self, value: Any) -> None:
        size = len(orjson.dumps(value))
        if size > self.limits.max_value_bytes:
            raise ValueError(
                f"a stored value is at most {self.limits.max_value_bytes} bytes of JSON, got {size}"
            )


def _decode(
    namespace: str, arena: Arena, i: int, heads: dict[tuple[int, int], dict[str, Any]]
) -> Message:
    """Message ``i`` of ``arena``, its submission head decoded once per listing."""
    where = arena.head_key(i)
    head = heads.get(where)
    if head is None:
        head = heads[where] = decode_head(bytes(arena.head(i)))
    return decode_message(arena.seqs[i], namespace, bytes(arena.row(i)), head)


def _single(submission: Submission) -> bool:
    """A submission that may be filed in a run with its neighbours: one message, no media."""
    return len(submission.recipients) == 1 and not submission.media_data
