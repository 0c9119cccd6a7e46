"""``multipart/form-data`` parsing with explicit limits, sans-IO.

Built on python-multipart's callback parser (the one Starlette uses), which also caps the
header lines of a part (8) and their size (4 KiB).  The body arrives
whole (read within the operation's size limit by the pipeline); a part, field or file over
its cap is refused as soon as the parser reaches it.  Parts are returned in arrival order
with their raw bytes: the provider decides about duplicates and text decoding, because those
answers are provider wording.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from .errors import FieldProblem, MockServerError

__all__ = ["BodyError", "Limits", "Part", "boundary_of", "parse_multipart"]

# python-multipart logs a warning for every malformed body before raising; the client gets
# the error in its answer, so the console would only repeat it once per bad request (a
# flood under a bad client).  Its other records stay.
logging.getLogger("python_multipart.multipart").addFilter(
    lambda record: record.levelno != logging.WARNING
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied while parsing a body, in bytes (the body's own size is capped when it is
    read)."""

    file: int
    field: int
    #: Parts per body: the Zoho send has five parameters, so a body of hundreds of parts is
    #: not a send (and would otherwise cost a record per ignored part).
    parts: int = 64


@dataclass(slots=True)
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytearray = field(default_factory=bytearray)

    @property
    def is_file(self) -> bool:
        """True when the part was sent as a file (it has a ``filename``)."""
        return self.filename is not None


class BodyError(MockServerError):
    """The body could not be read: malformed, truncated, or over a limit."""

    def __init__(self, problem: FieldProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@lru_cache(maxsize=256)
def boundary_of(content_type: str) -> bytes | None:
    """The ``boundary`` parameter of a multipart Content-Type, if any (cached: a request's
    header is read before its body and again when the body is parsed)."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    return boundary or None


@lru_cache(maxsize=256)
def _disposition(header: bytes) -> tuple[bytes | None, bytes | None]:
    """``name`` and ``filename`` of a Content-Disposition header.

    Cached: clients send the same few disposition lines over and over, and parsing one
    costs more than the rest of a small part (profile behind ``make bench``).
    """
    _, options = parse_options_header(header)
    return options.get(b"name"), options.get(b"filename")


class _Collector:
    """python-multipart callbacks that build :class:`Part` objects under the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parts: list[Part] = []
        self.ended = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._current: Part | None = None

    def on_part_begin(self) -> None:
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        if len(self.parts) >= self.limits.parts:
            raise BodyError(
                FieldProblem(
                    "(body)",
                    f"more than {self.limits.parts} parts",
                    f"a multipart body of at most {self.limits.parts} parts",
                )
            )
        disposition = self._headers.get(b"content-disposition")
        if disposition is None:
            raise BodyError(
                FieldProblem(
                    "(body)", None, "every part needs a Content-Disposition header with a name"
                )
            )
        name, filename = _disposition(disposition)
        if name is None:
            raise BodyError(
                FieldProblem("(body)", None, "a part has no name= in its Content-Disposition")
            )
        ctype = self._headers.get(b"content-type")
        self._current = Part(
            name=name.decode("utf-8", "replace"),
            filename=None if filename is None else filename.decode("utf-8", "replace"),
            content_type=None if ctype is None else ctype.decode("latin-1"),
        )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current
        if part is None:  # pragma: no cover - the parser calls headers_finished first
            return
        part.data += data[start:end]
        cap = self.limits.file if part.is_file else self.limits.field
        if len(part.data) > cap:
            kind = "file" if part.is_file else "field"
            raise BodyError(
                FieldProblem(
                    part.name, f"more than {cap} bytes", f"a {kind} of at most {cap} bytes"
                )
            )

    def on_part_end(self) -> None:
        if self._current is not None:
            self.parts.append(self._current)
            self._current = None

    def on_end(self) -> None:
        self.ended = True


_CALLBACKS = (
    "on_part_begin",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_part_data",
    "on_part_end",
    "on_end",
)


#: What to do about a body that is not multipart as declared.
_LET_THE_CLIENT = (
    "let your HTTP client build the multipart body (curl -F, requests files=, FormData) "
    "instead of writing the body or its Content-Type by hand"
)


def _malformed(exc: FormParserError, boundary: bytes, body: bytes) -> FieldProblem:
    """A python-multipart error in the client's terms (its own messages speak of parser
    states: "Expected boundary character 45, got 91 at index 2")."""
    offset = getattr(exc, "offset", None)
    at = f" at byte {offset}" if isinstance(offset, int) and offset >= 0 else ""
    text = str(exc)
    sent = body[:40].decode("utf-8", "backslashreplace")
    if not body.startswith(b"--" + boundary) or "boundary" in text:
        return FieldProblem(
            "(body)",
            sent,
            "multipart/form-data with the boundary declared in Content-Type (the body must "
            f"begin with --{boundary.decode('latin-1')}); {_LET_THE_CLIENT}",
        )
    if "header count" in text:
        return FieldProblem("(body)", None, f"a part with at most 8 header lines{at}")
    if "header size" in text:
        return FieldProblem("(body)", None, f"a part whose header lines are at most 4 KiB{at}")
    if "header" in text:
        return FieldProblem(
            "(body)",
            None,
            f"well-formed part headers{at} (lines such as Content-Disposition: form-data; "
            f'name="sms_data", each ending in CRLF); {_LET_THE_CLIENT}',
        )
    return FieldProblem("(body)", None, f"a well-formed multipart/form-data body{at}")


def parse_multipart(body: bytes, boundary: bytes, limits: Limits) -> list[Part]:
    """Every part of a multipart body, in order; raises :class:`BodyError` for a malformed
    or truncated body, or one over a part, field or file limit.  Pure: no I/O (the body was
    read, within its size limit, before)."""
    if not body:
        raise BodyError(FieldProblem("(body)", None, "a multipart body; the request was empty"))
    collector = _Collector(limits)
    callbacks = {name: getattr(collector, name) for name in _CALLBACKS}
    try:
        parser = MultipartParser(boundary, callbacks=callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:  # the base of python-multipart's parse errors
        raise BodyError(_malformed(exc, boundary, body)) from None
    if not collector.ended:
        raise BodyError(
            FieldProblem(
                "(body)",
                f"{len(body)} bytes",
                "a complete multipart body ending with the closing boundary; "
                "the body was truncated",
            )
        )
    return collector.parts
