"""pytest plugin (the ``smsmock`` pytest11 entry point, registered on install).

Fixtures, thin over :class:`~mockserver.server.MockServer` and
:class:`~mockserver.handle.MockHandle`:

- ``smsmock``: a fresh namespace of one live mock per test session.  Point client code at
  ``smsmock.url``; read with ``smsmock.messages()``, ``wait_for()``, ``violations()``,
  ``assert_sent()``; ``reset()`` clears it.  **Strict**: a test whose client sent any request
  that broke the contract fails, with one line per field (``smsmock: sms_data.customerNumber:
  sent 16502530000 (int), contract expects a string``), unless it is marked
  ``@pytest.mark.smsmock(strict=False)`` or declared the fields with
  ``smsmock.expect_violations("sms_data.customerNumber")``.
- ``smsmock_app``: the same handle in-process, no socket: ``smsmock_app.app`` is the ASGI app
  for ``httpx.ASGITransport`` or Starlette's ``TestClient``, with ``smsmock_app.url`` as the
  base URL.
- ``smsmock_server``: the session's :class:`MockServer` (or, with ``--smsmock-url URL`` or
  ``$SMSMOCK_URL``, a handle on a mock already running there: a CI service, a server shared
  by pytest-xdist workers; every test still gets its own namespace).
- ``smsmock_settings`` and ``smsmock_store`` (session): override them in a ``conftest.py`` to
  configure the mock (``Settings().using(ZohoSettings(allowed_countries=...))``, ``"sqlite://…"``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from .app import create_app
from .config import Settings
from .errors import ContractViolation
from .handle import MockHandle, new_namespace
from .server import MockServer

__all__ = ["URL_ENV", "AppHandle"]

#: Environment variable naming a running mock to use instead of starting one.
URL_ENV = "SMSMOCK_URL"
TOOL = "smsmock"


class AppHandle(MockHandle):
    """:class:`MockHandle` over an app in-process; ``app`` is the ASGI app to send to."""

    def __init__(self, client: httpx.Client, app: Starlette, namespace: str) -> None:
        super().__init__(client, str(client.base_url), namespace, TOOL)
        self.app = app


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smsmock", "sms-mockserver")
    group.addoption(
        "--smsmock-url",
        default=None,
        metavar="URL",
        help=f"use the sms-mockserver running at URL instead of starting one (${URL_ENV})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "smsmock(strict=True): strict=False lets a test pass although its client broke the "
        "provider contract (the smsmock and smsmock_app fixtures)",
    )


@pytest.fixture(scope="session")
def smsmock_settings() -> Settings:
    """The mock's settings for the session (override to configure it)."""
    return Settings()


@pytest.fixture(scope="session")
def smsmock_store() -> str:
    """Where the session's live mock keeps state: ``memory`` (override: ``sqlite://PATH``)."""
    return "memory"


@pytest.fixture(scope="session")
def smsmock_server(
    pytestconfig: pytest.Config, smsmock_settings: Settings, smsmock_store: str
) -> Iterator[MockServer]:
    """One live mock for the session, on a free port; or the one ``--smsmock-url`` names."""
    url = pytestconfig.getoption("smsmock_url") or os.environ.get(URL_ENV)
    if url:
        with MockServer.connect(url) as remote:
            yield remote
        return
    with MockServer(settings=smsmock_settings, store=smsmock_store) as server:
        yield server


@pytest.fixture
def smsmock(smsmock_server: MockServer) -> Iterator[MockHandle]:
    """A fresh namespace of the session's live mock; strict about the contract."""
    handle = smsmock_server.namespace(tool=TOOL)
    yield handle
    handle.reset()  # a shared server keeps nothing of this test


@pytest.fixture(scope="session")
def _smsmock_asgi(smsmock_settings: Settings) -> Iterator[tuple[Starlette, httpx.Client]]:
    with warnings.catch_warnings():
        # Starlette 1.x nudges TestClient users towards httpx2 on import; the admin reads
        # work with either, so a user's -W error must not fail on it.
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient
    app = create_app(settings=smsmock_settings)
    with TestClient(app) as client:  # runs the app's lifespan for the session
        yield app, client


@pytest.fixture
def smsmock_app(_smsmock_asgi: tuple[Starlette, httpx.Client]) -> Iterator[AppHandle]:
    """A fresh namespace of an in-process mock (no socket); strict about the contract."""
    app, client = _smsmock_asgi
    handle = AppHandle(client, app, new_namespace())
    yield handle
    handle.reset()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """After a test body passed: fail it if its client broke the contract (strict mode)."""
    result = yield
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    marker = item.get_closest_marker("smsmock")
    strict = True if marker is None else bool(marker.kwargs.get("strict", True))
    if strict:
        for name in ("smsmock", "smsmock_app"):
            handle = funcargs.get(name)
            if isinstance(handle, MockHandle):
                diff = None
                try:
                    handle.assert_no_violations()
                except ContractViolation as exc:
                    diff = str(exc)
                if diff is not None:  # the diff is the whole story: no traceback of ours
                    pytest.fail(diff, pytrace=False)
    return result
