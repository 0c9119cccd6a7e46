"""Small request helpers shared by the provider modules."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import Route

from ..config import Settings
from ..errors import FieldProblem
from ..store.base import DEFAULT_NAMESPACE, MessageStore, Violation

__all__ = [
    "NAMESPACE_HEADER",
    "BodyTooLarge",
    "Provider",
    "media_type",
    "namespace_of",
    "read_body",
    "redact_headers",
]

#: Header that picks the state partition a request belongs to (DESIGN.md, namespaces).
NAMESPACE_HEADER = "x-mock-namespace"


def namespace_of(request: Request) -> str:
    """The namespace of a request: the ``X-Mock-Namespace`` header, else ``default``."""
    return request.headers.get(NAMESPACE_HEADER) or DEFAULT_NAMESPACE


def redact_headers(headers: Headers, secret_header: str) -> dict[str, str]:
    """Request headers as a dict, keeping the auth scheme but never the credential."""
    out = {}
    for key, value in headers.items():
        if key == secret_header:
            scheme, _, token = value.partition(" ")
            value = f"{scheme} ***" if token else "***"
        out[key] = value
    return out


class BodyTooLarge(Exception):
    """The request body crossed its cap while being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing it from Content-Length or as soon as it crosses ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise BodyTooLarge(limit)
    return bytes(chunks)


def media_type(request: Request) -> str:
    """The request's media type, lower-case, without parameters ('' when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class Provider:
    """What every provider module shares: settings, the store, the clock, and the
    recording of contract violations.  Subclasses set ``name`` and implement ``routes``."""

    name = ""

    def __init__(
        self, settings: Settings, store: MessageStore, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    def routes(self) -> list[Route]:
        """The Starlette routes this provider serves."""
        raise NotImplementedError

    def record(self, operation: str, namespace: str, problems: Sequence[FieldProblem]) -> None:
        """Keep field problems seen in a request as contract violations."""
        if not problems:
            return
        now = self.clock()
        self.store.record_violations(
            [
                Violation(
                    provider=self.name,
                    namespace=namespace,
                    operation=operation,
                    field=p.field,
                    sent=p.sent,
                    expected=p.expected,
                    created_at=now,
                )
                for p in problems
            ]
        )
