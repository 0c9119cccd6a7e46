"""Zoho Voice "POST - Send SMS v2 version": wire format and error wording, nothing else.

Document: Zoho Voice "POST - Send SMS v2 version"
(https://www.zoho.com/voice/api/send-sms-v2-version.html).  The field rules come from
contracts/zoho_voice/send_sms.toml through :class:`~mockserver.validation.RequestValidator`;
this module adds only what a schema cannot say (auth, multipart framing, cross-field rules,
countries) and shapes the answers like Zoho does.

Served by the one request pipeline (:mod:`mockserver.pipeline`); precedence (README.md,
"Zoho Voice behaviour"): auth -> content type -> multipart parse -> sms_data -> other parts
-> business rules -> store; the first failing stage answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..callbacks import Push
from ..charsets import CharsetError, decode
from ..config import Settings
from ..errors import FieldProblem, Reject, unknown_member
from ..exchange import Answer, Context, Incoming, Operation, Outcome, Principal
from ..multipart import BodyError, Limits, Part, boundary_of, parse_multipart
from ..runtime import Runtime
from ..sms import parse_number, segments
from ..store import Media, Message, Recipient, Submission
from ..validation import RequestValidator, coerce_form_value, parse_zoho_datetime
from . import zoho_kit
from .common import (
    Provider,
    ProviderOperation,
    encode_push,
    is_placeholder,
    json_depth,
    media_type,
    redact_credential,
    route_path,
)
from .zoho_settings import ZohoSettings

__all__ = ["PROVIDER", "SendSms", "ZohoVoice", "token_namespace"]

PROVIDER = "zoho_voice"
_TEXT_PARTS = ("sms_data", "templateId", "scheduledTime", "timeZone")
_MEDIA = "mms_media"
#: Submission.notify of every Zoho message: pushes need nothing beyond the message.
_NOTIFY: Mapping[str, Any] = {}
#: Statuses a status callback is pushed for.  INFERENCE: Zoho publishes the words IN_QUEUE
#: (the send response) and UNDELIVERED (its chat list); the others follow their style.
_PUSHED = {
    "sent": "SENT",
    "delivered": "DELIVERED",
    "undelivered": "UNDELIVERED",
    "failed": "FAILED",
    "expired": "EXPIRED",
    "cancelled": "CANCELLED",
}
#: The parts whose value is text, typed per the contract (sms_data is JSON).
_TEXT_FIELDS = frozenset(_TEXT_PARTS) - {"sms_data"}
#: Shared outcomes and the ZVSMS code each is answered with.
_CODES = {"country_not_supported": "country_not_supported"}


@lru_cache(maxsize=1024)
def token_namespace(token: str) -> str:
    """The namespace a token implies: a digest, so the token never shows in the admin API."""
    return f"{PROVIDER}:{hashlib.sha256(token.encode()).hexdigest()[:12]}"


@dataclass(slots=True)
class _Command:
    fields: dict[str, Any]  # as sent (kept in the journal)
    media: list[Part]
    headers: Mapping[str, str]
    text: str  # what is sent: sms_data.message, or the template's text


class ZohoVoice(Provider):
    """The Zoho Voice provider: ``POST /rest/json/v2/sms/send``."""

    name = PROVIDER
    settings_class = ZohoSettings
    kit_unheld_checks = staticmethod(zoho_kit.unheld_checks)
    kit_credentials = staticmethod(zoho_kit.credentials)
    kit_credential_names = zoho_kit.CREDENTIAL_NAMES
    failure_status = "undelivered"

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        super().__init__(settings, runtime)
        #: The provider's own settings (the ``[zoho_voice]`` table).
        self.options = settings.provider(ZohoSettings)
        self.send = SendSms(self)

    def operations(self) -> list[Operation]:
        """The operations this provider serves."""
        return [self.send]

    def method_not_allowed(self, request: Request, allowed: str) -> Response | None:
        """ZVSMS-4027 with 405 for anything but POST on the send path."""
        if route_path(request) != self.send.path:
            return None
        body = {
            "status": "ERROR",
            "code": self.send.codes["bad_request"]["code"],
            "message": f"{request.method}: this API takes {allowed}",
        }
        return JSONResponse(body, status_code=405, headers={"Allow": allowed})

    def status_push(self, message: Message) -> Push | None:
        """A status callback.  INFERENCE: Zoho documents no payload for v2 (its v1 page has a
        ``statusCallback`` URL, "URL-level authentication only", and no body); this one uses
        the send response's own names (``logid``, ``customerNumber``, ``senderId``,
        ``status``) with the time in epoch milliseconds like ``submittedTime``; JSON, or a
        form with setting [zoho_voice] status_push_format."""
        change = message.history[-1]
        word = _PUSHED.get(change.status)
        if word is None:
            return None
        fields = {
            "logid": message.id,
            "customerNumber": message.to.removeprefix("+"),
            "senderId": message.sender,
            "message": message.text,
            "status": word,
            "statusTime": int(change.at * 1000),
            "errorMessage": change.reason,
        }
        return encode_push(fields, self.options.status_push_format == "form")

    def not_found(self, request: Request) -> Response | None:
        """ZVSMS-4027 with 404 for an unknown path under ``/rest/json/`` (the mock's choice:
        Zoho's answer to an unknown path is not documented); never a redirect."""
        path = route_path(request)
        if not path.startswith("/rest/json/"):
            return None
        near = self.near_path(path)
        hint = f"; the send path is {near}" if near else f"; the send path is {self.send.path}"
        body = {
            "status": "ERROR",
            "code": self.send.codes["bad_request"]["code"],
            "message": f"{request.method} {path}: no such API{hint}",
        }
        return JSONResponse(body, status_code=404)


class SendSms(ProviderOperation):
    """``POST /rest/json/v2/sms/send`` as a sans-IO operation."""

    def __init__(self, owner: ZohoVoice) -> None:
        super().__init__(owner, "zohoVoiceSendSmsV2", owner.settings.max_body_bytes)
        self.options = owner.options
        settings, contract, options = self.settings, self.contract, self.options
        self.validator = RequestValidator(
            contract, settings.contract_overrides()[contract.id]["fields"]
        )
        auth = contract.auth or {}
        self._auth_header = auth.get("header", "Authorization").lower()
        self._auth_scheme = auth.get("scheme", "Zoho-oauthtoken")
        self._auth_prefix = self._auth_scheme + " "
        self._limits = Limits(
            settings.max_media_bytes, settings.max_field_bytes, parts=settings.max_parts
        )
        self._account_zone = ZoneInfo(options.account_timezone)
        self._minute_cache: tuple[int, str] = (-1, "")
        self._text_fields = {name: contract.field(name) for name in _TEXT_PARTS}
        self._templates = {int(k): v for k, v in options.templates.items()}
        self._sms_fields = frozenset(
            f.name.removeprefix("sms_data.")
            for f in contract.request
            if f.name.startswith("sms_data.")
        )

    # ------------------------------------------------------------------ auth

    async def authenticate(self, incoming: Incoming, ctx: Context) -> Principal:
        """``Authorization: Zoho-oauthtoken <token>``; any non-empty token unless the
        ``[zoho_voice] accepted_tokens`` setting lists them."""
        header = incoming.headers.get(self._auth_header, "")
        expected = f"{self._auth_scheme} <access token> (the {self._auth_header} header)"
        if not header.startswith(self._auth_prefix):
            sent = redact_credential(header) if header else None
            raise Reject("unauthorized", [FieldProblem("Authorization", sent, expected)])
        token = header[len(self._auth_prefix) :].strip()
        if not token or is_placeholder(token):
            raise Reject(
                "unauthorized",
                [FieldProblem("Authorization", f"{self._auth_scheme} {token}", expected)],
            )
        accepted = self.options.accepted_tokens
        if accepted is not None and token not in accepted:
            # A token the mock was told not to know: the client's state, not the contract.
            raise Reject("unauthorized", violation=False)
        return Principal(token_namespace(token), token_namespace(token))

    # ------------------------------------------------------------------ parse

    def fault_outcome(self, name: str) -> str:
        """As the base, and ``INVALID_OAUTHTOKEN`` (the auth error body's code) is a 401."""
        if name.lower() == "invalid_oauthtoken":
            return "unauthorized"
        return super().fault_outcome(name)

    def precheck(self, incoming: Incoming) -> None:
        """The content type: multipart/form-data with a usable boundary."""
        self._boundary(incoming.headers)

    def parse(self, incoming: Incoming, body: bytes, ignored: list[FieldProblem]) -> _Command:
        """Multipart framing, the text parts, ``sms_data`` and the rules across fields;
        unknown parts and ``sms_data`` members go to ``ignored``."""
        try:
            parts = parse_multipart(body, self._boundary(incoming.headers), self._limits)
        except BodyError as exc:
            raise Reject("invalid_request", [exc.problem]) from None
        fields, media, text = self._fields(parts, ignored)
        self._check(fields, media)
        return _Command(fields, media, incoming.headers, text)

    def _boundary(self, headers: Mapping[str, str]) -> bytes:
        ctype = headers.get("content-type", "")
        if media_type(headers) != "multipart/form-data":
            raise Reject(
                "unsupported_media_type",
                [
                    FieldProblem(
                        "Content-Type",
                        ctype or None,
                        "multipart/form-data (send sms_data as a form part, "
                        "e.g. curl -F 'sms_data={...}')",
                    )
                ],
            )
        boundary = boundary_of(ctype)
        if boundary is not None and len(boundary) > 70:
            raise Reject(
                "invalid_request",
                [
                    FieldProblem(
                        "Content-Type",
                        ctype[:120],
                        "a multipart boundary of 1 to 70 characters (RFC 2046 section 5.1.1)",
                    )
                ],
            )
        if boundary is None:
            raise Reject(
                "invalid_request",
                [
                    FieldProblem(
                        "Content-Type",
                        ctype,
                        "multipart/form-data with a boundary=... parameter; let the HTTP client "
                        "build the multipart body instead of setting the header by hand",
                    )
                ],
            )
        return boundary

    def _fields(
        self, parts: list[Part], unknown: list[FieldProblem]
    ) -> tuple[dict[str, Any], list[Part], str]:
        """Decode the text parts and type them per the contract; collect media files.

        Parts and ``sms_data`` keys that are not in the contract go to ``unknown`` (ignored,
        but recorded as violations whatever the answer).
        """
        fields: dict[str, Any] = {}
        media: list[Part] = []
        problems: list[FieldProblem] = []
        for part in parts:
            if part.name == _MEDIA:
                if not part.is_file:
                    problems.append(
                        FieldProblem(_MEDIA, _preview(part.data), "a file part (with a filename=)")
                    )
                    continue
                media.append(part)
                continue
            if part.name not in self._text_fields:
                unknown.append(
                    unknown_member(
                        part.name or "(part without a name)",
                        _preview(part.data),
                        "this operation's parts",
                        (*self._text_fields, _MEDIA),
                    )
                )
                continue
            if part.name in fields:
                problems.append(
                    FieldProblem(
                        part.name, "sent more than once", "exactly one part with this name"
                    )
                )
                continue
            try:
                # A part's declared charset is honoured (Apache HttpClient's default text
                # part is text/plain; charset=ISO-8859-1), as a Java servlet reads it.
                text = decode(part.data, part.content_type, part.name, "text")
            except CharsetError as exc:
                problems.append(exc.problem)
                continue
            if part.name == "sms_data":
                try:
                    data = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    problems.append(
                        FieldProblem(
                            "sms_data",
                            _preview(part.data),
                            f'a JSON object like {{"customerNumber": ..., "message": ..., '
                            f'"senderId": ...}} ({exc.args[0] if exc.args else exc})',
                        )
                    )
                    continue
                # Nesting needs an opening bracket per level: counting them (in C) spares
                # the walk for every ordinary sms_data.
                limit = self.settings.max_json_depth
                if text.count("{") + text.count("[") > limit and json_depth(data) > limit:
                    problems.append(
                        FieldProblem(
                            "sms_data",
                            _preview(part.data),
                            f"JSON nested at most {self.settings.max_json_depth} levels deep "
                            "(setting max_json_depth)",
                        )
                    )
                    continue
                fields[part.name] = data
            else:
                fields[part.name] = coerce_form_value(self._text_fields[part.name], text)
        if len(media) > self.options.max_media_files:
            problems.append(
                FieldProblem(
                    _MEDIA,
                    f"{len(media)} files",
                    f"at most {self.options.max_media_files} file(s) (setting "
                    "[zoho_voice] max_media_files)",
                )
            )
        # Ignored, as a form handler ignores them, but recorded: a misspelt "Mms" would
        # otherwise silently turn an MMS into an SMS.
        sms = fields.get("sms_data")
        if isinstance(sms, dict):
            extra = [(key, value) for key, value in sms.items() if key not in self._sms_fields]
            unknown += [
                unknown_member(f"sms_data.{key}", value, "sms_data", self._sms_fields, before=i)
                for i, (key, value) in enumerate(extra)
            ]
        if problems:
            raise Reject("invalid_request", problems)
        template = self._template(fields)
        checked = fields
        if template is not None and isinstance(sms, dict):
            # INFERENCE (contract entry templateId): the template's text is the message.
            checked = {**fields, "sms_data": {**sms, "message": template}}
        problems = self.validator.problems(checked, _TEXT_FIELDS)
        if problems:
            raise Reject("invalid_request", problems)
        if self._templates and "templateId" in fields and template is None:
            known = ", ".join(str(t) for t in sorted(self._templates)[:10])
            raise Reject(
                "invalid_request",
                [
                    FieldProblem(
                        "templateId",
                        fields["templateId"],
                        f"the id of a configured template ({known}; "
                        "setting [zoho_voice] templates)",
                    )
                ],
                violation=False,  # the mock's configuration, not the contract
            )
        return fields, media, template if template is not None else fields["sms_data"]["message"]

    def _template(self, fields: Mapping[str, Any]) -> str | None:
        """The text of the configured template ``templateId`` names, if any."""
        tid = fields.get("templateId")
        if not self._templates or type(tid) is not int:
            return None
        return self._templates.get(tid)

    def _check(self, fields: dict[str, Any], media: list[Part]) -> None:
        """Rules across fields that a schema cannot express (and that need no clock)."""
        sms = fields["sms_data"]
        mms = sms.get("mms", False)
        if mms and not media:
            raise Reject(
                "invalid_request", [FieldProblem(_MEDIA, None, "a file when sms_data.mms is true")]
            )
        if media and not mms:
            raise Reject(
                "invalid_request",
                [FieldProblem("sms_data.mms", mms, "true when an mms_media file is attached")],
            )
        for part in media:
            if not part.data:
                raise Reject(
                    "invalid_request", [FieldProblem(_MEDIA, "0 bytes", "a non-empty file")]
                )

    # ------------------------------------------------------------------ rules

    async def rules(self, command: _Command, principal: Principal, ctx: Context) -> Outcome:
        """The schedule (on the namespace's clock) and the allowed countries; then the send
        as Zoho answers it, and the submission to keep."""
        fields, media = command.fields, command.media
        sms = fields["sms_data"]
        now = ctx.now()
        send_at: float | None = None
        if "scheduledTime" in fields:
            zone = ZoneInfo(fields.get("timeZone") or self.options.account_timezone)
            when = parse_zoho_datetime(fields["scheduledTime"])
            assert when is not None  # the schema's format check passed
            send_at = when.replace(tzinfo=zone).timestamp()
            if send_at <= now:
                raise Reject(
                    "invalid_request",
                    [
                        FieldProblem(
                            "scheduledTime",
                            fields["scheduledTime"],
                            f"a time in the future (in time zone {zone.key})",
                        )
                    ],
                )
        number = parse_number(sms["customerNumber"])
        assert number is not None  # the schema's phone format check passed
        if number.test and not self.settings.accept_test_numbers:
            raise Reject(
                "invalid_request",
                [
                    FieldProblem(
                        "sms_data.customerNumber",
                        sms["customerNumber"],
                        "a number in service: fictional test numbers are refused "
                        "(setting accept_test_numbers = false)",
                    )
                ],
                violation=False,
            )
        allowed = self.options.allowed_countries
        if allowed is not None and number.region not in allowed:
            raise Reject(
                "country_not_supported",
                [
                    FieldProblem(
                        "sms_data.customerNumber",
                        sms["customerNumber"],
                        f"a number in one of: {', '.join(sorted(allowed))}",
                    )
                ],
            )
        now_ms = int(now * 1000)
        seg = segments(command.text)
        sender = sms["senderId"]
        sender_number = parse_number(sender) if sender[:1] in "+0123456789" else None
        stored_media = tuple(
            Media(
                filename=p.filename or _MEDIA,
                content_type=p.content_type,
                size=len(p.data),
                sha256=hashlib.sha256(p.data).hexdigest(),
                provider_id=ctx.new_id(),
            )
            for p in media
        )
        scheduled = fields.get("scheduledTime")
        # INFERENCE: sentTime shows the scheduled minute for a scheduled send.
        sent_time = scheduled[:16] if scheduled else self._minute(now)
        options = self.options
        send: dict[str, Any] = {
            "multipartCount": seg.count,
            "country": number.region,
            "submittedTime": now_ms,
            "customerNumber": number.spaced,
            "message": command.text,
            "userName": options.user_name,
            "customerName": options.contacts.get(number.e164, number.spaced),
            "senderId": sender_number.e164 if sender_number else sender,
            "messageType": "OUTGOING",
        }
        if stored_media:  # isMMS / mmsMeta appear only in the MMS sample
            send["isMMS"] = True
            send["mmsMeta"] = [
                {
                    "bucketName": options.bucket_name,
                    "fileName": m.filename,
                    "fileSize": m.size,
                    "objectName": f"{m.filename}-{now_ms}",
                    "fileExtn": m.filename.rsplit(".", 1)[-1].lower() if "." in m.filename else "",
                    "mmsId": m.provider_id,
                }
                for m in stored_media
            ]
        logid = ctx.new_id()
        send |= {
            "sentTime": sent_time,
            "logid": logid,
            "email": options.email,
            "status": "IN_QUEUE",
        }
        submission = Submission(
            id=logid,
            provider=PROVIDER,
            operation=self.id,
            created_at=now,
            sender=send["senderId"],
            text=command.text,
            encoding=seg.encoding,
            recipients=(
                Recipient(
                    id=logid,
                    to=number.e164,
                    country=number.region,
                    segments=seg.count,
                    status="scheduled" if scheduled else "queued",
                    test_number=number.test,
                ),
            ),
            scheduled_at=scheduled,
            media=stored_media,
            media_data=tuple(bytes(p.data) for p in media) if media else (),
            headers=self.owner.stored_headers(command.headers),
            request=fields,
            send_at=send_at,
            # Every message can push (Zoho's v2 send has no per-message callback field; the
            # namespace's callback targets decide).
            notify=_NOTIFY,
        )
        return Outcome({"code": "ZVSMS-2000", "send": send, "status": "SUCCESS"}, 200, submission)

    def _minute(self, now: float) -> str:
        """``yyyy-MM-dd HH:mm`` of ``now`` in the account zone, formatted once a minute."""
        minute = int(now // 60)
        if self._minute_cache[0] != minute:
            text = datetime.fromtimestamp(now, self._account_zone).strftime("%Y-%m-%d %H:%M")
            self._minute_cache = (minute, text)
        return self._minute_cache[1]

    # ------------------------------------------------------------------ render

    def render(self, outcome: Outcome) -> Answer:
        """The success body, as the bytes that are sent and kept."""
        return Answer(outcome.status, orjson.dumps(outcome.body))

    def render_reject(self, reject: Reject) -> Answer:
        """A ZVSMS error: the documented wording, or (setting ``[zoho_voice] error_detail``, on by
        default) the fields at fault; a missing or refused token gets the auth error body."""
        options = self.options
        if reject.outcome == "unauthorized":
            return Answer(
                reject.status or options.auth_error_status,
                orjson.dumps(dict(options.auth_error_body)),
                reject.headers,
            )
        code = self.codes[_CODES.get(reject.outcome, "bad_request")]
        detail = "; ".join(str(p) for p in reject.problems) or reject.detail
        if reject.outcome == "store_full":
            text = detail  # not a Zoho error: always say what happened
        elif code is self.codes["bad_request"]:
            text = detail if options.error_detail and detail else code["message"]
        else:
            show = options.error_detail and detail
            text = f"{code['message']} ({detail})" if show else code["message"]
        body = {"status": code.get("status", "ERROR"), "code": code["code"], "message": text}
        status = reject.status or (507 if reject.outcome == "store_full" else None)
        return Answer(status or options.error_status, orjson.dumps(body), reject.headers)


def _preview(data: bytes | bytearray, limit: int = 80) -> str:
    """A short, printable excerpt of raw bytes for error messages."""
    text = bytes(data[:limit]).decode("utf-8", "backslashreplace")
    return text + ("…" if len(data) > limit else "")
