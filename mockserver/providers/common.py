"""Small request helpers shared by the provider modules."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request

from ..store.base import DEFAULT_NAMESPACE

__all__ = [
    "NAMESPACE_HEADER",
    "BodyTooLarge",
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
