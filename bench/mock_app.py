"""The mock as the benchmark serves it: the real app at its default settings, served the way
``sms-mockserver serve`` serves it.

``serve`` runs the app in uvicorn with the mock's own protocol (header timeout, lingering
close, connection cap: :func:`mockserver.serving.uvicorn_config`), and on its default host,
127.0.0.1, with the ``Host`` check on (a guard against DNS rebinding).  Both cost something
per request, so both are measured: ``python -m bench.mock_app FACTORY --host H --port P``
serves a factory below exactly so.  The bare app stays on plain uvicorn (it is the floor).

Nothing is raised to flatter the figures: the journal keeps its default bounds (10,000
messages per namespace, then the oldest is evicted), so a measured run also measures
eviction.  Two things are set up front, as a client would have them before its first send:
the 2sms bearer token the benchmark sends (obtaining a token is not what is measured), and
a credit balance for its account large enough for the run (a balance, not a limit).

The factories: ``app`` (memory store) and ``sqlite_app`` (a fresh SQLite file per server
start, removed at exit).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from mockserver import Settings, create_app
from mockserver.access import served_hosts
from mockserver.providers.twosms import CREDITS_KEY, TOKEN_KEY, client_namespace
from mockserver.serving import settle_heap, uvicorn_config
from mockserver.store import SHARED, MemoryStore, Store

__all__ = ["BENCH_TWOSMS_TOKEN", "app", "main", "serve_settings", "sqlite_app"]

#: The bearer token bench/run.py sends to the 2sms endpoint.
BENCH_TWOSMS_TOKEN = "bench-token"
#: The benchmark account's credits: more than any run spends (one per send).
BENCH_CREDITS = 10**12


async def _prepare(store: Store) -> None:
    now = time.time()
    await store.open()
    await store.put_account(
        SHARED, TOKEN_KEY + BENCH_TWOSMS_TOKEN, "bench", now=now, expires_at=now + 86_400
    )
    # The namespace the bench's sends land in: they name none, so their token's client's.
    await store.add_account(
        client_namespace("bench"), CREDITS_KEY + "bench", BENCH_CREDITS, start=0
    )
    await store.close()


def _build(store: Store, settings: Settings) -> Starlette:
    # uvicorn calls the factory inside its running loop: prepare on a loop of our own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _prepare(store)).result()
    return create_app(settings=settings, store=store)


def serve_settings() -> Settings:
    """The default settings as ``sms-mockserver serve`` runs them on its default host,
    127.0.0.1 (the ``Host`` check on, by the same rule)."""
    settings = Settings()
    return settings.replace(allowed_hosts=served_hosts(settings.allowed_hosts, "127.0.0.1"))


def app() -> Starlette:
    """The mock with the in-memory store, default settings."""
    settings = serve_settings()
    return _build(MemoryStore(settings.store_limits()), settings)


def sqlite_app() -> Starlette:
    """The mock with a new SQLite store, default settings (as ``sms-mockserver serve``)."""
    from mockserver.store.sqlite import SQLiteStore

    settings = serve_settings()
    directory = tempfile.mkdtemp(prefix="smsmock-bench-db-")
    atexit.register(shutil.rmtree, directory, True)
    return _build(
        SQLiteStore(Path(directory) / "journal.sqlite3", settings.store_limits()), settings
    )


def main(argv: list[str] | None = None) -> int:
    """Serve one factory of this module as ``sms-mockserver serve`` serves the mock."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("factory", choices=("app", "sqlite_app"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8910)
    args = parser.parse_args(argv)
    built = app() if args.factory == "app" else sqlite_app()
    settings: Settings = built.state.settings
    server = uvicorn.Server(uvicorn_config(built, settings, host=args.host, port=args.port))
    settle_heap()  # as serve does
    server.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
