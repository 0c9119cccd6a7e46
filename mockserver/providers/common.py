"""What the provider modules share: the provider base class and small header helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..callbacks import Push
from ..config import ProviderSettings, Settings
from ..contracts import load_contract
from ..exchange import Incoming, Operation
from ..pipeline import OFFLOAD_BYTES, path_below_root
from ..runtime import Runtime
from ..store import Message
from ..store.records import bound_headers

__all__ = [
    "Provider",
    "ProviderOperation",
    "encode_push",
    "is_placeholder",
    "json_depth",
    "media_type",
    "negotiate",
    "redact_credential",
    "redact_headers",
    "route_path",
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
    return f"{scheme} ***" if sep and rest.strip() and _is_scheme(scheme) else "***"


@lru_cache(maxsize=64)
def _is_scheme(word: str) -> bool:
    # Cached: every send is redacted, and clients use one or two schemes.
    return _SCHEME.fullmatch(word) is not None


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Request headers as a dict, keeping an auth scheme but never a credential."""
    out = dict(headers)
    # The secret names present, found by one set operation in C (a send has one, its
    # Authorization): this runs on every send.
    for name in SECRET_HEADERS.intersection(out):
        value = out[name]
        if not name.endswith("authorization"):
            out[name] = "***"
        elif len(value) <= _KEPT_CREDENTIAL_CHARS:
            out[name] = _redacted(value)
        else:
            out[name] = redact_credential(value)
    return out


#: The longest credential whose redaction is remembered: a client sends the same one with
#: every request, and a short one is all clients send (a 16 KiB one is never kept, so the
#: 256 remembered take at most 256 KiB).
_KEPT_CREDENTIAL_CHARS = 1024
_redacted = lru_cache(maxsize=256)(redact_credential)


def route_path(request: Request) -> str:
    """The request's path below the app's root path (ASGI puts the root path in ``path``)."""
    return path_below_root(request.scope)


def media_type(headers: Mapping[str, str]) -> str:
    """The request's media type, lower-case, without parameters ('' when absent)."""
    return _media_of(headers.get("content-type", ""))


@lru_cache(maxsize=256)
def _media_of(content_type: str) -> str:
    # Cached: read twice per request (precheck, parse) from the few values clients send.
    return content_type.partition(";")[0].strip().lower()


@lru_cache(maxsize=256)  # clients send the same few Accept values; parsing one costs ~3 us
def negotiate(accept: str, offered: tuple[str, ...]) -> str:
    """The media type of ``offered`` (lower-case) that an ``Accept`` header prefers: the
    highest ``q`` (RFC 9110 section 12.5.1), the more specific range deciding between ranges
    that match one type, the earlier offer winning ties; the first offer when none matches."""
    ranges: list[tuple[str, str, float]] = []
    for item in accept.lower().split(","):
        media, *params = item.split(";")
        kind, _, sub = media.strip().partition("/")
        if not kind or not sub:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        ranges.append((kind, sub, q))
    best, best_q = offered[0], 0.0
    for offer in offered:
        kind, _, sub = offer.partition("/")
        specificity, q = -1, 0.0
        for r_kind, r_sub, r_q in ranges:
            if (r_kind, r_sub) == (kind, sub):
                level = 2
            elif r_kind == kind and r_sub == "*":
                level = 1
            elif (r_kind, r_sub) == ("*", "*"):
                level = 0
            else:
                continue
            if level > specificity:
                specificity, q = level, r_q
        if q > best_q:
            best, best_q = offer, q
    return best


def encode_push(fields: Mapping[str, Any], form: bool) -> Push:
    """A push of named values: ``application/x-www-form-urlencoded`` or JSON."""
    if form:
        body = urlencode({k: "" if v is None else v for k, v in fields.items()}).encode()
        return Push("application/x-www-form-urlencoded", body)
    return Push("application/json", orjson.dumps(fields))


class Provider:
    """What every provider shares: its name, the settings, the runtime, and the operations
    it serves through the pipeline.  Subclasses set ``name``, ``settings_class`` (their own
    settings, a table of the settings file) and ``failure_status``, and implement
    ``operations``."""

    name = ""
    #: The provider's own settings (``Settings.provider(settings_class)`` reads them).
    settings_class: ClassVar[type[ProviderSettings]] = ProviderSettings
    #: The provider's word for a message that did not arrive (its lifecycle state).
    failure_status: ClassVar[str] = "failed"

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.bounds = settings.store_limits().records

    def operations(self) -> list[Operation]:
        """The provider's operations, each served by a pipeline endpoint."""
        raise NotImplementedError

    @staticmethod
    def kit_unheld_checks(path: str, media_type: str | None, body: Any) -> frozenset[str]:
        """For the contract kit (:mod:`mockserver.kit`): the schemathesis checks, by name,
        a generated request (path, media type, body) cannot be held to, because it breaks
        a rule the OpenAPI document states only in words (none by default)."""
        return frozenset()

    #: For the contract kit: the credentials its requests take, by name, each with what it
    #: is (``sms-mockserver check`` offers one ``--name`` option per name).
    kit_credential_names: ClassVar[Mapping[str, str]] = {}

    @staticmethod
    def kit_credentials(http: httpx.Client, given: Mapping[str, str]) -> dict[str, str]:
        """For the contract kit: the headers that authenticate its requests, from its
        credentials (``given``: every name of ``kit_credential_names``)."""
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

    def status_push(self, message: Message) -> Push | None:
        """The body of the push that tells a callback URL the message's latest status
        (``message.history[-1]``); None for a status the provider pushes nothing for."""
        return None

    def not_found(self, request: Request) -> Response | None:
        """The provider's own answer to an unknown path under its API prefix (404): a client
        that got a path slightly wrong (a trailing slash, a wrong version) sees an error it
        can parse instead of a redirect.  None when the path is not under this provider's
        prefix."""
        return None

    def near_path(self, path: str) -> str | None:
        """The operation path ``path`` is a near miss of (a trailing slash, another case),
        for the not-found message."""
        for op in self.operations():
            if path.rstrip("/").lower() == op.path.lower():
                return op.path
        return None


class ProviderOperation:
    """What every operation of a provider takes from its contract: the operation id, method,
    path and error codes; and the provider's settings.  Subclasses implement the rest of
    :class:`~mockserver.exchange.Operation`."""

    #: Bodies larger than this are parsed in a worker thread.
    offload_bytes: int = OFFLOAD_BYTES

    def __init__(self, owner: Provider, operation_id: str, max_body: int) -> None:
        self.owner = owner
        self.settings = owner.settings
        self.provider = owner.name
        self.failure_status = owner.failure_status
        self.contract = load_contract(owner.name).operation(operation_id)
        self.id = self.contract.id
        self.method = self.contract.method
        self.path = self.contract.path
        self.codes = self.contract.codes
        #: Largest body read.
        self.max_body = max_body
        offered = self.contract.response_media_types
        self._offered = tuple(m.lower() for m in offered)
        #: Content-Type of each offered media type (JSON is written as UTF-8).
        self._content_types = {m: f"{m}; charset=utf-8".encode() for m in self._offered}
        #: The Content-Type when only one is offered (nothing to negotiate).
        self._only: bytes | None = None
        if len(offered) == 1:
            self._only = self._content_types[self._offered[0]] = offered[0].encode()

    #: Contract code keys that name a shared outcome by another name.
    CODE_OUTCOMES: Mapping[str, str] = {
        "validation": "invalid_request",
        "bad_request": "invalid_request",
    }

    def fault_outcome(self, name: str) -> str:
        """The shared outcome a fault names: one of the contract's error codes (``ZVSMS-4038``,
        ``InsufficientCredit``, any case) or an outcome itself (``country_not_supported``)."""
        lowered = name.lower()
        for key, code in self.codes.items():
            if str(code.get("code", "")).lower() == lowered or key == lowered:
                return self.CODE_OUTCOMES.get(key, key)
        return lowered

    def response_type(self, incoming: Incoming) -> bytes:
        """The Content-Type of the answer: the first of the contract's response media types,
        or another one the ``Accept`` header prefers (ASP.NET Web API negotiates so; an
        Accept naming none of them still gets the first, as ASP.NET answers rather than 406).
        """
        if self._only is not None:
            return self._only
        chosen = negotiate(incoming.headers.get("accept", ""), self._offered)
        return self._content_types[chosen]


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
