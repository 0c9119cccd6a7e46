"""Faults: the grammar, each kind, rule schedules, the header, magic numbers and the seed."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import MockServer, Settings
from mockserver.faults import FaultError, parse_fault

from .conftest import (
    VALID_SMS,
    WORKED,
    ZOHO_AUTH,
    ZOHO_PATH,
    exchange,
    journal,
    make_client,
    zoho_send,
)

SEND = "/api/v2/sms/messages"


def two_sms(client: TestClient, body: Any = None, **headers: str) -> httpx.Response:
    token = client.post(
        "/Token", data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}
    ).json()["access_token"]
    response: httpx.Response = client.post(
        SEND,
        json=WORKED if body is None else body,
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    return response


def rule(client: TestClient, namespace: str, **data: Any) -> dict[str, Any]:
    answer = client.post("/_mock/faults", params={"namespace": namespace}, json=data)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()["rule"]
    return found


# ---------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "an empty fault"),
        ("latency=fast", "is not a duration like 200ms"),
        ("latency=uniform(1s)", "uniform() takes two durations"),
        ("latency=uniform(2s,1s)", "needs low <= high"),
        ("latency=90s", "at most 60 s"),
        ("status=abc", "status takes a whole number"),
        ("status=999", "an HTTP status from 200 to 599"),
        ("colour=red", "unknown setting 'colour'"),
        ("503; zvsms-4038", "one answer (an error, an outage, …) per fault"),
        ("$$", "is not a fault"),
        # Digits of other scripts pass str.isdigit(), re's \\d and int(): refused, as
        # are numbers too long for int() (which once answered 500).
        ("status=\u0665\u0660\u0660", "status takes a whole number (ASCII digits)"),
        ("retry-after=" + "9" * 5000, "retry-after takes a whole number"),
        ("retry-after=86401", "retry-after is at most 86400 seconds"),
        ("\u0665\u0660\u0663", "is not a fault"),
        ("latency=\u0661s", "is not a duration like 200ms"),
        ("latency=" + "9" * 400 + "ms", "is not a duration like 200ms"),
    ],
)
def test_a_bad_fault_says_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(FaultError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_fault(text)


def test_the_grammar_reads_every_kind() -> None:
    assert parse_fault("ZVSMS-4038").error == "zvsms-4038"
    assert parse_fault("502").outage == 502
    throttle = parse_fault("throttle; retry-after=5; status=503")
    assert (throttle.throttle, throttle.retry_after, throttle.status) == (True, 5, 503)
    latency = parse_fault("latency=normal(200ms,50ms); 503").latency
    assert latency is not None
    assert (latency.kind, latency.a, latency.b) == ("normal", 0.2, 0.05)
    assert parse_fault("latency=1.5s").latency == parse_fault("latency=1500ms").latency


# ---------------------------------------------------------------------------- kinds


def test_provider_errors_in_each_providers_shape(client: TestClient) -> None:
    zoho = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": "zvsms-4038"})
    assert (zoho.status_code, zoho.json()["code"]) == (400, "ZVSMS-4038")
    auth = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": "INVALID_OAUTHTOKEN"})
    assert (auth.status_code, auth.json()["code"]) == (401, "INVALID_OAUTHTOKEN")
    credit = two_sms(client, **{"X-Mock-Fault": "InsufficientCredit; status=402"})
    assert credit.status_code == 402
    assert credit.json()["Error"]["ErrorCode"] == "InsufficientCredit"
    invalid = two_sms(client, **{"X-Mock-Fault": "invalid_request"})
    assert invalid.json()["Error"] == {
        "ErrorCode": "InvalidRequest",
        "ErrorReason": "The request is invalid.",
    }
    assert journal(client) == []  # a faulted request is not a sent message


def test_a_faulted_2sms_send_refunds_its_credits(client: TestClient) -> None:
    two_sms(client, **{"X-Mock-Fault": "503"})
    detail = two_sms(client).json()["ResponseData"]["Detail"]
    assert detail["PreTransaction"] == "1000"


def test_outages_answer_as_a_gateway_does(client: TestClient) -> None:
    for status, title in ((500, "Internal Server Error"), (502, "Bad Gateway")):
        answer = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": str(status)})
        assert answer.status_code == status
        assert answer.headers["content-type"] == "text/html"
        assert f"<title>{status} {title}</title>" in answer.text
        assert "<center>nginx</center>" in answer.text


def test_throttling_is_429_with_retry_after(client: TestClient) -> None:
    answer = two_sms(client, **{"X-Mock-Fault": "throttle; retry-after=7"})
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "7")
    assert answer.json()["Error"]["ErrorCode"] == "RateLimited"
    default = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": "throttle"})
    assert (default.status_code, default.headers["retry-after"]) == (429, "1")


def test_latency_delays_and_then_answers(client: TestClient) -> None:
    started = time.monotonic()
    answer = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": "latency=300ms"})
    assert time.monotonic() - started >= 0.3
    assert answer.status_code == 200
    (message,) = journal(client)  # latency alone: the send goes through, the fault noted
    assert exchange(client, message.id)["faults"] == ["latency=300ms (header)"]


def test_faults_apply_after_validation(client: TestClient) -> None:
    bad = zoho_send(
        client, {**VALID_SMS, "message": ""}, headers={**ZOHO_AUTH, "X-Mock-Fault": "503"}
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "ZVSMS-4027")
    bad_header = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": "503; 502"})
    assert bad_header.status_code == 400
    assert bad_header.json()["message"].startswith("X-Mock-Fault: '503; 502': one answer")


# ---------------------------------------------------------------------------- rules


def test_fail_the_next_two_then_succeed_seen_by_a_retrying_client() -> None:
    with MockServer() as mock:
        sms = mock.namespace()
        added = httpx.post(
            mock.url + "/_mock/faults",
            params={"namespace": sms.namespace},
            json={"fault": "503", "when": {"next": 2}},
        )
        assert added.status_code == 201
        statuses = []
        with httpx.Client() as http:
            for _attempt in range(5):  # a client retrying 503s, as one with backoff would
                answer = http.post(
                    sms.url + ZOHO_PATH,
                    headers=ZOHO_AUTH,
                    files={"sms_data": (None, json.dumps(VALID_SMS))},
                )
                statuses.append(answer.status_code)
                if answer.status_code != 503:
                    break
        assert statuses == [503, 503, 200]
        assert len(sms.messages()) == 1
        listed = httpx.get(mock.url + "/_mock/faults", params={"namespace": sms.namespace}).json()
        (found,) = listed["rules"]
        assert (found["seen"], found["hits"]) == (3, 2)
        assert [f["source"] for f in listed["fired"]] == [f"rule {found['id']}"] * 2


def _statuses(client: TestClient, namespace: str, n: int) -> list[int]:
    headers = {**ZOHO_AUTH, "X-Mock-Namespace": namespace}
    return [zoho_send(client, headers=headers).status_code for _ in range(n)]


def test_every_after_and_sequence_schedules(client: TestClient) -> None:
    rule(client, "every", fault="503", when={"every": 3})
    assert _statuses(client, "every", 6) == [200, 200, 503, 200, 200, 503]
    rule(client, "after", fault="502", when={"after": 2})
    assert _statuses(client, "after", 4) == [200, 200, 502, 502]
    rule(client, "seq", when={"sequence": ["503", "zvsms-4038", "ok", "500"]})
    assert _statuses(client, "seq", 5) == [503, 400, 200, 500, 200]


def test_for_seconds_follows_the_namespace_clock() -> None:
    now = [1_900_000_000.0]
    with make_client() as c:
        c.app.state.runtime.use_clock("timed", lambda: now[0])  # type: ignore[attr-defined]
        rule(c, "timed", fault="503", when={"for_seconds": 60})
        assert _statuses(c, "timed", 1) == [503]
        now[0] += 61
        assert _statuses(c, "timed", 1) == [200]


def test_rules_match_by_recipient_sender_and_text(client: TestClient) -> None:
    rule(client, "m", fault="zvsms-4038", match={"to": r"^\+44", "text": "promo"})
    headers = {**ZOHO_AUTH, "X-Mock-Namespace": "m"}
    uk = {**VALID_SMS, "customerNumber": "+447911123456", "message": "big promo"}
    assert zoho_send(client, uk, headers=headers).status_code == 400
    assert zoho_send(client, {**uk, "message": "hello"}, headers=headers).status_code == 200
    assert zoho_send(client, {**VALID_SMS, "message": "promo"}, headers=headers).status_code == 200
    assert two_sms(client, **{"X-Mock-Namespace": "m"}).status_code == 200  # +1 recipient
    rule(client, "p", fault="503", match={"provider": "twosms"})
    assert zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Namespace": "p"}).status_code == 200
    assert two_sms(client, **{"X-Mock-Namespace": "p"}).status_code == 503


@pytest.mark.parametrize(
    "pattern",
    [
        "a{4294967296}",  # a repeat beyond the engine's: OverflowError, once a 500
        "(" * 900 + ")" * 900,  # deeper than the compiler recurses: RecursionError
        "x" * 1001,  # longer than MAX_PATTERN
        "(?i)a(?i)",
    ],
)
def test_a_pathological_regex_is_refused_naming_the_key(client: TestClient, pattern: str) -> None:
    answer = client.post("/_mock/faults", json={"fault": "503", "match": {"text": pattern}})
    assert answer.status_code == 400, answer.text
    assert "match.text:" in answer.json()["error"]


def test_rule_counts_may_be_sent_as_whole_floats(client: TestClient) -> None:
    assert rule(client, "float", fault="503", when={"next": 2.0})["when"] == {"next": 2}
    assert _statuses(client, "float", 3) == [503, 503, 200]
    half = client.post("/_mock/faults", json={"fault": "503", "when": {"next": 1.5}})
    assert "when.next is a whole number >= 1" in half.json()["error"]


def test_probability_replays_with_the_seed() -> None:
    def run() -> list[int]:
        with make_client() as c:
            assert c.post("/_mock/seed", json={"seed": 42}).json() == {"seed": 42}
            rule(c, "chaos", fault="503", when={"probability": 0.5})
            return _statuses(c, "chaos", 30)

    first, second = run(), run()
    assert first == second
    assert 5 < first.count(503) < 25


def test_rules_are_listed_deleted_and_reset(client: TestClient) -> None:
    one = rule(client, "x", fault="503")
    rule(client, "x", fault="502")
    assert client.delete(f"/_mock/faults/{one['id']}", params={"namespace": "x"}).json() == {
        "deleted": 1
    }
    assert client.delete("/_mock/faults/nope", params={"namespace": "x"}).status_code == 404
    assert _statuses(client, "x", 1) == [502]
    client.delete("/_mock/messages", params={"namespace": "x"})  # reset takes the rules too
    assert client.get("/_mock/faults", params={"namespace": "x"}).json()["rules"] == []
    assert _statuses(client, "x", 1) == [200]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"when": {"next": 1}}, "a rule needs a fault"),
        ({"fault": "503", "when": {"next": 0}}, "when.next is a whole number >= 1"),
        ({"fault": "503", "when": {"soon": 1}}, "when is one of"),
        ({"fault": "503", "when": {"probability": 2}}, "from 0 to 1"),
        ({"fault": "503", "match": {"to": "("}}, "match.to: not a regex"),
        ({"fault": "503", "match": {"colour": "red"}}, "match takes"),
        ({"fault": "bogus fault"}, "is not a fault"),
        ({"fault": "503", "extra": 1}, "unknown rule key"),
        ({"fault": "503", "when": []}, "when is one of"),
        ({"fault": "503", "when": {"next": True}}, "when.next is a whole number"),
        ({"fault": "503", "match": {"to": 5}}, "each a string"),
        ({"when": {"sequence": [None]}}, "every step of a sequence"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_key(
    client: TestClient, data: dict[str, Any], message: str
) -> None:
    answer = client.post("/_mock/faults", params={"namespace": "b"}, json=data)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


# ---------------------------------------------------------------------------- magic numbers


def test_the_header_the_rule_and_the_magic_number_give_the_same_bytes(
    client: TestClient,
) -> None:
    number = {**VALID_SMS, "customerNumber": "+15555550182"}
    magic = zoho_send(client, number)
    header = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": "country_not_supported"})
    rule(client, "r", fault="country_not_supported")
    ruled = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Namespace": "r"})
    assert magic.content == header.content == ruled.content
    assert magic.json()["code"] == "ZVSMS-4038"


def test_the_magic_catalogue_and_its_setting() -> None:
    with make_client() as c:
        catalogue = c.get("/_mock/magic").json()
        assert catalogue["enabled"] is True
        numbers = {n["number"]: n["does"] for n in catalogue["numbers"]}
        assert numbers["+15555550183"] == "throttled: 429 with Retry-After: 1"
        assert "+447700900185" in numbers
        throttled = zoho_send(c, {**VALID_SMS, "customerNumber": "+15555550183"})
        assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "1")
    with make_client(Settings(magic_numbers=False)) as c:
        plain = zoho_send(c, {**VALID_SMS, "customerNumber": "+15555550183"})
        assert plain.status_code == 200
        assert c.get("/_mock/magic").json()["enabled"] is False


def test_the_handle_scripts_faults_for_its_namespace() -> None:
    with MockServer() as mock:
        sms = mock.namespace()
        sms.fault(when={"sequence": ["zvsms-4038", "ok"]})
        with pytest.raises(Exception, match="when is one of"):
            sms.fault("503", when={"soon": 1})
        send = {"headers": ZOHO_AUTH, "files": {"sms_data": (None, json.dumps(VALID_SMS))}}
        codes = [httpx.post(sms.url + ZOHO_PATH, **send).status_code for _ in range(2)]  # type: ignore[arg-type]
        assert codes == [400, 200]
        (listed,) = sms.faults()["rules"]
        assert (listed["seen"], listed["hits"]) == (2, 1)
        other = mock.namespace()  # rules stay in their namespace
        assert httpx.post(other.url + ZOHO_PATH, **send).status_code == 200  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- connections


@pytest.fixture(scope="module")
def live() -> Any:
    with MockServer(settings=Settings(max_hang_seconds=1)) as mock:
        yield mock


def _send(url: str, fault: str, timeout: float = 10) -> httpx.Response:
    return httpx.post(
        url + ZOHO_PATH,
        headers={**ZOHO_AUTH, "X-Mock-Fault": fault},
        files={"sms_data": (None, json.dumps(VALID_SMS))},
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("reset", httpx.ReadError, "Connection reset by peer"),
        ("truncate", httpx.RemoteProtocolError, "without sending complete message body"),
        ("close_after_headers", httpx.RemoteProtocolError, "received 0 bytes"),
    ],
)
def test_connection_faults_break_the_connection(
    live: MockServer, fault: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _send(live.url, fault)
    assert _send(live.url, "latency=0ms").status_code == 200  # the server goes on


def test_a_hung_connection_is_released_by_the_server_cap(live: MockServer) -> None:
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected"):
        _send(live.url, "hang")
    assert 0.9 < time.monotonic() - started < 5  # max_hang_seconds = 1
    with pytest.raises(httpx.ReadTimeout):  # a client's own timeout comes first
        _send(live.url, "hang", timeout=0.3)


def test_bad_json_is_a_200_cut_short(live: MockServer) -> None:
    answer = _send(live.url, "bad_json")
    assert answer.status_code == 200
    assert answer.content.startswith(b'{"code":"ZVSMS-2000"')
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_in_process_a_connection_fault_is_a_transport_error(client: TestClient) -> None:
    with pytest.raises(ConnectionError, match="connection fault 'reset'"):
        zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": "reset"})


# ---------------------------------------------------------------------------- rate limit


def test_the_rate_limit_holds_its_rate_under_load() -> None:
    import concurrent.futures

    rate, burst, seconds = 40.0, 5, 2.0
    with MockServer(settings=Settings(rate_limit=rate, rate_limit_burst=burst)) as mock:
        sms = mock.namespace()

        def hammer() -> list[int]:
            codes = []
            deadline = time.monotonic() + seconds
            with httpx.Client() as http:
                while time.monotonic() < deadline:
                    answer = http.post(
                        sms.url + ZOHO_PATH,
                        headers=ZOHO_AUTH,
                        files={"sms_data": (None, json.dumps(VALID_SMS))},
                    )
                    codes.append(answer.status_code)
                    if answer.status_code == 429:
                        assert answer.headers["retry-after"] == "1"
            return codes

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            codes = [c for found in pool.map(lambda _: hammer(), range(4)) for c in found]
    accepted = codes.count(200)
    expected = burst + rate * seconds
    assert codes.count(429) > accepted  # the load was well above the rate
    # Never more than the bucket allows; fewer when the server stalls (a loaded machine):
    # a bucket fills only up to its burst while no request comes, so a stall loses tokens.
    assert 0.3 * expected <= accepted <= 1.1 * expected, (accepted, expected)


def test_a_namespace_gets_its_own_rate_limit(client: TestClient) -> None:
    put = client.put(
        "/_mock/rate-limit", params={"namespace": "slow"}, json={"rate": 1, "burst": 2}
    )
    assert put.json() == {"namespace": "slow", "rate": 1.0, "burst": 2}
    assert _statuses(client, "slow", 3) == [200, 200, 429]
    assert _statuses(client, "fast", 3) == [200, 200, 200]  # others: no limit
    bad = client.put("/_mock/rate-limit", params={"namespace": "x"}, json={"rate": 0})
    assert bad.status_code == 400
    for wrong in ({"rate": 1, "burst": 0}, {"rate": 1, "burst": 1.5}, {"rate": 1, "cap": 2}):
        refused = client.put("/_mock/rate-limit", json=wrong)
        assert refused.status_code == 400, wrong
        assert "PUT /_mock/rate-limit takes" in refused.json()["error"]
    whole = client.put(
        "/_mock/rate-limit", params={"namespace": "w"}, json={"rate": 1, "burst": 2.0}
    )
    assert whole.json()["burst"] == 2
    client.delete("/_mock/rate-limit", params={"namespace": "slow"})
    assert client.get("/_mock/rate-limit", params={"namespace": "slow"}).json()["rate"] is None


def test_a_vanishing_rate_waits_at_most_a_day(client: TestClient) -> None:
    # At 5e-324 requests a second the wait is infinite: Retry-After once overflowed (500).
    tiny = client.put(
        "/_mock/rate-limit", params={"namespace": "tiny"}, json={"rate": 5e-324, "burst": 1}
    )
    assert tiny.status_code == 200, tiny.text
    statuses = []
    for _ in range(2):
        answer = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Namespace": "tiny"})
        statuses.append(answer.status_code)
    assert statuses == [200, 429]
    assert answer.headers["retry-after"] == "86400"


# ---------------------------------------------------------------------------- post-accept


def test_a_post_accept_fault_keeps_the_send_and_fails_its_messages(client: TestClient) -> None:
    answer = zoho_send(client, headers={**ZOHO_AUTH, "X-Mock-Fault": "undelivered"})
    assert (answer.status_code, answer.json()["code"]) == (200, "ZVSMS-2000")
    (message,) = journal(client)
    assert message.status == "undelivered"
    assert [h.status for h in message.history] == ["queued", "undelivered"]
    assert "carrier reported the message undelivered" in (message.history[-1].reason or "")
    assert two_sms(client, **{"X-Mock-Fault": "failed"}).status_code == 200
    assert journal(client, provider="twosms")[0].status == "failed"
    magic = zoho_send(client, {**VALID_SMS, "customerNumber": "+15555550188"})
    assert magic.status_code == 200
    assert journal(client, to="+15555550188")[0].status == "undelivered"


def test_rules_outlive_a_restart_with_the_sqlite_store(tmp_path: Any) -> None:
    from mockserver import create_app
    from mockserver.store.urls import store_from_url

    url = f"sqlite://{tmp_path / 'journal.sqlite3'}"
    settings = Settings()
    with TestClient(create_app(store=store_from_url(url, settings.store_limits()))) as c:
        rule(c, "kept", fault="503", when={"next": 2})
        assert _statuses(c, "kept", 1) == [503]
    with TestClient(create_app(store=store_from_url(url, settings.store_limits()))) as c:
        (found,) = c.get("/_mock/faults", params={"namespace": "kept"}).json()["rules"]
        assert found["fault"] == "503"
        # The counts start again with the process (they are kept in memory).
        assert _statuses(c, "kept", 3) == [503, 503, 200]


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_RULE_KEYS = st.sampled_from(["fault", "match", "when", "next", "every", "sequence", "to", "x"])


@settings(max_examples=150, deadline=None)
@given(
    body=st.one_of(
        _JSON,
        st.dictionaries(_RULE_KEYS, _JSON | st.sampled_from(["503", "zvsms-4038", "latency=1ms"])),
    ),
    header=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)
def test_no_admin_fault_input_gets_a_server_error(body: Any, header: str) -> None:
    with make_client() as c:
        for method, path in (
            ("POST", "/_mock/faults"),
            ("PUT", "/_mock/rate-limit"),
            ("POST", "/_mock/seed"),
        ):
            answer = c.request(method, path, params={"namespace": "fz"}, json=body)
            assert answer.status_code < 500, (path, body, answer.text)
        if header.strip().lower() in ("reset", "hang", "truncate", "close_after_headers"):
            return  # connection faults: a transport error in-process, by design
        sent = zoho_send(c, headers={**ZOHO_AUTH, "X-Mock-Fault": header})
        # A 5xx only as an injected outage (the gateway's HTML page), never as a crash.
        assert sent.status_code < 500 or sent.headers["content-type"] == "text/html"
