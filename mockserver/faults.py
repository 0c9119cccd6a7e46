"""Fault injection: provider errors, outages, throttling and latency, chosen three ways.

A fault is written in one grammar wherever it comes from (README, "Testing failures")::

    zvsms-4038 | invalidrequest | insufficient_credit      a provider error (its code or outcome)
    500 | 502 | 503                                        an outage, as a gateway answers it
    throttle                                               429 with Retry-After
    reset | hang | truncate | close_after_headers          the connection cut (a real socket)
    bad_json                                               200 with the success body cut short
    undelivered (or failed)                                accepted, then the messages fail
    latency=200ms | latency=uniform(100ms,1s)              a delay (also normal(m,sd),
                                                           lognormal(m,sd)), seeded
    status=N  retry-after=S                                modifiers of the error above

Items are separated by ``;`` (``latency=200ms; 503``).  A fault is chosen by

1. a rule of the namespace (``POST /_mock/faults``): which requests (provider, operation,
   recipient, sender, text) and when (the next N, every k-th, after N, with probability p,
   for T seconds, or a sequence such as ``["503", "503", "ok"]``);
2. the ``X-Mock-Fault`` header of one request;
3. a magic recipient (:data:`MAGIC`), unless the ``magic_numbers`` setting is off.

Faults apply after validation (an invalid request still gets its validation error) and
before the store: a faulted request is not kept as a sent message, and what its rules spent
(2sms credits) is refunded.  Every random choice (a probability, a latency) comes from the
runtime's seeded source, so ``--seed`` replays a run.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .config import Settings
from .errors import FieldProblem, Reject
from .exchange import Answer, Outcome, Point
from .fault_rules import (
    FAULT_HEADER,
    FIRED_KEPT,
    GATEWAY,
    MAX_RULES,
    Fault,
    FaultError,
    Rule,
    parse_fault,
    retry_after,
)
from .runtime import Runtime
from .store import Store

__all__ = [
    "FAULT_HEADER",
    "MAGIC",
    "Bucket",
    "Fault",
    "FaultEngine",
    "FaultError",
    "Rule",
    "parse_fault",
]

# ---------------------------------------------------------------------- the engine


#: Magic recipients: numbers in the fictional ranges (README, "Testing failures") that always
#: get one fault, whatever the provider: number -> (fault, what it does).
MAGIC: dict[str, tuple[str, str]] = {
    "+15555550181": ("invalid_request", "refused as an invalid request (validation error)"),
    "+15555550182": ("country_not_supported", "destination country not supported"),
    "+15555550183": ("throttle; retry-after=1", "throttled: 429 with Retry-After: 1"),
    "+15555550184": ("insufficient_credit", "no credit left (2sms InsufficientCredit)"),
    "+15555550185": ("503", "provider outage: 503 from the gateway"),
    "+15555550186": ("unauthorized", "token refused: 401"),
    "+15555550187": ("latency=2s", "accepted after 2 seconds"),
    "+15555550188": ("undelivered", "accepted, then undelivered (2sms: failed), with a reason"),
}
for _n in list(MAGIC):  # the same outcomes in Ofcom's drama range, for UK senders
    MAGIC["+447700900" + _n[-3:]] = MAGIC[_n]


@dataclass(slots=True)
class Bucket:
    """A token bucket: ``rate`` tokens a second up to ``burst``; a request takes one."""

    rate: float
    burst: int
    tokens: float = 0.0
    at: float = 0.0

    def take(self, now: float) -> float:
        """Take a token: 0.0 when there was one, else the seconds until there is."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


def _restored(saved: Mapping[str, Any]) -> Rule:
    """A rule as :meth:`FaultEngine._save` kept it (with its id and creation time)."""
    data = {k: v for k, v in saved.items() if k in ("fault", "match", "when")}
    return Rule.from_json(data, str(saved["id"]), float(saved["created_at"]))


#: (namespace, message id, status, at, reason) -> the changed message, or None.
SetStatus = Callable[[str, str, str, float, str | None], Awaitable[Any]]


class FaultEngine:
    """The post-fault hook of the pipeline: rules, the header and magic recipients."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        settings: Settings,
        set_status: SetStatus | None = None,
    ) -> None:
        self.store = store
        #: How a fault changes a message's status (the lifecycle's ``change``, so that the
        #: change is pushed to callbacks like any other).
        self.set_status: SetStatus = set_status or (
            lambda namespace, message_id, status, at, reason: store.set_status(
                message_id, namespace, status, at, reason
            )
        )
        self.runtime = runtime
        self.settings = settings
        self.magic = (
            {n: parse_fault(f) for n, (f, _) in MAGIC.items()} if settings.magic_numbers else {}
        )
        self._rules: OrderedDict[str, list[Rule]] = OrderedDict()  # namespace -> rules
        self._fired: dict[str, deque[dict[str, Any]]] = {}
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        #: Rate limits set for one namespace (PUT /_mock/rate-limit): (rate, burst).
        self.limits: dict[str, tuple[float, int]] = {}

    # ---------------------------------------------------------- the rate limit

    def set_limit(self, namespace: str, rate: float | None, burst: int) -> None:
        """Give a namespace its own rate limit (None: back to the setting's)."""
        self._buckets.pop(namespace, None)
        if rate is None:
            self.limits.pop(namespace, None)
        else:
            if len(self.limits) >= self.settings.max_namespaces and namespace not in self.limits:
                raise FaultError("sms-mockserver: too many namespaces with their own rate limit")
            self.limits[namespace] = (rate, burst)

    def limit_of(self, namespace: str) -> tuple[float, int] | None:
        """The rate limit a namespace runs under: (requests per second, burst), or None."""
        own = self.limits.get(namespace)
        if own is not None:
            return own
        rate = self.settings.rate_limit
        return None if rate is None else (float(rate), self.settings.rate_limit_burst)

    def _throttled(self, namespace: str) -> float:
        """Seconds until the namespace's bucket has a token (0.0: it had one, now taken)."""
        limit = self.limit_of(namespace)
        if limit is None:
            return 0.0
        bucket = self._buckets.get(namespace)
        now = time.monotonic()
        if bucket is None:
            bucket = self._buckets[namespace] = Bucket(limit[0], limit[1], limit[1], now)
            while len(self._buckets) > self.settings.max_namespaces:
                self._buckets.popitem(last=False)
        return bucket.take(now)

    # ---------------------------------------------------------- rules, per namespace

    async def rules(self, namespace: str) -> list[Rule]:
        """The namespace's rules (read from the store once, then kept)."""
        found = self._rules.get(namespace)
        if found is None:
            saved = await self.store.get_control(namespace, "faults")
            found = [_restored(r) for r in (saved or [])]
            self._rules[namespace] = found
            while len(self._rules) > self.settings.max_namespaces:
                self._rules.popitem(last=False)
        return found

    async def add_rule(self, namespace: str, data: Mapping[str, Any]) -> Rule:
        """Add a rule; raises :class:`FaultError` for a bad one or beyond MAX_RULES."""
        rules = await self.rules(namespace)
        if len(rules) >= MAX_RULES:
            raise FaultError(f"sms-mockserver: at most {MAX_RULES} fault rules per namespace")
        # From the seeded source: a replayed run gives its rules the same ids.
        rule = Rule.from_json(data, self.runtime.new_uuid(), self.runtime.now(namespace))
        rules.append(rule)
        await self._save(namespace, rules)
        return rule

    async def delete_rules(self, namespace: str, rule_id: str | None = None) -> int:
        """Delete one rule (or all of the namespace's); how many went."""
        rules = await self.rules(namespace)
        keep = [] if rule_id is None else [r for r in rules if r.id != rule_id]
        gone = len(rules) - len(keep)
        rules[:] = keep
        await self._save(namespace, rules)
        return gone

    async def _save(self, namespace: str, rules: Sequence[Rule]) -> None:
        data = [
            {
                "fault": r.fault,
                "match": r.match,
                "when": r.when,
                "id": r.id,
                "created_at": r.created_at,
            }
            for r in rules
        ]
        if rules:
            if not await self.store.put_control(namespace, "faults", data):
                raise FaultError("sms-mockserver: the namespace has no room for more control state")
        else:
            await self.store.delete_control(namespace, "faults")

    def forget(self, namespace: str | None) -> None:
        """Drop what is kept of a namespace (or all) after the store reset it."""
        if namespace is None:
            self._rules.clear()
            self._fired.clear()
            self._buckets.clear()
            self.limits.clear()
        else:
            self._rules.pop(namespace, None)
            self._fired.pop(namespace, None)
            self._buckets.pop(namespace, None)
            self.limits.pop(namespace, None)

    def fired(self, namespace: str) -> list[dict[str, Any]]:
        """The faults fired in a namespace, oldest first (the last FIRED_KEPT)."""
        return list(self._fired.get(namespace, ()))

    # ---------------------------------------------------------- the hook

    def __call__(
        self, point: Point, outcome: Outcome
    ) -> Awaitable[Reject | Answer | Outcome | None] | None:
        """The fault of one accepted request: None when none can apply (the usual send, with
        no coroutine made for it), else an awaitable of what to answer instead (None in it:
        no fault after all)."""
        # Every source of a fault that _apply consults is listed here, or it never runs:
        # a new source must be added to both.
        rules = self._rules.get(point.namespace)
        if (
            rules is None  # not read from the store yet
            or rules
            or self.limits
            or self.settings.rate_limit is not None
            or FAULT_HEADER in point.incoming.headers
        ):
            return self._apply(point, outcome)
        magic = self.magic
        if magic and outcome.submission is not None:
            for recipient in outcome.submission.recipients:
                if recipient.to in magic:
                    return self._apply(point, outcome)
        return None

    async def _apply(self, point: Point, outcome: Outcome) -> Reject | Answer | Outcome | None:
        """Choose and apply the fault of one accepted request (None: no fault)."""
        if self.limits or self.settings.rate_limit is not None:
            wait = self._throttled(point.namespace)
            if wait:
                return Reject(
                    "rate_limited",
                    detail="Too many requests; retry after the Retry-After seconds",
                    status=429,
                    headers=(("Retry-After", str(retry_after(wait))),),
                    violation=False,
                )
        header = point.incoming.headers.get(FAULT_HEADER)
        rules = self._rules.get(point.namespace)
        if rules is None:
            rules = await self.rules(point.namespace)
        fault: Fault | None = None
        source = ""
        now = point.context.now() if rules else 0.0
        for rule in rules:
            if rule.matches(point, outcome):
                chosen = rule.choose(self.runtime, now)
                if chosen is not None:
                    rule.hits += 1
                    fault, source = chosen, f"rule {rule.id}"
                    break
        if fault is None and header is not None:
            try:
                fault = parse_fault(header)
            except FaultError as exc:
                raise Reject(
                    "invalid_request",
                    [
                        FieldProblem(
                            "X-Mock-Fault", header, str(exc).removeprefix("sms-mockserver: ")
                        )
                    ],
                    violation=False,  # the mock's own header, not the provider's contract
                ) from None
            source = "header"
        if fault is None and self.magic and outcome.submission is not None:
            for recipient in outcome.submission.recipients:
                magic = self.magic.get(recipient.to)
                if magic is not None:
                    fault, source = magic, f"magic number {recipient.to}"
                    break
        if fault is None:
            return None
        if not now:
            now = point.context.now()
        self._log(point, fault, source, now)
        if outcome.submission is not None:  # shown with the request when it is kept
            outcome.submission.faults = (*outcome.submission.faults, f"{fault.text} ({source})")
        if fault.latency is not None:
            await asyncio.sleep(fault.latency.draw(self.runtime))
        return self.answer(fault, point, outcome)

    def answer(
        self, fault: Fault, point: Point, outcome: Outcome
    ) -> Reject | Answer | Outcome | None:
        """What a fault answers (None for a latency alone: the request goes on)."""
        headers = (("Retry-After", str(fault.retry_after)),) if fault.retry_after else ()
        if fault.undelivered and outcome.submission is not None:
            return self._undelivered(point, outcome)
        if fault.cut is not None or fault.bad_json:
            # The success answer the request would have had, then cut.
            whole = point.operation.render(outcome)
            if fault.bad_json:
                body = whole.body[: max(1, len(whole.body) // 2)]
                return Answer(fault.status or 200, body, headers)
            hold = float(self.settings.max_hang_seconds)
            cut = fault.cut or "reset"
            return Answer(fault.status or whole.status, whole.body, headers, cut=cut, hold=hold)
        if fault.outage is not None:
            title = GATEWAY[fault.outage]
            body = (
                f"<html>\r\n<head><title>{fault.outage} {title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{fault.outage} {title}</h1></center>\r\n<hr><center>nginx</center>"
                "\r\n</body>\r\n</html>\r\n"
            ).encode()
            return Answer(fault.status or fault.outage, body, headers, b"text/html")
        if fault.throttle:
            return Reject(
                "rate_limited",
                detail="Too many requests; retry after the Retry-After seconds",
                status=fault.status or 429,
                headers=headers or (("Retry-After", "1"),),
                violation=False,
            )
        if fault.error is not None:
            resolve = getattr(point.operation, "fault_outcome", None)
            name = resolve(fault.error) if resolve is not None else fault.error
            # No detail: the provider's own documented wording, whatever chose the fault.
            return Reject(str(name), status=fault.status, headers=headers, violation=False)
        return None

    def _undelivered(self, point: Point, outcome: Outcome) -> Outcome:
        """The send as accepted; once stored, each of its messages ends undelivered (Zoho's
        word) or failed (2sms's), with a carrier reason, on the namespace's clock."""
        submission = outcome.submission
        assert submission is not None
        # Each provider's own word for it (Provider.failure_status).
        status = getattr(point.operation, "failure_status", "failed")
        reason = "the carrier reported the message undelivered (fault injected by sms-mockserver)"
        namespace = point.namespace
        before = outcome.then

        async def fail() -> None:
            if before is not None:
                await before()
            at = self.runtime.now(namespace)
            for recipient in submission.recipients:
                await self.set_status(namespace, recipient.id, status, at, reason)

        outcome.then = fail
        return outcome

    def _log(self, point: Point, fault: Fault, source: str, now: float) -> None:
        log = self._fired.setdefault(point.namespace, deque(maxlen=FIRED_KEPT))
        log.append(
            {
                "at": now,
                "operation": point.operation.id,
                "fault": fault.text,
                "source": source,
            }
        )
