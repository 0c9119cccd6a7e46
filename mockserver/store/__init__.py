"""State of the mock: one async protocol, several back-ends (memory, SQLite; Redis to come)."""

from .base import DEFAULT_NAMESPACE, SHARED, Store, StoreLimits
from .memory import MemoryStore
from .records import (
    Media,
    Message,
    MessageFilter,
    Page,
    Recipient,
    RecordBounds,
    StatusChange,
    StoredMedia,
    Submission,
    Violation,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "SHARED",
    "Media",
    "MemoryStore",
    "Message",
    "MessageFilter",
    "Page",
    "Recipient",
    "RecordBounds",
    "StatusChange",
    "Store",
    "StoreLimits",
    "StoredMedia",
    "Submission",
    "Violation",
]
