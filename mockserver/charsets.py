"""Declared charsets of bodies and multipart parts, honoured as Java and ASP.NET servers do.

Real clients declare charsets the mock must read: Apache HttpClient's default text part is
``text/plain; charset=ISO-8859-1``, Java's default form body is Latin-1 with
``charset=ISO-8859-1``, and .NET's ``StringContent`` can send ``charset=utf-16``.  Undeclared
text is UTF-8 (RFC 8259 section 8.1 for JSON; the HTML form encoding algorithm for forms and
multipart text).  A charset the mock cannot decode is refused with a message naming it, in the
provider's error shape, never with a decoder's internal message.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

from python_multipart.multipart import parse_options_header

from .errors import FieldProblem

__all__ = ["UTF8", "CharsetError", "charset_of", "decode", "misread", "resolve"]

UTF8 = "utf-8"
#: Python codecs that are not charsets a client could mean (they unescape or transform).
_NOT_CHARSETS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)


class CharsetError(ValueError):
    """Text that could not be read: an unknown charset, or bytes not in the declared one."""

    def __init__(self, problem: FieldProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@lru_cache(maxsize=256)
def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type value, as sent (None when absent)."""
    if not content_type:
        return None
    _, params = parse_options_header(content_type)
    value = params.get(b"charset")
    return value.decode("latin-1").strip() if value else None


@lru_cache(maxsize=64)
def resolve(charset: str | None) -> str | None:
    """The Python codec of a declared charset (UTF-8 when none is declared); None when the
    charset is unknown or not a text encoding."""
    if charset is None:
        return UTF8
    try:
        info = codecs.lookup(charset)
    except LookupError:
        return None
    try:
        # Bytes in, text out: not a bytes-to-bytes (base64, zlib) or text-to-text (rot13) codec.
        text = isinstance(info.decode(b"\x00" * 4)[0], str)
    except Exception:  # any failure on four NULs means: not a charset
        text = False
    return info.name if text and info.name.replace("-", "_") not in _NOT_CHARSETS else None


def decode(data: bytes | bytearray, content_type: str | None, field: str, what: str) -> str:
    """``data`` decoded with the charset its Content-Type declares (UTF-8 when it declares
    none); raises :class:`CharsetError` naming ``field``.  ``what`` names the text for the
    message (``"text"``, ``"form data"``, ``"JSON"``)."""
    declared = charset_of(content_type)
    codec = resolve(declared)
    if codec is None:
        raise CharsetError(
            FieldProblem(
                field,
                f"charset={declared}",
                f"{what} in a charset the mock knows (UTF-8, ISO-8859-1, windows-1252, "
                "UTF-16, …); the charset parameter names none",
            )
        )
    try:
        # A UTF-8 byte-order mark is dropped, as Java and .NET readers drop it.
        return bytes(data).decode("utf-8-sig" if codec == UTF8 else codec)
    except UnicodeDecodeError as exc:
        raise CharsetError(
            FieldProblem(field, _preview(data, exc.start), misread(what, declared, exc, exc.start))
        ) from None


def misread(what: str, declared: str | None, exc: UnicodeDecodeError, at: int | None) -> str:
    """What was expected of text that did not decode: the declared charset, or UTF-8 and
    how to declare another one."""
    where = f"byte {at}" if at is not None else "a percent-escape"
    if declared:
        return f"{what} in {declared}, as declared ({where} is not: {exc.reason})"
    return (
        f"UTF-8 {what}, as no charset is declared ({where} is not: {exc.reason}); text in "
        "another charset must declare it in its Content-Type, e.g. charset=ISO-8859-1"
    )


def _preview(data: bytes | bytearray, at: int, width: int = 24) -> str:
    """The bytes around position ``at``, printable."""
    start = max(0, at - width // 2)
    return bytes(data[start : start + width]).decode("utf-8", "backslashreplace")
