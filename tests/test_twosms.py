"""2sms: token flow, the three body formats, MessageV2 rules and computed responses."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from bench.store_bounds import twosms_body
from mockserver import Settings
from mockserver.contracts import fixtures_dir
from mockserver.providers.twosms_settings import TwoSmsSettings

from .conftest import (
    WORKED,
    assert_matches_contract,
    exchange,
    journal,
    make_client,
    violations,
)

SEND = "/api/v2/sms/messages"
OP = "twosmsSendMessagesV2"
WORKED_FORM = (
    "Contacts.QuickRecipients[%2B12345678901]=2&Content=Standard+Send+Test&Options=&Type=1"
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def token(client: TestClient, client_id: str = "acme", secret: str = "s3cret") -> str:
    response = client.post(
        "/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


def auth(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client)}"}


def send(client: TestClient, body: Any = None, **kwargs: Any) -> httpx.Response:
    headers = {**auth(client), **kwargs.pop("headers", {})}
    if "content" in kwargs:
        response: httpx.Response = client.post(SEND, headers=headers, **kwargs)
    else:
        response = client.post(SEND, json=WORKED if body is None else body, headers=headers)
    return response


def check(response: httpx.Response) -> dict[str, Any]:
    assert_matches_contract("twosms", OP, response)
    body: dict[str, Any] = response.json()
    return body


def fixture(name: str) -> Any:
    return json.loads((fixtures_dir() / "twosms" / name).read_text())


# ---------------------------------------------------------------------------- token


def test_token_is_an_owin_bearer_token(client: TestClient) -> None:
    response = client.post(
        "/Token",
        data={"grant_type": "client_credentials", "client_id": "acme", "client_secret": "x"},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 28_800
    assert len(body["access_token"]) >= 32
    assert_matches_contract("twosms", "twosmsToken", response)


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"client_id": "a", "client_secret": "b"}, "invalid_request"),
        (
            {"grant_type": "password", "client_id": "a", "client_secret": "b"},
            "unsupported_grant_type",
        ),
        (
            {"grant_type": "refresh_token", "client_id": "a", "client_secret": "b"},
            "unsupported_grant_type",
        ),
        ({"grant_type": "client_credentials", "client_secret": "b"}, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "a", "client_secret": ""},
            "invalid_client",
        ),
    ],
)
def test_token_errors(client: TestClient, form: dict[str, str], error: str) -> None:
    response = client.post("/Token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert_matches_contract("twosms", "twosmsToken", response)


def test_token_needs_a_form_body(client: TestClient) -> None:
    response = client.post("/Token", json={"grant_type": "client_credentials"})
    assert response.json()["error"] == "invalid_request"


def test_configured_clients_only() -> None:
    with make_client(Settings().using(TwoSmsSettings(clients={"acme": "right"}))) as c:
        assert (
            c.post(
                "/Token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "acme",
                    "client_secret": "right",
                },
            ).status_code
            == 200
        )
        wrong = c.post(
            "/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": "acme",
                "client_secret": "wrong",
            },
        )
    assert wrong.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-issued", "Basic abc", "bearer-token"],
)
def test_send_needs_an_issued_bearer_token(client: TestClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.post(SEND, json=WORKED, headers=headers)
    assert response.status_code == 401
    body = check(response)
    assert body["Error"]["ErrorCode"] == "Unauthorized"
    assert body["ResponseData"] is None


def test_tokens_expire_with_the_clock() -> None:
    now = [1_800_000_000.0]
    from mockserver import create_app

    with TestClient(create_app(clock=lambda: now[0])) as c:
        headers = auth(c)
        assert c.post(SEND, json=WORKED, headers=headers).status_code == 200
        now[0] += 28_800
        assert c.post(SEND, json=WORKED, headers=headers).status_code == 401


def test_the_token_cap_refuses_new_tokens_and_never_revokes_a_live_one() -> None:
    now = [1_800_000_000.0]
    from mockserver import create_app

    with TestClient(create_app(settings=Settings(max_tokens=2), clock=lambda: now[0])) as c:
        first, second = auth(c), auth(c)
        refused = c.post(
            "/Token",
            data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
        )
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "60"
        body = refused.json()
        assert body["error"] == "temporarily_unavailable"
        assert "2 live tokens are issued (setting max_tokens)" in body["error_description"]
        assert_matches_contract("twosms", "twosmsToken", refused)
        for headers in (first, second):
            assert c.post(SEND, json=WORKED, headers=headers).status_code == 200
        # Once the first two have expired they make room.
        now[0] += 28_800
        assert c.post(SEND, json=WORKED, headers=auth(c)).status_code == 200


# ---------------------------------------------------------------------------- formats


def test_worked_example_returns_the_computed_envelope(client: TestClient) -> None:
    response = send(client, fixture("worked_example_request.json"))
    assert response.status_code == 200, response.text
    body = check(response)
    assert body["Error"] is None
    data = body["ResponseData"]
    assert data["Identification"] == {"UserId": "acme"}
    detail = data["Detail"]
    (ids,) = detail["IDs"]["StandardMessageIDs"]["+12345678901"]
    assert detail["IDs"]["AdvancedMessageID"] is None
    assert {
        k: detail[k]
        for k in (
            "NoOfContacts",
            "NoOfQuickRecipients",
            "NoOfSMS",
            "NoOfEmails",
            "PreTransaction",
            "PostTransaction",
            "CreditsUsed",
            "MessageText",
        )
    } == {
        "NoOfContacts": "0",
        "NoOfQuickRecipients": "1",
        "NoOfSMS": "1",
        "NoOfEmails": "0",
        "PreTransaction": "1000",
        "PostTransaction": "999",
        "CreditsUsed": "1",
        "MessageText": "Standard Send Test",
    }
    (stored,) = journal(client, provider="twosms")
    assert (stored.id, stored.to, stored.text, stored.segments, stored.encoding) == (
        ids,
        "+12345678901",
        "Standard Send Test",
        1,
        "GSM-7",
    )
    assert exchange(client, stored.id)["headers"]["authorization"] == "Bearer ***"


def _detail_without_ids(response: httpx.Response) -> dict[str, Any]:
    detail = dict(response.json()["ResponseData"]["Detail"])
    ids = detail.pop("IDs")
    detail["recipients"] = sorted(ids["StandardMessageIDs"])
    detail.pop("PreTransaction")
    detail.pop("PostTransaction")
    return detail


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"content": json.dumps(WORKED), "headers": {"Content-Type": "text/json"}},
        {
            "content": json.dumps(WORKED),
            "headers": {"Content-Type": "application/json; charset=utf-8"},
        },
        {"content": WORKED_FORM, "headers": FORM},
        {"content": WORKED_FORM.replace("%2B", "+"), "headers": FORM},  # '+' read as space
        {
            "content": "contacts[quickrecipients][%2B12345678901]=Text&content=Standard+Send+Test"
            "&options=&type=standard",
            "headers": FORM,
        },
    ],
    ids=["text-json", "json-charset", "form", "form-unescaped-plus", "form-jquery-names"],
)
def test_every_body_format_gives_the_same_result(
    client: TestClient, request_kwargs: dict[str, Any]
) -> None:
    reference = _detail_without_ids(send(client, WORKED))
    response = send(client, **request_kwargs)
    assert response.status_code == 200, response.text
    check(response)
    assert _detail_without_ids(response) == reference


def test_unsupported_content_type_is_415(client: TestClient) -> None:
    for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x", ""):
        response = send(client, content="x", headers={"Content-Type": ctype})
        assert response.status_code == 415
        assert check(response)["Error"]["ErrorCode"] == "UnsupportedMediaType"


def test_document_sample_request(client: TestClient) -> None:
    # Verbatim, only its two placeholder QuickRecipients keys are refused ...
    reason = send(client, fixture("sample_request.json")).json()["Error"]["ErrorReason"]
    assert reason == (
        "The request is invalid. Contacts.QuickRecipients[sample string 1]: every key must be "
        "a valid international phone number with country code, e.g. +14155550100 or "
        "14155550100 ('sample string 1' is not a phone number: digits only, after an optional "
        "+); Contacts.QuickRecipients[sample string 2]: every key must be a valid "
        "international phone number with country code, e.g. +14155550100 or 14155550100 "
        "('sample string 2' is not a phone number: digits only, after an optional +)"
    )
    # ... and with numbers there it is accepted: Advanced type, template applied.
    body = check(send(client, fixture("sample_request_numbers.json")))
    detail = body["ResponseData"]["Detail"]
    assert detail["IDs"]["AdvancedMessageID"]
    assert detail["MessageText"] == "Hello sample string 2, your reference is sample string 4."
    assert detail["NoOfContacts"] == "4"  # two ContactIDs and two GroupIDs
    assert detail["NoOfQuickRecipients"] == "2"
    assert sorted(detail["IDs"]["StandardMessageIDs"]) == [
        "+12345678901",
        "+447911123456",
        "sample string 1",
        "sample string 2",
    ]


# ---------------------------------------------------------------------------- computing


@pytest.mark.parametrize(
    ("content", "recipients", "sms"),
    [("a" * 160, 1, 1), ("a" * 161, 1, 2), ("a" * 161, 3, 6), ("✓" * 71, 2, 4), ("{" * 81, 1, 2)],
)
def test_no_of_sms_is_segments_times_recipients(content: str, recipients: int, sms: int) -> None:
    numbers = ["+12345678901", "+447911123456", "+919876543210"][:recipients]
    body = {
        **WORKED,
        "Content": content,
        "Contacts": {"QuickRecipients": dict.fromkeys(numbers, 2)},
    }
    with make_client() as c:
        detail = check(send(c, body))["ResponseData"]["Detail"]
    assert detail["NoOfSMS"] == str(sms)
    assert detail["CreditsUsed"] == str(sms)
    assert int(detail["PreTransaction"]) - int(detail["PostTransaction"]) == sms


def test_email_only_recipients_cost_no_sms(client: TestClient) -> None:
    body = {**WORKED, "Contacts": {"QuickRecipients": {"+12345678901": 1, "+447911123456": 3}}}
    detail = check(send(client, body))["ResponseData"]["Detail"]
    assert (detail["NoOfSMS"], detail["NoOfEmails"]) == ("1", "2")


def test_credit_balance_runs_down_and_then_refuses() -> None:
    with make_client(Settings().using(TwoSmsSettings(starting_credits=3))) as c:
        headers = auth(c)
        long_text = {**WORKED, "Content": "a" * 200}  # 2 segments
        first = c.post(SEND, json=long_text, headers=headers).json()["ResponseData"]["Detail"]
        assert (first["PreTransaction"], first["PostTransaction"]) == ("3", "1")
        refused = c.post(SEND, json=long_text, headers=headers)
        assert refused.status_code == 400
        error = check(refused)["Error"]
        assert error["ErrorCode"] == "InsufficientCredit"
        assert "needs 2 credits; 1 are available" in error["ErrorReason"]
        assert len(journal(c)) == 1
        assert c.post(SEND, json=WORKED, headers=headers).status_code == 200  # 1 credit left


def test_case_insensitive_names_and_enum_names_bind(client: TestClient) -> None:
    body = {
        "contacts": {"quickRecipients": {"+12345678901": "Text"}},
        "CONTENT": "hi",
        "options": {"deliveryReceipt": True},
        "type": "standard",
    }
    assert check(send(client, body))["ResponseData"]["Detail"]["NoOfSMS"] == "1"
    assert violations(client) == []


def test_unknown_fields_are_ignored_but_recorded(client: TestClient) -> None:
    body = {**WORKED, "Colour": "red", "Options": {"Priority": 1}}
    assert send(client, body).status_code == 200
    assert [v.field for v in violations(client)] == ["Options.Priority", "Colour"]


def test_template_placeholders_and_unknown_template() -> None:
    templates = {"11111111-2222-3333-4444-555555555555": "Hi {1}, {2} and {9}"}
    with make_client(Settings().using(TwoSmsSettings(templates=templates))) as c:
        body = {
            **WORKED,
            "Content": "ignored",
            "Template": {
                "ID": "11111111-2222-3333-4444-555555555555",
                "PlaceHolders": {"1": "Ann", "2": "Bob"},
            },
        }
        detail = check(send(c, body))["ResponseData"]["Detail"]
        assert detail["MessageText"] == "Hi Ann, Bob and {9}"
        unknown = {**WORKED, "Template": {"ID": "99999999-2222-3333-4444-555555555555"}}
        error = check(send(c, unknown))["Error"]
    assert error == {
        "ErrorCode": "TemplateNotFound",
        "ErrorReason": "Template '99999999-2222-3333-4444-555555555555' was not found.",
    }


def test_future_date_to_send_is_stored_as_scheduled(client: TestClient) -> None:
    body = {**WORKED, "Options": {"DateToSend": "2099-01-01T10:00:00+00:00"}}
    assert send(client, body).status_code == 200
    (stored,) = journal(client)
    assert (stored.status, stored.scheduled_at) == ("scheduled", "2099-01-01T10:00:00+00:00")


def test_error_status_is_configurable() -> None:
    with make_client(Settings().using(TwoSmsSettings(error_status=200))) as c:
        response = send(c, {})
    assert response.status_code == 200
    assert response.json()["Error"]["ErrorCode"] == "InvalidRequest"


# ---------------------------------------------------------------------------- bad requests

Mutate = Callable[[dict[str, Any]], Any]


def _without(*path: str) -> Mutate:
    def apply(body: dict[str, Any]) -> Any:
        target = body
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
        return body

    return apply


def _with(**changes: Any) -> Mutate:
    return lambda body: {**body, **changes}


def _options(**changes: Any) -> Mutate:
    return lambda body: {**body, "Options": changes}


def _quick(value: Any) -> Mutate:
    return lambda body: {**body, "Contacts": {"QuickRecipients": value}}


BAD: dict[str, tuple[Mutate, str]] = {
    "not-an-object": (lambda b: [b], "(body): a JSON object (MessageV2)"),
    "missing-contacts": (_without("Contacts"), "Contacts: required"),
    "missing-options": (_without("Options"), "Options: required"),
    "missing-type": (_without("Type"), "Type: required"),
    "no-recipient": (_with(Contacts={}), "Contacts: at least one recipient"),
    "empty-quick": (_quick({}), "Contacts: at least one recipient"),
    "bad-number-key": (
        _quick({"12345": 2}),
        "Contacts.QuickRecipients[12345]: every key must be a valid international phone number",
    ),
    "quick-value-string": (
        _quick({"+12345678901": "two"}),
        "Contacts.QuickRecipients[+12345678901]: expected one of 0 (None)",
    ),
    "quick-value-out-of-enum": (
        _quick({"+12345678901": 7}),
        "Contacts.QuickRecipients[+12345678901]: expected one of 0 "
        "(None), 1 (Email), 2 (Text), 3 (EmailAndText)",
    ),
    "contacts-not-object": (_with(Contacts=[1]), "Contacts: expected a JSON object"),
    "contact-id-not-int": (
        _with(Contacts={"ContactID": {"7": "x"}}),
        "Contacts.ContactID[7]: expected a whole number (32-bit)",
    ),
    "type-out-of-enum": (
        _with(Type=5),
        "Type: expected one of 0 (Advanced), 1 (Standard), 2 (Recurring)",
    ),
    "type-unknown-name": (_with(Type="Premium"), "Type: expected one of"),
    "type-float": (_with(Type=1.5), "Type: expected one of"),
    "no-content": (_without("Content"), "Content: required (non-empty) unless Template"),
    "empty-content": (_with(Content=""), "Content: required (non-empty) unless Template"),
    "content-not-string": (_with(Content=[42]), "Content: expected a string, got an array"),
    "options-not-object": (_with(Options="none"), "Options: expected a JSON object"),
    "delivery-receipt-string": (
        _options(DeliveryReceipt="yes"),
        "Options.DeliveryReceipt: expected true or false",
    ),
    "dst-port-too-big": (_options(DstPort=2**31), "Options.DstPort: must be at most 2147483647"),
    "date-not-iso": (
        _options(DateToSend="26/10/2025"),
        "Options.DateToSend: expected an ISO-8601 date and time",
    ),
    "expiry-not-iso": (_options(ExpiryDate="tomorrow"), "Options.ExpiryDate: expected an ISO"),
    "reads-string": (_options(Reads="one"), "Options.Reads: expected a whole number"),
    "repeat-not-object": (_options(Repeat=3), "Options.Repeat: expected a JSON object"),
    "email-from-not-string": (
        _options(EmailOptions={"FromAddress": {"a": 1}}),
        "Options.EmailOptions.FromAddress: expected a string",
    ),
    "recurring-without-options": (
        _with(Type=2),
        "Options.RecurringOptions: required when Type is Recurring",
    ),
    "recurring-date-bad": (
        _options(RecurringOptions={"RecDateToSend": "x"}),
        "Options.RecurringOptions.RecDateToSend: expected an ISO",
    ),
    "template-without-id": (_with(Template={"PlaceHolders": {"1": "a"}}), "Template.ID: required"),
    "template-id-not-guid": (_with(Template={"ID": "1234"}), "Template.ID: expected a GUID"),
    "placeholder-key-not-number": (
        _with(
            Template={"ID": "86dc152b-ccbb-4be8-b283-fdd250329113", "PlaceHolders": {"name": "x"}}
        ),
        "Template.PlaceHolders[name]: every key must be text matching ^[0-9]+$",
    ),
    "placeholder-value-not-string": (
        _with(Template={"ID": "86dc152b-ccbb-4be8-b283-fdd250329113", "PlaceHolders": {"1": [5]}}),
        "Template.PlaceHolders[1]: expected a string",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_request_gets_an_envelope_error_naming_the_field(client: TestClient, case: str) -> None:
    mutate, expected = BAD[case]
    response = send(client, mutate(json.loads(json.dumps(WORKED))))
    assert response.status_code == 400, response.text
    body = check(response)
    assert body["ResponseData"] is None
    assert body["Error"]["ErrorCode"] == "InvalidRequest"
    assert expected in body["Error"]["ErrorReason"]
    assert journal(client) == []


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (b"Content=hi&Options=&Type=1", "Contacts: required"),
        (
            b"Contacts.QuickRecipients[%2B12345678901]=2&Content=hi&Options=&Type=x",
            "Type: expected one of",
        ),
        (
            b"Contacts.QuickRecipients[%2B12345678901]=2&Content=hi&Options.Reads=many&Type=1",
            "Options.Reads: expected a whole number",
        ),
        (
            b"Contacts.QuickRecipients[%2B12345678901]=2&Content=%FF&Options=&Type=1",
            "(body): UTF-8 form data",
        ),
    ],
    ids=["missing-contacts", "bad-type", "bad-int", "not-utf8"],
)
def test_bad_form_requests(client: TestClient, form: bytes, expected: str) -> None:
    response = send(client, content=form, headers=FORM)
    assert response.status_code == 400
    assert expected in check(response)["Error"]["ErrorReason"]


def test_at_least_twenty_distinct_bad_requests() -> None:
    assert len({expected for _, expected in BAD.values()}) >= 20


def test_body_not_json(client: TestClient) -> None:
    response = send(client, content=b"{not json", headers={"Content-Type": "application/json"})
    assert "(body): a JSON MessageV2 object" in check(response)["Error"]["ErrorReason"]


@pytest.mark.parametrize(
    "member",
    [
        '"Content":' + "[" * 900 + "]" * 900,
        '"Options":{"Repeat":' + "[" * 900 + "]" * 900 + "}",
        '"Bogus":' + "[" * 900 + "]" * 900,
        '"Contacts":{"QuickRecipients":{"+12345678901":' + "[" * 900 + "]" * 900 + "}}",
    ],
    ids=["known-string", "known-object", "unknown", "map-value"],
)
def test_deeply_nested_json_is_refused_not_a_crash(client: TestClient, member: str) -> None:
    body = '{"Contacts":{"QuickRecipients":{"+12345678901":2}},"Content":"x","Options":{},'
    body += '"Type":1,' + member + "}"
    response = send(client, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "(body): JSON nested at most 32 levels deep" in check(response)["Error"]["ErrorReason"]
    assert client.get("/_mock/violations").status_code == 200


def test_body_too_large() -> None:
    with make_client(Settings(max_body_bytes=50)) as c:
        response = send(c, {**WORKED, "Content": "a" * 100})
    assert "(body): a request body of at most 50 bytes" in response.json()["Error"]["ErrorReason"]


def test_credits_are_kept_per_namespace(client: TestClient) -> None:
    headers = auth(client)
    for namespace, expected in (("w1", "1000"), ("w2", "1000"), ("w1", "999")):
        response = client.post(
            SEND, json=WORKED, headers={**headers, "X-Mock-Namespace": namespace}
        )
        assert response.json()["ResponseData"]["Detail"]["PreTransaction"] == expected
    client.delete("/_mock/messages", params={"namespace": "w1"})
    again = client.post(SEND, json=WORKED, headers={**headers, "X-Mock-Namespace": "w1"})
    assert again.json()["ResponseData"]["Detail"]["PreTransaction"] == "1000"


def test_a_send_too_big_for_the_journal_is_refused_whole_and_refunded() -> None:
    three = {
        **WORKED,
        "Contacts": {
            "QuickRecipients": {"+12345678901": 2, "+447911123456": 2, "+919876543210": 2}
        },
    }
    with make_client(Settings(max_messages=2, on_full="reject")) as c:
        headers = auth(c)
        refused = c.post(SEND, json=three, headers=headers)
        assert refused.status_code == 507
        error = check(refused)["Error"]
        assert error["ErrorCode"] == "StoreFull"
        assert "this send has 3 (one message per recipient)" in error["ErrorReason"]
        assert journal(c) == []
        detail = c.post(SEND, json=WORKED, headers=headers).json()["ResponseData"]["Detail"]
        assert detail["PreTransaction"] == "1000"  # the refused send was refunded


def test_recurring_options_may_be_empty(client: TestClient) -> None:
    body = {**WORKED, "Type": 2, "Options": {"RecurringOptions": {}}}
    assert check(send(client, body))["Error"] is None


def test_unknown_members_are_recorded_with_what_was_sent(client: TestClient) -> None:
    assert send(client, {**WORKED, "Extra": [1, 2]}).status_code == 200
    (violation,) = violations(client)
    assert (violation.field, violation.sent) == ("Extra", [1, 2])


@pytest.mark.parametrize("path", [SEND, "/Token"])
def test_wrong_method_is_405_in_the_contract(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    op = OP if path == SEND else "twosmsToken"
    assert_matches_contract("twosms", op, response)


def test_parse_work_is_capped_by_count_before_parsing() -> None:
    settings = Settings(max_form_fields=10, max_json_values=12)
    with make_client(settings) as c:
        form = "&".join(f"k{i}=" for i in range(11))
        answer = send(c, content=form.encode(), headers=FORM)
        assert answer.status_code == 400
        reason = check(answer)["Error"]["ErrorReason"]
        assert "(body): a form of at most 10 fields (setting max_form_fields)" in reason
        many = {**WORKED, "Extra": list(range(10))}
        reason = check(send(c, many))["Error"]["ErrorReason"]
        assert "a JSON body of at most 12 values" in reason
        assert "max_json_values" in reason
        # At the caps, the same bodies are read as usual.
        assert send(c, content=WORKED_FORM.encode(), headers=FORM).status_code == 200
        assert send(c, WORKED).status_code == 200


def test_one_request_records_at_most_100_violations() -> None:
    with make_client() as c:
        form = "&".join(f"k{i}=" for i in range(500)) + "&" + WORKED_FORM
        assert send(c, content=form.encode(), headers=FORM).status_code == 200
        found = violations(c)
    assert len(found) == 100
    assert [v.field for v in found[:3]] == ["k0", "k1", "k2"]
    assert (found[-1].field, found[-1].sent) == ("(request)", "401 more problems")


def test_token_takes_http_basic_client_credentials() -> None:
    settings = Settings().using(TwoSmsSettings(clients={"my app": "s3cr:et"}))
    with make_client(settings) as c:
        # As curl -u and requests-oauthlib send them: each part form-encoded, then base64.
        good = base64.b64encode(b"my+app:s3cr%3Aet").decode()
        form = {"grant_type": "client_credentials"}
        answer = c.post("/Token", data=form, headers={"Authorization": f"Basic {good}"})
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        sent = c.post(SEND, json=WORKED, headers={"Authorization": f"Bearer {token}"})
        assert sent.json()["ResponseData"]["Identification"]["UserId"] == "my app"
        wrong = base64.b64encode(b"my+app:nope").decode()
        refused = c.post("/Token", data=form, headers={"Authorization": f"Basic {wrong}"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert refused.json()["error"] == "invalid_client"
        garbled = c.post("/Token", data=form, headers={"Authorization": "Basic %%%"})
        assert (garbled.status_code, garbled.json()["error"]) == (401, "invalid_client")
        assert "Basic base64(client_id:client_secret)" in garbled.json()["error_description"]


def test_token_refuses_a_secret_in_the_query_string() -> None:
    with make_client() as c:
        answer = c.post(
            "/Token?client_id=a&client_secret=b", data={"grant_type": "client_credentials"}
        )
        assert answer.status_code == 400
        body = answer.json()
        assert body["error"] == "invalid_request"
        assert "must not be sent in the URL query string" in body["error_description"]
        (violation,) = violations(c)
        assert (violation.field, violation.sent) == ("client_secret", "(in the URL query string)")


@pytest.mark.parametrize("path", [SEND + "/", "/api/v2/SMS/messages", "/api/v3/sms/messages"])
def test_a_near_miss_path_gets_the_envelope_404_not_a_redirect(
    client: TestClient, path: str
) -> None:
    answer = client.post(path, json=WORKED, headers=auth(client), follow_redirects=False)
    assert answer.status_code == 404
    error = answer.json()["Error"]
    assert error["ErrorCode"] == "NotFound"
    assert error["ErrorReason"].startswith(
        f"No HTTP resource was found that matches the request URI '{path}'."
    )
    assert ("Did you mean /api/v2/sms/messages?" in error["ErrorReason"]) == ("v3" not in path)
    assert journal(client) == []
    slash = client.post("/Token/", data={"grant_type": "client_credentials"})
    assert (slash.status_code, slash.json()["error"]) == (404, "invalid_request")


@pytest.mark.parametrize(
    ("accept", "answered"),
    [
        (None, "application/json"),
        ("text/json", "text/json"),
        ("text/*", "text/json"),
        ("application/json;q=0.4, text/json", "text/json"),
        ("text/json;q=0.5, application/json", "application/json"),
        ("application/xml", "application/json"),  # no formatter matches: the first, not 406
        ("text/json;q=0, */*", "application/json"),
    ],
)
def test_the_accept_header_picks_a_documented_response_format(
    client: TestClient, accept: str | None, answered: str
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    for body in (WORKED, {}):  # a success and an error alike
        answer = send(client, body, headers=headers)
        assert answer.headers["content-type"] == f"{answered}; charset=utf-8"
        check(answer)


def test_a_latin_1_form_with_its_charset_is_read_in_it(client: TestClient) -> None:
    # Apache HttpClient's UrlEncodedFormEntity, default charset: percent-escapes in Latin-1.
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"}
    body = WORKED_FORM.replace("Standard+Send+Test", "Caf%E9").encode()
    answer = send(client, content=body, headers=headers)
    assert check(answer)["ResponseData"]["Detail"]["MessageText"] == "Café"
    raw = WORKED_FORM.replace("Standard+Send+Test", "Caf\xe9").encode("latin-1")
    answer = send(client, content=raw, headers=headers)
    assert check(answer)["ResponseData"]["Detail"]["MessageText"] == "Café"
    undeclared = send(client, content=body, headers=FORM)
    reason = check(undeclared)["Error"]["ErrorReason"]
    assert "(body): UTF-8 form data, as no charset is declared (a percent-escape is not" in reason


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-8", "iso-8859-1"])
def test_a_json_body_is_read_in_its_declared_charset(client: TestClient, codec: str) -> None:
    body = json.dumps({**WORKED, "Content": "Café"}, ensure_ascii=False).encode(codec)
    headers = {"Content-Type": f"application/json; charset={codec}"}
    answer = send(client, content=body, headers=headers)
    assert check(answer)["ResponseData"]["Detail"]["MessageText"] == "Café"
    text_json = send(client, content=body, headers={"Content-Type": f"text/json; charset={codec}"})
    assert text_json.status_code == 200
    # ASP.NET's JSON formatter reads UTF-8 and UTF-16 only: another charset is recorded.
    recorded = [v.field for v in violations(client)]
    assert recorded == ([] if codec.startswith("utf") else ["Content-Type", "Content-Type"])


def test_an_unknown_body_charset_is_refused_by_name(client: TestClient) -> None:
    for ctype in ("application/json; charset=x-klingon", f"{FORM['Content-Type']}; charset=rot13"):
        answer = send(client, content=json.dumps(WORKED).encode(), headers={"Content-Type": ctype})
        assert answer.status_code == 400
        reason = check(answer)["Error"]["ErrorReason"]
        assert "(body): " in reason
        assert "in a charset the mock knows" in reason
    garbled = send(
        client,
        content=b'{"Content": "\xff"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert (
        "(body): JSON in utf-8, as declared (byte 13 is not"
        in check(garbled)["Error"]["ErrorReason"]
    )


def test_misspelt_members_are_suggested_and_named_when_they_cause_a_refusal(
    client: TestClient,
) -> None:
    body = {**WORKED, "Options": {"DelivryReceipt": True}}
    body["Contnet"] = body.pop("Content")
    reason = check(send(client, body))["Error"]["ErrorReason"]
    assert reason == (
        "The request is invalid. Options.DelivryReceipt: an unknown key `DelivryReceipt` "
        "(ignored); did you mean `DeliveryReceipt`?; Contnet: an unknown key `Contnet` "
        "(ignored); did you mean `Content`?; Content: required (non-empty) unless Template is "
        "given"
    )
    form = WORKED_FORM.replace("Content=", "Contnet=") + "&Options[DelivryReceipt]=true"
    reason = check(send(client, content=form.encode(), headers=FORM))["Error"]["ErrorReason"]
    assert "Options[DelivryReceipt]: an unknown key `DelivryReceipt` (ignored); did you" in reason
    assert send(client, {**WORKED, "Sender": "x"}).status_code == 200
    assert violations(client)[-1].expected == "not a field of MessageV2 (ignored)"


def test_form_values_are_quoted_in_type_errors(client: TestClient) -> None:
    form = WORKED_FORM + "&Options.DstPort=eighty"
    reason = check(send(client, content=form.encode(), headers=FORM))["Error"]["ErrorReason"]
    assert "Options.DstPort: expected a whole number (32-bit), got 'eighty'" in reason


def test_json_net_leniency_is_accepted_and_recorded(client: TestClient) -> None:
    # Json.NET's JsonTextReader reads single quotes, unquoted names, comments and trailing
    # commas; ASP.NET binds the body, so 2sms would accept it. Other readers would not.
    body = (
        b"{'Contacts': {'QuickRecipients': {'+12345678901': 2,},}, Content: 'Standard Send "
        b"Test', /* a comment */ 'Options': {}, 'Type': 1,}"
    )
    answer = send(client, content=body, headers={"Content-Type": "application/json"})
    assert check(answer)["ResponseData"]["Detail"]["MessageText"] == "Standard Send Test"
    (violation,) = violations(client)
    assert violation.field == "(body)"
    assert violation.expected.startswith("strict JSON (RFC 8259): Json.NET, and so 2sms, also")
    broken = send(client, content=b'{"Type": 1', headers={"Content-Type": "application/json"})
    assert "(body): a JSON MessageV2 object (unexpected end of data" in broken.text


def test_every_scalar_binds_by_one_rule(client: TestClient) -> None:
    # As Json.NET converts: numeric text into integers (enums included), true/false text into
    # booleans, numbers and booleans into strings; each is accepted and recorded.
    body = {
        "Contacts": {"QuickRecipients": {"+12345678901": "2"}},
        "Content": 42,
        "Options": {"DstPort": " 1 ", "DeliveryReceipt": "True", "Reference": True},
        "Type": "1",
    }
    answer = send(client, body)
    assert check(answer)["ResponseData"]["Detail"]["MessageText"] == "42"
    found = {v.field: (v.sent, v.expected.split(" (")[0]) for v in violations(client)}
    assert found == {
        "Contacts.QuickRecipients[+12345678901]": ("2", "a JSON number"),
        "Content": (42, "a JSON string"),
        "Options.DstPort": (" 1 ", "a JSON number"),
        "Options.DeliveryReceipt": ("True", "a JSON boolean"),
        "Options.Reference": (True, "a JSON string"),
        "Type": ("1", "a JSON number"),
    }
    (message,) = journal(client)
    request = exchange(client, message.id)["request"]
    assert request["Options"]["DstPort"] == 1
    assert request["Options"]["Reference"] == "true"
    # Member names of an enum are how the help page names them: bound, not recorded.
    assert send(client, {**WORKED, "Type": "standard"}).status_code == 200
    assert len(violations(client)) == len(found)
    for bad in ({"DstPort": "1.5"}, {"DeliveryReceipt": "yes"}):
        refused = send(client, {**WORKED, "Options": bad})
        assert refused.status_code == 400, bad


def test_form_dictionary_entries_need_brackets_and_an_encoded_plus(client: TestClient) -> None:
    dotted = b"Contacts.QuickRecipients.%2B12345678901=2&Content=x&Options=&Type=1"
    reason = check(send(client, content=dotted, headers=FORM))["Error"]["ErrorReason"]
    assert reason.startswith(
        "The request is invalid. Contacts.QuickRecipients.+12345678901: a dictionary entry "
        "written Contacts.QuickRecipients[+12345678901] (ASP.NET binds no"
    )
    bare = b"Contacts.QuickRecipients[+12345678901]=2&Content=x&Options=&Type=1"
    assert send(client, content=bare, headers=FORM).status_code == 200  # read as ASP.NET does
    plus = violations(client)[-1]
    assert plus.field == "Contacts.QuickRecipients[ 12345678901]"
    assert plus.expected.startswith("a key whose + is percent-encoded as %2B: a bare + in form")


def test_a_send_of_many_new_numbers_is_checked_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 300 new numbers, about 6 KB: each costs phonenumbers about 85 us, so on the event loop
    # they would hold up every other client for 25 ms.
    import asyncio

    from mockserver import sms

    on_loop: list[bool] = []
    check = sms.check_number

    def recorded(raw: str) -> sms.Number | None:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return check(raw)

    monkeypatch.setattr(sms, "check_number", recorded)
    numbers = [f"+1303{2_000_000 + n:07d}" for n in range(300)]
    with make_client(Settings(number_processes=0)) as client:
        response = client.post(SEND, json=twosms_body(numbers), headers=auth(client))
    assert response.status_code == 200, response.text
    assert len(on_loop) >= 300
    assert not any(on_loop)


@pytest.mark.parametrize(("processes", "area"), [(0, "505"), (2, "602")])
def test_a_large_send_answers_the_same_with_or_without_helper_processes(
    processes: int, area: str
) -> None:
    numbers = [f"+1{area}{2_000_000 + n:07d}" for n in range(1_100)]
    bad = f"+1{area}0000000"  # exchange 0xx: not a valid NANP number
    with make_client(Settings(number_processes=processes)) as client:
        refused = client.post(SEND, json=twosms_body([*numbers, bad]), headers=auth(client))
        assert refused.status_code == 400
        assert f"Contacts.QuickRecipients[{bad}]" in refused.text
        assert refused.text.count("QuickRecipients[") == 1
        sent = client.post(SEND, json=twosms_body(numbers), headers=auth(client))
        assert sent.status_code == 200, sent.text
        assert sent.json()["ResponseData"]["Detail"]["NoOfQuickRecipients"] == "1100"
        kept = journal(client, to=numbers[-1])
        assert [(m.to, m.country) for m in kept] == [(numbers[-1], "us")]
