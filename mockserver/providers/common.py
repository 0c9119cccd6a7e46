"""Small request helpers shared by the provider modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..config import Settings
from ..errors import FieldProblem
from ..runtime import Runtime
from ..store import DEFAULT_NAMESPACE, Store, Violation
from ..store.records import bound_headers, bound_value

__all__ = [
    "NAMESPACE_HEADER",
    "BodyTooLarge",
    "Endpoint",
    "Provider",
    "declared_length",
    "header_map",
    "json_depth",
    "json_response",
    "media_type",
    "namespace_of",
    "read_body",
    "redact_headers",
]

#: Header that picks the state partition a request belongs to, so that parallel test workers
#: sharing one server never see each other's messages (README.md, "Endpoints").
NAMESPACE_HEADER = "x-mock-namespace"


def header_map(request: Request) -> dict[str, str]:
    """The request headers as a plain dict (first value wins).

    Starlette's ``request.headers`` rescans the raw header list on every lookup; a send
    looks up several headers, and this was measurable in the profile behind ``make bench``.
    Each handler builds this once and passes it to the helpers below.  ASGI servers give
    header names in lower case.
    """
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(request.scope["headers"])}


def namespace_of(headers: Mapping[str, str]) -> str:
    """The namespace of a request: the ``X-Mock-Namespace`` header, else ``default``."""
    return headers.get(NAMESPACE_HEADER) or DEFAULT_NAMESPACE


#: Headers whose values are credentials: never stored, logged or shown.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Request headers as a dict, keeping an auth scheme but never a credential."""
    out = dict(headers)
    for name in SECRET_HEADERS.intersection(out):
        scheme, _, token = out[name].partition(" ")
        out[name] = f"{scheme} ***" if token and name.endswith("authorization") else "***"
    return out


class BodyTooLarge(Exception):
    """The request body crossed its cap while being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def declared_length(headers: Mapping[str, str]) -> int | None:
    """The Content-Length header as a number, or None when absent or not plain digits."""
    value = headers.get("content-length", "")
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


async def read_body(request: Request, headers: Mapping[str, str], limit: int) -> bytes:
    """The whole body, refusing it from Content-Length or as soon as it crosses ``limit``."""
    declared = declared_length(headers)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        if not message.get("more_body", False):
            if not chunks:  # the usual case: the whole body in one message
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


def media_type(headers: Mapping[str, str]) -> str:
    """The request's media type, lower-case, without parameters ('' when absent)."""
    return headers.get("content-type", "").partition(";")[0].strip().lower()


class Provider:
    """What every provider module shares: settings, the store, the runtime (clocks, the
    random source), and the recording of contract violations.  Subclasses set ``name`` and
    implement ``routes``."""

    name = ""

    def __init__(self, settings: Settings, store: Store, runtime: Runtime) -> None:
        self.settings = settings
        self.store = store
        self.runtime = runtime
        self.bounds = settings.store_limits().records

    def stored_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The request headers as the journal keeps them: redacted and bounded."""
        bounds = self.bounds
        if len(headers) <= bounds.max_headers and (
            sum(map(len, headers)) + sum(map(len, headers.values())) <= bounds.max_header_bytes
        ):
            return redact_headers(headers)  # the usual case: everything fits
        return bound_headers(redact_headers(headers), bounds)

    def routes(self) -> list[Route]:
        """The Starlette routes this provider serves."""
        raise NotImplementedError

    def method_not_allowed(self, request: Request, allowed: str) -> Response | None:
        """The provider's own answer to a wrong HTTP method on one of its paths (405).

        None when the path is not this provider's.
        """
        return None

    async def record(
        self, operation: str, namespace: str, problems: Sequence[FieldProblem]
    ) -> None:
        """Keep field problems seen in a request as contract violations.

        What was sent is kept as JSON, cut to ``max_violation_value_bytes`` with its size
        noted, so a 10 MB unknown member costs a kilobyte, not 10 MB.
        """
        if not problems:
            return
        now = self.runtime.now(namespace)
        violations = []
        for p in problems:
            sent, size, truncated = bound_value(p.sent, self.bounds)
            violations.append(
                Violation(
                    provider=self.name,
                    operation=operation,
                    field=p.field,
                    sent=sent,
                    expected=p.expected,
                    created_at=now,
                    sent_size=size,
                    sent_truncated=truncated,
                )
            )
        await self.store.record_violations(namespace, violations)


class _JSON(Response):
    """A compact UTF-8 JSON response (the bytes Starlette's JSONResponse would send).

    Encoded with orjson (the json module was a tenth of a send's time) and with its two
    headers set directly rather than through ``init_headers``: the send path is measured
    against a bare parse by ``make bench``.
    """

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200) -> None:
        self.status_code = status_code
        self.background = None
        self.body = content if isinstance(content, bytes) else orjson.dumps(content)
        self.raw_headers = [
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


def json_response(body: Any, status_code: int = 200) -> Response:
    """``body`` as a compact JSON response (``bytes``: already encoded JSON)."""
    return _JSON(body, status_code)


class Endpoint:
    """A provider handler served as a plain ASGI app.

    Starlette routes a non-function endpoint straight to it, skipping ``request_response``'s
    per-request exception-handling wrapper: the handlers answer every bad request
    themselves and never raise HTTPException, and an unexpected error still reaches
    Starlette's ServerErrorMiddleware.
    """

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in parsed JSON (a scalar is 0).

    Limits a part of the request the contract leaves open (extra members of Zoho's
    ``sms_data``), which the journal must be able to store and show again.
    """
    depth, level = 0, [(value, 1)]
    while level:
        item, d = level.pop()
        if isinstance(item, dict):
            depth = max(depth, d)
            level.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            depth = max(depth, d)
            level.extend((v, d + 1) for v in item)
    return depth
