"""Zoho Voice send endpoint: success shape, every documented rule, and the error wording."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import Settings
from mockserver.contracts import fixtures_dir
from mockserver.errors import MockServerError
from mockserver.providers.zoho_settings import ZohoSettings

from .conftest import (
    JPEG,
    VALID_SMS,
    ZOHO_AUTH,
    ZOHO_NAMESPACE,
    ZOHO_PATH,
    assert_matches_contract,
    exchange,
    journal,
    make_client,
    violations,
    zoho_send,
)

OP = "zohoVoiceSendSmsV2"
NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


def check(response: httpx.Response) -> dict[str, Any]:
    assert_matches_contract("zoho_voice", OP, response)
    body: dict[str, Any] = response.json()
    return body


def test_sms_success_has_the_sample_shape_computed(client: TestClient) -> None:
    response = zoho_send(client)
    assert response.status_code == 200
    body = check(response)
    send = body["send"]
    sample = (fixtures_dir() / "zoho_voice" / "success_response.json").read_text()
    # Every key of the document's sample, except the MMS-only ones, in the same order.
    sample_keys = list(re.findall(r'^    "(\w+)"', sample, re.M))
    assert list(send) == [k for k in sample_keys if k not in {"isMMS", "mmsMeta"}]
    assert body["code"] == "ZVSMS-2000"
    assert body["status"] == "SUCCESS"
    assert send["customerNumber"] == "+1 4155550100"
    assert send["customerName"] == "+1 4155550100"
    assert send["senderId"] == "+14155550199"
    assert send["country"] == "us"
    assert send["multipartCount"] == 1
    assert send["status"] == "IN_QUEUE"
    assert send["messageType"] == "OUTGOING"
    uuid.UUID(send["logid"])


def test_mms_success_reports_the_real_file(client: TestClient) -> None:
    response = zoho_send(
        client, {**VALID_SMS, "mms": True}, files={"mms_media": ("photo.jpg", JPEG, "image/jpeg")}
    )
    body = check(response)
    send = body["send"]
    assert send["isMMS"] is True
    (meta,) = send["mmsMeta"]
    assert meta["fileName"] == "photo.jpg"
    assert meta["fileSize"] == len(JPEG)
    assert meta["fileExtn"] == "jpg"
    assert meta["objectName"] == f"photo.jpg-{send['submittedTime']}"
    assert meta["bucketName"] == ZohoSettings().bucket_name
    uuid.UUID(meta["mmsId"])
    (stored,) = journal(client)
    assert stored.media[0].size == len(JPEG)
    assert exchange(client, stored.id)["headers"]["authorization"] == "Zoho-oauthtoken ***"


def test_document_sample_request_bytes_are_accepted(client: TestClient) -> None:
    body = (fixtures_dir() / "zoho_voice" / "sample_request.multipart").read_bytes()
    response = client.post(
        ZOHO_PATH,
        content=body,
        headers={
            **ZOHO_AUTH,
            "Content-Type": "multipart/form-data; boundary=----smsmockBoundary7MA4YWxkTrZu0gW",
        },
    )
    assert response.status_code == 200, response.text
    assert check(response)["send"]["mmsMeta"][0]["fileSize"] == len(JPEG)


def test_document_sample_mp4_size_is_within_the_default_limit() -> None:
    # The document's own success sample accepts a 5,125,300-byte mp4.
    with make_client() as c:
        response = zoho_send(
            c,
            {**VALID_SMS, "mms": True},
            files={"mms_media": ("hd1970_preview.mp4", b"\0" * 5_125_300, "video/mp4")},
        )
    assert response.status_code == 200, response.text
    assert response.json()["send"]["mmsMeta"][0]["fileSize"] == 5_125_300


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("é" * 160, 1),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("✓" * 70, 1),
        ("✓" * 71, 2),
        ("✓" * 134, 2),
    ],
)
def test_multipart_count_is_the_segment_count(text: str, parts: int) -> None:
    with make_client() as c:
        response = zoho_send(c, {**VALID_SMS, "message": text})
    assert response.status_code == 200, response.text
    assert response.json()["send"]["multipartCount"] == parts


def test_digits_only_and_plus_numbers_are_both_accepted(client: TestClient) -> None:
    for number in ("919876543210", "+919876543210"):
        send = check(zoho_send(client, {**VALID_SMS, "customerNumber": number}))["send"]
        assert send["customerNumber"] == "+91 9876543210"
        assert send["country"] == "in"


def test_alphanumeric_sender_is_echoed_as_sent(client: TestClient) -> None:
    send = check(zoho_send(client, {**VALID_SMS, "senderId": "ACME"}))["send"]
    assert send["senderId"] == "ACME"


def test_contact_name_and_account_identity_come_from_settings() -> None:
    settings = Settings().using(
        ZohoSettings(contacts={"+14155550100": "Henry"}, user_name="Mark", email="mark@zylker.com")
    )
    with make_client(settings) as c:
        send = zoho_send(c).json()["send"]
    assert (send["customerName"], send["userName"], send["email"]) == (
        "Henry",
        "Mark",
        "mark@zylker.com",
    )


def test_scheduled_send_in_the_future_is_queued() -> None:
    with make_client(clock=NOW) as c:
        response = zoho_send(
            c,
            data={
                "scheduledTime": "2027-01-15 14:00:00",
                "timeZone": "Asia/Kolkata",
                "templateId": "1234",
            },
        )
        body = check(response)
        (stored,) = journal(c)
        assert exchange(c, stored.id)["request"]["templateId"] == 1234
    assert body["send"]["sentTime"] == "2027-01-15 14:00"
    assert (stored.scheduled_at, stored.status) == ("2027-01-15 14:00:00", "scheduled")


def test_sent_time_and_submitted_time_follow_the_clock() -> None:
    with make_client(clock=NOW) as c:
        send = zoho_send(c).json()["send"]
    assert send["submittedTime"] == int(NOW * 1000)
    assert send["sentTime"] == "2027-01-15 08:00"  # account zone UTC by default


# ---------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Zoho-oauthtoken "},
        {"Authorization": "Zoho-oauthtoken"},
        {"Authorization": "zoho-oauthtoken abc"},
    ],
    ids=["missing", "bearer", "empty-token", "no-space", "lower-case-scheme"],
)
def test_bad_auth_is_401_invalid_oauthtoken(client: TestClient, headers: dict[str, str]) -> None:
    response = zoho_send(client, headers=headers)
    assert response.status_code == 401
    assert "INVALID_OAUTHTOKEN" in response.text
    check(response)


def test_auth_is_checked_before_the_body(client: TestClient) -> None:
    response = client.post(ZOHO_PATH, content=b"junk", headers={"Content-Type": "text/plain"})
    assert response.status_code == 401


def test_accepted_tokens_setting_rejects_others() -> None:
    with make_client(Settings().using(ZohoSettings(accepted_tokens=frozenset({"good"})))) as c:
        assert zoho_send(c, headers={"Authorization": "Zoho-oauthtoken good"}).status_code == 200
        assert zoho_send(c, headers={"Authorization": "Zoho-oauthtoken bad"}).status_code == 401


def test_auth_error_body_is_configurable() -> None:
    body = {
        "status": {"code": 401, "description": "Unauthorized"},
        "data": {"moreInfo": "Invalid OAuth token", "error": "INVALID_OAUTHTOKEN"},
    }
    with make_client(Settings().using(ZohoSettings(auth_error_body=body))) as c:
        assert zoho_send(c, headers={}).json() == body


# ---------------------------------------------------------------------------- bad requests

Send = Callable[[TestClient], httpx.Response]


def _sms(**changes: Any) -> Send:
    data = {k: v for k, v in {**VALID_SMS, **changes}.items() if v is not ...}
    return lambda c: zoho_send(c, data)


def _raw(raw: str) -> Send:
    return lambda c: zoho_send(c, raw_sms=raw)


def _part(**parts: str) -> Send:
    """Exactly these text parts, nothing added."""
    files = [(name, (None, value)) for name, value in parts.items()]
    return lambda c: c.post(ZOHO_PATH, files=files, headers=ZOHO_AUTH)


def _body(content: bytes, ctype: str) -> Send:
    return lambda c: c.post(
        ZOHO_PATH, content=content, headers={**ZOHO_AUTH, "Content-Type": ctype}
    )


BAD_REQUESTS: dict[str, tuple[Send, str]] = {
    "json-body": (
        lambda c: c.post(ZOHO_PATH, json={"sms_data": VALID_SMS}, headers=ZOHO_AUTH),
        "Content-Type: multipart/form-data",
    ),
    "urlencoded-body": (
        lambda c: c.post(ZOHO_PATH, data={"sms_data": "{}"}, headers=ZOHO_AUTH),
        "Content-Type: multipart/form-data",
    ),
    "no-content-type": (_body(b"x", ""), "Content-Type: multipart/form-data"),
    "no-boundary": (_body(b"--x\r\n", "multipart/form-data"), "boundary"),
    "empty-body": (_body(b"", "multipart/form-data; boundary=x"), "empty"),
    "truncated": (
        _body(
            b'--x\r\nContent-Disposition: form-data; name="sms_data"\r\n\r\n{"a"',
            "multipart/form-data; boundary=x",
        ),
        "truncated",
    ),
    "missing-sms-data": (_part(templateId="1"), "sms_data: required"),
    "sms-data-not-json": (_raw("{customerNumber: 1}"), "sms_data: a JSON object"),
    "sms-data-array": (_raw("[1, 2]"), "sms_data: expected a JSON object, got an array"),
    "sms-data-string": (_raw('"hello"'), "sms_data: expected a JSON object, got a string"),
    "missing-customer-number": (_sms(customerNumber=...), "sms_data.customerNumber: required"),
    "missing-message": (_sms(message=...), "sms_data.message: required"),
    "missing-sender": (_sms(senderId=...), "sms_data.senderId: required"),
    "number-as-json-number": (
        _sms(customerNumber=14155550100),
        "sms_data.customerNumber: expected a string",
    ),
    "message-not-string": (_sms(message=["hi"]), "sms_data.message: expected a string"),
    "sender-not-string": (_sms(senderId=14155550199), "sms_data.senderId: expected a string"),
    "mms-not-boolean": (_sms(mms="true"), "sms_data.mms: expected true or false"),
    "empty-message": (_sms(message=""), "sms_data.message: must not be empty"),
    "message-too-long": (_sms(message="a" * 1001), "sms_data.message: must be at most 1000"),
    "invalid-number": (
        _sms(customerNumber="12345"),
        "sms_data.customerNumber: expected a valid international phone number",
    ),
    "letters-in-number": (_sms(customerNumber="+1415CALLME"), "sms_data.customerNumber"),
    "empty-sender": (_sms(senderId=""), "sms_data.senderId: must not be empty"),
    "mms-without-file": (_sms(mms=True), "mms_media: a file when sms_data.mms is true"),
    "file-with-mms-false": (
        lambda c: zoho_send(c, {**VALID_SMS, "mms": False}, files={"mms_media": ("a.jpg", JPEG)}),
        "sms_data.mms: true when an mms_media file is attached",
    ),
    "file-without-mms": (
        lambda c: zoho_send(c, files={"mms_media": ("a.jpg", JPEG)}),
        "sms_data.mms",
    ),
    "empty-file": (
        lambda c: zoho_send(c, {**VALID_SMS, "mms": True}, files={"mms_media": ("a.jpg", b"")}),
        "mms_media: a non-empty file",
    ),
    "template-not-long": (
        _part(
            sms_data='{"customerNumber":"14155550100","message":"x","senderId":"1"}',
            templateId="12ab",
        ),
        "templateId: expected a whole number (Long)",
    ),
    "template-too-big": (
        _part(
            sms_data='{"customerNumber":"14155550100","message":"x","senderId":"1"}',
            templateId="9" * 20,
        ),
        "templateId: must be at most",
    ),
    "scheduled-malformed": (
        _part(
            sms_data='{"customerNumber":"14155550100","message":"x","senderId":"1"}',
            scheduledTime="2030-01-01T10:00",
        ),
        "scheduledTime: expected a date and time in yyyy-mm-dd HH:MM:ss",
    ),
    "scheduled-not-a-date": (
        _part(
            sms_data='{"customerNumber":"14155550100","message":"x","senderId":"1"}',
            scheduledTime="2030-02-30 10:00:00",
        ),
        "scheduledTime: expected a date and time",
    ),
    "scheduled-in-past": (
        _part(
            sms_data='{"customerNumber":"14155550100","message":"x","senderId":"1"}',
            scheduledTime="2020-01-01 10:00:00",
        ),
        "scheduledTime: a time in the future",
    ),
    "unknown-time-zone": (
        _part(
            sms_data='{"customerNumber":"14155550100","message":"x","senderId":"1"}',
            timeZone="Mars/Olympus_Mons",
        ),
        "timeZone: expected an IANA time zone name",
    ),
    "duplicate-sms-data": (
        _body(
            b'--x\r\nContent-Disposition: form-data; name="sms_data"\r\n\r\n{}\r\n'
            b'--x\r\nContent-Disposition: form-data; name="sms_data"\r\n\r\n{}\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
        "sms_data: exactly one part",
    ),
    "non-utf8-sms-data": (
        _body(
            b'--x\r\nContent-Disposition: form-data; name="sms_data"\r\n\r\n{"message":"\xff\xfe"}'
            b"\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
        ),
        "sms_data: UTF-8 text",
    ),
    "sms-data-deeply-nested": (
        _raw(
            '{"customerNumber":"14155550100","message":"x","senderId":"1","extra":'
            + "[" * 40
            + "]" * 40
            + "}"
        ),
        "sms_data: JSON nested at most 32 levels deep",
    ),
    "sms-data-past-the-parser-depth": (
        _raw('{"a":' + "[" * 20_000 + "]" * 20_000 + "}"),
        "sms_data: a JSON object like",
    ),
    "part-without-name": (
        _body(
            b"--x\r\nContent-Disposition: form-data\r\n\r\n{}\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
        ),
        "no name=",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_bad_request_gets_zvsms_4027_naming_the_field(client: TestClient, case: str) -> None:
    send, expected = BAD_REQUESTS[case]
    response = send(client)
    assert response.status_code == 400, response.text
    body = check(response)
    assert body["status"] == "ERROR"
    assert body["code"] == "ZVSMS-4027"
    assert expected in body["message"]
    assert journal(client) == []
    assert violations(client), "a rejected request is recorded as a violation"


def test_at_least_twenty_distinct_bad_requests() -> None:
    assert len(BAD_REQUESTS) >= 20
    assert len({expected for _, expected in BAD_REQUESTS.values()}) >= 20


def test_several_problems_are_reported_together(client: TestClient) -> None:
    message = zoho_send(client, {"message": ""}).json()["message"]
    assert message == (
        "sms_data.customerNumber: required; sms_data.message: must not be empty; "
        "sms_data.senderId: required"
    )


def test_error_status_and_detail_are_configurable() -> None:
    with make_client(Settings().using(ZohoSettings(error_status=200, error_detail=False))) as c:
        response = zoho_send(c, {"message": "x"})
    assert response.status_code == 200
    assert response.json() == {"status": "ERROR", "code": "ZVSMS-4027", "message": "Bad Request"}


def test_message_length_limit_is_configurable() -> None:
    with make_client(Settings().using(ZohoSettings(max_message_length=10_000))) as c:
        assert zoho_send(c, {**VALID_SMS, "message": "a" * 10_000}).status_code == 200
        assert "at most 10000" in zoho_send(c, {**VALID_SMS, "message": "a" * 10_001}).text


def test_unsupported_country_gets_4038() -> None:
    with make_client(Settings().using(ZohoSettings(allowed_countries=frozenset({"us"})))) as c:
        assert zoho_send(c).status_code == 200
        response = zoho_send(c, {**VALID_SMS, "customerNumber": "+919876543210"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "ZVSMS-4038"
    assert body["message"].startswith(
        "Destination country not supported. Kindly contact zohovoice support"
    )
    assert_matches_contract("zoho_voice", OP, response)


def test_oversized_media_is_refused_early() -> None:
    with make_client(Settings(max_media_bytes=1000)) as c:
        response = zoho_send(
            c, {**VALID_SMS, "mms": True}, files={"mms_media": ("big.jpg", b"x" * 5000)}
        )
    assert response.status_code == 400
    assert "mms_media: a file of at most 1000 bytes" in response.json()["message"]


def test_oversized_body_is_refused_from_content_length() -> None:
    with make_client(Settings(max_body_bytes=100)) as c:
        response = zoho_send(c, {**VALID_SMS, "message": "a" * 200})
    assert "a request body of at most 100 bytes" in response.json()["message"]


def test_unknown_parts_are_ignored_but_recorded(client: TestClient) -> None:
    assert zoho_send(client, data={"foo": "bar"}).status_code == 200
    (violation,) = violations(client)
    assert violation.field == "foo"


def test_store_full_is_refused_not_lost() -> None:
    with make_client(Settings(max_messages=2, on_full="reject")) as c:
        assert [zoho_send(c).status_code for _ in range(3)] == [200, 200, 507]
        assert "max_messages" in zoho_send(c).json()["message"]
        assert len(journal(c)) == 2
        c.delete("/_mock/messages")
        assert zoho_send(c).status_code == 200


def test_namespace_header_partitions_messages_else_the_token_does(client: TestClient) -> None:
    zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Namespace": "worker-1"})
    zoho_send(client)
    zoho_send(client, headers={"Authorization": "Zoho-oauthtoken other"})
    namespaces = [m.namespace for m in journal(client)]
    other = "zoho_voice:" + hashlib.sha256(b"other").hexdigest()[:12]
    assert namespaces == ["worker-1", ZOHO_NAMESPACE, other]
    # The namespace never shows the token itself.
    assert not any("test-token" in n for n in namespaces)


def test_scheduled_time_uses_the_account_zone_without_time_zone() -> None:
    # 2027-01-15 08:30 in UTC is in the future of NOW (08:00 UTC) but 08:30 in Kolkata
    # (03:00 UTC) is not.
    with make_client(clock=NOW) as c:
        ok = zoho_send(c, data={"scheduledTime": "2027-01-15 08:30:00"})
        late = zoho_send(
            c, data={"scheduledTime": "2027-01-15 08:30:00", "timeZone": "Asia/Kolkata"}
        )
    assert ok.status_code == 200
    assert "scheduledTime: a time in the future (in time zone Asia/Kolkata)" in late.text


def test_unknown_sms_data_keys_are_ignored_but_recorded(client: TestClient) -> None:
    response = zoho_send(client, {**VALID_SMS, "Mms": True})
    assert response.status_code == 200
    assert "isMMS" not in response.json()["send"]
    assert zoho_send(client, {**VALID_SMS, "colour": "red"}).status_code == 200
    misspelt, unknown = violations(client)
    assert (misspelt.field, misspelt.sent, misspelt.expected) == (
        "sms_data.Mms",
        True,
        "an unknown key `Mms` (ignored); did you mean `mms`?",
    )
    assert (unknown.field, unknown.expected) == (
        "sms_data.colour",
        "not a field of sms_data (ignored)",
    )


def test_a_refusal_names_the_misspelt_key_behind_it(client: TestClient) -> None:
    # {"Mms": true} with a file: the file needs mms, and Mms is the reason mms is missing.
    answer = zoho_send(client, {**VALID_SMS, "Mms": True}, files={"mms_media": ("a.jpg", JPEG)})
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        "sms_data.Mms: an unknown key `Mms` (ignored); did you mean `mms`?; "
        "sms_data.mms: true when an mms_media file is attached"
    )
    part = zoho_send(client, data={"templateid": "1"})
    assert part.status_code == 200  # ignored when the send is fine, but recorded
    assert violations(client)[-1].expected == (
        "an unknown key `templateid` (ignored); did you mean `templateId`?"
    )


def test_form_values_are_quoted_in_type_errors(client: TestClient) -> None:
    answer = zoho_send(client, data={"templateId": "abc"})
    assert answer.json()["message"] == "templateId: expected a whole number (Long), got 'abc'"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b"[x]",
            "(body): multipart/form-data with the boundary declared in Content-Type (the "
            "body must begin with --abc); let your HTTP client build the multipart body",
        ),
        (b"--abcd\r\n", "(body): multipart/form-data with the boundary declared"),
        (b"--abc\r\nContent-Disposition\r\n\r\n", "(body): well-formed part headers at byte"),
    ],
    ids=["not-multipart", "other-boundary", "bad-header"],
)
def test_malformed_multipart_is_explained_in_user_terms(
    client: TestClient, body: bytes, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {**ZOHO_AUTH, "Content-Type": "multipart/form-data; boundary=abc"}
    answer = client.post(ZOHO_PATH, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith(expected)
    assert "Expected boundary character" not in answer.text
    assert [r for r in caplog.records if r.name.startswith("python_multipart")] == []


def test_a_blocked_country_is_not_a_contract_violation() -> None:
    with make_client(Settings().using(ZohoSettings(allowed_countries=frozenset({"US"})))) as c:
        assert zoho_send(c).status_code == 200  # "US" is compared in lower case
        assert (
            zoho_send(c, {**VALID_SMS, "customerNumber": "+919876543210"}).json()["code"]
            == "ZVSMS-4038"
        )
        assert violations(c) == []


def test_wrong_method_and_store_full_answers_are_in_the_contract() -> None:
    with make_client(Settings(max_messages=1, on_full="reject")) as c:
        assert zoho_send(c).status_code == 200
        full = zoho_send(c)
        assert full.status_code == 507
        check(full)
        wrong = c.put(ZOHO_PATH)
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
        check(wrong)


def test_errors_served_as_200_still_match_the_served_contract() -> None:
    import jsonschema_rs

    with make_client(Settings().using(ZohoSettings(error_status=200))) as c:
        doc = c.get("/_mock/contracts/zoho_voice/openapi.json").json()
        schema = doc["paths"][ZOHO_PATH]["post"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]
        validator = jsonschema_rs.validator_for(schema)
        assert validator.is_valid(zoho_send(c, {"message": ""}).json())
        assert validator.is_valid(zoho_send(c).json())


def test_parts_per_body_are_capped_by_the_setting() -> None:
    with make_client(Settings(max_parts=3)) as c:
        answer = zoho_send(c, data={"a": "1", "b": "2", "c": "3"})
        assert answer.status_code == 400
        assert "a multipart body of at most 3 parts" in answer.json()["message"]
        assert zoho_send(c, data={"a": "1", "b": "2"}).status_code == 200


@pytest.mark.parametrize("path", [ZOHO_PATH + "/", "/rest/json/v1/sms/send"])
def test_a_near_miss_path_gets_a_zvsms_404_not_a_redirect(client: TestClient, path: str) -> None:
    answer = client.post(
        path,
        files={"sms_data": (None, json.dumps(VALID_SMS))},
        headers=ZOHO_AUTH,
        follow_redirects=False,
    )
    assert answer.status_code == 404
    body = answer.json()
    assert (body["status"], body["code"]) == ("ERROR", "ZVSMS-4027")
    assert body["message"] == f"POST {path}: no such API; the send path is {ZOHO_PATH}"
    assert journal(client) == []


def _java_part(charset: bytes, sms_data: bytes) -> bytes:
    """A Zoho send as Apache HttpClient's MultipartEntityBuilder writes a text body."""
    return (
        b"--JxB0und4ry\r\n"
        b'Content-Disposition: form-data; name="sms_data"\r\n'
        b"Content-Type: text/plain; charset=" + charset + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + sms_data + b"\r\n"
        b"--JxB0und4ry--\r\n"
    )


def _sms_data(text: str, codec: str) -> bytes:
    return json.dumps({**VALID_SMS, "message": text}, ensure_ascii=False).encode(codec)


@pytest.mark.parametrize(
    ("charset", "codec", "text"),
    [
        (b"ISO-8859-1", "latin-1", "Café"),
        (b"windows-1252", "cp1252", "Café €5"),
        (b'"UTF-8"', "utf-8", "Café €5"),
        (b"UTF-16", "utf-16", "Café €5"),
    ],
)
def test_a_parts_declared_charset_is_honoured(charset: bytes, codec: str, text: str) -> None:
    with make_client() as c:
        headers = {**ZOHO_AUTH, "Content-Type": "multipart/form-data; boundary=JxB0und4ry"}
        body = _java_part(charset, _sms_data(text, codec))
        answer = c.post(ZOHO_PATH, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["send"]["message"] == text
        (message,) = journal(c)
        assert message.text == text
        # The same bytes declared as another charset are read as that one, or refused.
        wrong = c.post(ZOHO_PATH, content=body.replace(charset, b"utf-32"), headers=headers)
        assert wrong.status_code == 400
        assert wrong.json()["message"].startswith("sms_data: text in utf-32, as declared (byte")


def test_an_unknown_part_charset_is_refused_by_name() -> None:
    with make_client() as c:
        headers = {**ZOHO_AUTH, "Content-Type": "multipart/form-data; boundary=JxB0und4ry"}
        for charset in (b"x-klingon", b"base64", b"unicode_escape"):
            body = _java_part(charset, _sms_data("Hi", "ascii"))
            answer = c.post(ZOHO_PATH, content=body, headers=headers)
            assert answer.status_code == 400
            message = answer.json()["message"]
            assert message.startswith("sms_data: text in a charset the mock knows (UTF-8, ")
        undeclared = c.post(
            ZOHO_PATH,
            content=_java_part(b"X", _sms_data("Café", "latin-1")).replace(b"; charset=X", b""),
            headers=headers,
        )
        assert "sms_data: UTF-8 text, as no charset is declared (byte" in undeclared.text
        assert "e.g. charset=ISO-8859-1" in undeclared.text


def test_configured_templates_send_their_text() -> None:
    settings = Settings().using(ZohoSettings(templates={"4021": "Your code is 1234."}))
    with make_client(settings) as c:
        without_message = {k: v for k, v in VALID_SMS.items() if k != "message"}
        answer = zoho_send(c, without_message, data={"templateId": "4021"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["send"]["message"] == "Your code is 1234."
        both = zoho_send(c, data={"templateId": "4021"})  # the template wins over message
        assert both.json()["send"]["message"] == "Your code is 1234."
        first, second = journal(c)
        assert first.text == second.text == "Your code is 1234."
        assert "message" not in exchange(c, first.id)["request"]["sms_data"]  # as sent
        unknown = zoho_send(c, data={"templateId": "77"})
        assert unknown.status_code == 400
        assert unknown.json()["message"] == (
            "templateId: the id of a configured template (4021; setting [zoho_voice] templates)"
        )
        assert zoho_send(c, without_message).json()["message"] == "sms_data.message: required"
        assert violations(c)[-1].field == "sms_data.message"  # not the unknown template
    # No templates configured: any positive id is accepted and changes nothing.
    with make_client() as c:
        assert zoho_send(c, data={"templateId": "77"}).json()["send"]["message"] == "Hi there!"


def test_template_settings_are_checked() -> None:
    with pytest.raises(MockServerError, match=r"\[zoho_voice\] templates maps template ids"):
        Settings().using(ZohoSettings(templates={"abc": "x"}))
    with pytest.raises(MockServerError, match=r"\[zoho_voice\] templates maps template ids"):
        Settings().using(ZohoSettings(templates={"1": ""}))


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("+4477009", "too short for +44 (GB): 5 digits after the country code"),
        ("07700900123", "a national number (it starts with 0)"),
        ("+99912345", "+999… starts with no country calling code"),
    ],
)
def test_a_refused_number_says_why(client: TestClient, number: str, reason: str) -> None:
    answer = zoho_send(client, {**VALID_SMS, "customerNumber": number})
    message = answer.json()["message"]
    assert message.startswith("sms_data.customerNumber: expected a valid international phone")
    assert f"({reason}" in message


@pytest.mark.parametrize("number", ["+447700900123", "+15555550100", "+61491570006"])
def test_fictional_numbers_are_sent_and_marked(client: TestClient, number: str) -> None:
    answer = zoho_send(client, {**VALID_SMS, "customerNumber": number})
    assert answer.status_code == 200, answer.text
    (message,) = journal(client)
    assert (message.to, message.test_number) == (number, True)
