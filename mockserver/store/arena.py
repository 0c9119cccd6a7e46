"""The messages of one namespace in memory: encoded records in byte chunks, one flat index.

Nothing per message is a Python object.  A submission's head, exchange and message rows are
appended to the newest chunk (a ``bytearray``); where each message's pieces lie, with its
filter keys (hashes of its id, recipient and submission, and its status), is one row of an
``array('q')``.  Measured against a store that kept each record as its own ``bytes`` object
(``make bench``, Zoho send): about 7 µs less per request, because kept objects scatter the
heap and every later request's short-lived objects then land in cold memory; and the garbage
collector has nothing per message to scan.

Eviction is FIFO (a ring): evicted rows are skipped by moving ``first`` forward; the index is
compacted once its dead front is larger than its live part, and a chunk is released once no
live message refers to it.  A status change appends a new row and points the index at it.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from .base import MESSAGE_OVERHEAD, SUBMISSION_OVERHEAD

__all__ = ["CHUNK_BYTES", "Arena", "status_id", "status_name"]

#: Size at which a new chunk is started (a submission larger than this gets a chunk alone).
CHUNK_BYTES = 1 << 20
#: Dead index rows at the front before they are compacted away.
_COMPACT_AT = 1024

# Columns of one index row.  A submission's exchange follows its head in the same chunk,
# and the chunk keeps both lengths in front of them (8 bytes), so two columns locate both.
# SUB is what the submission's head and exchange cost the byte budget, on its last message
# (0 on the others): eviction then sums two columns by slices, in C, instead of a Python loop
# of about 75 bytecodes a message (at the default ring every send evicts one).
ID, TO, STATUS, ROW_C, ROW_O, ROW_L, HEAD_C, HEAD_O, SUB = range(9)
WIDTH = 9
_LENGTHS = struct.Struct("<II")
#: One index row as the index array holds it (native order and size, as ``array("q")``).
_INDEX_ROW = struct.Struct(f"{WIDTH}q")

_STATUS_IDS: dict[str, int] = {}
_STATUS_NAMES: list[str] = []


def status_id(status: str) -> int:
    """A small number for a status name (the index keeps numbers, not strings)."""
    found = _STATUS_IDS.get(status)
    if found is None:
        found = _STATUS_IDS[status] = len(_STATUS_NAMES)
        _STATUS_NAMES.append(status)
    return found


def status_name(number: int) -> str:
    """The status name of :func:`status_id`'s number."""
    return _STATUS_NAMES[number]


class Arena:
    """Encoded messages of one namespace, oldest first.  Not thread-safe (the store locks)."""

    __slots__ = ("chunk_base", "chunk_last", "chunks", "dropped", "first", "index", "seqs")

    def __init__(self) -> None:
        self.chunks: list[bytearray] = [bytearray()]
        #: Absolute number of ``chunks[0]`` (chunks are released from the front).
        self.chunk_base = 0
        #: Per chunk, the largest absolute position of a message that refers to it.
        self.chunk_last: list[int] = [-1]
        self.seqs = array("Q")
        self.index = array("q")
        self.first = 0  # position of the oldest live message
        self.dropped = 0  # positions compacted away (absolute position = dropped + position)

    def __len__(self) -> int:
        return len(self.seqs) - self.first

    # ------------------------------------------------------------------ writing

    def _put(self, blob: bytes) -> tuple[int, int]:
        """Append ``blob`` to the newest chunk; its (absolute chunk, offset)."""
        chunk = self.chunks[-1]
        if chunk and len(chunk) + len(blob) > CHUNK_BYTES:
            chunk = bytearray()
            self.chunks.append(chunk)
            self.chunk_last.append(-1)
        offset = len(chunk)
        chunk += blob
        return self.chunk_base + len(self.chunks) - 1, offset

    def append(
        self,
        seq: int,
        parts: Sequence[tuple[bytes, bytes, Sequence[bytes]]],
        keys: Sequence[tuple[str, str, int]],
    ) -> int:
        """Keep submissions, given as their (head, exchange, message rows), each with at least
        one message: their messages get ``seq``, ``seq + 1``, … in order; ``keys`` holds each
        message's (id, recipient, status id).  Returns the bytes kept, counted as the byte
        budget counts them (as :meth:`evict` frees them)."""
        # Each submission goes into one chunk (a new one when it does not fit), so the
        # offsets are sums rather than a call per piece: this is the send path.
        chunk = self.chunks[-1]
        # Index rows are packed by struct and added as bytes: ``array.extend`` with a tuple
        # converts each item through PyArg_Parse, four times the instructions.
        pack, add_index, add_seq = _INDEX_ROW.pack, self.index.frombytes, self.seqs.append
        lengths = _LENGTHS.pack
        index = self.index
        key = iter(keys)
        kept = 0
        c = self.chunk_base + len(self.chunks) - 1
        for head, exchange, rows in parts:
            whole = len(head) + len(exchange)
            rows_size = sum(map(len, rows))
            size = 8 + whole + rows_size
            if chunk and len(chunk) + size > CHUNK_BYTES:
                self.chunk_last[-1] = self.dropped + len(self.seqs) - 1
                chunk = bytearray()
                self.chunks.append(chunk)
                self.chunk_last.append(-1)
                c += 1
            head_o = len(chunk)
            row_o = head_o + 8 + whole
            chunk += lengths(len(head), len(exchange))
            chunk += head
            chunk += exchange
            for row in rows:
                message_id, to, status = next(key)
                chunk += row
                add_seq(seq)
                seq += 1
                add_index(
                    pack(hash(message_id), hash(to), status, c, row_o, len(row), c, head_o, 0)
                )
                row_o += len(row)
            whole += SUBMISSION_OVERHEAD
            index[len(index) - WIDTH + SUB] = whole  # the submission goes with its last message
            kept += whole + rows_size + MESSAGE_OVERHEAD * len(rows)
        self.chunk_last[-1] = self.dropped + len(self.seqs) - 1
        return kept

    def set_row(self, i: int, row: bytes, status: int) -> int:
        """Point message ``i`` at a new row (a status change); returns the change in bytes."""
        chunk, offset = self._put(row)
        base = i * WIDTH
        old = self.index[base + ROW_L]
        self.index[base + STATUS] = status
        self.index[base + ROW_C : base + ROW_L + 1] = array("q", (chunk, offset, len(row)))
        last = self.chunk_last[chunk - self.chunk_base]
        self.chunk_last[chunk - self.chunk_base] = max(last, self.dropped + i)
        return len(row) - old

    def evict(self, count: int) -> tuple[int, int]:
        """Drop the ``count`` oldest messages; returns (messages dropped, bytes freed), the
        bytes counted as the byte budget counts them."""
        index, first = self.index, self.first
        end = min(first + count, len(self.seqs))
        lo, hi = first * WIDTH, end * WIDTH
        freed = (
            sum(index[lo + ROW_L : hi : WIDTH])
            + sum(index[lo + SUB : hi : WIDTH])
            + MESSAGE_OVERHEAD * (end - first)
        )
        self.first = end
        live = self.dropped + end
        while len(self.chunks) > 1 and self.chunk_last[0] < live:
            del self.chunks[0], self.chunk_last[0]
            self.chunk_base += 1
        if self.first >= _COMPACT_AT and self.first * 2 >= len(self.seqs):
            cut = self.first
            del self.seqs[:cut], self.index[: cut * WIDTH]
            self.dropped += cut
            self.first = 0
        return end - first, freed

    # ------------------------------------------------------------------ reading

    def _lengths(self, i: int) -> tuple[int, int]:
        chunk, offset = self.head_key(i)
        sizes: tuple[int, int] = _LENGTHS.unpack_from(self.chunks[chunk - self.chunk_base], offset)
        return sizes

    def row(self, i: int) -> bytearray:
        """Message ``i``'s encoded row."""
        base = i * WIDTH + ROW_C
        chunk, offset, size = self.index[base : base + 3]
        return self.chunks[chunk - self.chunk_base][offset : offset + size]

    def head(self, i: int) -> bytearray:
        """Message ``i``'s submission head."""
        chunk, offset = self.head_key(i)
        size = self._lengths(i)[0]
        return self.chunks[chunk - self.chunk_base][offset + 8 : offset + 8 + size]

    def exchange(self, i: int) -> bytearray:
        """Message ``i``'s submission exchange."""
        chunk, offset = self.head_key(i)
        head_size, size = self._lengths(i)
        start = offset + 8 + head_size
        return self.chunks[chunk - self.chunk_base][start : start + size]

    def key(self, i: int, col: int) -> int:
        """One index column (``ID``, ``TO``, ``STATUS`` …) of message ``i``."""
        return self.index[i * WIDTH + col]

    def head_key(self, i: int) -> tuple[int, int]:
        """Where message ``i``'s submission head lies: the same for every message of it."""
        base = i * WIDTH
        return self.index[base + HEAD_C], self.index[base + HEAD_O]

    def start(self, cursor: int | None, descending: bool) -> int:
        """The first position a listing after ``cursor`` looks at."""
        if cursor is None:
            return len(self.seqs) - 1 if descending else self.first
        if descending:
            return bisect_left(self.seqs, cursor, self.first) - 1
        return bisect_right(self.seqs, cursor, self.first)

    def find(self, col: int, key: int) -> list[int]:
        """Positions of live messages whose column ``col`` holds ``key``, oldest first."""
        column = self.index[col::WIDTH]
        out: list[int] = []
        i = self.first
        while True:
            try:
                i = column.index(key, i)
            except ValueError:
                return out
            out.append(i)
            i += 1
