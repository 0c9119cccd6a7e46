"""Schemathesis over the admin API's own description (``GET /_mock/openapi.json``), against
the app in-process: no 5xx, and every answer has a status, a content type and a body the
description gives for it.

Each case runs against the same known state: before it (after any call that may have changed
state: every method but GET), everything is reset and one namespace is filled with a message,
a violation, a fault rule, a callback target and a journaled push try, so the listings answer
with items and not only with empty pages.  Seeded, so the ids are the same in every run.
Hypothesis is derandomized with a bounded number of examples: the same cases run in CI as
here.

What the generated cases cannot reach (an id that exists) is in the second test: each
operation on a kept message, rule and target, checked against the same description.
"""

from __future__ import annotations

import json
from typing import Any, cast

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient, get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mockserver import Settings, create_app

from ..conftest import VALID_SMS, WORKED, ZOHO_AUTH, ZOHO_PATH

# No live receiver: a push to the discard port is refused at once and journaled as an error.
HOOK = "http://127.0.0.1:9/hook"
NS = "filled"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Longest wait a case may ask for: the description allows 60 s, a run cannot spend them.
MAX_CASE_WAIT = 0.01

app = create_app(settings=Settings(callback_attempts=2, callback_backoff_seconds=1))
schema = schemathesis.openapi.from_asgi("/_mock/openapi.json", app)
_state = {"dirty": True}


def _client() -> ASGIClient:
    # A session on the app in-process that shares schemathesis' lifespan of it (a second
    # TestClient would start a second one); its ASGI type is narrower than Starlette's.
    return get_client(cast(Any, app))


def fill(http: requests.Session) -> dict[str, str]:
    """Reset :data:`NS` and fill it again; the ids of what was made."""
    made = {}
    steps: list[tuple[str, str, str, Any]] = [
        ("", "DELETE", "/_mock/messages", None),
        ("", "POST", "/_mock/seed", {"seed": 1}),
        ("target", "POST", "/_mock/callbacks/targets", {"url": HOOK}),
        ("rule", "POST", "/_mock/faults", {"fault": "503", "match": {"text": "^never$"}}),
    ]
    for key, method, path, body in steps:
        params = {} if path == "/_mock/seed" else {"namespace": NS}
        answer = http.request(method, path, json=body, params=params)
        assert answer.status_code < 300, answer.text
        if key:
            made[key] = answer.json()[key]["id"]
    headers = {**ZOHO_AUTH, "X-Mock-Namespace": NS}
    sent = http.post(ZOHO_PATH, files={"sms_data": (None, json.dumps(VALID_SMS))}, headers=headers)
    assert sent.status_code == 200, sent.text
    made["message"] = sent.json()["send"]["logid"]
    mms: dict[str, tuple[str | None, bytes | str] | tuple[str | None, bytes | str, str]] = {
        "sms_data": (None, json.dumps({**VALID_SMS, "mms": True})),
        "mms_media": ("photo.jpg", b"\xff\xd8\xff\xe0\x00\r\n", "image/jpeg"),
    }
    sent = http.post(ZOHO_PATH, files=mms, headers=headers)
    assert sent.status_code == 200, sent.text
    made["mms"] = sent.json()["send"]["logid"]
    bad = {"sms_data": (None, json.dumps({**VALID_SMS, "mms": "yes"}))}
    assert http.post(ZOHO_PATH, files=bad, headers=headers).status_code == 400  # recorded
    forced = http.post(
        f"/_mock/messages/{made['message']}/status",
        params={"namespace": NS},
        json={"status": "failed", "reason": "test"},
    )
    assert forced.status_code == 200, forced.text
    flushed = http.post("/_mock/callbacks/flush", params={"namespace": NS}).json()
    assert flushed["attempts"], flushed  # the push was tried, and refused
    return made


def _touches_filled(case: schemathesis.Case[Any]) -> bool:
    """Whether the case may change what :func:`fill` made: a call other than GET naming
    :data:`NS`, or a reset of every namespace."""
    if case.method.upper() == "GET":
        return False
    query = case.query if isinstance(case.query, dict) else {}
    if case.path == "/_mock/messages" and case.method.upper() == "DELETE":
        return query.get("namespace") in (None, NS)
    return query.get("namespace") == NS


def _bounded_wait(case: schemathesis.Case[Any]) -> None:
    # The server-side wait is described up to 60 s (10 s when absent); a run cannot spend
    # that on every case, so any longer or absent timeout is cut to MAX_CASE_WAIT.
    if case.path == "/_mock/messages/wait" and isinstance(case.query, dict):
        raw = case.query.get("timeout")
        try:
            long = raw is None or isinstance(raw, list) or float(raw) > MAX_CASE_WAIT
        except (TypeError, ValueError):
            long = False  # not a number: refused at once
        if long:
            case.query["timeout"] = MAX_CASE_WAIT


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_admin_api(case: schemathesis.Case[Any]) -> None:
    if case.path == "/_mock/messages/{id}" and (case.path_parameters or {}).get("id") == "wait":
        return  # that path is the wait (GET /_mock/messages/wait); no message has this id
    with _client() as http:
        if _state["dirty"]:
            fill(http)
        _state["dirty"] = _touches_filled(case)
        _bounded_wait(case)
        response = case.call(session=http)
    case.validate_response(response, checks=CHECKS)


def test_every_operation_answers_as_described_on_kept_items() -> None:
    # One accepted call of every described operation, on what fill() made (the ids that
    # generated cases cannot guess), then one refused call of each that can refuse: each
    # answer is checked against the description, so a shape the fuzzer never reached
    # (a message with its submission, a journaled push try) is checked too.
    with _client() as http:
        made = fill(http)
        _state["dirty"] = True
        ns = {"namespace": NS}
        msg, rule, target = made["message"], made["rule"], made["target"]
        accepted: list[tuple[str, str, str, dict[str, Any]]] = [
            ("GET", "/_mock/health", "/_mock/health", {}),
            ("GET", "/_mock/openapi.json", "/_mock/openapi.json", {}),
            ("GET", "/_mock/messages", "/_mock/messages", {"params": {**ns, "order": "desc"}}),
            ("GET", "/_mock/messages/wait", "/_mock/messages/wait", {"params": ns}),
            ("GET", "/_mock/messages/{id}", f"/_mock/messages/{msg}", {"params": ns}),
            ("GET", "/_mock/messages/{id}", f"/_mock/messages/{made['mms']}", {"params": ns}),
            (
                "GET",
                "/_mock/messages/{id}/media/{n}",
                f"/_mock/messages/{made['mms']}/media/0",
                {"params": ns},
            ),
            (
                "POST",
                "/_mock/messages/{id}/status",
                f"/_mock/messages/{msg}/status",
                {"params": ns, "json": {"status": "delivered"}},
            ),
            ("GET", "/_mock/violations", "/_mock/violations", {"params": ns}),
            ("GET", "/_mock/clock", "/_mock/clock", {"params": ns}),
            ("POST", "/_mock/clock", "/_mock/clock", {"params": ns, "json": {"advance": "1h"}}),
            (
                "GET",
                "/_mock/contracts/{provider}/openapi.json",
                "/_mock/contracts/twosms/openapi.json",
                {},
            ),
            ("GET", "/_mock/faults", "/_mock/faults", {"params": ns}),
            ("POST", "/_mock/faults", "/_mock/faults", {"params": ns, "json": {"fault": "503"}}),
            ("DELETE", "/_mock/faults/{id}", f"/_mock/faults/{rule}", {"params": ns}),
            ("DELETE", "/_mock/faults", "/_mock/faults", {"params": ns}),
            ("GET", "/_mock/callbacks", "/_mock/callbacks", {"params": ns}),
            ("POST", "/_mock/callbacks/flush", "/_mock/callbacks/flush", {"params": ns}),
            ("GET", "/_mock/callbacks/targets", "/_mock/callbacks/targets", {"params": ns}),
            (
                "POST",
                "/_mock/callbacks/targets",
                "/_mock/callbacks/targets",
                {"params": ns, "json": {"url": HOOK, "provider": "twosms"}},
            ),
            (
                "DELETE",
                "/_mock/callbacks/targets/{id}",
                f"/_mock/callbacks/targets/{target}",
                {"params": ns},
            ),
            ("DELETE", "/_mock/callbacks/targets", "/_mock/callbacks/targets", {"params": ns}),
            ("GET", "/_mock/magic", "/_mock/magic", {}),
            ("PUT", "/_mock/rate-limit", "/_mock/rate-limit", {"params": ns, "json": {"rate": 5}}),
            ("GET", "/_mock/rate-limit", "/_mock/rate-limit", {"params": ns}),
            ("DELETE", "/_mock/rate-limit", "/_mock/rate-limit", {"params": ns}),
            ("POST", "/_mock/seed", "/_mock/seed", {"json": {"seed": 1}}),
            ("DELETE", "/_mock/messages", "/_mock/messages", {"params": ns}),
        ]
        described = {(m.upper(), p) for p, ops in schema.raw_schema["paths"].items() for m in ops}
        assert {(m, t) for m, t, _, _ in accepted} == described
        for method, template, path, kwargs in accepted:
            answer = http.request(method, path, **kwargs)
            assert answer.status_code in (200, 201), (method, path, answer.text)
            schema[template][method].validate_response(answer)
            if template == "/_mock/messages/{id}":
                assert answer.json()["submission"]["status_code"] == 200
            if template == "/_mock/messages/{id}/media/{n}":
                assert answer.content == b"\xff\xd8\xff\xe0\x00\r\n"
                assert answer.headers["content-type"] == "image/jpeg"
            if template == "/_mock/callbacks":
                assert answer.json()["attempts"][0]["outcome"] == "retrying"
        for method, template, path, _ in accepted:
            if template in ("/_mock/health", "/_mock/openapi.json", "/_mock/magic"):
                continue  # they take nothing that could be wrong
            wrong = {"json": {"seed": -1}} if template == "/_mock/seed" else {}
            bad = http.request(
                method, path.replace("twosms", "nope"), params={"colour": "red"}, **wrong
            )
            assert bad.status_code in (400, 404), (method, path, bad.text)
            schema[template][method].validate_response(bad)


def test_occurrences_of_a_recurring_send_answer_as_described() -> None:
    # A 2sms recurring send that asked for delivery receipts: its messages carry recurrence
    # and notify, which no generated case makes.
    ns = {"namespace": "recurring"}
    with _client() as http:
        assert http.post("/_mock/clock", params=ns, json={"set": "2030-03-18T08:00:00Z"}).ok
        token = http.post(
            "/Token",
            data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
        ).json()["access_token"]
        options: dict[str, Any] = {
            "RecurringOptions": {
                "RecDateToSend": "2030-03-18T08:00:00Z",
                "Range": 1,
                "OccurrencesEnd": 3,
            },
            "DeliveryReceipt": True,
            "Reference": "order-42",
        }
        sent = http.post(
            "/api/v2/sms/messages",
            json={**cast(dict[str, Any], WORKED), "Type": 2, "Options": options},
            headers={"Authorization": f"Bearer {token}", "X-Mock-Namespace": "recurring"},
        )
        assert sent.status_code == 200, sent.text
        assert http.post("/_mock/clock", params=ns, json={"advance": "7d"}).ok
        listing = http.get("/_mock/messages", params=ns)
        schema["/_mock/messages"]["GET"].validate_response(listing)
        messages = listing.json()["messages"]
        assert [m["recurrence"]["occurrence"] for m in messages] == [1, 2, 3]
        assert {m["notify"]["Reference"] for m in messages} == {"order-42"}
        one = http.get(f"/_mock/messages/{messages[-1]['id']}", params=ns)
        schema["/_mock/messages/{id}"]["GET"].validate_response(one)
        health = http.get("/_mock/health")
        schema["/_mock/health"]["GET"].validate_response(health)
        assert health.json()["lifecycle"]["occurrences"] >= 2


def test_refusals_every_operation_shares_answer_as_described() -> None:
    # 401 without the admin token (all but health and this description), 508 for a call
    # from a status push: described once for every operation by admin_openapi.document().
    guarded = create_app(settings=Settings(admin_token="s3cret"))
    with get_client(cast(Any, guarded)) as http:
        for path, methods in schema.raw_schema["paths"].items():
            concrete = path.replace("{id}", "x").replace("{provider}", "twosms")
            for method, operation in methods.items():
                unauthorized = http.request(method, concrete)
                expected = 200 if operation.get("security") == [] else 401
                assert unauthorized.status_code == expected, (method, path)
                schema[path][method].validate_response(unauthorized)
                looped = http.request(method, concrete, headers={"X-Mock-Callback": "m; attempt=1"})
                assert looped.status_code == 508, (method, path)
                schema[path][method].validate_response(looped)
