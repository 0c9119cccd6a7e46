"""Waits on the journal that wake when a matching message arrives, without polling.

A store registers a waiter after finding nothing (atomically with that look, so nothing
appended in between is missed) and offers every message it appends or changes; the first
matching one after the waiter's cursor completes the waiter's future on the waiter's own
event loop (stores may be called from several loops: ``MockServer`` runs its own).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from .records import Message, MessageFilter

__all__ = ["Waiters"]


@dataclass(eq=False, slots=True)
class _Waiter:
    where: MessageFilter
    cursor: int | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Message] = field(repr=False)


def _deliver(future: asyncio.Future[Message], message: Message) -> None:
    if not future.done():
        future.set_result(message)


class Waiters:
    """The waits in progress on one store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[_Waiter] = []

    def wanted(self, namespace: str) -> bool:
        """True when a wait could want a message of ``namespace`` (cheap: checked per append)."""
        if not self._items:
            return False
        with self._lock:
            return any(w.where.namespace in (None, namespace) for w in self._items)

    def add(self, where: MessageFilter, cursor: int | None) -> _Waiter:
        """A new waiter on the running loop."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(where, cursor, loop, loop.create_future())
        with self._lock:
            self._items.append(waiter)
        return waiter

    def remove(self, waiter: _Waiter) -> None:
        """Forget a waiter (it timed out, was answered, or its caller went away)."""
        with self._lock:
            if waiter in self._items:
                self._items.remove(waiter)

    def offer(self, messages: Sequence[Message]) -> None:
        """Wake each waiter that one of ``messages`` (in seq order) satisfies."""
        if not self._items:
            return
        with self._lock:
            waiters = list(self._items)
        for waiter in waiters:
            for message in messages:
                if (waiter.cursor is None or message.seq > waiter.cursor) and waiter.where.matches(
                    message
                ):
                    waiter.loop.call_soon_threadsafe(_deliver, waiter.future, message)
                    break

    async def result(self, waiter: _Waiter, timeout: float) -> Message | None:
        """The waiter's message, or None after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            return None
