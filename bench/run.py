"""Throughput benchmark: the mock against a bare Starlette floor, in one run, under one load.

Each *pair* sends one fixed request to two servers: ``bare`` (a Starlette app that only parses
what the mock parses) and ``mock`` (the real mock doing the full validated send, served as
``sms-mockserver serve`` serves it: ``bench/mock_app.py``).  Every server is its own
single-worker uvicorn process, started one at a time so the two never share the machine's
cores; the load comes from ``wrk`` with one thread (so it takes one core at
most).  A sample request is checked before the warm-up and after the measured run, so error
responses are never what gets measured.

Run it with ``make bench`` (or ``.venv/bin/python bench/run.py --help``).  The table is printed
and written to ``bench/results/latest.md``, the numbers to ``bench/results/latest.json``.

Exit status: 0 when every measured run was clean (whether or not the ratio target is met:
this is a report), 1 when a measured run saw non-2xx answers or socket errors or a server
misbehaved, 2 when ``wrk`` is missing and could not be installed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
HOST = "127.0.0.1"
#: The mock should reach this fraction of the bare floor's requests/sec.
RATIO_TARGET = 0.75
WRK_THREADS = 1
SERVER_START_TIMEOUT = 30.0


class BenchError(Exception):
    """The benchmark cannot produce a meaningful number (a server or wrk misbehaved)."""


# --------------------------------------------------------------------------- what is measured


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One literal HTTP request, sent identically to every target of a pair."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Target:
    """One server under test: how uvicorn imports it and what a correct answer looks like."""

    name: str
    #: uvicorn import string, e.g. ``bench.bare_app:app``.
    app: str
    #: True when ``app`` names a factory function (uvicorn ``--factory``).
    factory: bool = False
    #: True to serve ``app`` (a factory of ``bench.mock_app``) as ``sms-mockserver serve``
    #: serves the mock (``python -m bench.mock_app``), not on plain uvicorn.
    as_served: bool = False
    expect_status: int = 200
    #: Bytes the sample response body must contain (``None``: any body).
    expect_in_body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Pair:
    """A request and the two servers it is measured against: the floor and the mock."""

    name: str
    request: Callable[[], HttpRequest]
    bare: Target
    mock: Target
    ratio_target: float = RATIO_TARGET


ZOHO_BOUNDARY = "smsmockBenchBoundary7MA4YWxkTrZu0gW"
ZOHO_SMS_DATA = (
    '{"customerNumber":"14155550100","message":"Hello from the benchmark","senderId":"14155550199"}'
)


def zoho_send_request() -> HttpRequest:
    """The Zoho Voice send: multipart/form-data with one ``sms_data`` part, fixed boundary."""
    body = (
        f"--{ZOHO_BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="sms_data"\r\n'
        "\r\n"
        f"{ZOHO_SMS_DATA}\r\n"
        f"--{ZOHO_BOUNDARY}--\r\n"
    ).encode()
    return HttpRequest(
        method="POST",
        path="/rest/json/v2/sms/send",
        headers=(
            ("Authorization", "Zoho-oauthtoken bench"),
            ("Content-Type", f"multipart/form-data; boundary={ZOHO_BOUNDARY}"),
        ),
        body=body,
    )


TWOSMS_BODY = (
    b'{"Contacts":{"QuickRecipients":{"+12345678901":2}},'
    b'"Content":"Standard Send Test","Options":{},"Type":1}'
)


def twosms_send_request() -> HttpRequest:
    """The 2sms send: the help page's worked example as application/json, with a token."""
    from bench.mock_app import BENCH_TWOSMS_TOKEN

    return HttpRequest(
        method="POST",
        path="/api/v2/sms/messages",
        headers=(
            ("Authorization", f"Bearer {BENCH_TWOSMS_TOKEN}"),
            ("Content-Type", "application/json"),
        ),
        body=TWOSMS_BODY,
    )


def _pair(
    name: str,
    request: Callable[[], HttpRequest],
    expect_in_body: bytes,
    target: float,
    mock_app: str = "bench.mock_app:app",
) -> Pair:
    """A send measured against the bare app and a mock factory, both from bench/."""
    return Pair(
        name=name,
        request=request,
        bare=Target(name="bare", app="bench.bare_app:app"),
        mock=Target(
            name="mock", app=mock_app, factory=True, as_served=True, expect_in_body=expect_in_body
        ),
        ratio_target=target,
    )


#: Every pair measured by one run, in order, with the share of the bare floor it must reach.
#: A new provider adds one entry: its request builder and what the mock's answer must contain
#: (bare app route and mock factories are shared).  Every server starts empty, so the state
#: is reset between rounds; the mock runs at its default settings (bench/mock_app.py).
PAIRS: tuple[Pair, ...] = (
    _pair("zoho send", zoho_send_request, b'"code":"ZVSMS-2000"', 0.9),
    _pair(
        "zoho sqlite",
        zoho_send_request,
        b'"code":"ZVSMS-2000"',
        0.5,
        mock_app="bench.mock_app:sqlite_app",
    ),
    _pair("2sms send", twosms_send_request, b'"Error":null', 0.8),
)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class WrkResult:
    """The numbers read from one measured wrk run."""

    requests_per_sec: float
    p50_ms: float
    p99_ms: float
    requests: int
    #: wrk's "Non-2xx or 3xx responses" (it counts statuses >= 400).
    non_2xx: int
    socket_errors: dict[str, int]

    @property
    def clean(self) -> bool:
        """True when every measured request was answered successfully."""
        return self.non_2xx == 0 and not any(self.socket_errors.values())


@dataclass(frozen=True, slots=True)
class PairResult:
    """Every round of one pair: bare and mock measured back to back, ``rounds`` times."""

    pair: Pair
    bare: tuple[WrkResult, ...]
    mock: tuple[WrkResult, ...]

    @property
    def ratios(self) -> list[float]:
        """Requests/sec of the mock over the bare floor, one per round."""
        return [
            m.requests_per_sec / b.requests_per_sec if b.requests_per_sec else 0.0
            for b, m in zip(self.bare, self.mock, strict=True)
        ]

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios: what the verdict is read from."""
        return statistics.median(self.ratios)

    @property
    def verdict(self) -> str:
        """PASS when the mock reaches the pair's ratio target."""
        return "PASS" if self.ratio >= self.pair.ratio_target else "BELOW TARGET"

    @property
    def clean(self) -> bool:
        """True when every measured request of every round was answered successfully."""
        return all(r.clean for r in (*self.bare, *self.mock))


def median_run(runs: Sequence[WrkResult]) -> WrkResult:
    """The run with the median requests/sec (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r.requests_per_sec)
    return ordered[(len(ordered) - 1) // 2]


@dataclass(frozen=True, slots=True)
class Options:
    """Load parameters of a run."""

    connections: int
    warmup: int
    duration: int
    rounds: int = 1
    #: Names of the pairs to measure; empty for all of them.
    pairs: tuple[str, ...] = ()


# --------------------------------------------------------------------------- wrk


def ensure_wrk() -> str:
    """Path of ``wrk``; installs the Debian package when root with apt-get, else exits 2."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        print("bench: wrk not found; running `apt-get install -y wrk` (we are root)", flush=True)
        installed = subprocess.run([apt, "install", "-y", "wrk"], check=False).returncode == 0
        if not installed:
            print("bench: retrying after `apt-get update`", flush=True)
            subprocess.run([apt, "update"], check=False)
            subprocess.run([apt, "install", "-y", "wrk"], check=False)
        found = shutil.which("wrk")
        if found:
            return found
    print(
        "bench: the load generator `wrk` is not installed.\n"
        "  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk\n"
        "  macOS:         brew install wrk",
        file=sys.stderr,
    )
    raise SystemExit(2)


def wrk_version(wrk: str) -> str:
    """The version wrk reports (``wrk -v`` prints it and exits non-zero)."""
    proc = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    match = re.search(r"wrk\s+(\S+)", proc.stdout + proc.stderr)
    return match.group(1) if match else "unknown"


def lua_string(data: bytes) -> str:
    """``data`` as a double-quoted Lua string literal (non-printables as ``\\ddd``)."""
    out = []
    for byte in data:
        char = chr(byte)
        if 0x20 <= byte < 0x7F and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def wrk_script(request: HttpRequest) -> str:
    """A wrk Lua script sending ``request`` on every call."""
    lines = [
        f"wrk.method = {lua_string(request.method.encode())}",
        f"wrk.path = {lua_string(request.path.encode())}",
        f"wrk.body = {lua_string(request.body)}",
    ]
    lines += [
        f"wrk.headers[{lua_string(name.encode())}] = {lua_string(value.encode())}"
        for name, value in request.headers
    ]
    return "\n".join(lines) + "\n"


def run_wrk(
    wrk: str, script: Path, url: str, connections: int, seconds: int, *, latency: bool
) -> str:
    """Run wrk once and return its report; raise :class:`BenchError` if it fails."""
    cmd = [wrk, f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "-s", str(script)]
    if latency:
        cmd.append("--latency")
    cmd.append(url)
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=seconds + 60
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout}")
    return proc.stdout


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _latency_ms(report: str, percentile: str) -> float:
    """A percentile from wrk's ``Latency Distribution`` block, in milliseconds."""
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m|h)\s*$", report, re.MULTILINE)
    if match is None:
        raise BenchError(f"no {percentile}% latency in wrk output:\n{report}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(report: str) -> WrkResult:
    """Read requests/sec, p50/p99 latency, request count and error counts from wrk output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", report, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", report, re.MULTILINE)
    if rps is None or total is None:
        raise BenchError(f"cannot read wrk output:\n{report}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    kinds = ("connect", "read", "write", "timeout")
    socket_errors = dict.fromkeys(kinds, 0)
    if sockets is not None:
        socket_errors = {kind: int(sockets.group(i)) for i, kind in enumerate(kinds, start=1)}
    return WrkResult(
        requests_per_sec=float(rps.group(1)),
        p50_ms=_latency_ms(report, "50"),
        p99_ms=_latency_ms(report, "99"),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
    )


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    """A TCP port on :data:`HOST` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _server_log(path: Path) -> str:
    """The tail of a server's captured output, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return text[-4000:] or "(no output)"


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Block until the server accepts connections; raise if it exits or takes too long."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited with {proc.returncode}:\n{_server_log(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"server not listening after {SERVER_START_TIMEOUT:.0f}s:\n{_server_log(log)}")


def stop_server(proc: subprocess.Popen[Any]) -> None:
    """Stop the server process this script started (SIGTERM, then SIGKILL)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def serve(target: Target, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``target`` in its own single-worker uvicorn process for the ``with`` block."""
    if target.as_served:
        module, _, factory = target.app.partition(":")
        cmd = [sys.executable, "-m", module, factory, "--host", HOST, "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "uvicorn"]
        if target.factory:
            cmd.append("--factory")
        cmd += [
            target.app,
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(proc, port, log)
        yield proc
    finally:
        stop_server(proc)


def check_sample(target: Target, request: HttpRequest, port: int, when: str) -> None:
    """Send ``request`` once; raise unless the answer is what ``target`` should answer."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(request.method, request.path, body=request.body, headers=dict(request.headers))
        response = conn.getresponse()
        status, body = response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"{target.name}: sample request {when} failed: {exc}") from exc
    finally:
        conn.close()
    wrong_body = target.expect_in_body is not None and target.expect_in_body not in body
    if status != target.expect_status or wrong_body:
        expected = f"{target.expect_status}"
        if target.expect_in_body is not None:
            expected += f" with {target.expect_in_body.decode()}"
        raise BenchError(
            f"{target.name}: sample request {when} answered {status} "
            f"{body[:600].decode(errors='replace')}\n  expected {expected}; "
            "a benchmark of error responses would be meaningless"
        )


def measure(
    wrk: str, target: Target, request: HttpRequest, script: Path, options: Options, tmp: Path
) -> WrkResult:
    """Serve ``target`` alone, check it, warm it up, measure it, check it again, stop it."""
    port = free_port()
    url = f"http://{HOST}:{port}{request.path}"
    log = tmp / f"server-{target.name}-{port}.log"
    with serve(target, port, log) as proc:
        check_sample(target, request, port, "before the warm-up")
        if options.warmup > 0:
            run_wrk(wrk, script, url, options.connections, options.warmup, latency=False)
        report = run_wrk(wrk, script, url, options.connections, options.duration, latency=True)
        check_sample(target, request, port, "after the measured run")
        if proc.poll() is not None:
            raise BenchError(f"{target.name}: server died during the run:\n{_server_log(log)}")
    return parse_wrk(report)


# --------------------------------------------------------------------------- report


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or what the platform module knows)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def environment(wrk: str) -> dict[str, Any]:
    """Versions and machine facts that a number only means something together with."""
    return {
        "python": platform.python_version(),
        "starlette": importlib.metadata.version("starlette"),
        "uvicorn": importlib.metadata.version("uvicorn"),
        "wrk": wrk_version(wrk),
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "platform": platform.platform(),
    }


def _fmt_ms(value: float) -> str:
    """Milliseconds with two decimals and the unit."""
    return f"{value:.2f}ms"


def render_table(results: Sequence[PairResult], env: dict[str, Any], options: Options) -> str:
    """The human-readable report: header, one row per target, one ratio line per pair.

    With several rounds a target's row is its median round (by req/s), and the ratio line
    gives every round's ratio and their median, which the verdict is read from.
    """
    lines = [
        f"sms-mockserver benchmark  (wrk -t{WRK_THREADS} -c{options.connections}, "
        f"warm-up {options.warmup}s, measured {options.duration}s, {options.rounds} round(s); "
        f"python {env['python']}, starlette {env['starlette']}, uvicorn {env['uvicorn']}, "
        f"CPU: {env['cpu']}, {env['cores']} cores)",
        f"load generator: wrk {env['wrk']} with {WRK_THREADS} thread (at most one core); "
        "servers run one at a time, each one uvicorn worker (the mock as `serve` runs it); "
        "each round measures bare, then mock",
        f"{'pair':<12}{'target':<8}{'req/s':<9}{'p50':<10}{'p99':<10}non-2xx",
    ]
    for result in results:
        for target, runs in ((result.pair.bare, result.bare), (result.pair.mock, result.mock)):
            numbers = median_run(runs)
            lines.append(
                f"{result.pair.name:<12}{target.name:<8}{numbers.requests_per_sec:<9.0f}"
                f"{_fmt_ms(numbers.p50_ms):<10}{_fmt_ms(numbers.p99_ms):<10}"
                f"{sum(r.non_2xx for r in runs)}"
            )
        rounds = ""
        if len(result.ratios) > 1:
            rounds = f"  (rounds: {' '.join(f'{r:.2f}' for r in result.ratios)})"
        lines.append(
            f"{result.pair.name:<12}ratio mock/bare = {result.ratio:.2f}{rounds}  "
            f"(target >= {result.pair.ratio_target:.2f})  {result.verdict}"
        )
    for result in results:
        for target, runs in ((result.pair.bare, result.bare), (result.pair.mock, result.mock)):
            for n, numbers in enumerate(runs, start=1):
                if any(numbers.socket_errors.values()):
                    errors = ", ".join(f"{k} {v}" for k, v in numbers.socket_errors.items())
                    lines.append(
                        f"{result.pair.name} {target.name} round {n}: socket errors: {errors}"
                    )
    return "\n".join(lines)


def _result_json(runs: Sequence[WrkResult], target: Target) -> dict[str, Any]:
    """One target's rounds as plain data."""
    return {
        "app": target.app,
        "factory": target.factory,
        "as_served": target.as_served,
        "median": asdict(median_run(runs)),
        "rounds": [asdict(r) for r in runs],
    }


def results_json(
    results: Sequence[PairResult], env: dict[str, Any], options: Options
) -> dict[str, Any]:
    """The machine-readable copy of the report."""
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": env,
        "parameters": {
            "threads": WRK_THREADS,
            "connections": options.connections,
            "warmup_s": options.warmup,
            "duration_s": options.duration,
            "rounds": options.rounds,
        },
        "pairs": [
            {
                "name": r.pair.name,
                "bare": _result_json(r.bare, r.pair.bare),
                "mock": _result_json(r.mock, r.pair.mock),
                "ratios": [round(x, 4) for x in r.ratios],
                "ratio": round(r.ratio, 4),
                "ratio_target": r.pair.ratio_target,
                "verdict": r.verdict,
            }
            for r in results
        ],
        "clean": all(r.clean for r in results),
    }


def write_results(table: str, data: dict[str, Any]) -> None:
    """Write ``latest.md`` and ``latest.json`` under ``bench/results``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.md").write_text(
        "# sms-mockserver benchmark\n\n"
        f"Generated {data['generated_at']} by `make bench` (bench/run.py).\n\n"
        f"```\n{table}\n```\n"
    )
    (RESULTS_DIR / "latest.json").write_text(json.dumps(data, indent=2) + "\n")


# --------------------------------------------------------------------------- main


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def parse_args(argv: Sequence[str] | None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description="Compare the mock's throughput with a bare Starlette floor (needs wrk)."
    )
    parser.add_argument(
        "--duration", type=_positive, default=10, help="measured seconds (default 10)"
    )
    parser.add_argument(
        "--warmup",
        type=_non_negative,
        default=3,
        help="warm-up seconds, discarded (default 3; 0 skips it)",
    )
    parser.add_argument(
        "--connections", type=_positive, default=32, help="wrk connections (default 32)"
    )
    parser.add_argument(
        "--rounds",
        type=_positive,
        default=3,
        help="rounds per pair, each measuring bare then mock; the verdict uses the median "
        "ratio (default 3)",
    )
    parser.add_argument(
        "--pair",
        action="append",
        choices=[p.name for p in PAIRS],
        help="measure only this pair (repeatable); bench/results/ is then left as it is",
    )
    args = parser.parse_args(argv)
    return Options(
        connections=args.connections,
        warmup=args.warmup,
        duration=args.duration,
        rounds=args.rounds,
        pairs=tuple(args.pair or ()),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run every pair, print and save the report; see the module docstring for the status."""
    options = parse_args(argv)
    wrk = ensure_wrk()
    env = environment(wrk)
    results: list[PairResult] = []
    with tempfile.TemporaryDirectory(prefix="smsmock-bench-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            for index, pair in enumerate(PAIRS):
                if options.pairs and pair.name not in options.pairs:
                    continue
                request = pair.request()
                script = tmp / f"pair{index}.lua"
                script.write_text(wrk_script(request))
                measured: dict[str, list[WrkResult]] = {"bare": [], "mock": []}
                # Rounds alternate the targets, so a slow spell of the machine lands on
                # both rather than on one.
                for n in range(1, options.rounds + 1):
                    for key, target in (("bare", pair.bare), ("mock", pair.mock)):
                        print(
                            f"bench: {pair.name} / {target.name} "
                            f"(round {n} of {options.rounds}) ...",
                            file=sys.stderr,
                            flush=True,
                        )
                        measured[key].append(measure(wrk, target, request, script, options, tmp))
                results.append(
                    PairResult(pair, bare=tuple(measured["bare"]), mock=tuple(measured["mock"]))
                )
        except BenchError as exc:
            print(f"bench: FAILED: {exc}", file=sys.stderr)
            return 1
    table = render_table(results, env, options)
    data = results_json(results, env, options)
    print(table)
    if options.pairs:
        print("bench: only some pairs were measured; bench/results/ left as it is", file=sys.stderr)
    else:
        write_results(table, data)
    if not data["clean"]:
        print(
            "bench: non-2xx answers or socket errors in a measured run; the numbers above "
            "are not a valid measurement",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
