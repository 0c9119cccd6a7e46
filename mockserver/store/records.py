"""What the journal keeps, as JSON records with a schema version.

Every back-end stores the bytes these functions produce, so a record means the same thing in
memory, in SQLite and (later) in Redis, and a record written by an older version can be read
by a newer one (its version says which layout it has; :data:`SCHEMA_VERSION` is the current
one).

Layouts.  Version 1 (written up to 2026-12) is a JSON object with named keys and ``"v": 1``.
Version 2 is a JSON array whose first item is ``2`` and whose other items are the same
values in a fixed order (:data:`HEAD_FIELDS`, :data:`EXCHANGE_FIELDS`, :data:`ROW_FIELDS`):
every send encodes a head, an exchange and a row per recipient, and building and encoding the
named keys cost a one-recipient 2sms send about 8,000 of its 315,700 instructions (307,400
without them, ``bench/instructions.py``); a row is also under two thirds as large.  Both
are read; only version 2 is written.

One accepted request is a :class:`Submission`, stored once.  It holds what is common to every
recipient (sender, text, encoding, media) in its *head*, and what is only needed to inspect
one request (the redacted headers, the request fields, the response) in its *exchange*.  Each
recipient is a :class:`Message` row that refers to its submission: a 2sms send to 10,000
recipients is one submission and 10,000 small rows, not 10,000 copies of the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = [
    "SCHEMA_VERSION",
    "Media",
    "Message",
    "MessageFilter",
    "Page",
    "Recipient",
    "RecordBounds",
    "StatusChange",
    "StoredMedia",
    "Submission",
    "Violation",
    "bound_headers",
    "bound_value",
    "compact",
    "page_of",
]

#: Layout of the records below; bump it (and teach ``decode_*`` the old one) on any change
#: an older record would be misread by (in version 1, a new optional key read with a default
#: when absent was not one: ``recurs_from``, ``notify``, ``send_at`` and ``expire_at`` were
#: added so; in version 2 a new item goes at the end, read with a default when the array is
#: shorter).
SCHEMA_VERSION = 2

#: The items of a version-2 record after the version, in order.
HEAD_FIELDS = (
    "id",
    "provider",
    "operation",
    "created_at",
    "sender",
    "text",
    "encoding",
    "scheduled_at",
    "media",
    "recurs_from",
    "notify",
    "send_at",
    "expire_at",
)
EXCHANGE_FIELDS = ("headers", "request", "status_code", "response", "faults")
ROW_FIELDS = (
    "id",
    "submission_id",
    "to",
    "country",
    "segments",
    "test_number",
    "status",
    "history",
)
#: Where a version-2 row holds its status and its history.
_ROW_STATUS = 1 + ROW_FIELDS.index("status")
_ROW_HISTORY = 1 + ROW_FIELDS.index("history")


@dataclass(frozen=True, slots=True)
class Media:
    """An attachment accepted with a message (summarised: name, type, size, digest)."""

    filename: str
    content_type: str | None
    size: int
    sha256: str
    provider_id: str


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """The kept bytes of one attachment, with what it was sent as."""

    data: bytes
    #: As the client sent it in the part's Content-Type (None: it sent none).
    content_type: str | None
    filename: str


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One step of a message's status history, at a clock time (epoch seconds)."""

    status: str
    at: float
    reason: str | None = None


# Recipient and Submission are built on every send: not frozen, whose __init__ costs a
# object.__setattr__ per field (measured with make bench).
@dataclass(slots=True)
class Recipient:
    """One recipient of a submission, as the provider computed it."""

    id: str
    to: str
    country: str = ""
    #: SMS parts sent to this recipient (0 for an email-only 2sms recipient).
    segments: int = 1
    status: str = "queued"
    #: True for a number in a well-known fictional range (marked, not refused).
    test_number: bool = False
    #: The message's seq once a store has filed it (0 before): a hint that finds it again
    #: without a search (``Store.get(..., seq=)``); not stored.
    seq: int = field(default=0, repr=False, compare=False)


@dataclass(slots=True)
class Submission:
    """One accepted request, stored once; its recipients become messages."""

    id: str
    provider: str
    operation: str
    created_at: float
    sender: str
    text: str
    encoding: str
    recipients: tuple[Recipient, ...]
    scheduled_at: str | None = None
    media: tuple[Media, ...] = ()
    #: Request headers, secrets redacted, bounded by :func:`bound_headers`.
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The fields as the client sent them (parsed, not re-typed).
    request: Any = None
    #: The HTTP status and body the mock answered with; the body as JSON data, or as the
    #: encoded bytes that were sent (then kept as they are, not encoded again).
    status_code: int = 200
    response: Any = None
    #: The faults that fired on the request and let it through (latency, post-accept).
    faults: tuple[str, ...] = ()
    #: When a scheduled send goes out, and when its undelivered messages expire (epoch
    #: seconds on the namespace's clock), for the lifecycle (stored, so that a restarted
    #: mock takes up the steps where they were).
    send_at: float | None = field(default=None, repr=False, compare=False)
    expire_at: float | None = field(default=None, repr=False, compare=False)
    #: A recurring send's later sends (epoch seconds on the namespace's clock, in order),
    #: for the lifecycle; not stored.
    recurs: Iterator[float] | None = field(default=None, repr=False, compare=False)
    #: (submission id of the recurring send, occurrence number from 1) for each of its
    #: occurrences, the first included.  Both are optional head keys (no schema bump).
    recurs_from: tuple[str, int] | None = None
    #: Set when the messages push their status changes to the namespace's callback URLs:
    #: what the provider's push needs beyond the message (2sms ``Options.Reference``).
    #: None: no pushes (a 2sms send without ``Options.DeliveryReceipt``).
    notify: Mapping[str, Any] | None = None
    #: The bytes of each of ``media``, in its order, kept beside the records (within the
    #: store's ``max_kept_media_bytes``), never inside them; not part of the records.
    media_data: tuple[bytes, ...] = field(default=(), repr=False, compare=False)
    #: The three encoded parts, once :meth:`encode` has made them.
    encoded: tuple[bytes, bytes, list[bytes]] | None = field(
        default=None, repr=False, compare=False
    )

    def encode(self) -> tuple[bytes, bytes, list[bytes]]:
        """(head, exchange, message rows): what a store keeps; made once and remembered, so
        a provider can encode a large submission off the event loop before storing it."""
        if self.encoded is None:
            self.encoded = (self.head(), self.exchange(), self.message_rows())
        return self.encoded

    def head(self) -> bytes:
        """The part every message of this submission shows (small): :data:`HEAD_FIELDS`."""
        recurs = self.recurs_from
        return orjson.dumps(
            (
                SCHEMA_VERSION,
                self.id,
                self.provider,
                self.operation,
                self.created_at,
                self.sender,
                self.text,
                self.encoding,
                self.scheduled_at,
                [_media_json(m) for m in self.media] if self.media else (),
                (recurs[0], recurs[1]) if recurs else None,
                self.notify,
                self.send_at,
                self.expire_at,
            )
        )

    def exchange(self) -> bytes:
        """The part shown when one request is inspected (headers, request, response):
        :data:`EXCHANGE_FIELDS`."""
        headers = self.headers
        response = self.response
        blob = orjson.dumps(
            (
                SCHEMA_VERSION,
                headers if type(headers) is dict else dict(headers),
                self.request,
                self.status_code,
                orjson.Fragment(response) if isinstance(response, bytes) else response,
                self.faults,
            ),
            default=_fallback,
        )
        return compact(blob)

    def message_rows(self) -> list[bytes]:
        """One encoded row per recipient (what the store keeps per message):
        :data:`ROW_FIELDS`."""
        sub, at, dumps = self.id, self.created_at, orjson.dumps
        rows = [
            dumps(
                (
                    SCHEMA_VERSION,
                    r.id,
                    sub,
                    r.to,
                    r.country,
                    r.segments,
                    r.test_number,
                    r.status,
                    ((r.status, at, None),),
                )
            )
            for r in self.recipients
        ]
        if len(rows) > 1:
            # orjson leaves each short result in an allocation of about 4 KB: 10,000 rows
            # held until a store copies them would take 40 MB, compact copies 2.5 MB.
            rows = [compact(row) for row in rows]
        return rows


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one recipient, as the journal shows it."""

    #: Position in the journal: increases with every stored message, across namespaces.
    seq: int
    id: str
    submission_id: str
    namespace: str
    provider: str
    operation: str
    to: str
    country: str
    segments: int
    test_number: bool
    sender: str
    text: str
    encoding: str
    status: str
    created_at: float
    scheduled_at: str | None
    media: tuple[Media, ...]
    history: tuple[StatusChange, ...]
    #: (submission id of the recurring send, occurrence number from 1), or None.
    recurrence: tuple[str, int] | None = None
    #: What the provider's status push needs (None: the message pushes no status).
    notify: Mapping[str, Any] | None = None
    #: When its scheduled send goes out and when it expires undelivered (epoch seconds on
    #: its namespace's clock; None: at once, never).  What the lifecycle needs to take up
    #: its steps after a restart; not shown by :meth:`to_json` (``scheduled_at`` is).
    send_at: float | None = None
    expire_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data, as the admin API shows it."""
        return {
            "seq": self.seq,
            "id": self.id,
            "submission_id": self.submission_id,
            "namespace": self.namespace,
            "provider": self.provider,
            "operation": self.operation,
            "to": self.to,
            "country": self.country,
            "segments": self.segments,
            "test_number": self.test_number,
            "sender": self.sender,
            "text": self.text,
            "encoding": self.encoding,
            "status": self.status,
            "created_at": self.created_at,
            "scheduled_at": self.scheduled_at,
            "media": [_media_json(m) for m in self.media],
            "history": [{"status": h.status, "at": h.at, "reason": h.reason} for h in self.history],
            "recurrence": (
                {"of": self.recurrence[0], "occurrence": self.recurrence[1]}
                if self.recurrence
                else None
            ),
            "notify": self.notify,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        """A message back from :meth:`to_json` data (as the admin API sends it)."""
        fields = {k: v for k, v in data.items() if k in _MESSAGE_FIELDS}
        # Only Media's own keys: the admin API adds ``kept`` and ``url`` to each item.
        fields["media"] = tuple(Media(**{k: m[k] for k in _MEDIA_FIELDS}) for m in data["media"])
        fields["history"] = tuple(StatusChange(**h) for h in data["history"])
        recurrence = data.get("recurrence")
        fields["recurrence"] = (recurrence["of"], recurrence["occurrence"]) if recurrence else None
        return cls(**fields)


_MESSAGE_FIELDS = frozenset(Message.__dataclass_fields__)
_MEDIA_FIELDS = tuple(Media.__dataclass_fields__)


def _named(data: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """A record's values by name: a version-2 array read against ``names`` (a shorter array,
    from before an item was added, leaves it out), or a version-1 object as it is."""
    if type(data) is list:
        return dict(zip(names, data[1:], strict=False))
    named: dict[str, Any] = data  # freshly decoded: nobody else holds it
    named.pop("v", None)
    return named


def decode_head(blob: bytes) -> dict[str, Any]:
    """A submission head back from :meth:`Submission.head` (any schema version so far)."""
    data = _named(orjson.loads(blob), HEAD_FIELDS)
    data["media"] = tuple(Media(**m) for m in data["media"])
    return data


def decode_exchange(blob: bytes) -> dict[str, Any]:
    """A submission's exchange back from :meth:`Submission.exchange` (``faults`` only when
    some fired, as version 1 kept it)."""
    data = _named(orjson.loads(blob), EXCHANGE_FIELDS)
    if not data.get("faults", True):
        del data["faults"]
    return data


def record_id(blob: bytes | bytearray | memoryview) -> str:
    """The id of an encoded head (its submission's) or row (its message's): both layouts put
    it first (after the version) and name it ``id``."""
    data = orjson.loads(blob)
    found: str = data[1] if type(data) is list else data["id"]
    return found


def decode_message(seq: int, namespace: str, row: bytes, head: Mapping[str, Any]) -> Message:
    """A message from its stored row and its submission's decoded head."""
    data = _named(orjson.loads(row), ROW_FIELDS)
    return Message(
        seq=seq,
        id=data["id"],
        submission_id=data["submission_id"],
        namespace=namespace,
        provider=head["provider"],
        operation=head["operation"],
        to=data["to"],
        country=data["country"],
        segments=data["segments"],
        test_number=data["test_number"],
        sender=head["sender"],
        text=head["text"],
        encoding=head["encoding"],
        status=data["status"],
        created_at=head["created_at"],
        scheduled_at=head["scheduled_at"],
        media=head["media"],
        history=tuple(StatusChange(*h) for h in data["history"]),
        recurrence=_recurrence(head),
        notify=head.get("notify"),
        send_at=head.get("send_at"),
        expire_at=head.get("expire_at"),
    )


def _recurrence(head: Mapping[str, Any]) -> tuple[str, int] | None:
    found = head.get("recurs_from")
    return (found[0], found[1]) if found else None


def with_status(row: bytes, status: str, at: float, reason: str | None) -> bytes:
    """A message row with its status changed and the change added to its history (in the
    row's own layout)."""
    data = orjson.loads(row)
    if type(data) is list:
        data[_ROW_STATUS] = status
        data[_ROW_HISTORY].append([status, at, reason])
    else:
        data["status"] = status
        data["history"].append([status, at, reason])
    return orjson.dumps(data)


@dataclass(frozen=True, slots=True)
class Violation:
    """A request that disagreed with the provider contract, field by field.

    ``sent`` is JSON data (what the client sent, as far as it can be shown as JSON); a value
    whose JSON is longer than the store's bound is kept as a string preview, with its
    original size in ``sent_size`` and ``sent_truncated`` set.
    """

    provider: str
    operation: str
    field: str
    sent: Any
    expected: str
    created_at: float
    sent_size: int = 0
    sent_truncated: bool = False
    namespace: str = ""
    seq: int = 0

    def encode(self) -> bytes:
        """The stored record (without ``namespace`` and ``seq``, which the store assigns)."""
        return orjson.dumps(
            {
                "v": SCHEMA_VERSION,
                "provider": self.provider,
                "operation": self.operation,
                "field": self.field,
                "sent": self.sent,
                "sent_size": self.sent_size,
                "sent_truncated": self.sent_truncated,
                "expected": self.expected,
                "created_at": self.created_at,
            },
            default=_fallback,
        )

    @classmethod
    def decode(cls, seq: int, namespace: str, blob: bytes) -> Violation:
        """A violation back from :meth:`encode`."""
        data = orjson.loads(blob)
        data.pop("v", None)
        return cls(namespace=namespace, seq=seq, **data)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Violation:
        """A violation back from :meth:`to_json` data (as the admin API sends it)."""
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data, as the admin API shows it."""
        return {
            "seq": self.seq,
            "namespace": self.namespace,
            "provider": self.provider,
            "operation": self.operation,
            "field": self.field,
            "sent": self.sent,
            "sent_size": self.sent_size,
            "sent_truncated": self.sent_truncated,
            "expected": self.expected,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """Which messages a query or a wait wants; ``None`` matches anything."""

    namespace: str | None = None
    provider: str | None = None
    to: str | None = None
    status: str | None = None
    #: A substring of the text.
    text: str | None = None
    submission_id: str | None = None

    def matches(self, message: Message) -> bool:
        """True when ``message`` passes every filter that is set."""
        return (
            (self.namespace is None or message.namespace == self.namespace)
            and (self.provider is None or message.provider == self.provider)
            and (self.to is None or message.to == self.to)
            and (self.status is None or message.status == self.status)
            and (self.text is None or self.text in message.text)
            and (self.submission_id is None or message.submission_id == self.submission_id)
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, and the cursor of the next page (``None``: no more)."""

    items: Sequence[Any]
    next_cursor: int | None


def page_of(items: list[Any], limit: int, stops: Sequence[int], descending: bool) -> Page:
    """A page from up to ``limit + 1`` items in order, where a bounded scan stopped at the
    seqs ``stops``: only what lies before the first stop is certain to be complete."""
    if stops:
        cutoff = max(stops) if descending else min(stops)
        kept = [m for m in items if (m.seq >= cutoff if descending else m.seq <= cutoff)]
        if len(kept) <= limit:
            return Page(kept, cutoff)
        items = kept
    more = len(items) > limit
    del items[limit:]
    return Page(items, items[-1].seq if more and items else None)


@dataclass(frozen=True, slots=True)
class RecordBounds:
    """How much of a request's headers and of a violation's value the journal keeps."""

    max_headers: int = 64
    max_header_bytes: int = 16 * 1024
    max_value_bytes: int = 1024


def compact(blob: bytes) -> bytes:
    """``blob`` in an allocation of its own size: orjson leaves a short result in about 4 KB,
    and a large one in up to twice its size (a 600 KB answer to a 10,000-recipient send
    arrived in a 4 MB buffer)."""
    return bytes(memoryview(blob))


def bound_headers(headers: Mapping[str, str], bounds: RecordBounds) -> dict[str, str]:
    """At most ``max_headers`` headers and ``max_header_bytes`` of names and values.

    What is left out is said in one extra entry, ``(truncated)``, with the counts, so a
    listing shows that headers were dropped rather than silently showing fewer.
    """
    out: dict[str, str] = {}
    used = dropped = dropped_bytes = 0
    for name, value in headers.items():
        size = len(name) + len(value)
        if len(out) >= bounds.max_headers or used + size > bounds.max_header_bytes:
            dropped += 1
            dropped_bytes += size
            continue
        out[name] = value
        used += size
    if dropped:
        out["(truncated)"] = (
            f"{dropped} header(s), {dropped_bytes} bytes not kept (limits: "
            f"{bounds.max_headers} headers, {bounds.max_header_bytes} bytes)"
        )
    return out


def bound_value(value: Any, bounds: RecordBounds) -> tuple[Any, int, bool]:
    """``value`` as JSON data within ``max_value_bytes``: (value or preview, size, truncated)."""
    if (
        value is None
        or isinstance(value, bool | float)
        or (isinstance(value, int) and -(2**63) <= value < 2**64)
    ):
        return value, 0, False
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", "backslashreplace")
    try:
        encoded = orjson.dumps(value, default=_fallback, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        # An integer beyond 64 bits: JSON allows it, orjson does not.  Kept as its JSON text.
        text = json.dumps(value, default=str, ensure_ascii=False)
        encoded = orjson.dumps(text)
        if len(text) <= bounds.max_value_bytes:
            return text, len(text), False
    else:
        if len(encoded) <= bounds.max_value_bytes:
            return orjson.loads(encoded), len(encoded), False
    preview = encoded[: bounds.max_value_bytes].decode("utf-8", "ignore")
    return preview + "…", len(encoded), True


def _media_json(m: Media) -> dict[str, Any]:
    return {
        "filename": m.filename,
        "content_type": m.content_type,
        "size": m.size,
        "sha256": m.sha256,
        "provider_id": m.provider_id,
    }


def _fallback(value: Any) -> Any:
    """JSON for what orjson can't encode itself: bytes as text, anything else as ``str``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    return str(value)
