"""The ``/_mock/`` admin API: read and control views over the store, never over providers."""

from __future__ import annotations

from functools import cache

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .config import Settings
from .contracts import PROVIDERS, render_openapi
from .sms import parse_number
from .store import MessageStore
from .store.base import DEFAULT_NAMESPACE

__all__ = ["PREFIX", "admin_routes"]

PREFIX = "/_mock"


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": f"sms-mockserver: {message}"}, status_code=status)


def admin_routes(store: MessageStore, version: str, settings: Settings) -> list[Route]:
    """Routes of the admin API, bound to ``store``; contracts are served as ``settings``
    change them."""

    def _filters(request: Request) -> dict[str, str | None] | JSONResponse:
        params = request.query_params
        unknown = sorted(set(params) - {"provider", "to", "namespace"})
        if unknown:
            return _bad(f"unknown filter(s) {', '.join(unknown)}; use provider, to, namespace")
        provider = params.get("provider")
        if provider is not None and provider not in PROVIDERS:
            return _bad(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
        to = params.get("to")
        if to is not None:
            number = parse_number(to)
            if number is None:
                return _bad(f"to must be an international phone number, got {to!r}")
            to = number.e164
        namespace = params.get("namespace")
        if namespace == "":  # as an empty X-Mock-Namespace header: the default namespace
            namespace = DEFAULT_NAMESPACE
        return {"provider": provider, "to": to, "namespace": namespace}

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": version, "providers": list(PROVIDERS)})

    async def list_messages(request: Request) -> Response:
        filters = _filters(request)
        if isinstance(filters, JSONResponse):
            return filters
        items = store.messages(**filters)
        return JSONResponse({"count": len(items), "messages": [m.to_json() for m in items]})

    async def delete_messages(request: Request) -> Response:
        # Only a namespace narrows a reset; any other filter is refused rather than ignored,
        # so a typo never wipes more than was asked for.
        unknown = sorted(set(request.query_params) - {"namespace"})
        if unknown:
            return _bad(
                f"DELETE /_mock/messages takes only namespace= (got {', '.join(unknown)}); "
                "it resets all providers of that namespace"
            )
        namespace = request.query_params.get("namespace")
        if namespace == "":
            namespace = DEFAULT_NAMESPACE
        return JSONResponse({"deleted": store.reset(namespace=namespace)})

    async def list_violations(request: Request) -> Response:
        if "to" in request.query_params:
            return _bad("violations are filtered by provider and namespace only (not to)")
        filters = _filters(request)
        if isinstance(filters, JSONResponse):
            return filters
        items = store.violations(namespace=filters["namespace"], provider=filters["provider"])
        return JSONResponse({"count": len(items), "violations": [v.to_json() for v in items]})

    @cache
    def document(provider: str) -> bytes:
        # Settings are frozen, so each provider's document is rendered once.
        return render_openapi(provider, settings.contract_overrides())

    async def contract(request: Request) -> Response:
        provider = request.path_params["provider"]
        if provider not in PROVIDERS:
            return _bad(f"no contract named {provider!r}; known: {', '.join(PROVIDERS)}", 404)
        return Response(document(provider), media_type="application/json")

    return [
        Route(f"{PREFIX}/health", health, methods=["GET"]),
        Route(f"{PREFIX}/messages", list_messages, methods=["GET"]),
        Route(f"{PREFIX}/messages", delete_messages, methods=["DELETE"]),
        Route(f"{PREFIX}/violations", list_violations, methods=["GET"]),
        Route(f"{PREFIX}/contracts/{{provider}}/openapi.json", contract, methods=["GET"]),
    ]
