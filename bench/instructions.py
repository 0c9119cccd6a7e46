"""Instructions per request of each pair's two ASGI apps, counted by valgrind.

``make bench`` measures what users get and ``bench/inproc.py`` the CPU time of the app side;
both move with the machine's load.  This counts the instructions the process executes
(valgrind's cachegrind, user space only), which no load moves: two runs of the same code
agree to about 1,000 instructions (the seeded ids and hashes differ), so a change of 1% is
visible, and two versions can be compared while the machine does other work.

Each target is run twice in-process (``bench/inproc.py``'s requests, settings and
concurrency), with ``--small`` and ``--large`` requests after a warm-up of as many, and the
difference of the two counts divided by the difference of the requests is the figure: start-up,
imports and warm-up cancel out.  The counts are below the ring's 10,000 messages, so eviction
is not in them.

    .venv/bin/python bench/instructions.py                         # every pair, bare and mock
    .venv/bin/python bench/instructions.py --pair "2sms send" --target mock
    .venv/bin/python bench/instructions.py --pair "2sms send" --target mock --without filing

``--without`` measures a variant of the mock with one step taken out (its answers are still
checked), so the difference from the real mock is what that step costs: ``filing`` (the
memory store keeps nothing), ``arena`` (the records are encoded but not kept), ``headers``
(no request headers are stored) and ``hooks`` (no fault, stored or other hooks).

Needs valgrind (``apt-get install -y valgrind``).  About a minute per target.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.inproc import _measure
from bench.run import PAIRS, Pair

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _count(pair: Pair, target: str, requests: int, without: str | None) -> int:
    """Instructions of one process that serves ``requests`` (after as many to warm up)."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        pair.name,
        target,
        str(requests),
        *(["--without", without] if without else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"instructions: valgrind failed for {pair.name} {target}:\n{done.stderr}")
    return int(found.group(1).replace(",", ""))


def _without(step: str) -> None:
    """Take one step out of the mock (for ``--without``): a measuring variant, never served."""
    from mockserver import exchange, pipeline
    from mockserver.providers.common import Provider
    from mockserver.store.memory import MemoryStore
    from mockserver.store.records import Message, Submission

    def nothing(
        store: MemoryStore, namespace: str, run: list[Submission], out: list[Message]
    ) -> None:
        return None

    def encode_only(
        store: MemoryStore, namespace: str, run: list[Submission], out: list[Message]
    ) -> None:
        for submission in run:
            submission.encode()

    if step == "filing":
        MemoryStore._file = nothing  # type: ignore[method-assign, assignment]
    elif step == "arena":
        MemoryStore._file = encode_only  # type: ignore[method-assign, assignment]
    elif step == "headers":
        Provider.stored_headers = lambda self, headers: {}  # type: ignore[method-assign]
    elif step == "hooks":
        made = pipeline.Endpoint.__init__

        def bare_hooks(endpoint: pipeline.Endpoint, *args: Any, **kwargs: Any) -> None:
            made(endpoint, *args, **kwargs)
            endpoint.hooks = exchange.Hooks()

        pipeline.Endpoint.__init__ = bare_hooks  # type: ignore[method-assign, assignment]


def _child(name: str, target: str, requests: int, without: str | None) -> None:
    if without:
        _without(without)
    pair = next(p for p in PAIRS if p.name == name)
    chosen = pair.bare if target == "bare" else pair.mock
    asyncio.run(_measure(chosen, pair.request(), 1, requests, 32))


def main(argv: list[str] | None = None) -> int:
    """Count the targets of the pairs named."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pair", action="append", help="a pair by name (default: all)")
    parser.add_argument("--target", choices=("bare", "mock"), action="append")
    parser.add_argument("--small", type=int, default=320, help="requests of the short run")
    parser.add_argument("--large", type=int, default=960, help="requests of the long run")
    parser.add_argument(
        "--without",
        choices=("filing", "arena", "headers", "hooks"),
        help="take one step out of the mock (see the module docstring)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]), args.without)
        return 0
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install -y valgrind)")
    if args.large <= args.small:
        parser.error("--large must be more than --small")
    pairs = [p for p in PAIRS if not args.pair or p.name in args.pair]
    if not pairs:
        parser.error(f"no such pair; the pairs are {', '.join(p.name for p in PAIRS)}")
    for pair in pairs:
        for target in args.target or ("bare", "mock"):
            without = args.without if target == "mock" else None
            small = _count(pair, target, args.small, without)
            large = _count(pair, target, args.large, without)
            # Each run serves its count twice (warm-up and measured round).
            per = (large - small) / (2 * (args.large - args.small))
            label = f"{target} without {without}" if without else target
            print(f"{pair.name:<12} {label:<22} {per:10,.0f} instructions per request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
