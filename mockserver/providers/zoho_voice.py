"""Zoho Voice "POST - Send SMS v2 version": wire format and error wording, nothing else.

Document: Zoho Voice "POST - Send SMS v2 version"
(https://www.zoho.com/voice/api/send-sms-v2-version.html).  The field rules come from
contracts/zoho_voice/send_sms.toml through :class:`~mockserver.validation.RequestValidator`;
this module adds only what a schema cannot say (auth, multipart framing, cross-field rules,
countries) and shapes the answers like Zoho does.

Precedence (README.md, "Zoho Voice behaviour"): auth -> content type -> multipart parse ->
sms_data -> other parts -> business rules -> store; the first failing stage answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..config import Settings
from ..contracts import load_contract
from ..errors import FieldProblem, StoreFullError
from ..multipart import BodyError, Limits, Part, boundary_of, read_multipart
from ..runtime import Runtime
from ..sms import parse_number, segments
from ..store import Media, Recipient, Store, Submission
from ..validation import RequestValidator, coerce_form_value, parse_zoho_datetime
from .common import (
    Endpoint,
    Provider,
    declared_length,
    header_map,
    json_depth,
    json_response,
    media_type,
    namespace_of,
)

__all__ = ["PROVIDER", "ZohoVoice"]

PROVIDER = "zoho_voice"
_TEXT_PARTS = ("sms_data", "templateId", "scheduledTime", "timeZone")
_MEDIA = "mms_media"


class _Reject(Exception):
    """Stop handling and answer with a ZVSMS error."""

    def __init__(
        self, problems: Sequence[FieldProblem], code: str = "bad_request", status: int | None = None
    ) -> None:
        super().__init__(code)
        self.problems = problems
        self.code = code
        self.status = status


class ZohoVoice(Provider):
    """The Zoho Voice provider: request handling for ``POST /rest/json/v2/sms/send``."""

    name = PROVIDER

    def __init__(self, settings: Settings, store: Store, runtime: Runtime) -> None:
        super().__init__(settings, store, runtime)
        self.operation = load_contract(PROVIDER).operation("zohoVoiceSendSmsV2")
        self.validator = RequestValidator(
            self.operation, settings.contract_overrides()[self.operation.id]["fields"]
        )
        auth = self.operation.auth or {}
        self._auth_header = auth.get("header", "Authorization").lower()
        self._auth_prefix = auth.get("scheme", "Zoho-oauthtoken") + " "
        self._codes = self.operation.codes
        self._limits = Limits(
            settings.max_body_bytes, settings.max_media_bytes, settings.max_field_bytes
        )
        self._account_zone = ZoneInfo(settings.zoho_account_timezone)
        self._minute_cache: tuple[int, str] = (-1, "")
        self._text_fields = {name: self.operation.field(name) for name in _TEXT_PARTS}
        self._sms_fields = frozenset(
            f.name.removeprefix("sms_data.")
            for f in self.operation.request
            if f.name.startswith("sms_data.")
        )

    def routes(self) -> list[Route]:
        """The Starlette routes this provider serves."""
        return [Route(self.operation.path, Endpoint(self.send), methods=[self.operation.method])]

    # ------------------------------------------------------------------ handler

    async def send(self, request: Request) -> Response:
        """Handle one send request."""
        headers = header_map(request)
        namespace = namespace_of(headers)
        if not self._authorised(headers.get(self._auth_header, "")):
            return JSONResponse(
                dict(self.settings.zoho_auth_error_body),
                status_code=self.settings.zoho_auth_error_status,
            )
        ignored: list[FieldProblem] = []
        try:
            parts = await self._read_parts(request, headers)
            fields, media = self._fields(parts, ignored)
            self._check(fields, media, namespace)
            body = await self._accept(headers, namespace, fields, media)
        except _Reject as reject:
            return await self._error(reject, namespace, ignored)
        if ignored:
            await self._record(ignored, namespace)
        return json_response(body)

    def method_not_allowed(self, request: Request, allowed: str) -> Response | None:
        """ZVSMS-4027 with 405 for anything but POST on the send path."""
        if request.url.path != self.operation.path:
            return None
        body = {
            "status": "ERROR",
            "code": self._codes["bad_request"]["code"],
            "message": f"{request.method}: this API takes {allowed}",
        }
        return JSONResponse(body, status_code=405, headers={"Allow": allowed})

    def _authorised(self, header: str) -> bool:
        if not header.startswith(self._auth_prefix):
            return False
        token = header[len(self._auth_prefix) :].strip()
        accepted = self.settings.zoho_accepted_tokens
        return bool(token) and (accepted is None or token in accepted)

    async def _read_parts(self, request: Request, headers: Mapping[str, str]) -> list[Part]:
        ctype = headers.get("content-type", "")
        if media_type(headers) != "multipart/form-data":
            raise _Reject(
                [
                    FieldProblem(
                        "Content-Type",
                        ctype or None,
                        "multipart/form-data (send sms_data as a form part, "
                        "e.g. curl -F 'sms_data={...}')",
                    )
                ]
            )
        boundary = boundary_of(ctype)
        if boundary is not None and len(boundary) > 70:
            raise _Reject(
                [
                    FieldProblem(
                        "Content-Type",
                        ctype[:120],
                        "a multipart boundary of 1 to 70 characters (RFC 2046 section 5.1.1)",
                    )
                ]
            )
        if boundary is None:
            raise _Reject(
                [
                    FieldProblem(
                        "Content-Type",
                        ctype,
                        "multipart/form-data with a boundary=... parameter; let the HTTP client "
                        "build the multipart body instead of setting the header by hand",
                    )
                ]
            )
        try:
            return await read_multipart(
                request.stream(), boundary, self._limits, declared=declared_length(headers)
            )
        except BodyError as exc:
            raise _Reject([exc.problem]) from None

    def _fields(
        self, parts: list[Part], unknown: list[FieldProblem]
    ) -> tuple[dict[str, Any], list[Part]]:
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
                    FieldProblem(
                        part.name or "(part without a name)",
                        _preview(part.data),
                        "not a parameter of this operation (ignored)",
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
                text = bytes(part.data).decode("utf-8")
            except UnicodeDecodeError:
                problems.append(FieldProblem(part.name, _preview(part.data), "UTF-8 text"))
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
        if len(media) > self.settings.zoho_max_media_files:
            problems.append(
                FieldProblem(
                    _MEDIA,
                    f"{len(media)} files",
                    f"at most {self.settings.zoho_max_media_files} file(s) (setting "
                    "zoho_max_media_files)",
                )
            )
        # Ignored, as a form handler ignores them, but recorded: a misspelt "Mms" would
        # otherwise silently turn an MMS into an SMS.
        sms = fields.get("sms_data")
        if isinstance(sms, dict):
            unknown += [
                FieldProblem(f"sms_data.{key}", value, "not a field of sms_data (ignored)")
                for key, value in sms.items()
                if key not in self._sms_fields
            ]
        if problems:
            raise _Reject(problems)
        problems = self.validator.problems(fields)
        if problems:
            raise _Reject(problems)
        return fields, media

    def _check(self, fields: dict[str, Any], media: list[Part], namespace: str) -> None:
        """Rules across fields that a schema cannot express."""
        sms = fields["sms_data"]
        mms = sms.get("mms", False)
        if mms and not media:
            raise _Reject([FieldProblem(_MEDIA, None, "a file when sms_data.mms is true")])
        if media and not mms:
            raise _Reject(
                [FieldProblem("sms_data.mms", mms, "true when an mms_media file is attached")]
            )
        for part in media:
            if not part.data:
                raise _Reject([FieldProblem(_MEDIA, "0 bytes", "a non-empty file")])
        if "scheduledTime" in fields:
            zone = ZoneInfo(fields.get("timeZone") or self.settings.zoho_account_timezone)
            when = parse_zoho_datetime(fields["scheduledTime"])
            assert when is not None  # the schema's format check passed
            if when.replace(tzinfo=zone).timestamp() <= self.runtime.now(namespace):
                raise _Reject(
                    [
                        FieldProblem(
                            "scheduledTime",
                            fields["scheduledTime"],
                            f"a time in the future (in time zone {zone.key})",
                        )
                    ]
                )
        number = parse_number(sms["customerNumber"])
        assert number is not None  # the schema's phone format check passed
        allowed = self.settings.zoho_allowed_countries
        if allowed is not None and number.region not in allowed:
            raise _Reject(
                [
                    FieldProblem(
                        "sms_data.customerNumber",
                        sms["customerNumber"],
                        f"a number in one of: {', '.join(sorted(allowed))}",
                    )
                ],
                code="country_not_supported",
            )

    # ------------------------------------------------------------------ success

    async def _accept(
        self,
        headers: Mapping[str, str],
        namespace: str,
        fields: dict[str, Any],
        media: list[Part],
    ) -> bytes:
        sms = fields["sms_data"]
        number = parse_number(sms["customerNumber"])
        assert number is not None
        now = self.runtime.now(namespace)
        now_ms = int(now * 1000)
        seg = segments(sms["message"])
        sender = sms["senderId"]
        sender_number = parse_number(sender) if sender[:1] in "+0123456789" else None
        stored_media = tuple(
            Media(
                filename=p.filename or _MEDIA,
                content_type=p.content_type,
                size=len(p.data),
                sha256=hashlib.sha256(p.data).hexdigest(),
                provider_id=self.runtime.new_uuid(),
            )
            for p in media
        )
        scheduled = fields.get("scheduledTime")
        # INFERENCE: sentTime shows the scheduled minute for a scheduled send.
        sent_time = scheduled[:16] if scheduled else self._minute(now)
        send: dict[str, Any] = {
            "multipartCount": seg.count,
            "country": number.region,
            "submittedTime": now_ms,
            "customerNumber": number.spaced,
            "message": sms["message"],
            "userName": self.settings.zoho_user_name,
            "customerName": self.settings.zoho_contacts.get(number.e164, number.spaced),
            "senderId": sender_number.e164 if sender_number else sender,
            "messageType": "OUTGOING",
        }
        if stored_media:  # isMMS / mmsMeta appear only in the MMS sample
            send["isMMS"] = True
            send["mmsMeta"] = [
                {
                    "bucketName": self.settings.zoho_bucket_name,
                    "fileName": m.filename,
                    "fileSize": m.size,
                    "objectName": f"{m.filename}-{now_ms}",
                    "fileExtn": m.filename.rsplit(".", 1)[-1].lower() if "." in m.filename else "",
                    "mmsId": m.provider_id,
                }
                for m in stored_media
            ]
        logid = self.runtime.new_uuid()
        send |= {
            "sentTime": sent_time,
            "logid": logid,
            "email": self.settings.zoho_email,
            "status": "IN_QUEUE",
        }
        body = {"code": "ZVSMS-2000", "send": send, "status": "SUCCESS"}
        encoded = orjson.dumps(body)  # sent and kept as these bytes
        submission = Submission(
            id=logid,
            provider=PROVIDER,
            operation=self.operation.id,
            created_at=now,
            sender=send["senderId"],
            text=sms["message"],
            encoding=seg.encoding,
            recipients=(
                Recipient(
                    id=logid,
                    to=number.e164,
                    country=number.region,
                    segments=seg.count,
                    status="scheduled" if scheduled else "queued",
                ),
            ),
            scheduled_at=scheduled,
            media=stored_media,
            headers=self.stored_headers(headers),
            request=fields,
            response=encoded,
        )
        try:
            await self.store.append(namespace, submission)
        except StoreFullError as exc:
            raise _Reject([FieldProblem("(store)", None, str(exc))], status=507) from None
        return encoded

    def _minute(self, now: float) -> str:
        """``yyyy-MM-dd HH:mm`` of ``now`` in the account zone, formatted once a minute."""
        minute = int(now // 60)
        if self._minute_cache[0] != minute:
            text = datetime.fromtimestamp(now, self._account_zone).strftime("%Y-%m-%d %H:%M")
            self._minute_cache = (minute, text)
        return self._minute_cache[1]

    # ------------------------------------------------------------------ errors

    async def _error(
        self, reject: _Reject, namespace: str, ignored: Sequence[FieldProblem] = ()
    ) -> JSONResponse:
        code = self._codes[reject.code]
        if self.settings.zoho_error_detail or reject.status:
            text = "; ".join(str(p) for p in reject.problems)
        else:
            text = code["message"]
        if reject.code != "bad_request":
            text = f"{code['message']} ({text})" if self.settings.zoho_error_detail else text
        recorded = list(ignored)
        if reject.status is None and reject.code == "bad_request":
            # A country outside zoho_allowed_countries breaks the mock's setting, not the
            # contract, so it is not recorded as a violation.
            recorded += reject.problems
        await self._record(recorded, namespace)
        body = {"status": code.get("status", "ERROR"), "code": code["code"], "message": text}
        return JSONResponse(body, status_code=reject.status or self.settings.zoho_error_status)

    async def _record(self, problems: Sequence[FieldProblem], namespace: str) -> None:
        await self.record(self.operation.id, namespace, problems)


def _preview(data: bytes | bytearray, limit: int = 80) -> str:
    """A short, printable excerpt of raw bytes for error messages."""
    text = bytes(data[:limit]).decode("utf-8", "backslashreplace")
    return text + ("…" if len(data) > limit else "")
