"""Message storage: one protocol, several back-ends (memory now; SQLite and Redis to come)."""

from .base import Media, MessageStore, StoredMessage, Violation
from .memory import MemoryStore

__all__ = ["Media", "MemoryStore", "MessageStore", "StoredMessage", "Violation"]
