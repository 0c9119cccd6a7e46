"""The message lifecycle: a transition table, timed steps on each namespace's clock.

A scheduled message waits as ``scheduled`` until its send time on its namespace's clock,
then is ``queued``.  With the ``lifecycle_progress`` setting, every queued message moves on
by itself, ``queued -> sent -> delivered`` (after ``sent_after_seconds``, then
``delivered_after_seconds`` more); a 2sms message with an ``ExpiryDate`` that would be
delivered after it ends ``expired`` instead.  A test can force any state with a reason
(``POST /_mock/messages/{id}/status``), freeze its namespace's clock and advance it
(``POST /_mock/clock``): the steps due by the new time are taken before the call returns.

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
from collections.abc import Awaitable
from dataclasses import dataclass, field

from .config import Settings
from .errors import MockServerError
from .runtime import Runtime
from .store import Recipient, Store, Submission

__all__ = ["FAILURE", "STATES", "TERMINAL", "TRANSITIONS", "Lifecycle", "LifecycleError"]

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
#: Each provider's word for a message that did not arrive.
FAILURE = {"zoho_voice": "undelivered", "twosms": "failed"}
#: What comes after a state when nothing goes wrong.
_NEXT = {"scheduled": "queued", "queued": "sent", "sent": "delivered"}


class LifecycleError(MockServerError):
    """A status change the lifecycle refuses (an unknown state)."""


@dataclass(order=True, slots=True)
class _Step:
    at: float
    order: int
    message_id: str = field(compare=False)
    status: str = field(compare=False)
    expire_at: float | None = field(compare=False, default=None)
    #: The recipient record, whose ``seq`` the store sets when it files it (0: unknown).
    recipient: Recipient | None = field(compare=False, default=None)


class Lifecycle:
    """The pending steps of every namespace, taken when their clock reaches them."""

    def __init__(self, store: Store, runtime: Runtime, settings: Settings) -> None:
        self.store = store
        self.runtime = runtime
        self.progress = settings.lifecycle_progress
        self.sent_after = float(settings.sent_after_seconds)
        self.delivered_after = float(settings.delivered_after_seconds)
        self.max_pending = settings.max_pending_transitions
        self._steps: dict[str, list[_Step]] = {}  # namespace -> heap
        self._pending = 0
        #: Messages accepted while max_pending steps were waiting: they keep their status.
        self.untracked = 0
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
        if not self.progress and submission.send_at is None:
            return None
        return self._track(namespace, submission)

    async def _track(self, namespace: str, submission: Submission) -> None:
        now = self.runtime.now(namespace)
        for recipient in submission.recipients:
            if recipient.status in TERMINAL:
                continue
            if recipient.status == "scheduled" and submission.send_at is not None:
                at = submission.send_at
            elif recipient.status == "queued" and self.progress:
                at = now + self.sent_after
            else:
                continue
            status = _NEXT[recipient.status]
            self._plan(namespace, recipient.id, status, at, submission.expire_at, recipient)
        await self.run_due(namespace)

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
        loop, wake = self._loop, self._wake
        # Woken only for a step due before the runner's planned wake-up (the thread-safe
        # call costs more than the rest of a send's planning).
        if loop is not None and wake is not None and at < self._wakes_at:
            self._wakes_at = at
            with contextlib.suppress(RuntimeError):  # the runner's loop has just closed
                loop.call_soon_threadsafe(wake.set)

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
        seq = step.recipient.seq if step.recipient is not None else 0
        message = await self.store.get(step.message_id, namespace, seq=seq)
        if message is None or step.status not in TRANSITIONS.get(message.status, ()):
            return 0  # gone (evicted, reset), or moved on (forced meanwhile)
        await self.store.set_status(step.message_id, namespace, step.status, step.at, seq=seq)
        following = _NEXT.get(step.status) if self.progress else None
        if following is not None:
            delay = self.sent_after if following == "sent" else self.delivered_after
            self._plan(
                namespace,
                step.message_id,
                following,
                step.at + delay,
                step.expire_at,
                step.recipient,
            )
        return 1

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
        changed = await self.store.set_status(message_id, namespace, status, now, reason)
        if changed is None:
            return False
        following = _NEXT.get(status) if self.progress and status in ("queued", "sent") else None
        if following is not None:  # forced back into a moving state: it moves on from there
            delay = {"queued": self.sent_after, "sent": self.delivered_after}.get(status, 0.0)
            self._plan(namespace, message_id, following, now + delay, None)
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
        return {"pending": self._pending, "untracked": self.untracked, "limit": self.max_pending}
