"""The app side of each benchmark pair, without a server: CPU microseconds per request.

``make bench`` measures what users get (a uvicorn server under ``wrk``), and that figure is
the one the README reports.  This script is the instrument behind it for anyone working on
the mock's speed: it calls each pair's two ASGI apps directly (the same apps, the same
request bytes, the same default settings as ``bench/run.py``), one request at a time, and
reports the process CPU time per request (every thread's, so the SQLite writer's is
counted).  No sockets and no load generator, so it is steadier than ``wrk`` on a busy
machine, and the difference ``mock - bare`` is the cost of the mock's own work.

    .venv/bin/python bench/inproc.py                      # every pair, 5 rounds
    .venv/bin/python bench/inproc.py --pair "2sms send" --profile

A ratio here is not the ``make bench`` ratio: a served request also pays uvicorn's share
(the same for both apps), which this leaves out.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import pstats
import statistics
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import PAIRS, HttpRequest, Pair, Target

Message = MutableMapping[str, Any]


def _scope(request: HttpRequest) -> dict[str, Any]:
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers]
    headers += [(b"content-length", str(len(request.body)).encode()), (b"host", b"127.0.0.1")]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def _load(target: Target) -> Starlette:
    module, _, name = target.app.partition(":")
    obj = getattr(importlib.import_module(module), name)
    app: Starlette = obj() if target.factory else obj
    return app


async def _serve(
    app: Starlette,
    request: HttpRequest,
    expect: bytes | None,
    count: int,
    inflight: int,
    problems: list[str],
) -> float:
    """CPU seconds per request over ``count`` requests, ``inflight`` at a time (as
    ``wrk``'s connections keep them).  Every answer is checked, so an error answer is never
    what gets measured: wrong ones are described in ``problems``."""
    scope = _scope(request)
    body = request.body
    wrong: list[Message] = []
    status = [0]

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        elif status[0] != 200 or (expect is not None and expect not in message["body"]):
            wrong.append(message)

    async def one() -> None:
        given = False

        async def receive() -> Message:
            nonlocal given
            if given:  # the request is whole: wait as a server would for a disconnect
                await asyncio.sleep(3600)
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(dict(scope), receive, send)

    batches = max(1, count // inflight)
    start = time.process_time()
    for _ in range(batches):
        await asyncio.gather(*(one() for _ in range(inflight)))
    spent = time.process_time() - start
    if wrong:
        problems.append(
            f"{len(wrong)} wrong answers from {request.path}, the last: {wrong[-1]['body'][:200]!r}"
        )
    return spent / (batches * inflight)


async def _measure(
    target: Target,
    request: HttpRequest,
    rounds: int,
    count: int,
    inflight: int,
    profile: cProfile.Profile | None = None,
) -> list[float]:
    """``rounds`` measured runs after one warm-up, inside the app's lifespan; profiled when
    ``profile`` is given."""
    app = _load(target)
    problems: list[str] = []
    args = (app, request, target.expect_in_body, count, inflight, problems)
    async with app.router.lifespan_context(app):
        await _serve(*args)  # warm-up
        if profile is not None:
            profile.enable()
        times = [await _serve(*args) for _ in range(rounds)]
        if profile is not None:
            profile.disable()
    if problems:  # raised here, not inside the app's task group (it would wrap it)
        raise SystemExit(f"inproc: {target.name}: {problems[-1]}")
    return times


def _report(pair: Pair, rounds: int, count: int, inflight: int) -> None:
    request = pair.request()
    bare = asyncio.run(_measure(pair.bare, request, rounds, count, inflight))
    mock = asyncio.run(_measure(pair.mock, request, rounds, count, inflight))
    b, m = statistics.median(bare) * 1e6, statistics.median(mock) * 1e6
    print(
        f"{pair.name:<12} bare {b:7.1f} us   mock {m:7.1f} us   mock-bare {m - b:7.1f} us   "
        f"(rounds bare {' '.join(f'{x * 1e6:.1f}' for x in bare)}; "
        f"mock {' '.join(f'{x * 1e6:.1f}' for x in mock)})"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure (or profile) the pairs named, each target in its own event loop."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pair", action="append", help="a pair by name (default: all)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--count", type=int, default=5000, help="requests per round")
    parser.add_argument(
        "--inflight", type=int, default=32, help="requests in flight (default 32, as wrk's -c)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the mock instead")
    args = parser.parse_args(argv)
    pairs = [p for p in PAIRS if not args.pair or p.name in args.pair]
    if not pairs:
        parser.error(f"no such pair; the pairs are {', '.join(p.name for p in PAIRS)}")
    for pair in pairs:
        if args.profile:
            profile = cProfile.Profile()
            asyncio.run(_measure(pair.mock, pair.request(), 1, args.count, args.inflight, profile))
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        else:
            _report(pair, args.rounds, args.count, args.inflight)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
