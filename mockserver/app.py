"""Application factory: mounts the providers and the admin API over one store."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .access import HostAllowList, HostCheck
from .admin import admin_routes
from .body import BodyDeadlines
from .callbacks import Callbacks
from .config import Settings
from .exchange import Hooks
from .faults import FaultEngine
from .lifecycle import Lifecycle
from .pipeline import Endpoint, path_below_root
from .providers import PROVIDERS
from .runtime import Runtime
from .store import MemoryStore, Store

__all__ = ["NAMESPACE_PREFIX", "create_app"]


def create_app(
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """Build the mock as an ASGI app.

    ``settings`` defaults to :class:`Settings()`, ``store`` to an in-memory store bounded by
    the settings (``max_messages``, ``max_store_bytes``, …), ``clock`` (epoch seconds) to the
    real time.  The app's lifespan opens the store and closes it (finishing its writes) on
    shutdown, and runs the runtime's task group in between.  The store is
    ``app.state.store``, the settings ``app.state.settings``, the runtime (clocks, the
    seeded random source, background tasks) ``app.state.runtime``, and the fault seams every
    provider operation runs through ``app.state.hooks`` (:class:`~mockserver.exchange.Hooks`).
    """
    settings = settings or Settings()
    store = store if store is not None else MemoryStore(settings.store_limits())
    runtime = Runtime(seed=settings.seed, clock=clock, max_clocks=settings.max_namespaces)
    lifecycle = Lifecycle(store, runtime, settings)
    faults = FaultEngine(store, runtime, settings, set_status=lifecycle.change)
    hooks = Hooks(post=[faults], stored=[lifecycle.track])
    deadlines = BodyDeadlines(settings.body_timeout_seconds)
    bounds = settings.store_limits().records
    providers = [factory(settings, runtime) for factory in PROVIDERS.values()]
    callbacks = Callbacks(store, runtime, settings, {p.name: p.status_push for p in providers})
    lifecycle.listeners.append(callbacks.status_changed)
    routes: list[BaseRoute] = []
    for provider in providers:
        for op in provider.operations():
            endpoint = Endpoint(op, store, runtime, hooks, bounds, deadlines)
            routes.append(Route(op.path, endpoint, methods=[op.method]))
    routes += admin_routes(store, __version__, settings, runtime, faults, lifecycle, callbacks)

    async def http_error(request: Request, exc: Exception) -> Response:
        """Wrong method or unknown path: JSON, in the provider's shape on its own paths."""
        assert isinstance(exc, HTTPException)
        allowed = (exc.headers or {}).get("Allow", "")
        if exc.status_code == 405:
            for provider in providers:
                answer = provider.method_not_allowed(request, allowed)
                if answer is not None:
                    return answer
        if exc.status_code == 404:
            for provider in providers:
                answer = provider.not_found(request)
                if answer is not None:
                    return answer
        message = f"sms-mockserver: {exc.detail}: {request.method} {request.url.path}"
        if exc.status_code == 404:
            message += " (routes: sms-mockserver serve prints them; admin API under /_mock/)"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        await lifecycle.resume()  # the steps of messages kept by an earlier run
        try:
            async with runtime.running():
                runtime.spawn(deadlines.run)
                runtime.spawn(lifecycle.run)
                runtime.spawn(callbacks.run)
                yield
        finally:
            await store.close()

    middleware = [Middleware(NamespacePrefix), Middleware(ExactRoutes, routes=routes)]
    hosts = None if settings.allowed_hosts is None else HostAllowList(settings.allowed_hosts)
    if hosts is not None:
        middleware.insert(0, Middleware(HostCheck, hosts=hosts))
    app = MockApp(
        routes=routes,
        exception_handlers={HTTPException: http_error},
        middleware=middleware,
        lifespan=lifespan,
    )
    app.exact = exact_table(routes)
    app.hosts = hosts
    # A redirect of a POST to the slash-less path loses the body with many clients, and
    # neither provider is known to redirect: an unknown path gets the provider's 404.
    app.router.redirect_slashes = False
    app.state.store = store
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.hooks = hooks
    app.state.faults = faults
    app.state.lifecycle = lifecycle
    app.state.callbacks = callbacks
    return app


#: ``/_ns/<namespace>/…``: a base URL that picks a namespace (README, "Namespaces").
NAMESPACE_PREFIX = "/_ns/"
_NAMESPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


class NamespacePrefix:
    """ASGI middleware: a path ``/_ns/<namespace>/rest/json/v2/sms/send`` is served as
    ``/rest/json/v2/sms/send`` in ``<namespace>`` (as if ``X-Mock-Namespace`` said so, unless
    the request says otherwise).

    Client code under test usually takes a base URL but no extra headers: with the base URL
    ``http://127.0.0.1:8910/_ns/test-42`` its requests land in their own namespace, so tests
    in parallel (pytest-xdist, a shared CI server) never see each other's messages.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            below = path_below_root(scope)
            if below.startswith(NAMESPACE_PREFIX):
                name, slash, rest = below[len(NAMESPACE_PREFIX) :].partition("/")
                if slash and _NAMESPACE_NAME.fullmatch(name):
                    headers = list(scope["headers"])
                    if not any(k == b"x-mock-namespace" for k, _ in headers):
                        headers.append((b"x-mock-namespace", name.encode()))
                    new_path = root + "/" + rest
                    raw: bytes = scope.get("raw_path") or path.encode()
                    cut = len(NAMESPACE_PREFIX) + len(name.encode())
                    raw_root = root.encode()
                    raw_rest = raw[len(raw_root) + cut :] if raw.startswith(raw_root) else raw
                    scope = {
                        **scope,
                        "path": new_path,
                        "raw_path": raw_root + raw_rest,
                        "headers": headers,
                    }
        await self.app(scope, receive, send)


def exact_table(routes: list[BaseRoute]) -> dict[tuple[str, str], Endpoint]:
    """The provider operations by ``(method, path)``: the routes whose endpoint is an
    :class:`~mockserver.pipeline.Endpoint` and whose path has no parameters."""
    return {
        (method, route.path): route.endpoint
        for route in routes
        if isinstance(route, Route)
        and isinstance(route.endpoint, Endpoint)
        and not route.param_convertors
        for method in route.methods or ()
    }


class MockApp(Starlette):
    """The mock's Starlette app: a request for a provider operation at its own path is
    answered by its endpoint before the middleware stack.

    An endpoint answers every bad request itself, so the stack has nothing to add there:
    Starlette's ServerErrorMiddleware turns an unexpected exception into a plain 500, as the
    ASGI server does when it sees one, and :class:`NamespacePrefix` and :class:`ExactRoutes`
    have nothing to do for a path without ``/_ns/``.  Measured in instructions per send
    (``bench/instructions.py``): the three layers cost about 19,000 instructions, 5% of a
    2sms send (380,000 to 360,000) and 4% of a Zoho send.
    Every other request (``/_ns/…`` paths, a wrong method, the admin API) goes down the
    stack as before, and so does one whose ``Host`` the host check refuses (``serve`` and
    ``MockServer`` on a loopback address), which :class:`~mockserver.access.HostCheck`
    then answers: the check is made here too, so that the usual send keeps the short way
    (``make bench`` serves the mock as ``serve`` does: going down the stack cost 0.04 of the
    2sms ratio).
    """

    #: ``(method, path)`` -> endpoint, or empty: every request goes down the stack.
    exact: dict[tuple[str, str], Endpoint] = {}  # noqa: RUF012 (replaced, never mutated)
    #: The host check a request must pass to be answered before the stack (None: none).
    hosts: HostAllowList | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.exact and scope["type"] == "http":
            endpoint = self.exact.get((scope["method"], path_below_root(scope)))
            if endpoint is not None and (self.hosts is None or self.hosts.refused(scope) is None):
                scope["app"] = self
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class ExactRoutes:
    """ASGI middleware: the provider operations found by one dict lookup.

    A provider endpoint (:class:`~mockserver.pipeline.Endpoint`) answers every bad
    request itself and never raises HTTPException, so it needs neither Starlette's route scan
    nor its ExceptionMiddleware; this sends it ``(method, path)`` matches directly.  Starlette's
    ServerErrorMiddleware stays outside, and everything else (a wrong method, the admin API,
    unknown paths) goes down the normal stack.  The routes stay in the router, so the route
    list and the 405 answers are unchanged.  Measured with ``make bench``: the scan and the
    middleware cost about a quarter of a 2sms send.
    """

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.table = exact_table(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self.table.get((scope["method"], path_below_root(scope)))
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)
