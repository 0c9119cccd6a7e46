"""Recorded traffic against the contract: ``sms-mockserver verify FILE``.

A team records what its application sent in staging (a browser's or a proxy's HAR export:
mitmproxy, Charles, Fiddler, Chrome's devtools) and checks every request to a provider path
with the providers' own ``parse``: the same framing, binding and field rules the mock applies,
so a request passes here exactly when the mock would take it without a violation.

Each request becomes findings (field, what was sent, what the contract expects); requests to
other hosts or paths are skipped and counted.  The Authorization header is checked for the
contract's scheme only: a HAR's tokens are long expired.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from .config import Settings
from .errors import FieldProblem, MockServerError, Reject
from .exchange import Incoming, Operation
from .providers import PROVIDERS
from .runtime import Runtime

__all__ = ["Finding", "Report", "verify_har"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One disagreement of one recorded request with the contract."""

    entry: int  # the request's index in the HAR's log.entries
    request: str  # "POST /rest/json/v2/sms/send"
    problem: FieldProblem

    def __str__(self) -> str:
        p = self.problem
        sent = "" if p.sent is None else f" (sent {json.dumps(p.sent, default=str)[:80]})"
        return f"entry {self.entry}: {self.request}: {p.field}: {p.expected}{sent}"


@dataclass(slots=True)
class Report:
    """What ``verify`` found: the findings, and how many requests were checked or skipped."""

    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    skipped: int = 0


def _operations(settings: Settings) -> dict[tuple[str, str], Operation]:
    runtime = Runtime(seed=0)
    table: dict[tuple[str, str], Operation] = {}
    for factory in PROVIDERS.values():
        for op in factory(settings, runtime).operations():
            table[(op.method, op.path)] = op
    return table


def _body(post: Mapping[str, Any] | None) -> bytes:
    """A HAR request's body bytes: ``postData.text`` (base64 when the exporter says so), or
    its ``params`` as a form."""
    if not post:
        return b""
    text = post.get("text")
    if isinstance(text, str):
        if post.get("encoding") == "base64" or post.get("_encoding") == "base64":
            return base64.b64decode(text)
        return text.encode("utf-8")
    params = post.get("params") or []
    return urlencode([(p.get("name", ""), p.get("value", "")) for p in params]).encode()


def _entries(data: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    entries = data.get("log", {}).get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise MockServerError("sms-mockserver verify: not a HAR file (no log.entries list)")
    for i, entry in enumerate(entries):
        request = entry.get("request") if isinstance(entry, dict) else None
        if isinstance(request, dict):
            yield i, request


def _check(op: Operation, incoming: Incoming, body: bytes) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    contract = getattr(op, "contract", None)
    auth = getattr(contract, "auth", None) or {}
    scheme = auth.get("scheme")
    if scheme:
        sent = incoming.headers.get("authorization", "")
        if not sent.lower().startswith(scheme.lower() + " "):
            shown = sent.split(" ", 1)[0] + " ***" if sent else None
            problems.append(
                FieldProblem("Authorization", shown, f"{scheme} <token> (the contract's scheme)")
            )
    ignored: list[FieldProblem] = []
    try:
        op.precheck(incoming)
        op.parse(incoming, body, ignored)
    except Reject as reject:
        if reject.violation:
            problems += reject.problems
    return problems + ignored


def verify_har(path: str | Path, settings: Settings | None = None) -> Report:
    """Check every request of a HAR file to a provider path against the contract."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise MockServerError(f"sms-mockserver verify: cannot read {path}: {exc}") from None
    operations = _operations(settings or Settings())
    report = Report()
    for i, request in _entries(data):
        method = str(request.get("method", "")).upper()
        url = urlsplit(str(request.get("url", "")))
        # The provider path at the end of the URL (a proxy or a base path may come before).
        op = next(
            (o for (m, p), o in operations.items() if m == method and url.path.endswith(p)),
            None,
        )
        if op is None:
            report.skipped += 1
            continue
        headers = {
            str(h.get("name", "")).lower(): str(h.get("value", ""))
            for h in reversed(request.get("headers") or [])
        }
        post = request.get("postData")
        if isinstance(post, dict) and post.get("mimeType") and "content-type" not in headers:
            headers["content-type"] = str(post["mimeType"])
        incoming = Incoming(method, op.path, url.query, headers)
        report.checked += 1
        for problem in _check(op, incoming, _body(post if isinstance(post, dict) else None)):
            report.findings.append(Finding(i, f"{method} {op.path}", problem))
    return report
