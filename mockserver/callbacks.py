"""Delivery callbacks: each status change pushed to the namespace's URLs, with retries.

A namespace registers targets (``POST /_mock/callbacks/targets``; the ``callback_urls``
setting adds URLs for every namespace).  When a message that asked for pushes changes status
(the lifecycle's steps, a forced status, an ``undelivered`` fault), its provider renders the
push (:meth:`~mockserver.providers.Provider.status_push`) and one delivery per target is
queued.  Deliveries are tried on the app's task group, each try journaled (status code,
latency, error) at ``GET /_mock/callbacks``; a failed try is tried again after a backoff on
the namespace's clock (``callback_backoff_seconds``, doubled each time) up to
``callback_attempts`` tries; ``POST /_mock/callbacks/flush`` tries everything of a
namespace at once.

Loop protection: every push carries ``X-Mock-Callback``.  A send carrying it (a callback
pointed at the mock's own send endpoint) is served, but its messages push nothing; the
admin API refuses it (508), so a push can never start another push.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from . import __version__
from .config import Settings
from .errors import MockServerError
from .runtime import Runtime
from .store import Message, Store

__all__ = ["CALLBACK_HEADER", "MAX_TARGETS", "Attempt", "CallbackError", "Callbacks", "Push"]

#: Header on every push (as a lower-case name, to look it up); a request carrying it never
#: causes another push.
CALLBACK_HEADER = "x-mock-callback"
#: Targets one namespace may register.
MAX_TARGETS = 20
#: Pushes tried at once (a slow receiver holds one of them for its timeout, not the queue).
CONCURRENCY = 16
_CONTROL = "callbacks"


class CallbackError(MockServerError):
    """A callback target the mock refuses (a bad URL, too many targets)."""


@dataclass(frozen=True, slots=True)
class Push:
    """A status push as a provider renders it."""

    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Target:
    """A URL a namespace's status pushes go to (``provider`` None: both providers')."""

    id: str
    url: str
    provider: str | None
    created_at: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data, as the admin API shows it."""
        return {
            "id": self.id,
            "url": self.url,
            "provider": self.provider,
            "created_at": self.created_at,
        }


@dataclass(order=True, slots=True)
class _Delivery:
    due: float
    order: int
    namespace: str = field(compare=False)
    url: str = field(compare=False)
    message_id: str = field(compare=False)
    status: str = field(compare=False)
    push: Push = field(compare=False)
    tries: int = field(compare=False, default=0)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one push, as ``GET /_mock/callbacks`` shows it."""

    seq: int
    message_id: str
    status: str
    url: str
    attempt: int
    at: float
    latency_ms: float
    status_code: int | None
    error: str | None
    #: ``delivered``, ``retrying`` (tried again at ``next_at``) or ``gave_up``.
    outcome: str
    next_at: float | None
    content_type: str
    body: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return dataclasses.asdict(self)


def _by_url(deliveries: list[_Delivery]) -> list[list[_Delivery]]:
    """``deliveries`` (in the order they came due) grouped by target URL, order kept."""
    groups: dict[str, list[_Delivery]] = {}
    for d in deliveries:
        groups.setdefault(d.url, []).append(d)
    return list(groups.values())


def check_url(url: Any) -> str:
    """``url`` if it is an absolute http(s) URL with a host; else :class:`CallbackError`."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        port = parts.port if parts is not None else None  # raises for a port beyond 65535
        if parts is not None:
            httpx.URL(url)  # what the push is sent with refuses control characters, too
    except (ValueError, httpx.InvalidURL):  # an unclosed IPv6 bracket, a port not a number
        parts = port = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise CallbackError(
            f"sms-mockserver: a callback URL is an absolute http:// or https:// URL, got {url!r}"
        )
    return str(url)


class Callbacks:
    """The targets of every namespace, the queue of pushes and the journal of tries."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        settings: Settings,
        renderers: Mapping[str, Any],
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.settings = settings
        #: Provider name -> its ``status_push(message) -> Push | None``.
        self.renderers = renderers
        self._targets: OrderedDict[str, list[Target]] = OrderedDict()
        self._queues: dict[str, list[_Delivery]] = {}  # namespace -> heap by due time
        self._queued = 0
        self._order = itertools.count()
        self._seq = itertools.count(1)
        self._journal: OrderedDict[str, deque[Attempt]] = OrderedDict()
        self._inflight: dict[str, int] = {}
        self.dropped = 0
        self.delivered = 0
        self.given_up = 0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limit = anyio.CapacityLimiter(CONCURRENCY)
        #: The running loop's client, which a flush uses too (a new client costs tens of ms:
        #: its TLS context).
        self._client: httpx.AsyncClient | None = None

    # ---------------------------------------------------------- targets

    async def targets(self, namespace: str) -> list[Target]:
        """The namespace's registered targets (read from the store once, then kept)."""
        found = self._targets.get(namespace)
        if found is None:
            saved = await self.store.get_control(namespace, _CONTROL) or []
            found = [Target(**t) for t in saved]
            self._targets[namespace] = found
            while len(self._targets) > self.settings.max_namespaces:
                self._targets.popitem(last=False)
        return found

    async def add_target(self, namespace: str, url: Any, provider: Any) -> Target:
        """Register a target; :class:`CallbackError` for a bad URL or provider, or beyond
        :data:`MAX_TARGETS`."""
        if provider is not None and (
            not isinstance(provider, str) or provider not in self.renderers
        ):
            raise CallbackError(
                f"sms-mockserver: provider must be one of {', '.join(self.renderers)} "
                f"(or left out for both), got {provider!r}"
            )
        targets = await self.targets(namespace)
        if len(targets) >= MAX_TARGETS:
            raise CallbackError(f"sms-mockserver: at most {MAX_TARGETS} callback targets")
        target = Target(
            self.runtime.new_uuid(), check_url(url), provider, self.runtime.now(namespace)
        )
        targets.append(target)
        await self._save(namespace, targets)
        return target

    async def delete_targets(self, namespace: str, target_id: str | None = None) -> int:
        """Delete one target (or all of the namespace's); how many went."""
        targets = await self.targets(namespace)
        keep = [] if target_id is None else [t for t in targets if t.id != target_id]
        gone = len(targets) - len(keep)
        targets[:] = keep
        await self._save(namespace, targets)
        return gone

    async def _save(self, namespace: str, targets: list[Target]) -> None:
        if not targets:
            await self.store.delete_control(namespace, _CONTROL)
        elif not await self.store.put_control(namespace, _CONTROL, [t.to_json() for t in targets]):
            raise CallbackError("sms-mockserver: the namespace has no room for more control state")

    # ---------------------------------------------------------- queueing

    async def status_changed(self, namespace: str, message: Message) -> None:
        """Queue the push of a message's new status to each of the namespace's targets (the
        lifecycle's listener).  Nothing when the message asked for no pushes."""
        if message.notify is None:
            return
        urls = [
            t.url for t in await self.targets(namespace) if t.provider in (None, message.provider)
        ]
        urls += sorted(self.settings.callback_urls)
        if not urls:
            return
        render = self.renderers.get(message.provider)
        push = render(message) if render is not None else None
        if push is None:
            return  # a state the provider pushes nothing for
        now = message.history[-1].at  # due when the change happened, on the namespace clock
        for url in urls:
            if self._queued >= self.settings.max_pending_callbacks:
                self.dropped += 1
                continue
            self._queue(
                _Delivery(now, next(self._order), namespace, url, message.id, message.status, push)
            )
        self._poke()

    def _queue(self, delivery: _Delivery) -> None:
        heapq.heappush(self._queues.setdefault(delivery.namespace, []), delivery)
        self._queued += 1

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the runner's loop has just closed
                loop.call_soon_threadsafe(wake.set)

    # ---------------------------------------------------------- delivering

    async def run(self) -> None:
        """Try pushes as they come due, until cancelled (the app's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        try:
            async with httpx.AsyncClient() as client, anyio.create_task_group() as group:
                self._client = client
                while True:
                    wake.clear()
                    for batch in _by_url(self._due(None, all_of_it=False)):
                        group.start_soon(self._try_in_order, client, batch)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout=self._next_wait())
        finally:
            self._loop = self._wake = self._client = None

    def _next_wait(self) -> float:
        """Seconds until the first push on a real clock comes due (a namespace on a
        virtual clock is woken by its clock moves: the clock handler pokes)."""
        wait = 1.0
        for namespace, heap in self._queues.items():
            if self.runtime.clock_of(namespace) is None:
                wait = min(wait, heap[0].due - self.runtime.now(namespace))
        return max(wait, 0.005)

    def clock_moved(self) -> None:
        """A namespace's clock moved: pushes may have come due."""
        self._poke()

    def _due(self, namespace: str | None, *, all_of_it: bool) -> list[_Delivery]:
        """Take the pushes due by their namespace's clock (or every push of ``namespace``
        when ``all_of_it``) off the queue."""
        taken: list[_Delivery] = []
        names = [namespace] if namespace is not None else list(self._queues)
        for name in names:
            heap = self._queues.get(name)
            if heap is None:
                continue
            now = self.runtime.now(name)
            while heap and (all_of_it or heap[0].due <= now):
                taken.append(heapq.heappop(heap))
            if not heap:
                del self._queues[name]
        self._queued -= len(taken)
        for d in taken:
            self._inflight[d.namespace] = self._inflight.get(d.namespace, 0) + 1
        return taken

    async def flush(self, namespace: str, timeout: float) -> list[Attempt]:
        """Try every push of ``namespace`` now (retries not yet due included) and wait for
        the tries in flight; the tries made, oldest first."""
        first = next(self._seq)
        batches = _by_url(self._due(namespace, all_of_it=True))
        if batches:
            async with contextlib.AsyncExitStack() as stack:
                client = self._client
                if client is None:
                    client = await stack.enter_async_context(httpx.AsyncClient())
                async with anyio.create_task_group() as group:
                    for batch in batches:
                        group.start_soon(self._try_in_order, client, batch)
        with anyio.move_on_after(timeout):
            while self._inflight.get(namespace):
                await anyio.sleep(0.01)
        return [a for a in self._journal.get(namespace, ()) if a.seq > first]

    async def _try_in_order(self, client: httpx.AsyncClient, batch: list[_Delivery]) -> None:
        """Try the pushes to one URL one after the other, in the order of their changes (a
        receiver sees sent before delivered); other URLs are tried meanwhile."""
        async with self._limit:
            for delivery in batch:
                try:
                    await self._post(client, delivery)
                finally:
                    left = self._inflight.get(delivery.namespace, 1) - 1
                    if left > 0:
                        self._inflight[delivery.namespace] = left
                    else:
                        self._inflight.pop(delivery.namespace, None)

    async def _post(self, client: httpx.AsyncClient, d: _Delivery) -> None:
        settings = self.settings
        d.tries += 1
        headers = {
            "Content-Type": d.push.content_type,
            "User-Agent": f"sms-mockserver/{__version__} (status push)",
            "X-Mock-Callback": f"{d.message_id}; attempt={d.tries}",
        }
        at = self.runtime.now(d.namespace)
        started = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            answer = await client.post(
                d.url,
                content=d.push.body,
                headers=headers,
                timeout=settings.callback_timeout_seconds,
                follow_redirects=False,
            )
            code = answer.status_code
            if not 200 <= code < 300:
                error = f"answered {code} (a push is delivered by a 2xx answer)"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency = round((time.perf_counter() - started) * 1000, 3)
        next_at: float | None = None
        if error is None:
            outcome = "delivered"
            self.delivered += 1
        elif d.tries < settings.callback_attempts:
            outcome = "retrying"
            backoff = settings.callback_backoff_seconds * 2 ** (d.tries - 1)
            next_at = d.due = self.runtime.now(d.namespace) + backoff
            self._queue(d)
            self._poke()
        else:
            outcome = "gave_up"
            self.given_up += 1
        attempt = Attempt(
            next(self._seq),
            d.message_id,
            d.status,
            d.url,
            d.tries,
            at,
            latency,
            code,
            error,
            outcome,
            next_at,
            d.push.content_type,
            d.push.body.decode("utf-8", "replace"),
        )
        self._log(d.namespace, attempt)

    def _log(self, namespace: str, attempt: Attempt) -> None:
        journal = self._journal.get(namespace)
        if journal is None:
            journal = self._journal[namespace] = deque(maxlen=self.settings.max_callback_journal)
            while len(self._journal) > self.settings.max_namespaces:
                self._journal.popitem(last=False)
        journal.append(attempt)

    # ---------------------------------------------------------- reading

    def attempts(
        self, namespace: str, cursor: int | None, limit: int
    ) -> tuple[list[Attempt], int | None]:
        """A page of the namespace's tries, oldest first, after ``cursor`` (a seq)."""
        found = [a for a in self._journal.get(namespace, ()) if cursor is None or a.seq > cursor]
        page = found[:limit]
        return page, page[-1].seq if len(found) > limit else None

    def pending(self, namespace: str) -> int:
        """Pushes of ``namespace`` waiting to be tried."""
        return len(self._queues.get(namespace, ()))

    def forget(self, namespace: str | None) -> None:
        """Drop a namespace's (or every) targets, queued pushes and journal after a reset."""
        if namespace is None:
            self._targets.clear()
            self._queues.clear()
            self._journal.clear()
            self._queued = 0
            return
        self._targets.pop(namespace, None)
        self._journal.pop(namespace, None)
        self._queued -= len(self._queues.pop(namespace, ()))

    def usage(self) -> dict[str, int]:
        """Queue size and bound, and the counts of pushes delivered, given up and dropped."""
        return {
            "pending": self._queued,
            "limit": self.settings.max_pending_callbacks,
            "delivered": self.delivered,
            "given_up": self.given_up,
            "dropped": self.dropped,
        }
