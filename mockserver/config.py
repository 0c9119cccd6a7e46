"""Settings: one frozen object; every behaviour the provider documents leave open is a field.

Settings come from keyword arguments, or from a TOML file (``sms-mockserver serve --config
mock.toml``) whose keys are the field names below.  Unknown keys are refused, so a typo in a
config file is an error rather than a silently ignored line.

What only one provider reads is declared by that provider (a :class:`ProviderSettings`
subclass in its module, the provider's ``settings_class``) and written in its table of the
file (``[zoho_voice] error_status = 200``), so adding a provider never touches this module.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Self, TypeVar

from .contracts import Overrides
from .errors import MockServerError
from .store import RecordBounds, StoreLimits

__all__ = [
    "MiB",
    "ProviderSettings",
    "Settings",
    "deprecated_keys",
    "frozen",
    "provider_settings",
    "read_toml",
]

MiB = 1024 * 1024


def read_toml(path: str | Path) -> dict[str, Any]:
    """A settings file's data; a file that can't be read or parsed is a MockServerError."""
    try:
        with Path(path).open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MockServerError(f"sms-mockserver: cannot read config {path}: {exc}") from exc


def provider_settings() -> dict[str, type[ProviderSettings]]:
    """Each registered provider's settings class, by its table name (the provider's name).

    Read from the provider registry when first needed: the provider modules import this
    one, so the registry cannot be imported at the top.
    """
    from .providers import PROVIDERS

    return {name: provider.settings_class for name, provider in PROVIDERS.items()}


def deprecated_keys(data: Mapping[str, Any]) -> list[str]:
    """Provider settings a file writes with their flat names (``zoho_error_status``) rather
    than in the provider's table; still read, to be moved."""
    classes = provider_settings()
    prefixes = tuple(kind.FLAT_PREFIX for kind in classes.values())
    return sorted(key for key in data if key not in classes and key.startswith(prefixes))


def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy of ``mapping`` (settings are immutable, tables included)."""
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
    #: Helper processes that check the numbers of a large send (1,000 or more the mock has
    #: not seen) beside the request's own thread (:mod:`mockserver.number_pool`).  Unset:
    #: one fewer than the cores the process may use, at most 4; 0: none.
    number_processes: int | None = None

    # ---- providers (README, "Settings"): each provider's own settings, by its name
    #: What each provider's table of a settings file holds (``[zoho_voice] error_status``),
    #: as the settings class its module declares; a provider not named uses its defaults.
    #: In Python: ``Settings().using(ZohoSettings(error_status=200))``.
    providers: Mapping[str, ProviderSettings] = field(default_factory=lambda: frozen({}))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), _KINDS.get(f.name, int))
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
        ):
            if getattr(self, name) < 1:
                raise MockServerError(f"sms-mockserver: setting {name} must be at least 1")
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
        if self.number_processes is not None and not 0 <= self.number_processes <= 64:
            raise MockServerError(
                "sms-mockserver: setting number_processes must be from 0 to 64, got "
                f"{self.number_processes}"
            )
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise MockServerError(
                f"sms-mockserver: setting seed must be from 0 to 2**63 - 1, got {self.seed}"
            )
        classes = provider_settings()
        for name, given in self.providers.items():
            kind = classes.get(name)
            if kind is None or not isinstance(given, kind):
                raise MockServerError(
                    f"sms-mockserver: providers[{name!r}] must be that provider's settings "
                    f"({', '.join(f'{n}: {k.__name__}' for n, k in classes.items())}), "
                    f"got {type(given).__name__}"
                )

    def provider(self, kind: type[P]) -> P:
        """A provider's settings: the ones given in ``providers``, else its defaults."""
        given = self.providers.get(kind.TABLE)
        return given if isinstance(given, kind) else _defaults(kind)

    def using(self, *changes: ProviderSettings) -> Settings:
        """A copy with these provider settings in place of the ones it had."""
        merged = dict(self.providers)
        merged.update((change.TABLE, change) for change in changes)
        return dataclasses.replace(self, providers=frozen(merged))

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
        overrides: dict[str, Any] = {}
        for kind in provider_settings().values():
            overrides.update(self.provider(kind).contract_overrides())
        return overrides

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Build settings from plain data (a parsed TOML file), refusing unknown keys.

        A provider's settings are read from its table (``[zoho_voice] error_status = 200``);
        the flat names (``zoho_error_status``) are still read (see :func:`deprecated_keys`).
        """
        classes = provider_settings()
        by_prefix = {kind.FLAT_PREFIX: name for name, kind in classes.items()}
        names = {f.name for f in dataclasses.fields(cls)} - {"providers"}
        general: dict[str, Any] = {}
        tables: dict[str, dict[str, Any]] = {name: {} for name in classes}
        spelt: dict[tuple[str, str], str] = {}  # each setting as the file wrote it
        for key, value in data.items():
            if key in classes:
                if not isinstance(value, Mapping):
                    raise MockServerError(
                        f"sms-mockserver: {key} must be a table of settings "
                        f"([{key}] error_status = …)"
                    )
                items = [(key, sub, item, f"[{key}] {sub}") for sub, item in value.items()]
            else:
                prefix = next((p for p in by_prefix if key.startswith(p)), None)
                if prefix is None or key in names:
                    general[key] = value
                    continue
                items = [(by_prefix[prefix], key[len(prefix) :], value, key)]
            for table, sub, item, written in items:
                if (table, sub) in spelt:
                    raise MockServerError(
                        f"sms-mockserver: {written} and {spelt[table, sub]} are one setting"
                    )
                tables[table][sub], spelt[table, sub] = item, written
        unknown = sorted(set(general) - names) + sorted(
            spelt[table, sub]
            for table, given in tables.items()
            for sub in given
            if sub not in {f.name for f in dataclasses.fields(classes[table])}
        )
        if unknown:
            listed = ", ".join(f"[{t}] ({k.FLAT_PREFIX}…)" for t, k in classes.items())
            raise MockServerError(
                f"sms-mockserver: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}; provider tables: {listed}"
            )
        values = {key: _plain(key, value, _KINDS.get(key)) for key, value in general.items()}
        providers = {
            table: classes[table].from_mapping(given) for table, given in tables.items() if given
        }
        return cls(**values, providers=frozen(providers))

    @classmethod
    def from_file(cls, path: str | Path) -> Settings:
        """Read settings from a TOML file."""
        return cls.from_mapping(read_toml(path))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# What each setting must hold when it is not an int: a type, or a tuple of alternatives
# ("mapping", "set" and None stand for any Mapping, any frozenset, and an unset value).
_KINDS: dict[str, Any] = {
    "on_full": str,
    "seed": (int, None),
    "number_processes": (int, None),
    "providers": "mapping",
    "admin_token": (str, None),
    "allowed_hosts": ("set", None),
    "accept_test_numbers": bool,
    "magic_numbers": bool,
    "rate_limit": (int, float, None),
    "lifecycle_progress": bool,
    "callback_urls": "set",
    "callback_backoff_seconds": (int, float),
    "callback_timeout_seconds": (int, float),
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


def _plain(name: str, value: Any, kind: Any) -> Any:
    """A value read from a file as the setting holds it: a list as a set where a set is
    wanted, a table as a read-only mapping."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if "set" in kinds and value is not None:
        if not isinstance(value, list):
            raise MockServerError(
                f'sms-mockserver: setting {name} must be a list, e.g. ["us", "ca"]'
            )
        return frozenset(str(v) for v in value)
    return frozen(value) if isinstance(value, Mapping) else value


P = TypeVar("P", bound="ProviderSettings")


_DEFAULTS: dict[type[ProviderSettings], ProviderSettings] = {}


def _defaults(kind: type[P]) -> P:
    """A provider's default settings, made once."""
    found = _DEFAULTS.get(kind)
    if not isinstance(found, kind):
        found = _DEFAULTS[kind] = kind()
    return found


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """The base of a provider's own settings, which its module declares (the provider's
    ``settings_class``): its table of a settings file, ``[zoho_voice] error_status = 200``.

    Fields are ints unless :attr:`KINDS` says otherwise; a field in :attr:`POSITIVE` must be
    at least 1.  :meth:`check` adds the provider's own checks, :meth:`contract_overrides` how
    the settings change its documented contracts.
    """

    #: The provider's name, which names its table.
    TABLE: ClassVar[str] = ""
    #: The prefix its settings had as top-level names (``zoho_`` for ``zoho_error_status``),
    #: still read with a deprecation message.
    FLAT_PREFIX: ClassVar[str] = ""
    #: What each non-int field must hold (see ``_check_type``: a type, "mapping", "set",
    #: None for unset, or a tuple of these).
    KINDS: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    #: Fields that must be at least 1, fields that are HTTP statuses, and string fields
    #: that take one of a few words.
    POSITIVE: ClassVar[tuple[str, ...]] = ()
    HTTP_STATUSES: ClassVar[tuple[str, ...]] = ()
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType({})

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_type(self.label(f.name), getattr(self, f.name), self.KINDS.get(f.name, int))
        for name in self.POSITIVE:
            if getattr(self, name) < 1:
                raise MockServerError(
                    f"sms-mockserver: setting {self.label(name)} must be at least 1"
                )
        for name in self.HTTP_STATUSES:
            if not 200 <= getattr(self, name) <= 599:
                raise MockServerError(
                    f"sms-mockserver: setting {self.label(name)} must be an HTTP status"
                )
        for name, words in self.CHOICES.items():
            if getattr(self, name) not in words:
                raise MockServerError(
                    f"sms-mockserver: setting {self.label(name)} must be {' or '.join(words)}"
                )
        self.check()

    @classmethod
    def label(cls, name: str) -> str:
        """How messages name one of these settings: ``[zoho_voice] error_status``."""
        return f"[{cls.TABLE}] {name}"

    def check(self) -> None:
        """Refuse values the field types allow but the provider cannot use (overridden)."""

    def contract_overrides(self) -> Overrides:
        """How these settings change the provider's documented contracts, per operation id
        (overridden; none by default)."""
        return {}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """The settings of the provider's table as read from a file (names already checked)."""
        return cls(**{k: _plain(cls.label(k), v, cls.KINDS.get(k)) for k, v in data.items()})
