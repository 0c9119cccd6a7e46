"""The OpenAPI 3.1 description of the admin API, served at ``GET /_mock/openapi.json``.

:data:`OPERATIONS` holds one entry per route and method (parameters, request body, answers
by status); :data:`~mockserver.admin_schemas.SCHEMAS` the shapes they refer to.  Two tests
keep it true: ``tests/test_admin_openapi.py`` checks that every admin route and method is
described and every description has its route, and ``tests/contract/
test_admin_schemathesis.py`` runs schemathesis over it against the app, so an answer that
differs from its description (a key, a type, a status) fails.  A new admin route is one more
entry here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from . import __version__
from .admin_params import DEFAULT_PAGE, DEFAULT_WAIT, MAX_BODY, MAX_CURSOR, MAX_PAGE, MAX_WAIT
from .admin_schemas import SCHEMAS, ref
from .contracts import PROVIDERS

__all__ = ["OPERATIONS", "PARAMETERS", "admin_document", "document"]

Operation = dict[str, Any]


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


#: The query and path parameters, by name (``components.parameters``).
PARAMETERS: dict[str, dict[str, Any]] = {
    "namespace": _query(
        "namespace",
        {"type": "string"},
        "The namespace (empty: the default one). Listings without it cover every namespace; "
        "calls on one namespace's state default to the default namespace.",
    ),
    "provider": _query("provider", {"enum": list(PROVIDERS)}, "Only this provider's."),
    "to": _query(
        "to",
        {"type": "string"},
        "Only messages to this number (any international form; compared in E.164), or a "
        "contact:/group: recipient.",
    ),
    "status": _query("status", {"type": "string"}, "Only messages in this status."),
    "text": _query("text", {"type": "string"}, "Only messages whose text contains this."),
    "submission_id": _query("submission_id", {"type": "string"}, "Only this request's."),
    "cursor": _query(
        "cursor",
        {"type": "string", "pattern": "^[0-9]{0,19}$"},
        f"The next_cursor of the previous page (0 to {MAX_CURSOR}; empty: the start).",
    ),
    "limit": _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE},
        "Page size.",
    ),
    "order": _query(
        "order", {"enum": ["asc", "desc"], "default": "asc"}, "Oldest first (asc) or newest."
    ),
    "timeout": _query(
        "timeout",
        {"type": "number", "minimum": 0, "maximum": MAX_WAIT, "default": DEFAULT_WAIT},
        "Seconds to wait for a matching message.",
    ),
    "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
    "n": {
        "name": "n",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "The attachment's number in the message, from 0.",
    },
    "provider_path": {
        "name": "provider",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": f"One of {', '.join(PROVIDERS)}.",
    },
}


def _params(*names: str) -> list[dict[str, Any]]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def _answer(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def _body(schema: str, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": ref(schema)}}}


_BAD = _answer("Error", "A parameter or the body is not in the form described.")
_MISSING = _answer("Error", "Nothing of that id (or name) is kept.")
_TOO_BIG = _answer("Error", f"The body is over {MAX_BODY} bytes.")
_FILTERS = ("namespace", "provider", "to", "status", "text", "submission_id")

#: Every admin operation, by (method, path): its summary, parameters, body and answers.
#: 401 (a token is set and the call has none) and 508 (the call came from a status push of
#: this mock) apply to every one and are added by :func:`document`.
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("get", "/_mock/health"): {
        "summary": "Liveness, version, seed, and what the store and queues hold against "
        "their limits (open without the admin token).",
        "responses": {"200": _answer("Health", "The mock is up.")},
    },
    ("get", "/_mock/openapi.json"): {
        "summary": "This description (open without the admin token).",
        "responses": {"200": _answer("OpenAPI", "The OpenAPI 3.1 document.")},
    },
    ("get", "/_mock/messages"): {
        "summary": "One page of accepted messages.",
        "parameters": _params(*_FILTERS, "cursor", "limit", "order"),
        "responses": {"200": _answer("MessagePage", "A page."), "400": _BAD},
    },
    ("delete", "/_mock/messages"): {
        "summary": "Reset a namespace (or all): messages, violations, credits, fault rules, "
        "callback targets, rate limits, clock, pending steps and pushes.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("Deleted", "The messages deleted."), "400": _BAD},
    },
    ("get", "/_mock/messages/wait"): {
        "summary": "The first matching message, answered as soon as it arrives.",
        "parameters": _params(*_FILTERS, "cursor", "timeout"),
        "responses": {
            "200": _answer("MessageFound", "It arrived."),
            "400": _BAD,
            "404": _answer("Error", "None arrived within the timeout."),
        },
    },
    ("get", "/_mock/messages/{id}"): {
        "summary": "One message, with the request and the answer it came with.",
        "parameters": _params("id", "namespace"),
        "responses": {
            "200": _answer("MessageDetail", "The message."),
            "400": _BAD,
            "404": _MISSING,
        },
    },
    ("get", "/_mock/messages/{id}/media/{n}"): {
        "summary": "The bytes of one MMS attachment as the client sent them, with their "
        "Content-Type, as a download (Content-Disposition: attachment).",
        "parameters": _params("id", "n", "namespace"),
        "responses": {
            "200": {
                "description": "The attachment's bytes (application/octet-stream when it was "
                "sent without a well-formed type).",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            "400": _BAD,
            "404": _answer("Error", "No such message, or no attachment of that number."),
            "410": _answer("Error", "The bytes were evicted (max_kept_media_bytes)."),
        },
    },
    ("post", "/_mock/messages/{id}/status"): {
        "summary": "Force a message into a status, with a reason (pushed to callbacks).",
        "parameters": _params("id", "namespace"),
        "requestBody": _body("StatusForce"),
        "responses": {
            "200": _answer("MessageFound", "The message in its new status."),
            "400": _BAD,
            "404": _MISSING,
            "413": _TOO_BIG,
        },
    },
    ("get", "/_mock/clock"): {
        "summary": "The namespace's clock.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("Clock", "Its time."), "400": _BAD},
    },
    ("post", "/_mock/clock"): {
        "summary": "Freeze, set or advance the namespace's clock, or put it back on real "
        "time; lifecycle steps that came due are taken at once.",
        "parameters": _params("namespace"),
        "requestBody": _body("ClockChange"),
        "responses": {"200": _answer("Clock", "Its new time."), "400": _BAD, "413": _TOO_BIG},
    },
    ("get", "/_mock/violations"): {
        "summary": "One page of recorded contract violations, oldest first.",
        "parameters": _params("namespace", "provider", "cursor", "limit", "order"),
        "responses": {"200": _answer("ViolationPage", "A page."), "400": _BAD},
    },
    ("get", "/_mock/contracts/{provider}/openapi.json"): {
        "summary": "The provider contract this mock enforces, with its settings applied.",
        "parameters": _params("provider_path"),
        "responses": {
            "200": _answer("OpenAPI", "The provider's OpenAPI document."),
            "404": _answer("Error", "No such provider."),
        },
    },
    ("get", "/_mock/faults"): {
        "summary": "The namespace's fault rules, their counts, and the faults fired.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("FaultRules", "The rules."), "400": _BAD},
    },
    ("post", "/_mock/faults"): {
        "summary": "Add a fault rule.",
        "parameters": _params("namespace"),
        "requestBody": _body("FaultRuleIn"),
        "responses": {
            "201": _answer("FaultRuleAdded", "The rule, with its id."),
            "400": _BAD,
            "413": _TOO_BIG,
        },
    },
    ("delete", "/_mock/faults"): {
        "summary": "Delete every fault rule of the namespace.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("Deleted", "The rules deleted."), "400": _BAD},
    },
    ("delete", "/_mock/faults/{id}"): {
        "summary": "Delete one fault rule.",
        "parameters": _params("id", "namespace"),
        "responses": {"200": _answer("Deleted", "Deleted."), "400": _BAD, "404": _MISSING},
    },
    ("get", "/_mock/callbacks"): {
        "summary": "The namespace's callback targets, pushes waiting, and one page of tries.",
        "parameters": _params("namespace", "cursor", "limit"),
        "responses": {"200": _answer("CallbackJournal", "The journal."), "400": _BAD},
    },
    ("post", "/_mock/callbacks/flush"): {
        "summary": "Try every waiting push of the namespace now.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("CallbackFlush", "The tries made."), "400": _BAD},
    },
    ("get", "/_mock/callbacks/targets"): {
        "summary": "The namespace's callback targets.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("CallbackTargets", "The targets."), "400": _BAD},
    },
    ("post", "/_mock/callbacks/targets"): {
        "summary": "Register a URL the namespace's status changes are pushed to.",
        "parameters": _params("namespace"),
        "requestBody": _body("CallbackTargetIn"),
        "responses": {
            "201": _answer("CallbackTargetAdded", "The target, with its id."),
            "400": _BAD,
            "413": _TOO_BIG,
        },
    },
    ("delete", "/_mock/callbacks/targets"): {
        "summary": "Delete every callback target of the namespace.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("Deleted", "The targets deleted."), "400": _BAD},
    },
    ("delete", "/_mock/callbacks/targets/{id}"): {
        "summary": "Delete one callback target.",
        "parameters": _params("id", "namespace"),
        "responses": {"200": _answer("Deleted", "Deleted."), "400": _BAD, "404": _MISSING},
    },
    ("get", "/_mock/magic"): {
        "summary": "The magic recipients and the fault each one gets.",
        "responses": {"200": _answer("Magic", "The numbers.")},
    },
    ("get", "/_mock/rate-limit"): {
        "summary": "The rate limit the namespace runs under.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("RateLimit", "The limit."), "400": _BAD},
    },
    ("put", "/_mock/rate-limit"): {
        "summary": "Give the namespace a rate limit of its own.",
        "parameters": _params("namespace"),
        "requestBody": _body("RateLimitIn"),
        "responses": {"200": _answer("RateLimit", "The limit."), "400": _BAD, "413": _TOO_BIG},
    },
    ("delete", "/_mock/rate-limit"): {
        "summary": "Put the namespace back under the rate_limit setting.",
        "parameters": _params("namespace"),
        "responses": {"200": _answer("RateLimit", "The limit now."), "400": _BAD},
    },
    ("post", "/_mock/seed"): {
        "summary": "Start the random source again from a seed (or a fresh one).",
        "requestBody": _body("SeedIn", required=False),
        "responses": {"200": _answer("Seed", "The seed."), "400": _BAD, "413": _TOO_BIG},
    },
}

_OPEN = {("get", "/_mock/health"), ("get", "/_mock/openapi.json")}


def document(root_path: str = "") -> dict[str, Any]:
    """The description as JSON data; behind a proxy that serves the mock below a root path
    (``uvicorn --root-path``), its one server is that path, so clients resolve the paths."""
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), operation in OPERATIONS.items():
        op = {**operation, "responses": dict(operation["responses"])}
        op["operationId"] = f"{method}_{path.removeprefix('/_mock/')}".replace("/", "_")
        op["responses"]["508"] = _answer(
            "Error", "The call came from a status push of this mock (loop protection)."
        )
        if (method, path) in _OPEN:
            op["security"] = []
        else:
            op["responses"]["401"] = {
                **_answer("Error", "The mock has an admin token and the call did not send it."),
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            }
        paths.setdefault(path, {})[method] = op
    servers = {"servers": [{"url": root_path}]} if root_path else {}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sms-mockserver admin API",
            "version": __version__,
            "description": "Read and control the mock: its journal of messages and "
            "violations, clocks, forced states, fault rules, rate limits, callback targets "
            "and their journal. JSON in, JSON out; every refusal is "
            '{"error": "sms-mockserver: …"} naming the parameter and the form it takes.',
        },
        **servers,
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Only when the mock was started with --admin-token.",
                }
            },
        },
        # The token is optional: with none set, every call goes without one.
        "security": [{}, {"adminToken": []}],
    }


@lru_cache(maxsize=8)  # one root path per server; bounded all the same
def admin_document(root_path: str = "") -> bytes:
    """The description as the bytes ``GET /_mock/openapi.json`` answers (made once per root
    path: a server has one)."""
    return json.dumps(document(root_path), indent=2, ensure_ascii=False).encode("utf-8")
