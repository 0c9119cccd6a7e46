"""Small request helpers shared by the provider modules."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request

from ..store.base import DEFAULT_NAMESPACE

__all__ = ["NAMESPACE_HEADER", "namespace_of", "redact_headers"]

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
