"""How the mock is served: uvicorn with timeouts and a connection cap from the settings.

uvicorn times out an idle keep-alive connection, but not a new connection that never sends a
byte, nor one that trickles its request headers: a thousand such sockets would hold every
file descriptor the process has, and every other client would be refused.  The protocol below
adds a header timeout (from the connection's start, or the first byte of each next request,
to the end of its headers, however slowly the bytes come); the body has its own timeout in
the pipeline (:data:`~mockserver.config.Settings.body_timeout_seconds`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .config import Settings

__all__ = ["uvicorn_config"]


class _TimedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-header timeout."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        # Bytes between requests (a stray CRLF, the rest of a body answered early) start no
        # message, yet uvicorn cancels its keep-alive timer for them: time them as headers.
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_header_timer()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


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
        "SmsMockProtocol", (_TimedProtocol,), {"header_timeout": settings.header_timeout_seconds}
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
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        limit_concurrency=settings.max_connections,
    )
