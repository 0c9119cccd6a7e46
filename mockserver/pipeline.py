"""One request pipeline for every provider operation, over sans-IO providers.

Every provider operation is served by :class:`Endpoint`, which runs the same steps in the
same order for all of them::

    namespace -> pre-fault hooks -> auth -> read body (bounded) -> parse
    -> record violations (one policy) -> rules -> post-fault hooks -> store -> answer

A provider implements :class:`Operation`: ``authenticate``, ``parse``, ``rules`` and
``render``, none of which sees a socket, a Starlette request or the store.  ``parse`` is a
pure function of headers and body bytes (the contract kit reuses it to check recorded client
traffic); ``rules`` reaches state only through :class:`Context` (the namespace's clock, the
seeded random source, a key-value view of its accounts).  Each refusal is a :class:`Reject`
naming a shared outcome (``invalid_request``, ``unauthorized``, ``country_not_supported``,
…), which the provider renders in its own error shape; so a fault hook can make any provider
answer any of its errors without knowing its wire format.

The violation policy is here, once: the field problems of every refused request that broke
the contract (no credential, wrong content type, a bad body, a bad field, a rule across
fields), and every ignored member of every request, are recorded; refusals caused by the
mock's state or settings (an unknown or expired token, a country a setting excludes, no
credit left, a full store) are not contract violations and are not recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from starlette.types import Receive, Scope, Send

from .callbacks import CALLBACK_HEADER
from .errors import FieldProblem, StoreFullError
from .runtime import Runtime
from .store import DEFAULT_NAMESPACE, SHARED, Store, Submission, Violation
from .store.records import RecordBounds, bound_value

__all__ = [
    "CONNECTION_EXTENSION",
    "CUTS",
    "NAMESPACE_HEADER",
    "OFFLOAD_BYTES",
    "Accounts",
    "Answer",
    "BodyDeadlines",
    "ConnectionFaultError",
    "Context",
    "Endpoint",
    "Hooks",
    "Incoming",
    "Operation",
    "Outcome",
    "Principal",
    "Reject",
    "path_below_root",
]

#: Header that picks the state partition a request belongs to.
NAMESPACE_HEADER = "x-mock-namespace"
#: ASGI scope extension through which an answer cuts its connection (connection faults):
#: set by the server's protocol (:mod:`mockserver.serving`), absent in-process.
CONNECTION_EXTENSION = "sms_mockserver.connection"
#: How a connection fault ends a request (:attr:`Answer.cut`).
CUTS = frozenset({"reset", "hang", "truncate", "close_after_headers"})
#: Bodies larger than this are parsed (and their answers composed) in a worker thread, so
#: that other clients are answered meanwhile; below it the thread hop costs more than it saves.
#: The default of :attr:`Operation.offload_bytes`: an operation whose parse costs more per
#: byte sets a smaller one.
OFFLOAD_BYTES = 64 * 1024

#: Violations recorded from one request; the rest are summed up in one more.  A body of
#: 20,000 unknown form keys would otherwise cost 20,000 records (on the event loop) to keep
#: the last 1,000 of them.
MAX_VIOLATIONS_PER_REQUEST = 100

#: Shared outcomes whose problems are the client's breach of the contract (recorded).
CONTRACT_OUTCOMES = frozenset({"invalid_request", "unauthorized", "unsupported_media_type"})

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


class Reject(Exception):
    """A refused request: a shared outcome, the field problems behind it, and a detail.

    ``violation`` says whether the problems break the contract (and are recorded); by
    default they do for ``invalid_request``, ``unauthorized`` and ``unsupported_media_type``.
    ``status`` overrides the provider's HTTP status for the outcome; ``headers`` are added.
    """

    def __init__(
        self,
        outcome: str,
        problems: Sequence[FieldProblem] = (),
        *,
        detail: str = "",
        status: int | None = None,
        violation: bool | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(outcome, detail or "; ".join(map(str, problems)))
        self.outcome = outcome
        self.problems = tuple(problems)
        self.detail = detail
        self.status = status
        self.violation = outcome in CONTRACT_OUTCOMES if violation is None else violation
        self.headers = tuple(headers)


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
    #: A connection fault (one of :data:`CUTS`): the connection is reset, held for ``hold``
    #: seconds and closed, closed after the headers, or closed half way through the body.
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
    #: Bodies larger than this are parsed off the event loop (:data:`OFFLOAD_BYTES` unless
    #: the operation's parse costs more per byte).
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


class Endpoint:
    """One provider operation served as a plain ASGI app, through the pipeline."""

    def __init__(
        self,
        operation: Operation,
        store: Store,
        runtime: Runtime,
        hooks: Hooks,
        bounds: RecordBounds,
        deadlines: BodyDeadlines,
    ) -> None:
        self.operation = operation
        self.deadlines = deadlines
        self.store = store
        self.runtime = runtime
        self.hooks = hooks
        self.bounds = bounds
        self._shared = Accounts(store, SHARED, runtime.now)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        query: bytes = scope.get("query_string", b"")
        incoming = Incoming(scope["method"], scope["path"], query.decode("latin-1"), headers)
        answer = await self.handle(incoming, receive)
        if answer is None:
            return  # the client went away: nobody to answer
        ctype = answer.content_type or self.operation.response_type(incoming)
        raw = [
            (b"content-length", str(len(answer.body)).encode("latin-1")),
            (b"content-type", ctype),
        ]
        if answer.headers:
            raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
        if answer.cut:
            await _cut(scope, send, answer, raw)
            return
        await send({"type": "http.response.start", "status": answer.status, "headers": raw})
        await send({"type": "http.response.body", "body": answer.body})

    async def handle(self, incoming: Incoming, receive: Receive) -> Answer | None:
        """Run the pipeline for one request; None when the client disconnected.

        An answer given before the whole body was read (a refused token, a body over its
        size, a fault, a 408) closes the connection: the rest of the body would otherwise be
        read as the next request on it.
        """
        op = self.operation
        named = incoming.headers.get(NAMESPACE_HEADER) or None
        ctx = Context(named or DEFAULT_NAMESPACE, self.runtime, self.store, self._shared, incoming)
        ignored: list[FieldProblem] = []
        body_read = False
        answer: Answer | None = None
        try:
            if self.hooks.pre:
                answer = await self._pre(ctx)
            if answer is None:
                principal = await op.authenticate(incoming, ctx)
                if named is None and principal.namespace:
                    ctx.namespace = principal.namespace
                op.precheck(incoming)
                body = await read_body(receive, incoming.headers, op.max_body, self.deadlines)
                if body is None:
                    return None
                body_read = True
                if len(body) > op.offload_bytes:
                    ctx.large = True
                    command = await asyncio.to_thread(op.parse, incoming, body, ignored)
                else:
                    command = op.parse(incoming, body, ignored)
                answer = await self._accept(ctx, await op.rules(command, principal, ctx))
        except Reject as reject:
            if reject.violation:
                ignored += reject.problems
                if reject.outcome == "invalid_request":
                    # A misspelt member (ignored) is the likely cause of the refusal: say so.
                    near = [p for p in ignored if p.near is not None]
                    if near:
                        reject.problems = (*near, *reject.problems)
            answer = op.render_reject(reject)
        if ignored:  # the usual request has nothing to record: no coroutine for it
            await self._record(ctx, ignored)
        if not body_read and _has_body(incoming.headers):
            answer.headers = (*answer.headers, ("connection", "close"))
        return answer

    async def _accept(self, ctx: Context, outcome: Outcome) -> Answer:
        """The steps after the rules: post-fault hooks, the answer, the store, the stored
        hooks; raises :class:`Reject`."""
        if self.hooks.post:
            point = Point(self.operation, ctx.namespace, ctx.incoming, ctx)
            for hook in self.hooks.post:
                work = hook(point, outcome)
                result = await work if work is not None else None
                if isinstance(result, Reject | Answer):
                    # Refused after the rules ran: nothing is stored, and what the rules
                    # spent (credits) is given back.
                    if outcome.undo is not None:
                        await outcome.undo()
                    if isinstance(result, Reject):
                        raise result
                    return result
                if result is not None:
                    outcome = result
        submission = outcome.submission
        if (
            submission is not None
            and submission.notify is not None
            and CALLBACK_HEADER in ctx.incoming.headers
        ):
            submission.notify = None  # sent by a status push: it must not push again
        if ctx.large:
            answer = await asyncio.to_thread(self._finish, outcome, True)
        else:
            answer = self._finish(outcome, False)
        if submission is not None:
            try:
                await self.store.append(ctx.namespace, submission)
            except StoreFullError as exc:
                if outcome.undo is not None:
                    await outcome.undo()
                detail = str(exc).removeprefix("sms-mockserver: ")
                raise Reject("store_full", detail=detail, status=507) from None
            if outcome.then is not None:
                await outcome.then()
            for after in self.hooks.stored:
                work = after(ctx.namespace, submission)
                if work is not None:
                    await work
        return answer

    def _finish(self, outcome: Outcome, encode: bool) -> Answer:
        """The answer's bytes, kept with the submission as they are sent; a large
        submission is encoded here as well (in the worker thread with the rest)."""
        answer = self.operation.render(outcome)
        submission = outcome.submission
        if submission is not None:
            submission.status_code = answer.status
            submission.response = answer.body
            if encode:
                submission.encode()
        return answer

    async def _pre(self, ctx: Context) -> Answer | None:
        point = Point(self.operation, ctx.namespace, ctx.incoming, ctx)
        for hook in self.hooks.pre:
            result = await hook(point)
            if isinstance(result, Reject):
                raise result
            if result is not None:
                return result
        return None

    async def _record(self, ctx: Context, problems: Sequence[FieldProblem]) -> None:
        """Keep field problems as contract violations; what was sent is kept as JSON cut to
        ``max_violation_value_bytes`` with its size noted (a 10 MB member costs a kilobyte)."""
        if not problems:
            return
        if len(problems) > MAX_VIOLATIONS_PER_REQUEST:
            more = len(problems) - MAX_VIOLATIONS_PER_REQUEST + 1
            problems = [
                *problems[: MAX_VIOLATIONS_PER_REQUEST - 1],
                FieldProblem(
                    "(request)",
                    f"{more} more problems",
                    f"at most {MAX_VIOLATIONS_PER_REQUEST} violations are recorded per request",
                ),
            ]
        now = ctx.now()
        op = self.operation
        violations = []
        for p in problems:
            sent, size, truncated = bound_value(p.sent, self.bounds)
            violations.append(
                Violation(
                    provider=op.provider,
                    operation=op.id,
                    field=p.field,
                    sent=sent,
                    expected=p.expected,
                    created_at=now,
                    sent_size=size,
                    sent_truncated=truncated,
                )
            )
        await self.store.record_violations(ctx.namespace, violations)


class ConnectionFaultError(ConnectionError):
    """A connection fault in-process (no socket to cut): raised to the ASGI server, which
    is how ``httpx.ASGITransport`` and Starlette's ``TestClient`` show a broken connection."""


async def _cut(scope: Scope, send: Send, answer: Answer, raw: list[tuple[bytes, bytes]]) -> None:
    """Carry out a connection fault (:attr:`Answer.cut`) on the request's connection."""
    control = scope.get("extensions", {}).get(CONNECTION_EXTENSION)
    if control is None:
        raise ConnectionFaultError(
            f"sms-mockserver: connection fault {answer.cut!r} (in-process, a transport error)"
        )
    if answer.cut == "reset":
        control.reset()
        return
    if answer.cut == "hang":
        await asyncio.sleep(answer.hold)  # the client times out first, or the cap ends it
        control.close()
        return
    await send({"type": "http.response.start", "status": answer.status, "headers": raw})
    if answer.cut == "truncate":
        half = answer.body[: len(answer.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
    control.close()


def path_below_root(scope: Scope) -> str:
    """The request's path below the app's root path (ASGI puts the root path in ``path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def _too_large(limit: int) -> Reject:
    """The refusal of a body over ``limit`` bytes (a contract violation, recorded)."""
    return Reject(
        "invalid_request",
        [FieldProblem("(body)", None, f"a request body of at most {limit} bytes")],
        detail=f"the body must be at most {limit} bytes",
    )


def _has_body(headers: Mapping[str, str]) -> bool:
    """Whether a request announced a body (a Content-Length above 0, or chunks)."""
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("0", "")


def declared_length(headers: Mapping[str, str]) -> int | None:
    """The Content-Length header as a number, or None when absent or not plain digits."""
    value = headers.get("content-length", "")
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


class BodyDeadlines:
    """Request bodies being read, and when each must be in.

    One task on the app's task group wakes four times a timeout and cancels the reads past
    their deadline.  Not a timer per request (``asyncio.timeout``): that cost about 10 us a
    send in-process, as every cancelled timer stays in the event loop's heap until it comes
    due.  Without the app's lifespan (``httpx.ASGITransport``) nothing runs it and bodies
    have no deadline.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.reading: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.running = False

    async def run(self) -> None:
        """Cancel the reads past their deadline, until cancelled (the app's shutdown)."""
        self.running = True
        try:
            while True:
                await asyncio.sleep(self.timeout / 4)
                now = time.monotonic()
                for task, deadline in list(self.reading.items()):
                    if deadline <= now and task not in self.expired:
                        self.expired.add(task)
                        task.cancel()
        finally:
            self.running = False


async def read_body(
    receive: Receive, headers: Mapping[str, str], limit: int, deadlines: BodyDeadlines
) -> bytes | None:
    """The whole body, refused from Content-Length or as soon as it crosses ``limit``, or
    when it has not all come within the deadline; None when the client disconnected first."""
    declared = declared_length(headers)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    task = asyncio.current_task() if deadlines.running else None
    if task is not None:
        deadlines.reading[task] = time.monotonic() + deadlines.timeout
    # The reads are inline (not a coroutine of their own): this runs on every request.
    chunks: list[bytes] | None = None
    size = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if not message.get("more_body", False):
                if chunks is None:  # the usual case: the whole body in one message
                    return chunk
                chunks.append(chunk)
                return b"".join(chunks)
            if chunks is None:
                chunks = []
            chunks.append(chunk)
    except asyncio.CancelledError:
        # Cancelled only while waiting for the body (the reads are the only awaits here).
        if task is None or task not in deadlines.expired:
            raise
        if task.uncancel() > 0:
            raise  # cancelled for another reason too (the server is shutting down)
        timeout = deadlines.timeout
        raise Reject(
            "invalid_request",
            [
                FieldProblem(
                    "(body)",
                    f"{size} bytes in {timeout:g} s",
                    f"the whole body within {timeout:g} seconds (setting body_timeout_seconds)",
                )
            ],
            status=408,
            violation=False,
        ) from None
    finally:
        if task is not None:
            deadlines.reading.pop(task, None)
            deadlines.expired.discard(task)
