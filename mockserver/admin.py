"""The ``/_mock/`` admin API: read and control views over the store, never over providers.

Every listing is paged (``limit`` at most :data:`MAX_PAGE`), so no call holds the server for
longer than one page takes, whatever is stored.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import number_pool
from .access import admin_authorized
from .admin_openapi import admin_document
from .admin_params import (
    DEFAULT_PAGE,
    DEFAULT_WAIT,
    MAX_BURST,
    MAX_PAGE,
    MAX_RATE,
    MAX_WAIT,
    MESSAGE_FILTERS,
    PAGING,
    BadRequest,
    cursor_of,
    descending,
    json_body,
    limit_of,
    message_filter,
    namespace_of,
    one_namespace,
    only_namespace,
    page_body,
)
from .callbacks import CALLBACK_HEADER, CallbackError, Callbacks
from .config import Settings
from .contracts import PROVIDERS, render_openapi
from .downloads import annotate_media, download
from .errors import MockServerError
from .faults import MAGIC, FaultEngine, FaultError
from .lifecycle import Lifecycle, LifecycleError
from .readings import LATEST, parse_duration, parse_epoch, whole_number
from .runtime import Runtime, VirtualClock
from .store import DEFAULT_NAMESPACE, Store

__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "MAX_WAIT", "PREFIX", "admin_routes"]

PREFIX = "/_mock"

_CLOCK_VERBS = frozenset({"freeze", "set", "advance", "real"})


def _advance_of(value: Any, now: float) -> float:
    """Seconds of a clock's ``advance`` from ``now``: a duration that keeps it within 9999."""
    seconds = parse_duration(value, most=LATEST)
    if now + seconds > LATEST:
        raise ValueError(f"{value!r} would take the clock past 9999-12-31T23:59:59Z")
    return seconds


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def _error(message: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": f"sms-mockserver: {message}"}, status, headers)


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
                "number_helpers": number_pool.usage(settings.number_processes),
            }
        )

    async def messages(request: Request) -> Response:
        if request.method == "DELETE":
            return await delete_messages(request)
        where = message_filter(request, MESSAGE_FILTERS | PAGING)
        page = await store.query(
            where,
            cursor=cursor_of(request),
            limit=limit_of(request),
            descending=descending(request),
        )
        body = page_body("messages", page)
        if where.namespace is not None:
            body["namespace"] = await store.namespace_usage(where.namespace)
        return _json(body)

    async def delete_messages(request: Request) -> Response:
        # Only a namespace narrows a reset; any other filter is refused rather than ignored,
        # so a typo never wipes more than was asked for.
        namespace = only_namespace(
            request,
            "DELETE /_mock/messages",
            "; it resets all providers of that namespace",
        )
        deleted = await store.reset(namespace)
        faults.forget(namespace)  # its rules went with the store's control state
        lifecycle.forget(namespace)
        callbacks.forget(namespace)  # and so did its callback targets
        runtime.reset_clocks(namespace)  # a fresh namespace runs on real time
        return _json({"deleted": deleted})

    async def one_message(request: Request) -> Response:
        namespace = only_namespace(request, "GET /_mock/messages/{id}")
        message = await store.get(request.path_params["id"], namespace)
        if message is None:
            raise BadRequest(f"no message with id {request.path_params['id']!r} is kept", 404)
        body = message.to_json()
        if message.media:
            kept = await store.kept_media(message.namespace, message.submission_id)
            annotate_media(body["media"], request, message, kept)
        body["submission"] = await store.submission(message.submission_id, message.namespace)
        return _json(body)

    async def message_media(request: Request) -> Response:
        namespace = only_namespace(request, "GET /_mock/messages/{id}/media/{n}")
        message_id, raw = request.path_params["id"], request.path_params["n"]
        message = await store.get(message_id, namespace)
        if message is None:
            raise BadRequest(f"no message with id {message_id!r} is kept", 404)
        count = len(message.media)
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) < count):
            raise BadRequest(
                f"message {message_id!r} has {count} attachment(s), numbered from 0; "
                f"there is no attachment {raw!r}",
                404,
            )
        index = int(raw)
        kept = await store.media(message.namespace, message.submission_id, index)
        if kept is None:
            meta = message.media[index]
            raise BadRequest(
                f"attachment {index} of message {message_id!r} ({meta.filename!r}, {meta.size} "
                "bytes) is not kept: attachments are kept within max_kept_media_bytes "
                f"({store.limits.max_kept_media_bytes} bytes in all), the oldest dropped first; "
                "its summary (size, sha256) stays with the message",
                410,
            )
        return download(kept)

    async def wait(request: Request) -> Response:
        where = message_filter(request, MESSAGE_FILTERS | {"cursor", "timeout"})
        raw = request.query_params.get("timeout", str(DEFAULT_WAIT))
        try:
            timeout = float(raw) if raw.isascii() else -1.0
        except ValueError:
            timeout = -1.0
        if not 0 <= timeout <= MAX_WAIT:
            raise BadRequest(
                f"timeout must be a number of seconds from 0 to {MAX_WAIT:g}, got {raw!r}"
            )
        message = await store.wait(where, timeout=timeout, cursor=cursor_of(request))
        if message is None:
            wanted = {k: v for k, v in request.query_params.items() if k != "timeout"}
            raise BadRequest(f"no message matching {wanted} arrived within {timeout:g} s", 404)
        return _json({"message": message.to_json()})

    async def violations(request: Request) -> Response:
        if "to" in request.query_params:
            raise BadRequest("violations are filtered by provider and namespace only (not to)")
        where = message_filter(request, frozenset({"namespace", "provider"}) | PAGING)
        if descending(request):
            raise BadRequest("violations are listed oldest first (order=asc)")
        page = await store.violations(
            where.namespace, where.provider, cursor=cursor_of(request), limit=limit_of(request)
        )
        return _json(page_body("violations", page))

    async def fault_rules(request: Request) -> Response:
        namespace = one_namespace(request)
        if request.method == "POST":
            try:
                rule = await faults.add_rule(namespace, await json_body(request))
            except FaultError as exc:
                raise BadRequest(str(exc).removeprefix("sms-mockserver: ")) from None
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
        namespace = one_namespace(request)
        rule_id = request.path_params["id"]
        if not await faults.delete_rules(namespace, rule_id):
            raise BadRequest(f"no fault rule {rule_id!r} in namespace {namespace!r}", 404)
        return _json({"deleted": 1})

    async def rate_limit(request: Request) -> Response:
        namespace = one_namespace(request)
        if request.method == "PUT":
            data = await json_body(request)
            rate = data.get("rate") if isinstance(data, dict) else None
            burst = whole_number(
                data.get("burst", settings.rate_limit_burst) if isinstance(data, dict) else 0
            )
            if (
                not isinstance(data, dict)
                or set(data) - {"rate", "burst"}
                or not (isinstance(rate, int | float) and not isinstance(rate, bool))
                or not 0 < rate <= MAX_RATE
                or burst is None
                or not 1 <= burst <= MAX_BURST
            ):
                raise BadRequest(
                    'PUT /_mock/rate-limit takes {"rate": requests per second (above 0, at most '
                    f'{MAX_RATE}), "burst": N (1 to {MAX_BURST}, optional)}}'
                )
            try:
                faults.set_limit(namespace, float(rate), burst)
            except FaultError as exc:
                raise BadRequest(str(exc).removeprefix("sms-mockserver: ")) from None
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
        namespace = one_namespace(request)
        if request.method == "GET":
            return _json(_clock_body(namespace))
        data = await json_body(request, empty={})
        if (
            not isinstance(data, dict)
            or len(data) != 1
            or set(data) - _CLOCK_VERBS
            or any(verb in ("freeze", "real") and on is not True for verb, on in data.items())
        ):
            raise BadRequest(
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
                    virtual.set(parse_epoch(value))
                elif verb == "advance":
                    virtual.advance(_advance_of(value, virtual()))
                runtime.use_clock(namespace, virtual)
            except MockServerError as exc:
                raise BadRequest(str(exc).removeprefix("sms-mockserver: ")) from None
            except ValueError as exc:
                raise BadRequest(f"{verb}: {exc}") from None
        taken = await lifecycle.run_due(namespace)  # what is due by the new time, now
        callbacks.clock_moved()  # retries of pushes may be due too
        return _json({**_clock_body(namespace), "steps_taken": taken})

    async def message_status(request: Request) -> Response:
        namespace = one_namespace(request)
        data = await json_body(request)
        status = data.get("status") if isinstance(data, dict) else None
        reason = data.get("reason") if isinstance(data, dict) else None
        if (
            not isinstance(status, str)
            or not (reason is None or isinstance(reason, str))
            or set(data) - {"status", "reason"}
        ):
            raise BadRequest('POST /_mock/messages/{id}/status takes {"status": S, "reason": "…"}')
        try:
            found = await lifecycle.force(namespace, request.path_params["id"], status, reason)
        except LifecycleError as exc:
            raise BadRequest(str(exc).removeprefix("sms-mockserver: ")) from None
        # Read back after the change: gone only if evicted or reset meanwhile (another call).
        message = await store.get(request.path_params["id"], namespace) if found else None
        if message is None:
            raise BadRequest(
                f"no message with id {request.path_params['id']!r} in namespace {namespace!r}", 404
            )
        return _json({"message": message.to_json()})

    async def callback_journal(request: Request) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - {"namespace", "cursor", "limit"})
        if unknown:
            raise BadRequest(
                f"GET /_mock/callbacks takes namespace=, cursor= and limit= (got {unknown})"
            )
        namespace = namespace_of(params.get("namespace")) or DEFAULT_NAMESPACE
        tries, cursor = callbacks.attempts(namespace, cursor_of(request), limit_of(request))
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
        namespace = one_namespace(request)
        tries = await callbacks.flush(namespace, timeout=settings.callback_timeout_seconds + 1)
        return _json(
            {
                "namespace": namespace,
                "attempts": [a.to_json() for a in tries],
                "pending": callbacks.pending(namespace),
            }
        )

    async def callback_targets(request: Request) -> Response:
        namespace = one_namespace(request)
        if request.method == "POST":
            data = await json_body(request)
            if not isinstance(data, dict) or set(data) - {"url", "provider"}:
                raise BadRequest(
                    'POST /_mock/callbacks/targets takes {"url": "http://…", "provider": P} '
                    f"(provider optional: {', '.join(PROVIDERS)})"
                )
            try:
                target = await callbacks.add_target(
                    namespace, data.get("url"), data.get("provider")
                )
            except CallbackError as exc:
                raise BadRequest(str(exc).removeprefix("sms-mockserver: ")) from None
            return _json({"namespace": namespace, "target": target.to_json()}, 201)
        if request.method == "DELETE":
            return _json({"deleted": await callbacks.delete_targets(namespace)})
        targets = await callbacks.targets(namespace)
        return _json({"namespace": namespace, "targets": [t.to_json() for t in targets]})

    async def callback_target(request: Request) -> Response:
        namespace = one_namespace(request)
        target_id = request.path_params["id"]
        if not await callbacks.delete_targets(namespace, target_id):
            raise BadRequest(f"no callback target {target_id!r} in namespace {namespace!r}", 404)
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
        data = await json_body(request, empty={})
        given = data.get("seed") if isinstance(data, dict) else None
        value = None if given is None else whole_number(given)
        if (
            not isinstance(data, dict)
            or set(data) - {"seed"}
            or (given is not None and (value is None or not 0 <= value < 2**63))
        ):
            raise BadRequest(
                'POST /_mock/seed takes {"seed": N} (a whole number from 0 to 2**63 - 1), '
                "or {} for a fresh one"
            )
        return _json({"seed": runtime.reseed(value)})

    async def admin_openapi(request: Request) -> Response:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return Response(admin_document(root), media_type="application/json")

    @cache
    def document(provider: str) -> bytes:
        # Settings are frozen, so each provider's document is rendered once.
        return render_openapi(provider, settings.contract_overrides())

    async def contract(request: Request) -> Response:
        provider = request.path_params["provider"]
        if provider not in PROVIDERS:
            raise BadRequest(f"no contract named {provider!r}; known: {', '.join(PROVIDERS)}", 404)
        return Response(document(provider), media_type="application/json")

    token = settings.admin_token

    def guarded(endpoint: Any) -> Any:
        # Liveness probes need no secret, nor does a client reading what the API takes:
        # neither shows any data.
        open_to_all = endpoint in (health, admin_openapi)

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
            except BadRequest as bad:
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
        Route(f"{PREFIX}/openapi.json", guarded(admin_openapi), methods=["GET"]),
    ]
