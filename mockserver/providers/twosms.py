"""2sms "POST api/v2/sms/messages" and "POST /Token": wire format and wording, nothing else.

Document: the 2sms help page "POST api/v2/sms/messages"
(https://portal.2sms.us/Help/Api/POST-api-v2-sms-messages); token flow: the 2sms US
"SMS Plus / RESTful API" page (https://us.2sms.us/2020/06/30/smsplus/).
The field rules come from contracts/twosms/*.toml through the shared validation engine;
request bodies are bound as ASP.NET binds them (:mod:`mockserver.binding`).  This module adds
what a schema cannot say (tokens, recipients across three maps, Content-or-Template,
recurring options, templates, credits) and shapes the ``{"Error", "ResponseData"}`` envelope.

Precedence (README.md, "2sms behaviour"): auth -> content type -> body parse -> fields ->
business rules -> credits -> store; the first failing stage answers.
"""

from __future__ import annotations

import asyncio
import codecs
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..binding import Binder, FormBindingError
from ..config import Settings
from ..contracts import load_contract
from ..errors import FieldProblem, StoreFullError
from ..runtime import Runtime
from ..sms import Segments, parse_number, segments
from ..store import SHARED, Recipient, Store, Submission
from ..store.records import compact
from ..validation import RequestValidator
from .common import (
    BodyTooLarge,
    Endpoint,
    Provider,
    header_map,
    json_depth,
    json_response,
    media_type,
    namespace_of,
    read_body,
)

__all__ = ["CREDITS_KEY", "PROVIDER", "TOKEN_KEY", "TwoSms"]

PROVIDER = "twosms"
_FORM = "application/x-www-form-urlencoded"
_BODY_TYPES = frozenset({"application/json", "text/json", _FORM})
_PLACEHOLDER = re.compile(r"\{(\d+)\}")
_EMAIL_ONLY = "Email"  # QuickRecipients member that sends no SMS (legacy SOAP MessageType 1)
_EMAIL_ALSO = ("Email", "EmailAndText")
_SMS_ONLY = (True, False)  # (sms, email) of a recipient value with no configured name
#: Account keys: issued tokens (in the shared namespace) and credit balances (per namespace).
TOKEN_KEY = "twosms.token:"
#: Bodies larger than this are bound and checked in a worker thread (measured: a body of
#: 10,000 recipients takes about half a second of work).
OFFLOAD_BYTES = 64 * 1024
CREDITS_KEY = "twosms.credits:"


class _Reject(Exception):
    """Stop handling and answer with an envelope error."""

    def __init__(
        self,
        code: str,
        problems: Sequence[FieldProblem] = (),
        *,
        detail: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.problems = problems
        self.detail = detail
        self.status = status


class _Recipient(NamedTuple):
    key: str  # as it appears in StandardMessageIDs
    to: str  # E.164 number, or contact:/group: id
    region: str  # lower-case ISO-2 of a number, "" for an address-book entry
    quick: bool  # a QuickRecipients number (not a ContactID/GroupID entry)
    sms: bool
    email: bool


class _Prepared(NamedTuple):
    """A send checked and counted, waiting for its credits."""

    msg: dict[str, Any]
    text: str
    seg: Segments
    recipients: list[_Recipient]
    ids: list[str]
    by_key: dict[str, list[str]]
    quick: int
    sms_to: int
    emails: int


class TwoSms(Provider):
    """The 2sms provider: ``POST /Token`` and ``POST /api/v2/sms/messages``."""

    name = PROVIDER

    def __init__(self, settings: Settings, store: Store, runtime: Runtime) -> None:
        super().__init__(settings, store, runtime)
        contract = load_contract(PROVIDER)
        self.send_op = contract.operation("twosmsSendMessagesV2")
        self.token_op = contract.operation("twosmsToken")
        types = dict(settings.twosms_message_types)
        quick = dict(settings.twosms_quick_recipient_types)
        self.validator = RequestValidator(
            self.send_op, settings.contract_overrides()[self.send_op.id]["fields"]
        )
        self.binder = Binder(self.validator.schema)
        self._type_names = {number: name for name, number in types.items()}
        # What each QuickRecipients value sends, as (sms, email); a value with no name sends
        # an SMS only.
        self._sends = {
            number: (name != _EMAIL_ONLY, name in _EMAIL_ALSO) for name, number in quick.items()
        }
        self._codes = self.send_op.codes
        # .NET compares GUIDs case-insensitively.
        self._templates = {k.lower(): v for k, v in settings.twosms_templates.items()}
        self._reason_prefix = self._codes["validation"]["message"].split("{field}")[0]

    def routes(self) -> list[Route]:
        """The Starlette routes this provider serves."""
        return [
            Route(self.token_op.path, self.token, methods=[self.token_op.method]),
            Route(self.send_op.path, Endpoint(self.send), methods=[self.send_op.method]),
        ]

    def method_not_allowed(self, request: Request, allowed: str) -> Response | None:
        """OAuth error on /Token; the envelope with ASP.NET's 405 wording on the send."""
        headers = {"Allow": allowed}
        if request.url.path == self.token_op.path:
            body: dict[str, Any] = {
                "error": "invalid_request",
                "error_description": f"{request.method}: the token endpoint takes {allowed}",
            }
            return JSONResponse(body, status_code=405, headers=headers)
        if request.url.path != self.send_op.path:
            return None
        code = self._codes["method_not_allowed"]
        reason = code["message"].replace("{detail}", request.method)
        body = {"Error": {"ErrorCode": code["code"], "ErrorReason": reason}, "ResponseData": None}
        return JSONResponse(body, status_code=405, headers=headers)

    # ------------------------------------------------------------------ POST /Token

    async def token(self, request: Request) -> Response:
        """OAuth2 client-credentials token endpoint (OWIN style, RFC 6749 section 5)."""
        headers = header_map(request)
        if media_type(headers) != _FORM:
            return _oauth_error(
                "invalid_request",
                f"the body must be {_FORM} (grant_type, client_id, client_secret)",
            )
        try:
            body = await read_body(request, headers, self.settings.max_field_bytes)
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except BodyTooLarge as exc:
            return _oauth_error("invalid_request", f"the body must be at most {exc.limit} bytes")
        except UnicodeDecodeError:
            return _oauth_error("invalid_request", "the body must be UTF-8 form data")
        form: dict[str, str] = {}
        for key, value in pairs:
            form.setdefault(key, value)
        grant = form.get("grant_type")
        if not grant:
            return _oauth_error("invalid_request", "grant_type: required (client_credentials)")
        if grant != "client_credentials":
            return _oauth_error(
                "unsupported_grant_type",
                f"grant_type: {grant!r} is not supported; use client_credentials",
            )
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or not secret:
            return _oauth_error("invalid_client", "client_id and client_secret are required")
        clients = self.settings.twosms_clients
        if clients is not None and clients.get(client_id) != secret:
            return _oauth_error("invalid_client", "the client_id or client_secret is incorrect")
        token = secrets.token_urlsafe(32)
        lifetime = self.settings.twosms_token_lifetime_seconds
        now = self.runtime.now()  # tokens belong to no namespace: the app's clock
        if not await self.store.put_account(
            SHARED, TOKEN_KEY + token, client_id, now=now, expires_at=now + lifetime
        ):
            # Never revoke a live token to make room: a worker fetching tokens must not log
            # the others out.  503 with Retry-After: the condition passes as tokens expire.
            limit = self.settings.max_tokens
            return JSONResponse(
                {
                    "error": "temporarily_unavailable",
                    "error_description": (
                        f"sms-mockserver: {limit} live tokens are issued (setting max_tokens) "
                        "and none has expired yet; reuse a token until it expires, or restart "
                        "the mock with a larger max_tokens"
                    ),
                },
                status_code=503,
                headers={"Retry-After": "60"},
            )
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": lifetime})

    # ------------------------------------------------------------------ POST send

    async def send(self, request: Request) -> Response:
        """Handle one send request."""
        headers = header_map(request)
        namespace = namespace_of(headers)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        account = (
            await self.store.get_account(SHARED, TOKEN_KEY + token, now=self.runtime.now())
            if token and scheme.lower() == "bearer"
            else None
        )
        if not isinstance(account, str):
            return await self._envelope_error(_Reject("unauthorized", status=401), namespace)
        ignored: list[FieldProblem] = []
        try:
            kind, raw = await self._read(request, headers)
            # A large body (thousands of recipients) takes a while to check and to record:
            # a worker thread does that work, so that other clients are answered meanwhile.
            large = len(raw) > OFFLOAD_BYTES
            if large:
                prepared = await asyncio.to_thread(self._prepare, kind, raw, ignored)
            else:
                prepared = self._prepare(kind, raw, ignored)
            body = await self._accept(headers, namespace, account, prepared, large)
        except _Reject as reject:
            return await self._envelope_error(reject, namespace, ignored)
        if ignored:
            await self._record(ignored, namespace)
        return json_response(body)

    async def _read(self, request: Request, headers: Mapping[str, str]) -> tuple[str, bytes]:
        """The body's media type and bytes, within the size limit."""
        kind = media_type(headers)
        if kind not in _BODY_TYPES:
            raise _Reject("unsupported_media_type", detail=kind or "(none)", status=415)
        try:
            return kind, await read_body(request, headers, self.settings.max_body_bytes)
        except BodyTooLarge as exc:
            raise _Reject(
                "validation",
                [FieldProblem("(body)", None, f"a request body of at most {exc.limit} bytes")],
            ) from None

    def _prepare(self, kind: str, raw: bytes, ignored: list[FieldProblem]) -> _Prepared:
        """Everything about a send before its credits that needs no I/O: bind, validate,
        apply the rules, give each recipient its id and count what it costs."""
        instance, exact = self._bind(kind, raw, ignored)
        if not exact:
            problems = self.validator.problems(instance)
            if problems:
                raise _Reject("validation", problems)
        text = self._check(instance)
        recipients = self._recipients(instance["Contacts"])
        quick = sms_to = emails = 0
        # One id per recipient; two keys naming the same number (+1… and 1…) each get
        # their own, side by side in that number's list.
        by_key: dict[str, list[str]] = {}
        ids: list[str] = []
        for r in recipients:
            quick += r.quick
            sms_to += r.sms
            emails += r.email
            message_id = self.runtime.new_uuid()
            ids.append(message_id)
            by_key.setdefault(r.key, []).append(message_id)
        return _Prepared(
            instance, text, segments(text), recipients, ids, by_key, quick, sms_to, emails
        )

    def _bind(
        self, kind: str, raw: bytes, ignored: list[FieldProblem]
    ) -> tuple[dict[str, Any], bool]:
        """The body bound to the contract's names, and whether it was already valid as sent.

        Members that binding ignores go to ``ignored`` (recorded whatever the answer).
        """
        if kind == _FORM:
            try:
                instance, skipped = self.binder.bind_form(self.validator.fields, raw)
            except FormBindingError as exc:
                raise _Reject("validation", [FieldProblem("(body)", None, str(exc))]) from None
            ignored += skipped
            return instance, False
        try:
            # Json.NET reads UTF-8 with or without a byte-order mark.
            data = orjson.loads(raw[3:] if raw[:3] == codecs.BOM_UTF8 else raw)
        except orjson.JSONDecodeError as exc:
            raise _Reject(
                "validation",
                [
                    FieldProblem(
                        "(body)",
                        raw[:80].decode("utf-8", "replace"),
                        f"a JSON MessageV2 object ({exc})",
                    )
                ],
            ) from None
        if type(data) is not dict:
            sent = orjson.dumps(data)[:80].decode("utf-8", "replace")  # a preview, not the body
            raise _Reject("validation", [FieldProblem("(body)", sent, "a JSON object (MessageV2)")])
        if self.validator.accepts_exactly(data):  # the usual case: nothing to rename or report
            return data, True
        if json_depth(data) > self.settings.max_json_depth:
            raise _Reject(
                "validation",
                [
                    FieldProblem(
                        "(body)",
                        None,
                        f"JSON nested at most {self.settings.max_json_depth} levels deep "
                        "(setting max_json_depth)",
                    )
                ],
            )
        instance, unknown = self.binder.bind_json(data)
        # ASP.NET ignores unknown members; the contract still wants to hear about them.
        ignored += [
            FieldProblem(name, sent, "not a field of MessageV2 (ignored)") for name, sent in unknown
        ]
        return dict(instance), False

    def _check(self, msg: Mapping[str, Any]) -> str:
        """Rules across fields; returns the final message text."""
        contacts = msg["Contacts"]
        if not (
            contacts.get("QuickRecipients") or contacts.get("ContactID") or contacts.get("GroupID")
        ):
            raise _Reject(
                "validation",
                [
                    FieldProblem(
                        "Contacts",
                        contacts,
                        "at least one recipient in ContactID, GroupID or QuickRecipients",
                    )
                ],
            )
        if (
            self._type_names.get(msg["Type"]) == "Recurring"
            and msg["Options"].get("RecurringOptions") is None
        ):
            raise _Reject(
                "validation",
                [FieldProblem("Options.RecurringOptions", None, "required when Type is Recurring")],
            )
        template = msg.get("Template")
        if template:
            # Template "will overwrite whatever is in the content parameter" (Body Parameters).
            text = self._templates.get(template["ID"].lower())
            if text is None:
                raise _Reject("unknown_template", detail=template["ID"])
            values = template.get("PlaceHolders") or {}
            return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
        content = msg.get("Content")
        if not content:
            raise _Reject(
                "validation",
                [FieldProblem("Content", content, "required (non-empty) unless Template is given")],
            )
        return str(content)

    def _recipients(self, contacts: Mapping[str, Any]) -> list[_Recipient]:
        out: list[_Recipient] = []
        for key, value in (contacts.get("QuickRecipients") or {}).items():
            number = parse_number(key)
            assert number is not None  # the contract's key_format check passed
            sms, email = self._sends.get(value, _SMS_ONLY)
            out.append(_Recipient(number.e164, number.e164, number.region, True, sms, email))
        for kind, field in (("contact", "ContactID"), ("group", "GroupID")):
            for key, value in (contacts.get(field) or {}).items():
                # INFERENCE: address-book entries are opaque here (no address book yet).
                sms, email = self._sends.get(value, _SMS_ONLY)
                out.append(_Recipient(key, f"{kind}:{key}", "", False, sms, email))
        return out

    async def _accept(
        self,
        headers: Mapping[str, str],
        namespace: str,
        account: str,
        p: _Prepared,
        large: bool,
    ) -> bytes:
        now = self.runtime.now(namespace)
        sms_count = p.seg.count * p.sms_to
        start = self.settings.twosms_starting_credits
        credits = CREDITS_KEY + account
        spent = await self.store.add_account(namespace, credits, -sms_count, start=start)
        if spent is None:
            balance = await self.store.add_account(namespace, credits, 0, start=start)
            available = balance[0] if balance else 0
            raise _Reject(
                "insufficient_credit",
                detail=f"It needs {sms_count} credits; {available} are available.",
            )
        args = (headers, account, p, now, sms_count, *spent)
        if large:
            encoded, submission = await asyncio.to_thread(self._compose, *args)
        else:
            encoded, submission = self._compose(*args)
        try:
            await self.store.append(namespace, submission)
        except StoreFullError as exc:
            await self.store.add_account(namespace, credits, sms_count, start=start)
            raise _Reject(
                "store_full", detail=_store_full(exc, len(p.recipients)), status=507
            ) from None
        return encoded

    def _compose(
        self,
        headers: Mapping[str, str],
        account: str,
        p: _Prepared,
        now: float,
        sms_count: int,
        before: int,
        after: int,
    ) -> tuple[bytes, Submission]:
        """The answer's bytes and the submission to store (encoded already, so that a large
        one is encoded here rather than on the event loop)."""
        msg = p.msg
        options = msg["Options"]
        when = options.get("DateToSend")
        scheduled = when if when and _epoch(when) > now else None
        body: dict[str, Any] = {
            "Error": None,
            "ResponseData": {
                "Identification": {"UserId": account},
                "Result": "Success",  # INFERENCE: the document shows only "sample string 1"
                "Detail": {
                    "IDs": {
                        "AdvancedMessageID": (
                            self.runtime.new_uuid()
                            if self._type_names.get(msg["Type"]) == "Advanced"
                            else None
                        ),
                        "StandardMessageIDs": p.by_key,
                    },
                    # Strings on the wire: the help page's "sample string N" (Response Formats).
                    "NoOfContacts": str(len(p.recipients) - p.quick),
                    "NoOfQuickRecipients": str(p.quick),
                    "NoOfSMS": str(sms_count),
                    "NoOfEmails": str(p.emails),
                    "PreTransaction": str(before),
                    "PostTransaction": str(after),
                    "CreditsUsed": str(before - after),
                    "MessageText": p.text,
                },
            },
        }
        status = "scheduled" if scheduled else "queued"
        encoded = compact(orjson.dumps(body))  # sent and kept as these bytes
        seg = p.seg
        submission = Submission(
            id=p.ids[0] if len(p.ids) == 1 else self.runtime.new_uuid(),
            provider=PROVIDER,
            operation=self.send_op.id,
            created_at=now,
            sender=str(options.get("Sender") or ""),
            text=p.text,
            encoding=seg.encoding,
            recipients=tuple(
                Recipient(
                    id=message_id,
                    to=r.to,
                    country=r.region,
                    segments=seg.count if r.sms else 0,
                    status=status,
                )
                for r, message_id in zip(p.recipients, p.ids, strict=True)
            ),
            scheduled_at=scheduled,
            headers=self.stored_headers(headers),
            request=msg,
            response=encoded,
        )
        submission.encode()
        return encoded, submission

    # ------------------------------------------------------------------ errors

    async def _envelope_error(
        self, reject: _Reject, namespace: str, ignored: Sequence[FieldProblem] = ()
    ) -> JSONResponse:
        code = self._codes[reject.code]
        if reject.problems:
            reason = self._reason_prefix + "; ".join(str(p) for p in reject.problems)
        else:
            reason = code["message"].replace("{detail}", reject.detail).strip()
        recorded = list(ignored)
        if reject.code == "validation" and reject.status is None:
            recorded += reject.problems
        await self._record(recorded, namespace)
        body = {"Error": {"ErrorCode": code["code"], "ErrorReason": reason}, "ResponseData": None}
        status = reject.status or self.settings.twosms_error_status
        return JSONResponse(body, status_code=status)

    async def _record(self, problems: Sequence[FieldProblem], namespace: str) -> None:
        await self.record(self.send_op.id, namespace, problems)


def _oauth_error(error: str, description: str) -> JSONResponse:
    """RFC 6749 section 5.2 error; OWIN answers 400 for each, invalid_client included."""
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _store_full(exc: StoreFullError, count: int) -> str:
    """Why a send could not be kept, and what to do about it."""
    text = str(exc).removeprefix("sms-mockserver: ")
    return f"this send has {count} recipient(s), one message each; {text}"


def _epoch(iso: str) -> float:
    """Epoch seconds of an RFC 3339 date-time (the contract's format).

    Python 3.11's fromisoformat refuses two RFC 3339 spellings the format check allows:
    lower-case ``t``/``z`` and a leap second; both are read here.
    """
    text = iso.upper()
    leap = text[17:19] == "60" and text[13:14] == ":" and text[16:17] == ":"
    if leap:
        text = text[:17] + "59" + text[19:]
    try:
        return datetime.fromisoformat(text).timestamp() + (1 if leap else 0)
    except ValueError:
        return 0.0
