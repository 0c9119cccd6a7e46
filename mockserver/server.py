"""MockServer: the mock on a real socket in a background thread, for tests and scripts.

>>> with MockServer() as mock:                     # doctest: +SKIP
...     httpx.post(mock.url + "/rest/json/v2/sms/send", ...)
...     mock.wait_for(to="+14155550100")
...     mock.messages()

Everything it reads goes through the admin API (``/_mock/``), so the same helpers work on a
server started here and on one already running elsewhere (``MockServer.connect(url)``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from .access import ADMIN_TOKEN_ENV, exposure, served_hosts
from .app import create_app
from .config import Settings
from .errors import TOOL, MockServerError
from .handle import MockHandle, new_namespace
from .serving import uvicorn_config
from .store import Message, Store, Violation
from .store.urls import store_from_url

__all__ = ["MockServer"]


class MockServer:
    """Run the mock with uvicorn in a thread; ``port=0`` picks a free port.

    ``store`` is a :class:`~mockserver.store.Store` or a store URL (``memory``,
    ``sqlite://PATH``); the default is in memory.  A non-loopback ``host`` needs
    ``settings.admin_token`` (the helpers send it) or ``insecure=True``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: Settings | None = None,
        store: Store | str | None = None,
        clock: Callable[[], float] = time.time,
        insecure: bool = False,
    ) -> None:
        self.settings = settings or Settings()
        # As `serve`: a non-loopback host needs an admin token (or insecure=True), and on a
        # loopback host only loopback names are served (README, "Access off loopback").
        exposure(host, self.settings.admin_token, insecure)
        self.settings = self.settings.replace(
            allowed_hosts=served_hosts(self.settings.allowed_hosts, host)
        )
        self.admin_token = self.settings.admin_token
        if isinstance(store, str):
            store = store_from_url(store, self.settings.store_limits())
        self.app = create_app(settings=self.settings, store=store, clock=clock)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = uvicorn.Server(
            uvicorn_config(self.app, self.settings, host=host, port=port)
        )
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._http: httpx.Client | None = None

    @classmethod
    def connect(cls, url: str, *, admin_token: str | None = None) -> MockServer:
        """A handle on a mock already running at ``url`` (nothing is started or stopped);
        ``admin_token`` is sent to its admin API (``$SMS_MOCKSERVER_ADMIN_TOKEN`` when
        not given)."""
        handle = cls.__new__(cls)
        handle.settings = Settings()
        handle.admin_token = admin_token or os.environ.get(ADMIN_TOKEN_ENV)
        handle._server = None
        handle._thread = None
        handle._base_url = url.rstrip("/")
        handle._http = None
        return handle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return self._base_url or f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> MockServer:
        """Start serving; returns once the socket accepts connections."""
        server = self._server
        if server is None:
            return self
        self._thread = threading.Thread(target=server.run, name="sms-mockserver", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise MockServerError(f"sms-mockserver: could not start on {self.url}")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (the store is closed on the way)."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # ------------------------------------------------------------------ admin API

    @property
    def http(self) -> httpx.Client:
        """The client of the admin calls (it sends the admin token, if any)."""
        if self._http is None:
            headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
            self._http = httpx.Client(
                base_url=self.url, timeout=httpx.Timeout(10, read=75), headers=headers
            )
        return self._http

    def namespace(self, name: str | None = None, *, tool: str = TOOL) -> MockHandle:
        """A handle on one namespace (a fresh one by default): its :attr:`~MockHandle.url`
        for client code, its messages and violations, ``assert_sent``, ``reset``."""
        return MockHandle(self.http, self.url, name or new_namespace(), tool)

    def _view(self, namespace: str | None) -> MockHandle:
        """The admin helpers over one namespace, or all of them (None)."""
        return MockHandle(self.http, self.url, namespace)

    def messages(
        self,
        *,
        namespace: str | None = None,
        provider: str | None = None,
        to: str | None = None,
        status: str | None = None,
        text: str | None = None,
    ) -> list[Message]:
        """Kept messages, oldest first, following every page (all namespaces by default)."""
        return self._view(namespace).messages(provider=provider, to=to, status=status, text=text)

    def wait_for(
        self,
        *,
        timeout: float = 10.0,
        namespace: str | None = None,
        provider: str | None = None,
        to: str | None = None,
        status: str | None = None,
        text: str | None = None,
    ) -> Message:
        """The first message matching the filters, waiting server-side up to ``timeout`` s.

        Raises :class:`~mockserver.errors.NoMessageError` (an AssertionError) when none comes.
        """
        view = self._view(namespace)
        return view.wait_for(to=to, text=text, provider=provider, status=status, timeout=timeout)

    def violations(
        self, *, namespace: str | None = None, provider: str | None = None
    ) -> list[Violation]:
        """Contract violations seen in requests, oldest first."""
        return self._view(namespace).violations(provider=provider)

    def reset(self, namespace: str | None = None) -> int:
        """Forget messages, violations and credit balances (tokens stay valid)."""
        return self._view(namespace).reset()

    def health(self) -> dict[str, Any]:
        """``/_mock/health``: version, providers, and the store's usage and limits."""
        _, body = self._view(None).admin("GET", "/health")
        result: dict[str, Any] = body
        return result

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
