"""One behaviour suite for every store back-end, through public verbs only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mockserver.errors import StoreFullError
from mockserver.store import (
    SHARED,
    Media,
    MessageFilter,
    Recipient,
    RecordBounds,
    Store,
    Submission,
    Violation,
)
from mockserver.store.records import bound_headers, bound_value

from .conftest import StoreFactory

pytestmark = pytest.mark.anyio

Factory = StoreFactory


@pytest.fixture
async def store(make_store: Factory) -> AsyncIterator[Store]:
    s = make_store()
    await s.open()
    yield s
    await s.close()


def sub(
    n: int,
    *,
    recipients: int = 1,
    provider: str = "zoho_voice",
    text: str | None = None,
    to: str | None = None,
) -> Submission:
    """A submission whose every field depends on ``n``, so a mix-up between two shows."""
    return Submission(
        id=f"sub-{n}",
        provider=provider,
        operation="op",
        created_at=1_700_000_000.5 + n,
        sender=f"S{n}",
        text=text if text is not None else f"text {n} é",
        encoding="UCS-2",
        recipients=tuple(
            Recipient(
                id=f"m-{n}-{k}",
                to=to or f"+1415555{(n * 10 + k) % 10000:04d}",
                country="us",
                segments=1 + k % 2,
            )
            for k in range(recipients)
        ),
        scheduled_at=None,
        media=(Media("a.jpg", "image/jpeg", n, "ab" * 32, f"media-{n}"),) if n % 2 else (),
        headers={"content-type": "multipart/form-data", "x-n": str(n)},
        request={"n": n, "nested": {"list": [n, None, True]}},
        response={"ok": n},
    )


async def ids(store: Store, **filters: Any) -> list[str]:
    page = await store.query(MessageFilter(**filters), limit=1000)
    return [m.id for m in page.items]


async def test_append_get_and_the_submission_round_trip(store: Store) -> None:
    s = sub(1, recipients=2)
    await store.append("default", s)
    m = await store.get("m-1-1")
    assert m is not None
    assert (m.namespace, m.provider, m.to, m.text, m.sender, m.segments) == (
        "default",
        "zoho_voice",
        "+14155550011",
        "text 1 é",
        "S1",
        2,
    )
    assert m.media == s.media
    assert [h.status for h in m.history] == ["queued"]
    assert await store.get("m-1-1", "other") is None
    assert await store.get("nope") is None
    exchange = await store.submission("sub-1", "default")
    assert exchange == {
        "headers": {"content-type": "multipart/form-data", "x-n": "1"},
        "request": {"n": 1, "nested": {"list": [1, None, True]}},
        "status_code": 200,
        "response": {"ok": 1},
    }
    assert await store.submission("sub-1", "other") is None


async def test_query_orders_filters_and_pages_exactly_once(store: Store) -> None:
    for n in range(30):
        await store.append("a" if n % 3 else "b", sub(n, provider="twosms" if n % 2 else "zoho"))
    all_ids = await ids(store)
    assert all_ids == [f"m-{n}-0" for n in range(30)]
    assert await ids(store, namespace="b") == [f"m-{n}-0" for n in range(0, 30, 3)]
    assert await ids(store, namespace="a", provider="twosms") == [
        f"m-{n}-0" for n in range(30) if n % 3 and n % 2
    ]
    assert await ids(store, to="+14155550050") == ["m-5-0"]
    assert await ids(store, text="text 7 ") == ["m-7-0"]
    assert await ids(store, namespace="nowhere") == []
    # Paging: every message exactly once, in order, both ways.
    for descending in (False, True):
        seen: list[str] = []
        cursor = None
        while True:
            page = await store.query(MessageFilter(), cursor=cursor, limit=7, descending=descending)
            seen += [m.id for m in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == (all_ids[::-1] if descending else all_ids)


async def test_the_ring_evicts_the_oldest_and_counts(make_store: Factory) -> None:
    store = make_store(max_messages=5)
    await store.open()
    try:
        for n in range(4):
            await store.append("ns", sub(n))
        assert (await store.namespace_usage("ns") or {})["evicted_messages"] == 0
        await store.append("ns", sub(4, recipients=3))
        assert await ids(store, namespace="ns") == ["m-2-0", "m-3-0", "m-4-0", "m-4-1", "m-4-2"]
        assert await store.get("m-0-0") is None
        assert await store.submission("sub-0", "ns") is None  # no message refers to it
        usage = await store.namespace_usage("ns")
        assert usage is not None
        assert (usage["messages"], usage["evicted_messages"]) == (5, 2)
        total = await store.usage()
        assert total["evicted"]["messages"] == 2
        assert total["messages"] == 5
    finally:
        await store.close()


async def test_reject_mode_refuses_whole_and_keeps_what_it_has(make_store: Factory) -> None:
    store = make_store(max_messages=3, on_full="reject")
    await store.open()
    try:
        await store.append("ns", sub(1, recipients=2))
        with pytest.raises(StoreFullError, match="holds 2 messages and the limit is 3"):
            await store.append("ns", sub(2, recipients=2))
        assert await ids(store) == ["m-1-0", "m-1-1"]
        await store.append("other", sub(3, recipients=3))  # its own count
    finally:
        await store.close()


async def test_the_byte_budget_evicts_least_recently_used_first(make_store: Factory) -> None:
    store = make_store(max_bytes=20_000)
    await store.open()
    try:
        for n in range(40):
            await store.append(f"ns{n % 4}", sub(n, text="x" * 200))
        usage = await store.usage()
        assert usage["bytes"] <= 20_000
        assert usage["evicted"]["messages"] > 0
        kept = await ids(store)
        assert kept[-1] == "m-39-0"  # the newest is kept
        assert usage["messages"] == len(kept)
    finally:
        await store.close()


async def test_namespaces_beyond_the_cap_evict_the_least_recently_used(
    make_store: Factory,
) -> None:
    store = make_store(max_namespaces=3)
    await store.open()
    try:
        for n, ns in enumerate(["a", "b", "c", "a", "d"]):
            await store.append(ns, sub(n))
        # b was the least recently used when d arrived.
        assert sorted({m.namespace for m in (await store.query(MessageFilter())).items}) == [
            "a",
            "c",
            "d",
        ]
        usage = await store.usage()
        assert usage["namespaces"] == 3
        assert usage["evicted"]["namespaces"] == 1
        assert usage["evicted"]["messages"] == 1  # b's message went with it
    finally:
        await store.close()


async def test_set_status_keeps_history_and_wakes_a_waiter(store: Store) -> None:
    await store.append("ns", sub(1))
    waiting = asyncio.ensure_future(
        store.wait(MessageFilter(namespace="ns", status="delivered"), timeout=5)
    )
    await asyncio.sleep(0.01)
    assert not waiting.done()
    changed = await store.set_status("m-1-0", "ns", "sent", 10.0)
    assert changed is not None
    assert changed.status == "sent"
    await store.set_status("m-1-0", "ns", "delivered", 12.5, "carrier says yes")
    found = await asyncio.wait_for(waiting, 5)
    assert found is not None
    assert found.id == "m-1-0"
    m = await store.get("m-1-0", "ns")
    assert m is not None
    assert [(h.status, h.at, h.reason) for h in m.history][1:] == [
        ("sent", 10.0, None),
        ("delivered", 12.5, "carrier says yes"),
    ]
    assert await ids(store, status="delivered") == ["m-1-0"]
    assert await store.set_status("nope", "ns", "sent", 1.0) is None


async def test_wait_returns_existing_wakes_on_append_and_times_out(store: Store) -> None:
    await store.append("ns", sub(1, to="+14155550100"))
    found = await store.wait(MessageFilter(to="+14155550100"), timeout=1)
    assert found is not None
    assert found.id == "m-1-0"
    # After a cursor, only newer messages count.
    waiting = asyncio.ensure_future(
        store.wait(MessageFilter(namespace="ns"), timeout=5, cursor=found.seq)
    )
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await store.append("other", sub(2))  # another namespace: no wake-up
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await store.append("ns", sub(3))
    woke = await asyncio.wait_for(waiting, 5)
    assert woke is not None
    assert woke.id == "m-3-0"
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await store.wait(MessageFilter(namespace="empty"), timeout=0.1) is None
    assert 0.08 <= loop.time() - started < 2


async def test_violations_ring_per_namespace(make_store: Factory) -> None:
    store = make_store(max_violations=3)
    await store.open()
    try:

        def v(n: int, sent: Any = None) -> Violation:
            return Violation("twosms", "op", f"f{n}", sent if sent is not None else n, "x", 1.0)

        await store.record_violations("a", [v(n) for n in range(5)])
        await store.record_violations("b", [v(9, {"nested": [1, "two"]})])
        page = await store.violations("a")
        assert [x.field for x in page.items] == ["f2", "f3", "f4"]
        (b,) = (await store.violations("b")).items
        assert (b.namespace, b.sent) == ("b", {"nested": [1, "two"]})
        assert [x.field for x in (await store.violations()).items] == ["f2", "f3", "f4", "f9"]
        assert (await store.violations(provider="zoho_voice")).items == []
        usage = await store.namespace_usage("a")
        assert usage is not None
        assert usage["evicted_violations"] == 2
    finally:
        await store.close()


async def test_reset_one_namespace_or_all_but_tokens(store: Store) -> None:
    for n, ns in enumerate(["a", "b", "a"]):
        await store.append(ns, sub(n))
    await store.record_violations("a", [Violation("p", "op", "f", 1, "x", 1.0)])
    await store.add_account("a", "credits", -10, start=100)
    await store.add_account("b", "credits", -10, start=100)
    await store.put_account(SHARED, "token", "acct", now=0.0, expires_at=100.0)
    assert await store.reset("a") == 2
    assert await ids(store) == ["m-1-0"]
    assert (await store.violations("a")).items == []
    assert await store.add_account("a", "credits", 0, start=100) == (100, 100)
    assert await store.add_account("b", "credits", 0, start=100) == (90, 90)
    assert await store.reset() == 1
    assert await ids(store) == []
    assert await store.get_account(SHARED, "token", now=1.0) == "acct"
    # A namespace starts over after a reset.
    await store.append("a", sub(5))
    assert await ids(store, namespace="a") == ["m-5-0"]


async def test_accounts_expire_cap_and_never_overdraw(make_store: Factory) -> None:
    store = make_store(max_shared_keys=2)
    await store.open()
    try:
        assert await store.put_account(SHARED, "t1", "a", now=0.0, expires_at=100.0)
        assert await store.put_account(SHARED, "t2", "b", now=0.0, expires_at=200.0)
        assert await store.get_account(SHARED, "t1", now=99.0) == "a"
        assert await store.get_account(SHARED, "t1", now=100.0) is None  # expiry is exclusive
        # Full of live keys: refused, and nothing revoked.
        assert not await store.put_account(SHARED, "t3", "c", now=50.0, expires_at=300.0)
        assert await store.get_account(SHARED, "t1", now=50.0) == "a"
        # Once t1 has expired it makes room.
        assert await store.put_account(SHARED, "t3", "c", now=150.0, expires_at=300.0)
        assert await store.get_account(SHARED, "t3", now=150.0) == "c"
        assert await store.get_account(SHARED, "t2", now=150.0) == "b"
        assert await store.add_account("ns", "c", -3, start=5) == (5, 2)
        assert await store.add_account("ns", "c", -3, start=5) is None
        assert await store.add_account("ns", "c", 3, start=5) == (2, 5)
        assert await store.add_account("ns", "other", -5, start=5) == (5, 0)
    finally:
        await store.close()


async def test_concurrent_appends_lose_nothing(store: Store) -> None:
    await asyncio.gather(*(store.append(f"ns{n % 3}", sub(n, recipients=2)) for n in range(200)))
    got = await ids(store)
    assert sorted(got) == sorted(f"m-{n}-{k}" for n in range(200) for k in range(2))
    page = await store.query(MessageFilter(), limit=1000)
    for m in page.items:  # each message joins its own submission, not a neighbour's
        n = int(m.id.split("-")[1])
        assert (m.text, m.sender, m.namespace) == (f"text {n} é", f"S{n}", f"ns{n % 3}")


async def test_every_verb_sees_every_send_appended_before_it(store: Store) -> None:
    # One-recipient sends may be filed in groups (the memory store queues them for a turn of
    # the event loop); no verb may tell the difference.
    for n in range(150):  # more than one group, with no turn of the loop in between
        await store.append(f"ns{n % 2}", sub(n))
        if n % 37 == 0:
            found = await store.get(f"m-{n}-0")
            assert found is not None
            assert found.namespace == f"ns{n % 2}"
    usage = await store.usage()
    assert usage["messages"] == 150
    page = await store.query(MessageFilter(), limit=1000)
    assert [m.id for m in page.items] == [f"m-{n}-0" for n in range(150)]  # in append order
    assert [m.seq for m in page.items] == sorted(m.seq for m in page.items)
    await store.append("ns0", sub(150))
    assert await store.reset("ns0") == 76
    assert await ids(store, namespace="ns0") == []


async def test_sends_filed_together_evict_and_read_back_as_if_filed_one_by_one(
    make_store: Factory,
) -> None:
    # Sends appended in one turn of the event loop may be filed as one run (memory store);
    # a run longer than the ring, and one whose records fill more than one 1 MiB chunk of
    # the arena, must end as one-by-one filing would.
    store = make_store(max_messages=5)
    await store.open()
    try:
        await asyncio.gather(*(store.append("ns", sub(n)) for n in range(12)))
        assert await ids(store, namespace="ns") == [f"m-{n}-0" for n in range(7, 12)]
        usage = await store.namespace_usage("ns")
        assert usage is not None
        assert (usage["messages"], usage["evicted_messages"]) == (5, 7)
        big = "é" * 150_000  # 300 KB a record: a run of 8 spans three chunks
        await asyncio.gather(*(store.append("big", sub(n, text=big)) for n in range(20, 28)))
        page = await store.query(MessageFilter(namespace="big"), limit=100)
        assert [m.id for m in page.items] == [f"m-{n}-0" for n in range(23, 28)]
        for m in page.items:
            n = int(m.id.split("-")[1])
            assert (m.text, m.sender) == (big, f"S{n}")
            exchange = await store.submission(f"sub-{n}", "big")
            assert exchange is not None
            assert exchange["request"]["n"] == n
    finally:
        await store.close()


async def test_control_documents(make_store: Factory) -> None:
    store = make_store(max_keys=2, max_value_bytes=100)
    await store.open()
    try:
        assert await store.get_control("ns", "clock") is None
        assert await store.put_control("ns", "clock", {"frozen": 5.0})
        assert await store.put_control("ns", "seed", 42)
        assert not await store.put_control("ns", "faults", [])
        assert await store.get_control("ns", "clock") == {"frozen": 5.0}
        with pytest.raises(ValueError, match="at most 100 bytes"):
            await store.put_control("ns", "clock", "x" * 200)
        assert await store.delete_control("ns", "clock")
        assert not await store.delete_control("ns", "clock")
    finally:
        await store.close()


def test_headers_and_values_are_bounded_with_what_was_dropped_said() -> None:
    bounds = RecordBounds(max_headers=2, max_header_bytes=30, max_value_bytes=20)
    kept = bound_headers({"a": "1", "b": "2", "c": "3", "big": "x" * 100}, bounds)
    assert kept == {
        "a": "1",
        "b": "2",
        "(truncated)": "2 header(s), 105 bytes not kept (limits: 2 headers, 30 bytes)",
    }
    assert bound_value({"k": [1, 2]}, bounds) == ({"k": [1, 2]}, 11, False)
    preview, size, truncated = bound_value("y" * 10_000, bounds)
    assert (size, truncated) == (10_002, True)
    assert preview == '"' + "y" * 19 + "…"
    assert bound_value(b"\xff\x00ab", bounds)[0] == "\\xff\x00ab"


async def test_a_sparse_filter_gives_short_pages_that_still_cover_everything(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mockserver.store.memory
    import mockserver.store.sqlite

    for module in (mockserver.store.memory, mockserver.store.sqlite):
        monkeypatch.setattr(module, "MAX_SCAN", 5)
    for n in range(40):
        await store.append(f"ns{n % 3}", sub(n, text="needle" if n in (3, 17, 38) else "hay"))
    for descending in (False, True):
        found: list[str] = []
        pages = 0
        cursor = None
        while True:
            page = await store.query(
                MessageFilter(text="needle"), cursor=cursor, limit=2, descending=descending
            )
            pages += 1
            assert len(page.items) <= 2
            found += [m.id for m in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        expected = ["m-3-0", "m-17-0", "m-38-0"]
        assert found == (expected[::-1] if descending else expected)
        assert pages > 3  # the scan really was cut short
    found_first = await store.wait(MessageFilter(text="needle"), timeout=1)
    assert found_first is not None
    assert found_first.id == "m-3-0"
