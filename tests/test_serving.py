"""Serving: no client holds a connection for long (real sockets, a real uvicorn)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import ANY
from urllib.parse import urlsplit

import httpx
import pytest

from mockserver import MockServer, Settings

from .conftest import VALID_SMS, ZOHO_PATH, serve_command

TIMEOUTS = Settings(header_timeout_seconds=1, body_timeout_seconds=1, keep_alive_timeout_seconds=1)
#: A Zoho send's multipart body (boundary "b").
SEND_BODY = (
    '--b\r\nContent-Disposition: form-data; name="sms_data"\r\n\r\n'
    f"{json.dumps(VALID_SMS)}\r\n--b--\r\n"
).encode()


def zoho_send_request(extra: str = "", version: str = "1.1") -> bytes:
    """A whole Zoho send (:data:`SEND_BODY`) as literal bytes; ``extra``: header lines."""
    return (
        f"POST {ZOHO_PATH} HTTP/{version}\r\nHost: localhost\r\n"
        "Authorization: Zoho-oauthtoken t\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(SEND_BODY)}\r\n{extra}\r\n"
    ).encode() + SEND_BODY


def twosms_token(mock: MockServer) -> str:
    """A 2sms bearer token from the mock's ``POST /Token``."""
    token: str = httpx.post(
        f"{mock.url}/Token",
        data={"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"},
    ).json()["access_token"]
    return token


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer(settings=TIMEOUTS) as server:
        yield server


def connect(mock: MockServer) -> socket.socket:
    parts = urlsplit(mock.url)
    assert parts.hostname is not None
    assert parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    mock: MockServer,
) -> None:
    with connect(mock) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        elapsed = time.monotonic() - started
    assert 0.8 < elapsed < 5


def test_trickled_headers_do_not_keep_the_connection(mock: MockServer) -> None:
    closed = False
    with connect(mock) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /rest/json/v2/sms/send HTTP/1.1\r\n")
        # A header line every 0.1 s: bytes keep coming, the headers never end.
        while not closed and time.monotonic() - started < 5:
            time.sleep(0.1)
            try:
                sock.sendall(b"X-Slow: y\r\n")
            except OSError:  # reset or broken pipe: the server closed it
                closed = True
        elapsed = time.monotonic() - started
    assert closed
    assert elapsed < 4


def test_a_body_that_does_not_come_gets_the_providers_408(mock: MockServer) -> None:
    body = SEND_BODY
    head = (
        f"POST {ZOHO_PATH} HTTP/1.1\r\nHost: localhost\r\n"
        "Authorization: Zoho-oauthtoken t\r\nX-Mock-Namespace: slow-body\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with connect(mock) as sock:
        started = time.monotonic()
        sock.sendall(head + body[:20])
        answer = read_until_closed(sock)
        elapsed = time.monotonic() - started
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout"
    payload = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert payload["code"] == "ZVSMS-4027"
    assert "the whole body within 1 seconds (setting body_timeout_seconds)" in payload["message"]
    assert 0.8 < elapsed < 5
    assert mock.messages(namespace="slow-body") == []


def test_a_request_in_time_is_answered_on_a_kept_alive_connection(mock: MockServer) -> None:
    request = zoho_send_request()
    with connect(mock) as sock:
        for _ in range(2):  # the second request on the same connection, after a pause
            sock.sendall(request)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
            time.sleep(0.5)


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    mock: MockServer,
) -> None:
    with connect(mock) as sock:
        sock.sendall(zoho_send_request())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        started = time.monotonic()
        assert read_until_closed(sock) == b""  # nothing more: the server closes it
        elapsed = time.monotonic() - started
    assert 0.8 < elapsed < 3


ZOHO_ONES = (2, 3)


def test_pipelined_requests_are_answered_in_order(mock: MockServer) -> None:
    token = twosms_token(mock)
    twosms_body = json.dumps(
        {
            "Contacts": {"QuickRecipients": {"+12345678901": 2}},
            "Content": "hi",
            "Options": {},
            "Type": 1,
        }
    ).encode()

    def request(n: int) -> bytes:  # 2sms, 2sms, Zoho, Zoho, 2sms; the last one closes
        zoho = n in ZOHO_ONES
        head = (
            f"POST {ZOHO_PATH if zoho else '/api/v2/sms/messages'} HTTP/1.1\r\n"
            f"Host: localhost\r\nX-Mock-Namespace: pipelined-{n}\r\n"
            + (
                "Authorization: Zoho-oauthtoken t\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                if zoho
                else f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            )
            + f"Content-Length: {len(SEND_BODY if zoho else twosms_body)}\r\n"
            + ("Connection: close\r\n" if n == 4 else "")
            + "\r\n"
        )
        return head.encode() + (SEND_BODY if zoho else twosms_body)

    with connect(mock) as sock:
        # Four requests in one write, two of each provider back to back.
        sock.sendall(b"".join(request(n) for n in range(4)))  # four requests in one write
        time.sleep(0.5)  # anything sent for them (a stray 500) comes before the fifth answer
        sock.sendall(request(4))
        stream = read_until_closed(sock)
    answers = []
    while stream:  # each answer's head, then as many bytes as its Content-Length says
        head, _, stream = stream.partition(b"\r\n\r\n")
        length = int(head.lower().partition(b"content-length: ")[2].partition(b"\r\n")[0])
        answers.append((head.partition(b"\r\n")[0], json.loads(stream[:length])))
        stream = stream[length:]
    assert [status for status, _ in answers] == [b"HTTP/1.1 200 OK"] * 5
    for n, (_, payload) in enumerate(answers):  # each answer is its own request's
        if n in ZOHO_ONES:
            assert payload["code"] == "ZVSMS-2000"
        else:
            assert payload["ResponseData"]["Result"] == "Success"
        (message,) = mock.messages(namespace=f"pipelined-{n}")
        assert message.provider == ("zoho_voice" if n in ZOHO_ONES else "twosms")


def test_the_host_check_passes_a_request_without_host_and_refuses_a_foreign_one(
    mock: MockServer,
) -> None:
    # MockServer on a loopback address has the Host check on; a provider send is checked
    # before the short way to its endpoint (HTTP/1.0 sends no Host: nothing to check).
    def send(version: str, host: str | None) -> bytes:
        head = f"POST {ZOHO_PATH} {version}\r\n"
        if host is not None:
            head += f"Host: {host}\r\n"
        head += (
            "Authorization: Zoho-oauthtoken t\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {len(SEND_BODY)}\r\nConnection: close\r\n\r\n"
        )
        with connect(mock) as sock:
            sock.sendall(head.encode() + SEND_BODY)
            return read_until_closed(sock)

    served = send("HTTP/1.0", None)
    assert served.startswith(b"HTTP/1.1 200 ")
    assert b'"ZVSMS-2000"' in served
    refused = send("HTTP/1.1", "attacker.example")
    assert refused.startswith(b"HTTP/1.1 421 ")
    assert b"is not a loopback name" in refused


def test_an_answer_before_the_body_closes_the_connection(mock: MockServer) -> None:
    # A refused token is answered before the body is read: the rest of the body must not be
    # read as a next request on the same connection.
    head = (
        f"POST {ZOHO_PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer x\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(SEND_BODY)}\r\n\r\n"
    ).encode()
    with connect(mock) as sock:
        sock.sendall(head + SEND_BODY[:10])
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"\r\nconnection: close\r\n" in answer.lower()


def test_stray_bytes_after_an_answer_do_not_keep_the_connection(mock: MockServer) -> None:
    request = b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with connect(mock) as sock:
        sock.sendall(request)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        started = time.monotonic()
        sock.sendall(b"\r\n")  # starts no request, but is data
        read_until_closed(sock)
        elapsed = time.monotonic() - started
    assert elapsed < 4


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_a_client_that_writes_its_whole_body_first_gets_the_early_answer() -> None:
    # Python's urllib sends Connection: close and writes all 60 MB before reading: the mock
    # answers early (bad token, body over max_body_bytes), then reads the rest into nothing,
    # so the client gets the provider's error instead of "Connection reset by peer".
    proc = subprocess.Popen(serve_command(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        body = b"x" * (60 * 1024 * 1024)
        before = _rss_kib(proc.pid)
        answers = []
        for token in ("undefined", "good", "good"):
            request = urllib.request.Request(
                url + ZOHO_PATH,
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Zoho-oauthtoken {token}",
                    "Content-Type": "multipart/form-data; boundary=b",
                },
            )
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=60)
            answers.append((caught.value.code, json.loads(caught.value.read())))
        grown = _rss_kib(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert answers[0] == (401, {"status": "ERROR", "code": "INVALID_OAUTHTOKEN", "message": ANY})
    for status, payload in answers[1:]:
        assert (status, payload["code"]) == (400, "ZVSMS-4027")
        assert payload["message"] == "(body): a request body of at most 12582912 bytes"
    assert grown < 20 * 1024, f"RSS grew {grown} KiB over 180 MB of discarded bodies"


def test_the_lingering_close_is_bounded_by_idle_time() -> None:
    settings = Settings(linger_idle_seconds=1)
    with MockServer(settings=settings) as server, connect(server) as sock:
        head = (
            f"POST {ZOHO_PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer x\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
        ).encode()
        sock.sendall(head)
        assert read_until_closed(sock).startswith(b"HTTP/1.1 401 ")  # then the write side ends
        sock.sendall(b"y" * 65536)  # still read (and dropped) while the client keeps sending
        time.sleep(1.5)  # idle past linger_idle_seconds: the server closes for good
        assert _sends_fail(sock), "the connection outlived linger_idle_seconds"


def _sends_fail(sock: socket.socket) -> bool:
    """Whether sending on ``sock`` soon fails (the peer reset or closed the connection)."""
    for _ in range(200):
        try:
            sock.sendall(b"y" * 65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        time.sleep(0.01)
    return False


def test_settle_heap_leaves_the_start_up_objects_out_of_later_collections() -> None:
    # In a process of its own: frozen objects are never collected.
    script = (
        "import gc\n"
        "from mockserver import create_app\n"
        "from mockserver.serving import settle_heap\n"
        "create_app()\n"
        "assert gc.get_freeze_count() == 0\n"
        "settle_heap()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_two_pipelined_sends_get_two_answers_and_nothing_more(mock: MockServer) -> None:
    token = twosms_token(mock)
    body = (
        b'{"Contacts":{"QuickRecipients":{"+12345678901":2}},"Content":"hi","Options":{},"Type":1}'
    )
    request = (
        f"POST /api/v2/sms/messages HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with connect(mock) as sock:
        sock.sendall(request + request)  # kept open: a stray answer would come within 0.5 s
        sock.settimeout(0.5)
        stream = b""
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                stream += chunk
    assert stream.count(b"HTTP/1.1 ") == 2
    assert stream.count(b"HTTP/1.1 200 OK\r\n") == 2


@pytest.mark.parametrize(
    ("version", "extra"), [("1.1", "Connection: close\r\n"), ("1.0", ""), ("1.1", "")]
)
def test_an_answer_in_one_write_has_the_servers_headers_and_closes_when_asked(
    mock: MockServer, version: str, extra: str
) -> None:
    request = zoho_send_request(extra, version)
    closes = bool(extra) or version == "1.0"
    with connect(mock) as sock:
        sock.sendall(request)
        if closes:
            answer = read_until_closed(sock)
        else:
            sock.settimeout(0.5)  # kept alive: read what comes, then the connection is open
            answer = b""
            with contextlib.suppress(TimeoutError):
                while chunk := sock.recv(65536):
                    answer += chunk
            sock.sendall(request)  # and it serves the next request
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    head, _, payload = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    fields = dict(line.split(b": ", 1) for line in lines[1:])
    assert fields.keys() >= {b"date", b"server", b"content-length", b"content-type"}
    assert int(fields[b"content-length"]) == len(payload)
    assert json.loads(payload)["code"] == "ZVSMS-2000"
    assert (fields.get(b"connection") == b"close") is closes


def test_a_chunked_body_over_the_limit_is_refused_when_it_has_all_come() -> None:
    body = SEND_BODY + b"x" * 2000  # no Content-Length to refuse it from: chunks
    request = (
        f"POST {ZOHO_PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Zoho-oauthtoken t\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with MockServer(settings=Settings(max_body_bytes=1000)) as mock, connect(mock) as sock:
        sock.sendall(request)
        answer = read_until_closed(sock)
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(payload) == {
        "status": "ERROR",
        "code": "ZVSMS-4027",
        "message": ANY,
    }
    assert "a request body of at most 1000 bytes" in json.loads(payload)["message"]
