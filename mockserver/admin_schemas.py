"""The JSON Schemas of what the admin API answers and takes (``components.schemas`` of
``GET /_mock/openapi.json``), kept as data.

Each answer's schema lists every key its handler writes (``required``) and no other
(``additionalProperties: false``), so a key added to, renamed in or dropped from a handler or
a record's ``to_json`` fails the admin API's schemathesis run
(``tests/contract/test_admin_schemathesis.py``) until the description says so too.
"""

from __future__ import annotations

from typing import Any

from .admin_params import MAX_BURST, MAX_CURSOR, MAX_RATE
from .callbacks import MAX_TARGETS
from .contracts import PROVIDERS
from .lifecycle import STATES
from .readings import LATEST

__all__ = ["SCHEMAS", "nullable", "obj", "ref"]

Schema = dict[str, Any]

INTEGER: Schema = {"type": "integer"}
COUNT: Schema = {"type": "integer", "minimum": 0}
NUMBER: Schema = {"type": "number"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
#: Epoch seconds on the namespace's clock.
TIME: Schema = {"type": "number", "description": "epoch seconds, on the namespace's clock"}
ANY: Schema = {"description": "any JSON value"}


def ref(name: str) -> Schema:
    """A reference to one of :data:`SCHEMAS`."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (OpenAPI 3.1: a JSON Schema ``anyOf``)."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], *optional: str, description: str = "") -> Schema:
    """An object with exactly these keys, all required but ``optional``."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


CURSOR: Schema = nullable({"type": "string", "pattern": "^[0-9]{1,19}$"})


def _page(key: str, item: str, **extra: Schema) -> Schema:
    return obj(
        {
            "count": COUNT,
            key: {"type": "array", "items": ref(item)},
            "next_cursor": CURSOR,
            **extra,
        },
        *extra,
        description="One page; pass next_cursor back as cursor= for the next (null: no more).",
    )


_NUMBER = r"[0-9]{1,12}(\.[0-9]{1,9})?"
#: A duration as :func:`mockserver.readings.parse_duration` reads it (``90``, ``1h30m``).
_DURATION = rf"^{_NUMBER}$|^({_NUMBER}(ms|d|h|m|s))+$"

_COUNTS = {
    "messages": COUNT,
    "bytes": COUNT,
    "violations": COUNT,
    "evicted_messages": COUNT,
    "evicted_violations": COUNT,
}

_MESSAGE: dict[str, Schema] = {
    "seq": COUNT,
    "id": STRING,
    "submission_id": STRING,
    "namespace": STRING,
    "provider": {"enum": list(PROVIDERS)},
    "operation": STRING,
    "to": STRING,
    "country": STRING,
    "segments": COUNT,
    "test_number": BOOLEAN,
    "sender": STRING,
    "text": STRING,
    "encoding": STRING,
    "status": STRING,
    "created_at": TIME,
    "scheduled_at": nullable(STRING),
    "media": {"type": "array", "items": ref("Media")},
    "history": {"type": "array", "items": ref("StatusChange")},
    "recurrence": nullable(
        obj(
            {"of": STRING, "occurrence": {"type": "integer", "minimum": 1}},
            description="The recurring send this message is an occurrence of.",
        )
    ),
    "notify": nullable({"type": "object", "description": "what the provider's status push needs"}),
}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {"error": {"type": "string", "pattern": "^sms-mockserver: "}},
        description="A refused admin call: what was wrong and what is expected.",
    ),
    "Deleted": obj({"deleted": COUNT}, description="How many were deleted."),
    "Health": obj(
        {
            "status": {"const": "ok"},
            "version": STRING,
            "providers": {"type": "array", "items": {"enum": list(PROVIDERS)}},
            "seed": {"type": "integer", "minimum": 0, "maximum": MAX_CURSOR},
            "store": ref("StoreUsage"),
            "lifecycle": obj(
                {
                    "pending": COUNT,
                    "untracked": COUNT,
                    "limit": COUNT,
                    "occurrences": COUNT,
                    "occurrences_refused": COUNT,
                }
            ),
            "callbacks": obj(
                {
                    "pending": COUNT,
                    "limit": COUNT,
                    "delivered": COUNT,
                    "given_up": COUNT,
                    "dropped": COUNT,
                }
            ),
            "number_helpers": obj(
                {
                    "running": COUNT,
                    "limit": COUNT,
                    "off": nullable(STRING),
                },
                description="Processes that check a large 2sms send's new numbers "
                "(setting number_processes); `off` says why they are not used, once one "
                "could not start.",
            ),
        }
    ),
    "StoreUsage": obj(
        {
            "store": {"type": "string", "description": "memory, or the SQLite store's URL"},
            "namespaces": COUNT,
            "messages": COUNT,
            "bytes": COUNT,
            "violations": COUNT,
            "tokens": COUNT,
            "media": obj(
                {"kept": COUNT, "bytes": COUNT},
                description="MMS attachments whose bytes are kept, and their size.",
            ),
            "evicted": obj(
                {"messages": COUNT, "violations": COUNT, "namespaces": COUNT, "media": COUNT}
            ),
            "limits": obj(
                {
                    "max_messages": COUNT,
                    "on_full": {"enum": ["evict", "reject"]},
                    "max_namespaces": COUNT,
                    "max_bytes": COUNT,
                    "max_violations": COUNT,
                    "max_tokens": COUNT,
                    "max_kept_media_bytes": COUNT,
                }
            ),
        }
    ),
    "NamespaceUsage": obj(_COUNTS, description="What one namespace holds and evicted."),
    "Media": obj(
        {
            "filename": STRING,
            "content_type": nullable(STRING),
            "size": COUNT,
            "sha256": STRING,
            "provider_id": STRING,
        }
    ),
    "MediaDetail": obj(
        {
            "filename": STRING,
            "content_type": nullable(STRING),
            "size": COUNT,
            "sha256": STRING,
            "provider_id": STRING,
            "kept": {"type": "boolean", "description": "whether its bytes are still kept"},
            "url": {"type": "string", "description": "where its bytes are downloaded"},
        },
        description="An attachment's summary, whether its bytes are kept, and their URL.",
    ),
    "StatusChange": obj({"status": STRING, "at": TIME, "reason": nullable(STRING)}),
    "Message": obj(_MESSAGE),
    "MessageDetail": obj(
        {
            **_MESSAGE,
            "media": {"type": "array", "items": ref("MediaDetail")},
            "submission": nullable(ref("Submission")),
        },
        description="A message with its request; submission is null once that is evicted.",
    ),
    "Submission": obj(
        {
            "headers": {"type": "object", "additionalProperties": STRING},
            "request": ANY,
            "status_code": INTEGER,
            "response": ANY,
            "faults": {"type": "array", "items": STRING},
        },
        "faults",
        description="The request as received (secrets redacted) and the answer sent.",
    ),
    "MessagePage": _page(
        "messages",
        "Message",
        # With namespace=: its counts and evictions (null when it holds nothing).
        namespace=nullable(ref("NamespaceUsage")),
    ),
    "MessageFound": obj({"message": ref("Message")}),
    "Violation": obj(
        {
            "seq": COUNT,
            "namespace": STRING,
            "provider": {"enum": list(PROVIDERS)},
            "operation": STRING,
            "field": STRING,
            "sent": ANY,
            "sent_size": COUNT,
            "sent_truncated": BOOLEAN,
            "expected": STRING,
            "created_at": TIME,
        }
    ),
    "ViolationPage": _page("violations", "Violation"),
    "Clock": obj(
        {"namespace": STRING, "now": TIME, "virtual": BOOLEAN, "steps_taken": COUNT},
        "steps_taken",
        description="The namespace's clock; after a POST, the lifecycle steps it made due.",
    ),
    "ClockChange": {
        "oneOf": [
            obj({"freeze": {"const": True}}),
            obj({"real": {"const": True}}),
            obj(
                {
                    "set": {
                        "anyOf": [
                            {"type": "number", "minimum": 0, "maximum": LATEST},
                            {"type": "string", "format": "date-time"},
                        ]
                    }
                }
            ),
            obj(
                {
                    "advance": {
                        "anyOf": [
                            {"type": "number", "minimum": 0},
                            {
                                "type": "string",
                                "pattern": _DURATION,
                            },
                        ]
                    }
                }
            ),
        ],
        "description": "Freeze the clock, put it back on real time, set it (epoch seconds or "
        "an ISO 8601 time with an offset, 1970 to 9999) or advance it (seconds or 1h30m).",
    },
    "StatusForce": obj(
        {"status": {"enum": list(STATES)}, "reason": nullable(STRING)},
        "reason",
    ),
    "FaultRuleIn": obj(
        {
            "fault": {"type": "string", "description": "the fault grammar, e.g. 503"},
            "match": obj(
                dict.fromkeys(("provider", "operation", "to", "sender", "text"), STRING),
                "provider",
                "operation",
                "to",
                "sender",
                "text",
            ),
            "when": {
                "oneOf": [
                    obj({"next": {"type": "integer", "minimum": 1}}),
                    obj({"every": {"type": "integer", "minimum": 1}}),
                    obj({"after": {"type": "integer", "minimum": 0}}),
                    obj({"probability": {"type": "number", "minimum": 0, "maximum": 1}}),
                    obj({"for_seconds": {"type": "number", "exclusiveMinimum": 0}}),
                    obj({"sequence": {"type": "array", "items": STRING, "minItems": 1}}),
                    obj({}),
                ]
            },
        },
        "fault",
        "match",
        "when",
    ),
    "FaultRule": obj(
        {
            "id": STRING,
            "fault": nullable(STRING),
            "match": {"type": "object", "additionalProperties": STRING},
            "when": {"type": "object"},
            "created_at": TIME,
            "seen": COUNT,
            "hits": COUNT,
        }
    ),
    "FaultRules": obj(
        {
            "namespace": STRING,
            "rules": {"type": "array", "items": ref("FaultRule")},
            "fired": {
                "type": "array",
                "items": obj({"at": TIME, "operation": STRING, "fault": STRING, "source": STRING}),
            },
        }
    ),
    "FaultRuleAdded": obj({"namespace": STRING, "rule": ref("FaultRule")}),
    "RateLimitIn": obj(
        {
            "rate": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RATE},
            "burst": {"type": "integer", "minimum": 1, "maximum": MAX_BURST},
        },
        "burst",
        description="Requests per second, and how many may come at once (default: the "
        "rate_limit_burst setting).",
    ),
    "RateLimit": obj(
        {
            "namespace": STRING,
            "rate": nullable({"type": "number", "exclusiveMinimum": 0}),
            "burst": nullable({"type": "integer", "minimum": 1}),
        },
        description="The rate limit the namespace runs under (null: none).",
    ),
    "CallbackTarget": obj(
        {
            "id": STRING,
            "url": STRING,
            "provider": nullable({"enum": list(PROVIDERS)}),
            "created_at": TIME,
        }
    ),
    "CallbackTargetIn": obj(
        {"url": {"type": "string", "format": "uri"}, "provider": {"enum": list(PROVIDERS)}},
        "provider",
        description=f"A URL for the namespace's status pushes (at most {MAX_TARGETS}).",
    ),
    "CallbackTargets": obj(
        {"namespace": STRING, "targets": {"type": "array", "items": ref("CallbackTarget")}}
    ),
    "CallbackTargetAdded": obj({"namespace": STRING, "target": ref("CallbackTarget")}),
    "CallbackAttempt": obj(
        {
            "seq": COUNT,
            "message_id": STRING,
            "status": STRING,
            "url": STRING,
            "attempt": {"type": "integer", "minimum": 1},
            "at": TIME,
            "latency_ms": {"type": "number", "minimum": 0},
            "status_code": nullable(INTEGER),
            "error": nullable(STRING),
            "outcome": {"enum": ["delivered", "retrying", "gave_up"]},
            "next_at": nullable(TIME),
            "content_type": STRING,
            "body": STRING,
        }
    ),
    "CallbackJournal": obj(
        {
            "namespace": STRING,
            "targets": {"type": "array", "items": ref("CallbackTarget")},
            "extra_urls": {"type": "array", "items": STRING},
            "pending": COUNT,
            "count": COUNT,
            "attempts": {"type": "array", "items": ref("CallbackAttempt")},
            "next_cursor": CURSOR,
        }
    ),
    "CallbackFlush": obj(
        {
            "namespace": STRING,
            "attempts": {"type": "array", "items": ref("CallbackAttempt")},
            "pending": COUNT,
        }
    ),
    "Magic": obj(
        {
            "enabled": BOOLEAN,
            "numbers": {
                "type": "array",
                "items": obj({"number": STRING, "fault": STRING, "does": STRING}),
            },
        }
    ),
    "Seed": obj({"seed": {"type": "integer", "minimum": 0, "maximum": MAX_CURSOR}}),
    "SeedIn": obj(
        {"seed": nullable({"type": "integer", "minimum": 0, "maximum": MAX_CURSOR})},
        "seed",
        description="A seed, or none (null or {}) for a fresh one.",
    ),
    "OpenAPI": {"type": "object", "required": ["openapi", "info", "paths"]},
}
