"""What the provider modules share: the provider base class and small header helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..config import Settings
from ..contracts import load_contract
from ..pipeline import Operation
from ..runtime import Runtime
from ..store.records import bound_headers

__all__ = [
    "Provider",
    "ProviderOperation",
    "is_placeholder",
    "json_depth",
    "media_type",
    "redact_credential",
    "redact_headers",
]

#: Headers whose values are credentials: never stored, logged or shown.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


#: What an auth scheme looks like (RFC 9110 section 11.1: a token); a longer first word, or
#: one with dots, is a credential sent without a scheme and is never shown.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


def redact_credential(value: str) -> str:
    """An Authorization value as it may be shown: its scheme and ``***`` (``Bearer ***``),
    or only ``***`` when no scheme can be told from the credential (``1000.abc…``)."""
    scheme, sep, rest = value.strip().partition(" ")
    return f"{scheme} ***" if sep and rest.strip() and _SCHEME.fullmatch(scheme) else "***"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Request headers as a dict, keeping an auth scheme but never a credential."""
    out = dict(headers)
    for name in SECRET_HEADERS.intersection(out):
        out[name] = redact_credential(out[name]) if name.endswith("authorization") else "***"
    return out


def media_type(headers: Mapping[str, str]) -> str:
    """The request's media type, lower-case, without parameters ('' when absent)."""
    return headers.get("content-type", "").partition(";")[0].strip().lower()


class Provider:
    """What every provider shares: its name, the settings, the runtime, and the operations
    it serves through the pipeline.  Subclasses set ``name`` and implement ``operations``."""

    name = ""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.bounds = settings.store_limits().records

    def operations(self) -> list[Operation]:
        """The provider's operations, each served by a pipeline endpoint."""
        raise NotImplementedError

    def stored_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The request headers as the journal keeps them: redacted and bounded."""
        bounds = self.bounds
        if len(headers) <= bounds.max_headers and (
            sum(map(len, headers)) + sum(map(len, headers.values())) <= bounds.max_header_bytes
        ):
            return redact_headers(headers)  # the usual case: everything fits
        return bound_headers(redact_headers(headers), bounds)

    def method_not_allowed(self, request: Request, allowed: str) -> Response | None:
        """The provider's own answer to a wrong HTTP method on one of its paths (405).

        None when the path is not this provider's.
        """
        return None


class ProviderOperation:
    """What every operation of a provider takes from its contract: the operation id, method,
    path and error codes; and the provider's settings.  Subclasses implement the rest of
    :class:`~mockserver.pipeline.Operation`."""

    def __init__(self, owner: Provider, operation_id: str, max_body: int) -> None:
        self.owner = owner
        self.settings = owner.settings
        self.provider = owner.name
        self.contract = load_contract(owner.name).operation(operation_id)
        self.id = self.contract.id
        self.method = self.contract.method
        self.path = self.contract.path
        self.codes = self.contract.codes
        #: Largest body read.
        self.max_body = max_body


#: Credentials that betray a broken client (an unset variable, a template never filled in):
#: refused even where any credential is accepted.
_PLACEHOLDERS = frozenset({"undefined", "null", "none", "nil", "nan"})


def is_placeholder(credential: str) -> bool:
    """True for ``undefined``, ``null``, ``None``, ``${…}``, ``{{…}}``, ``<…>`` and the like."""
    text = credential.strip()
    lowered = text.lower()
    return (
        not text
        or lowered in _PLACEHOLDERS
        or (text.startswith("${") and text.endswith("}"))
        or (text.startswith("{{") and text.endswith("}}"))
        or (text.startswith("<") and text.endswith(">"))
    )


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
