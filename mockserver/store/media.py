"""Where the bytes of MMS attachments are kept: beside the journal, never inside its records.

A message's record holds its attachments' summaries (name, type, size, SHA-256); the bytes
are kept apart, within their own byte budget (``max_kept_media_bytes``, counted by the
:class:`~mockserver.store.base.Ledger`), so that a few large files neither crowd messages out
of the journal's budget nor make every listing read them.  The oldest attachments go first;
an attachment also goes with its submission's last message.

- :class:`MediaShelf` keeps them in memory (the memory store's);
- :class:`MediaFiles` keeps them as files in a directory beside a SQLite file (the SQLite
  store's), one file each, named at random, so that a row holds a name and not the bytes.
"""

from __future__ import annotations

import os
import re
import secrets
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from pathlib import Path

from .base import Ledger
from .records import StoredMedia, Submission

__all__ = ["MediaFiles", "MediaShelf"]


class MediaShelf:
    """Attachments in this process's memory, oldest first.  Not thread-safe (the memory
    store calls it under its lock)."""

    __slots__ = ("_counts", "_kept", "_ledger", "_owners")

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        #: (namespace, submission id, index) -> the attachment, oldest first.
        self._kept: OrderedDict[tuple[str, str, int], StoredMedia] = OrderedDict()
        #: Per namespace, (seq of the submission's last message, submission id), oldest
        #: first: which attachments go when the namespace's oldest messages do.
        self._owners: dict[str, deque[tuple[int, str]]] = {}
        #: Attachments per submission that had any, kept or not.
        self._counts: dict[tuple[str, str], int] = {}

    def holds(self, namespace: str) -> bool:
        """Whether any submission of ``namespace`` came with attachments."""
        return namespace in self._owners

    def put(self, namespace: str, submission: Submission, last_seq: int) -> None:
        """Keep a submission's attachments; its last message has ``last_seq``.  The oldest
        kept anywhere go to make room; one larger than the whole budget is not kept."""
        ledger = self._ledger
        for i, (data, meta) in enumerate(zip(submission.media_data, submission.media, strict=True)):
            if ledger.media_fits(len(data)):
                key = (namespace, submission.id, i)
                self._kept[key] = StoredMedia(data, meta.content_type, meta.filename)
                ledger.media_added(len(data))
        self._owners.setdefault(namespace, deque()).append((last_seq, submission.id))
        self._counts[namespace, submission.id] = len(submission.media_data)
        while ledger.media_over_budget():
            _, old = self._kept.popitem(last=False)
            ledger.media_dropped(1, len(old.data), evicted=True)

    def get(self, namespace: str, submission_id: str, index: int) -> StoredMedia | None:
        """One kept attachment, or None."""
        return self._kept.get((namespace, submission_id, index))

    def kept(self, namespace: str, submission_id: str) -> frozenset[int]:
        """The indexes of a submission's attachments that are still kept."""
        count = self._counts.get((namespace, submission_id), 0)
        return frozenset(i for i in range(count) if (namespace, submission_id, i) in self._kept)

    def drop_before(self, namespace: str, floor: int | None) -> None:
        """Drop the attachments of ``namespace``'s submissions whose messages all lie before
        seq ``floor`` (None: every one), once those messages were evicted."""
        owners = self._owners.get(namespace)
        while owners and (floor is None or owners[0][0] < floor):
            self._forget(namespace, owners.popleft()[1])
        if not owners:
            self._owners.pop(namespace, None)

    def drop_namespaces(self, names: Iterable[str]) -> None:
        """Drop every attachment of these namespaces (a reset, or an evicted namespace)."""
        for name in names:
            for _, submission_id in self._owners.pop(name, ()):
                self._forget(name, submission_id)

    def _forget(self, namespace: str, submission_id: str) -> None:
        count = self._counts.pop((namespace, submission_id), 0)
        for i in range(count):
            gone = self._kept.pop((namespace, submission_id, i), None)
            if gone is not None:
                self._ledger.media_dropped(1, len(gone.data), evicted=False)


#: The names MediaFiles gives its files; nothing else in the directory is ever removed.
_NAME = re.compile(r"[0-9a-f]{32}")


class MediaFiles:
    """Attachment files of a SQLite store, in ``<database path>-media/``.

    Written before the row that names them is committed, and removed after the row's
    deletion is: a crash in between leaves only files no row names, which :meth:`sweep`
    removes when the store is opened again.
    """

    def __init__(self, database: Path) -> None:
        self.directory = Path(f"{database}-media")

    def write(self, blobs: Sequence[bytes]) -> list[str]:
        """Write each blob to a new file; their names, in order."""
        self.directory.mkdir(parents=True, exist_ok=True)
        names: list[str] = []
        try:
            for blob in blobs:
                name = secrets.token_hex(16)
                (self.directory / name).write_bytes(blob)
                names.append(name)
        except BaseException:
            self.remove(names)
            raise
        return names

    def read(self, name: str) -> bytes | None:
        """A file's bytes; None when it is gone (removed meanwhile, or lost to a power cut
        after its row was committed)."""
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, name: str) -> bool:
        """Whether the file is there."""
        return (self.directory / name).is_file()

    def remove(self, names: Iterable[str]) -> None:
        """Remove files (those already gone are fine)."""
        for name in names:
            (self.directory / name).unlink(missing_ok=True)

    def sweep(self, keep: set[str]) -> int:
        """Remove the files of this store that no row names; how many."""
        try:
            found = os.listdir(self.directory)
        except FileNotFoundError:
            return 0
        orphans = [n for n in found if _NAME.fullmatch(n) and n not in keep]
        self.remove(orphans)
        return len(orphans)
