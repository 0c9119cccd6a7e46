"""Journal records: what a store keeps reads back the same, in the current layout and in the
one older versions wrote (a SQLite file from before keeps working)."""

from __future__ import annotations

import orjson

from mockserver.store.records import (
    EXCHANGE_FIELDS,
    HEAD_FIELDS,
    ROW_FIELDS,
    SCHEMA_VERSION,
    Media,
    Recipient,
    StatusChange,
    Submission,
    decode_exchange,
    decode_head,
    decode_message,
    record_id,
    with_status,
)

#: A head, an exchange and a row exactly as version 1 wrote them (named keys, "v": 1).
V1_HEAD = (
    b'{"v":1,"id":"s1","provider":"twosms","operation":"twosmsSendMessagesV2",'
    b'"created_at":1700000000.5,"sender":"ACME","text":"hi","encoding":"GSM-7",'
    b'"scheduled_at":"2023-11-14T22:15:00Z","media":[{"filename":"a.jpg","content_type":'
    b'"image/jpeg","size":3,"sha256":"abc","provider_id":"p1"}],"recurs_from":["s0",2],'
    b'"notify":{"Reference":"r"},"send_at":1700000100.0,"expire_at":1700090000.0}'
)
V1_EXCHANGE = (
    b'{"v":1,"headers":{"content-type":"application/json","authorization":"Bearer ***"},'
    b'"request":{"Content":"hi"},"status_code":200,"response":{"Error":null}}'
)
V1_ROW = (
    b'{"v":1,"id":"m1","submission_id":"s1","to":"+12345678901","country":"us",'
    b'"segments":1,"test_number":false,"status":"queued",'
    b'"history":[["queued",1700000000.5,null]]}'
)


def submission() -> Submission:
    """The submission the version-1 records above were written for."""
    sent = Submission(
        id="s1",
        provider="twosms",
        operation="twosmsSendMessagesV2",
        created_at=1700000000.5,
        sender="ACME",
        text="hi",
        encoding="GSM-7",
        recipients=(Recipient("m1", "+12345678901", "us", 1, "queued", False),),
        scheduled_at="2023-11-14T22:15:00Z",
        media=(Media("a.jpg", "image/jpeg", 3, "abc", "p1"),),
        headers={"content-type": "application/json", "authorization": "Bearer ***"},
        request={"Content": "hi"},
        response=b'{"Error":null}',
    )
    sent.recurs_from = ("s0", 2)
    sent.notify = {"Reference": "r"}
    sent.send_at = 1700000100.0
    sent.expire_at = 1700090000.0
    return sent


def test_the_current_layout_is_an_array_led_by_its_version() -> None:
    head, exchange, rows = submission().encode()
    assert orjson.loads(head) == [
        SCHEMA_VERSION,
        "s1",
        "twosms",
        "twosmsSendMessagesV2",
        1700000000.5,
        "ACME",
        "hi",
        "GSM-7",
        "2023-11-14T22:15:00Z",
        [
            {
                "filename": "a.jpg",
                "content_type": "image/jpeg",
                "size": 3,
                "sha256": "abc",
                "provider_id": "p1",
            }
        ],
        ["s0", 2],
        {"Reference": "r"},
        1700000100.0,
        1700090000.0,
    ]
    assert len(orjson.loads(head)) == len(HEAD_FIELDS) + 1
    assert len(orjson.loads(exchange)) == len(EXCHANGE_FIELDS) + 1
    assert len(orjson.loads(rows[0])) == len(ROW_FIELDS) + 1
    assert len(rows[0]) < len(V1_ROW) * 2 // 3  # no key names in every row


def test_a_version_1_record_reads_as_the_same_message_and_exchange() -> None:
    head, exchange, rows = submission().encode()
    new = decode_message(7, "ns", rows[0], decode_head(head))
    old = decode_message(7, "ns", V1_ROW, decode_head(V1_HEAD))
    assert old == new
    assert new.history == (StatusChange("queued", 1700000000.5, None),)
    assert new.recurrence == ("s0", 2)
    assert new.notify == {"Reference": "r"}
    assert (new.send_at, new.expire_at) == (1700000100.0, 1700090000.0)
    assert decode_exchange(V1_EXCHANGE) == decode_exchange(exchange)
    assert decode_exchange(exchange) == {
        "headers": {"content-type": "application/json", "authorization": "Bearer ***"},
        "request": {"Content": "hi"},
        "status_code": 200,
        "response": {"Error": None},
    }


def test_faults_are_shown_only_when_some_fired() -> None:
    sent = submission()
    sent.faults = ("latency",)
    assert decode_exchange(sent.exchange())["faults"] == ["latency"]
    assert "faults" not in decode_exchange(submission().exchange())


def test_ids_are_read_from_either_layout() -> None:
    head, _, rows = submission().encode()
    assert record_id(head) == record_id(V1_HEAD) == "s1"
    assert record_id(rows[0]) == record_id(V1_ROW) == "m1"


def test_a_status_change_keeps_the_rows_layout() -> None:
    _, _, rows = submission().encode()
    for row in (rows[0], V1_ROW):
        changed = with_status(row, "delivered", 1700000009.0, None)
        assert type(orjson.loads(changed)) is type(orjson.loads(row))
        message = decode_message(1, "ns", changed, decode_head(V1_HEAD))
        assert message.status == "delivered"
        assert message.history == (
            StatusChange("queued", 1700000000.5, None),
            StatusChange("delivered", 1700000009.0, None),
        )


def test_a_shorter_array_from_before_an_item_was_added_reads_with_defaults() -> None:
    head = orjson.loads(submission().head())[: 1 + HEAD_FIELDS.index("recurs_from")]
    _, _, rows = submission().encode()
    message = decode_message(1, "ns", rows[0], decode_head(orjson.dumps(head)))
    assert (message.recurrence, message.notify, message.send_at, message.expire_at) == (
        None,
        None,
        None,
        None,
    )
