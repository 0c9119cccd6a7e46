"""What the pipeline and a provider operation hand each other.

The request as a provider sees it (:class:`Incoming`), who sent it (:class:`Principal`), what
the rules decided (:class:`Outcome`), the answer (:class:`Answer`), what the rules may use
(:class:`Context`, :class:`Accounts`), the :class:`Operation` protocol a provider implements,
and the hook seams (:class:`Hooks`, :class:`Point`).  No I/O here: :mod:`mockserver.pipeline`
runs the steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .errors import FieldProblem, Reject
from .runtime import Runtime
from .store import Store, Submission

__all__ = [
    "Accounts",
    "Answer",
    "Context",
    "Hooks",
    "Incoming",
    "Operation",
    "Outcome",
    "Point",
    "PostHook",
    "PreHook",
    "Principal",
    "StoredHook",
]

T = TypeVar("T")


# Not frozen: these are made for every request, and a frozen dataclass's __init__ costs an
# object.__setattr__ per field.
@dataclass(slots=True)
class Incoming:
    """A request as a provider sees it: method, path, query and headers (lower-case names,
    the first value of each), with no socket behind it."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]


@dataclass(slots=True)
class Principal:
    """Who sent a request: the account it acts for, and the namespace its credential
    implies when the request names none (never the secret itself)."""

    account: str
    namespace: str | None = None


@dataclass(slots=True)
class Outcome:
    """What ``rules`` decided for an accepted request.

    ``body`` is the provider's answer as data (``render`` turns it into bytes);
    ``submission`` is stored before the answer is sent (its ``response`` is set to the
    rendered bytes); ``undo`` runs if the store refuses it (a credit refund); ``then`` runs
    once it is stored (a post-accept fault changing the messages' status).
    """

    body: Any
    status: int = 200
    submission: Submission | None = None
    undo: Callable[[], Awaitable[Any]] | None = None
    then: Callable[[], Awaitable[Any]] | None = None


@dataclass(slots=True)
class Answer:
    """An HTTP answer: status, JSON body bytes, extra headers."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    #: None leaves the choice to the operation's ``response_type`` (content negotiation);
    #: a value is sent as it is.
    content_type: bytes | None = None
    #: A connection fault (one of :data:`~mockserver.pipeline.CUTS`): the connection is
    #: reset, held for ``hold`` seconds and closed, closed after the headers, or closed half
    #: way through the body.
    cut: str = ""
    hold: float = 0.0


class Accounts:
    """One namespace's view of the store's key-value accounts (tokens, credits)."""

    __slots__ = ("_now", "_store", "namespace")

    def __init__(self, store: Store, namespace: str, now: Callable[[], float]) -> None:
        self._store = store
        self._now = now
        self.namespace = namespace

    # Each verb hands back the store's own awaitable rather than awaiting it in a coroutine
    # of its own: these run on every send, and a coroutine layer costs a frame each time.

    def get(self, key: str) -> Awaitable[Any]:
        """The value of ``key`` (None when absent or expired)."""
        return self._store.get_account(self.namespace, key, now=self._now())

    def put(self, key: str, value: Any, *, lifetime: float | None = None) -> Awaitable[bool]:
        """Set ``key`` (expiring after ``lifetime`` seconds); False when there is no room."""
        now = self._now()
        expires = None if lifetime is None else now + lifetime
        return self._store.put_account(self.namespace, key, value, now=now, expires_at=expires)

    def add(self, key: str, delta: int, *, start: int) -> Awaitable[tuple[int, int] | None]:
        """Atomically add ``delta`` (``start`` when absent); (before, after), or None when the
        result would be below 0 (nothing changed)."""
        return self._store.add_account(self.namespace, key, delta, start=start)


class Context:
    """What ``authenticate`` and ``rules`` may use: the namespace's time, the seeded random
    source, the accounts of the namespace and of no namespace, and a way to run heavy work
    off the event loop when the request is large."""

    __slots__ = ("_accounts", "_store", "incoming", "large", "namespace", "runtime", "shared")

    def __init__(
        self, namespace: str, runtime: Runtime, store: Store, shared: Accounts, incoming: Incoming
    ) -> None:
        self.namespace = namespace
        self.runtime = runtime
        self.shared = shared
        self.incoming = incoming
        self.large = False
        self._store = store
        self._accounts: Accounts | None = None

    @property
    def accounts(self) -> Accounts:
        """The accounts of this request's namespace (made when first used)."""
        accounts = self._accounts
        if accounts is None or accounts.namespace != self.namespace:
            accounts = self._accounts = Accounts(self._store, self.namespace, self.now)
        return accounts

    def now(self) -> float:
        """Epoch seconds on this namespace's clock."""
        return self.runtime.now(self.namespace)

    def new_id(self) -> str:
        """A version 4 UUID from the seeded random source."""
        return self.runtime.new_uuid()

    async def heavy(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)``, in a worker thread when the request is large."""
        if self.large:
            return await asyncio.to_thread(func, *args)
        return func(*args)


class Operation(Protocol):
    """A provider operation, sans-IO: everything the pipeline needs from a provider."""

    provider: str
    #: The contract's operation id (violations are recorded under it).
    id: str
    method: str
    path: str
    #: Largest body read; beyond it the request is refused with ``render_reject``.
    max_body: int
    #: Bodies larger than this are parsed off the event loop
    #: (:data:`~mockserver.pipeline.OFFLOAD_BYTES` unless the operation's parse costs more
    #: per byte).
    offload_bytes: int

    async def authenticate(self, incoming: Incoming, ctx: Context) -> Principal:
        """The request's principal; raises :class:`Reject` (``unauthorized``)."""
        ...

    def response_type(self, incoming: Incoming) -> bytes:
        """The Content-Type of the answer to ``incoming`` (content negotiation)."""
        ...

    def precheck(self, incoming: Incoming) -> None:
        """What the headers alone decide before the body is read (its content type);
        raises :class:`Reject`."""
        ...

    def parse(self, incoming: Incoming, body: bytes, ignored: list[FieldProblem]) -> Any:
        """The body as the operation's command, once ``precheck`` has passed; raises
        :class:`Reject`.  Members the operation ignores go to ``ignored`` (recorded whatever
        the answer).  Pure: no I/O."""
        ...

    async def rules(self, command: Any, principal: Principal, ctx: Context) -> Outcome:
        """Apply the business rules; raises :class:`Reject`."""
        ...

    def render(self, outcome: Outcome) -> Answer:
        """An accepted request's answer."""
        ...

    def render_reject(self, reject: Reject) -> Answer:
        """A refusal in the provider's own error shape."""
        ...


# Not frozen: made for every accepted request once a post-fault hook is set (the fault
# engine always is), and a frozen dataclass's __init__ costs an object.__setattr__ per field.
@dataclass(slots=True)
class Point:
    """Where a fault hook is called: the operation, the namespace and the request.

    A pre-fault hook runs before the credential is checked, so its namespace is the
    ``X-Mock-Namespace`` header's (or ``default``); a post-fault hook sees the request's final
    namespace (the credential's when the header names none).
    """

    operation: Operation
    namespace: str
    incoming: Incoming
    context: Context


#: A pre-fault hook: None to go on, a :class:`Reject` to answer with one of the provider's
#: own errors, or an :class:`Answer` to send these bytes instead.
PreHook = Callable[[Point], Awaitable["Reject | Answer | None"]]
#: A post-fault hook: sees the accepted outcome; None to go on, a :class:`Reject` or an
#: :class:`Answer` to refuse it (nothing is stored), or another :class:`Outcome` to use.  It
#: may return None instead of an awaitable when it has nothing to do (the usual send: an
#: await per send costs a coroutine), as a stored hook does.
PostHook = Callable[[Point, Outcome], Awaitable["Reject | Answer | Outcome | None"] | None]


#: A stored hook: sees each submission once it is stored (the lifecycle plans its steps);
#: it returns an awaitable only when it has work to do (the usual send has none, and an
#: await per send costs a coroutine).
StoredHook = Callable[[str, Submission], Awaitable[None] | None]


@dataclass(slots=True)
class Hooks:
    """The seams every provider operation runs through, in order (empty by default): the
    fault hooks before and after the rules, and the hooks after the store."""

    pre: list[PreHook] = field(default_factory=list)
    post: list[PostHook] = field(default_factory=list)
    stored: list[StoredHook] = field(default_factory=list)
