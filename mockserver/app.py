"""Application factory: mounts the providers and the admin API over one store."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from . import __version__
from .admin import admin_routes
from .config import Settings
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
    routes: list[BaseRoute] = [
        *TwoSms(settings, store, clock).routes(),
        *ZohoVoice(settings, store, clock).routes(),
        *admin_routes(store, __version__),
    ]
    app = Starlette(routes=routes)
    app.state.store = store
    app.state.settings = settings
    return app
