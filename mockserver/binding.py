"""ASP.NET Web API model binding, driven by a contract's JSON Schema.

2sms is an ASP.NET Web API service (its help page is the generated ``/Help/Api`` page), so a
request body is bound the way ASP.NET binds it:

- property names match case-insensitively (``{"type": 1}`` binds ``Type``);
- enum properties take the number or the member name, case-insensitively (``"Standard"``);
- unknown properties are ignored, and reported here so the mock can record them as
  contract violations;
- ``application/x-www-form-urlencoded`` keys use the model-binding syntax: ``Type=1``,
  ``Options.DeliveryReceipt=true``, ``Options[DeliveryReceipt]=true`` (jQuery style),
  ``Contacts.QuickRecipients[+12345678901]=2`` and ``Template.PlaceHolders[1]=x`` for
  dictionary entries.  Values are typed by the contract entry they land on; an empty value
  for an object (``Options=``) binds an empty object, the form twin of ``"Options": {}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from .charsets import UTF8, CharsetError, charset_of, decode, misread, resolve
from .contracts import Field
from .errors import FieldProblem, unknown_member
from .validation import coerce_form_value

__all__ = ["Binder", "form_pairs"]

JSON = dict[str, Any]
_KEY_TOKEN = re.compile(r"\.([^.\[\]]+)|\[([^\]]*)\]")


def form_pairs(body: bytes, content_type: str | None) -> list[tuple[str, str, bool]]:
    """The ``(key, value, plus)`` triples of a form body, in order, decoded in the declared
    charset (UTF-8 when none), percent-escapes included (Java's default form body is
    Latin-1: ``caf%E9``); ``plus`` says the key was sent with a bare ``+`` (read as a space).
    Raises :class:`CharsetError`."""
    text = decode(body, content_type, "(body)", "form data")
    codec = resolve(charset_of(content_type)) or UTF8
    pairs = []
    try:
        for chunk in text.split("&"):  # as urllib.parse.parse_qsl splits, blanks kept
            if not chunk:
                continue
            key, _, value = chunk.partition("=")
            pairs.append(
                (
                    unquote_plus(key, encoding=codec, errors="strict"),
                    unquote_plus(value, encoding=codec, errors="strict"),
                    "+" in key,
                )
            )
    except UnicodeDecodeError as exc:
        declared = charset_of(content_type)
        raise CharsetError(
            FieldProblem("(body)", None, misread("form data", declared, exc, None))
        ) from None
    return pairs


def _map_values(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    values = node.get("additionalProperties")
    return values if isinstance(values, Mapping) else None


def _enum_value(node: Mapping[str, Any], value: Any) -> Any:
    """Member names (any case) and numeric strings become the enum's number."""
    names = node.get("x-enum-names")
    if not names or not isinstance(value, str):
        return value
    for number, name in zip(node.get("enum", []), names, strict=False):
        if value.lower() == name.lower() or value.strip() == str(number):
            return number
    return value


_INTEGER = re.compile(r"\s*[+-]?[0-9]{1,40}\s*")
_NUMBER = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")


def _types(node: Mapping[str, Any]) -> frozenset[str]:
    kind = node.get("type")
    if isinstance(kind, str):
        return frozenset({kind})
    return frozenset(kind) if isinstance(kind, list) else frozenset()


def _json_scalar(node: Mapping[str, Any], value: Any) -> tuple[Any, str]:
    """A JSON scalar as Json.NET reads it into the property ``node`` describes, and what
    the contract wanted instead when it had to convert ('' when it did not).

    Json.NET reads a string into an int, long or Nullable of one when the text is an
    integer (``JsonReader.ReadAsInt32``: ``int.TryParse`` with NumberStyles.Integer), into
    a bool when it is ``true``/``false`` in any case (``bool.TryParse``), into an enum when it
    is a member name or number; and a number or boolean into a string property as its text.
    One rule for every field, so ``"Type": "1"`` and ``"DstPort": "1"`` bind alike (and are
    both recorded: the contract wants a number).
    """
    if isinstance(value, str):
        if node.get("x-enum-names"):
            # A member name ("Standard", any case) is how the help page names the members:
            # not a breach.  A number in a string ("1") is one, as for any other integer.
            number = _enum_value(node, value)
            numeric = number is not value and _INTEGER.fullmatch(value)
            return number, "a JSON number" if numeric else ""
        kinds = _types(node)
        if "string" in kinds:
            return value, ""
        if "integer" in kinds and _INTEGER.fullmatch(value):
            return int(value), "a JSON number"
        if "number" in kinds and len(value) <= 64 and _NUMBER.fullmatch(value):
            return float(value), "a JSON number"
        if "boolean" in kinds and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true", "a JSON boolean"
        return value, ""
    if isinstance(value, bool | int | float) and "string" in _types(node):
        if isinstance(value, bool):
            return ("true" if value else "false"), "a JSON string"
        return str(value), "a JSON string"
    return value, ""


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value).lower()
    return text if len(text) <= 40 else text[:40] + "…"


class Binder:
    """ASP.NET-style binding over one schema, with its lookup tables built once."""

    def __init__(self, schema: Mapping[str, Any], name: str = "the body") -> None:
        self.schema = schema
        #: What the schema describes, for messages (``MessageV2``).
        self.name = name
        self._props: dict[int, dict[str, str]] = {}
        self._index(schema)

    def _index(self, node: Any) -> None:
        if isinstance(node, Mapping):
            if "properties" in node:
                self._props[id(node)] = {name.lower(): name for name in node["properties"]}
            for value in node.values():
                self._index(value)
        elif isinstance(node, list):
            for value in node:
                self._index(value)

    def props(self, node: Mapping[str, Any]) -> dict[str, str]:
        """Lower-case property name -> declared name."""
        return self._props.get(id(node), {})

    def bind_json(
        self, value: Any, node: Mapping[str, Any] | None = None, path: str = ""
    ) -> tuple[Any, list[FieldProblem]]:
        """Rename keys to the contract's spelling and map enum names; list unknown fields."""
        node = self.schema if node is None else node
        unknown: list[FieldProblem] = []
        if isinstance(value, dict):
            props = self.props(node)
            values = _map_values(node)
            out: JSON = {}
            for key, item in value.items():
                declared = props.get(key.lower()) if props else None
                if declared is not None:
                    child = node["properties"][declared]
                    sub = f"{path}.{declared}" if path else declared
                    out[declared], more = self.bind_json(item, child, sub)
                elif values is not None:
                    out[key], more = self.bind_json(item, values, f"{path}[{key}]")
                elif props:
                    name = f"{path}.{key}" if path else key
                    where = path or self.name
                    unknown.append(
                        unknown_member(name, item, where, props.values(), key, before=len(unknown))
                    )
                    continue
                else:
                    out[key], more = item, []
                unknown += more
            return out, unknown
        if isinstance(value, list) and isinstance(node.get("items"), Mapping):
            bound = [self.bind_json(v, node["items"], f"{path}[{i}]") for i, v in enumerate(value)]
            return [b for b, _ in bound], [u for _, more in bound for u in more]
        bound, converted = _json_scalar(node, value)
        if converted:
            unknown.append(
                FieldProblem(
                    path or "(body)",
                    value,
                    f"{converted} (Json.NET converts {_shown(value)}, as ASP.NET binds it; "
                    "another JSON reader may not)",
                )
            )
        return bound, unknown

    def bind_form(
        self, fields: Mapping[str, Field], body: bytes, content_type: str | None = None
    ) -> tuple[JSON, list[FieldProblem]]:
        """Bind a form-urlencoded body to a nested object typed per the contract.

        Returns the object and the keys that were ignored (unknown or repeated), as problems
        to record.  The body, and its percent-escapes, are read in the charset
        ``content_type`` declares (UTF-8 when none); raises :class:`CharsetError` when they
        are not in it.
        """
        root: JSON = {}
        ignored: list[FieldProblem] = []
        for key, raw, plus in form_pairs(body, content_type):
            steps = _split_key(key)
            if steps is None:
                ignored.append(FieldProblem(key, raw, "a model-binding key such as A.B or A[key]"))
                continue
            if plus:
                # Read as ASP.NET reads it (a space), but a client that meant "+" has lost it.
                ignored.append(
                    FieldProblem(
                        key,
                        raw,
                        "a key whose + is percent-encoded as %2B: a bare + in form data is a "
                        f"space, so this key was read as {key!r}",
                    )
                )
            node: Mapping[str, Any] = self.schema
            target = root
            name = ""
            for i, (step, bracketed) in enumerate(steps):
                last = i == len(steps) - 1
                names = self.props(node)
                values = _map_values(node)
                if step.lower() in names:
                    step = names[step.lower()]
                    node = node["properties"][step]
                    name = f"{name}.{step}" if name else step
                elif values is not None and not bracketed:
                    # ASP.NET binds a dictionary entry only as Map[key] (or Map[0].Key and
                    # Map[0].Value); Map.key binds nothing, so the entry is ignored.
                    head = key[: key.rindex("." + step)] if "." + step in key else key
                    ignored.append(
                        FieldProblem(
                            key,
                            raw,
                            f"a dictionary entry written {head}[{step}] (ASP.NET binds no "
                            f"{head}.key; ignored)",
                            near=f"{head}[{step}]",
                        )
                    )
                    break
                elif values is not None:
                    node = values
                    name += "{}"
                else:
                    where = name or self.name
                    ignored.append(
                        unknown_member(key, raw, where, names.values(), step, before=len(ignored))
                    )
                    break
                if last:
                    if step in target:
                        ignored.append(FieldProblem(key, raw, "sent once (later copies ignored)"))
                        break
                    f = fields.get(name)
                    value: Any = coerce_form_value(f, raw) if f is not None else raw
                    if raw == "" and f is not None and f.type in {"object", "map"}:
                        value = {}  # "Options=" is how a form says "Options": {}
                    target[step] = _enum_value(node, value)
                else:
                    nxt = target.setdefault(step, {})
                    if not isinstance(nxt, dict):
                        ignored.append(FieldProblem(key, raw, "not both a value and an object"))
                        break
                    target = nxt
        return root, ignored


def _split_key(key: str) -> list[tuple[str, bool]] | None:
    """The steps of a model-binding key, each with whether it was written in brackets."""
    head = re.match(r"[^.\[\]]+", key)
    if head is None:
        return None
    steps = [(head.group(0), False)]
    rest = key[head.end() :]
    while rest:
        token = _KEY_TOKEN.match(rest)
        if token is None:
            return None
        if token.group(1) is not None:
            steps.append((token.group(1), False))
        else:
            steps.append((token.group(2), True))
        rest = rest[token.end() :]
    return steps
