"""MMS attachments over HTTP: uploaded with a Zoho send, downloaded byte for byte from
``/_mock/messages/{id}/media/{n}``, kept within ``max_kept_media_bytes``, on both stores."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.downloads import FALLBACK_TYPE, download_type
from mockserver.errors import MockServerError
from mockserver.handle import MockHandle
from mockserver.store import Message
from mockserver.store.sqlite import SQLiteStore

from .conftest import (
    VALID_SMS,
    ZOHO_AUTH,
    ZOHO_PATH,
    run_readme_example,
    serve_command,
    stop_process,
)

BOUNDARY = b"xYzZY-boundary"
NS = "media-test"
#: Binary bytes a naive parser or store would mangle: CRLFs, NULs, a line that starts like
#: the boundary, bytes that are not UTF-8, and a trailing CRLF that belongs to the file.
TRICKY = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    + b"\r\n--xYzZY-boundar\r\n--"
    + bytes(range(256))
    + b"\x00" * 300
    + b"\r\n\r\n"
)

Client = Callable[..., TestClient]


@pytest.fixture(params=["memory", "sqlite"])
def open_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    """Start an in-process mock on the parametrized store (``**settings`` for it); every
    client started is closed after the test."""
    opened: list[TestClient] = []

    def start(**settings: Any) -> TestClient:
        s = Settings(**settings)
        store = (
            SQLiteStore(tmp_path / "journal.sqlite3", s.store_limits())
            if request.param == "sqlite"
            else None
        )
        client = TestClient(create_app(settings=s, store=store))
        client.__enter__()
        opened.append(client)
        return client

    yield start
    for client in opened:
        client.__exit__(None, None, None)


def mms_body(
    data: bytes, filename: bytes = b"photo.png", content_type: bytes | None = None
) -> bytes:
    """A Zoho MMS send written out byte by byte, as a client library puts it on the wire."""
    sms = json.dumps({**VALID_SMS, "mms": True}).encode()
    media_headers = b'Content-Disposition: form-data; name="mms_media"; filename="' + filename
    media_headers += b'"\r\n'
    if content_type is not None:
        media_headers += b"Content-Type: " + content_type + b"\r\n"
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="sms_data"\r\n'
        b"Content-Type: application/json\r\n\r\n" + sms + b"\r\n"
        b"--" + BOUNDARY + b"\r\n" + media_headers + b"\r\n" + data + b"\r\n"
        b"--" + BOUNDARY + b"--\r\n"
    )


def send_mms(
    client: httpx.Client,
    data: bytes,
    filename: bytes = b"photo.png",
    content_type: bytes | None = b"image/png",
) -> str:
    """Send one MMS in namespace NS; its message id."""
    response = client.post(
        ZOHO_PATH,
        content=mms_body(data, filename, content_type),
        headers={
            **ZOHO_AUTH,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}",
            "X-Mock-Namespace": NS,
        },
    )
    assert response.status_code == 200, response.text
    message_id: str = response.json()["send"]["logid"]
    return message_id


def download(client: httpx.Client, message_id: str, n: int | str = 0) -> httpx.Response:
    return client.get(f"/_mock/messages/{message_id}/media/{n}", params={"namespace": NS})


def message(client: httpx.Client, message_id: str) -> dict[str, Any]:
    response = client.get(f"/_mock/messages/{message_id}", params={"namespace": NS})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def store_health(client: httpx.Client) -> dict[str, Any]:
    found: dict[str, Any] = client.get("/_mock/health").json()["store"]
    return found


def test_an_attachment_downloads_byte_identical_with_its_type(open_client: Client) -> None:
    client = open_client()
    message_id = send_mms(client, TRICKY)
    response = download(client, message_id)
    assert response.status_code == 200, response.text
    assert response.content == TRICKY
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(TRICKY))
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"photo.png\"; filename*=UTF-8''photo.png"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"
    (item,) = message(client, message_id)["media"]
    assert item["kept"] is True
    assert item["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert item["size"] == len(TRICKY)
    # The URL the message gives is the one that downloads it.
    assert client.get(item["url"]).content == TRICKY
    media = store_health(client)["media"]
    assert media == {"kept": 1, "bytes": len(TRICKY)}


def test_a_handle_reads_an_attachment(open_client: Client) -> None:
    client = open_client()
    message_id = send_mms(client, TRICKY)
    handle = MockHandle(client, "http://testserver", NS)
    assert handle.media(message_id) == TRICKY
    assert handle.messages()[0].media[0].size == len(TRICKY)
    # The one-message view's extra keys (kept, url) are read over, not refused.
    assert Message.from_json(message(client, message_id)).media == handle.messages()[0].media
    with pytest.raises(MockServerError, match=r"HTTP 404: .*no attachment '1'"):
        handle.media(message_id, 1)


def test_unknown_messages_and_indexes_are_404_and_bad_parameters_400(
    open_client: Client,
) -> None:
    client = open_client()
    message_id = send_mms(client, b"abc")
    for n in ("1", "-1", "x", "99999999999999999999", "%C3%A9"):
        response = download(client, message_id, n)
        assert response.status_code == 404, (n, response.text)
        assert "1 attachment(s), numbered from 0" in response.json()["error"]
    assert download(client, "no-such-message").status_code == 404
    text_only = client.post(
        ZOHO_PATH,
        files={"sms_data": (None, json.dumps(VALID_SMS))},
        headers={**ZOHO_AUTH, "X-Mock-Namespace": NS},
    ).json()["send"]["logid"]
    assert download(client, text_only).status_code == 404
    assert message(client, text_only)["media"] == []
    response = client.get(f"/_mock/messages/{message_id}/media/0", params={"limit": "3"})
    assert response.status_code == 400
    # Another namespace does not see it.
    response = client.get(f"/_mock/messages/{message_id}/media/0", params={"namespace": "other"})
    assert response.status_code == 404


def test_the_oldest_attachments_are_evicted_beyond_the_budget(open_client: Client) -> None:
    client = open_client(max_kept_media_bytes=2_500)
    first, second, third = (send_mms(client, bytes([n]) * 1_000) for n in range(3))
    gone = download(client, first)
    assert gone.status_code == 410
    assert "max_kept_media_bytes (2500 bytes in all)" in gone.json()["error"]
    assert download(client, second).content == b"\x01" * 1_000
    assert download(client, third).content == b"\x02" * 1_000
    (item,) = message(client, first)["media"]
    assert item["kept"] is False
    assert item["size"] == 1_000  # the summary stays
    store = store_health(client)
    assert store["media"] == {"kept": 2, "bytes": 2_000}
    assert store["evicted"]["media"] == 1
    assert store["evicted"]["messages"] == 0  # the messages are all kept
    assert store["limits"]["max_kept_media_bytes"] == 2_500
    # One larger than the whole budget is never kept, and counted at once.
    big = send_mms(client, b"x" * 2_501)
    assert download(client, big).status_code == 410
    assert download(client, third).status_code == 200
    assert store_health(client)["evicted"]["media"] == 2


def test_an_attachment_goes_with_its_message_and_with_a_reset(open_client: Client) -> None:
    client = open_client(max_messages=2)
    ids = [send_mms(client, bytes([n]) * 100) for n in range(3)]
    assert download(client, ids[0]).status_code == 404  # its message was evicted
    assert [download(client, i).status_code for i in ids[1:]] == [200, 200]
    store = store_health(client)
    assert store["media"] == {"kept": 2, "bytes": 200}
    assert store["evicted"]["media"] == 0  # counted as the message's eviction
    assert client.delete("/_mock/messages", params={"namespace": NS}).json() == {"deleted": 2}
    assert store_health(client)["media"] == {"kept": 0, "bytes": 0}


@pytest.mark.parametrize(
    ("sent", "served"),
    [
        (None, FALLBACK_TYPE),
        (b"text/html; charset=utf-8", "text/html; charset=utf-8"),
        (b"image/svg+xml", "image/svg+xml"),
        (b"not a type", FALLBACK_TYPE),
        (b"image/\xe9", FALLBACK_TYPE),
    ],
)
def test_the_content_type_is_the_one_sent_when_it_is_well_formed(
    sent: bytes | None, served: str
) -> None:
    with TestClient(create_app()) as client:
        message_id = send_mms(client, b"<script>alert(1)</script>", b"a.html", sent)
        response = download(client, message_id)
    assert response.status_code == 200
    assert response.headers["content-type"] == served
    # Whatever the type, a browser saves it and runs nothing of it.
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-security-policy"] == "sandbox"


def test_download_type_refuses_what_could_not_be_a_header() -> None:
    assert download_type(" image/jpeg ") == "image/jpeg"
    assert download_type("image/jpeg\r\nSet-Cookie: a=b") == FALLBACK_TYPE
    assert download_type("image/jpeg\x00") == FALLBACK_TYPE
    assert download_type("") == FALLBACK_TYPE


@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        (
            b"r\xc3\xa9sum\xc3\xa9.pdf",
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
        ),
        (b"C:\\dir\\a b.jpg", "attachment; filename=\"a b.jpg\"; filename*=UTF-8''a%20b.jpg"),
        (b"x;y=z.png", "attachment; filename=\"x_y_z.png\"; filename*=UTF-8''x%3By%3Dz.png"),
        (b"", "attachment; filename=\"mms_media\"; filename*=UTF-8''mms_media"),
    ],
)
def test_the_filename_is_given_safely(filename: bytes, disposition: str) -> None:
    with TestClient(create_app()) as client:
        message_id = send_mms(client, b"abc", filename)
        response = download(client, message_id)
    assert response.headers["content-disposition"] == disposition


def test_sqlite_keeps_attachments_as_files_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    settings = Settings(max_kept_media_bytes=len(TRICKY) + 10)

    def app() -> TestClient:
        return TestClient(
            create_app(settings=settings, store=SQLiteStore(db, settings.store_limits()))
        )

    with app() as client:
        old = send_mms(client, b"o" * 20)
        kept = send_mms(client, TRICKY)  # evicts the first
    files = list(Path(f"{db}-media").iterdir())
    assert len(files) == 1
    assert files[0].read_bytes() == TRICKY  # the bytes are a file, not a row
    assert TRICKY not in db.read_bytes()
    with app() as client:
        assert download(client, kept).content == TRICKY
        assert download(client, old).status_code == 410
        store = store_health(client)
        assert store["media"] == {"kept": 1, "bytes": len(TRICKY)}
        assert store["evicted"]["media"] == 1  # the count survives too
        client.delete("/_mock/messages")
    assert list(Path(f"{db}-media").iterdir()) == []


def test_an_acknowledged_attachment_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"

    def start() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            serve_command(store=f"sqlite://{db}"), stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("sms-mockserver "), first
        return proc, first.rsplit(" ", 1)[-1].strip()

    proc, url = start()
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            message_id = send_mms(client, TRICKY)
        os.kill(proc.pid, signal.SIGKILL)  # right after the 2xx: nothing else to flush it
        proc.wait(timeout=10)
    finally:
        stop_process(proc, kill=True)
    proc, url = start()
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            response = download(client, message_id)
            assert response.status_code == 200, response.text
            assert response.content == TRICKY
    finally:
        stop_process(proc)


def test_the_readme_mms_example_passes(pytester: pytest.Pytester) -> None:
    run_readme_example(pytester, "MMS attachments", "smsmock.media(message.id)")
