"""No request may stall the others: /_mock/health latency while hostile bodies are processed.

Each case sends one maximal body (at a parse cap, or far over it) to a real server, again and
again for a few seconds, while another client asks ``GET /_mock/health`` every 10 ms; the
figure is the health check's p99 (target: under 50 ms, the largest body included).  The
server runs at its default settings (``sms-mockserver serve --store memory``): no cap is
raised or lowered.

    .venv/bin/python bench/stalls.py             # every case, 4 s each; writes bench/results/
    .venv/bin/python bench/stalls.py --seconds 2 --only "2sms form at the cap"

Results: bench/results/stalls.md and stalls.json (only for a full run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.store_bounds import Figure, numbers, percentile, render, save, serve, twosms_body
from mockserver import Settings

TWOSMS = "/api/v2/sms/messages"
ZOHO = "/rest/json/v2/sms/send"
DEFAULTS = Settings()
MiB = 1024 * 1024
BOUNDARY = "hostileboundary"


@dataclass(frozen=True)
class Case:
    """One hostile request: where it goes, its headers and body, and the answer expected."""

    name: str
    path: str
    content_type: str
    body: bytes
    status: int
    #: The body of the n-th send, when each send must differ from the last (else ``body``).
    bodies: Callable[[int], bytes] | None = None


def _form_at_cap() -> bytes:
    # Every pair an unknown key: each is bound, found unknown and reported.
    pairs = [f"k{i}=" for i in range(DEFAULTS.max_form_fields - 1)]
    return "&".join([*pairs, "Content=x"]).encode()


def _json_at_cap() -> bytes:
    # 4 members of MessageV2 use about 10 of the values; the rest are unknown members.
    members = (DEFAULTS.max_json_values - 20) // 2
    junk = ",".join(f'"J{i}":0' for i in range(members))
    return (
        '{"Contacts":{"QuickRecipients":{"+12125550100":2}},"Content":"x","Options":{},'
        f'"Type":1,{junk}}}'
    ).encode()


def _new_numbers(n: int) -> bytes:
    # Just under 2sms's offload size (64 KiB before it was lowered to 4 KiB), every number
    # new to the server: the mock keeps each number's parse, so a body sent again would
    # measure only its first send.
    count = 3_400
    return json.dumps(twosms_body(numbers(count, 100 + n * count))).encode()


def _multipart_at_cap() -> bytes:
    # max_parts parts, each with the most header lines a part may have (8, python-multipart's
    # cap) and the largest text field.
    headers = "".join(f"X-H{i}: v\r\n" for i in range(7))
    field = b"y" * DEFAULTS.max_field_bytes
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="p{i}"\r\n'.encode()
        + headers.encode()
        + b"\r\n"
        + field
        + b"\r\n"
        for i in range(DEFAULTS.max_parts)
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _multipart_header_flood() -> bytes:
    lines = b"a: b\r\n" * ((DEFAULTS.max_body_bytes - 1024) // 6)
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="sms_data"\r\n'.encode()
        + lines
        + b"\r\n{}\r\n"
        + f"--{BOUNDARY}--\r\n".encode()
    )


def _largest_file() -> bytes:
    sms = json.dumps(
        {"customerNumber": "14155550100", "message": "hi", "senderId": "x", "mms": True}
    )
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="sms_data"\r\n\r\n{sms}\r\n'
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="mms_media"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"\xff" * DEFAULTS.max_media_bytes
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def _fill(unit: bytes, size: int) -> bytes:
    return unit * (size // len(unit))


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
FORM = "application/x-www-form-urlencoded"
BIG = DEFAULTS.max_body_bytes - 4096  # the largest body accepted at all


CASES: list[Callable[[], Case]] = [
    lambda: Case("2sms form at the cap", TWOSMS, FORM, _form_at_cap(), 400),
    lambda: Case("2sms JSON at the cap", TWOSMS, "application/json", _json_at_cap(), 200),
    lambda: Case("2sms form over the cap", TWOSMS, FORM, _fill(b"a=&", BIG), 400),
    lambda: Case(
        "2sms JSON over the cap", TWOSMS, "application/json", b"[" + _fill(b"0,", BIG) + b"0]", 400
    ),
    lambda: Case(
        "2sms JSON of 3,400 new numbers",
        TWOSMS,
        "application/json",
        _new_numbers(0),
        200,
        _new_numbers,
    ),
    lambda: Case("zoho parts at the cap", ZOHO, MULTIPART, _multipart_at_cap(), 400),
    lambda: Case("zoho header flood", ZOHO, MULTIPART, _multipart_header_flood(), 400),
    lambda: Case("zoho largest file", ZOHO, MULTIPART, _largest_file(), 200),
]


def measure(case: Case, url: str, token: str, seconds: float) -> list[Figure]:
    """Send ``case`` for ``seconds`` while polling health; its figures."""
    latencies: list[float] = []
    took: list[float] = []
    statuses: dict[int, int] = {}
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=url) as client:
            while not stop.is_set():
                started = time.perf_counter()
                client.get("/_mock/health").raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.01)

    auth = f"Bearer {token}" if case.path == TWOSMS else "Zoho-oauthtoken bench"
    headers = {"Authorization": auth, "Content-Type": case.content_type}
    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            deadline = time.monotonic() + seconds
            sent = 0
            while time.monotonic() < deadline:
                body = case.body if case.bodies is None else case.bodies(sent)
                sent += 1
                started = time.perf_counter()
                answer = client.post(case.path, content=body, headers=headers)
                took.append((time.perf_counter() - started) * 1000)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    finally:
        stop.set()
        poller.join()
    p99 = percentile(latencies, 0.99)
    size = f"{len(case.body) / MiB:.1f} MiB" if len(case.body) > MiB else f"{len(case.body):,} B"
    note = (
        f"{size}, answers {statuses}, each in {statistics.median(took):.0f} ms (median); "
        f"{len(latencies)} polls, max {max(latencies):.1f} ms"
    )
    ok = statuses == {case.status: len(took)} and p99 < 50
    return [Figure(case.name, "memory", "health p99 meanwhile", p99, "ms", "< 50", ok, note)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run every case; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per case (default 4)")
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    with (
        tempfile.TemporaryDirectory(prefix="smsmock-stalls-") as tmpdir,
        serve("memory", Path(tmpdir)) as server,
    ):
        token = server.token()
        for make in CASES:
            case = make()
            if args.only and case.name not in args.only:
                continue
            print(f"stalls: {case.name} ...", file=sys.stderr, flush=True)
            figures += measure(case, server.url, token, args.seconds)
    table = render(figures)
    print(table)
    if not args.only and args.seconds == 4.0:
        title = "sms-mockserver: no request stalls the others"
        save("stalls", title, "make bench-stalls", table, figures)
    return 0 if all(f.passed for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
