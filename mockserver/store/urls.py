"""Choosing a store by URL (``--store``) and where the default SQLite file lives."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

from ..errors import MockServerError
from .base import Store, StoreLimits
from .memory import MemoryStore

__all__ = ["DATA_DIR_ENV", "default_store_url", "store_from_url"]

#: Environment variable that moves the data directory (the default SQLite file's folder).
DATA_DIR_ENV = "SMS_MOCKSERVER_DATA_DIR"
DEFAULT_FILE = "journal.sqlite3"


def data_dir() -> Path:
    """``$SMS_MOCKSERVER_DATA_DIR``, else the user's data directory for sms-mockserver
    (``~/.local/share/sms-mockserver`` on Linux, the platform's equivalent elsewhere)."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else user_data_path("sms-mockserver", appauthor=False)


def default_store_url() -> str:
    """The store ``sms-mockserver serve`` uses when ``--store`` is not given."""
    return f"sqlite://{data_dir() / DEFAULT_FILE}"


def store_from_url(url: str, limits: StoreLimits | None = None) -> Store:
    """A store from ``memory``, ``sqlite`` (the default file) or ``sqlite://PATH``.

    ``PATH`` is taken as written after ``sqlite://``: ``sqlite:///var/tmp/mock.sqlite3`` is an
    absolute path, ``sqlite://mock.sqlite3`` one relative to the working directory.
    """
    if url == "memory":
        return MemoryStore(limits)
    if url == "sqlite":
        url = default_store_url()
    if url.startswith("sqlite://") and len(url) > len("sqlite://"):
        from .sqlite import SQLiteStore

        return SQLiteStore(Path(url[len("sqlite://") :]), limits)
    raise MockServerError(
        f"sms-mockserver: unknown store {url!r}; use memory, sqlite (the default file) or "
        "sqlite://PATH (e.g. sqlite:///var/tmp/mock.sqlite3)"
    )
