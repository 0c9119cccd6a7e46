"""2sms "POST api/v2/sms/messages" (and the provider, with "POST /Token" from
:mod:`mockserver.providers.twosms_token`): wire format and wording, nothing else.

Document: the 2sms help page "POST api/v2/sms/messages"
(https://portal.2sms.us/Help/Api/POST-api-v2-sms-messages); token flow: the 2sms US
"SMS Plus / RESTful API" page (https://us.2sms.us/2020/06/30/smsplus/).
The field rules come from contracts/twosms/*.toml through the shared validation engine;
request bodies are bound as ASP.NET binds them (:mod:`mockserver.binding`).  This module adds
what a schema cannot say (tokens, recipients across three maps, Content-or-Template,
recurring options, templates, credits) and shapes the ``{"Error", "ResponseData"}`` envelope.

Served by the one request pipeline (:mod:`mockserver.pipeline`).  Precedence (README.md,
"2sms behaviour"): auth -> content type -> body parse -> fields ->
business rules -> credits -> store; the first failing stage answers.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple

import orjson
import pyjson5
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..binding import Binder
from ..callbacks import Push
from ..charsets import UTF8, CharsetError, charset_of, decode, resolve
from ..config import Settings
from ..errors import FieldProblem, Reject
from ..exchange import Answer, Context, Incoming, Operation, Outcome, Principal
from ..number_pool import AHEAD_MIN, parse_ahead
from ..runtime import Runtime
from ..sms import Segments, parse_number, segments
from ..store import Message, Recipient, Submission
from ..store.records import compact
from ..validation import RequestValidator
from . import twosms_kit
from .common import (
    Provider,
    ProviderOperation,
    encode_push,
    json_depth,
    media_type,
    redact_credential,
    route_path,
)
from .twosms_schedule import AT_ONCE, check_schedule, schedule_of
from .twosms_settings import TwoSmsSettings
from .twosms_token import TOKEN_KEY, Token

__all__ = [
    "CREDITS_KEY",
    "PROVIDER",
    "TOKEN_KEY",
    "SendMessages",
    "Token",
    "TwoSms",
    "client_namespace",
]

PROVIDER = "twosms"
_FORM = "application/x-www-form-urlencoded"
#: Codecs of the charsets ASP.NET Web API's JsonMediaTypeFormatter reads (its
#: SupportedEncodings: UTF-8 and UTF-16); the mock reads any other one too, but records it.
_JSON_CHARSETS = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be"})
_BODY_TYPES = frozenset({"application/json", "text/json", _FORM})
_PLACEHOLDER = re.compile(r"\{(\d+)\}")
_EMAIL_ONLY = "Email"  # QuickRecipients member that sends no SMS (legacy SOAP MessageType 1)
_EMAIL_ALSO = ("Email", "EmailAndText")
_SMS_ONLY = (True, False)  # (sms, email) of a recipient value with no configured name
#: The smallest body that can name :data:`~mockserver.number_pool.AHEAD_MIN` numbers (each at
#: least ``"1":0,`` in JSON, and longer in a form): smaller ones skip looking for them.
_AHEAD_BYTES = 6 * AHEAD_MIN
#: Address-book maps of ``Contacts``, with the prefix their recipients are stored under.
_BOOKS = (("contact", "ContactID"), ("group", "GroupID"))
#: Account key of credit balances (per namespace); issued tokens: :data:`TOKEN_KEY`.
CREDITS_KEY = "twosms.credits:"
#: Shared outcomes and the envelope code each is answered with (codes in the contract).
_CODES = {"invalid_request": "validation"}
#: Statuses a delivery receipt is pushed for, in the words of the push.
_PUSHED = {
    "sent": "Sent",
    "delivered": "Delivered",
    "failed": "Failed",
    "undelivered": "Failed",
    "expired": "Expired",
    "cancelled": "Cancelled",
}
#: HTTP statuses of the outcomes that have their own (the rest: setting [twosms] error_status).
_STATUSES = {"unauthorized": 401, "unsupported_media_type": 415, "store_full": 507}


def client_namespace(client_id: str) -> str:
    """The namespace of a send that names none: its token's client id (not a secret)."""
    return f"{PROVIDER}:{client_id}"


class _Recipient(NamedTuple):
    key: str  # as it appears in StandardMessageIDs
    to: str  # E.164 number, or contact:/group: id
    region: str  # lower-case ISO-2 of a number, "" for an address-book entry
    quick: bool  # a QuickRecipients number (not a ContactID/GroupID entry)
    sms: bool
    email: bool
    test: bool = False  # a number in a fictional range (sms.Number.test)


class _Send(NamedTuple):
    """A send parsed and checked, waiting for its credits."""

    msg: dict[str, Any]
    text: str
    seg: Segments
    recipients: list[_Recipient]
    quick: int
    sms_to: int
    emails: int
    headers: Mapping[str, str]


class TwoSms(Provider):
    """The 2sms provider: ``POST /Token`` and ``POST /api/v2/sms/messages``."""

    name = PROVIDER
    settings_class = TwoSmsSettings
    kit_unheld_checks = staticmethod(twosms_kit.unheld_checks)
    kit_credentials = staticmethod(twosms_kit.credentials)
    kit_credential_names = twosms_kit.CREDENTIAL_NAMES
    failure_status = "failed"

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        super().__init__(settings, runtime)
        #: The provider's own settings (the ``[twosms]`` table).
        self.options = settings.provider(TwoSmsSettings)
        self.token = Token(self)
        self.send = SendMessages(self)

    def operations(self) -> list[Operation]:
        """The operations this provider serves."""
        return [self.token, self.send]

    def method_not_allowed(self, request: Request, allowed: str) -> Response | None:
        """OAuth error on /Token; the envelope with ASP.NET's 405 wording on the send."""
        headers = {"Allow": allowed}
        if route_path(request) == self.token.path:
            body: dict[str, Any] = {
                "error": "invalid_request",
                "error_description": f"{request.method}: the token endpoint takes {allowed}",
            }
            return JSONResponse(body, status_code=405, headers=headers)
        if route_path(request) != self.send.path:
            return None
        code = self.send.codes["method_not_allowed"]
        reason = code["message"].replace("{detail}", request.method)
        body = {"Error": {"ErrorCode": code["code"], "ErrorReason": reason}, "ResponseData": None}
        return JSONResponse(body, status_code=405, headers=headers)

    def status_push(self, message: Message) -> Push | None:
        """The push the 2sms US "Status Updates" page describes
        (https://us.2sms.us/2020/07/06/status-updates): an HTTP POST of MessageID,
        Destination ("international format beginning with country code"), Text, Reference,
        DateReceived ("MM/DD/YYYY HH:mm:ss"), Status and Reason.  INFERENCE: the page shows
        neither the encoding (a form by default; setting [twosms] status_push_format), the
        status words (the journal's, capitalised) nor the zone of DateReceived (UTC)."""
        change = message.history[-1]
        word = _PUSHED.get(change.status)
        if word is None:
            return None
        fields = {
            "MessageID": message.id,
            "Destination": message.to.removeprefix("+"),
            "Text": message.text,
            "Reference": (message.notify or {}).get("Reference"),
            "DateReceived": datetime.fromtimestamp(change.at, UTC).strftime("%m/%d/%Y %H:%M:%S"),
            "Status": word,
            "Reason": change.reason,
        }
        return encode_push(fields, self.options.status_push_format == "form")

    def not_found(self, request: Request) -> Response | None:
        """ASP.NET Web API's 404 wording in the envelope for an unknown path under ``/api/``
        or ``/Token`` (codes.not_found); never a redirect."""
        path = route_path(request)
        if not path.startswith("/api/") and not path.lower().startswith(self.token.path.lower()):
            return None
        if path.lower().startswith(self.token.path.lower()):
            body: dict[str, Any] = {
                "error": "invalid_request",
                "error_description": f"{path}: no such endpoint; the token endpoint is "
                f"{self.token.path}",
            }
            return JSONResponse(body, status_code=404)
        code = self.send.codes["not_found"]
        near = self.near_path(path)
        reason = code["message"].replace("{detail}", path)
        if near:
            reason += f" Did you mean {near}?"
        body = {"Error": {"ErrorCode": code["code"], "ErrorReason": reason}, "ResponseData": None}
        return JSONResponse(body, status_code=404)


# ---------------------------------------------------------------------- POST send


class SendMessages(ProviderOperation):
    """``POST /api/v2/sms/messages`` as a sans-IO operation."""

    #: Each new number a send names costs about 85 µs of phonenumbers' parsing and validation
    #: (measured on a 2-core AMD EPYC), and a recipient takes about 18 bytes of JSON: at the
    #: default 64 KiB a body of 3,400 new numbers held the event loop, and every other
    #: client, for 0.3 s (``bench/stalls.py``).  At 4 KiB at most about 230 do (20 ms).
    offload_bytes = 4 * 1024

    def __init__(self, owner: TwoSms) -> None:
        super().__init__(owner, "twosmsSendMessagesV2", owner.settings.max_body_bytes)
        self.options = owner.options
        settings, contract, options = self.settings, self.contract, self.options
        types = dict(options.message_types)
        quick = dict(options.quick_recipient_types)
        self.validator = RequestValidator(
            contract, settings.contract_overrides()[contract.id]["fields"]
        )
        self.binder = Binder(self.validator.schema, "MessageV2")
        self._type_names = {number: name for name, number in types.items()}
        # What each QuickRecipients value sends, as (sms, email); a value with no name sends
        # an SMS only.
        self._sends = {
            number: (name != _EMAIL_ONLY, name in _EMAIL_ALSO) for name, number in quick.items()
        }
        # .NET compares GUIDs case-insensitively.
        self._templates = {k.lower(): v for k, v in options.templates.items()}
        self._reason_prefix = self.codes["validation"]["message"].split("{field}")[0]

    # ------------------------------------------------------------------ auth

    async def authenticate(self, incoming: Incoming, ctx: Context) -> Principal:
        """A bearer token issued by ``POST /Token`` and not expired."""
        header = incoming.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if not token or scheme.lower() != "bearer":
            sent = redact_credential(header) if header else None
            raise Reject(
                "unauthorized",
                [FieldProblem("Authorization", sent, "Bearer <access_token from POST /Token>")],
            )
        account = await ctx.shared.get(TOKEN_KEY + token)
        if not isinstance(account, str):
            # Unknown or expired: the client's state, not a breach of the contract.
            raise Reject("unauthorized", violation=False)
        return Principal(account, client_namespace(account))

    # ------------------------------------------------------------------ parse

    def precheck(self, incoming: Incoming) -> None:
        """The content type: JSON, text/json or a form (415 otherwise)."""
        kind = media_type(incoming.headers)
        if kind not in _BODY_TYPES:
            raise Reject(
                "unsupported_media_type",
                [
                    FieldProblem(
                        "Content-Type",
                        incoming.headers.get("content-type") or None,
                        "application/json, text/json or application/x-www-form-urlencoded",
                    )
                ],
                detail=kind or "(none)",
            )

    def parse(self, incoming: Incoming, body: bytes, ignored: list[FieldProblem]) -> _Send:
        """Bind and validate the body, apply the rules across fields, and count what each
        recipient costs."""
        kind = media_type(incoming.headers)
        instance, exact = self._bind(kind, incoming.headers.get("content-type"), body, ignored)
        if not exact:
            problems = self.validator.problems(instance, textual=kind == _FORM)
            if problems:
                raise Reject("invalid_request", problems)
        text = self._check(instance)
        recipients = self._recipients(instance["Contacts"])
        quick = sms_to = emails = 0
        for r in recipients:
            quick += r.quick
            sms_to += r.sms
            emails += r.email
        return _Send(
            instance, text, segments(text), recipients, quick, sms_to, emails, incoming.headers
        )

    def _parse_ahead(self, data: dict[str, Any]) -> None:
        """Check the numbers of a send with many new ones on several cores at once, before
        the contract's format check and the rules check them one by one."""
        contacts = data.get("Contacts")
        quick = contacts.get("QuickRecipients") if type(contacts) is dict else None
        if type(quick) is dict and len(quick) >= AHEAD_MIN:
            parse_ahead([key for key in quick if type(key) is str], self.settings.number_processes)

    def _bind(
        self, kind: str, ctype: str | None, raw: bytes, ignored: list[FieldProblem]
    ) -> tuple[dict[str, Any], bool]:
        """The body bound to the contract's names, and whether it was already valid as sent.

        Members that binding ignores go to ``ignored`` (recorded whatever the answer).
        """
        if kind == _FORM:
            fields = raw.count(b"&") + 1
            limit = self.settings.max_form_fields
            if fields > limit:
                raise Reject(
                    "invalid_request",
                    [
                        FieldProblem(
                            "(body)",
                            f"{fields} form fields",
                            f"a form of at most {limit} fields (setting max_form_fields)",
                        )
                    ],
                )
            try:
                instance, skipped = self.binder.bind_form(self.validator.fields, raw, ctype)
            except CharsetError as exc:
                raise Reject("invalid_request", [exc.problem]) from None
            ignored += skipped
            if len(raw) >= _AHEAD_BYTES:
                self._parse_ahead(instance)
            return instance, False
        # Counted before parsing (in C, a few milliseconds for the largest body): parsing a
        # million values holds the interpreter for a tenth of a second, every other client
        # with it.
        values = raw.count(b",") + raw.count(b":")
        limit = self.settings.max_json_values
        if values > limit:
            raise Reject(
                "invalid_request",
                [
                    FieldProblem(
                        "(body)",
                        f"{values} ',' and ':' characters",
                        f"a JSON body of at most {limit} values, counted as its ',' and ':' "
                        "characters (setting max_json_values)",
                    )
                ],
            )
        try:
            declared = charset_of(ctype)
            if declared is None or resolve(declared) == UTF8:
                # Json.NET reads UTF-8 with or without a byte-order mark.
                data = orjson.loads(raw[3:] if raw[:3] == codecs.BOM_UTF8 else raw)
            else:  # a declared charset (charset=utf-16) is honoured
                data = orjson.loads(decode(raw, ctype, "(body)", "JSON"))
                if resolve(declared) not in _JSON_CHARSETS:
                    ignored.append(
                        FieldProblem(
                            "Content-Type",
                            ctype,
                            "JSON in charset=utf-8 or utf-16: ASP.NET's JSON formatter reads "
                            "no other (the mock read it as declared)",
                        )
                    )
        except CharsetError as exc:
            raise Reject("invalid_request", [exc.problem]) from None
        except orjson.JSONDecodeError as exc:
            try:  # bytes that are not UTF-8: say so, not orjson's internal message
                text = decode(raw, ctype, "(body)", "JSON")
            except CharsetError as bad:
                raise Reject("invalid_request", [bad.problem]) from None
            data = _json_net(text)
            if data is None:
                raise Reject(
                    "invalid_request",
                    [
                        FieldProblem(
                            "(body)",
                            raw[:80].decode("utf-8", "replace"),
                            f"a JSON MessageV2 object ({exc})",
                        )
                    ],
                ) from None
            ignored.append(
                FieldProblem(
                    "(body)",
                    raw[:80].decode("utf-8", "replace"),
                    "strict JSON (RFC 8259): Json.NET, and so 2sms, also reads single-quoted "
                    "strings, unquoted names, comments and trailing commas, but other JSON "
                    f"readers refuse them ({exc})",
                )
            )
        if type(data) is not dict:
            sent = orjson.dumps(data)[:80].decode("utf-8", "replace")  # a preview, not the body
            raise Reject(
                "invalid_request", [FieldProblem("(body)", sent, "a JSON object (MessageV2)")]
            )
        if len(raw) >= _AHEAD_BYTES:
            self._parse_ahead(data)
        if self.validator.accepts_exactly(data):  # the usual case: nothing to rename or report
            return data, True
        if json_depth(data) > self.settings.max_json_depth:
            raise Reject(
                "invalid_request",
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
        ignored += unknown
        return dict(instance), False

    def _check(self, msg: Mapping[str, Any]) -> str:
        """Rules across fields; returns the final message text."""
        contacts = msg["Contacts"]
        if not (
            contacts.get("QuickRecipients") or contacts.get("ContactID") or contacts.get("GroupID")
        ):
            raise Reject(
                "invalid_request",
                [
                    FieldProblem(
                        "Contacts",
                        contacts,
                        "at least one recipient in ContactID, GroupID or QuickRecipients",
                    )
                ],
            )
        recurring = self._type_names.get(msg["Type"]) == "Recurring"
        if recurring and msg["Options"].get("RecurringOptions") is None:
            raise Reject(
                "invalid_request",
                [FieldProblem("Options.RecurringOptions", None, "required when Type is Recurring")],
            )
        check_schedule(msg["Options"], recurring, self.settings)
        template = msg.get("Template")
        if template:
            # Template "will overwrite whatever is in the content parameter" (Body Parameters).
            text = self._templates.get(template["ID"].lower())
            if text is None:
                raise Reject("unknown_template", detail=template["ID"])
            values = template.get("PlaceHolders") or {}
            return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
        content = msg.get("Content")
        if not content:
            raise Reject(
                "invalid_request",
                [FieldProblem("Content", content, "required (non-empty) unless Template is given")],
            )
        return str(content)

    def _recipients(self, contacts: Mapping[str, Any]) -> list[_Recipient]:
        out: list[_Recipient] = []
        sends = self._sends
        quick = contacts.get("QuickRecipients")
        if quick:
            for key, value in quick.items():
                number = parse_number(key)
                assert number is not None  # the contract's key_format check passed
                sms, email = sends.get(value, _SMS_ONLY)
                if number.test and not self.settings.accept_test_numbers:
                    raise _test_number_refused(f"Contacts.QuickRecipients[{key}]", key)
                e164 = number.e164
                out.append(_Recipient(e164, e164, number.region, True, sms, email, number.test))
        for kind, field in _BOOKS:
            book = contacts.get(field)
            if book:
                for key, value in book.items():
                    # INFERENCE: address-book entries are opaque here (no address book yet).
                    sms, email = sends.get(value, _SMS_ONLY)
                    out.append(_Recipient(key, f"{kind}:{key}", "", False, sms, email))
        return out

    # ------------------------------------------------------------------ rules

    async def rules(self, command: _Send, principal: Principal, ctx: Context) -> Outcome:
        """Spend the credits (refunded if the store refuses the send), then compose the
        answer and the submission (in a worker thread for a large send)."""
        sms_count = command.seg.count * command.sms_to
        start = self.options.starting_credits
        credits = CREDITS_KEY + principal.account
        accounts = ctx.accounts
        spent = await accounts.add(credits, -sms_count, start=start)
        if spent is None:
            balance = await accounts.add(credits, 0, start=start)
            available = balance[0] if balance else 0
            raise Reject(
                "insufficient_credit",
                detail=f"It needs {sms_count} credits; {available} are available.",
            )

        args = (command, principal.account, ctx, sms_count, *spent)
        outcome = await ctx.heavy(self._compose, *args) if ctx.large else self._compose(*args)
        outcome.undo = partial(accounts.add, credits, sms_count, start=start)  # a refund
        return outcome

    def _compose(
        self,
        p: _Send,
        account: str,
        ctx: Context,
        sms_count: int,
        before: int,
        after: int,
    ) -> Outcome:
        """The answer and the submission to store, each recipient with its id (two keys
        naming the same number, +1… and 1…, each get their own, side by side)."""
        now = ctx.now()
        new_id = ctx.runtime.new_uuid
        msg = p.msg
        options = msg["Options"]
        kind = self._type_names.get(msg["Type"])
        plan = schedule_of(options, kind == "Recurring", now, self.settings)
        status = "scheduled" if plan.send_at is not None else "queued"
        seg = p.seg
        by_key: dict[str, list[str]] = {}
        kept: list[Recipient] = []
        for r in p.recipients:
            message_id = new_id()
            same = by_key.get(r.key)
            if same is None:
                by_key[r.key] = [message_id]
            else:
                same.append(message_id)
            # Positional: keywords cost a name match each, on every recipient of every send.
            # (id, to, country, segments, status, test_number)
            kept.append(
                Recipient(message_id, r.to, r.region, seg.count if r.sms else 0, status, r.test)
            )
        body: dict[str, Any] = {
            "Error": None,
            "ResponseData": {
                "Identification": {"UserId": account},
                "Result": "Success",  # INFERENCE: the document shows only "sample string 1"
                "Detail": {
                    "IDs": {
                        "AdvancedMessageID": (ctx.new_id() if kind == "Advanced" else None),
                        "StandardMessageIDs": by_key,
                    },
                    # Strings on the wire: the help page's "sample string N" (Response Formats).
                    "NoOfContacts": str(len(kept) - p.quick),
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
        submission_id = kept[0].id if len(kept) == 1 else ctx.new_id()
        # Positional, in Submission's field order: keywords cost a name match each.
        submission = Submission(
            submission_id,  # id
            PROVIDER,  # provider
            self.id,  # operation
            now,  # created_at
            str(options.get("Sender") or ""),  # sender
            p.text,  # text
            seg.encoding,  # encoding
            tuple(kept),  # recipients
            plan.scheduled_at,  # scheduled_at
            (),  # media
            self.owner.stored_headers(p.headers),  # headers
            msg,  # request
        )
        if plan is not AT_ONCE:
            submission.send_at = plan.send_at
            submission.expire_at = plan.expire_at
            submission.recurs = plan.recurs
            if plan.recurs is not None:
                submission.recurs_from = (submission_id, 1)
        if options.get("DeliveryReceipt"):
            # Status pushes are asked for per send (INFERENCE from the option's name).
            submission.notify = {"Reference": options.get("Reference")}
        return Outcome(body, 200, submission)

    # ------------------------------------------------------------------ render

    def render(self, outcome: Outcome) -> Answer:
        """The envelope, compact: the bytes that are sent and kept."""
        return Answer(outcome.status, compact(orjson.dumps(outcome.body)))

    def render_reject(self, reject: Reject) -> Answer:
        """The envelope with ``Error`` filled in: the validation wording with the fields at
        fault, or the outcome's own message."""
        code = self.codes.get(_CODES.get(reject.outcome, reject.outcome))
        if code is None:
            # An outcome 2sms has no code for (a fault rule's): its name, in .NET's casing.
            name = "".join(word.title() for word in reject.outcome.split("_"))
            code = {"code": name, "message": "{detail}" if reject.detail else name}
        if reject.outcome == "invalid_request":
            reason = (self._reason_prefix + "; ".join(str(p) for p in reject.problems)).strip()
        else:
            reason = code["message"].replace("{detail}", reject.detail).strip()
        body = {"Error": {"ErrorCode": code["code"], "ErrorReason": reason}, "ResponseData": None}
        status = reject.status or _STATUSES.get(reject.outcome, self.options.error_status)
        return Answer(status, orjson.dumps(body), reject.headers)


def _json_net(text: str) -> Any:
    """``text`` read the way Json.NET's lenient JsonTextReader reads it (single quotes,
    unquoted property names, comments, trailing commas), by a JSON5 parser; None when even
    that fails.  Only called for a body strict JSON refuses."""
    try:
        return pyjson5.decode(text)
    except pyjson5.Json5Exception:
        return None


def _test_number_refused(field: str, sent: str) -> Reject:
    """A fictional number refused by ``accept_test_numbers = false`` (the mock's setting, not
    the contract: not recorded as a violation)."""
    return Reject(
        "invalid_request",
        [
            FieldProblem(
                field,
                sent,
                "a number in service: fictional test numbers are refused "
                "(setting accept_test_numbers = false)",
            )
        ],
        violation=False,
    )
