"""Attachments' bytes in every store back-end, through public verbs only; and the SQLite
store's files and its migration from the schema before them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from mockserver.errors import StoreFullError
from mockserver.store import (
    Media,
    MessageFilter,
    Recipient,
    StoredMedia,
    StoreLimits,
    Submission,
)
from mockserver.store.records import EXCHANGE_FIELDS, HEAD_FIELDS, ROW_FIELDS
from mockserver.store.sqlite import MIGRATIONS, SCHEMA, SQLiteStore

from .conftest import StoreFactory

pytestmark = pytest.mark.anyio

Factory = StoreFactory


def mms(n: int, *blobs: bytes, recipients: int = 1) -> Submission:
    """A submission with one attachment per blob (named and typed after ``n``)."""
    return Submission(
        id=f"sub-{n}",
        provider="zoho_voice",
        operation="op",
        created_at=1_700_000_000.0 + n,
        sender="S",
        text=f"text {n}",
        encoding="GSM-7",
        recipients=tuple(
            Recipient(id=f"m-{n}-{k}", to=f"+1415555{n:02d}{k:02d}") for k in range(recipients)
        ),
        media=tuple(
            Media(f"f{n}-{i}.bin", None if i else "image/png", len(b), "00" * 32, f"p{n}-{i}")
            for i, b in enumerate(blobs)
        ),
        media_data=blobs,
    )


async def test_attachments_are_kept_within_their_own_budget(make_store: Factory) -> None:
    store = make_store(max_kept_media_bytes=300)
    await store.open()
    try:
        await store.append("a", mms(1, b"\x00" * 100, b"\r\n" * 50))
        assert await store.media("a", "sub-1", 0) == StoredMedia(
            b"\x00" * 100, "image/png", "f1-0.bin"
        )
        assert await store.media("a", "sub-1", 1) == StoredMedia(b"\r\n" * 50, None, "f1-1.bin")
        assert await store.media("a", "sub-1", 2) is None
        assert await store.media("b", "sub-1", 0) is None  # another namespace's
        assert await store.kept_media("a", "sub-1") == {0, 1}
        await store.append("b", mms(2, b"y" * 150))  # 350 bytes: the oldest one goes
        assert await store.kept_media("a", "sub-1") == {1}
        assert await store.media("a", "sub-1", 0) is None
        usage = await store.usage()
        assert usage["media"] == {"kept": 2, "bytes": 250}
        assert usage["evicted"]["media"] == 1
        assert usage["evicted"]["messages"] == 0
        assert usage["messages"] == 2  # the messages stay
        await store.append("b", mms(3, b"z" * 301))  # larger than the budget: never kept
        assert await store.kept_media("b", "sub-3") == frozenset()
        assert (await store.usage())["evicted"]["media"] == 2
        assert await store.kept_media("b", "sub-2") == {0}
    finally:
        await store.close()


async def test_attachments_go_with_their_messages_namespace_or_reset(make_store: Factory) -> None:
    store = make_store(max_messages=3, max_namespaces=2)
    await store.open()
    try:
        await store.append("a", mms(1, b"1" * 10, recipients=2))
        await store.append("a", mms(2, b"2" * 10))
        assert (await store.usage())["media"] == {"kept": 2, "bytes": 20}
        # One message of sub-1 is evicted: its attachment stays with the other.
        await store.append("a", mms(3))
        assert await store.kept_media("a", "sub-1") == {0}
        await store.append("a", mms(4))  # and now the other
        assert await store.kept_media("a", "sub-1") == frozenset()
        assert await store.media("a", "sub-2", 0) == StoredMedia(b"2" * 10, "image/png", "f2-0.bin")
        usage = await store.usage()
        assert usage["media"] == {"kept": 1, "bytes": 10}
        assert usage["evicted"]["media"] == 0  # the messages' eviction is what is counted
        await store.append("b", mms(5, b"5" * 10))
        await store.append("c", mms(6, b"6" * 10))  # evicts namespace a, the least recent
        assert await store.media("a", "sub-2", 0) is None
        assert (await store.usage())["media"] == {"kept": 2, "bytes": 20}
        await store.reset("b")
        assert await store.kept_media("b", "sub-5") == frozenset()
        assert await store.kept_media("c", "sub-6") == {0}
        await store.reset()
        assert (await store.usage())["media"] == {"kept": 0, "bytes": 0}
    finally:
        await store.close()


async def test_a_send_without_attachments_keeps_none(make_store: Factory) -> None:
    store = make_store()
    await store.open()
    try:
        await store.append("a", mms(1))
        assert await store.kept_media("a", "sub-1") == frozenset()
        assert (await store.usage())["media"] == {"kept": 0, "bytes": 0}
    finally:
        await store.close()


async def test_a_refused_send_leaves_no_file(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "mock.sqlite3", StoreLimits(max_messages=1, on_full="reject"))
    await store.open()
    try:
        await store.append("a", mms(1, b"kept"))
        with pytest.raises(StoreFullError, match="the limit is 1"):
            await store.append("a", mms(2, b"refused"))
        files = list((tmp_path / "mock.sqlite3-media").iterdir())
        assert [f.read_bytes() for f in files] == [b"kept"]
    finally:
        await store.close()


async def test_files_no_row_names_are_swept_when_the_store_opens(tmp_path: Path) -> None:
    db = tmp_path / "mock.sqlite3"
    store = SQLiteStore(db)
    await store.open()
    await store.append("a", mms(1, b"kept"))
    await store.close()
    directory = Path(f"{db}-media")
    (directory / ("ab" * 16)).write_bytes(b"left by a crash before its row was committed")
    (directory / "notes.txt").write_text("not the store's")
    store = SQLiteStore(db)
    await store.open()
    try:
        assert sorted(f.read_bytes() for f in directory.iterdir()) == [b"kept", b"not the store's"]
        assert await store.media("a", "sub-1", 0) is not None
    finally:
        await store.close()


def version_1(record: bytes, names: tuple[str, ...]) -> bytes:
    """``record`` in the journal layout of version 1 (named keys), as older files hold it."""
    return orjson.dumps({"v": 1, **dict(zip(names, orjson.loads(record)[1:], strict=True))})


async def test_a_file_of_the_schema_before_media_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    old = mms(1)
    head, exchange, rows = old.encode()
    head, exchange = version_1(head, HEAD_FIELDS), version_1(exchange, EXCHANGE_FIELDS)
    rows = [version_1(row, ROW_FIELDS) for row in rows]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    conn.execute("INSERT INTO submissions VALUES ('a', 'sub-1', ?, ?)", (head, exchange))
    conn.execute(
        "INSERT INTO messages (namespace, id, sub, provider, to_number, status, row) "
        "VALUES ('a', 'm-1-0', 'sub-1', 'zoho_voice', '+14155550100', 'queued', ?)",
        (rows[0],),
    )
    conn.execute("INSERT INTO namespaces (name, last_used) VALUES ('a', 1)")
    conn.close()
    assert SCHEMA == 3
    store = SQLiteStore(db)
    await store.open()
    try:
        found = await store.get("m-1-0", "a")
        assert found is not None
        assert found.text == "text 1"
        await store.append("a", mms(2, b"new"))
        assert await store.media("a", "sub-2", 0) == StoredMedia(b"new", "image/png", "f2-0.bin")
        page = await store.query(MessageFilter(namespace="a"))
        assert [m.id for m in page.items] == ["m-1-0", "m-2-0"]
    finally:
        await store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()


async def test_an_attachment_whose_file_is_lost_reads_as_not_kept(tmp_path: Path) -> None:
    # A power cut can lose a file whose row was committed (synchronous=NORMAL): the store
    # then says it is not kept rather than failing.
    store = SQLiteStore(tmp_path / "mock.sqlite3")
    await store.open()
    try:
        await store.append("a", mms(1, b"one", b"two"))
        first = sorted((tmp_path / "mock.sqlite3-media").iterdir(), key=lambda f: f.read_bytes())
        first[0].unlink()  # b"one"
        assert await store.media("a", "sub-1", 0) is None
        assert await store.kept_media("a", "sub-1") == {1}
        await store.reset()
        assert (await store.usage())["media"] == {"kept": 0, "bytes": 0}
    finally:
        await store.close()
