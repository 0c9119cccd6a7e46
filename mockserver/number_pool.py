"""The numbers of a large send, checked on the machine's other cores as well as its own.

phonenumbers is pure Python: checking one number the mock has not seen (parse, region,
validity) costs about 85 µs on a 2-core AMD EPYC, so there a 2sms send naming 10,000 new
numbers spent 0.83 s of its 1.13 s answer in it (``bench/store_bounds.py``, big_send).  A
send with at least :data:`AHEAD_MIN` numbers that :func:`~mockserver.sms.parse_number` does
not keep yet is cut into chunks of :data:`CHUNK`: helper processes take chunks from the
front while the request's own thread takes them from the back, and each result goes into
parse_number's cache, where the contract's format check and the rules then find it.  The
results are parse_number's own, computed by the same function
(:func:`~mockserver.sms.check_number`).

A helper is a Python process running :func:`serve_helper`: it reads a chunk as one line of JSON on
its standard input and writes the parses as one line on its standard output.  Not
``multiprocessing``: its ``spawn`` start method imports the parent's ``__main__`` again in
each child, and an embedding script without an ``if __name__ == "__main__"`` guard would run
again there, a second server included; ``fork`` copies a process that has threads.  A
helper is started by the first send that needs it and kept until the server stops; it
leaves when its standard input closes, so also when the server is killed (``kill -9``).
While it starts, the request's thread works alone, so a send never waits for one to start.
``number_processes = 0`` turns them off.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Collection
from pathlib import Path
from typing import IO, Any

import orjson

from .sms import NUMBER_CACHE, Number, check_number, keep_parse, unparsed

__all__ = [
    "AHEAD_MIN",
    "CHUNK",
    "MAX_PROCESSES",
    "default_processes",
    "parse_ahead",
    "serve_helper",
    "stop_helpers",
    "usage",
]

#: Fewer new numbers than this are left to :func:`~mockserver.sms.parse_number` (about 85 ms
#: of work at most).
AHEAD_MIN = 1_000
#: Numbers per chunk handed out (about 20 ms of work): small enough that the request's
#: thread and the helpers finish close together.
CHUNK = 250
#: Numbers this thread checks between two chances it gives the other threads (about 1.4 ms).
_YIELD_EVERY = 16
#: Helper processes at most, whatever the machine.
MAX_PROCESSES = 4
#: At most this many numbers are checked ahead: as many as the cache keeps, since numbers
#: checked ahead then evicted would be checked twice.
AHEAD_MAX = NUMBER_CACHE

# A parsed number as it crosses the process boundary: Number as orjson writes a dataclass
# (its fields by name), or None for a number that is not valid.
_Row = dict[str, Any] | None
#: A helper imports this package from where the server found it, whatever its sys.path.
_HELPER = [sys.executable, "-c", "from mockserver.number_pool import serve_helper; serve_helper()"]
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class _Helper:
    """One helper process, used by one thread at a time (``lock``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None

    def check(self, chunk: list[str]) -> list[_Row] | None:
        """The rows of ``chunk``, or None if the helper could not answer (it is then
        stopped, and started afresh next time)."""
        process = self.process
        fresh = process is None or process.poll() is not None
        if fresh:
            self.stop()
            try:
                process = self.process = _start()
            except OSError as exc:  # no interpreter to start (an embedded Python)
                _give_up(f"could not start one ({exc})")
                return None
        assert process is not None
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(orjson.dumps(chunk) + b"\n")
            process.stdin.flush()
            rows: list[_Row] = orjson.loads(process.stdout.readline())
            if type(rows) is not list or len(rows) != len(chunk):
                raise ValueError("a line that is not one parse per number")
        except (OSError, ValueError) as exc:  # died, or answered garbage: not trusted again
            self.stop()
            if fresh:  # it never answered: it cannot start here (its error is on stderr)
                _give_up(f"a new one did not answer ({exc})")
            return None
        return rows

    def stop(self) -> None:
        """End the process: its input closed, it leaves (killed if it has not within 1 s)."""
        process, self.process = self.process, None
        if process is None:
            return
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a dead helper leaves a broken pipe
                    pipe.close()
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_helpers: list[_Helper] = []
_helpers_lock = threading.Lock()
#: Why helpers are not used in this process any more, once one could not start.
_gave_up: str | None = None
_log = logging.getLogger("mockserver")


def _start() -> subprocess.Popen[bytes]:
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, path]))}
    return subprocess.Popen(
        _HELPER,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        # Out of the terminal's process group: Ctrl-C stops the server, which closes the
        # helpers' input; they are not interrupted mid-line themselves.
        start_new_session=True,
    )


def _give_up(why: str) -> None:
    """Stop using helpers in this process (each large send would otherwise try to start one
    and fail again); said once, in the log."""
    global _gave_up
    if _gave_up is None:
        _gave_up = why
        _log.warning(
            "sms-mockserver: number helper processes are off: %s; large 2sms sends check "
            "their numbers in one thread",
            why,
        )


def stop_helpers() -> None:
    """Stop every helper, once each has finished the send it works on (a helper starts
    again when a send needs it, even after one could not start).  Run at exit."""
    global _gave_up
    with _helpers_lock:
        helpers = list(_helpers)
        _gave_up = None
    for helper in helpers:
        with helper.lock:
            helper.stop()


atexit.register(stop_helpers)


def usage(processes: int | None) -> dict[str, Any]:
    """What ``/_mock/health`` shows of the helpers, for the setting ``processes``: how many
    run, the most that may, and why they are off (None when they are not)."""
    with _helpers_lock:
        running = sum(h.process is not None and h.process.poll() is None for h in _helpers)
    return {"running": running, "limit": _count(processes), "off": _gave_up}


def _count(processes: int | None) -> int:
    """The helpers the setting allows (unset: :func:`default_processes`)."""
    return default_processes() if processes is None else processes


def default_processes() -> int:
    """Helpers when the setting is unset: one fewer than the cores this process may use (the
    request's own thread takes one), at most :data:`MAX_PROCESSES`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, min(cores - 1, MAX_PROCESSES))


def parse_ahead(raws: Collection[str], processes: int | None) -> None:
    """Check the numbers of ``raws`` not yet kept by parse_number, with up to ``processes``
    helpers (None: :func:`default_processes`), and keep their parses.

    Does nothing for fewer than :data:`AHEAD_MIN` new numbers, or without helpers.  Blocks
    until every chunk is checked: call it off the event loop.  Helpers busy with another
    send are left out; a chunk a helper fails on is left to parse_number, which checks what
    is not kept.
    """
    count = _count(processes)
    if count < 1 or len(raws) < AHEAD_MIN or _gave_up is not None:
        return
    new = unparsed(raws)[:AHEAD_MAX]
    if len(new) < AHEAD_MIN:
        return
    chunks = deque(new[i : i + CHUNK] for i in range(0, len(new), CHUNK))
    with _helpers_lock:
        _helpers.extend(_Helper() for _ in range(count - len(_helpers)))
        free = [helper for helper in _helpers[:count] if helper.lock.acquire(blocking=False)]
    feeders = [threading.Thread(target=_feed, args=(helper, chunks)) for helper in free]
    for feeder in feeders:
        feeder.start()
    # The helpers take chunks from the front, this thread from the back.
    while True:
        try:
            chunk = chunks.pop()
        except IndexError:
            break
        for i, raw in enumerate(chunk, 1):
            keep_parse(raw, check_number(raw))
            if not i % _YIELD_EVERY:
                # Let the event loop's thread (and a feeder) have the interpreter now rather
                # than at the next forced switch (5 ms; every thread in turn waits for it).
                time.sleep(0)
    for feeder in feeders:
        feeder.join()


def _feed(helper: _Helper, chunks: deque[list[str]]) -> None:
    try:
        while True:
            try:
                chunk = chunks.popleft()
            except IndexError:
                return
            rows = helper.check(chunk)
            if rows is None:
                return
            for raw, row in zip(chunk, rows, strict=True):
                keep_parse(raw, None if row is None else Number(**row))
    finally:
        helper.lock.release()


def serve_helper(source: IO[bytes] | None = None, sink: IO[bytes] | None = None) -> None:
    """A helper's work (standard input and output by default): answer each line of numbers
    with a line of their parses, until the server closes the pipe."""
    if source is None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    source = source or sys.stdin.buffer
    sink = sink or sys.stdout.buffer
    for line in source:
        sink.write(orjson.dumps([check_number(raw) for raw in orjson.loads(line)]) + b"\n")
        sink.flush()
