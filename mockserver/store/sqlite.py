"""SQLite store: the default for ``sms-mockserver serve``; state survives restarts and kill -9.

Python's own :mod:`sqlite3` with three threads, so the event loop never waits for the disk:

- **one writer thread** owns the write connection.  Every write verb queues an operation and
  awaits its future; the writer takes everything queued, runs it in *one* transaction and
  commits, then answers every caller with one wake-up per event loop.  An operation that
  refuses (a full namespace in reject mode) does so before it writes anything, so it fails
  alone; the appends of a batch are inserted together, and ring evictions are counted at once
  but their rows deleted once per batch.  This group commit is what keeps
  throughput up under many concurrent senders, and is why this is not aiosqlite (one thread
  per connection, a commit per call);
- **one reader thread** answers queries on its own connection: the write-ahead log lets it
  read while the writer writes;
- **one checkpointer thread** copies the WAL back into the database (a checkpoint, with its
  ``fsync``) on its own connection soon after commits, rather than the writer every 1,000
  pages: a checkpoint in the writer held every caller of its batch for the copy and the
  ``fsync``.  Measured side by side (Zoho SQLite send, served as ``make bench`` serves it,
  three alternating 6 s runs): 2,697-2,993 req/s with the writer checkpointing, 2,907-3,220
  with this thread.  When the thread falls behind, the writer checkpoints itself past
  :data:`WAL_BACKSTOP_PAGES`, so the WAL stays bounded; SQLite cuts the file back to
  :data:`WAL_KEEP_BYTES` when it starts over.

``journal_mode=WAL`` with ``synchronous=NORMAL``: a commit has reached the operating system
when it returns, so it survives the process being killed (``kill -9``); only an OS crash or
power loss could lose the last transactions.  A caller's write is answered after its commit.

The bounds are :class:`~mockserver.store.base.Ledger`'s, shared with the memory store; the
writer keeps the ledger, and rebuilds it from the tables when the file is opened.

Attachments' bytes are files in ``<file>-media/`` (:class:`~mockserver.store.media.MediaFiles`),
not BLOBs in rows: a row of the ``media`` table names each.  A file is written before its row
is committed (so an answered send has its bytes on disk) and removed after its row's deletion
is committed; files no row names (a crash in between) are removed when the store opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import MockServerError, StoreFullError
from .base import (
    MAX_SCAN,
    MESSAGE_OVERHEAD,
    SHARED,
    SUBMISSION_OVERHEAD,
    VIOLATION_OVERHEAD,
    Ledger,
    StoreLimits,
)
from .media import MediaFiles
from .records import (
    Message,
    MessageFilter,
    Page,
    StoredMedia,
    Submission,
    Violation,
    decode_exchange,
    decode_head,
    decode_message,
    page_of,
    with_status,
)
from .waiters import Waiters

__all__ = ["SCHEMA", "WAL_BACKSTOP_PAGES", "WAL_KEEP_BYTES", "SQLiteStore"]

#: Migrations, in order: ``MIGRATIONS[n]`` takes a file from version ``n`` to ``n + 1``.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace TEXT NOT NULL,
        id TEXT NOT NULL,
        sub TEXT NOT NULL,
        provider TEXT NOT NULL,
        to_number TEXT NOT NULL,
        status TEXT NOT NULL,
        row BLOB NOT NULL
    );
    CREATE INDEX messages_by_namespace ON messages (namespace, seq);
    CREATE INDEX messages_by_id ON messages (id);
    CREATE INDEX messages_by_recipient ON messages (to_number, seq);
    CREATE TABLE submissions (
        namespace TEXT NOT NULL,
        id TEXT NOT NULL,
        head BLOB NOT NULL,
        exchange BLOB NOT NULL,
        PRIMARY KEY (namespace, id)
    );
    CREATE TABLE violations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace TEXT NOT NULL,
        provider TEXT NOT NULL,
        blob BLOB NOT NULL
    );
    CREATE INDEX violations_by_namespace ON violations (namespace, seq);
    CREATE TABLE accounts (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        expires_at REAL,
        PRIMARY KEY (namespace, key)
    );
    CREATE TABLE control (
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (namespace, name)
    );
    CREATE TABLE namespaces (
        name TEXT PRIMARY KEY,
        last_used INTEGER NOT NULL,
        evicted_messages INTEGER NOT NULL DEFAULT 0,
        evicted_violations INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """,
    # 2: attachments' bytes, kept as files beside the database; a row per attachment.
    """
    CREATE TABLE media (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        namespace TEXT NOT NULL,
        sub TEXT NOT NULL,
        idx INTEGER NOT NULL,
        size INTEGER NOT NULL,
        content_type TEXT,
        filename TEXT NOT NULL,
        file TEXT NOT NULL
    );
    CREATE INDEX media_by_submission ON media (namespace, sub, idx);
    """,
    # The tables are unchanged, but journal records of version 2 (arrays: store/records.py)
    # are written from here on, which an older sms-mockserver would misread: the file's
    # version goes up, so such a version refuses the file by name instead.
    "SELECT 1",
]
#: The schema version this code writes (``PRAGMA user_version``).
SCHEMA = len(MIGRATIONS)

#: WAL pages (of 4 KiB) past which the writer checkpoints itself: the checkpointer thread has
#: fallen behind.
WAL_BACKSTOP_PAGES = 4000
#: What is kept of the WAL file once a checkpoint lets it start over (SQLite
#: ``journal_size_limit``).
WAL_KEEP_BYTES = 4 * 1024 * 1024
#: How long the checkpointer waits after a commit, so that one checkpoint covers several.
_CHECKPOINT_DELAY = 0.05
#: Rows inserted by one executemany call before the writer lets other threads run.
_INSERT_SLICE = 500
_NAMESPACED = ("messages", "submissions", "violations", "accounts", "control", "namespaces")
_MESSAGE_COLUMNS = "m.seq, m.namespace, m.row, s.head"
_JOIN = "messages m JOIN submissions s ON s.namespace = m.namespace AND s.id = m.sub"


@dataclass(slots=True)
class _Op:
    run: Callable[[sqlite3.Connection], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


def _answer_all(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in items:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _message(row: tuple[int, str, bytes, bytes]) -> Message:
    return decode_message(row[0], row[1], row[2], decode_head(row[3]))


class SQLiteStore:
    """The :class:`~mockserver.store.base.Store` in a SQLite file."""

    def __init__(self, path: str | Path, limits: StoreLimits | None = None) -> None:
        self.path = Path(path)
        self.url = f"sqlite://{self.path}"
        self.limits = limits or StoreLimits()
        self._ledger = Ledger(self.limits)
        self._lock = threading.Lock()  # guards the ledger (the writer changes it)
        self._waiters = Waiters()
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        #: Set by the writer after a commit, cleared by the checkpointer; ``_closing`` stops it.
        self._committed = threading.Event()
        self._closing = False
        self._reader: ThreadPoolExecutor | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._opening = threading.Lock()
        self._clock = 0  # LRU order of namespaces, persisted as last_used
        # Work the writer does once per batch rather than once per operation: the rows of
        # ring evictions (already counted in the ledger), the namespaces used, and the
        # batch's appends, inserted together by _flush.
        self._pending: dict[str, int] = {}
        self._touched: dict[str, int] = {}
        self._new_subs: list[tuple[str, str, bytes, bytes]] = []
        self._new_messages: list[tuple[str, str, str, str, str, str, bytes]] = []
        self._announce: list[tuple[int, str, bytes, list[bytes]]] = []
        self._fresh: list[Message] = []
        #: Keys in the shared namespace (tokens), for /_mock/health without a query.
        self._shared_keys = 0
        self._files = MediaFiles(self.path)
        #: Files whose rows this batch deleted: removed once the deletion is committed.
        self._doomed: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _open_sync(self) -> None:
        with self._opening:
            if self._writer is not None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            conn.execute("PRAGMA journal_mode = WAL")
            # The writer's page cache: 16 MiB instead of SQLite's 2 MiB. Inserting a
            # 10,000-recipient send touches pages all over the id index (random UUIDs); with
            # the small cache its insert took 93-133 ms, and evicting as many 50-64 ms; with
            # this one 57-100 and 32-45 (in-process, the same machine and hour).
            conn.execute("PRAGMA cache_size = -16384")
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_KEEP_BYTES}")
            self._migrate(conn)
            self._rebuild(conn)
            self._files.sweep({name for (name,) in conn.execute("SELECT file FROM media")})
            self._closing = False
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop,
                args=(self._connect(),),
                name="sms-mockserver-checkpoint",
                daemon=True,
            )
            self._checkpointer.start()
            self._writer = threading.Thread(
                target=self._write_loop, args=(conn,), name="sms-mockserver-sqlite", daemon=True
            )
            self._writer.start()
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="sms-mockserver-read")

    async def open(self) -> None:
        """Create or migrate the file and start the writer and reader threads (idempotent)."""
        if self._writer is None:
            await asyncio.to_thread(self._open_sync)

    async def close(self) -> None:
        """Finish every queued write, then stop the threads and close the file."""
        writer, reader = self._writer, self._reader
        if writer is None:
            return
        self._queue.put(None)
        await asyncio.to_thread(writer.join)
        if self._checkpointer is not None:
            self._closing = True
            self._committed.set()
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        if reader is not None:
            await asyncio.to_thread(reader.shutdown)
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None
        self._writer = self._reader = None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA:
            conn.close()
            raise MockServerError(
                f"sms-mockserver: {self.path} has schema version {version}, newer than this "
                f"sms-mockserver knows ({SCHEMA}); upgrade sms-mockserver or use another file"
            )
        for step in range(version, SCHEMA):
            conn.executescript(
                f"BEGIN; {MIGRATIONS[step]}; PRAGMA user_version = {step + 1}; COMMIT;"
            )

    def _rebuild(self, conn: sqlite3.Connection) -> None:
        """The ledger from the tables: counts, bytes, evictions and LRU order."""
        ledger = Ledger(self.limits)
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        ledger.evicted_namespaces = meta.get("evicted_namespaces", 0)
        ledger._gone_messages = meta.get("gone_messages", 0)
        ledger._gone_violations = meta.get("gone_violations", 0)
        ledger.evicted_media = meta.get("evicted_media", 0)
        ledger.media, ledger.media_bytes = conn.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM media"
        ).fetchone()
        for name, last, ev_m, ev_v in conn.execute(
            "SELECT name, last_used, evicted_messages, evicted_violations FROM namespaces "
            "ORDER BY last_used"
        ):
            stats = ledger.use(name)
            stats.evicted_messages, stats.evicted_violations = ev_m, ev_v
            self._clock = max(self._clock, last)
        for name, count, size in conn.execute(
            f"SELECT namespace, count(*), sum(length(row)) + count(*) * {MESSAGE_OVERHEAD} "
            "FROM messages GROUP BY namespace"
        ):
            stats = ledger.peek(name) or ledger.use(name)
            stats.messages, stats.bytes = count, stats.bytes + size
            ledger.total_messages += count
            ledger.total_bytes += size
        for name, size in conn.execute(
            "SELECT namespace, sum(length(head) + length(exchange)) + "
            f"count(*) * {SUBMISSION_OVERHEAD} FROM submissions GROUP BY namespace"
        ):
            ledger.grew(name, size) if ledger.peek(name) else None
        for name, count, size in conn.execute(
            f"SELECT namespace, count(*), sum(length(blob)) + count(*) * {VIOLATION_OVERHEAD} "
            "FROM violations GROUP BY namespace"
        ):
            stats = ledger.peek(name) or ledger.use(name)
            stats.violations = count
            ledger.grew(name, size)
        self._ledger = ledger
        self._shared_keys = conn.execute(
            "SELECT count(*) FROM accounts WHERE namespace = ?", (SHARED,)
        ).fetchone()[0]

    # ------------------------------------------------------------------ threads

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while self._next_batch(conn):
            pass
        conn.close()

    def _checkpoint_loop(self, conn: sqlite3.Connection) -> None:
        """Checkpoint the WAL soon after commits, until the store closes (a PASSIVE
        checkpoint: it never makes the writer or a reader wait)."""
        try:
            while True:
                self._committed.wait()
                if not self._closing:
                    time.sleep(_CHECKPOINT_DELAY)
                self._committed.clear()
                # Read after the clear: close() sets _closing before it sets the event, so
                # a close is never missed (the wait above would then never end).
                if self._closing:
                    return
                # A failed checkpoint is tried again after the next commit; the WAL stays
                # valid meanwhile, and the writer's backstop bounds it.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    def _next_batch(self, conn: sqlite3.Connection) -> bool:
        """Wait for writes and commit them as one batch; False once the store is closing.

        A function of its own so that nothing of a batch stays referenced while the thread
        waits for the next one: a loop variable kept a 10,000-recipient submission alive
        (35 MB) until the next write came (``bench/store_bounds.py``, big_send).
        """
        first = self._queue.get()
        if first is None:
            return False
        batch = [first]
        more = True
        while len(batch) < 1024:
            try:
                op = self._queue.get_nowait()
            except queue.Empty:
                break
            if op is None:
                more = False
                break
            batch.append(op)
        self._run_batch(conn, batch)
        return more

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        results: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in batch:
                # An operation refuses (StoreFullError, ValueError) before it writes
                # anything, so a refusal needs no savepoint; anything else fails the batch.
                try:
                    with self._lock:
                        result = op.run(conn)
                except (StoreFullError, ValueError) as exc:
                    results.append((None, exc))
                else:
                    results.append((result, None))
            # The inserts run without the lock: the lists they read belong to this thread,
            # and a 10,000-row insert under the lock held every ``usage()``
            # (``/_mock/health``), and so the event loop, for tens of milliseconds
            # (``bench/store_bounds.py``, big_send).
            self._insert_new(conn)
            with self._lock:
                self._evict_pending(conn)
            conn.execute("COMMIT")
            self._committed.set()
            if self._doomed:
                doomed, self._doomed = self._doomed, []
                self._files.remove(doomed)
        except Exception as exc:
            # The whole transaction is lost: fail every caller and re-read the truth.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failed = MockServerError(f"sms-mockserver: writing {self.path} failed: {exc}")
            results = [(None, failed)] * len(batch)
            self._fresh = []
            self._new_subs.clear()
            self._new_messages.clear()
            self._announce.clear()
            self._pending.clear()
            self._touched.clear()
            self._doomed.clear()  # their rows are back
            with self._lock:
                self._rebuild(conn)
        notify, self._fresh = self._fresh, []
        answers: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, Any]]] = {}
        for op, (result, error) in zip(batch, results, strict=True):
            if error is None and isinstance(result, _Notify):
                notify += result.messages
                result = result.value
            answers.setdefault(op.loop, []).append((op.future, result, error))
        # One wake-up per event loop and batch, not one per caller.
        for loop, items in answers.items():
            # A loop that has closed meanwhile has nobody left to answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_answer_all, items)
        if notify:
            self._waiters.offer(notify)

    async def _write(self, run: Callable[[sqlite3.Connection], Any]) -> Any:
        if self._writer is None:
            await self.open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Op(run, loop, future))
        return await future

    def _read_sync(self, run: Callable[[sqlite3.Connection], Any]) -> Any:
        if self._read_conn is None:
            self._read_conn = self._connect()
        return run(self._read_conn)

    async def _read(self, run: Callable[[sqlite3.Connection], Any]) -> Any:
        if self._writer is None:
            await self.open()
        assert self._reader is not None
        return await asyncio.get_running_loop().run_in_executor(self._reader, self._read_sync, run)

    # ------------------------------------------------------------------ bookkeeping

    def _touch(self, conn: sqlite3.Connection, namespace: str, new: bool | None = None) -> None:
        """Mark ``namespace`` most recently used; evict idle ones beyond ``max_namespaces``."""
        self._clock += 1
        if new is None:
            new = self._ledger.peek(namespace) is None
        self._ledger.use(namespace)
        self._touched[namespace] = self._clock
        if new:
            conn.execute(
                "INSERT OR IGNORE INTO namespaces (name, last_used) VALUES (?, ?)",
                (namespace, self._clock),
            )
            for victim in self._ledger.surplus_namespaces(keep=namespace):
                self._ledger.forget(victim, evicted=True)
                self._drop(conn, victim)
                self._save_meta(conn)

    def _flush(self, conn: sqlite3.Connection) -> None:
        """The batch's deferred work: insert its appends, delete ring-evicted rows, keep the
        byte budget, and record each namespace's last use.  Called with the lock held, by an
        operation that must see what the batch appended before it."""
        self._insert_new(conn)
        self._evict_pending(conn)

    def _insert_new(self, conn: sqlite3.Connection) -> None:
        if self._new_messages:
            conn.executemany(
                "INSERT OR REPLACE INTO submissions (namespace, id, head, exchange) "
                "VALUES (?, ?, ?, ?)",
                self._new_subs,
            )
            insert = (
                "INSERT INTO messages (namespace, id, sub, provider, to_number, status, row) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)"
            )
            new = self._new_messages
            for start in range(0, len(new), _INSERT_SLICE):
                if start:
                    # Binding rows holds the GIL: let the event loop in between slices, so
                    # a 10,000-recipient send does not hold other clients' answers.
                    time.sleep(0)
                conn.executemany(insert, new[start : start + _INSERT_SLICE])
            if self._announce:
                # One writer, one executemany: the rows got consecutive seqs.
                last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                first = last - len(self._new_messages) + 1
                for offset, namespace, head, rows in self._announce:
                    decoded = decode_head(head)
                    self._fresh += [
                        decode_message(first + offset + k, namespace, row, decoded)
                        for k, row in enumerate(rows)
                    ]
            self._new_subs.clear()
            self._new_messages.clear()
            self._announce.clear()

    def _evict_pending(self, conn: sqlite3.Connection) -> None:
        for namespace, count in self._pending.items():
            if self._ledger.peek(namespace) is not None:
                freed = self._delete_oldest(conn, namespace, count)[1]
                self._ledger.grew(namespace, -freed)
                self._count_evicted(conn, namespace, count)
        self._pending.clear()
        current = next(reversed(self._touched), "")
        while self._ledger.over_budget():
            victim = self._ledger.budget_victim(current)
            if victim is None:
                break
            count, freed = self._delete_oldest(conn, victim, 1)
            self._ledger.evicted(victim, count, freed)
            self._count_evicted(conn, victim, count)
        conn.executemany(
            "UPDATE namespaces SET last_used = ? WHERE name = ?",
            [(clock, name) for name, clock in self._touched.items()],
        )
        self._touched.clear()

    @staticmethod
    def _count_evicted(conn: sqlite3.Connection, namespace: str, count: int) -> None:
        conn.execute(
            "UPDATE namespaces SET evicted_messages = evicted_messages + ? WHERE name = ?",
            (count, namespace),
        )

    def _drop(self, conn: sqlite3.Connection, namespace: str) -> None:
        self._flush(conn)  # appends queued before the drop go with it, not after
        self._pending.pop(namespace, None)
        self._touched.pop(namespace, None)
        self._drop_media(conn, "namespace = ?", (namespace,))
        for table in _NAMESPACED:
            column = "name" if table == "namespaces" else "namespace"
            conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (namespace,))

    def _save_meta(self, conn: sqlite3.Connection) -> None:
        ledger = self._ledger
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [
                ("evicted_namespaces", ledger.evicted_namespaces),
                ("gone_messages", ledger._gone_messages),
                ("gone_violations", ledger._gone_violations),
                ("evicted_media", ledger.evicted_media),
            ],
        )

    def _drop_media(
        self, conn: sqlite3.Connection, where: str, args: Sequence[Any], *, evicted: bool = False
    ) -> None:
        """Delete the media rows ``where`` selects; their files go once this commits."""
        if not self._ledger.media:
            return  # nothing is kept: no query on the paths every send takes
        rows = conn.execute(f"SELECT file, size FROM media WHERE {where}", args).fetchall()
        if rows:
            conn.execute(f"DELETE FROM media WHERE {where}", args)
            self._doomed += [row[0] for row in rows]
            self._ledger.media_dropped(len(rows), sum(row[1] for row in rows), evicted=evicted)

    def _keep_media(
        self, conn: sqlite3.Connection, namespace: str, submission: Submission, files: list[str]
    ) -> None:
        """Name a submission's attachment files (``files``: one per attachment that fits the
        budget, written already) in the media table; the oldest go beyond the budget."""
        ledger = self._ledger
        names = iter(files)
        rows: list[tuple[str, str, int, int, str | None, str, str]] = []
        sub_id = submission.id
        for i, (data, meta) in enumerate(zip(submission.media_data, submission.media, strict=True)):
            if ledger.media_fits(len(data)):
                size, name = len(data), next(names)
                rows.append((namespace, sub_id, i, size, meta.content_type, meta.filename, name))
                ledger.media_added(size)
        conn.executemany(
            "INSERT INTO media (namespace, sub, idx, size, content_type, filename, file) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        before = ledger.evicted_media
        while ledger.media_over_budget():
            (oldest,) = conn.execute("SELECT min(seq) FROM media").fetchone()
            if oldest is None:
                break
            self._drop_media(conn, "seq = ?", (oldest,), evicted=True)
        if ledger.evicted_media != before or len(rows) < len(submission.media_data):
            self._save_meta(conn)

    def _delete_oldest(
        self, conn: sqlite3.Connection, namespace: str, count: int
    ) -> tuple[int, int]:
        """Delete the ``count`` oldest messages of ``namespace`` and the submissions left
        with none; returns (messages deleted, bytes freed as the budget counts them)."""
        rows = conn.execute(
            "SELECT seq, sub, length(row) FROM messages WHERE namespace = ? ORDER BY seq LIMIT ?",
            (namespace, count),
        ).fetchall()
        if not rows:
            return 0, 0
        floor = rows[-1][0]
        conn.execute("DELETE FROM messages WHERE namespace = ? AND seq <= ?", (namespace, floor))
        freed = sum(r[2] for r in rows) + MESSAGE_OVERHEAD * len(rows)
        # A submission's messages are appended together, so only the submission of the first
        # message left can still have some: every other one goes (found by key, no scan).
        left = conn.execute(
            "SELECT sub FROM messages WHERE namespace = ? AND seq > ? ORDER BY seq LIMIT 1",
            (namespace, floor),
        ).fetchone()
        dead = [sub for sub in dict.fromkeys(r[1] for r in rows) if left is None or sub != left[0]]
        for start in range(0, len(dead), 500):
            part = dead[start : start + 500]
            where = f"namespace = ? AND id IN ({', '.join('?' * len(part))})"
            size, found = conn.execute(
                "SELECT coalesce(sum(length(head) + length(exchange)), 0), count(*) "
                f"FROM submissions WHERE {where}",
                (namespace, *part),
            ).fetchone()
            conn.execute(f"DELETE FROM submissions WHERE {where}", (namespace, *part))
            freed += size + SUBMISSION_OVERHEAD * found
            # Their attachments go with them (not counted as evicted media: the messages are).
            marks = ", ".join("?" * len(part))
            self._drop_media(conn, f"namespace = ? AND sub IN ({marks})", (namespace, *part))
        return len(rows), freed

    # ------------------------------------------------------------------ journal

    async def append(self, namespace: str, submission: Submission) -> None:
        """Keep a submission and its messages; durable when this returns.

        The submission is encoded in the writer thread, with the rest of its group commit:
        encoding the group's submissions one after another measured cheaper than encoding
        each in the middle of its own request (``make bench``, Zoho SQLite).
        """
        n = len(submission.recipients)
        files: list[str] = []
        if submission.media_data:
            # Written before the row is queued, off the event loop and outside the writer's
            # lock (a 10 MiB write under it would hold /_mock/health).
            budget = self.limits.max_kept_media_bytes
            fits = [data for data in submission.media_data if len(data) <= budget]
            files = await asyncio.to_thread(self._files.write, fits)

        def run(conn: sqlite3.Connection) -> None:
            ledger = self._ledger
            new = ledger.peek(namespace) is None
            excess = ledger.ring_excess(namespace, n)  # may raise StoreFullError: before SQL
            head, exchange, rows = submission.encode()
            size = len(head) + len(exchange) + SUBMISSION_OVERHEAD
            size += sum(map(len, rows)) + MESSAGE_OVERHEAD * n
            self._touch(conn, namespace, new)
            if excess:
                # Counted now; the rows are deleted (and their bytes freed) once per batch.
                ledger.evicted(namespace, excess, 0)
                self._pending[namespace] = self._pending.get(namespace, 0) + excess
            if self._waiters.wanted(namespace):
                self._announce.append((len(self._new_messages), namespace, head, rows))
            self._new_subs.append((namespace, submission.id, head, exchange))
            sub_id, provider = submission.id, submission.provider
            self._new_messages += [
                (namespace, r.id, sub_id, provider, r.to, r.status, row)
                for r, row in zip(submission.recipients, rows, strict=True)
            ]
            ledger.added(namespace, n, size)
            if submission.media_data:
                self._keep_media(conn, namespace, submission, files)

        try:
            await self._write(run)
        except Exception:
            # Refused, or the batch rolled back: no row names them.  (Not on cancellation:
            # the queued write may still commit; if it does not, the sweep on open removes
            # the files.)
            if files:
                await asyncio.to_thread(self._files.remove, files)
            raise

    async def get(
        self, message_id: str, namespace: str | None = None, *, seq: int = 0
    ) -> Message | None:
        """One message by id."""

        def run(conn: sqlite3.Connection) -> Message | None:
            sql = f"SELECT {_MESSAGE_COLUMNS} FROM {_JOIN} WHERE m.id = ?"
            args: list[Any] = [message_id]
            if namespace is not None:
                sql += " AND m.namespace = ?"
                args.append(namespace)
            row = conn.execute(sql + " ORDER BY m.seq DESC LIMIT 1", args).fetchone()
            return _message(row) if row else None

        found: Message | None = await self._read(run)
        return found

    async def submission(self, submission_id: str, namespace: str) -> dict[str, Any] | None:
        """A submission's exchange by id."""

        def run(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(
                "SELECT exchange FROM submissions WHERE namespace = ? AND id = ?",
                (namespace, submission_id),
            ).fetchone()
            return row[0] if row else None

        blob = await self._read(run)
        return decode_exchange(blob) if blob is not None else None

    async def query(
        self,
        where: MessageFilter,
        *,
        cursor: int | None = None,
        limit: int = 100,
        descending: bool = False,
    ) -> Page:
        """A page of messages after ``cursor``."""

        def run(conn: sqlite3.Connection) -> tuple[list[Message], list[int]]:
            return self._select(conn, where, cursor, limit + 1, descending)

        items, stops = await self._read(run)
        return page_of(items, limit, stops, descending)

    @staticmethod
    def _select(
        conn: sqlite3.Connection,
        where: MessageFilter,
        cursor: int | None,
        count: int,
        descending: bool,
    ) -> tuple[list[Message], list[int]]:
        """Up to ``count`` matching messages, and where the scan stopped if it was cut short:
        a filter SQL cannot apply (``text``) examines at most MAX_SCAN rows per page."""
        clauses: list[str] = []
        args: list[str | int] = []
        for column, value in (
            ("m.namespace", where.namespace),
            ("m.provider", where.provider),
            ("m.to_number", where.to),
            ("m.status", where.status),
            ("m.sub", where.submission_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if cursor is not None:
            clauses.append("m.seq < ?" if descending else "m.seq > ?")
            args.append(cursor)
        sql = f"SELECT {_MESSAGE_COLUMNS} FROM {_JOIN}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY m.seq DESC" if descending else " ORDER BY m.seq"
        scan = count if where.text is None else MAX_SCAN
        sql += f" LIMIT {int(scan)}"
        out: list[Message] = []
        heads: dict[bytes, dict[str, Any]] = {}
        examined = last = 0
        for seq, namespace, row, head in conn.execute(sql, args):
            examined, last = examined + 1, seq
            decoded = heads.get(head)
            if decoded is None:
                decoded = heads[head] = decode_head(head)
            message = decode_message(seq, namespace, row, decoded)
            if where.matches(message):
                out.append(message)
                if len(out) == count:
                    return out, []
        return out, [last] if examined == scan and scan != count else []

    async def set_status(
        self,
        message_id: str,
        namespace: str,
        status: str,
        at: float,
        reason: str | None = None,
        *,
        seq: int = 0,
    ) -> Message | None:
        """Change a message's status and add the change to its history (``seq`` is not
        needed: the id is indexed)."""

        def run(conn: sqlite3.Connection) -> Any:
            self._flush(conn)  # a message appended earlier in this batch is found
            found = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM {_JOIN} WHERE m.id = ? AND m.namespace = ? "
                "ORDER BY m.seq DESC LIMIT 1",
                (message_id, namespace),
            ).fetchone()
            if found is None:
                return None
            seq, _, old, head = found
            new = with_status(old, status, at, reason)
            conn.execute(
                "UPDATE messages SET row = ?, status = ? WHERE seq = ?", (new, status, seq)
            )
            self._ledger.grew(namespace, len(new) - len(old))
            message = decode_message(seq, namespace, new, decode_head(head))
            return _Notify(message, [message])

        changed: Message | None = await self._write(run)
        return changed

    async def wait(
        self, where: MessageFilter, *, timeout: float, cursor: int | None = None
    ) -> Message | None:
        """The first message matching ``where`` after ``cursor``, waiting for one."""
        if self._writer is None:
            await self.open()
        # Registered before looking, so a message committed in between is offered to it.
        waiter = self._waiters.add(where, cursor)
        self._pin(where.namespace, +1)
        try:
            page = await self.query(where, cursor=cursor, limit=1)
            while not page.items and page.next_cursor is not None:  # a scan cut short
                page = await self.query(where, cursor=page.next_cursor, limit=1)
            if page.items:
                first: Message = page.items[0]
                return first
            return await self._waiters.result(waiter, timeout)
        finally:
            self._waiters.remove(waiter)
            self._pin(where.namespace, -1)

    def _pin(self, namespace: str | None, delta: int) -> None:
        if namespace is None:
            return
        with self._lock:
            stats = self._ledger.peek(namespace)
            if stats is not None:
                stats.waiters = max(0, stats.waiters + delta)

    async def record_violations(self, namespace: str, violations: Sequence[Violation]) -> None:
        """Keep violations; the oldest of the namespace go beyond ``max_violations``."""
        if not violations:
            return
        blobs = [(namespace, v.provider, v.encode()) for v in violations]

        def run(conn: sqlite3.Connection) -> None:
            self._touch(conn, namespace)
            drop = self._ledger.violation_room(namespace, len(blobs))
            size = -self._delete_violations(conn, namespace, drop)
            conn.executemany(
                "INSERT INTO violations (namespace, provider, blob) VALUES (?, ?, ?)", blobs
            )
            size += sum(len(b[2]) for b in blobs) + VIOLATION_OVERHEAD * len(blobs)
            # More in this one call than the ring holds: the oldest of them go too.
            extra = max(0, len(blobs) - self.limits.max_violations)
            size -= self._delete_violations(conn, namespace, extra)
            self._ledger.violations_added(namespace, len(blobs), size, drop + extra)
            conn.execute(
                "UPDATE namespaces SET evicted_violations = evicted_violations + ? WHERE name = ?",
                (drop + extra, namespace),
            )

        await self._write(run)

    @staticmethod
    def _delete_violations(conn: sqlite3.Connection, namespace: str, count: int) -> int:
        """Delete the ``count`` oldest violations of ``namespace``; the bytes freed."""
        if count <= 0:
            return 0
        old = conn.execute(
            "SELECT seq, length(blob) FROM violations WHERE namespace = ? ORDER BY seq LIMIT ?",
            (namespace, count),
        ).fetchall()
        if not old:
            return 0
        conn.execute(
            "DELETE FROM violations WHERE namespace = ? AND seq <= ?", (namespace, old[-1][0])
        )
        return int(sum(r[1] for r in old)) + VIOLATION_OVERHEAD * len(old)

    async def violations(
        self,
        namespace: str | None = None,
        provider: str | None = None,
        *,
        cursor: int | None = None,
        limit: int = 100,
    ) -> Page:
        """A page of violations, oldest first."""

        def run(conn: sqlite3.Connection) -> list[Violation]:
            clauses: list[str] = []
            args: list[str | int] = []
            for column, value in (("namespace", namespace), ("provider", provider)):
                if value is not None:
                    clauses.append(f"{column} = ?")
                    args.append(value)
            if cursor is not None:
                clauses.append("seq > ?")
                args.append(cursor)
            sql = "SELECT seq, namespace, blob FROM violations"
            if clauses:
                sql += " WHERE " + " AND ".join(clauses)
            sql += f" ORDER BY seq LIMIT {int(limit) + 1}"
            return [Violation.decode(s, n, b) for s, n, b in conn.execute(sql, args)]

        items: list[Violation] = await self._read(run)
        more = len(items) > limit
        del items[limit:]
        return Page(items, items[-1].seq if more and items else None)

    async def reset(self, namespace: str | None = None) -> int:
        """Forget one namespace, or all but the shared one; returns messages dropped."""

        def run(conn: sqlite3.Connection) -> int:
            self._flush(conn)  # what was appended before the reset is reset with the rest
            if namespace is not None:
                if namespace == SHARED:
                    return 0
                self._drop(conn, namespace)
                return self._ledger.forget(namespace, evicted=False)
            dropped = 0
            for name in [n for n in self._ledger.spaces if n != SHARED]:
                dropped += self._ledger.forget(name, evicted=False)
                self._touched.pop(name, None)
            self._drop_media(conn, "namespace != ?", (SHARED,))
            for table in _NAMESPACED:
                column = "name" if table == "namespaces" else "namespace"
                conn.execute(f"DELETE FROM {table} WHERE {column} != ?", (SHARED,))
            return dropped

        dropped: int = await self._write(run)
        return dropped

    async def media(self, namespace: str, submission_id: str, index: int) -> StoredMedia | None:
        """The kept bytes of one attachment of a submission (read from its file)."""

        def run(conn: sqlite3.Connection) -> StoredMedia | None:
            row = conn.execute(
                "SELECT content_type, filename, file FROM media WHERE namespace = ? AND sub = ? "
                "AND idx = ? ORDER BY seq DESC LIMIT 1",
                (namespace, submission_id, index),
            ).fetchone()
            data = self._files.read(row[2]) if row else None
            return StoredMedia(data, row[0], row[1]) if row and data is not None else None

        found: StoredMedia | None = await self._read(run)
        return found

    async def kept_media(self, namespace: str, submission_id: str) -> frozenset[int]:
        """Which attachments of a submission are still kept (their files are there)."""

        def run(conn: sqlite3.Connection) -> frozenset[int]:
            rows = conn.execute(
                "SELECT idx, file FROM media WHERE namespace = ? AND sub = ?",
                (namespace, submission_id),
            )
            return frozenset(idx for idx, name in rows if self._files.exists(name))

        kept: frozenset[int] = await self._read(run)
        return kept

    async def usage(self) -> dict[str, Any]:
        """Counts, bytes, evictions and limits."""
        with self._lock:
            data = self._ledger.usage()

            data["tokens"] = self._shared_keys
        data["store"] = self.url
        return data

    async def namespace_usage(self, namespace: str) -> dict[str, int] | None:
        """One namespace's counts and evictions."""
        if self._writer is None:
            await self.open()
        with self._lock:
            stats = self._ledger.peek(namespace)
            return stats.to_json() if stats is not None else None

    # ------------------------------------------------------------------ accounts

    async def get_account(self, namespace: str, key: str, *, now: float) -> Any:
        """The value of ``key``, None when absent or expired."""

        def run(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                "SELECT value, expires_at FROM accounts WHERE namespace = ? AND key = ?",
                (namespace, key),
            ).fetchone()

        row = await self._read(run)
        if row is None or (row[1] is not None and row[1] <= now):
            return None
        return orjson.loads(row[0])

    async def put_account(
        self, namespace: str, key: str, value: Any, *, now: float, expires_at: float | None = None
    ) -> bool:
        """Set ``key``; False when the namespace has no room even after dropping expired keys."""
        blob = self._encode(value)
        cap = self.limits.max_shared_keys if namespace == SHARED else self.limits.max_keys

        def run(conn: sqlite3.Connection) -> bool:
            self._touch(conn, namespace)
            if not self._has_room(conn, "accounts", "key", namespace, key, cap, now):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO accounts (namespace, key, value, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (namespace, key, blob, expires_at),
            )
            if namespace == SHARED:
                self._shared_keys = conn.execute(
                    "SELECT count(*) FROM accounts WHERE namespace = ?", (SHARED,)
                ).fetchone()[0]
            return True

        stored: bool = await self._write(run)
        return stored

    @staticmethod
    def _has_room(
        conn: sqlite3.Connection,
        table: str,
        column: str,
        namespace: str,
        key: str,
        cap: int,
        now: float | None,
    ) -> bool:
        if conn.execute(
            f"SELECT 1 FROM {table} WHERE namespace = ? AND {column} = ?", (namespace, key)
        ).fetchone():
            return True
        count = conn.execute(f"SELECT count(*) FROM {table} WHERE namespace = ?", (namespace,))
        if count.fetchone()[0] < cap:
            return True
        if now is None:
            return False
        conn.execute(
            "DELETE FROM accounts WHERE namespace = ? AND expires_at IS NOT NULL "
            "AND expires_at <= ?",
            (namespace, now),
        )
        count = conn.execute(f"SELECT count(*) FROM {table} WHERE namespace = ?", (namespace,))
        return bool(count.fetchone()[0] < cap)

    async def add_account(
        self, namespace: str, key: str, delta: int, *, start: int, floor: int = 0
    ) -> tuple[int, int] | None:
        """Atomically add ``delta`` to an integer key; None when it would go below ``floor``."""

        def run(conn: sqlite3.Connection) -> tuple[int, int] | None:
            self._touch(conn, namespace)
            row = conn.execute(
                "SELECT value FROM accounts WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
            before = int(orjson.loads(row[0])) if row else start
            after = before + delta
            if after < floor:
                return None
            if row is None and not self._has_room(
                conn, "accounts", "key", namespace, key, self.limits.max_keys, None
            ):
                return None
            conn.execute(
                "INSERT OR REPLACE INTO accounts (namespace, key, value, expires_at) "
                "VALUES (?, ?, ?, NULL)",
                (namespace, key, orjson.dumps(after)),
            )
            return before, after

        result: tuple[int, int] | None = await self._write(run)
        return result

    # ------------------------------------------------------------------ control

    async def get_control(self, namespace: str, name: str) -> Any:
        """A control document, None when absent."""

        def run(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                "SELECT value FROM control WHERE namespace = ? AND name = ?", (namespace, name)
            ).fetchone()

        row = await self._read(run)
        return orjson.loads(row[0]) if row else None

    async def put_control(self, namespace: str, name: str, value: Any) -> bool:
        """Set a control document; False at the entry limit."""
        blob = self._encode(value)

        def run(conn: sqlite3.Connection) -> bool:
            self._touch(conn, namespace)
            if not self._has_room(
                conn, "control", "name", namespace, name, self.limits.max_keys, None
            ):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO control (namespace, name, value) VALUES (?, ?, ?)",
                (namespace, name, blob),
            )
            return True

        stored: bool = await self._write(run)
        return stored

    async def delete_control(self, namespace: str, name: str) -> bool:
        """Remove a control document."""

        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM control WHERE namespace = ? AND name = ?", (namespace, name)
            )
            return cur.rowcount > 0

        removed: bool = await self._write(run)
        return removed

    def _encode(self, value: Any) -> bytes:
        blob = orjson.dumps(value)
        if len(blob) > self.limits.max_value_bytes:
            raise ValueError(
                f"a stored value is at most {self.limits.max_value_bytes} bytes of JSON, "
                f"got {len(blob)}"
            )
        return blob


@dataclass(slots=True)
class _Notify:
    """A write's result with the messages to offer to waiters once it is committed."""

    value: Any
    messages: list[Message]
