"""Delivery callbacks: status pushes reach a real receiver, failures are retried and
journaled, and a push can never start another."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.errors import MockServerError
from mockserver.server import MockServer

from .conftest import WORKED, ZOHO_AUTH, journal, twosms_send, zoho_send

NS = "cb"
PARAMS = {"namespace": NS}
HEADERS = {**ZOHO_AUTH, "X-Mock-Namespace": NS}
MOVING = Settings(lifecycle_progress=True, sent_after_seconds=1, delivered_after_seconds=3)


class Receiver:
    """A callback receiver on a free loopback port: keeps every push; the first
    ``failures`` answer 500."""

    def __init__(self, failures: int = 0) -> None:
        self.pushes: list[dict[str, Any]] = []
        self.failures = failures
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.pushes.append(
                    {"headers": dict(self.headers.items()), "body": body, "path": self.path}
                )
                failing = len(owner.pushes) <= owner.failures
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.pushes) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.pushes) >= count, self.pushes
        return self.pushes

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def register(client: TestClient | httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    answer = client.post("/_mock/callbacks/targets", params=PARAMS, json={"url": url, **extra})
    assert answer.status_code == 201, answer.text
    target: dict[str, Any] = answer.json()["target"]
    return target


def tries(client: TestClient | httpx.Client) -> list[dict[str, Any]]:
    answer = client.get("/_mock/callbacks", params=PARAMS)
    assert answer.status_code == 200, answer.text
    attempts: list[dict[str, Any]] = answer.json()["attempts"]
    return attempts


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def frozen(client: TestClient) -> None:
    answer = client.post("/_mock/clock", params=PARAMS, json={"set": "2030-03-18T08:00:00Z"})
    assert answer.status_code == 200, answer.text


def test_a_receiver_gets_each_zoho_status_push(receiver: Receiver) -> None:
    with TestClient(create_app(settings=MOVING)) as c:
        frozen(c)
        register(c, receiver.url)
        assert zoho_send(c, headers=HEADERS).status_code == 200
        c.post("/_mock/clock", params=PARAMS, json={"advance": "10s"})
        pushes = receiver.wait(2)
        (message,) = journal(c, namespace=NS)
        bodies = [json.loads(p["body"]) for p in pushes]
        assert [b["status"] for b in bodies] == ["SENT", "DELIVERED"]
        assert {b["logid"] for b in bodies} == {message.id}
        assert bodies[0]["customerNumber"] == message.to.removeprefix("+")
        assert bodies[1]["statusTime"] == (1_900_051_200 + 4) * 1000
        assert pushes[0]["headers"]["Content-Type"] == "application/json"
        assert pushes[0]["headers"]["X-Mock-Callback"].startswith(message.id)
        eventually(lambda: len(tries(c)) == 2)
        assert [(t["status"], t["outcome"], t["status_code"]) for t in tries(c)] == [
            ("sent", "delivered", 204),
            ("delivered", "delivered", 204),
        ]


def twosms(client: TestClient, options: dict[str, Any]) -> None:
    answer = twosms_send(client, {**WORKED, "Options": options}, {"X-Mock-Namespace": NS})
    assert answer.status_code == 200, answer.text


def test_2sms_pushes_only_with_delivery_receipt_as_a_form(receiver: Receiver) -> None:
    with TestClient(create_app()) as c:
        frozen(c)
        register(c, receiver.url, provider="twosms")
        twosms(c, {})
        twosms(c, {"DeliveryReceipt": True, "Reference": "order-7"})
        receipt, plain = sorted(journal(c, namespace=NS), key=lambda m: m.notify is None)
        for message in (plain, receipt):
            forced = c.post(
                f"/_mock/messages/{message.id}/status",
                params=PARAMS,
                json={"status": "failed", "reason": "carrier error 30008"},
            )
            assert forced.status_code == 200, forced.text
        c.post("/_mock/callbacks/flush", params=PARAMS)
        (push,) = receiver.wait(1)
        assert push["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        fields = dict(parse_qsl(push["body"].decode(), keep_blank_values=True))
        assert fields == {
            "MessageID": receipt.id,
            "Destination": receipt.to.removeprefix("+"),
            "Text": receipt.text,
            "Reference": "order-7",
            "DateReceived": "03/18/2030 08:00:00",
            "Status": "Failed",
            "Reason": "carrier error 30008",
        }
        time.sleep(0.2)
        assert len(receiver.pushes) == 1  # the send without DeliveryReceipt pushed nothing


def test_a_failing_receiver_is_retried_with_backoff_and_every_try_is_journaled() -> None:
    receiver = Receiver(failures=2)
    try:
        with TestClient(create_app()) as c:
            frozen(c)
            register(c, receiver.url)
            zoho_send(c, headers=HEADERS)
            (message,) = journal(c, namespace=NS)
            c.post(f"/_mock/messages/{message.id}/status", params=PARAMS, json={"status": "sent"})
            eventually(lambda: len(tries(c)) == 1)
            first = tries(c)[0]
            assert (first["outcome"], first["status_code"]) == ("retrying", 500)
            assert first["next_at"] == first["at"] + 1  # callback_backoff_seconds
            assert "answered 500" in first["error"]
            time.sleep(0.2)
            assert len(tries(c)) == 1  # the clock is frozen: the retry waits for it
            c.post("/_mock/clock", params=PARAMS, json={"advance": "1s"})
            eventually(lambda: len(tries(c)) == 2)
            assert tries(c)[1]["next_at"] == first["at"] + 1 + 2  # doubled
            flushed = c.post("/_mock/callbacks/flush", params=PARAMS).json()
            assert [a["outcome"] for a in flushed["attempts"]] == ["delivered"]
            assert flushed["pending"] == 0
            journaled = tries(c)
            assert [(t["attempt"], t["outcome"], t["status_code"]) for t in journaled] == [
                (1, "retrying", 500),
                (2, "retrying", 500),
                (3, "delivered", 204),
            ]
            assert all(t["latency_ms"] >= 0 for t in journaled)
            assert len(receiver.pushes) == 3
            assert len({p["body"] for p in receiver.pushes}) == 1  # the same push each time
            health = c.get("/_mock/health").json()["callbacks"]
            assert (health["delivered"], health["pending"]) == (1, 0)
    finally:
        receiver.close()


def test_an_unreachable_receiver_is_given_up_after_callback_attempts() -> None:
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens there now
    with TestClient(create_app(settings=Settings(callback_attempts=2))) as c:
        frozen(c)
        register(c, url)
        zoho_send(c, headers=HEADERS)
        (message,) = journal(c, namespace=NS)
        c.post(f"/_mock/messages/{message.id}/status", params=PARAMS, json={"status": "sent"})
        c.post("/_mock/callbacks/flush", params=PARAMS)
        c.post("/_mock/callbacks/flush", params=PARAMS)
        journaled = tries(c)
        assert [t["outcome"] for t in journaled] == ["retrying", "gave_up"]
        assert all(t["status_code"] is None and "ConnectError" in t["error"] for t in journaled)
        assert c.get("/_mock/health").json()["callbacks"]["given_up"] == 1


def test_the_callback_urls_setting_pushes_for_every_namespace(receiver: Receiver) -> None:
    with TestClient(create_app(settings=Settings(callback_urls=frozenset({receiver.url})))) as c:
        zoho_send(c, headers=HEADERS)
        (message,) = journal(c, namespace=NS)
        c.post(f"/_mock/messages/{message.id}/status", params=PARAMS, json={"status": "sent"})
        (push,) = receiver.wait(1)
        assert json.loads(push["body"])["status"] == "SENT"


def test_a_push_to_the_mock_itself_never_loops() -> None:
    with MockServer(settings=MOVING.replace(callback_attempts=2)) as server:
        http = server.http
        own_admin = f"{server.url}/_mock/callbacks/flush?namespace={NS}"
        own_send = f"{server.url}/rest/json/v2/sms/send"
        http.post("/_mock/clock", params=PARAMS, json={"freeze": True})
        register(http, own_admin)
        register(http, own_send)
        sms = json.dumps({"customerNumber": "14155550100", "message": "hi", "senderId": "ACME"})
        answer = http.post(
            "/rest/json/v2/sms/send", files={"sms_data": (None, sms)}, headers=HEADERS
        )
        assert answer.status_code == 200, answer.text
        http.post("/_mock/clock", params=PARAMS, json={"advance": "10s"})
        eventually(lambda: len(tries(http)) == 4)
        http.post("/_mock/callbacks/flush", params=PARAMS)  # the retries, at once
        by_url: dict[str, list[int | None]] = {}
        for t in tries(http):
            by_url.setdefault(t["url"], []).append(t["status_code"])
        assert by_url[own_admin] == [508] * 4  # the admin API refuses a push
        assert by_url[own_send] == [401] * 4  # a push carries no provider credential
        assert http.get("/_mock/health").json()["callbacks"]["pending"] == 0
        assert len(server.messages(namespace=NS)) == 1


def test_a_send_made_by_a_push_pushes_nothing(receiver: Receiver) -> None:
    with TestClient(create_app()) as c:
        register(c, receiver.url)
        zoho_send(c, headers={**HEADERS, "X-Mock-Callback": "abc; attempt=1"})
        zoho_send(c, headers=HEADERS)
        pushing, silent = sorted(journal(c, namespace=NS), key=lambda m: m.notify is None)
        assert silent.notify is None
        for message in (silent, pushing):
            c.post(f"/_mock/messages/{message.id}/status", params=PARAMS, json={"status": "sent"})
        (push,) = receiver.wait(1)
        assert json.loads(push["body"])["logid"] == pushing.id
        time.sleep(0.2)
        assert len(receiver.pushes) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "ftp://example.com/x"}, "absolute http:// or https:// URL"),
        ({"url": "/relative"}, "absolute http:// or https:// URL"),
        ({"url": "http://example.com", "provider": "sinch"}, "provider must be one of"),
        ({"url": "http://example.com", "secret": 1}, 'takes {"url"'),
        ([], 'takes {"url"'),
        # Each of these once answered 500: a provider that is not a string, URLs that
        # urlsplit or httpx (which sends the pushes) refuse.
        ({"url": "https://0.com", "provider": {}}, "provider must be one of"),
        ({"url": "http://[::1/hook"}, "absolute http:// or https:// URL"),
        ({"url": "http://example.com:99999/"}, "absolute http:// or https:// URL"),
        ({"url": "http://example.com:0/"}, "absolute http:// or https:// URL"),
        ({"url": "http://a\u0000b/"}, "absolute http:// or https:// URL"),
    ],
)
def test_bad_targets_are_refused_saying_why(body: Any, message: str) -> None:
    with TestClient(create_app()) as c:
        answer = c.post("/_mock/callbacks/targets", params=PARAMS, json=body)
        assert answer.status_code == 400
        assert message in answer.json()["error"]


def test_targets_are_listed_deleted_bounded_and_reset_with_the_namespace() -> None:
    with TestClient(create_app()) as c:
        ids = [register(c, f"http://127.0.0.1:9/{n}")["id"] for n in range(20)]
        over = c.post("/_mock/callbacks/targets", params=PARAMS, json={"url": "http://a.test"})
        assert over.status_code == 400
        assert "at most 20" in over.json()["error"]
        assert c.delete(f"/_mock/callbacks/targets/{ids[0]}", params=PARAMS).json() == {
            "deleted": 1
        }
        assert c.delete(f"/_mock/callbacks/targets/{ids[0]}", params=PARAMS).status_code == 404
        listed = c.get("/_mock/callbacks/targets", params=PARAMS).json()["targets"]
        assert [t["id"] for t in listed] == ids[1:]
        c.delete("/_mock/messages", params=PARAMS)
        assert c.get("/_mock/callbacks/targets", params=PARAMS).json()["targets"] == []


def test_the_handle_registers_forces_flushes_and_reads_the_journal(receiver: Receiver) -> None:
    with MockServer() as server:
        handle = server.namespace()
        handle.clock(freeze=True)
        target = handle.add_callback(receiver.url, provider="zoho_voice")
        assert target["provider"] == "zoho_voice"
        sms = json.dumps({"customerNumber": "14155550100", "message": "hi", "senderId": "ACME"})
        httpx.post(
            f"{handle.url}/rest/json/v2/sms/send",
            files={"sms_data": (None, sms)},
            headers=ZOHO_AUTH,
        )
        (message,) = handle.messages()
        failed = handle.set_status(message.id, "undelivered", "carrier error 30008")
        assert failed.history[-1].reason == "carrier error 30008"
        handle.flush_callbacks()
        eventually(lambda: len(handle.callbacks()) == 1)
        (attempt,) = handle.callbacks()
        assert (attempt["status"], attempt["outcome"]) == ("undelivered", "delivered")
        assert json.loads(attempt["body"])["errorMessage"] == "carrier error 30008"
        with pytest.raises(MockServerError, match="takes one of at, advance"):
            handle.clock()
