"""The message lifecycle: a transition table, timed steps on each namespace's clock.

A scheduled message waits as ``scheduled`` until its send time on its namespace's clock,
then is ``queued``.  With the ``lifecycle_progress`` setting, every queued message moves on
by itself, ``queued -> sent -> delivered`` (after ``sent_after_seconds``, then
``delivered_after_seconds`` more); a 2sms message with an ``ExpiryDate`` that would be
delivered after it ends ``expired`` instead.  A test can force any state with a reason
(``POST /_mock/messages/{id}/status``), freeze its namespace's clock and advance it
(``POST /_mock/clock``): the steps due by the new time are taken before the call returns.

A recurring send (one that comes with later send times, :attr:`Submission.recurs`) makes
each later occurrence when its namespace's clock reaches it: a new submission, with new
message ids, that names the recurring send it comes from (``recurrence`` in the journal).

The states are the journal's; what each is called by each provider is in the README ("Time
and lifecycle").  The table is data (:data:`TRANSITIONS`), as moto's state manager keeps
its transitions: a step the table does not allow (a message forced to ``failed`` meanwhile)
is dropped, not applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from .config import Settings
from .errors import MockServerError, StoreFullError
from .runtime import Runtime
from .store import Message, MessageFilter, Recipient, Store, Submission

#: Told of every status change a message goes through after it was accepted (the delivery
#: callbacks).
StatusListener = Callable[[str, Message], Awaitable[None]]

__all__ = ["STATES", "TERMINAL", "TRANSITIONS", "Lifecycle", "LifecycleError"]

#: Every state a message can be in.
STATES = (
    "scheduled",
    "queued",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "expired",
    "cancelled",
)
#: The steps the lifecycle takes by itself, and the ones a forced status may take.
TRANSITIONS: dict[str, frozenset[str]] = {
    "scheduled": frozenset({"queued", "cancelled", "expired"}),
    "queued": frozenset({"sent", "undelivered", "failed", "expired", "cancelled"}),
    "sent": frozenset({"delivered", "undelivered", "failed", "expired"}),
}
TERMINAL = frozenset(STATES) - frozenset(TRANSITIONS)
#: What comes after a state when nothing goes wrong.
_NEXT = {"scheduled": "queued", "queued": "sent", "sent": "delivered"}


class LifecycleError(MockServerError):
    """A status change the lifecycle refuses (an unknown state)."""


@dataclass(slots=True)
class _Recurring:
    """What the later occurrences of a recurring send copy, and when they fall."""

    source: Submission
    times: Iterator[float]
    number: int = 1


@dataclass(order=True, slots=True)
class _Step:
    at: float
    order: int
    message_id: str = field(compare=False)
    status: str = field(compare=False)
    expire_at: float | None = field(compare=False, default=None)
    #: The recipient record, whose ``seq`` the store sets when it files it (0: unknown).
    recipient: Recipient | None = field(compare=False, default=None)
    #: Set for the step that makes the next occurrence of a recurring send.
    recurring: _Recurring | None = field(compare=False, default=None)


class Lifecycle:
    """The pending steps of every namespace, taken when their clock reaches them."""

    def __init__(self, store: Store, runtime: Runtime, settings: Settings) -> None:
        self.store = store
        self.runtime = runtime
        self.progress = settings.lifecycle_progress
        #: How long a message stays in each state that moves on by itself (with progress).
        self._stay = {
            "queued": float(settings.sent_after_seconds),
            "sent": float(settings.delivered_after_seconds),
        }
        self.max_pending = settings.max_pending_transitions
        self._steps: dict[str, list[_Step]] = {}  # namespace -> heap
        self._pending = 0
        #: Messages accepted while max_pending steps were waiting: they keep their status.
        self.untracked = 0
        #: Occurrences of recurring sends made, and refused by a full store (on_full=reject).
        self.occurrences = 0
        self.occurrences_refused = 0
        self.listeners: list[StatusListener] = []
        self._order = itertools.count()
        # The runner's wake-up, on the runner's loop: requests may be served on another
        # (an in-process client's), so it is set through that loop, thread-safely.
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakes_at = 0.0  # when the runner wakes up next (real-clock epoch seconds)

    # ---------------------------------------------------------- planning

    def track(self, namespace: str, submission: Submission) -> Awaitable[None] | None:
        """Plan the first step of each message of a stored submission (the pipeline's
        stored hook); None when nothing of it moves by itself (the usual send)."""
        if not self.progress and submission.send_at is None and submission.recurs is None:
            return None
        return self._track(namespace, submission)

    async def _track(self, namespace: str, submission: Submission) -> None:
        self._plan_submission(namespace, submission, self.runtime.now(namespace))
        if submission.recurs is not None:
            # What an occurrence copies, without the request, headers and answer it
            # would otherwise keep in memory for as long as the recurrence lasts.
            source = Submission(
                id=submission.id,
                provider=submission.provider,
                operation=submission.operation,
                created_at=submission.created_at,
                sender=submission.sender,
                text=submission.text,
                encoding=submission.encoding,
                recipients=submission.recipients,
                media=submission.media,
                expire_at=submission.expire_at,
                notify=submission.notify,
            )
            self._plan_next(namespace, _Recurring(source, submission.recurs))
        await self.run_due(namespace)

    def _plan_submission(self, namespace: str, submission: Submission, now: float) -> None:
        for recipient in submission.recipients:
            if recipient.status in TERMINAL:
                continue
            if recipient.status == "scheduled" and submission.send_at is not None:
                at = submission.send_at
            elif recipient.status == "queued" and self.progress:
                at = now + self._stay["queued"]
            else:
                continue
            status = _NEXT[recipient.status]
            self._plan(namespace, recipient.id, status, at, submission.expire_at, recipient)

    def _plan_next(self, namespace: str, recurring: _Recurring) -> None:
        """Plan the next occurrence of a recurring send, if it has one."""
        at = next(recurring.times, None)
        if at is None:
            return
        if self._pending >= self.max_pending:
            self.untracked += 1
            return
        step = _Step(at, next(self._order), "", "", recurring=recurring)
        heapq.heappush(self._steps.setdefault(namespace, []), step)
        self._pending += 1
        self._wake_for(at)

    def _plan(
        self,
        namespace: str,
        message_id: str,
        status: str,
        at: float,
        expire_at: float | None,
        recipient: Recipient | None = None,
    ) -> None:
        if status == "delivered" and expire_at is not None and expire_at < at:
            status, at = "expired", expire_at
        if self._pending >= self.max_pending:
            self.untracked += 1
            return
        heap = self._steps.setdefault(namespace, [])
        step = _Step(at, next(self._order), message_id, status, expire_at, recipient)
        heapq.heappush(heap, step)
        self._pending += 1
        self._wake_for(at)

    def _wake_for(self, at: float) -> None:
        loop, wake = self._loop, self._wake
        # Woken only for a step due before the runner's planned wake-up (the thread-safe
        # call costs more than the rest of a send's planning).
        if loop is not None and wake is not None and at < self._wakes_at:
            self._wakes_at = at
            with contextlib.suppress(RuntimeError):  # the runner's loop has just closed
                loop.call_soon_threadsafe(wake.set)

    async def resume(self) -> int:
        """Plan the steps of the messages a store kept from an earlier run (the app's
        lifespan, before any request): a scheduled message goes out at its send time, and
        with ``lifecycle_progress`` a queued or sent one moves on from its last change.
        How many steps were planned.

        The later occurrences of a recurring send are not taken up: what makes them (the
        provider's reading of the request) is not kept, so a restart ends a recurrence.
        """
        statuses = ("scheduled", "queued", "sent") if self.progress else ("scheduled",)
        planned = self._pending
        for status in statuses:
            cursor: int | None = None
            while True:
                page = await self.store.query(
                    MessageFilter(status=status), cursor=cursor, limit=1000
                )
                for message in page.items:
                    self._resume(message)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        return self._pending - planned

    def _resume(self, message: Message) -> None:
        last = message.history[-1].at if message.history else message.created_at
        if message.status == "scheduled":
            if message.send_at is None:
                return
            at = message.send_at
        else:
            at = last + self._stay[message.status]
        status = _NEXT[message.status]
        self._plan(message.namespace, message.id, status, at, message.expire_at)

    # ---------------------------------------------------------- taking steps

    async def run_due(self, namespace: str) -> int:
        """Take the namespace's steps due by its clock now; how many were taken."""
        taken = 0
        # A message has one pending step at a time, so two callers (the runner, a clock
        # advance) never take steps of the same message at once.
        heap = self._steps.get(namespace)
        while heap and heap[0].at <= self.runtime.now(namespace):
            step = heapq.heappop(heap)
            self._pending -= 1
            taken += await self._take(namespace, step)
        if heap is not None and not heap and self._steps.get(namespace) is heap:
            del self._steps[namespace]
        return taken

    async def _take(self, namespace: str, step: _Step) -> int:
        if step.recurring is not None:
            return await self._occur(namespace, step.at, step.recurring)
        seq = step.recipient.seq if step.recipient is not None else 0
        message = await self.store.get(step.message_id, namespace, seq=seq)
        if message is None or step.status not in TRANSITIONS.get(message.status, ()):
            return 0  # gone (evicted, reset), or moved on (forced meanwhile)
        await self.change(namespace, step.message_id, step.status, step.at, seq=seq)
        following = _NEXT.get(step.status) if self.progress else None
        if following is not None:
            self._plan(
                namespace,
                step.message_id,
                following,
                step.at + self._stay[step.status],
                step.expire_at,
                step.recipient,
            )
        return 1

    async def _occur(self, namespace: str, at: float, recurring: _Recurring) -> int:
        """Make the next occurrence of a recurring send: its messages, queued at ``at``."""
        source, new_id = recurring.source, self.runtime.new_uuid
        recurring.number += 1
        recipients = tuple(
            Recipient(
                id=new_id(),
                to=r.to,
                country=r.country,
                segments=r.segments,
                test_number=r.test_number,
            )
            for r in source.recipients
        )
        occurrence = Submission(
            id=recipients[0].id if len(recipients) == 1 else new_id(),
            provider=source.provider,
            operation=source.operation,
            created_at=at,
            sender=source.sender,
            text=source.text,
            encoding=source.encoding,
            recipients=recipients,
            media=source.media,
            expire_at=source.expire_at,
            recurs_from=(source.id, recurring.number),
            notify=source.notify,
        )
        try:
            await self.store.append(namespace, occurrence)
        except StoreFullError:
            self.occurrences_refused += 1
        else:
            self.occurrences += 1
            if self.progress:
                self._plan_submission(namespace, occurrence, at)
        self._plan_next(namespace, recurring)
        return 1

    async def change(
        self,
        namespace: str,
        message_id: str,
        status: str,
        at: float,
        reason: str | None = None,
        *,
        seq: int = 0,
    ) -> Message | None:
        """Set a message's status in the store and tell the listeners (every status change
        after acceptance goes through here); the changed message, or None when not kept."""
        changed = await self.store.set_status(message_id, namespace, status, at, reason, seq=seq)
        if changed is not None:
            for listener in self.listeners:
                await listener(namespace, changed)
        return changed

    async def run(self) -> None:
        """Take due steps as the real clock reaches them, until cancelled (the app's
        lifespan).  A namespace on a virtual clock moves only when its clock is moved."""
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        try:
            await self._serve(wake)
        finally:  # the lifespan ended: steps are taken by clock moves and sends only
            self._loop = self._wake = None

    async def _serve(self, wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            wait = 1.0
            for namespace in list(self._steps):
                await self.run_due(namespace)
                heap = self._steps.get(namespace)
                if heap and self.runtime.clock_of(namespace) is None:
                    wait = min(wait, max(0.0, heap[0].at - self.runtime.now(namespace)))
            wait = max(wait, 0.005)
            self._wakes_at = self.runtime.clock() + wait
            with contextlib.suppress(TimeoutError):  # the next step is due: no wake-up needed
                await asyncio.wait_for(wake.wait(), timeout=wait)

    # ---------------------------------------------------------- control

    async def force(self, namespace: str, message_id: str, status: str, reason: str | None) -> bool:
        """Put a message in ``status`` now (with ``reason``); its pending steps are dropped
        by the table once they come due.  False when the message is not kept."""
        if status not in STATES:
            raise LifecycleError(
                f"sms-mockserver: status must be one of {', '.join(STATES)}, got {status!r}"
            )
        now = self.runtime.now(namespace)
        changed = await self.change(namespace, message_id, status, now, reason)
        if changed is None:
            return False
        if self.progress and status in self._stay:  # forced into a moving state: on from there
            self._plan(namespace, message_id, _NEXT[status], now + self._stay[status], None)
        return True

    def forget(self, namespace: str | None) -> None:
        """Drop the pending steps of a namespace (or all) after the store reset it."""
        if namespace is None:
            self._steps.clear()
            self._pending = 0
        else:
            self._pending -= len(self._steps.pop(namespace, []))

    def usage(self) -> dict[str, int]:
        """Pending steps, and messages left untracked by ``max_pending_transitions``."""
        return {
            "pending": self._pending,
            "untracked": self.untracked,
            "limit": self.max_pending,
            "occurrences": self.occurrences,
            "occurrences_refused": self.occurrences_refused,
        }
