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

What the steps hand each other is in :mod:`mockserver.exchange`, the bounded body read in
:mod:`mockserver.body`, and :class:`~mockserver.errors.Reject` in :mod:`mockserver.errors`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from starlette.types import Receive, Scope, Send

from .body import BodyDeadlines, WholeBody, has_body, read_body
from .callbacks import CALLBACK_HEADER
from .errors import FieldProblem, Reject, StoreFullError
from .exchange import (
    Accounts,
    Answer,
    Context,
    Hooks,
    Incoming,
    Operation,
    Outcome,
    Point,
)
from .runtime import Runtime
from .store import DEFAULT_NAMESPACE, SHARED, Store, Violation
from .store.records import RecordBounds, bound_value

__all__ = [
    "CONNECTION_EXTENSION",
    "CUTS",
    "MAX_VIOLATIONS_PER_REQUEST",
    "NAMESPACE_HEADER",
    "OFFLOAD_BYTES",
    "ConnectionFaultError",
    "Endpoint",
    "path_below_root",
]

#: Header that picks the state partition a request belongs to.
NAMESPACE_HEADER = "x-mock-namespace"
#: ASGI scope extension through which an answer goes out in one write, or cuts its
#: connection (connection faults): set by the server's protocol (:mod:`mockserver.serving`,
#: ``ConnectionControl``), absent in-process.
CONNECTION_EXTENSION = "sms_mockserver.connection"
_NO_EXTENSIONS: dict[str, Any] = {}
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
        # Served by the mock's protocol: the body that has all come is taken at once, and
        # the usual answer goes out in one write.
        control = scope.get("extensions", _NO_EXTENSIONS).get(CONNECTION_EXTENSION)
        answer = await self.handle(incoming, receive, control)
        if answer is None:
            return  # the client went away: nobody to answer
        ctype = answer.content_type or self.operation.response_type(incoming)
        if (
            control is not None
            and not answer.headers
            and not answer.cut
            and control.answer(answer.status, ctype, answer.body)
        ):
            return
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

    async def handle(
        self, incoming: Incoming, receive: Receive, server: WholeBody | None = None
    ) -> Answer | None:
        """Run the pipeline for one request; None when the client disconnected.

        ``server``: what the server offers to hand over a body that has all come at once.

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
                body = await read_body(
                    receive, incoming.headers, op.max_body, self.deadlines, server
                )
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
        if not body_read and has_body(incoming.headers):
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
