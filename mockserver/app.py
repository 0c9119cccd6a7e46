"""Application factory: mounts the providers and the admin API over one store."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from . import __version__
from .admin import admin_routes
from .config import Settings
from .providers.common import Provider
from .providers.twosms import TwoSms
from .providers.zoho_voice import ZohoVoice
from .store import MemoryStore, MessageStore

__all__ = ["create_app"]


def create_app(
    *,
    settings: Settings | None = None,
    store: MessageStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """Build the mock as an ASGI app.

    ``settings`` defaults to :class:`Settings()`, ``store`` to an in-memory store sized by
    ``settings.max_messages``, ``clock`` (epoch seconds) to the real time.  The store is
    reachable as ``app.state.store`` and the settings as ``app.state.settings``.
    """
    settings = settings or Settings()
    store = store if store is not None else MemoryStore(max_messages=settings.max_messages)
    providers: list[Provider] = [TwoSms(settings, store, clock), ZohoVoice(settings, store, clock)]
    routes: list[BaseRoute] = [route for p in providers for route in p.routes()]
    routes += admin_routes(store, __version__, settings)

    async def http_error(request: Request, exc: Exception) -> Response:
        """Wrong method or unknown path: JSON, in the provider's shape on its own paths."""
        assert isinstance(exc, HTTPException)
        allowed = (exc.headers or {}).get("Allow", "")
        if exc.status_code == 405:
            for provider in providers:
                answer = provider.method_not_allowed(request, allowed)
                if answer is not None:
                    return answer
        message = f"sms-mockserver: {exc.detail}: {request.method} {request.url.path}"
        if exc.status_code == 404:
            message += " (routes: sms-mockserver serve prints them; admin API under /_mock/)"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.store = store
    app.state.settings = settings
    return app
