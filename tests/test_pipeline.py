"""The one request pipeline: namespaces, the violation policy and the fault seams, checked
on both providers through HTTP."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.errors import Reject
from mockserver.exchange import Answer, Hooks, Outcome, Point
from mockserver.providers.twosms_settings import TwoSmsSettings
from mockserver.providers.zoho_settings import ZohoSettings

from .conftest import (
    VALID_SMS,
    WORKED,
    ZOHO_AUTH,
    ZOHO_NAMESPACE,
    ZOHO_PATH,
    journal,
    violations,
)

TWOSMS = "/api/v2/sms/messages"


def bearer(c: TestClient, client_id: str = "acme") -> dict[str, str]:
    answer = c.post(
        "/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "s"},
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def zoho(c: TestClient, sms: Any = None, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", {**ZOHO_AUTH, "X-Mock-Namespace": "n"})
    files = kwargs.pop("files", {"sms_data": (None, json.dumps(VALID_SMS if sms is None else sms))})
    response: httpx.Response = c.post(ZOHO_PATH, headers=headers, files=files, **kwargs)
    return response


def twosms(c: TestClient, body: Any = None, **kwargs: Any) -> httpx.Response:
    headers = {**bearer(c), "X-Mock-Namespace": "n", **kwargs.pop("headers", {})}
    if "content" not in kwargs:
        kwargs["json"] = WORKED if body is None else body
    response: httpx.Response = c.post(TWOSMS, headers=headers, **kwargs)
    return response


# Every kind of bad request, for each provider: what is sent, the HTTP status, and the field
# the recorded violation names.
BAD: dict[str, Callable[[TestClient], httpx.Response]] = {
    "zoho: no token": lambda c: zoho(c, headers={"X-Mock-Namespace": "n"}),
    "zoho: placeholder token": lambda c: zoho(
        c, headers={"Authorization": "Zoho-oauthtoken undefined", "X-Mock-Namespace": "n"}
    ),
    "zoho: wrong content type": lambda c: c.post(
        ZOHO_PATH,
        headers={**ZOHO_AUTH, "X-Mock-Namespace": "n"},
        json={"sms_data": VALID_SMS},
    ),
    "zoho: bad body": lambda c: c.post(
        ZOHO_PATH,
        headers={
            **ZOHO_AUTH,
            "X-Mock-Namespace": "n",
            "Content-Type": "multipart/form-data; boundary=B",
        },
        content=b"--B\r\nnot a part\r\n",
    ),
    "zoho: bad field": lambda c: zoho(c, {**VALID_SMS, "customerNumber": 16502530000}),
    "zoho: business rule": lambda c: zoho(c, {**VALID_SMS, "mms": True}),
    "2sms: no token": lambda c: c.post(TWOSMS, json=WORKED, headers={"X-Mock-Namespace": "n"}),
    "2sms: wrong content type": lambda c: twosms(
        c, content=b"hello", headers={"Content-Type": "text/plain"}
    ),
    "2sms: bad body": lambda c: twosms(
        c, content=b"{not json", headers={"Content-Type": "application/json"}
    ),
    "2sms: bad field": lambda c: twosms(c, {**WORKED, "Type": "one"}),
    "2sms: business rule": lambda c: twosms(c, {**WORKED, "Content": ""}),
}
EXPECTED = {
    "zoho: no token": (401, "Authorization"),
    "zoho: placeholder token": (401, "Authorization"),
    "zoho: wrong content type": (400, "Content-Type"),
    "zoho: bad body": (400, "(body)"),
    "zoho: bad field": (400, "sms_data.customerNumber"),
    "zoho: business rule": (400, "mms_media"),
    "2sms: no token": (401, "Authorization"),
    "2sms: wrong content type": (415, "Content-Type"),
    "2sms: bad body": (400, "(body)"),
    "2sms: bad field": (400, "Type"),
    "2sms: business rule": (400, "Content"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_every_kind_of_bad_request_records_a_violation_in_one_shape(case: str) -> None:
    status, field = EXPECTED[case]
    with TestClient(create_app()) as c:
        response = BAD[case](c)
        assert response.status_code == status, response.text
        assert journal(c) == []
        found = violations(c, namespace="n")
    assert [v.field for v in found] == [field]
    (violation,) = found
    assert violation.provider == ("zoho_voice" if case.startswith("zoho") else "twosms")
    assert violation.operation in {"zohoVoiceSendSmsV2", "twosmsSendMessagesV2"}
    assert violation.expected
    if field == "Authorization":  # never a credential: nothing, or a placeholder
        assert violation.sent in (None, "Zoho-oauthtoken undefined")


def test_refusals_caused_by_state_are_not_contract_violations() -> None:
    settings = Settings().using(
        ZohoSettings(accepted_tokens=frozenset({"good"})), TwoSmsSettings(starting_credits=0)
    )
    with TestClient(create_app(settings=settings)) as c:
        assert zoho(c).status_code == 401  # a well-formed token the mock was told to refuse
        expired = {"Authorization": "Bearer no-such-token", "X-Mock-Namespace": "n"}
        assert c.post(TWOSMS, json=WORKED, headers=expired).status_code == 401
        assert twosms(c).json()["Error"]["ErrorCode"] == "InsufficientCredit"
        assert violations(c) == []


def test_an_oversized_body_gets_each_providers_error_and_is_recorded() -> None:
    with TestClient(create_app(settings=Settings(max_body_bytes=1000))) as c:
        big = {**VALID_SMS, "message": "x" * 2000}
        answer = zoho(c, big)
        assert answer.status_code == 400
        assert answer.json()["code"] == "ZVSMS-4027"
        assert "a request body of at most 1000 bytes" in answer.json()["message"]
        answer = twosms(c, {**WORKED, "Content": "x" * 2000})
        assert answer.status_code == 400
        assert answer.json()["Error"]["ErrorCode"] == "InvalidRequest"
        assert [v.field for v in violations(c)] == ["(body)", "(body)"]


def test_the_namespace_comes_from_the_header_else_the_credential() -> None:
    with TestClient(create_app()) as c:
        headers = bearer(c, "acme")
        assert c.post(TWOSMS, json=WORKED, headers=headers).status_code == 200
        assert c.post(ZOHO_PATH, headers=ZOHO_AUTH, files={"sms_data": (None, "{}")}).is_error
        assert zoho(c, headers=ZOHO_AUTH).status_code == 200
        assert zoho(c).status_code == 200  # X-Mock-Namespace: n
        assert [m.namespace for m in journal(c)] == ["twosms:acme", ZOHO_NAMESPACE, "n"]
        assert [v.namespace for v in violations(c)] == [ZOHO_NAMESPACE] * 3


def _app_with(hooks: Callable[[Hooks], None]) -> TestClient:
    app = create_app()
    hooks(app.state.hooks)
    return TestClient(app)


def test_a_pre_fault_hook_answers_in_each_providers_own_shape() -> None:
    seen: list[tuple[str, str, str]] = []

    async def throttle(point: Point) -> Reject | Answer | None:
        seen.append((point.operation.provider, point.operation.id, point.namespace))
        if point.operation.id == "twosmsToken":
            return None
        return Reject("unauthorized", violation=False)

    with _app_with(lambda h: h.pre.append(throttle)) as c:
        zoho_answer = zoho(c)
        twosms_answer = twosms(c)
        assert journal(c) == []
    assert (zoho_answer.status_code, zoho_answer.json()["code"]) == (401, "INVALID_OAUTHTOKEN")
    assert twosms_answer.status_code == 401
    assert twosms_answer.json()["Error"]["ErrorCode"] == "Unauthorized"
    assert seen == [
        ("zoho_voice", "zohoVoiceSendSmsV2", "n"),
        ("twosms", "twosmsToken", "default"),
        ("twosms", "twosmsSendMessagesV2", "n"),
    ]


def test_a_pre_fault_hook_may_answer_any_bytes() -> None:
    async def outage(point: Point) -> Reject | Answer | None:
        return Answer(503, b'{"message":"Service Unavailable"}', (("Retry-After", "1"),))

    with _app_with(lambda h: h.pre.append(outage)) as c:
        for answer in (zoho(c), c.post(TWOSMS, json=WORKED)):
            assert answer.status_code == 503
            assert answer.headers["retry-after"] == "1"
            assert answer.json() == {"message": "Service Unavailable"}
        assert journal(c) == []


def test_a_post_fault_hook_sees_the_outcome_and_may_change_or_refuse_it() -> None:
    async def mark(point: Point, outcome: Outcome) -> Reject | Answer | Outcome | None:
        if outcome.submission is None:  # POST /Token stores nothing
            return None
        if "refuse" in outcome.submission.text:
            return Reject("no_route", detail="the carrier is down")
        outcome.submission.recipients = tuple(
            dataclasses.replace(r, status="failed") for r in outcome.submission.recipients
        )
        return outcome

    with _app_with(lambda h: h.post.append(mark)) as c:
        assert zoho(c).status_code == 200
        assert twosms(c).status_code == 200
        refused = twosms(c, {**WORKED, "Content": "please refuse"})
        assert refused.json()["Error"] == {
            "ErrorCode": "NoRoute",
            "ErrorReason": "the carrier is down",
        }
        refused = zoho(c, {**VALID_SMS, "message": "please refuse"})
        assert refused.json()["code"] == "ZVSMS-4027"
        assert "the carrier is down" in refused.json()["message"]
        assert [m.status for m in journal(c)] == ["failed", "failed"]
        # Refused after the credits were spent: they were given back.
        detail = twosms(c).json()["ResponseData"]["Detail"]
        assert detail["PreTransaction"] == "999"  # 1000, less the one send kept


@pytest.mark.parametrize(
    ("path", "header"),
    [
        (ZOHO_PATH, "1000.SECRETZOHOTOKEN"),
        (ZOHO_PATH, "Zoho-oauthtoken\tSECRETZOHOTOKEN"),
        (TWOSMS, "SECRET2SMSTOKEN"),
        (TWOSMS, "1000.SECRET2SMSTOKEN more"),
    ],
)
def test_a_credential_sent_without_its_scheme_is_never_kept(path: str, header: str) -> None:
    with TestClient(create_app()) as c:
        answer = c.post(path, headers={"Authorization": header}, content=b"{}")
        assert answer.status_code == 401
        kept = c.get("/_mock/violations").text
    (violation,) = json.loads(kept)["violations"]
    assert violation["field"] == "Authorization"
    assert violation["sent"] == "***"
    assert "SECRET" not in kept


def test_the_content_type_is_judged_before_the_body_is_read() -> None:
    with TestClient(create_app(settings=Settings(max_body_bytes=1000))) as c:
        big = b"x" * 2000
        plain = {"Content-Type": "text/plain", "X-Mock-Namespace": "n"}
        answer = c.post(TWOSMS, content=big, headers={**bearer(c), **plain})
        assert answer.status_code == 415
        answer = c.post(ZOHO_PATH, content=big, headers={**ZOHO_AUTH, **plain})
        assert answer.status_code == 400
        assert answer.json()["message"].startswith("Content-Type: multipart/form-data")
        assert [v.field for v in violations(c, namespace="n")] == ["Content-Type"] * 2


def test_test_numbers_are_sent_and_marked_unless_a_setting_refuses_them() -> None:
    with TestClient(create_app()) as c:
        assert zoho(c, {**VALID_SMS, "customerNumber": "+447700900123"}).status_code == 200
        body = {**WORKED, "Contacts": {"QuickRecipients": {"+15555550100": 2}}}
        assert twosms(c, body).status_code == 200
        marked = [(m.to, m.test_number) for m in journal(c)]
    assert marked == [("+447700900123", True), ("+15555550100", True)]
    with TestClient(create_app(settings=Settings(accept_test_numbers=False))) as c:
        refused = zoho(c, {**VALID_SMS, "customerNumber": "+447700900123"})
        assert refused.status_code == 400
        assert "accept_test_numbers = false" in refused.json()["message"]
        refused = twosms(c, body)
        assert "Contacts.QuickRecipients[+15555550100]" in refused.json()["Error"]["ErrorReason"]
        assert journal(c) == []
        assert violations(c) == []  # the mock's setting, not the contract
