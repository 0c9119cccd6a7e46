"""Client conformance: drive the user's own client against the mock and hold it to the contract.

>>> from mockserver.conformance import check_client          # doctest: +SKIP
>>> check_client("zoho_voice", lambda base_url, sms: my_client.send(base_url, sms.to,
...              sms.text, sender=sms.sender), expected_errors=(my_client.SendError,))

Two questions, each answered by a failure that names what went wrong:

1. **Does every request the client sends conform to the contract?**  The client is called
   with messages generated from the contract (hypothesis: numbers in many countries and both
   spellings, GSM-7 and Unicode texts up to the documented length); each call runs in a fresh
   namespace and must leave no contract violation and at least one accepted message.
2. **Does the client cope with every documented answer?**  The mock answers each call with
   one of the provider's answers in turn (success, the validation error, an unsupported
   country, a refused token, a throttled 429, and for 2sms no credit left); the client may
   return or raise one of ``expected_errors`` (its own documented exceptions), but not crash
   with anything else (a ``KeyError`` on a body it did not expect, a ``JSONDecodeError``).

Needs the ``kit`` extra (hypothesis).  The mock runs in-process (a :class:`MockServer` on a
free port), as the answers are scripted through the pipeline's fault hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .config import Settings
from .errors import FieldProblem, MockServerError, Reject
from .exchange import Answer, Point
from .handle import new_namespace
from .providers.zoho_settings import ZohoSettings
from .server import MockServer
from .strategies import FORMAT_STRATEGIES

__all__ = ["ANSWERS", "ClientConformanceError", "Outgoing", "check_client", "outgoing"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for the client to send: recipient, text and sender."""

    to: str
    text: str
    sender: str


class ClientConformanceError(AssertionError, MockServerError):
    """The client broke the contract or crashed on a documented answer; the message lists
    each case."""


#: Texts the contract allows: GSM-7 (one and several segments), Unicode (emoji included).
_TEXTS = st.one_of(
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz ABC0123456789.,!?@£$"), min_size=1),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1),
    st.sampled_from(["Your code is 1234", "Café at 10:00 ☕", "x" * 300]),
).map(lambda text: text if text.strip() else "x")


def outgoing(max_text: int = 1000) -> st.SearchStrategy[Outgoing]:
    """Messages the contract allows (texts up to ``max_text`` characters)."""
    return st.builds(
        Outgoing,
        to=FORMAT_STRATEGIES["phone"],
        text=_TEXTS.map(lambda text: text[:max_text]),
        sender=st.sampled_from(["ACME", "+14155550199"]),
    )


def _problem(field: str) -> FieldProblem:
    return FieldProblem(field, None, "a value the mock refuses for this case (check_client)")


#: Each provider's documented answers besides success, as the pipeline's refusals.
ANSWERS: dict[str, dict[str, Callable[[], Reject | Answer]]] = {
    "zoho_voice": {
        "ZVSMS-4027 (bad request)": lambda: Reject(
            "invalid_request", [_problem("sms_data.customerNumber")], violation=False
        ),
        "ZVSMS-4038 (country not supported)": lambda: Reject("country_not_supported"),
        "401 INVALID_OAUTHTOKEN": lambda: Reject("unauthorized", violation=False),
        "429 (throttled)": lambda: Reject(
            "rate_limited", detail="throttled", status=429, headers=[("Retry-After", "1")]
        ),
    },
    "twosms": {
        "InvalidRequest envelope": lambda: Reject(
            "invalid_request", [_problem("Contacts")], violation=False
        ),
        "401 Unauthorized envelope": lambda: Reject("unauthorized", violation=False),
        "InsufficientCredit envelope": lambda: Reject(
            "insufficient_credit", detail="It needs 1 credits; 0 are available."
        ),
        "429 (throttled)": lambda: Reject(
            "rate_limited", detail="throttled", status=429, headers=[("Retry-After", "1")]
        ),
    },
}


def check_client(
    provider: str,
    send: Callable[[str, Outgoing], object],
    *,
    expected_errors: Sequence[type[BaseException]] = (),
    max_examples: int = 25,
    settings_: Settings | None = None,
) -> None:
    """Drive ``send(base_url, message)`` (the user's client) against a fresh mock and raise
    :class:`ClientConformanceError` when it breaks the contract or crashes on a documented
    answer.  ``expected_errors`` are the exceptions the client documents for error answers."""
    if provider not in ANSWERS:
        raise MockServerError(f"sms-mockserver: no provider {provider!r}; known: {list(ANSWERS)}")
    allowed = tuple(expected_errors)
    mock = MockServer(settings=settings_)
    scripted: dict[str, Callable[[], Reject | Answer]] = {}

    async def answer(point: Point) -> Reject | Answer | None:
        make = scripted.get(point.namespace)
        if make is None or point.operation.provider != provider or point.incoming.path == "/Token":
            return None
        return make()

    hook: Callable[[Point], Awaitable[Reject | Answer | None]] = answer
    failures: list[str] = []
    with mock:
        mock.app.state.hooks.pre.append(hook)
        max_text = mock.settings.provider(ZohoSettings).max_message_length

        @given(message=outgoing(max_text))
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(message: Outgoing) -> None:
            handle = mock.namespace()
            error: Exception | None = None
            try:
                send(handle.url, message)
            except Exception as exc:  # judged below, after the request itself
                error = exc
            found = handle.violations()
            if found:  # the root cause, whatever the client did with the answer
                lines = [f"  {v.field}: sent {v.sent!r}; contract: {v.expected}" for v in found]
                raise ClientConformanceError(
                    f"sms-mockserver: the client's request for {message} broke the "
                    f"{provider} contract:\n" + "\n".join(lines)
                ) from error
            if error is not None:
                what = "raised" if isinstance(error, allowed) else "crashed with"
                raise ClientConformanceError(
                    f"sms-mockserver: the client {what} {error!r} for {message}, a request the "
                    "contract allows"
                ) from error
            if not handle.messages():
                raise ClientConformanceError(
                    f"sms-mockserver: the client sent nothing the mock accepted for {message}"
                )
            handle.reset()

        conforms()
        sample = Outgoing("+14155550100", "Your code is 1234", "ACME")
        for kind, make in ANSWERS[provider].items():
            name = new_namespace()
            handle = mock.namespace(name)
            scripted[name] = make
            try:
                send(handle.url, sample)
            except allowed:
                pass
            except Exception as exc:  # the point: any other exception is a crash
                failures.append(f"  {kind}: the client crashed with {exc!r}")
            finally:
                del scripted[name]
                handle.reset()
    if failures:
        raise ClientConformanceError(
            "sms-mockserver: the client does not cope with documented answers (it may return or "
            f"raise {', '.join(e.__name__ for e in allowed) or 'nothing else'}):\n"
            + "\n".join(failures)
        )
