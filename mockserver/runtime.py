"""The runtime context: what provider rules and hooks share while the app runs.

- **Clocks**: one clock for the app (real time unless ``create_app(clock=…)`` says otherwise)
  and, per namespace, an optional replacement (a :class:`VirtualClock` a test can freeze and
  advance), so one test's frozen time never moves another's.
- **One seedable random source** for message ids and anything else random.  It is never the
  global :mod:`random` module: pytest-randomly (and many test suites) call ``random.seed()``
  before every test, which made two mocks created after it issue the same ids.  By default
  the seed is fresh and unpredictable; ``--seed`` / ``Settings(seed=…)`` makes a server issue
  the same ids as another started with the same seed (for the same requests in the same
  order).  Credentials (2sms tokens) are not drawn from it: they stay unpredictable.
- **A task group** started by the app's lifespan, for background work (timers, callbacks):
  tasks spawned there are cancelled when the app shuts down, never leaked.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc

from .errors import MockServerError

__all__ = ["Runtime", "VirtualClock"]

_log = logging.getLogger("mockserver")

_UUID_CLEAR = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


class VirtualClock:
    """A clock that moves only when told: ``clock()`` is its time in epoch seconds."""

    def __init__(self, start: float) -> None:
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        """Jump to ``when`` (epoch seconds); a virtual clock may go back, a real one not."""
        self._now = float(when)

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds`` (at least 0)."""
        if seconds < 0:
            raise ValueError(f"a clock advances by 0 seconds or more, not {seconds}")
        self._now += seconds


class Runtime:
    """Clocks, the random source and the task group of one app.

    ``max_clocks`` bounds the per-namespace clocks (one per namespace at most, so the
    store's ``max_namespaces`` is the natural value).
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        max_clocks: int = 10_000,
    ) -> None:
        self.clock = clock
        self.max_clocks = max_clocks
        self._clocks: dict[str, Callable[[], float]] = {}
        self._tasks: anyio.abc.TaskGroup | None = None
        self.seed = 0
        self.random = random.Random()
        self.reseed(seed)

    # ------------------------------------------------------------------ random

    def reseed(self, seed: int | None = None) -> int:
        """Start the random source again from ``seed`` (a fresh one when None); the seed."""
        self.seed = secrets.randbits(63) if seed is None else seed
        self.random.seed(self.seed)
        return self.seed

    def new_uuid(self) -> str:
        """A version 4 UUID string drawn from this runtime's random source.

        Not ``uuid.uuid4()``: that costs a system call per id (seen in the profile behind
        ``make bench``) and cannot be seeded.
        """
        h = "%032x" % (self.random.getrandbits(128) & _UUID_CLEAR | _UUID_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # ------------------------------------------------------------------ clocks

    def now(self, namespace: str | None = None) -> float:
        """The time (epoch seconds) in ``namespace``: its own clock if it has one."""
        if namespace is not None and self._clocks:
            own = self._clocks.get(namespace)
            if own is not None:
                return own()
        return self.clock()

    def use_clock(self, namespace: str, clock: Callable[[], float] | None) -> None:
        """Give ``namespace`` its own clock, or (None) put it back on the app's clock."""
        if clock is None:
            self._clocks.pop(namespace, None)
            return
        if namespace not in self._clocks and len(self._clocks) >= self.max_clocks:
            raise MockServerError(
                f"sms-mockserver: {self.max_clocks} namespaces already have a clock of their "
                "own (max_namespaces); put one back on the real clock first"
            )
        self._clocks[namespace] = clock

    def reset_clocks(self, namespace: str | None) -> None:
        """Put ``namespace`` (None: every namespace) back on the app's clock."""
        if namespace is None:
            self._clocks.clear()
        else:
            self._clocks.pop(namespace, None)

    def clock_of(self, namespace: str) -> Callable[[], float] | None:
        """The clock ``namespace`` has of its own (None: it follows the app's)."""
        return self._clocks.get(namespace)

    # ------------------------------------------------------------------ tasks

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the task group for the body of the ``async with`` (the app's lifespan);
        tasks still running at its end are cancelled."""
        async with anyio.create_task_group() as group:
            self._tasks = group
            try:
                yield
            finally:
                self._tasks = None
                group.cancel_scope.cancel()

    def spawn(self, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Start ``func(*args)`` in the background, on the app's task group.

        Raises :class:`~mockserver.errors.MockServerError` when the app is not running (its
        lifespan has not started): background work needs somewhere to live and to end.
        """
        if self._tasks is None:
            raise MockServerError(
                "sms-mockserver: background work needs the app's lifespan; serve the app with "
                "lifespan on (uvicorn --lifespan on, or `with TestClient(app)`)"
            )
        self._tasks.start_soon(_logged, func, args)


async def _logged(func: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> None:
    """Run a background task; an error is logged, never allowed to stop the app (the task
    group would otherwise cancel every other task and end the lifespan)."""
    try:
        await func(*args)
    except Exception:
        _log.exception("sms-mockserver: background task %r failed", func)
