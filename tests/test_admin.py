"""The /_mock/ admin API."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import Settings, __version__, create_app
from mockserver.providers.zoho_settings import ZohoSettings

from .conftest import (
    VALID_SMS,
    ZOHO_AUTH,
    ZOHO_NAMESPACE,
    ZOHO_PATH,
    journal,
    make_client,
    violations,
    zoho_send,
)


def test_health_reports_usage_and_limits(client: TestClient) -> None:
    body = client.get("/_mock/health").json()
    assert (body["status"], body["version"], body["providers"]) == (
        "ok",
        __version__,
        ["twosms", "zoho_voice"],
    )
    store = body["store"]
    assert (store["store"], store["messages"], store["namespaces"]) == ("memory", 0, 0)
    assert store["limits"]["max_messages"] == 10_000
    assert store["evicted"] == {"messages": 0, "violations": 0, "namespaces": 0, "media": 0}
    zoho_send(client)
    store = client.get("/_mock/health").json()["store"]
    assert (store["messages"], store["namespaces"]) == (1, 1)
    assert store["bytes"] > 0


def test_journal_lists_oldest_first_and_filters(client: TestClient) -> None:
    zoho_send(client, {**VALID_SMS, "message": "first"})
    zoho_send(client, {**VALID_SMS, "message": "second", "customerNumber": "+919876543210"})
    body = client.get("/_mock/messages").json()
    assert (body["count"], body["next_cursor"]) == (2, None)
    assert [m["text"] for m in body["messages"]] == ["first", "second"]
    first = body["messages"][0]
    assert (first["provider"], first["to"], first["segments"], first["encoding"]) == (
        "zoho_voice",
        "+14155550100",
        1,
        "GSM-7",
    )
    assert "test-token" not in str(body)
    assert [m.text for m in journal(client, to="919876543210")] == ["second"]
    assert [m.text for m in journal(client, text="eco")] == ["second"]
    assert journal(client, provider="twosms") == []
    assert [m["text"] for m in client.get("/_mock/messages?order=desc").json()["messages"]] == [
        "second",
        "first",
    ]


def test_journal_pages_follow_the_cursor_exactly_once(client: TestClient) -> None:
    for n in range(7):
        zoho_send(client, {**VALID_SMS, "message": f"m{n}"})
    seen: list[str] = []
    cursor = ""
    while True:
        body = client.get("/_mock/messages", params={"limit": "3", "cursor": cursor}).json()
        seen += [m["text"] for m in body["messages"]]
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    assert seen == [f"m{n}" for n in range(7)]


def test_one_message_shows_its_request_and_response(client: TestClient) -> None:
    answer = zoho_send(client, headers={**ZOHO_AUTH, "Cookie": "session=s3cret"}).json()
    logid = answer["send"]["logid"]
    body = client.get(f"/_mock/messages/{logid}").json()
    assert body["id"] == logid
    submission = body["submission"]
    assert submission["response"] == answer
    assert submission["status_code"] == 200
    assert submission["request"]["sms_data"] == VALID_SMS
    assert submission["headers"]["authorization"] == "Zoho-oauthtoken ***"
    assert submission["headers"]["cookie"] == "***"
    missing = client.get("/_mock/messages/nope")
    assert missing.status_code == 404
    assert "no message with id 'nope'" in missing.json()["error"]


def test_wait_answers_when_a_message_arrives() -> None:
    with make_client() as c:
        # Already there: at once.
        zoho_send(c)
        found = c.get("/_mock/messages/wait", params={"to": "+14155550100", "timeout": "1"})
        assert found.json()["message"]["to"] == "+14155550100"
        # Not yet there: answered when it comes, not at the timeout.
        later = threading.Timer(0.3, lambda: zoho_send(c, {**VALID_SMS, "message": "late"}))
        later.start()
        started = time.monotonic()
        woke = c.get("/_mock/messages/wait", params={"text": "late", "timeout": "20"})
        assert woke.json()["message"]["text"] == "late"
        assert time.monotonic() - started < 10
        later.join()
        missed = c.get("/_mock/messages/wait", params={"text": "never", "timeout": "0.1"})
        assert missed.status_code == 404
        assert "arrived within 0.1 s" in missed.json()["error"]


def test_admin_parameters_are_checked(client: TestClient) -> None:
    for path, params, expected in [
        ("/_mock/messages", {"to": "nope"}, "to must be an international phone number"),
        ("/_mock/messages", {"provider": "twilio"}, "provider must be one of"),
        ("/_mock/messages", {"colour": "red"}, "unknown parameter(s) colour"),
        ("/_mock/messages", {"limit": "1001"}, "limit must be a whole number from 1 to 1000"),
        ("/_mock/messages", {"limit": "0"}, "limit must be"),
        ("/_mock/messages", {"cursor": "abc"}, "cursor must be the next_cursor"),
        ("/_mock/messages", {"order": "up"}, "order must be asc"),
        ("/_mock/messages/wait", {"timeout": "61"}, "timeout must be a number of seconds"),
        ("/_mock/messages/wait", {"timeout": "x"}, "timeout must be a number of seconds"),
        ("/_mock/violations", {"to": "+14155550100"}, "not to"),
        # Beyond a store's 64-bit seq (once a 500 from SQLite) and beyond int()'s digits.
        ("/_mock/messages", {"cursor": "9999999999999999999"}, "from 0 to 9223372036854775807"),
        ("/_mock/violations", {"cursor": "9223372036854775808"}, "cursor must be"),
        ("/_mock/messages", {"limit": "1" * 5000}, "limit must be a whole number"),
        ("/_mock/callbacks", {"limit": "\u0661\u0660"}, "limit must be a whole number"),
        ("/_mock/messages/wait", {"timeout": "\u0661"}, "timeout must be a number"),
    ]:
        response = client.get(path, params=params)
        assert response.status_code == 400, (path, params)
        assert response.json()["error"].startswith("sms-mockserver: "), response.text
        assert expected in response.json()["error"], (expected, response.text)


def test_delete_resets_messages_and_violations(client: TestClient) -> None:
    zoho_send(client)
    zoho_send(client, {"message": "no number"})
    assert client.get("/_mock/violations").json()["count"] == 2
    assert client.delete("/_mock/messages").json() == {"deleted": 1}
    assert client.get("/_mock/messages").json()["count"] == 0
    assert client.get("/_mock/violations").json()["count"] == 0


def test_delete_one_namespace(client: TestClient) -> None:
    zoho_send(client, headers={"Authorization": "Zoho-oauthtoken t", "X-Mock-Namespace": "a"})
    zoho_send(client)
    assert client.delete("/_mock/messages", params={"namespace": "a"}).json() == {"deleted": 1}
    assert [m.namespace for m in journal(client)] == [ZOHO_NAMESPACE]
    assert client.delete("/_mock/messages", params={"to": "x"}).status_code == 400


def test_a_wrong_method_names_every_allowed_one(client: TestClient) -> None:
    response = client.put("/_mock/messages")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE"}


def test_violations_name_field_sent_and_expected(client: TestClient) -> None:
    zoho_send(client, {**VALID_SMS, "mms": "yes"})
    (violation,) = violations(client)
    assert (violation.field, violation.sent, violation.expected) == (
        "sms_data.mms",
        "yes",
        "expected true or false, got a string",
    )


def test_a_huge_unknown_value_is_kept_as_a_preview_with_its_size(client: TestClient) -> None:
    assert zoho_send(client, {**VALID_SMS, "junk": "x" * 50_000}).status_code == 200
    (violation,) = violations(client)
    assert violation.field == "sms_data.junk"
    assert (violation.sent_size, violation.sent_truncated) == (50_002, True)
    assert len(violation.sent) <= 1025


def test_the_ring_evicts_at_the_default_and_says_so() -> None:
    with make_client(Settings(max_messages=3)) as c:
        for n in range(5):
            assert zoho_send(c, {**VALID_SMS, "message": f"m{n}"}).status_code == 200
        body = c.get("/_mock/messages", params={"namespace": ZOHO_NAMESPACE}).json()
        assert [m["text"] for m in body["messages"]] == ["m2", "m3", "m4"]
        assert body["namespace"]["evicted_messages"] == 2
        assert c.get("/_mock/health").json()["store"]["evicted"]["messages"] == 2


def test_contract_is_served(client: TestClient) -> None:
    doc = client.get("/_mock/contracts/zoho_voice/openapi.json").json()
    assert "/rest/json/v2/sms/send" in doc["paths"]
    assert client.get("/_mock/contracts/nope/openapi.json").status_code == 404


def test_served_contract_is_the_enforced_one() -> None:
    with make_client(Settings().using(ZohoSettings(max_message_length=5000))) as c:
        doc = c.get("/_mock/contracts/zoho_voice/openapi.json").json()
        schema = doc["paths"]["/rest/json/v2/sms/send"]["post"]["requestBody"]["content"][
            "multipart/form-data"
        ]["schema"]
        assert schema["properties"]["sms_data"]["properties"]["message"]["maxLength"] == 5000
        assert zoho_send(c, {**VALID_SMS, "message": "a" * 5000}).status_code == 200


@pytest.mark.anyio
async def test_10050_sends_at_the_defaults_keep_10000_and_report_50_evictions() -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as c:
        files = {"sms_data": (None, json.dumps(VALID_SMS))}
        statuses = set()
        for _ in range(10_050):
            response = await c.post(ZOHO_PATH, files=files, headers=ZOHO_AUTH)
            statuses.add(response.status_code)
        assert statuses == {200}
        body = (await c.get("/_mock/messages", params={"namespace": ZOHO_NAMESPACE})).json()
        assert body["namespace"]["messages"] == 10_000
        assert body["namespace"]["evicted_messages"] == 50
        store = (await c.get("/_mock/health")).json()["store"]
        assert (store["messages"], store["evicted"]["messages"]) == (10_000, 50)


def test_the_largest_cursor_is_a_page_not_an_error(client: TestClient) -> None:
    for path in ("/_mock/messages", "/_mock/violations", "/_mock/callbacks"):
        answer = client.get(path, params={"cursor": str(2**63 - 1)})
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["count"] == 0


def test_seed_takes_a_whole_number_in_range(client: TestClient) -> None:
    assert client.post("/_mock/seed", json={"seed": 7.0}).json() == {"seed": 7}
    wrongs: list[Any] = [{"seed": "x"}, {"seed": 1.5}, {"seed": -1}, {"seed": 2**63}, {"s": 1}, []]
    for wrong in wrongs:
        answer = client.post("/_mock/seed", json=wrong)
        assert answer.status_code == 400, wrong
        assert "POST /_mock/seed takes" in answer.json()["error"]
    assert isinstance(client.post("/_mock/seed").json()["seed"], int)  # no body: a fresh one


def test_an_admin_body_over_a_mebibyte_is_refused(client: TestClient) -> None:
    answer = client.post("/_mock/faults", content=b" " * (1024 * 1024 + 1))
    assert answer.status_code == 413
    assert "at most 1048576 bytes" in answer.json()["error"]


def test_the_largest_cursor_reaches_the_sqlite_store(tmp_path: Any) -> None:
    # SQLite's INTEGER is 64 bits: a cursor one beyond once answered 500 (OverflowError).
    from mockserver.store.urls import store_from_url

    store = store_from_url(f"sqlite://{tmp_path / 'j.sqlite3'}", Settings().store_limits())
    with TestClient(create_app(store=store)) as c:
        zoho_send(c)
        for path in ("/_mock/messages", "/_mock/violations"):
            top = c.get(path, params={"cursor": str(2**63 - 1), "order": "asc"})
            assert (top.status_code, top.json()["count"]) == (200, 0), top.text
            assert c.get(path, params={"cursor": str(2**63)}).status_code == 400
        back = c.get("/_mock/messages", params={"cursor": str(2**63 - 1), "order": "desc"})
        assert back.json()["count"] == 1
