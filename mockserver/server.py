"""MockServer: the mock on a real socket in a background thread, for tests and scripts.

>>> with MockServer() as mock:                     # doctest: +SKIP
...     httpx.post(mock.url + "/rest/json/v2/sms/send", ...)
...     mock.messages()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

import uvicorn

from .app import create_app
from .config import Settings
from .errors import MockServerError
from .store import MemoryStore, MessageStore, StoredMessage

__all__ = ["MockServer"]


class MockServer:
    """Run the mock with uvicorn in a thread; ``port=0`` picks a free port."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: Settings | None = None,
        store: MessageStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or Settings()
        self.store: MessageStore = (
            store if store is not None else MemoryStore(max_messages=self.settings.max_messages)
        )
        self.app = create_app(settings=self.settings, store=self.store, clock=clock)
        self.host = host
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        self._thread: threading.Thread | None = None
        self.port = port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> MockServer:
        """Start serving; returns once the socket accepts connections."""
        self._thread = threading.Thread(target=self._server.run, name="sms-mockserver", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise MockServerError(f"sms-mockserver: could not start on {self.url}")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def messages(
        self, *, provider: str | None = None, to: str | None = None
    ) -> Sequence[StoredMessage]:
        """Accepted messages, oldest first."""
        return self.store.messages(provider=provider, to=to)

    def reset(self) -> None:
        """Forget all messages, violations and credit balances (tokens stay valid)."""
        self.store.reset()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
