"""Settings: one frozen object; every behaviour the provider documents leave open is a field.

Settings come from keyword arguments, or from a TOML file (``sms-mockserver serve --config
mock.toml``) whose keys are the field names below.  Unknown keys are refused, so a typo in a
config file is an error rather than a silently ignored line.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .contracts import Overrides
from .errors import MockServerError
from .store import RecordBounds, StoreLimits

__all__ = ["PROVIDER_TABLES", "MiB", "Settings", "deprecated_keys", "read_toml"]

MiB = 1024 * 1024


#: Each provider's table in a settings file, and the prefix of its settings' field names:
#: ``[zoho_voice] error_status`` is the field ``zoho_error_status``.
PROVIDER_TABLES: Mapping[str, str] = MappingProxyType({"zoho_voice": "zoho_", "twosms": "twosms_"})


def read_toml(path: str | Path) -> dict[str, Any]:
    """A settings file's data; a file that can't be read or parsed is a MockServerError."""
    try:
        with Path(path).open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MockServerError(f"sms-mockserver: cannot read config {path}: {exc}") from exc


def deprecated_keys(data: Mapping[str, Any]) -> list[str]:
    """Provider settings a file writes with their flat names (``zoho_error_status``) rather
    than in the provider's table; still read, to be moved."""
    return sorted(
        key
        for key in data
        if key not in PROVIDER_TABLES and key.startswith(tuple(PROVIDER_TABLES.values()))
    )


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about the mock. Defaults are documented in the README."""

    # ---- limits (answered with a provider-style error, never by exhausting memory)
    #: Largest request body accepted, in bytes (Content-Length or streamed count).
    max_body_bytes: int = 12 * MiB
    #: Largest uploaded media file (Zoho ``mms_media``). The document's own sample accepts a
    #: 5,125,300-byte mp4, so the default must be above that.
    max_media_bytes: int = 10 * MiB
    #: Largest non-file form field (e.g. the ``sms_data`` JSON part).
    max_field_bytes: int = 64 * 1024
    #: Deepest nesting of JSON objects/arrays accepted where the contract allows free-form
    #: members (extra keys of Zoho's ``sms_data``); the journal stores what it accepts.
    max_json_depth: int = 32
    #: Parse work is capped by count as well as by bytes, so no body can keep a core busy
    #: for seconds: pairs in a form body (a 10,000-recipient 2sms form send has about
    #: 10,004), values in a JSON body (counted as its ``,`` and ``:`` characters, an upper
    #: bound checked before parsing; a 10,000-recipient send has about 20,000), and parts in
    #: a multipart body (the Zoho send has five parameters).
    max_form_fields: int = 20_000
    max_json_values: int = 100_000
    max_parts: int = 64

    # ---- the journal (README, "Limits"): every store of data is bounded by count and bytes
    #: Messages kept per namespace.  Beyond it the oldest is evicted and counted (a ring), so
    #: a load test never starts failing; ``on_full = "reject"`` answers 507 instead.
    max_messages: int = 10_000
    on_full: str = "evict"
    #: Namespaces kept; a new one beyond it evicts the least recently used idle namespace.
    max_namespaces: int = 10_000
    #: Bytes of journal records kept in all (messages, requests, violations); beyond it the
    #: oldest messages of the least recently used namespace are evicted.
    max_store_bytes: int = 64 * MiB
    #: Contract violations kept per namespace (the oldest go first, counted).
    max_violations: int = 1_000
    #: Bytes of MMS attachments kept in all, for download (``GET
    #: /_mock/messages/{id}/media/{n}``); beyond it the oldest attachments are dropped and
    #: counted (their messages stay, and the download answers 410).  SQLite keeps them as
    #: files in ``<database file>-media/``, memory in the process.
    max_kept_media_bytes: int = 64 * MiB
    #: Live 2sms access tokens; expired ones are dropped first, then POST /Token answers 503.
    max_tokens: int = 10_000
    #: Request headers kept with each request, by count and by bytes (the rest is noted).
    max_stored_headers: int = 64
    max_stored_header_bytes: int = 16 * 1024
    #: A violation keeps at most this many bytes of the JSON of what was sent.
    max_violation_value_bytes: int = 1024

    # ---- serving (README, "Limits"): no client can hold a connection, or the server, for long
    #: Seconds from a connection's start (or a next request's first byte) to the end of its
    #: request headers; then the connection is closed.
    header_timeout_seconds: int = 10
    #: Seconds to send a request body once its headers are in; then the provider's error
    #: with HTTP 408.
    body_timeout_seconds: int = 30
    #: Seconds an idle keep-alive connection stays open.
    keep_alive_timeout_seconds: int = 5
    #: Seconds a shutdown (SIGTERM, Ctrl-C) waits for requests in progress.
    shutdown_timeout_seconds: int = 5
    #: Connections (and requests in progress) at once; beyond, HTTP 503 and close.
    max_connections: int = 1000
    #: A connection answered before its body was read (a refused token, an oversized body)
    #: keeps reading and dropping the rest of the body so the client sees the answer rather
    #: than a reset: for at most this many seconds in all, seconds between reads, and bytes.
    linger_seconds: int = 30
    linger_idle_seconds: int = 5
    linger_max_bytes: int = 256 * MiB

    # ---- access (README, "Access off loopback")
    #: Required on the admin API (``Authorization: Bearer <token>``) when set; ``serve``
    #: needs it (or ``--insecure``) to listen on a non-loopback address.  Never shown.
    admin_token: str | None = field(default=None, repr=False)
    #: Host names served besides loopback ones when the Host check is on (``serve`` on a
    #: loopback address turns it on); ``None`` checks no Host (the in-process app).
    allowed_hosts: frozenset[str] | None = None

    # ---- the lifecycle (README, "Time and lifecycle")
    #: Move accepted messages on by themselves: queued -> sent after ``sent_after_seconds``,
    #: -> delivered ``delivered_after_seconds`` later, on the namespace's clock (0: at once,
    #: before the answer is sent).  Off by default: each step costs two journal updates per
    #: message, which a load test would pay for every send; scheduled sends go out at their
    #: time and forced states apply either way.
    lifecycle_progress: bool = False
    sent_after_seconds: float = 1.0
    delivered_after_seconds: float = 3.0
    #: Steps waiting for their time, in all; a message accepted beyond it keeps its status
    #: (counted in /_mock/health as lifecycle.untracked).
    max_pending_transitions: int = 100_000
    #: Sends one recurring (or repeated) send makes in all, the first included; its
    #: recurrence ends there (a 2sms ``Range`` with no end date would otherwise never end).
    max_occurrences: int = 1_000

    # ---- delivery callbacks (README, "Delivery callbacks")
    #: URLs every namespace pushes status changes to, besides the ones it registers
    #: (``POST /_mock/callbacks/targets``).
    callback_urls: frozenset[str] = frozenset()
    #: Tries per push (the first included), the wait before the second (doubled after each
    #: failure, on the namespace's clock), and how long one try may take.
    callback_attempts: int = 5
    callback_backoff_seconds: float = 1.0
    callback_timeout_seconds: float = 5.0
    #: Pushes waiting to be tried, in all; a push beyond it is dropped and counted
    #: (/_mock/health, callbacks.dropped).
    max_pending_callbacks: int = 10_000
    #: Tries kept per namespace for ``GET /_mock/callbacks`` (the oldest go first).
    max_callback_journal: int = 1_000

    # ---- numbers
    #: Accept numbers in the well-known fictional ranges (NANP 555-0100 to 555-0199, Ofcom's
    #: drama ranges such as +44 7700 900xxx) and mark them test_number in the journal; false
    #: refuses them.
    accept_test_numbers: bool = True
    #: Magic recipients (+1 555 555 0181 to 0187, +44 7700 900181 to 900187) always get
    #: their fault (README, "Testing failures"); false sends to them like any number.
    magic_numbers: bool = True
    #: Longest a ``hang`` fault holds a connection before closing it unanswered (seconds).
    max_hang_seconds: int = 30
    #: A token-bucket rate limit per namespace (so per credential, when requests name no
    #: namespace): accepted requests per second, and the burst above it.  None: no limit
    #: (a namespace can still get one: ``PUT /_mock/rate-limit``).  Beyond it: 429 with
    #: Retry-After in the provider's shape.
    rate_limit: float | None = None
    rate_limit_burst: int = 10

    # ---- the runtime
    #: Seed of the one random source behind message ids (0 to 2**63 - 1).  Unset: a fresh,
    #: unpredictable seed per start, shown by /_mock/health so that a run can be replayed.
    seed: int | None = None

    # ---- Zoho Voice
    #: HTTP status of ZVSMS error bodies (not documented; some clients expect 200).
    zoho_error_status: int = 400
    #: HTTP status and body for a missing or rejected token (not documented for Voice).
    zoho_auth_error_status: int = 401
    zoho_auth_error_body: Mapping[str, Any] = field(
        default_factory=lambda: _frozen(
            {"status": "ERROR", "code": "INVALID_OAUTHTOKEN", "message": "Invalid OAuth token"}
        )
    )
    #: True: error messages name the field and what was expected. False: the provider's bare
    #: documented wording ("Bad Request").
    zoho_error_detail: bool = True
    #: Zoho's v1 page says 1000 characters, the older KB 10,000 (both pages are cited in
    #: contracts/zoho_voice/send_sms.toml).
    zoho_max_message_length: int = 1000
    #: Lower-case ISO-2 codes accepted as destinations; ``None`` accepts every country.
    zoho_allowed_countries: frozenset[str] | None = None
    #: Tokens accepted after ``Zoho-oauthtoken ``; ``None`` accepts any non-empty token.
    zoho_accepted_tokens: frozenset[str] | None = None
    #: The account identity echoed in ``send.userName`` / ``send.email``.
    zoho_user_name: str = "Mock User"
    zoho_email: str = "mock.user@example.com"
    #: How many ``mms_media`` files one send may carry. The document shows one part; that
    #: ``mmsMeta`` is an array suggests more may be allowed (Zoho does not say).
    zoho_max_media_files: int = 1
    #: ``mmsMeta[].bucketName`` of stored media.
    zoho_bucket_name: str = "zohovoice-mms-mock"
    #: Contact names by E.164 number, used for ``send.customerName``.
    zoho_contacts: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    #: Zone used for ``sentTime`` and for ``scheduledTime`` when no ``timeZone`` is sent.
    zoho_account_timezone: str = "UTC"
    #: Templates by ``templateId`` (a positive whole number, written as a string key) ->
    #: text.  Empty (the default): any positive templateId is accepted and changes nothing.
    #: Set: a known templateId sends the template's text (``sms_data.message`` optional), an
    #: unknown one is refused naming templateId.
    zoho_templates: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    #: Body of a status push: ``json`` or ``form`` (INFERENCE: Zoho publishes no payload).
    zoho_status_push_format: str = "json"

    # ---- 2sms
    #: HTTP status of envelope errors (not documented; the envelope may well come with 200).
    twosms_error_status: int = 400
    #: Access-token lifetime: "expires after 8 hours" (2sms US "SMS Plus / RESTful API" page,
    #: https://us.2sms.us/2020/06/30/smsplus/).
    twosms_token_lifetime_seconds: int = 28_800
    #: client_id -> client_secret accepted by POST /Token; ``None`` accepts any non-empty pair.
    twosms_clients: Mapping[str, str] | None = None
    #: Credits each account (client_id) starts with; one credit per SMS segment per recipient.
    twosms_starting_credits: int = 1_000
    #: Known templates: Template.ID (GUID) -> text with ``{N}`` placeholders. The default holds
    #: the document's sample ID, so its sample request can be sent.
    twosms_templates: Mapping[str, str] = field(
        default_factory=lambda: _frozen(
            {"86dc152b-ccbb-4be8-b283-fdd250329113": "Hello {1}, your reference is {3}."}
        )
    )
    #: MessageRequestType members, name -> number (INFERENCE: 2sms documents only 1 = Standard;
    #: the reasoning is in the ``Type`` entry of contracts/twosms/send_messages.toml).
    twosms_message_types: Mapping[str, int] = field(
        default_factory=lambda: _frozen({"Advanced": 0, "Standard": 1, "Recurring": 2})
    )
    #: QuickRecipients values, name -> number; 2 = Text from the legacy SOAP MessageType.
    twosms_quick_recipient_types: Mapping[str, int] = field(
        default_factory=lambda: _frozen({"None": 0, "Email": 1, "Text": 2, "EmailAndText": 3})
    )
    #: ``RecurringOptions.Range`` members, name -> number (INFERENCE: the document gives no
    #: values; these are the members of the common .NET scheduler enum ``RecurrenceRange``,
    #: in its order).  NoEndDate: no end; OccurrenceCount: ``OccurrencesEnd`` occurrences;
    #: EndByDate: none after ``Options.ExpiryDate``.
    twosms_recurrence_ranges: Mapping[str, int] = field(
        default_factory=lambda: _frozen({"NoEndDate": 0, "OccurrenceCount": 1, "EndByDate": 2})
    )
    #: Seconds of one unit of ``Options.Repeat.Frequency`` (INFERENCE: the document does not
    #: say; minutes, as an alert repeated until it is read is usually repeated).
    twosms_repeat_frequency_seconds: int = 60
    #: Body of a status push: ``form`` (the default: the 2sms "Status Updates" page
    #: describes an HTTP POST of named values, not a JSON document) or ``json``.
    twosms_status_push_format: str = "form"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), _KINDS.get(f.name, int))
        if self.zoho_allowed_countries is not None:  # ISO-2 codes, compared in lower case
            object.__setattr__(
                self,
                "zoho_allowed_countries",
                frozenset(c.lower() for c in self.zoho_allowed_countries),
            )
        for name in (
            "max_body_bytes",
            "max_media_bytes",
            "max_field_bytes",
            "max_messages",
            "max_namespaces",
            "max_store_bytes",
            "max_violations",
            "max_kept_media_bytes",
            "max_tokens",
            "max_stored_headers",
            "max_stored_header_bytes",
            "max_violation_value_bytes",
            "max_json_depth",
            "max_form_fields",
            "max_json_values",
            "max_parts",
            "header_timeout_seconds",
            "body_timeout_seconds",
            "keep_alive_timeout_seconds",
            "shutdown_timeout_seconds",
            "max_connections",
            "linger_seconds",
            "linger_idle_seconds",
            "linger_max_bytes",
            "max_hang_seconds",
            "rate_limit_burst",
            "max_pending_transitions",
            "max_occurrences",
            "callback_attempts",
            "max_pending_callbacks",
            "max_callback_journal",
            "twosms_repeat_frequency_seconds",
            "zoho_max_message_length",
            "zoho_max_media_files",
            "twosms_token_lifetime_seconds",
        ):
            if getattr(self, name) < 1:
                raise MockServerError(f"sms-mockserver: setting {name} must be at least 1")
        for name in ("zoho_status_push_format", "twosms_status_push_format"):
            if getattr(self, name) not in ("json", "form"):
                raise MockServerError(f"sms-mockserver: setting {name} must be json or form")
        for url in self.callback_urls:
            if not url.startswith(("http://", "https://")):
                raise MockServerError(
                    f"sms-mockserver: callback_urls take http:// or https:// URLs, got {url!r}"
                )
        for name in ("callback_backoff_seconds", "callback_timeout_seconds"):
            if not 0 < getattr(self, name) <= 3600:
                raise MockServerError(
                    f"sms-mockserver: setting {name} must be above 0 and at most 3600 seconds"
                )
        for name in ("sent_after_seconds", "delivered_after_seconds"):
            if not 0 <= getattr(self, name) <= 10 * 365 * 86_400:
                raise MockServerError(f"sms-mockserver: setting {name} must be 0 or more seconds")
        if self.rate_limit is not None and not 0 < self.rate_limit <= 1_000_000:
            raise MockServerError(
                "sms-mockserver: setting rate_limit is requests per second, above 0 (or unset)"
            )
        if self.on_full not in ("evict", "reject"):
            raise MockServerError(
                f"sms-mockserver: setting on_full must be 'evict' or 'reject', got {self.on_full!r}"
            )
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise MockServerError(
                f"sms-mockserver: setting seed must be from 0 to 2**63 - 1, got {self.seed}"
            )
        for name in ("zoho_error_status", "zoho_auth_error_status", "twosms_error_status"):
            if not 200 <= getattr(self, name) <= 599:
                raise MockServerError(f"sms-mockserver: setting {name} must be an HTTP status")
        if "INVALID_OAUTHTOKEN" not in repr(dict(self.zoho_auth_error_body)):
            raise MockServerError(
                "sms-mockserver: zoho_auth_error_body must contain INVALID_OAUTHTOKEN, "
                "the literal Zoho clients look for"
            )
        try:
            ZoneInfo(self.zoho_account_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise MockServerError(
                f"sms-mockserver: zoho_account_timezone {self.zoho_account_timezone!r} is not "
                "an IANA time zone name (e.g. UTC, Asia/Kolkata)"
            ) from None
        for key, text in self.zoho_templates.items():
            if not (str(key).isascii() and str(key).isdigit() and int(key) >= 1) or not (
                isinstance(text, str) and text
            ):
                raise MockServerError(
                    "sms-mockserver: zoho_templates maps template ids (positive whole numbers, "
                    f'as keys: "1234" = "text") to non-empty text, got {key!r} = {text!r}'
                )
        for kind, values in (
            ("message", self.twosms_message_types),
            ("quick recipient", self.twosms_quick_recipient_types),
            ("recurrence range", self.twosms_recurrence_ranges),
        ):
            if not values or not all(isinstance(v, int) for v in values.values()):
                raise MockServerError(
                    f"sms-mockserver: twosms {kind} types must map names to numbers"
                )
        if set(self.twosms_recurrence_ranges) != set(RECURRENCE_RANGES):
            raise MockServerError(
                "sms-mockserver: twosms_recurrence_ranges must give a number to each of "
                f"{', '.join(RECURRENCE_RANGES)}, got {dict(self.twosms_recurrence_ranges)}"
            )

    def store_limits(self) -> StoreLimits:
        """The bounds these settings give a store."""
        return StoreLimits(
            max_messages=self.max_messages,
            on_full="reject" if self.on_full == "reject" else "evict",
            max_namespaces=self.max_namespaces,
            max_bytes=self.max_store_bytes,
            max_violations=self.max_violations,
            max_shared_keys=self.max_tokens,
            max_kept_media_bytes=self.max_kept_media_bytes,
            records=RecordBounds(
                max_headers=self.max_stored_headers,
                max_header_bytes=self.max_stored_header_bytes,
                max_value_bytes=self.max_violation_value_bytes,
            ),
        )

    def contract_overrides(self) -> Overrides:
        """How these settings change the documented contracts, per operation id.

        The providers validate with it and ``/_mock/contracts/...`` serves the document built
        with it, so the contract a running mock publishes is the one it enforces.
        """
        types, quick = dict(self.twosms_message_types), dict(self.twosms_quick_recipient_types)
        return {
            "zohoVoiceSendSmsV2": {
                "fields": {"sms_data.message": {"max_length": self.zoho_max_message_length}},
                "statuses": {
                    "error": self.zoho_error_status,
                    "auth_error": self.zoho_auth_error_status,
                },
            },
            "twosmsSendMessagesV2": {
                "fields": {
                    "Type": {"enum": list(types.values()), "enum_names": list(types)},
                    "Contacts.QuickRecipients{}": {
                        "enum": list(quick.values()),
                        "enum_names": list(quick),
                    },
                },
                "statuses": {"error": self.twosms_error_status},
            },
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Build settings from plain data (a parsed TOML file), refusing unknown keys.

        A provider's settings are read from its table (``[zoho_voice] error_status = 200``
        is ``zoho_error_status``); the flat names are still read (see
        :func:`deprecated_keys`).
        """
        names = {f.name: f for f in dataclasses.fields(cls)}
        flat: dict[str, Any] = {}
        spelt: dict[str, str] = {}  # each setting as the file wrote it, for messages
        for key, value in data.items():
            prefix = PROVIDER_TABLES.get(key)
            if prefix is None:
                if key in flat:
                    raise MockServerError(f"sms-mockserver: {spelt[key]} and {key} are one setting")
                flat[key], spelt[key] = value, key
                continue
            if not isinstance(value, Mapping):
                raise MockServerError(
                    f"sms-mockserver: {key} must be a table of settings ([{key}] error_status = …)"
                )
            for sub, item in value.items():
                name = prefix + sub
                if name in flat:
                    raise MockServerError(
                        f"sms-mockserver: [{key}] {sub} and {spelt[name]} are one setting"
                    )
                flat[name], spelt[name] = item, f"[{key}] {sub}"
        unknown = sorted(spelt[k] for k in set(flat) - set(names))
        if unknown:
            tables = ", ".join(f"[{t}] ({p}…)" for t, p in PROVIDER_TABLES.items())
            raise MockServerError(
                f"sms-mockserver: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}; provider tables: {tables}"
            )
        values: dict[str, Any] = {}
        for key, value in flat.items():
            if (
                key
                in {
                    "zoho_allowed_countries",
                    "zoho_accepted_tokens",
                    "allowed_hosts",
                    "callback_urls",
                }
                and value is not None
            ):
                if not isinstance(value, list):
                    raise MockServerError(
                        f'sms-mockserver: setting {key} must be a list, e.g. ["us", "ca"]'
                    )
                value = frozenset(str(v) for v in value)
            elif isinstance(value, Mapping):
                value = _frozen(value)
            values[key] = value
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> Settings:
        """Read settings from a TOML file."""
        return cls.from_mapping(read_toml(path))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


#: The ways a 2sms recurrence can end (``twosms_recurrence_ranges`` numbers them).
RECURRENCE_RANGES = ("NoEndDate", "OccurrenceCount", "EndByDate")

# What each setting must hold when it is not an int: a type, or a tuple of alternatives
# ("mapping", "set" and None stand for any Mapping, any frozenset, and an unset value).
_KINDS: dict[str, Any] = {
    "zoho_auth_error_body": "mapping",
    "zoho_contacts": "mapping",
    "zoho_templates": "mapping",
    "zoho_allowed_countries": ("set", None),
    "zoho_accepted_tokens": ("set", None),
    "twosms_clients": ("mapping", None),
    "twosms_templates": "mapping",
    "twosms_message_types": "mapping",
    "twosms_quick_recipient_types": "mapping",
    "twosms_recurrence_ranges": "mapping",
    "zoho_error_detail": bool,
    "zoho_user_name": str,
    "zoho_email": str,
    "zoho_bucket_name": str,
    "zoho_account_timezone": str,
    "on_full": str,
    "seed": (int, None),
    "admin_token": (str, None),
    "allowed_hosts": ("set", None),
    "accept_test_numbers": bool,
    "magic_numbers": bool,
    "rate_limit": (int, float, None),
    "lifecycle_progress": bool,
    "callback_urls": "set",
    "callback_backoff_seconds": (int, float),
    "callback_timeout_seconds": (int, float),
    "zoho_status_push_format": str,
    "twosms_status_push_format": str,
    "sent_after_seconds": (int, float),
    "delivered_after_seconds": (int, float),
}


def _check_type(name: str, value: Any, kind: Any) -> None:
    """Refuse a setting of the wrong type with a message naming it (not a TypeError later)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if (
            (k is None and value is None)
            or (k == "mapping" and isinstance(value, Mapping))
            or (k == "set" and isinstance(value, frozenset | set))
            or (isinstance(k, type) and isinstance(value, k))
        ):
            return
    wanted = " or ".join("unset" if k is None else str(getattr(k, "__name__", k)) for k in kinds)
    raise MockServerError(
        f"sms-mockserver: setting {name} must be {wanted}, got {type(value).__name__} {value!r}"
    )
