"""The /_mock/ admin API."""

from __future__ import annotations

from starlette.testclient import TestClient

from mockserver import __version__

from .conftest import VALID_SMS, store_of, zoho_send


def test_health(client: TestClient) -> None:
    body = client.get("/_mock/health").json()
    assert body == {"status": "ok", "version": __version__, "providers": ["zoho_voice", "twosms"]}


def test_journal_lists_oldest_first_and_filters(client: TestClient) -> None:
    zoho_send(client, {**VALID_SMS, "message": "first"})
    zoho_send(client, {**VALID_SMS, "message": "second", "customerNumber": "+919876543210"})
    body = client.get("/_mock/messages").json()
    assert body["count"] == 2
    assert [m["text"] for m in body["messages"]] == ["first", "second"]
    first = body["messages"][0]
    assert (first["provider"], first["to"], first["segments"], first["encoding"]) == (
        "zoho_voice",
        "+14155550100",
        1,
        "GSM-7",
    )
    assert first["response"]["send"]["logid"] == first["id"]
    assert "test-token" not in str(body)
    only = client.get("/_mock/messages", params={"to": "919876543210"}).json()
    assert [m["text"] for m in only["messages"]] == ["second"]
    assert client.get("/_mock/messages", params={"provider": "twosms"}).json()["count"] == 0


def test_journal_rejects_bad_filters(client: TestClient) -> None:
    for params in ({"to": "nope"}, {"provider": "twilio"}, {"colour": "red"}):
        response = client.get("/_mock/messages", params=params)
        assert response.status_code == 400
        assert response.json()["error"].startswith("sms-mockserver: ")


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
    assert [m["namespace"] for m in client.get("/_mock/messages").json()["messages"]] == ["default"]


def test_violations_name_field_sent_and_expected(client: TestClient) -> None:
    zoho_send(client, {**VALID_SMS, "mms": "yes"})
    (violation,) = client.get("/_mock/violations").json()["violations"]
    assert violation["field"] == "sms_data.mms"
    assert violation["sent"] == "yes"
    assert violation["expected"] == "expected true or false, got a string"


def test_contract_is_served(client: TestClient) -> None:
    doc = client.get("/_mock/contracts/zoho_voice/openapi.json").json()
    assert "/rest/json/v2/sms/send" in doc["paths"]
    assert client.get("/_mock/contracts/nope/openapi.json").status_code == 404


def test_stored_messages_round_trip_through_the_store(client: TestClient) -> None:
    from mockserver.store import StoredMessage

    zoho_send(
        client,
        {**VALID_SMS, "mms": True},
        files={"mms_media": ("p.jpg", b"\xff\xd8data", "image/jpeg")},
    )
    (message,) = store_of(client).messages()
    assert StoredMessage.from_json(message.to_json()) == message
    assert message.media[0].filename == "p.jpg"
    assert message.request["sms_data"]["mms"] is True


def test_violations_cannot_be_filtered_by_recipient(client: TestClient) -> None:
    response = client.get("/_mock/violations", params={"to": "+14155550100"})
    assert response.status_code == 400
    assert "not to" in response.json()["error"]


def test_served_contract_is_the_enforced_one() -> None:
    from mockserver import Settings

    from .conftest import make_client

    with make_client(Settings(zoho_max_message_length=5000)) as c:
        doc = c.get("/_mock/contracts/zoho_voice/openapi.json").json()
        schema = doc["paths"]["/rest/json/v2/sms/send"]["post"]["requestBody"]["content"][
            "multipart/form-data"
        ]["schema"]
        assert schema["properties"]["sms_data"]["properties"]["message"]["maxLength"] == 5000
        assert zoho_send(c, {**VALID_SMS, "message": "a" * 5000}).status_code == 200
