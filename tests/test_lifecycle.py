"""The message lifecycle: scheduled sends, timed steps, forced states, the namespace clock."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app

from .conftest import VALID_SMS, WORKED, ZOHO_AUTH, journal, twosms_send, zoho_send

MOVING = Settings(lifecycle_progress=True, sent_after_seconds=1, delivered_after_seconds=3)
START = 1_900_000_000.0  # 2030-03-17T17:46:40Z
NS = {"X-Mock-Namespace": "life"}


def clock(client: TestClient, **verb: Any) -> dict[str, Any]:
    answer = client.post("/_mock/clock", params={"namespace": "life"}, json=verb)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def statuses(client: TestClient) -> list[tuple[str, float]]:
    (message,) = journal(client, namespace="life")
    return [(h.status, h.at) for h in message.history]


def test_a_scheduled_zoho_send_waits_for_the_clock_then_moves_on() -> None:
    with TestClient(create_app(settings=MOVING)) as c:
        clock(c, set=START)
        answer = zoho_send(
            c,
            data={"scheduledTime": "2030-03-18 09:00:00", "timeZone": "UTC"},
            headers={**ZOHO_AUTH, **NS},
        )
        assert answer.status_code == 200, answer.text
        assert statuses(c) == [("scheduled", START)]
        assert clock(c, advance="12h")["steps_taken"] == 0  # not yet 09:00
        at = 1_900_054_800.0  # 2030-03-18T09:00:00Z
        assert clock(c, advance="1d")["steps_taken"] == 3
        assert statuses(c) == [
            ("scheduled", START),
            ("queued", at),
            ("sent", at + 1),
            ("delivered", at + 4),
        ]


def test_without_progress_messages_stay_queued_but_schedules_still_run() -> None:
    with TestClient(create_app()) as c:
        clock(c, set=START)
        zoho_send(c, headers={**ZOHO_AUTH, **NS})
        clock(c, advance="2d")
        assert [s for s, _ in statuses(c)] == ["queued"]
        c.delete("/_mock/messages", params={"namespace": "life"})
        assert c.get("/_mock/clock", params={"namespace": "life"}).json()["virtual"] is False
        clock(c, set=START + 2 * 86_400)  # a reset put the namespace back on real time
        zoho_send(
            c,
            data={"scheduledTime": "2030-03-20 09:00:00", "timeZone": "UTC"},
            headers={**ZOHO_AUTH, **NS},
        )
        clock(c, advance="2d")
        assert [s for s, _ in statuses(c)] == ["scheduled", "queued"]


def test_zero_delays_deliver_before_the_answer() -> None:
    now = Settings(lifecycle_progress=True, sent_after_seconds=0, delivered_after_seconds=0)
    with TestClient(create_app(settings=now)) as c:
        zoho_send(c, headers={**ZOHO_AUTH, **NS})
        assert [s for s, _ in statuses(c)] == ["queued", "sent", "delivered"]


def test_the_real_clock_moves_messages_in_the_background() -> None:
    fast = Settings(lifecycle_progress=True, sent_after_seconds=0.1, delivered_after_seconds=0.1)
    with TestClient(create_app(settings=fast)) as c:
        zoho_send(c, headers={**ZOHO_AUTH, **NS})
        answer = c.get(
            "/_mock/messages/wait",
            params={"namespace": "life", "status": "delivered", "timeout": "5"},
        )
        assert answer.status_code == 200, answer.text
        assert [s for s, _ in statuses(c)] == ["queued", "sent", "delivered"]


def test_a_forced_failure_shows_its_reason_and_stops_the_steps() -> None:
    with TestClient(create_app(settings=MOVING)) as c:
        clock(c, set=START)
        zoho_send(c, headers={**ZOHO_AUTH, **NS})
        (message,) = journal(c, namespace="life")
        forced = c.post(
            f"/_mock/messages/{message.id}/status",
            params={"namespace": "life"},
            json={"status": "undelivered", "reason": "carrier error 30008"},
        )
        assert forced.status_code == 200, forced.text
        assert forced.json()["message"]["status"] == "undelivered"
        clock(c, advance="1h")  # the pending step to sent no longer applies
        (message,) = journal(c, namespace="life")
        assert [(h.status, h.reason) for h in message.history] == [
            ("queued", None),
            ("undelivered", "carrier error 30008"),
        ]
        missing = c.post(
            "/_mock/messages/nope/status", params={"namespace": "life"}, json={"status": "sent"}
        )
        assert missing.status_code == 404
        bad = c.post(
            f"/_mock/messages/{message.id}/status",
            params={"namespace": "life"},
            json={"status": "lost"},
        )
        assert bad.status_code == 400
        assert "status must be one of scheduled, queued" in bad.json()["error"]


def test_a_2sms_send_is_scheduled_and_expires() -> None:
    with TestClient(create_app(settings=MOVING)) as c:
        clock(c, set=START)
        options = {"DateToSend": "2030-03-18T09:00:00+00:00", "ExpiryDate": "2030-03-18T09:00:02Z"}
        answer = twosms_send(c, {**WORKED, "Options": options}, NS)
        assert answer.status_code == 200, answer.text
        clock(c, advance="1d")
        # Sent at 09:00:01, but its delivery (09:00:04) would come after the expiry.
        assert [s for s, _ in statuses(c)] == ["scheduled", "queued", "sent", "expired"]


@pytest.mark.parametrize(
    ("verb", "message"),
    [
        ({}, "POST /_mock/clock takes one of"),
        ({"advance": "soon"}, "advance: 'soon' is not a duration like 200ms, 1.5s, 90s"),
        ({"advance": -5}, "advance: a duration is 0 seconds or more, got -5"),
        ({"set": "2030-01-01T00:00:00"}, "an ISO 8601 time with an offset"),
        ({"freeze": True, "real": True}, "POST /_mock/clock takes one of"),
        ({"freeze": False}, "POST /_mock/clock takes one of"),
        # Out of datetime's range (once a 500 wherever the time was shown as a date).
        ({"set": -1}, "a time is from 1970-01-01T00:00:00Z (0) to 9999-12-31T23:59:59Z"),
        ({"set": 1e300}, "to 9999-12-31T23:59:59Z"),
        ({"set": "0001-01-01T00:00:00+01:00"}, "to 9999-12-31T23:59:59Z"),
        ({"set": "\u0662030-01-01T00:00:00Z"}, "an ISO 8601 time with an offset"),
        ({"advance": 1e300}, "advance: at most"),
        ({"advance": "9" * 5000 + "s"}, "is not a duration like"),
        ({"advance": "\u0661h"}, "is not a duration like"),
    ],
)
def test_clock_errors_say_what_is_expected(verb: dict[str, Any], message: str) -> None:
    with TestClient(create_app()) as c:
        answer = c.post("/_mock/clock", params={"namespace": "life"}, json=verb)
        assert answer.status_code == 400
        assert message in answer.json()["error"]


def test_the_clock_stops_at_the_end_of_9999() -> None:
    with TestClient(create_app()) as c:
        assert clock(c, set="9999-12-31T23:00:00Z")["now"] == 253_402_297_200.0
        past = c.post("/_mock/clock", params={"namespace": "life"}, json={"advance": "2h"})
        assert past.status_code == 400
        assert "would take the clock past 9999-12-31T23:59:59Z" in past.json()["error"]
        assert clock(c, advance="59m59s")["now"] == 253_402_300_799.0


def test_the_clock_is_per_namespace_and_goes_back_to_real_time() -> None:
    with TestClient(create_app()) as c:
        frozen = clock(c, set="2030-01-01T00:00:00Z")
        assert (frozen["virtual"], frozen["now"]) == (True, 1_893_456_000.0)
        assert clock(c, advance=90)["now"] == 1_893_456_090.0
        other = c.get("/_mock/clock", params={"namespace": "other"}).json()
        assert other["virtual"] is False
        assert abs(other["now"] - time.time()) < 5
        assert clock(c, real=True)["virtual"] is False
        assert clock(c, freeze=True)["virtual"] is True
        zoho_send(c, VALID_SMS, headers={**ZOHO_AUTH, **NS})
        (message,) = journal(c, namespace="life")
        assert message.created_at == clock(c, advance=0)["now"]  # the send took the frozen time


def twosms(client: TestClient, options: dict[str, Any], **fields: Any) -> dict[str, Any]:
    answer = twosms_send(client, {**WORKED, "Options": options, **fields}, NS)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


MONDAY_8 = "2030-03-18T08:00:00Z"  # a Monday
MON_WED_FRI = 2 + 8 + 32  # day flags (Sunday 1, Monday 2, … Saturday 64)


def test_a_2sms_recurring_send_makes_its_occurrences_as_the_clock_passes_them() -> None:
    with TestClient(create_app()) as c:
        clock(c, set=MONDAY_8)
        recurring = {
            "RecDateToSend": "2030-03-18T10:00:00+02:00",  # 08:00 UTC: due now
            "PatternScheduleDays": MON_WED_FRI,
            "Range": 1,  # OccurrenceCount
            "OccurrencesEnd": 5,
        }
        twosms(c, {"RecurringOptions": recurring}, Type=2)
        assert len(journal(c, namespace="life")) == 1
        clock(c, advance="7d")
        sent = sorted(journal(c, namespace="life"), key=lambda m: m.created_at)
        # Monday 18th (the send itself), Wednesday 20th, Friday 22nd, Monday 25th, at 10:00+02.
        day = 86_400
        first = 1_900_051_200.0  # 2030-03-18T08:00:00Z
        assert [m.created_at for m in sent] == [
            first,
            first + 2 * day,
            first + 4 * day,
            first + 7 * day,
        ]
        assert [m.recurrence for m in sent] == [(sent[0].submission_id, n) for n in (1, 2, 3, 4)]
        assert len({m.id for m in sent}) == 4
        assert {(m.to, m.text) for m in sent} == {(sent[0].to, sent[0].text)}
        clock(c, advance="30d")
        assert len(journal(c, namespace="life")) == 5  # OccurrencesEnd: five in all


@pytest.mark.parametrize("whole", [int, float], ids=["ints", "whole-floats"])
def test_a_future_recurring_send_is_scheduled_and_repeats_follow_each_occurrence(
    whole: type,
) -> None:
    # JSON Schema's integer, and Json.NET's int, take 2.0 as 2: the same schedule.
    with TestClient(create_app()) as c:
        clock(c, set=MONDAY_8)
        recurring = {
            "RecDateToSend": "2030-03-19T09:30:00Z",
            "Range": whole(1),
            "OccurrencesEnd": whole(2),
            "PatternScheduleDays": whole(0),
        }
        # 15 minutes apart, twice more
        repeat = {"Frequency": whole(15), "Repetitions": whole(2)}
        twosms(c, {"RecurringOptions": recurring, "Repeat": repeat}, Type=2)
        (first,) = journal(c, namespace="life")
        assert (first.status, first.scheduled_at) == ("scheduled", "2030-03-19T09:30:00Z")
        clock(c, advance="3d")
        sent = sorted(journal(c, namespace="life"), key=lambda m: m.created_at)
        times = [m.created_at for m in sent[1:]]
        at = 1_900_143_000.0  # 2030-03-19T09:30:00Z
        day, quarter = 86_400, 900
        assert times == [
            at + quarter,
            at + 2 * quarter,
            at + day,
            at + day + quarter,
            at + day + 2 * quarter,
        ]
        assert [h.status for h in sent[0].history] == ["scheduled", "queued"]


def test_repeat_alone_repeats_a_standard_send() -> None:
    with TestClient(create_app()) as c:
        clock(c, set=MONDAY_8)
        twosms(c, {"Repeat": {"Frequency": 1, "Repetitions": 2}})
        clock(c, advance="1h")
        assert len(journal(c, namespace="life")) == 3


@pytest.mark.parametrize(
    ("options", "field", "expected"),
    [
        (
            {"RecurringOptions": {"Range": 7}},
            "Options.RecurringOptions.Range",
            "one of 0 (NoEndDate)",
        ),
        (
            {"RecurringOptions": {"PatternScheduleDays": 200}},
            "Options.RecurringOptions.PatternScheduleDays",
            "a sum of day flags from 0 to 127",
        ),
        (
            {"RecurringOptions": {"Range": 1, "OccurrencesEnd": 0}},
            "Options.RecurringOptions.OccurrencesEnd",
            "1 or more",
        ),
        ({"Repeat": {"Frequency": 0, "Repetitions": 3}}, "Options.Repeat.Frequency", "1 or more"),
        (
            {"Repeat": {"Frequency": 1, "Repetitions": -1}},
            "Options.Repeat.Repetitions",
            "0 or more",
        ),
    ],
)
def test_recurrence_values_the_mock_cannot_read_are_refused_by_field(
    options: dict[str, Any], field: str, expected: str
) -> None:
    with TestClient(create_app()) as c:
        kind = 2 if "RecurringOptions" in options else 1
        answer = twosms_send(c, {**WORKED, "Options": options, "Type": kind}, NS)
        assert answer.status_code == 400, answer.text
        reason = answer.json()["Error"]["ErrorReason"]
        assert f"{field}: " in reason, reason
        assert expected in reason, reason


def test_a_recurrence_without_end_stops_at_max_occurrences() -> None:
    with TestClient(create_app(settings=Settings(max_occurrences=10))) as c:
        clock(c, set=MONDAY_8)
        twosms(c, {"RecurringOptions": {"Range": 0}}, Type=2)  # every day, no end
        clock(c, advance="30d")
        assert len(journal(c, namespace="life")) == 10
        health = c.get("/_mock/health").json()
        assert health["lifecycle"]["occurrences"] == 9
        assert health["lifecycle"]["pending"] == 0


def test_occurrences_before_the_send_are_not_sent_and_the_send_goes_at_once() -> None:
    with TestClient(create_app()) as c:
        clock(c, set=MONDAY_8)
        # Daily since a year ago (365 days), 400 in all: days 366 to 399 are still to come.
        recurring = {"RecDateToSend": "2029-03-18T08:00:00Z", "Range": 1, "OccurrencesEnd": 400}
        twosms(c, {"RecurringOptions": recurring}, Type=2)
        (now,) = journal(c, namespace="life")
        assert now.status == "queued"
        clock(c, advance="100d")
        assert len(journal(c, namespace="life")) == 1 + 34


def test_a_restarted_sqlite_mock_takes_up_the_steps_where_they_were(tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from mockserver.store.urls import store_from_url

    url = f"sqlite://{tmp_path / 'journal.sqlite3'}"
    slow = Settings(lifecycle_progress=True, sent_after_seconds=0.3, delivered_after_seconds=0.3)
    soon = datetime.fromtimestamp(time.time() + 1.5, UTC).isoformat()

    def app(settings: Settings) -> TestClient:
        return TestClient(
            create_app(settings=settings, store=store_from_url(url, settings.store_limits()))
        )

    with app(slow) as c:  # stopped before any step is due
        zoho_send(c, headers={**ZOHO_AUTH, **NS})
        twosms_send(c, {**WORKED, "Options": {"DateToSend": soon}}, {"X-Mock-Namespace": "later"})
        assert [m.status for m in journal(c, namespace="life")] == ["queued"]
        assert [m.status for m in journal(c, namespace="later")] == ["scheduled"]
    with app(slow) as c:
        for namespace, status in (("life", "delivered"), ("later", "delivered")):
            answer = c.get(
                "/_mock/messages/wait",
                params={"namespace": namespace, "status": status, "timeout": "10"},
            )
            assert answer.status_code == 200, (namespace, answer.text)
        assert [s for s, _ in statuses(c)] == ["queued", "sent", "delivered"]
        (later,) = journal(c, namespace="later")
        assert [h.status for h in later.history] == ["scheduled", "queued", "sent", "delivered"]
        assert later.history[1].at >= datetime.fromisoformat(soon).timestamp()
