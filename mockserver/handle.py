"""A test's view of one namespace of a mock: its URL, its messages, its violations.

>>> with MockServer() as mock:                       # doctest: +SKIP
...     sms = mock.namespace()                       # a fresh namespace
...     my_client.send(base_url=sms.url, to="+14155550100", text="hi")
...     sms.assert_sent(to="+14155550100", text_contains="hi")
...     sms.assert_no_violations()

The handle reads everything through the admin API (``/_mock/``) of any transport: a live
server's (``httpx.Client``) or an app in-process (Starlette's ``TestClient``), so the pytest
fixtures ``smsmock`` and ``smsmock_app`` are the same object over different transports.
Client code sends to :attr:`MockHandle.url` (``…/_ns/<namespace>``), so its requests land in
this namespace without sending any header of the mock's.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from .errors import TOOL, ContractViolation, FieldProblem, MockServerError, NoMessageError
from .store import Message, Violation

__all__ = ["MockHandle", "NotSentError", "new_namespace"]


def new_namespace(prefix: str = "test") -> str:
    """A namespace name nobody else uses (``test-<32 hex digits>``)."""
    return f"{prefix}-{uuid.uuid4().hex}"


class NotSentError(AssertionError, MockServerError):
    """:meth:`MockHandle.assert_sent` found no (or not the right number of) messages; the
    message lists the closest ones."""


class MockHandle:
    """One namespace of a mock, read and reset through its admin API.

    ``base`` is the mock's base URL as ``http`` reaches it (``http://127.0.0.1:8910``, or
    ``http://testserver`` in-process); ``http`` sends the admin calls.  A ``namespace`` of
    None reads and resets every namespace (:class:`MockServer`'s helpers).
    """

    def __init__(
        self, http: httpx.Client, base: str, namespace: str | None, tool: str = TOOL
    ) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.namespace = namespace
        #: Prefix of failure messages (``smsmock`` in the pytest plugin).
        self.tool = tool
        #: Fields whose violations a test declared expected (:meth:`expect_violations`).
        self.expected_fields: set[str] = set()

    @property
    def url(self) -> str:
        """The base URL client code sends to: requests below it land in this namespace."""
        return f"{self.base}/_ns/{self.namespace}" if self.namespace else self.base

    # ------------------------------------------------------------------ reads

    def admin(self, method: str, path: str, **params: Any) -> tuple[int, Any]:
        """One admin API call (``path`` below ``/_mock``); 404 is returned, not raised."""
        query = {k: v for k, v in params.items() if v is not None}
        response = self.http.request(method, f"{self.base}/_mock{path}", params=query)
        if response.status_code >= 400 and response.status_code != 404:
            raise MockServerError(
                f"{method} /_mock{path}: HTTP {response.status_code}: {response.text}"
            )
        return response.status_code, response.json()

    def _every(self, path: str, key: str | None = None, **params: Any) -> list[Any]:
        key = key or path.rsplit("/", 1)[-1]
        items: list[Any] = []
        cursor = None
        while True:
            _, body = self.admin("GET", path, cursor=cursor, limit=1000, **params)
            items += body[key]
            cursor = body["next_cursor"]
            if cursor is None:
                return items

    def messages(
        self,
        *,
        provider: str | None = None,
        to: str | None = None,
        status: str | None = None,
        text: str | None = None,
    ) -> list[Message]:
        """This namespace's messages, oldest first (``text`` matches a part of the text)."""
        found = self._every(
            "/messages",
            namespace=self.namespace,
            provider=provider,
            to=to,
            status=status,
            text=text,
        )
        return [Message.from_json(m) for m in found]

    def wait_for(
        self,
        *,
        to: str | None = None,
        text: str | None = None,
        provider: str | None = None,
        status: str | None = None,
        timeout: float = 10.0,
    ) -> Message:
        """The first message matching the filters, waiting server-side up to ``timeout`` s;
        raises :class:`~mockserver.errors.NoMessageError` (an AssertionError) when none comes."""
        code, body = self.admin(
            "GET",
            "/messages/wait",
            namespace=self.namespace,
            to=to,
            text=text,
            provider=provider,
            status=status,
            timeout=timeout,
        )
        if code == 404:
            raise NoMessageError(f"{self.tool}: {body['error'].removeprefix(TOOL + ': ')}")
        return Message.from_json(body["message"])

    def media(self, message_id: str, n: int = 0) -> bytes:
        """The bytes of attachment ``n`` (from 0) of a message, exactly as the client sent
        them; raises :class:`~mockserver.errors.MockServerError` with the mock's reason when
        there is no such attachment (404) or its bytes are no longer kept (410)."""
        response = self.http.get(
            f"{self.base}/_mock/messages/{message_id}/media/{n}",
            params={"namespace": self.namespace} if self.namespace else None,
        )
        if response.status_code != 200:
            raise MockServerError(
                f"{self.tool}: HTTP {response.status_code}: {_reason_of(response)}"
            )
        return response.content

    def violations(self, *, provider: str | None = None) -> list[Violation]:
        """The contract violations of this namespace's requests, oldest first."""
        found = self._every("/violations", namespace=self.namespace, provider=provider)
        return [Violation.from_json(v) for v in found]

    def reset(self) -> int:
        """Forget this namespace's messages, violations and balances; how many messages."""
        _, body = self.admin("DELETE", "/messages", namespace=self.namespace)
        self.expected_fields.clear()
        return int(body["deleted"])

    # ------------------------------------------------------------------ faults

    def fault(
        self,
        fault: str | None = None,
        *,
        when: dict[str, Any] | None = None,
        match: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Add a fault rule to this namespace (README, "Testing failures"):
        ``fault("503", when={"next": 2})``, ``fault(when={"sequence": ["503", "ok"]})``;
        the rule as the mock lists it (with its ``id``)."""
        data: dict[str, Any] = {"fault": fault}
        if when is not None:
            data["when"] = when
        if match is not None:
            data["match"] = match
        rule: dict[str, Any] = self._post("/faults", data)["rule"]
        return rule

    def _post(self, path: str, data: Any) -> Any:
        """POST ``data`` as JSON to an admin call of this namespace; the answer's JSON, or a
        :class:`MockServerError` with the mock's own message."""
        response = self.http.post(
            f"{self.base}/_mock{path}", params={"namespace": self.namespace}, json=data
        )
        if response.status_code >= 400:
            raise MockServerError(f"{self.tool}: {_reason_of(response)}")
        return response.json()

    def faults(self) -> dict[str, Any]:
        """The namespace's fault rules (with their ``seen`` and ``hits``) and the faults
        ``fired``."""
        _, body = self.admin("GET", "/faults", namespace=self.namespace)
        found: dict[str, Any] = body
        return found

    # ------------------------------------------------------------------ time and lifecycle

    def clock(
        self,
        *,
        at: float | str | None = None,
        advance: float | str | None = None,
        freeze: bool = False,
        real: bool = False,
    ) -> dict[str, Any]:
        """Move this namespace's clock (README, "Time and lifecycle"): ``at`` sets it
        (epoch seconds or ``"2030-03-17T12:00:00Z"``), ``advance`` moves it on (seconds or
        ``"1h30m"``), ``freeze`` stops it, ``real`` puts it back on real time.  The steps
        due by the new time are taken before it returns; the clock as the mock shows it."""
        verbs = {
            "set": at,
            "advance": advance,
            "freeze": True if freeze else None,
            "real": True if real else None,
        }
        chosen = {k: v for k, v in verbs.items() if v is not None}
        if len(chosen) != 1:
            raise MockServerError(f"{self.tool}: clock() takes one of at, advance, freeze, real")
        answer: dict[str, Any] = self._post("/clock", chosen)
        return answer

    def set_status(self, message_id: str, status: str, reason: str | None = None) -> Message:
        """Force a message into ``status`` (with a ``reason``, e.g. a carrier error)."""
        body = self._post(f"/messages/{message_id}/status", {"status": status, "reason": reason})
        return Message.from_json(body["message"])

    def add_callback(self, url: str, *, provider: str | None = None) -> dict[str, Any]:
        """Push this namespace's status changes to ``url`` (of one provider's messages,
        or of both); the target as the mock lists it (with its ``id``)."""
        data = {"url": url} if provider is None else {"url": url, "provider": provider}
        target: dict[str, Any] = self._post("/callbacks/targets", data)["target"]
        return target

    def callbacks(self) -> list[dict[str, Any]]:
        """Every journaled try of a status push of this namespace, oldest first."""
        return self._every("/callbacks", "attempts", namespace=self.namespace)

    def flush_callbacks(self) -> list[dict[str, Any]]:
        """Try every waiting push of this namespace now (retries included); the tries."""
        tries: list[dict[str, Any]] = self._post("/callbacks/flush", None)["attempts"]
        return tries

    # ------------------------------------------------------------------ assertions

    def expect_violations(self, *fields: str) -> None:
        """Declare that this test's client breaks the contract on ``fields`` on purpose
        (``sms_data.customerNumber``); :meth:`assert_no_violations` then ignores them."""
        self.expected_fields.update(fields)

    def unexpected_violations(self) -> list[Violation]:
        """The violations not declared expected."""
        return [v for v in self.violations() if v.field not in self.expected_fields]

    def assert_no_violations(self) -> None:
        """Raise :class:`~mockserver.errors.ContractViolation` (an AssertionError) listing each
        request field the client got wrong: field, what was sent, what the contract expects."""
        found = self.unexpected_violations()
        if found:
            problems = [FieldProblem(v.field, v.sent, v.expected) for v in found]
            where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
            raise ContractViolation(problems, context=where, tool=self.tool)

    def assert_sent(
        self,
        *,
        to: str | None = None,
        text: str | None = None,
        text_contains: str | None = None,
        provider: str | None = None,
        count: int | None = 1,
    ) -> list[Message]:
        """The messages matching every filter given (``text`` exactly, ``text_contains`` as a
        part); raises :class:`NotSentError` when their number is not ``count`` (None: at least
        one), listing the closest messages sent."""
        sent = self.messages(provider=provider)
        wanted = {"to": to, "text": text, "text_contains": text_contains}
        matching = [m for m in sent if _matches(m, to, text, text_contains)]
        if (count is None and matching) or len(matching) == count:
            return matching
        described = ", ".join(f"{k}={v!r}" for k, v in wanted.items() if v is not None)
        expected = "at least one message" if count is None else f"{count} message(s)"
        lines = [
            f"{self.tool}: expected {expected} with {described or 'any content'}; "
            f"{len(matching)} matched, of {len(sent)} in namespace {self.namespace or '(all)'}"
        ]
        if sent:
            lines.append("closest messages sent:")
            for message in _closest(sent, to, text or text_contains)[:5]:
                lines.append(f"  to={message.to!r} text={message.text!r} ({message.provider})")
        raise NotSentError("\n".join(lines))


def _reason_of(response: httpx.Response) -> str:
    """What the mock said of a refused admin call (its ``error``), else the body as it is."""
    try:
        found = response.json()
    except ValueError:
        return response.text
    return str(found.get("error", response.text)) if isinstance(found, dict) else response.text


def _matches(m: Message, to: str | None, text: str | None, contains: str | None) -> bool:
    return (
        (to is None or _same_number(m.to, to))
        and (text is None or m.text == text)
        and (contains is None or contains in m.text)
    )


def _same_number(stored: str, wanted: str) -> bool:
    """``+14155550100`` matches ``14155550100`` and ``+1 415 555 0100``."""
    digits = "".join(c for c in wanted if c.isdigit())
    return stored == wanted or stored.lstrip("+") == digits


def _closest(sent: Sequence[Message], to: str | None, text: str | None) -> list[Message]:
    def score(m: Message) -> float:
        total = 0.0
        if to is not None:
            total += difflib.SequenceMatcher(None, m.to, to).ratio()
        if text is not None:
            total += difflib.SequenceMatcher(None, m.text, text).ratio()
        return total

    return sorted(sent, key=score, reverse=True)
