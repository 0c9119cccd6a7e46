"""The served mock of two or more git revisions, side by side under ``make bench``'s load.

``make bench`` compares the mock with the bare floor; a change to the mock is judged by this
instead: each revision is checked out into a temporary git worktree, and every round serves
the mock of each revision in turn, as ``make bench`` serves it (``python -m bench.mock_app``,
run from the worktree so that its own ``mockserver`` is the one imported), warms it up,
measures it with wrk (one thread, the same connections and durations) and stops it.  Rounds
alternate the revisions, so a machine that speeds up or slows down during the run moves them
alike; a first run is discarded (the first server of a run reads low here).  Printed: each
round's sends per second and each revision's mean, with the microseconds per send the mean
implies.

    .venv/bin/python bench/ab.py HEAD~1 HEAD
    .venv/bin/python bench/ab.py main HEAD --pair "zoho send" --rounds 5

A revision must have ``bench/mock_app.py`` with its ``FACTORY --host --port`` command line.
Needs wrk, like ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    HOST,
    PAIRS,
    REPO,
    BenchError,
    _wait_ready,
    check_sample,
    ensure_wrk,
    free_port,
    parse_wrk,
    run_wrk,
    stop_server,
    wrk_script,
)


def _worktree(revision: str, into: Path) -> Path:
    """``revision`` checked out (detached) under ``into``."""
    tree = into / revision.replace("/", "_").replace("~", "-").replace("^", "-")
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--force", str(tree), revision],
        check=True,
        capture_output=True,
    )
    return tree


def _measure(tree: Path, pair_name: str, args: argparse.Namespace, wrk: str, tmp: Path) -> float:
    """Sends per second of the mock of ``tree``, served alone, for one wrk run."""
    pair = next(p for p in PAIRS if p.name == pair_name)
    request = pair.request()
    script = tmp / "request.lua"
    script.write_text(wrk_script(request))
    module, _, factory = pair.mock.app.partition(":")
    port = free_port()
    log = tmp / f"server-{tree.name}-{port}.log"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", module, factory, "--host", HOST, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(proc, port, log)
        check_sample(pair.mock, request, port, "before the run")
        url = f"http://{HOST}:{port}{request.path}"
        if args.warmup:
            run_wrk(wrk, script, url, args.connections, args.warmup, latency=False)
        result = parse_wrk(run_wrk(wrk, script, url, args.connections, args.duration, latency=True))
        if result.non_2xx or any(result.socket_errors.values()):
            raise BenchError(f"{tree.name}: error answers or socket errors during the run")
        return result.requests_per_sec
    finally:
        stop_server(proc)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the A/B and print it; 1 when a server or wrk misbehaved."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revisions", nargs="+", help="git revisions (at least two)")
    parser.add_argument("--pair", default="2sms send", choices=[p.name for p in PAIRS])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="measured seconds (8)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds (2)")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    if len(args.revisions) < 2:
        parser.error("give two revisions or more")
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="sms-mock-ab-") as name:
        tmp = Path(name)
        trees = [_worktree(rev, tmp) for rev in args.revisions]
        try:
            _measure(trees[0], args.pair, args, wrk, tmp)  # discarded: the first run reads low
            totals = dict.fromkeys(args.revisions, 0.0)
            for n in range(1, args.rounds + 1):
                cells = []
                for rev, tree in zip(args.revisions, trees, strict=True):
                    rps = _measure(tree, args.pair, args, wrk, tmp)
                    totals[rev] += rps
                    cells.append(f"{rev} {rps:,.0f}")
                print(f"round {n}: " + " | ".join(cells), flush=True)
            for rev in args.revisions:
                mean = totals[rev] / args.rounds
                print(f"{rev:>20}  mean {mean:,.0f} sends/s  ({1e6 / mean:.1f} us a send)")
        except BenchError as exc:
            print(f"ab: {exc}", file=sys.stderr)
            return 1
        finally:
            for tree in trees:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                    check=False,
                    capture_output=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
