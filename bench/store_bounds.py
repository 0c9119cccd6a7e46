"""The journal's bounds, measured on a real server: big sends, paging, memory, the ring.

Each measurement starts ``sms-mockserver serve`` (the command users run) on a free port,
at the default settings unless it says otherwise, sends its load to 127.0.0.1 only, reads
the server's resident memory from ``/proc``, and stops the server.  Run it with
``make bench-store`` or ``.venv/bin/python bench/store_bounds.py [--store memory|sqlite|both]
[--only NAME]``.  The table is printed and written to ``bench/results/store_bounds.md`` and
``.json``.  Exit status 0 when every measurement ran (whatever the figures), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.run import stop_server
from mockserver.providers.zoho_voice import token_namespace

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
TWOSMS = "/api/v2/sms/messages"
ZOHO = "/rest/json/v2/sms/send"
ZOHO_SMS = '{"customerNumber":"14155550100","message":"hi","senderId":"ACME"}'
MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure and its target."""

    measurement: str
    store: str
    figure: str
    value: float
    unit: str
    target: str
    passed: bool
    note: str = ""


def numbers(count: int, start: int = 0) -> list[str]:
    """``count`` valid New York numbers (+1 212 …)."""
    return [f"+1212{2_000_000 + start + n:07d}" for n in range(count)]


def twosms_body(recipients: Sequence[str]) -> dict[str, Any]:
    """A 2sms send to ``recipients``, each with value 1 (email only: it costs no credits)."""
    return {
        "Contacts": {"QuickRecipients": dict.fromkeys(recipients, 1)},
        "Content": "hi",
        "Options": {},
        "Type": 1,
    }


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@dataclass
class Server:
    """A running ``sms-mockserver serve`` process."""

    proc: subprocess.Popen[str]
    url: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def token(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": "bench", "client_secret": "x"}
        response = httpx.post(self.url + "/Token", data=form)
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(self.url + "/_mock/health").json()["store"]
        return data


@contextmanager
def serve(store: str, tmp: Path, config: str = "") -> Iterator[Server]:
    """``sms-mockserver serve`` with ``store`` (memory, or a new SQLite file in ``tmp``)."""
    url = "memory" if store == "memory" else f"sqlite://{tmp / f'{time.monotonic_ns()}.sqlite3'}"
    cmd = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--store", url]
    if config:
        path = tmp / "bench.toml"
        path.write_text(config)
        cmd += ["--config", str(path)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first.startswith("sms-mockserver "):
            raise RuntimeError(f"the server did not start: {first!r}")
        yield Server(proc, first.rsplit(" ", 1)[-1].strip())
    finally:
        stop_server(proc)
        if proc.stdout is not None:
            proc.stdout.close()


async def run_all(
    url: str,
    requests: Iterator[tuple[str, dict[str, Any]]],
    concurrency: int,
    progress: Callable[[int], None] | None = None,
) -> dict[int, int]:
    """Send every (path, httpx keyword arguments) request, ``concurrency`` at a time;
    returns how many answers of each status came back."""
    statuses: dict[int, int] = {}
    done = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal done
            for path, kwargs in requests:  # a shared iterator: each request is sent once
                response = await client.post(path, **kwargs)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                done += 1
                if progress is not None:
                    progress(done)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


# --------------------------------------------------------------------------- measurements


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the server's number helpers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) is in parentheses and may hold spaces.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def big_send(store: str, tmp: Path) -> list[Figure]:
    """A 2sms send to 10,000 recipients while another client polls /_mock/health."""
    with serve(store, tmp) as server:
        token = server.token()
        headers = {"Authorization": f"Bearer {token}"}
        warm = httpx.post(server.url + TWOSMS, json=twosms_body(numbers(10)), headers=headers)
        warm.raise_for_status()
        before = rss_mb(server.pid)
        latencies: list[float] = []
        stop = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=server.url) as client:
                while not stop.is_set():
                    started = time.perf_counter()
                    client.get("/_mock/health").raise_for_status()
                    latencies.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.01)

        big = twosms_body(numbers(10_000, 100))
        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.1)
        started = time.perf_counter()
        response = httpx.post(server.url + TWOSMS, json=big, headers=headers, timeout=60)
        elapsed = time.perf_counter() - started
        time.sleep(0.1)
        stop.set()
        poller.join()
        after = rss_mb(server.pid)
        helpers = [rss_mb(child) for child in children(server.pid)]
        # The same 10,000 numbers again: the mock keeps each number's parse (phonenumbers'
        # validation), so the difference from the first send is what parsing them cost.
        started = time.perf_counter()
        again = httpx.post(server.url + TWOSMS, json=big, headers=headers, timeout=60)
        again_ms = (time.perf_counter() - started) * 1000
        again.raise_for_status()
    detail = response.json()["ResponseData"]["Detail"]
    ok = response.status_code == 200 and detail["NoOfQuickRecipients"] == "10000"
    growth = after - before
    worst = max(latencies)
    return [
        Figure(
            "big_send",
            store,
            "answer time",
            elapsed * 1000,
            "ms",
            "< 1000",
            ok and elapsed < 1,
            f"the same 10,000 numbers again, their parses kept: {again_ms:,.0f} ms",
        ),
        Figure(
            "big_send",
            store,
            "RSS growth",
            growth,
            "MB",
            "< 50",
            growth < 50,
            f"the server's process; besides it {len(helpers)} number helper process(es) of "
            f"{sum(helpers):.1f} MB (mockserver.number_pool)",
        ),
        Figure(
            "big_send",
            store,
            "health latency max meanwhile",
            worst,
            "ms",
            "< 50",
            worst < 50,
            f"{len(latencies)} polls, p99 {percentile(latencies, 0.99):.1f} ms",
        ),
    ]


def paging(store: str, tmp: Path) -> list[Figure]:
    """200,000 messages stored: the first page's time, and the cursors cover them once."""
    config = f"max_store_bytes = {512 * MiB}\n"
    with serve(store, tmp, config) as server:
        headers = {"Authorization": f"Bearer {server.token()}"}

        def sends() -> Iterator[tuple[str, dict[str, Any]]]:
            for n in range(200):
                namespace = f"page-{n % 20}"
                yield (
                    TWOSMS,
                    {
                        "json": twosms_body(numbers(1000, n * 1000)),
                        "headers": {**headers, "X-Mock-Namespace": namespace},
                    },
                )

        statuses = asyncio.run(run_all(server.url, sends(), concurrency=8))
        stored = server.health()["messages"]
        with httpx.Client(base_url=server.url, timeout=60) as client:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                client.get("/_mock/messages", params={"limit": 100}).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            seen: list[str] = []
            cursor = ""
            while True:
                body = client.get("/_mock/messages", params={"limit": 1000, "cursor": cursor})
                page = body.json()
                seen += [m["id"] for m in page["messages"]]
                if page["next_cursor"] is None:
                    break
                cursor = page["next_cursor"]
    first = statistics.median(times)
    once = len(seen) == len(set(seen)) == stored == 200_000
    note = (
        f"sends {statuses}; config max_store_bytes = 512 MiB so that 200,000 messages are "
        "kept at all (more data only makes paging harder)"
    )
    return [
        Figure("paging", store, "first page (median of 5)", first, "ms", "< 50", first < 50, note),
        Figure(
            "paging",
            store,
            "cursor walk: ids seen / distinct / stored",
            len(seen),
            "",
            "each of 200,000 once",
            once,
            f"{len(set(seen))} distinct, {stored} stored",
        ),
    ]


def many_namespaces(store: str, tmp: Path, scale: float) -> list[Figure]:
    """1,000,000 messages over 100,000 namespaces (10 each): memory stays bounded."""
    sends_count = int(100_000 * scale)
    with serve(store, tmp) as server:
        headers = {"Authorization": f"Bearer {server.token()}"}
        recipients = numbers(10)
        step = max(1, sends_count // 10)

        def sends() -> Iterator[tuple[str, dict[str, Any]]]:
            for n in range(sends_count):
                yield (
                    TWOSMS,
                    {
                        "json": twosms_body(recipients),
                        "headers": {**headers, "X-Mock-Namespace": f"ns-{n}"},
                    },
                )

        def progress(done: int) -> None:
            if done % step == 0:
                print(f"  {done} of {sends_count} sends", file=sys.stderr, flush=True)

        started = time.monotonic()
        statuses = asyncio.run(run_all(server.url, sends(), concurrency=32, progress=progress))
        elapsed = time.monotonic() - started
        rss = rss_mb(server.pid)
        health = server.health()
    note = (
        f"{sends_count * 10:,} messages in {elapsed:.0f} s, answers {statuses}; kept "
        f"{health['namespaces']:,} namespaces, {health['messages']:,} messages, "
        f"{health['bytes'] / MiB:.1f} MiB; evicted {health['evicted']['namespaces']:,} "
        f"namespaces, {health['evicted']['messages']:,} messages"
    )
    return [Figure("many_namespaces", store, "RSS at the end", rss, "MB", "< 200", rss < 200, note)]


def ring(store: str, tmp: Path) -> list[Figure]:
    """10,050 Zoho sends to one namespace at the defaults."""
    with serve(store, tmp) as server:
        request = (
            ZOHO,
            {
                "files": {"sms_data": (None, ZOHO_SMS)},
                "headers": {"Authorization": "Zoho-oauthtoken x"},
            },
        )
        statuses = asyncio.run(run_all(server.url, iter([request] * 10_050), concurrency=16))
        # The sends name no namespace: they are in their token's.
        namespace = token_namespace("x")
        body = httpx.get(server.url + "/_mock/messages", params={"namespace": namespace}).json()
    kept, evicted = body["namespace"]["messages"], body["namespace"]["evicted_messages"]
    all_ok = statuses == {200: 10_050}
    return [
        Figure("ring", store, "2xx answers", statuses.get(200, 0), "", "10,050", all_ok),
        Figure("ring", store, "messages kept", kept, "", "10,000", kept == 10_000),
        Figure("ring", store, "evictions reported", evicted, "", "50", evicted == 50),
    ]


# --------------------------------------------------------------------------- report


def render(figures: Sequence[Figure]) -> str:
    """The results as a fixed-width table (the first column as wide as its longest name)."""
    width = max([16, *(len(f.measurement) + 1 for f in figures)])
    lines = [
        f"{'measurement':<{width}}{'store':<8}{'figure':<42}{'value':>12}  {'target':<22}verdict"
    ]
    for f in figures:
        value = f"{f.value:,.1f} {f.unit}".strip() if f.unit else f"{f.value:,.0f}"
        verdict = "PASS" if f.passed else "FAIL"
        lines.append(
            f"{f.measurement:<{width}}{f.store:<8}{f.figure:<42}{value:>12}  "
            f"{f.target:<22}{verdict}"
        )
        if f.note:
            lines.append(f"{'':<{width + 8}}({f.note})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["memory", "sqlite", "both"], default="both")
    parser.add_argument(
        "--only", choices=["big_send", "paging", "many_namespaces", "ring"], action="append"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of many_namespaces' 100,000 sends (default the whole measurement)",
    )
    args = parser.parse_args(argv)
    stores = ["memory", "sqlite"] if args.store == "both" else [args.store]
    wanted = args.only or ["big_send", "paging", "many_namespaces", "ring"]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="smsmock-bounds-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            for name in wanted:
                for store in stores:
                    if name == "many_namespaces" and store != "memory":
                        continue  # the memory bound is the memory store's
                    print(f"store_bounds: {name} / {store} ...", file=sys.stderr, flush=True)
                    if name == "many_namespaces":
                        figures += many_namespaces(store, tmp, args.scale)
                    else:
                        figures += {"big_send": big_send, "paging": paging, "ring": ring}[name](
                            store, tmp
                        )
        except (OSError, RuntimeError, httpx.HTTPError, KeyError) as exc:
            print(render(figures))
            print(f"store_bounds: FAILED to run: {exc!r}", file=sys.stderr)
            return 1
    table = render(figures)
    print(table)
    if args.only is None and args.store == "both" and args.scale == 1.0:
        save("store_bounds", "sms-mockserver store bounds", "make bench-store", table, figures)
    return 0


def save(name: str, title: str, command: str, table: str, figures: Sequence[Figure]) -> None:
    """Write ``results/<name>.md`` (the table) and ``results/<name>.json`` (the figures)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    (RESULTS_DIR / f"{name}.md").write_text(
        f"# {title}\n\nGenerated {stamp} by `{command}` (bench/{name}.py).\n\n```\n{table}\n```\n"
    )
    data = {"generated": stamp, "figures": [asdict(f) for f in figures]}
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
