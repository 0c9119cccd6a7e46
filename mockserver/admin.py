"""The ``/_mock/`` admin API: read and control views over the store, never over providers.

Every listing is paged (``limit`` at most :data:`MAX_PAGE`), so no call holds the server for
longer than one page takes, whatever is stored.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .access import admin_authorized
from .callbacks import CALLBACK_HEADER, CallbackError, Callbacks
from .config import Settings
from .contracts import PROVIDERS, render_openapi
from .downloads import annotate_media, download
from .errors import MockServerError
from .faults import MAGIC, FaultEngine, FaultError
from .lifecycle import Lifecycle, LifecycleError
from .runtime import Runtime, VirtualClock
from .sms import parse_number
from .store import DEFAULT_NAMESPACE, MessageFilter, Page, Store

__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "MAX_WAIT", "PREFIX", "admin_routes"]

PREFIX = "/_mock"
DEFAULT_PAGE = 100
MAX_PAGE = 1_000
#: Longest server-side wait, in seconds (``GET /_mock/messages/wait?timeout=``).
MAX_WAIT = 60.0
DEFAULT_WAIT = 10.0

_MESSAGE_FILTERS = frozenset({"namespace", "provider", "to", "status", "text", "submission_id"})
_PAGING = frozenset({"cursor", "limit", "order"})


_CLOCK_VERBS = frozenset({"freeze", "set", "advance", "real"})
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")


def _duration_of(value: Any) -> float:
    """Seconds of an ``advance``: a number, or text such as ``90s``, ``1h30m``, ``2d``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().lower()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError(f"advance takes seconds or a duration such as 90s or 1h30m, got {value!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400}
    return sum(float(a) * scale[b] for a, b in parts)


def _epoch_of(value: Any) -> float:
    """Epoch seconds of a ``set``: a number, or an ISO 8601 time with its offset."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValueError(
            f"set takes epoch seconds or an ISO 8601 time with an offset, got {value!r}"
        )
    return when.timestamp()


class _Bad(Exception):
    """A bad admin request: answered 400 (or ``status``) with ``{"error": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def _error(message: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": f"sms-mockserver: {message}"}, status, headers)


def _namespace(value: str | None) -> str | None:
    # As an empty X-Mock-Namespace header: the default namespace.
    return DEFAULT_NAMESPACE if value == "" else value


def _message_filter(request: Request, allowed: frozenset[str]) -> MessageFilter:
    params = request.query_params
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise _Bad(f"unknown parameter(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}")
    provider = params.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise _Bad(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    to = params.get("to")
    if to is not None and not to.startswith(("contact:", "group:")):
        number = parse_number(to)
        if number is None:
            raise _Bad(
                f"to must be an international phone number (or contact:/group: id), got {to!r}"
            )
        to = number.e164
    return MessageFilter(
        namespace=_namespace(params.get("namespace")),
        provider=provider,
        to=to,
        status=params.get("status"),
        text=params.get("text"),
        submission_id=params.get("submission_id"),
    )


def _cursor(request: Request) -> int | None:
    raw = request.query_params.get("cursor")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
        raise _Bad(f"cursor must be the next_cursor of a previous page, got {raw!r}")
    return int(raw)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_PAGE
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PAGE):
        raise _Bad(f"limit must be a whole number from 1 to {MAX_PAGE}, got {raw!r}")
    return int(raw)


def _descending(request: Request) -> bool:
    order = request.query_params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise _Bad(f"order must be asc (oldest first) or desc (newest first), got {order!r}")
    return order == "desc"


def _page(items_key: str, page: Page) -> dict[str, Any]:
    return {
        "count": len(page.items),
        items_key: [item.to_json() for item in page.items],
        "next_cursor": None if page.next_cursor is None else str(page.next_cursor),
    }


def admin_routes(
    store: Store,
    version: str,
    settings: Settings,
    runtime: Runtime,
    faults: FaultEngine,
    lifecycle: Lifecycle,
    callbacks: Callbacks,
) -> list[Route]:
    """Routes of the admin API, bound to ``store``; contracts are served as ``settings``
    change them; fault rules go to ``faults``, clocks and forced states to ``lifecycle``,
    callback targets and their journal to ``callbacks``."""

    async def health(request: Request) -> Response:
        return _json(
            {
                "status": "ok",
                "version": version,
                "providers": list(PROVIDERS),
                # The random source's seed: `serve --seed N` replays this run's ids.
                "seed": runtime.seed,
                "store": await store.usage(),
                "lifecycle": lifecycle.usage(),
                "callbacks": callbacks.usage(),
            }
        )

    async def messages(request: Request) -> Response:
        if request.method == "DELETE":
            return await delete_messages(request)
        where = _message_filter(request, _MESSAGE_FILTERS | _PAGING)
        page = await store.query(
            where, cursor=_cursor(request), limit=_limit(request), descending=_descending(request)
        )
        body = _page("messages", page)
        if where.namespace is not None:
            body["namespace"] = await store.namespace_usage(where.namespace)
        return _json(body)

    async def delete_messages(request: Request) -> Response:
        # Only a namespace narrows a reset; any other filter is refused rather than ignored,
        # so a typo never wipes more than was asked for.
        unknown = sorted(set(request.query_params) - {"namespace"})
        if unknown:
            raise _Bad(
                f"DELETE /_mock/messages takes only namespace= (got {', '.join(unknown)}); "
                "it resets all providers of that namespace"
            )
        namespace = _namespace(request.query_params.get("namespace"))
        deleted = await store.reset(namespace)
        faults.forget(namespace)  # its rules went with the store's control state
        lifecycle.forget(namespace)
        callbacks.forget(namespace)  # and so did its callback targets
        runtime.reset_clocks(namespace)  # a fresh namespace runs on real time
        return _json({"deleted": deleted})

    async def one_message(request: Request) -> Response:
        unknown = sorted(set(request.query_params) - {"namespace"})
        if unknown:
            raise _Bad(f"GET /_mock/messages/{{id}} takes only namespace= (got {unknown})")
        namespace = _namespace(request.query_params.get("namespace"))
        message = await store.get(request.path_params["id"], namespace)
        if message is None:
            raise _Bad(f"no message with id {request.path_params['id']!r} is kept", 404)
        body = message.to_json()
        if message.media:
            kept = await store.kept_media(message.namespace, message.submission_id)
            annotate_media(body["media"], request, message, kept)
        body["submission"] = await store.submission(message.submission_id, message.namespace)
        return _json(body)

    async def message_media(request: Request) -> Response:
        unknown = sorted(set(request.query_params) - {"namespace"})
        if unknown:
            raise _Bad(f"GET /_mock/messages/{{id}}/media/{{n}} takes only namespace= ({unknown})")
        message_id, raw = request.path_params["id"], request.path_params["n"]
        message = await store.get(message_id, _namespace(request.query_params.get("namespace")))
        if message is None:
            raise _Bad(f"no message with id {message_id!r} is kept", 404)
        count = len(message.media)
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) < count):
            raise _Bad(
                f"message {message_id!r} has {count} attachment(s), numbered from 0; "
                f"there is no attachment {raw!r}",
                404,
            )
        index = int(raw)
        kept = await store.media(message.namespace, message.submission_id, index)
        if kept is None:
            meta = message.media[index]
            raise _Bad(
                f"attachment {index} of message {message_id!r} ({meta.filename!r}, {meta.size} "
                "bytes) is not kept: attachments are kept within max_kept_media_bytes "
                f"({store.limits.max_kept_media_bytes} bytes in all), the oldest dropped first; "
                "its summary (size, sha256) stays with the message",
                410,
            )
        return download(kept)

    async def wait(request: Request) -> Response:
        where = _message_filter(request, _MESSAGE_FILTERS | {"cursor", "timeout"})
        raw = request.query_params.get("timeout", str(DEFAULT_WAIT))
        try:
            timeout = float(raw)
        except ValueError:
            timeout = -1.0
        if not 0 <= timeout <= MAX_WAIT:
            raise _Bad(f"timeout must be a number of seconds from 0 to {MAX_WAIT:g}, got {raw!r}")
        message = await store.wait(where, timeout=timeout, cursor=_cursor(request))
        if message is None:
            wanted = {k: v for k, v in request.query_params.items() if k != "timeout"}
            raise _Bad(f"no message matching {wanted} arrived within {timeout:g} s", 404)
        return _json({"message": message.to_json()})

    async def violations(request: Request) -> Response:
        if "to" in request.query_params:
            raise _Bad("violations are filtered by provider and namespace only (not to)")
        where = _message_filter(request, frozenset({"namespace", "provider"}) | _PAGING)
        if _descending(request):
            raise _Bad("violations are listed oldest first (order=asc)")
        page = await store.violations(
            where.namespace, where.provider, cursor=_cursor(request), limit=_limit(request)
        )
        return _json(_page("violations", page))

    def _one_namespace(request: Request) -> str:
        unknown = sorted(set(request.query_params) - {"namespace"})
        if unknown:
            raise _Bad(f"this call takes only namespace= (got {', '.join(unknown)})")
        return _namespace(request.query_params.get("namespace")) or DEFAULT_NAMESPACE

    async def fault_rules(request: Request) -> Response:
        namespace = _one_namespace(request)
        if request.method == "POST":
            try:
                data = orjson.loads(await request.body())
                rule = await faults.add_rule(namespace, data)
            except orjson.JSONDecodeError as exc:
                raise _Bad(f"a fault rule is a JSON object ({exc})") from None
            except FaultError as exc:
                raise _Bad(str(exc).removeprefix("sms-mockserver: ")) from None
            return _json({"namespace": namespace, "rule": rule.to_json()}, 201)
        if request.method == "DELETE":
            return _json({"deleted": await faults.delete_rules(namespace)})
        rules = await faults.rules(namespace)
        return _json(
            {
                "namespace": namespace,
                "rules": [r.to_json() for r in rules],
                "fired": faults.fired(namespace),
            }
        )

    async def fault_rule(request: Request) -> Response:
        namespace = _one_namespace(request)
        rule_id = request.path_params["id"]
        if not await faults.delete_rules(namespace, rule_id):
            raise _Bad(f"no fault rule {rule_id!r} in namespace {namespace!r}", 404)
        return _json({"deleted": 1})

    async def rate_limit(request: Request) -> Response:
        namespace = _one_namespace(request)
        if request.method == "PUT":
            try:
                data = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                data = None
            rate = data.get("rate") if isinstance(data, dict) else None
            burst = data.get("burst", settings.rate_limit_burst) if isinstance(data, dict) else 0
            if not (
                isinstance(rate, int | float)
                and not isinstance(rate, bool)
                and 0 < rate <= 1_000_000
                and type(burst) is int
                and burst >= 1
            ):
                raise _Bad('PUT /_mock/rate-limit takes {"rate": requests per second, "burst": N}')
            try:
                faults.set_limit(namespace, float(rate), burst)
            except FaultError as exc:
                raise _Bad(str(exc).removeprefix("sms-mockserver: ")) from None
        elif request.method == "DELETE":
            faults.set_limit(namespace, None, 0)
        limit = faults.limit_of(namespace)
        body: dict[str, Any] = {"namespace": namespace, "rate": None, "burst": None}
        if limit is not None:
            body |= {"rate": limit[0], "burst": limit[1]}
        return _json(body)

    def _clock_body(namespace: str) -> dict[str, Any]:
        return {
            "namespace": namespace,
            "now": runtime.now(namespace),
            "virtual": runtime.clock_of(namespace) is not None,
        }

    async def clock(request: Request) -> Response:
        namespace = _one_namespace(request)
        if request.method == "GET":
            return _json(_clock_body(namespace))
        try:
            data = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or len(data) != 1 or set(data) - _CLOCK_VERBS:
            raise _Bad(
                'POST /_mock/clock takes one of {"freeze": true}, {"set": EPOCH_SECONDS or '
                '"2030-01-01T09:00:00Z"}, {"advance": SECONDS or "1h30m"}, {"real": true}'
            )
        ((verb, value),) = data.items()
        own = runtime.clock_of(namespace)
        if verb == "real":
            runtime.use_clock(namespace, None)
        else:
            virtual = own if isinstance(own, VirtualClock) else VirtualClock(runtime.now(namespace))
            try:
                if verb == "set":
                    virtual.set(_epoch_of(value))
                elif verb == "advance":
                    virtual.advance(_duration_of(value))
                runtime.use_clock(namespace, virtual)
            except (ValueError, MockServerError) as exc:
                raise _Bad(str(exc).removeprefix("sms-mockserver: ")) from None
        taken = await lifecycle.run_due(namespace)  # what is due by the new time, now
        callbacks.clock_moved()  # retries of pushes may be due too
        return _json({**_clock_body(namespace), "steps_taken": taken})

    async def message_status(request: Request) -> Response:
        namespace = _one_namespace(request)
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            data = None
        status = data.get("status") if isinstance(data, dict) else None
        reason = data.get("reason") if isinstance(data, dict) else None
        if not isinstance(status, str) or not (reason is None or isinstance(reason, str)):
            raise _Bad('POST /_mock/messages/{id}/status takes {"status": S, "reason": "…"}')
        try:
            found = await lifecycle.force(namespace, request.path_params["id"], status, reason)
        except LifecycleError as exc:
            raise _Bad(str(exc).removeprefix("sms-mockserver: ")) from None
        if not found:
            raise _Bad(
                f"no message with id {request.path_params['id']!r} in namespace {namespace!r}", 404
            )
        message = await store.get(request.path_params["id"], namespace)
        assert message is not None
        return _json({"message": message.to_json()})

    async def callback_journal(request: Request) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - {"namespace", "cursor", "limit"})
        if unknown:
            raise _Bad(f"GET /_mock/callbacks takes namespace=, cursor= and limit= (got {unknown})")
        namespace = _namespace(params.get("namespace")) or DEFAULT_NAMESPACE
        tries, cursor = callbacks.attempts(namespace, _cursor(request), _limit(request))
        return _json(
            {
                "namespace": namespace,
                "targets": [t.to_json() for t in await callbacks.targets(namespace)],
                "extra_urls": sorted(settings.callback_urls),
                "pending": callbacks.pending(namespace),
                "count": len(tries),
                "attempts": [a.to_json() for a in tries],
                "next_cursor": None if cursor is None else str(cursor),
            }
        )

    async def callback_flush(request: Request) -> Response:
        namespace = _one_namespace(request)
        tries = await callbacks.flush(namespace, timeout=settings.callback_timeout_seconds + 1)
        return _json(
            {
                "namespace": namespace,
                "attempts": [a.to_json() for a in tries],
                "pending": callbacks.pending(namespace),
            }
        )

    async def callback_targets(request: Request) -> Response:
        namespace = _one_namespace(request)
        if request.method == "POST":
            try:
                data = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                data = None
            if not isinstance(data, dict) or set(data) - {"url", "provider"}:
                raise _Bad(
                    'POST /_mock/callbacks/targets takes {"url": "http://…", "provider": P} '
                    f"(provider optional: {', '.join(PROVIDERS)})"
                )
            try:
                target = await callbacks.add_target(
                    namespace, data.get("url"), data.get("provider")
                )
            except CallbackError as exc:
                raise _Bad(str(exc).removeprefix("sms-mockserver: ")) from None
            return _json({"namespace": namespace, "target": target.to_json()}, 201)
        if request.method == "DELETE":
            return _json({"deleted": await callbacks.delete_targets(namespace)})
        targets = await callbacks.targets(namespace)
        return _json({"namespace": namespace, "targets": [t.to_json() for t in targets]})

    async def callback_target(request: Request) -> Response:
        namespace = _one_namespace(request)
        target_id = request.path_params["id"]
        if not await callbacks.delete_targets(namespace, target_id):
            raise _Bad(f"no callback target {target_id!r} in namespace {namespace!r}", 404)
        return _json({"deleted": 1})

    async def magic(request: Request) -> Response:
        return _json(
            {
                "enabled": settings.magic_numbers,
                "numbers": [
                    {"number": number, "fault": fault, "does": does}
                    for number, (fault, does) in MAGIC.items()
                ],
            }
        )

    async def seed(request: Request) -> Response:
        raw = await request.body()
        try:
            data = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            data = None
        value = data.get("seed") if isinstance(data, dict) else "?"
        if not (value is None or (type(value) is int and 0 <= value < 2**63)):
            raise _Bad('POST /_mock/seed takes {"seed": N} (0 to 2**63 - 1), or {} for a fresh one')
        return _json({"seed": runtime.reseed(value)})

    @cache
    def document(provider: str) -> bytes:
        # Settings are frozen, so each provider's document is rendered once.
        return render_openapi(provider, settings.contract_overrides())

    async def contract(request: Request) -> Response:
        provider = request.path_params["provider"]
        if provider not in PROVIDERS:
            raise _Bad(f"no contract named {provider!r}; known: {', '.join(PROVIDERS)}", 404)
        return Response(document(provider), media_type="application/json")

    token = settings.admin_token

    def guarded(endpoint: Any) -> Any:
        open_to_all = endpoint is health  # liveness probes need no secret; it shows no data

        async def run(request: Request) -> Response:
            if CALLBACK_HEADER in request.headers:
                return _error(
                    "a status push of this mock called its own admin API; refused so that "
                    "a push can never start another (remove the callback target)",
                    508,
                )
            if not open_to_all and not admin_authorized(
                request.headers.get("authorization", ""), token
            ):
                return _error(
                    "the admin API requires Authorization: Bearer <admin token> (the token "
                    "serve was started with: --admin-token or $SMS_MOCKSERVER_ADMIN_TOKEN)",
                    401,
                    {"WWW-Authenticate": 'Bearer realm="sms-mockserver admin"'},
                )
            try:
                response: Response = await endpoint(request)
            except _Bad as bad:
                return _error(str(bad), bad.status)
            return response

        run.__name__ = endpoint.__name__
        return run

    return [
        Route(f"{PREFIX}/health", guarded(health), methods=["GET"]),
        Route(f"{PREFIX}/messages", guarded(messages), methods=["GET", "DELETE"]),
        Route(f"{PREFIX}/messages/wait", guarded(wait), methods=["GET"]),
        Route(f"{PREFIX}/messages/{{id}}", guarded(one_message), methods=["GET"]),
        Route(f"{PREFIX}/messages/{{id}}/status", guarded(message_status), methods=["POST"]),
        Route(f"{PREFIX}/messages/{{id}}/media/{{n}}", guarded(message_media), methods=["GET"]),
        Route(f"{PREFIX}/clock", guarded(clock), methods=["GET", "POST"]),
        Route(f"{PREFIX}/violations", guarded(violations), methods=["GET"]),
        Route(f"{PREFIX}/contracts/{{provider}}/openapi.json", guarded(contract), methods=["GET"]),
        Route(f"{PREFIX}/faults", guarded(fault_rules), methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/faults/{{id}}", guarded(fault_rule), methods=["DELETE"]),
        Route(f"{PREFIX}/callbacks", guarded(callback_journal), methods=["GET"]),
        Route(f"{PREFIX}/callbacks/flush", guarded(callback_flush), methods=["POST"]),
        Route(
            f"{PREFIX}/callbacks/targets",
            guarded(callback_targets),
            methods=["GET", "POST", "DELETE"],
        ),
        Route(f"{PREFIX}/callbacks/targets/{{id}}", guarded(callback_target), methods=["DELETE"]),
        Route(f"{PREFIX}/magic", guarded(magic), methods=["GET"]),
        Route(f"{PREFIX}/rate-limit", guarded(rate_limit), methods=["GET", "PUT", "DELETE"]),
        Route(f"{PREFIX}/seed", guarded(seed), methods=["POST"]),
    ]
