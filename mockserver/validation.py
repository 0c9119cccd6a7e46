"""Request validation compiled from the contracts: one engine for every provider.

Each operation's field table becomes the JSON Schema published in its OpenAPI document
(:func:`mockserver.contracts.build_schema`); this module compiles that same schema once with
``jsonschema_rs`` and turns its errors into :class:`~mockserver.errors.FieldProblem` values
that name the field in the provider's own terms and say what was expected.  Providers only
choose the wording of the envelope around these problems.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from itertools import islice
from typing import Any

import jsonschema_rs

from .contracts import Field, Operation
from .errors import FieldProblem
from .sms import parse_number, why_invalid

__all__ = [
    "FORMAT_CHECKERS",
    "FORMAT_HINTS",
    "RequestValidator",
    "coerce_form_value",
    "is_time_zone",
    "parse_zoho_datetime",
]

ZOHO_DATETIME = "%Y-%m-%d %H:%M:%S"
#: Schema errors read from one request; enough to name every field of the contracts.
MAX_PROBLEMS = 100
# ASCII digits only, whole string: \d and $ would let "١٢" or "5\n" through.
_ZOHO_DATETIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_INT_RE = re.compile(r"[+-]?[0-9]{1,40}")
_NUMBER_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Names in a zoneinfo folder that are not zones a client could mean.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


def is_time_zone(value: str) -> bool:
    """True for an IANA zone name that tzdata knows (``Asia/Kolkata``)."""
    return value in _time_zones()


def parse_zoho_datetime(value: str) -> datetime | None:
    """Parse ``yyyy-mm-dd HH:MM:ss`` strictly; None when malformed or not a real date."""
    if not _ZOHO_DATETIME_RE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, ZOHO_DATETIME)
    except ValueError:
        return None


#: Custom formats used by the contracts, and how the mock checks them.
FORMAT_CHECKERS: Mapping[str, Callable[[str], bool]] = {
    "phone": lambda v: parse_number(v) is not None,
    "iana-timezone": is_time_zone,
    "zoho-datetime": lambda v: parse_zoho_datetime(v) is not None,
}

#: What to tell a user who sent a value of the wrong format.
FORMAT_HINTS: Mapping[str, str] = {
    "phone": "a valid international phone number with country code, e.g. +14155550100 "
    "or 14155550100",
    "iana-timezone": "an IANA time zone name, e.g. Asia/Kolkata",
    "zoho-datetime": "a date and time in yyyy-mm-dd HH:MM:ss format, e.g. 2030-08-27 22:24:38",
    "uuid": "a GUID, e.g. 86dc152b-ccbb-4be8-b283-fdd250329113",
    "guid": "a GUID, e.g. 86dc152b-ccbb-4be8-b283-fdd250329113",
    "date-time": "an ISO-8601 date and time with offset, e.g. 2025-10-26T11:42:31+00:00",
}

_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a JSON object",
    "map": "a JSON object",
    "array": "a JSON array",
    "file": "a file",
}


def _type_word(f: Field | None, fallback: str) -> str:
    if f is None:
        return _TYPE_WORDS.get(fallback, fallback)
    word = _TYPE_WORDS[f.type]
    if f.format == "int64":
        word += " (Long)"
    elif f.format == "int32":
        word += " (32-bit)"
    return word


def coerce_form_value(f: Field, text: str) -> Any:
    """Turn a form field's text into the type its contract entry declares, when it can.

    Text that does not parse is returned unchanged, so the schema check reports it with the
    field's name and expected type instead of the coercion failing silently.
    """
    if f.type == "integer" and _INT_RE.fullmatch(text):
        # At most 40 digits: far past any int64, far below int()'s 4300-digit guard.
        return int(text)
    if f.type == "number" and len(text) <= 64 and _NUMBER_RE.fullmatch(text):
        return float(text)
    if f.type == "boolean" and text.lower() in {"true", "false"}:
        return text.lower() == "true"
    return text


class RequestValidator:
    """The compiled request schema of one operation."""

    def __init__(
        self, operation: Operation, overrides: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.operation = operation
        self.schema = operation.request_schema(overrides)
        self.fields: dict[str, Field] = {f.name: f for f in operation.request}
        self._validator = jsonschema_rs.validator_for(
            self.schema, formats=dict(FORMAT_CHECKERS), validate_formats=True
        )
        # The same schema with no unknown members allowed: a body that passes it is already
        # in the contract's exact spelling, so binding and error reporting can be skipped.
        self._exact = jsonschema_rs.validator_for(
            _closed(self.schema), formats=dict(FORMAT_CHECKERS), validate_formats=True
        )
        # Lists the errors of an invalid body, with keys left to _bad_keys: jsonschema_rs
        # reports each bad key of a map with a copy of the whole map, so 10,000 bad keys
        # would cost 10,000 copies of a 10,000-entry map.
        self._listing = jsonschema_rs.validator_for(
            _without_key_rules(self.schema), formats=dict(FORMAT_CHECKERS), validate_formats=True
        )
        self._key_checks: dict[int, Any] = {}

    def accepts_exactly(self, instance: Any) -> bool:
        """True when ``instance`` is valid and uses only the contract's own member names."""
        return bool(self._exact.is_valid(instance))

    def problems(self, instance: Any, textual: bool | frozenset[str] = False) -> list[FieldProblem]:
        """Every way ``instance`` breaks the contract, in field order; empty when it is valid.

        ``textual`` names the fields (True: all of them) whose values came from text (a form
        value, a multipart text part): a type error there quotes the text, as "got a string"
        says nothing to a client that cannot send anything else.
        """
        if self._validator.is_valid(instance):
            return []
        # At most MAX_PROBLEMS errors are read: a map of 10,000 bad keys would otherwise
        # give 10,000 errors, each carrying a copy of the map (quadratic time and memory).
        errors = islice(self._listing.iter_errors(instance), MAX_PROBLEMS)
        found = [self._describe(err, instance, textual) for err in errors]
        found += self._bad_keys(self.schema, instance, [], instance)
        order = {name: i for i, name in enumerate(self.fields)}
        found.sort(key=lambda p: (order.get(p[0], len(order)), p[1].field))
        seen: set[str] = set()
        unique = []
        for _, problem in found:
            if problem.field not in seen:  # one message per field is enough to act on
                seen.add(problem.field)
                unique.append(problem)
        return unique

    def _locate(self, path: list[str | int], instance: Any) -> tuple[str, str, Any, list[Any]]:
        """Display name, contract field name, schema node and real path of an instance path.

        jsonschema_rs reports a numeric-looking map key ("+12345678901", "1") as an integer,
        so keys are recovered from the instance itself.
        """
        display, name, node, real = "", "", self.schema, []
        value = instance
        for step in path:
            props = node.get("properties", {})
            if isinstance(value, dict) and isinstance(step, int) and step not in value:
                step = next((k for k in value if _same_key(k, step)), str(step))
            if isinstance(step, int):
                display += f"[{step}]"
                name += "[]"
                node = node.get("items", {})
            elif step in props:
                display += f".{step}" if display else step
                name += f".{step}" if name else step
                node = props[step]
            else:  # a free key of a map
                display += f"[{step}]"
                name += "{}"
                ap = node.get("additionalProperties")
                node = ap if isinstance(ap, dict) else {}
            real.append(step)
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                value = None
        return display, name, node, real

    def _describe(
        self, err: jsonschema_rs.ValidationError, instance: Any, textual: bool | frozenset[str]
    ) -> tuple[str, FieldProblem]:
        kind = err.kind
        detail: dict[str, Any] = kind.as_dict()
        path = list(err.instance_path)
        if kind.name == "required":
            path.append(detail["property"])
            display, name, _, _ = self._locate(path, instance)
            return name, FieldProblem(display, None, "required")
        display, name, node, real = self._locate(path, instance)
        f = self.fields.get(name)
        sent = _value_at(instance, real)
        if kind.name == "propertyNames":  # name the offending key, not the whole map
            sent = getattr(detail.get("error"), "instance", None)
            display = f"{display}[{sent}]"
        expected = _expectation(kind.name, detail, node, f, sent)
        if (
            kind.name == "type"
            and isinstance(sent, str)
            and (textual is True or (textual and name in textual))
        ):
            shown = sent if len(sent) <= 40 else sent[:40] + "…"
            expected = expected.rsplit(", got ", 1)[0] + f", got {shown!r}"
        return name, FieldProblem(display or "(body)", sent, expected)

    def _bad_keys(
        self, node: Any, value: Any, path: list[str | int], root: Any
    ) -> list[tuple[str, FieldProblem]]:
        """Keys breaking a map's key rule (``propertyNames``), at most MAX_PROBLEMS a map."""
        out: list[tuple[str, FieldProblem]] = []
        if not isinstance(node, dict):
            return out
        if isinstance(value, dict):
            names = node.get("propertyNames")
            if isinstance(names, dict):
                check = self._key_checks.get(id(names))
                if check is None:
                    check = self._key_checks[id(names)] = jsonschema_rs.validator_for(
                        names, formats=dict(FORMAT_CHECKERS), validate_formats=True
                    )
                bad = [k for k in value if not check.is_valid(k)][:MAX_PROBLEMS]
                if bad:
                    display, name, _, _ = self._locate(path, root)
                    f = self.fields.get(name)
                    out += [
                        (
                            name,
                            FieldProblem(
                                f"{display}[{k}]", k, _expectation("propertyNames", {}, node, f, k)
                            ),
                        )
                        for k in bad
                    ]
            props = node.get("properties", {})
            extra = node.get("additionalProperties")
            for key, item in value.items():
                sub = props.get(key, extra)
                if isinstance(sub, dict):
                    out += self._bad_keys(sub, item, [*path, key], root)
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, item in enumerate(value):
                out += self._bad_keys(node["items"], item, [*path, i], root)
        return out


def _without_key_rules(schema: Any) -> Any:
    """A copy of ``schema`` without ``propertyNames`` (checked by ``_bad_keys`` instead)."""
    if isinstance(schema, list):
        return [_without_key_rules(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: _without_key_rules(v) for k, v in schema.items() if k != "propertyNames"}


def _closed(schema: Any) -> Any:
    """A copy of ``schema`` in which objects with declared properties allow no others."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _same_key(key: str, number: int) -> bool:
    try:
        return int(key) == number
    except ValueError:
        return False


def _value_at(instance: Any, path: Any) -> Any:
    value = instance
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _expectation(
    kind: str, detail: Mapping[str, Any], node: Mapping[str, Any], f: Field | None, sent: Any
) -> str:
    """Plain words for one schema error: what the field must be."""
    if kind == "type" and node.get("enum"):
        return _expectation("enum", detail, node, f, sent)
    if kind == "type":
        wanted = node.get("type", "value")
        if isinstance(wanted, list):
            wanted = next(t for t in wanted if t != "null")
        return f"expected {_type_word(f, wanted)}, got {_json_type(sent)}"
    if kind == "minLength":
        limit = detail.get("limit", node.get("minLength"))
        return "must not be empty" if limit == 1 else f"must be at least {limit} characters"
    if kind == "maxLength":
        limit = detail.get("limit", node.get("maxLength"))
        got = f" (got {len(sent)})" if isinstance(sent, str) else ""
        return f"must be at most {limit} characters{got}"
    if kind == "format":
        fmt = str(detail.get("format", node.get("format", "")))
        if fmt == "phone" and isinstance(sent, str):  # say why, not only what
            return f"expected {FORMAT_HINTS[fmt]} ({why_invalid(sent)})"
        return f"expected {FORMAT_HINTS.get(fmt, fmt)}"
    if kind == "enum":
        options = node.get("enum", [])
        names = node.get("x-enum-names")
        if names:
            return "expected one of " + ", ".join(
                f"{v} ({n})" for v, n in zip(options, names, strict=False)
            )
        return "expected one of " + ", ".join(map(str, options))
    if kind == "const":
        return f"must be {node.get('const')!r}"
    if kind == "minimum":
        return f"must be at least {node.get('minimum')}"
    if kind == "maximum":
        return f"must be at most {node.get('maximum')}"
    if kind == "pattern":
        return f"must match {node.get('pattern')}"
    if kind == "propertyNames":
        names = node.get("propertyNames", {})
        fmt = names.get("format")
        wanted = FORMAT_HINTS.get(fmt, fmt) if fmt else f"text matching {names.get('pattern')}"
        if fmt == "phone" and isinstance(sent, str):
            return f"every key must be {wanted} ({why_invalid(sent)})"
        return f"every key must be {wanted}"
    return str(detail) if detail else kind


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
