"""How the mock is served: uvicorn with timeouts and a connection cap from the settings.

uvicorn times out an idle keep-alive connection, but not a new connection that never sends a
byte, nor one that trickles its request headers: a thousand such sockets would hold every
file descriptor the process has, and every other client would be refused.  The protocol below
adds a header timeout (from the connection's start, or the first byte of each next request,
to the end of its headers, however slowly the bytes come); the body has its own timeout in
the pipeline (:data:`~mockserver.config.Settings.body_timeout_seconds`).

It also closes a connection answered early the way nginx and Apache do (a *lingering
close*).  A refused token or an oversized body is answered before the body is read, with
``Connection: close``; closing the socket with the body's rest unread makes the kernel send
a reset, and a client that writes its whole body before reading (Python's urllib, many Java
clients) then sees ``Connection reset by peer`` instead of the answer.  So the write side is
shut down (the answer is complete) and the rest of the body is read and thrown away, for at
most ``linger_seconds`` in all, ``linger_idle_seconds`` between reads and
``linger_max_bytes``; memory stays flat, as nothing is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import struct
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from .config import Settings
from .pipeline import CONNECTION_EXTENSION

__all__ = ["CONNECTION_EXTENSION", "ConnectionControl", "settle_heap", "uvicorn_config"]


class ConnectionControl:
    """What the pipeline may do to the request's connection (scope extension
    :data:`CONNECTION_EXTENSION`): send a whole answer at once, or carry out a connection
    fault."""

    __slots__ = ("_cycle", "_protocol")

    def __init__(self, protocol: _TimedProtocol, cycle: RequestResponseCycle) -> None:
        self._protocol = protocol
        # The request's own cycle: a pipelined request's may already be the protocol's.
        self._cycle = cycle

    def whole_body(self) -> bytes | None:
        """The request's body when all of it has come and nothing else stands in the way,
        taken as uvicorn's ``receive`` would hand it over; None: read it through ``receive``.

        The usual send's body comes with its headers: this spares it ``receive``'s
        coroutine, its wait on the cycle's event and the deadline the pipeline would
        register for a body still to come.
        """
        cycle = self._cycle
        if (
            cycle.more_body
            or cycle.disconnected
            or cycle.response_complete
            or cycle.waiting_for_100_continue
        ):
            return None
        body = bytes(cycle.body)
        cycle.body = bytearray()
        cycle.message_event.clear()
        cycle.flow.resume_reading()
        return body

    def answer(self, status: int, content_type: bytes, body: bytes) -> bool:
        """Send a whole answer (status, the server's default headers, Content-Length,
        Content-Type and the body) in one write, as uvicorn's ``send`` would for the two ASGI
        messages; False, having done nothing, when the answer must take ``send``'s way
        instead (the answer started, the client gone or not reading, a HEAD request, the
        access log on).

        The provider operations answer every send through it: uvicorn's ``send`` checks each
        header against two patterns, and the two ASGI messages cost two coroutines and a
        held head; served side by side (``bench/ab.py``), 2sms sends went 4,340 to 4,640 a
        second in one run, with no gain in another (``bench/README.md``, "this version").  The
        headers here are the server's and the pipeline's own, so they are written without
        the checks.
        """
        protocol = self._protocol
        cycle = self._cycle
        if (
            cycle.response_started
            or cycle.disconnected
            or cycle.flow.write_paused
            or cycle.access_log
            or cycle.scope["method"] == "HEAD"
        ):
            return False
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        parts = [STATUS_LINE[status]]
        for name, value in cycle.default_headers:
            parts += (name, b": ", value, b"\r\n")
        parts += (
            b"content-length: ",
            str(len(body)).encode("ascii"),
            b"\r\ncontent-type: ",
            content_type,
            b"\r\n",
        )
        keep_alive = cycle.keep_alive
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (b"\r\n", body)
        protocol.transport.write(b"".join(parts))
        cycle.response_complete = True
        cycle.message_event.set()
        if not keep_alive:
            cycle.transport.close()  # lingers while the request's body is still coming
        cycle.on_response()
        return True

    def _done(self) -> None:
        cycle = self._cycle  # nobody to answer: uvicorn must not add a 500 of its own
        cycle.disconnected = True
        cycle.message_event.set()

    def reset(self) -> None:
        """Reset the connection (TCP RST, nothing more is sent)."""
        transport = self._protocol.transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        self._done()

    def close(self) -> None:
        """Close the connection after what was written so far (an answer cut short)."""
        held = self._cycle.transport
        if isinstance(held, _LingeringTransport):
            held.flush()  # the head it holds goes out first
        self._protocol.transport.close()
        self._done()


class _LingeringTransport:
    """The transport the requests of a connection write to (one per connection, handed to
    each request's cycle): ``close()`` lingers while the request's body is still coming, and
    an answer's head and body go out in one write (everything else goes to the real
    transport).

    uvicorn writes the status line and headers when the app starts its answer and the body
    when it sends it: two ``send`` system calls for every answer.  The mock sends both in the
    same turn of the event loop, so the head is held until the body comes (or the turn ends)
    and the two go out together: one system call.
    """

    def __init__(self, protocol: _TimedProtocol, transport: asyncio.Transport) -> None:
        self._protocol = protocol
        self._transport = transport
        self._held: bytes | None = None
        self._writes = 0

    def write(self, data: bytes) -> None:
        self._writes += 1
        if self._writes == 1:  # the head: held until the body, or the end of this turn
            self._held = bytes(data)
            self._protocol.loop.call_soon(self.flush)
            return
        held = self._held
        if held is not None:
            self._held = None
            data = held + data
        self._transport.write(data)

    def next_answer(self) -> None:
        """The answer is complete: the next write is the next answer's head."""
        self.flush()
        self._writes = 0

    def flush(self) -> None:
        """Write the head held back, if any."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        cycle = self._protocol.cycle
        if cycle is not None and cycle.more_body and not self._transport.is_closing():
            self._protocol.linger()
        else:
            self._transport.close()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _TimedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-header timeout and a lingering close.

    The header and keep-alive timeouts are kept by one sweep over the server's connections
    (every quarter of the shorter timeout), not by timers armed and cancelled for each
    request (uvicorn's keep-alive one and a header one): a request only notes when its
    connection began to wait.  The connection's transport wrapper is made once per
    connection, not per request.  With uvicorn's proxy-headers layer off (below), 2sms sends
    served went from 4,010 to 4,380 a second (``bench/ab.py``; ``bench/README.md``, "this
    version").  A connection is closed between its timeout and a quarter past it.
    """

    header_timeout: float = 10.0
    linger_seconds: float = 30.0
    linger_idle_seconds: float = 5.0
    linger_max_bytes: int = 256 * 1024 * 1024
    #: The sweep's timer while any connection of this protocol's server is open, and the
    #: event loop it runs on (a server started again runs on a new one).
    _sweep: asyncio.TimerHandle | None = None
    _sweep_loop: asyncio.AbstractEventLoop | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What the connection waits for (_HEADERS, _IDLE, or _BUSY: a request is being
        #: served) and since when (the loop's clock).
        self._waiting = _BUSY
        self._since = 0.0
        self.lingering = False
        self._linger_left = 0
        self._linger_timers: list[asyncio.TimerHandle] = []
        # One per connection, not per request: it is handed to every request.
        self._held_transport: _LingeringTransport | None = None

    # ------------------------------------------------------------------ timeouts

    def _wait_for(self, what: int) -> None:
        self._waiting = what
        self._since = self.loop.time()

    def _start_sweeping(self) -> None:
        cls = type(self)
        if cls._sweep is None or cls._sweep_loop is not self.loop:
            period = max(0.05, min(self.header_timeout, self.timeout_keep_alive) / 4)
            cls._sweep_loop = self.loop
            cls._sweep = self.loop.call_later(period, self._sweep_connections, period)

    def _sweep_connections(self, period: float) -> None:
        """Close the connections past their header or keep-alive timeout; run again while
        any connection is open."""
        cls = type(self)
        now = self.loop.time()
        protocols = [p for p in self.connections if isinstance(p, _TimedProtocol)]
        for p in protocols:
            if p._waiting == _HEADERS:
                if now - p._since >= p.header_timeout:
                    p._close_waiting()
            elif p._waiting == _IDLE and now - p._since >= p.timeout_keep_alive:
                p._close_waiting()
        cls._sweep = (
            self.loop.call_later(period, cls._sweep_connections, self, period)
            if protocols
            else None
        )

    def _close_waiting(self) -> None:
        self._waiting = _BUSY
        if not self.transport.is_closing():
            self.transport.close()

    # ------------------------------------------------------------------ lingering close

    def linger(self) -> None:
        """Finish the answer (shut down the write side) and read the rest of the body into
        nothing, within the linger bounds; then close."""
        if self.lingering:
            return
        self.lingering = True
        self._waiting = _BUSY
        try:
            self.transport.write_eof()  # after the answer's buffered bytes are sent
        except (NotImplementedError, OSError, RuntimeError):
            self.transport.close()
            return
        self._linger_left = self.linger_max_bytes
        self._linger_timers = [
            self.loop.call_later(self.linger_seconds, self._end_linger),
            self.loop.call_later(self.linger_idle_seconds, self._end_linger),
        ]
        self.flow.resume_reading()

    def _end_linger(self) -> None:
        for timer in self._linger_timers:
            timer.cancel()
        self._linger_timers = []
        if not self.transport.is_closing():
            self.transport.close()

    # ------------------------------------------------------------------ uvicorn's callbacks

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._held_transport = _LingeringTransport(self, transport)
        self._wait_for(_HEADERS)
        self._start_sweeping()

    def data_received(self, data: bytes) -> None:
        if self.lingering:  # the rest of a body answered early: counted, then dropped
            self._linger_left -= len(data)
            if self._linger_left < 0:
                self._end_linger()
            elif len(self._linger_timers) == 2:
                self._linger_timers[1].cancel()
                self._linger_timers[1] = self.loop.call_later(
                    self.linger_idle_seconds, self._end_linger
                )
            return
        # The first bytes after an answer (a next request, or a stray CRLF that starts no
        # message) end the keep-alive wait: from here its headers are timed.
        if self._waiting == _IDLE:
            self._wait_for(_HEADERS)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._waiting != _HEADERS:  # a pipelined request: its headers are timed anew
            self._wait_for(_HEADERS)

    def on_headers_complete(self) -> None:
        self._waiting = _BUSY
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None:
            cycle.transport = self._held_transport  # type: ignore[assignment]
            scope: dict[str, Any] = cycle.scope  # type: ignore[assignment]
            control = ConnectionControl(self, cycle)
            extensions = scope.get("extensions")
            if extensions is None:
                scope["extensions"] = {CONNECTION_EXTENSION: control}
            else:
                extensions[CONNECTION_EXTENSION] = control

    def on_response_complete(self) -> None:
        held = self._held_transport
        if held is not None:
            held.next_answer()
        if self.lingering:  # no keep-alive wait, no next request: the connection is ending
            self.server_state.total_requests += 1
            return
        if self.pipeline or self.transport.is_closing():
            # uvicorn's own: it starts the next pipelined request (and arms no timer).
            super().on_response_complete()
            return
        # uvicorn's own for the usual case, without its keep-alive timer: the sweep keeps it.
        self.server_state.total_requests += 1
        self.flow.resume_reading()
        self._wait_for(_IDLE)

    def connection_lost(self, exc: Exception | None) -> None:
        self._waiting = _BUSY
        for timer in self._linger_timers:
            timer.cancel()
        self._linger_timers = []
        super().connection_lost(exc)


#: What a connection waits for (:attr:`_TimedProtocol._waiting`).
_BUSY, _HEADERS, _IDLE = 0, 1, 2


def uvicorn_config(
    app: ASGIApp,
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    access_log: bool = False,
) -> uvicorn.Config:
    """The uvicorn configuration the mock runs with (``serve`` and :class:`MockServer`)."""
    protocol = type(
        "SmsMockProtocol",
        (_TimedProtocol,),
        {
            "header_timeout": settings.header_timeout_seconds,
            "linger_seconds": settings.linger_seconds,
            "linger_idle_seconds": settings.linger_idle_seconds,
            "linger_max_bytes": settings.linger_max_bytes,
        },
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        http=protocol,
        # "on": the lifespan opens the store, and a store that can't open stops the start.
        lifespan="on",
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        # The mock reads neither the client's address nor the scheme, so X-Forwarded-* would
        # change nothing it does, and uvicorn's middleware for them is a layer of Python on
        # every request (about 5 us of a 2sms send here: bench/README.md, "this version").
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        limit_concurrency=settings.max_connections,
    )


def settle_heap() -> None:
    """Leave what is alive once the app is built (modules, contracts, phone metadata, the
    app) out of every later garbage collection (``gc.freeze``).

    For a server process, before it serves.  A full collection walks every tracked object,
    about 42,000 after start-up and 15 ms on a 2-core AMD EPYC: the requests in flight
    wait for it, and under load it showed as the p99 of a 2sms send (20 ms, 10.6 ms once
    frozen, with the same throughput: ``make bench``'s served mock).  Nothing frozen is
    garbage: a collection runs first.
    """
    gc.collect()
    gc.freeze()
