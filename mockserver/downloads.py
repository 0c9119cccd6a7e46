"""How a kept MMS attachment is handed back: its bytes as sent, downloaded, never rendered.

``GET /_mock/messages/{id}/media/{n}`` answers with the attachment's own Content-Type, so a
test can check what its client uploaded.  Whatever that type says (``text/html``,
``image/svg+xml``), the answer is one a browser saves rather than shows, and never runs: it
comes as an attachment, with ``X-Content-Type-Options: nosniff`` and a sandboxing
Content-Security-Policy, since the bytes are whatever a client sent to the mock's origin.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from .store import Message, StoredMedia

__all__ = ["FALLBACK_TYPE", "annotate_media", "download", "download_type", "media_url"]

#: The type of an attachment sent without a usable Content-Type.
FALLBACK_TYPE = "application/octet-stream"

# RFC 9110 tokens: ``type/subtype`` then parameters of printable ASCII.  Anything else (a
# control character, a non-ASCII byte) could not be sent as a header, so it is not echoed.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[\x20-\x7e\t]*)?")
# What is left of a file name in the plain ``filename=`` for clients that ignore
# ``filename*``: no quote, backslash or anything else that would need escaping.
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


def download_type(content_type: str | None) -> str:
    """The Content-Type an attachment is served with: the one it was sent with when that is
    a well-formed media type, else :data:`FALLBACK_TYPE`."""
    if content_type is not None:
        content_type = content_type.strip()
        if _MEDIA_TYPE.fullmatch(content_type):
            return content_type
    return FALLBACK_TYPE


def _disposition(filename: str) -> str:
    """``attachment`` with the file's base name: RFC 6266's ASCII ``filename`` and its
    UTF-8 ``filename*`` (RFC 8187)."""
    # A client may send a whole path (C:\\dir\\a.jpg); only its last part names the file.
    base = filename.replace("\\", "/").rsplit("/", 1)[-1] or "attachment"
    plain = _UNSAFE.sub("_", base)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(base, safe='')}"


def download(media: StoredMedia) -> Response:
    """The answer that hands back ``media``'s bytes as they were sent."""
    return Response(
        media.data,
        headers={
            "content-type": download_type(media.content_type),
            "content-disposition": _disposition(media.filename),
            "x-content-type-options": "nosniff",
            "content-security-policy": "sandbox",
            "cache-control": "no-store",
        },
    )


def media_url(request: Request, message: Message, index: int) -> str:
    """Where attachment ``index`` of ``message`` is downloaded (below the app's root path)."""
    root: str = request.scope.get("root_path", "")
    return (
        f"{root}/_mock/messages/{quote(message.id, safe='')}/media/{index}"
        f"?namespace={quote(message.namespace, safe='')}"
    )


def annotate_media(
    items: list[dict[str, Any]], request: Request, message: Message, kept: frozenset[int]
) -> None:
    """Add to each attachment summary of ``message`` (its ``to_json()["media"]``) whether its
    bytes are still ``kept`` and the URL it is downloaded from."""
    for i, item in enumerate(items):
        item["kept"] = i in kept
        item["url"] = media_url(request, message, i)
