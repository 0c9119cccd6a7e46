"""Reading a request body, bounded: by size (refused from Content-Length, or as soon as the
stream crosses the limit) and by time (one task watches every read; not a timer per
request)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Protocol

from starlette.types import Receive

from .errors import FieldProblem, Reject

__all__ = ["BodyDeadlines", "WholeBody", "declared_length", "has_body", "read_body"]


class WholeBody(Protocol):
    """What the server may offer besides ``receive``: the whole body at once, when it has
    all come (:class:`mockserver.serving.ConnectionControl`)."""

    def whole_body(self) -> bytes | None:
        """The whole body, or None: read it through ``receive``."""
        ...


def _too_large(limit: int) -> Reject:
    """The refusal of a body over ``limit`` bytes (a contract violation, recorded)."""
    return Reject(
        "invalid_request",
        [FieldProblem("(body)", None, f"a request body of at most {limit} bytes")],
        detail=f"the body must be at most {limit} bytes",
    )


def has_body(headers: Mapping[str, str]) -> bool:
    """Whether a request announced a body (a Content-Length above 0, or chunks)."""
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("0", "")


def declared_length(headers: Mapping[str, str]) -> int | None:
    """The Content-Length header as a number, or None when absent or not plain digits."""
    value = headers.get("content-length", "")
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


class BodyDeadlines:
    """Request bodies being read, and when each must be in.

    One task on the app's task group wakes four times a timeout and cancels the reads past
    their deadline.  Not a timer per request (``asyncio.timeout``): that cost about 10 us a
    send in-process, as every cancelled timer stays in the event loop's heap until it comes
    due.  Without the app's lifespan (``httpx.ASGITransport``) nothing runs it and bodies
    have no deadline.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.reading: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.running = False

    async def run(self) -> None:
        """Cancel the reads past their deadline, until cancelled (the app's shutdown)."""
        self.running = True
        try:
            while True:
                await asyncio.sleep(self.timeout / 4)
                now = time.monotonic()
                for task, deadline in list(self.reading.items()):
                    if deadline <= now and task not in self.expired:
                        self.expired.add(task)
                        task.cancel()
        finally:
            self.running = False


async def read_body(
    receive: Receive,
    headers: Mapping[str, str],
    limit: int,
    deadlines: BodyDeadlines,
    server: WholeBody | None = None,
) -> bytes | None:
    """The whole body, refused from Content-Length or as soon as it crosses ``limit``, or
    when it has not all come within the deadline; None when the client disconnected first.

    ``server``: what the server offers to hand over a body that has all come at once.
    """
    declared = declared_length(headers)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    if server is not None:
        whole = server.whole_body()
        if whole is not None:
            if len(whole) > limit:
                raise _too_large(limit)
            return whole
    task = asyncio.current_task() if deadlines.running else None
    if task is not None:
        deadlines.reading[task] = time.monotonic() + deadlines.timeout
    # The reads are inline (not a coroutine of their own): this runs on every request.
    chunks: list[bytes] | None = None
    size = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if not message.get("more_body", False):
                if chunks is None:  # the usual case: the whole body in one message
                    return chunk
                chunks.append(chunk)
                return b"".join(chunks)
            if chunks is None:
                chunks = []
            chunks.append(chunk)
    except asyncio.CancelledError:
        # Cancelled only while waiting for the body (the reads are the only awaits here).
        if task is None or task not in deadlines.expired:
            raise
        if task.uncancel() > 0:
            raise  # cancelled for another reason too (the server is shutting down)
        timeout = deadlines.timeout
        raise Reject(
            "invalid_request",
            [
                FieldProblem(
                    "(body)",
                    f"{size} bytes in {timeout:g} s",
                    f"the whole body within {timeout:g} seconds (setting body_timeout_seconds)",
                )
            ],
            status=408,
            violation=False,
        ) from None
    finally:
        if task is not None:
            deadlines.reading.pop(task, None)
            deadlines.expired.discard(task)
