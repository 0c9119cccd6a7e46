"""Provider contracts: the documents' field tables as data, and the OpenAPI built from them.

The TOML files under ``contracts/<provider>/`` (format in ``contracts/README.md``) are the single
source.  This module loads them, turns each field table into JSON Schema, and assembles one
OpenAPI 3.1 document per provider.  The mock's validation compiles the same schemas
(:mod:`mockserver.validation`), so the published contract and the mock agree on every field
rule (2sms binding adds ASP.NET's case-insensitive names and enum names on top).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ContractError

__all__ = [
    "PROVIDERS",
    "Contract",
    "Field",
    "Operation",
    "Overrides",
    "build_schema",
    "contracts_dir",
    "fixtures_dir",
    "load_contract",
    "openapi_document",
    "render_openapi",
]

_PACKAGE = Path(__file__).resolve().parent
_TYPES = {"string", "integer", "number", "boolean", "object", "array", "map", "file"}
_CONSTRAINTS = {
    "pattern": "pattern",
    "min_length": "minLength",
    "max_length": "maxLength",
    "minimum": "minimum",
    "maximum": "maximum",
    "enum": "enum",
    "const": "const",
}
# A Long / .NET int overflows on the provider side: make the range explicit.
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# Formats that OpenAPI tooling knows by another name.
_FORMAT_ALIASES = {"guid": "uuid"}

JSON = dict[str, Any]


def _data_dir(name: str) -> Path:
    """Find ``contracts``/``fixtures``: packaged in the wheel, or at the top of a checkout."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise ContractError(f"sms-mockserver: cannot find the {name!r} folder next to the package")


def contracts_dir() -> Path:
    """Folder holding ``<provider>/*.toml`` and the generated ``openapi.json`` files."""
    return _data_dir("contracts")


def fixtures_dir() -> Path:
    """Folder holding the providers' documented samples and test media."""
    return _data_dir("fixtures")


#: Provider names: the folders under ``contracts/`` that hold operation tables (a provider is
#: registered by its folder here and its module in ``mockserver.providers``, nowhere else).
PROVIDERS: tuple[str, ...] = tuple(
    sorted(p.name for p in contracts_dir().iterdir() if p.is_dir() and any(p.glob("*.toml")))
)


@dataclass(frozen=True, slots=True)
class Field:
    """One row of a provider's field table."""

    name: str
    type: str
    required: bool = False
    nullable: bool = False
    format: str | None = None
    constraints: Mapping[str, Any] = field(default_factory=dict)
    enum_names: tuple[str, ...] = ()
    #: For a ``map``: the format / pattern every key must have (JSON Schema propertyNames).
    key_format: str | None = None
    key_pattern: str | None = None
    media_type: str | None = None
    description: str = ""
    example: Any = None
    section: str = ""
    inference: str = ""
    setting: str | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        """The dotted path split into segments (``a[]`` and ``a{}`` stay one segment)."""
        return tuple(self.name.split("."))

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any], where: str) -> Field:
        """Build a field from one ``[[request]]``-style table, checking its keys."""
        known = {
            "name",
            "type",
            "required",
            "nullable",
            "format",
            "enum_names",
            "media_type",
            "key_format",
            "key_pattern",
            "description",
            "example",
            "section",
            "inference",
            "setting",
            *_CONSTRAINTS,
        }
        unknown = set(raw) - known
        if unknown:
            raise ContractError(f"{where}: unknown keys {sorted(unknown)}")
        if "name" not in raw or "type" not in raw:
            raise ContractError(f"{where}: every field needs 'name' and 'type'")
        if raw["type"] not in _TYPES:
            raise ContractError(f"{where}: type {raw['type']!r} is not one of {sorted(_TYPES)}")
        return cls(
            name=raw["name"],
            type=raw["type"],
            required=bool(raw.get("required", False)),
            nullable=bool(raw.get("nullable", False)),
            format=raw.get("format"),
            constraints={k: raw[k] for k in _CONSTRAINTS if k in raw},
            enum_names=tuple(raw.get("enum_names", ())),
            key_format=raw.get("key_format"),
            key_pattern=raw.get("key_pattern"),
            media_type=raw.get("media_type"),
            description=raw.get("description", ""),
            example=raw.get("example"),
            section=raw.get("section", ""),
            inference=raw.get("inference", ""),
            setting=raw.get("setting"),
        )


@dataclass(frozen=True, slots=True)
class Operation:
    """One documented operation with its request and response tables."""

    provider: str
    id: str
    method: str
    path: str
    summary: str
    description: str
    media_types: tuple[str, ...]
    #: Media types of the answers, the default first (``response_media_types``; JSON when
    #: the document names none).
    response_media_types: tuple[str, ...]
    auth: Mapping[str, str] | None
    headers: tuple[Mapping[str, Any], ...]
    request: tuple[Field, ...]
    responses: Mapping[str, Mapping[str, Any]]
    bodies: Mapping[str, tuple[Field, ...]]
    codes: Mapping[str, Mapping[str, str]]
    raw: Mapping[str, Any]

    def field(self, name: str) -> Field:
        """The request field called ``name``."""
        for item in self.request:
            if item.name == name:
                return item
        raise KeyError(name)

    def request_schema(self, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> JSON:
        """JSON Schema of the request body, with optional per-field constraint overrides."""
        return build_schema(self.request, overrides=overrides)

    def response_schema(self, kind: str) -> JSON:
        """JSON Schema of one response kind (``success``, ``error``, ...)."""
        return build_schema(self.bodies[kind])


@dataclass(frozen=True, slots=True)
class Contract:
    """Every operation of one provider."""

    provider: str
    operations: tuple[Operation, ...]

    def operation(self, op_id: str) -> Operation:
        """The operation whose ``id`` is ``op_id``."""
        for op in self.operations:
            if op.id == op_id:
                return op
        raise KeyError(op_id)


def _load_operation(provider: str, path: Path) -> Operation:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    where = f"{provider}/{path.name}"
    op = raw.get("operation")
    if not isinstance(op, dict):
        raise ContractError(f"{where}: missing [operation] table")
    responses: dict[str, Mapping[str, Any]] = raw.get("responses", {})
    bodies = {
        kind: tuple(Field.from_toml(f, f"{where} [[{kind}]]") for f in raw.get(kind, ()))
        for kind, spec in responses.items()
        if "body" not in spec
    }
    for kind, spec in responses.items():  # `body = "error"`: the same fields as another kind
        if "body" in spec:
            if spec["body"] not in bodies:
                raise ContractError(f"{where}: [responses.{kind}] body names no response kind")
            bodies[kind] = bodies[spec["body"]]
    return Operation(
        provider=provider,
        id=op["id"],
        method=op["method"].upper(),
        path=op["path"],
        summary=op.get("summary", ""),
        description=op.get("description", ""),
        media_types=tuple(op["media_types"]),
        response_media_types=tuple(op.get("response_media_types", ("application/json",))),
        auth=raw.get("auth"),
        headers=tuple(raw.get("headers", ())),
        request=tuple(Field.from_toml(f, f"{where} [[request]]") for f in raw.get("request", ())),
        responses=responses,
        bodies=bodies,
        codes=raw.get("codes", {}),
        raw=raw,
    )


@cache
def load_contract(provider: str) -> Contract:
    """Load every operation of ``provider`` (a name from :data:`PROVIDERS`)."""
    folder = contracts_dir() / provider
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ContractError(f"sms-mockserver: no contract files in {folder}")
    return Contract(provider, tuple(_load_operation(provider, p) for p in files))


# --------------------------------------------------------------------------- schemas


def _leaf(f: Field, overrides: Mapping[str, Any]) -> JSON:
    schema: JSON
    if f.type == "file":
        schema = {"type": "string", "format": "binary"}
    elif f.type == "map":
        schema = {"type": "object"}
    else:
        schema = {"type": f.type}
    if f.format:
        schema["format"] = _FORMAT_ALIASES.get(f.format, f.format)
    for key, json_key in _CONSTRAINTS.items():
        value = overrides.get(key, f.constraints.get(key))
        if value is not None:
            schema[json_key] = value
    if f.type == "integer" and f.format in _INT_BOUNDS:
        low, high = _INT_BOUNDS[f.format]
        schema.setdefault("minimum", low)
        schema.setdefault("maximum", high)
    if f.key_format or f.key_pattern:
        names: JSON = {"type": "string"}
        if f.key_format:
            names["format"] = _FORMAT_ALIASES.get(f.key_format, f.key_format)
        if f.key_pattern:
            names["pattern"] = f.key_pattern
        schema["propertyNames"] = names
    enum_names = overrides.get("enum_names", f.enum_names)
    if enum_names:
        schema["x-enum-names"] = list(enum_names)
    if f.description:
        schema["description"] = f.description
    if f.example is not None:
        schema["examples"] = [f.example]
    if f.nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def _node(schema: JSON, segment: str) -> JSON:
    """Descend one path segment, creating containers as needed."""
    base = schema
    if segment.endswith("[]"):
        base = _node(schema, segment[:-2])
        return base.setdefault("items", {})  # type: ignore[no-any-return]
    if segment.endswith("{}"):
        base = _node(schema, segment[:-2])
        ap = base.get("additionalProperties")
        if not isinstance(ap, dict):
            ap = base["additionalProperties"] = {}
        return ap
    props = base.setdefault("properties", {})
    return props.setdefault(segment, {})  # type: ignore[no-any-return]


def build_schema(
    fields: Sequence[Field], *, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> JSON:
    """Turn a flat, ordered field table into one JSON Schema object.

    ``overrides`` maps a field name to constraint values (``{"max_length": 10000}``) that
    replace the documented ones; settings use it for the values the documents disagree on.
    """
    overrides = overrides or {}
    root: JSON = {"type": "object"}
    for f in fields:
        *parents, last = f.parts
        container = root
        for seg in parents:
            container = _node(container, seg)
        _node(container, last).update(_leaf(f, overrides.get(f.name, {})))
        if f.required and not last.endswith(("[]", "{}")):
            container.setdefault("required", []).append(last)
    return root


# --------------------------------------------------------------------------- OpenAPI


#: Per-operation changes a running mock applies to its contract (see Settings.contract_for):
#: ``fields``: field name -> constraint values; ``statuses``: response kind -> HTTP status.
Overrides = Mapping[str, Mapping[str, Mapping[str, Any]]]


def _operation_object(op: Operation, overrides: Overrides) -> JSON:
    mine = overrides.get(op.id, {})
    body_schema = op.request_schema(mine.get("fields"))
    statuses: Mapping[str, Any] = mine.get("statuses", {})
    content: JSON = {}
    for media in op.media_types:
        entry: JSON = {"schema": body_schema}
        if media == "multipart/form-data":
            encoding = {
                f.name: {"contentType": f.media_type}
                for f in op.request
                if f.media_type and "." not in f.name
            }
            if encoding:
                entry["encoding"] = encoding
        elif media == "application/x-www-form-urlencoded":
            nested = [
                f.name for f in op.request if "." not in f.name and f.type in {"object", "map"}
            ]
            if nested:
                entry["encoding"] = {n: {"style": "deepObject", "explode": True} for n in nested}
        content[media] = entry
    responses: JSON = {}
    for kind, spec in op.responses.items():
        body = build_schema(op.bodies[kind])
        description = spec.get("description") or f"{kind.replace('_', ' ')} response"
        if spec.get("inference"):
            description += f" (inferred: {spec['inference']})"
        status = str(statuses.get(kind, spec["status"]))
        if status in responses:  # two kinds on one status (e.g. errors configured as 200)
            entry = responses[status]
            for media in entry["content"].values():
                schemas = media["schema"].get("anyOf", [media["schema"]])
                media["schema"] = {"anyOf": [*schemas, body]}
            entry["description"] += f"; or {description}"
            continue
        answer: JSON = {"schema": body}
        example = spec.get("example")
        if example:
            answer["example"] = json.loads((fixtures_dir() / example).read_text("utf-8"))
        responses[status] = {
            "description": description,
            "content": {media: dict(answer) for media in op.response_media_types},
        }
    obj: JSON = {
        "operationId": op.id,
        "summary": op.summary,
        "description": op.description,
        "x-provider": op.provider,
    }
    if op.raw["operation"].get("section"):
        obj["x-section"] = op.raw["operation"]["section"]
    params = [
        {
            "name": h["name"],
            "in": "header",
            "required": bool(h.get("required", False)),
            "description": h.get("description", "")
            + (f" (inferred: {h['inference']})" if h.get("inference") else ""),
            # The documented value is an example, not an enum: the mock accepts what HTTP
            # clients send by default (curl: */*) as well.
            "schema": {"type": "string", **({"examples": [h["value"]]} if "value" in h else {})},
        }
        for h in op.headers
    ]
    if params:
        obj["parameters"] = params
    if op.auth:
        obj["security"] = [{f"{op.provider}_{op.auth['scheme'].lower().replace('-', '_')}": []}]
    else:
        obj["security"] = []
    obj["requestBody"] = {"required": True, "content": content}
    obj["responses"] = responses
    return obj


def openapi_document(provider: str, overrides: Overrides | None = None) -> JSON:
    """The OpenAPI 3.1 document of ``provider``, built from its contract files.

    Without ``overrides`` it is the committed document (documented defaults); a running mock
    passes the ones its settings imply, so the document it serves is the one it enforces.
    """
    contract = load_contract(provider)
    paths: JSON = {}
    schemes: JSON = {}
    for op in contract.operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation_object(op, overrides or {})
        if op.auth:
            name = f"{provider}_{op.auth['scheme'].lower().replace('-', '_')}"
            scheme: JSON
            if op.auth["scheme"].lower() == "bearer":
                scheme = {"type": "http", "scheme": "bearer"}
            else:
                # Not an RFC 6750 scheme, so OpenAPI can only call it an API key header.
                scheme = {"type": "apiKey", "in": "header", "name": op.auth["header"]}
            scheme["description"] = op.auth.get("description") or f"{op.auth['scheme']} <token>"
            schemes[name] = scheme
    doc: JSON = {
        "openapi": "3.1.0",
        "info": {
            "title": f"sms-mockserver contract: {provider}",
            "version": "1",
            "description": "Generated from contracts/" + provider + "/*.toml by "
            "mockserver.contracts; do not edit by hand (make contracts).",
        },
        "paths": paths,
    }
    if schemes:
        doc["components"] = {"securitySchemes": schemes}
    return doc


def render_openapi(provider: str, overrides: Overrides | None = None) -> bytes:
    """Deterministic bytes of the OpenAPI document (what is committed as ``openapi.json``)."""
    text = json.dumps(openapi_document(provider, overrides), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def write_openapi(providers: Sequence[str] = PROVIDERS) -> list[Path]:
    """Regenerate ``contracts/<provider>/openapi.json``; returns the files written."""
    written = []
    for provider in providers:
        target = contracts_dir() / provider / "openapi.json"
        target.write_bytes(render_openapi(provider))
        written.append(target)
    return written
