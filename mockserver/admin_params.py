"""The admin API's parameters: each read once, here, and refused with a 400 that names the
parameter and the form it takes (never a 500, whatever is sent).

The handlers in :mod:`mockserver.admin` call these and let :class:`BadRequest` become the
``{"error": "sms-mockserver: …"}`` answer; :mod:`mockserver.admin_openapi` describes the same
forms, so a change here goes with a change there (``tests/test_admin_openapi.py``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from .contracts import PROVIDERS
from .sms import parse_number
from .store import DEFAULT_NAMESPACE, MessageFilter, Page

__all__ = [
    "DEFAULT_PAGE",
    "DEFAULT_WAIT",
    "MAX_BODY",
    "MAX_BURST",
    "MAX_CURSOR",
    "MAX_PAGE",
    "MAX_RATE",
    "MAX_WAIT",
    "MESSAGE_FILTERS",
    "PAGING",
    "BadRequest",
    "cursor_of",
    "descending",
    "json_body",
    "limit_of",
    "message_filter",
    "namespace_of",
    "one_namespace",
    "only_namespace",
    "page_body",
]

DEFAULT_PAGE = 100
MAX_PAGE = 1_000
#: Largest cursor: a seq is a signed 64-bit integer in every store.
MAX_CURSOR = 2**63 - 1
#: Longest server-side wait, in seconds (``GET /_mock/messages/wait?timeout=``).
MAX_WAIT = 60.0
DEFAULT_WAIT = 10.0
#: Largest rate limit (requests a second) and burst a namespace may set.
MAX_RATE = 1_000_000
MAX_BURST = 1_000_000
#: Largest admin request body: a fault rule or a callback target is a few hundred bytes.
MAX_BODY = 1024 * 1024

MESSAGE_FILTERS = frozenset({"namespace", "provider", "to", "status", "text", "submission_id"})
PAGING = frozenset({"cursor", "limit", "order"})


class BadRequest(Exception):
    """A bad admin request: answered 400 (or ``status``) with ``{"error": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def namespace_of(value: str | None) -> str | None:
    """A ``namespace=`` value; empty is the default namespace (as an empty
    ``X-Mock-Namespace`` header is), absent is None (every namespace)."""
    return DEFAULT_NAMESPACE if value == "" else value


def only_namespace(request: Request, call: str = "this call", note: str = "") -> str | None:
    """The ``namespace=`` of a call that takes no other parameter (absent: None, which a
    lookup reads as any namespace); another parameter is refused, naming ``call``."""
    unknown = sorted(set(request.query_params) - {"namespace"})
    if unknown:
        raise BadRequest(f"{call} takes only namespace= (got {', '.join(unknown)}){note}")
    return namespace_of(request.query_params.get("namespace"))


def one_namespace(request: Request) -> str:
    """The namespace of a call on one namespace's state that takes only ``namespace=``
    (absent: the default one)."""
    return only_namespace(request) or DEFAULT_NAMESPACE


def message_filter(request: Request, allowed: frozenset[str]) -> MessageFilter:
    """The message filters of a listing or a wait; any parameter not in ``allowed`` is
    refused rather than ignored."""
    params = request.query_params
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(
            f"unknown parameter(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}"
        )
    provider = params.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise BadRequest(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    to = params.get("to")
    if to is not None and not to.startswith(("contact:", "group:")):
        number = parse_number(to)
        if number is None:
            raise BadRequest(
                f"to must be an international phone number (or contact:/group: id), got {to!r}"
            )
        to = number.e164
    return MessageFilter(
        namespace=namespace_of(params.get("namespace")),
        provider=provider,
        to=to,
        status=params.get("status"),
        text=params.get("text"),
        submission_id=params.get("submission_id"),
    )


def cursor_of(request: Request) -> int | None:
    """``cursor=``: the ``next_cursor`` of a previous page (absent or empty: the start)."""
    raw = request.query_params.get("cursor")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and int(raw) <= MAX_CURSOR):
        raise BadRequest(
            f"cursor must be the next_cursor of a previous page (a whole number from 0 to "
            f"{MAX_CURSOR}), got {raw!r}"
        )
    return int(raw)


def limit_of(request: Request) -> int:
    """``limit=``: the page size, 1 to :data:`MAX_PAGE` (:data:`DEFAULT_PAGE` when absent)."""
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_PAGE
    # Length first: int() of thousands of digits is slow, and refused beyond 4300.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_PAGE):
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_PAGE}, got {raw!r}")
    return int(raw)


def descending(request: Request) -> bool:
    """``order=``: ``asc`` (oldest first, the default) or ``desc``."""
    order = request.query_params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise BadRequest(f"order must be asc (oldest first) or desc (newest first), got {order!r}")
    return order == "desc"


async def json_body(request: Request, *, empty: Any = None) -> Any:
    """The request body as JSON data; ``empty`` for an empty body, None for one that is not
    JSON (each handler then refuses it with the form it takes)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise BadRequest(f"an admin request body is at most {MAX_BODY} bytes", 413)
    if not raw:
        return empty
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def page_body(items_key: str, page: Page) -> dict[str, Any]:
    """One page of a listing as the admin API answers it."""
    return {
        "count": len(page.items),
        items_key: [item.to_json() for item in page.items],
        "next_cursor": None if page.next_cursor is None else str(page.next_cursor),
    }
