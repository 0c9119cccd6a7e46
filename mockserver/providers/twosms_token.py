"""2sms "POST /Token": OAuth2 client credentials, as OWIN's token endpoint answers them.

Document: the 2sms US "SMS Plus / RESTful API" page
(https://us.2sms.us/2020/06/30/smsplus/), and RFC 6749 (sections 2.3.1, 4.4, 5.1 and 5.2)
for what the page leaves to OAuth2.  Served by the one request pipeline; a token is kept in
the shared accounts under :data:`TOKEN_KEY`, where the send's authentication finds it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote_plus

import orjson

from ..binding import form_pairs
from ..charsets import CharsetError
from ..errors import FieldProblem, Reject
from ..exchange import Answer, Context, Incoming, Outcome, Principal
from .common import ProviderOperation, media_type

if TYPE_CHECKING:
    from .twosms import TwoSms

__all__ = ["TOKEN_KEY", "Token"]

#: Account key of an issued token (in the shared namespace): the client id it was issued to.
TOKEN_KEY = "twosms.token:"
_FORM = "application/x-www-form-urlencoded"


class Token(ProviderOperation):
    """``POST /Token``: OAuth2 client credentials, OWIN style (RFC 6749 section 4.4)."""

    def __init__(self, owner: TwoSms) -> None:
        super().__init__(owner, "twosmsToken", owner.settings.max_field_bytes)
        self.options = owner.options

    async def authenticate(self, incoming: Incoming, ctx: Context) -> Principal:
        """Nobody yet: the client's credentials are in the body."""
        return Principal("")

    def precheck(self, incoming: Incoming) -> None:
        """The content type: a form."""
        if media_type(incoming.headers) != _FORM:
            raise Reject(
                "invalid_request",
                [
                    FieldProblem(
                        "Content-Type",
                        incoming.headers.get("content-type") or None,
                        f"{_FORM} (grant_type, client_id, client_secret)",
                    )
                ],
                detail=f"the body must be {_FORM} (grant_type, client_id, client_secret)",
            )

    def parse(self, incoming: Incoming, body: bytes, ignored: list[FieldProblem]) -> str:
        """The client id, once the form's grant type and credentials are checked.

        The client authenticates with HTTP Basic (RFC 6749 section 2.3.1,
        ``client_secret_basic``: the default of requests-oauthlib and authlib, and what OWIN's
        ``TryGetBasicCredentials`` reads first) or with ``client_id`` and ``client_secret`` in
        the form body.  A secret in the URL's query string is refused: it would end up in
        access logs and proxies (RFC 6749 section 2.3.1 forbids it).
        """
        query = dict(parse_qsl(incoming.query, keep_blank_values=True))
        if "client_secret" in query:
            raise Reject(
                "invalid_request",
                [FieldProblem("client_secret", "(in the URL query string)", "the form body")],
                detail=(
                    "client_secret must not be sent in the URL query string (it ends up in logs);"
                    " send it in the form body or as HTTP Basic (curl -u id:secret)"
                ),
            )
        basic = _basic_credentials(incoming.headers.get("authorization", ""))
        try:
            pairs = form_pairs(body, incoming.headers.get("content-type"))
        except CharsetError as exc:
            raise Reject("invalid_request", [exc.problem]) from None
        form: dict[str, str] = {}
        for key, value, _ in pairs:
            form.setdefault(key, value)
        grant = form.get("grant_type")
        if not grant:
            raise Reject(
                "invalid_request",
                [FieldProblem("grant_type", None, "client_credentials")],
                detail="grant_type: required (client_credentials)",
            )
        if grant != "client_credentials":
            raise Reject(
                "unsupported_grant_type",
                [FieldProblem("grant_type", grant, "client_credentials")],
                detail=f"grant_type: {grant!r} is not supported; use client_credentials",
                violation=True,
            )
        if basic is not None:
            client_id, secret = basic
            if form.get("client_id", client_id) != client_id:
                raise Reject(
                    "invalid_request",
                    [FieldProblem("client_id", form["client_id"], f"{client_id!r} or absent")],
                    detail="the client_id of the body differs from the Authorization header's",
                )
            clients = self.options.clients
            if (
                not client_id
                or not secret
                or (clients is not None and clients.get(client_id) != secret)
            ):
                # RFC 6749 section 5.2: a client that authenticated with the Authorization
                # header is answered 401 with WWW-Authenticate.
                raise Reject(
                    "invalid_client",
                    detail="the client_id or client_secret of the Basic credentials is incorrect",
                    status=401,
                    headers=[("WWW-Authenticate", 'Basic realm="token"')],
                )
            return client_id
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or not secret:
            missing = [name for name in ("client_id", "client_secret") if not form.get(name)]
            raise Reject(
                "invalid_client",
                [FieldProblem(name, None, "required") for name in missing],
                detail="client_id and client_secret are required",
                violation=True,
            )
        clients = self.options.clients
        if clients is not None and clients.get(client_id) != secret:
            raise Reject("invalid_client", detail="the client_id or client_secret is incorrect")
        return client_id

    async def rules(self, command: str, principal: Principal, ctx: Context) -> Outcome:
        """Issue a token; never revoke a live one to make room."""
        token = secrets.token_urlsafe(32)  # a credential: not from the seeded source
        lifetime = self.options.token_lifetime_seconds
        if not await ctx.shared.put(TOKEN_KEY + token, command, lifetime=lifetime):
            # A worker fetching tokens must not log the others out: 503 with Retry-After,
            # the condition passes as tokens expire.
            limit = self.settings.max_tokens
            raise Reject(
                "temporarily_unavailable",
                detail=(
                    f"sms-mockserver: {limit} live tokens are issued (setting max_tokens) "
                    "and none has expired yet; reuse a token until it expires, or restart "
                    "the mock with a larger max_tokens"
                ),
                status=503,
                headers=[("Retry-After", "60")],
            )
        return Outcome({"access_token": token, "token_type": "bearer", "expires_in": lifetime})

    def render(self, outcome: Outcome) -> Answer:
        """The token response (RFC 6749 section 5.1)."""
        return Answer(outcome.status, orjson.dumps(outcome.body))

    def render_reject(self, reject: Reject) -> Answer:
        """RFC 6749 section 5.2 error; OWIN answers 400 for each, invalid_client included."""
        description = reject.detail or "; ".join(str(p) for p in reject.problems)
        body = {"error": reject.outcome, "error_description": description}
        return Answer(reject.status or 400, orjson.dumps(body), reject.headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(client_id, client_secret) of ``Authorization: Basic …``; None for no Basic header.

    Each part is form-urlencoded before the base64 (RFC 6749 section 2.3.1); a malformed
    value is refused as invalid_client.
    """
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise Reject(
            "invalid_client",
            [FieldProblem("Authorization", "Basic ***", "Basic base64(client_id:client_secret)")],
            detail="the Authorization header must be Basic base64(client_id:client_secret)",
            status=401,
            headers=[("WWW-Authenticate", 'Basic realm="token"')],
            violation=True,
        )
    return unquote_plus(client_id), unquote_plus(secret)
