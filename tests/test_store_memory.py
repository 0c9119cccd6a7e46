"""The in-memory store: the journal, its filters and limits, tokens and credits."""

from __future__ import annotations

import threading

import pytest

from mockserver.errors import StoreFullError
from mockserver.store import Media, MemoryStore, StoredMessage
from mockserver.store import memory as memory_module


def message(
    n: int, *, namespace: str = "default", provider: str = "twosms", to: str = ""
) -> StoredMessage:
    """A message whose every field depends on ``n``, so a mix-up between two shows."""
    return StoredMessage(
        id=f"id-{n}",
        provider=provider,
        namespace=namespace,
        to=to or f"+1415555{n:04d}",
        sender="S",
        text=f"text {n} " + "é" * (n % 7),
        encoding="UCS-2" if n % 7 else "GSM-7",
        segments=1 + n % 3,
        country="us",
        status="queued",
        created_at=1_700_000_000.5 + n,
        scheduled_at=None,
        media=(Media("a.jpg", "image/jpeg", n, "ab" * 32, f"m-{n}"),) if n % 5 == 0 else (),
        request={"n": n, "nested": {"list": [n, None, True]}},
        headers={"content-type": "application/json"},
        response={"ok": n},
    )


def test_messages_come_back_equal_and_oldest_first() -> None:
    store = MemoryStore()
    sent = [message(n) for n in range(20)]
    store.add(*sent[:5])
    for m in sent[5:]:
        store.add(m)
    assert list(store.messages()) == sent


def test_filters_combine_and_unknown_values_match_nothing() -> None:
    store = MemoryStore()
    a = message(1, namespace="a", provider="twosms", to="+14155550100")
    b = message(2, namespace="b", provider="twosms", to="+14155550100")
    c = message(3, namespace="a", provider="zoho_voice", to="+14155550101")
    for m in (a, b, c):
        store.add(m)
    assert store.messages(namespace="a") == [a, c]
    assert store.messages(provider="twosms") == [a, b]
    assert store.messages(to="+14155550100") == [a, b]
    assert store.messages(namespace="a", provider="twosms") == [a]
    assert store.messages(namespace="a", to="+14155550101", provider="zoho_voice") == [c]
    assert store.messages(namespace="b", provider="zoho_voice") == []
    assert store.messages(namespace="never-used") == []
    # A recipient interned only as a namespace name must not match as a recipient.
    assert store.messages(to="a") == []


def test_journal_spans_chunks_and_keeps_messages_larger_than_a_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory_module, "CHUNK_BYTES", 700)
    store = MemoryStore()
    big = message(99)
    big.text = "x" * 5000  # alone bigger than a chunk
    sent = [message(n) for n in range(10)] + [big] + [message(n) for n in range(10, 15)]
    for m in sent:
        store.add(m)
    assert list(store.messages()) == sent
    assert len(store._journal.chunks) > 5  # the test really crossed chunk boundaries


def test_store_full_keeps_none_of_the_batch_and_counts_per_namespace() -> None:
    store = MemoryStore(max_messages=3)
    store.add(message(1), message(2))
    with pytest.raises(StoreFullError, match="holds 2 messages and the limit is 3"):
        store.add(message(3), message(4))
    assert [m.id for m in store.messages()] == ["id-1", "id-2"]
    # Another namespace has its own count.
    store.add(message(8, namespace="other"), message(9, namespace="other"))
    store.add(message(10))
    assert [m.id for m in store.messages()] == ["id-1", "id-2", "id-8", "id-9", "id-10"]


def test_one_add_is_one_namespace() -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match="one namespace, got 'other'"):
        store.add(message(1), message(2, namespace="other"))
    assert store.messages() == []
    store.add()  # nothing to keep is not an error
    assert store.messages() == []


def test_reset_of_one_namespace_keeps_the_others_in_order() -> None:
    store = MemoryStore(max_messages=4)
    for n, namespace in ((1, "a"), (2, "b"), (3, "a"), (4, "b")):
        store.add(message(n, namespace=namespace))
    store.spend_credits("a", "acct", 10, 100)
    store.spend_credits("b", "acct", 10, 100)
    assert store.reset(namespace="a") == 2
    assert [m.id for m in store.messages()] == ["id-2", "id-4"]
    assert store.messages(namespace="a") == []
    # a's count and credits start over; b's are kept
    store.add(*(message(n, namespace="a") for n in range(10, 14)))
    assert store.spend_credits("a", "acct", 0, 100) == (100, 100)
    assert store.spend_credits("b", "acct", 0, 100) == (90, 90)
    assert store.reset() == 6
    assert store.messages() == []


def test_concurrent_adds_lose_nothing() -> None:
    store = MemoryStore(max_messages=100_000)

    def worker(base: int) -> None:
        for n in range(base, base + 500):
            store.add(message(n, namespace=f"ns{base % 3}"))

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = store.messages()
    assert len(stored) == 4000
    assert {m.id for m in stored} == {f"id-{k * 1000 + n}" for k in range(8) for n in range(500)}
    for m in stored:  # each entry decodes to its own message, not a neighbour's bytes
        assert m == message(int(m.id[3:]), namespace=m.namespace)


def test_tokens_expire_and_the_oldest_is_revoked_beyond_the_cap() -> None:
    store = MemoryStore(max_tokens=2)
    store.issue_token("t1", "a", expires_at=100.0)
    store.issue_token("t2", "b", expires_at=200.0)
    assert store.token_account("t1", now=99.0) == "a"
    assert store.token_account("t1", now=100.0) is None  # expiry is exclusive
    store.issue_token("t3", "c", expires_at=300.0)
    assert store.token_account("t1", now=0.0) is None
    assert store.token_account("t2", now=0.0) == "b"
    assert store.token_account("nope", now=0.0) is None


def test_credits_are_taken_refunded_and_never_overdrawn() -> None:
    store = MemoryStore()
    assert store.spend_credits("default", "acct", 3, 5) == (5, 2)
    assert store.spend_credits("default", "acct", 3, 5) is None
    assert store.spend_credits("default", "acct", -3, 5) == (2, 5)
    assert store.spend_credits("default", "other", 5, 5) == (5, 0)
