"""Who may reach the mock: the Host check on loopback, the admin token off it.

The journal holds message texts, phone numbers and request headers, and the admin API can
delete it, so the mock is safe only where nobody else can reach it:

- On a loopback address (the default, ``127.0.0.1``) only this machine can connect, but a
  web page in a local browser can, through DNS rebinding (a name of the attacker's that
  resolves to 127.0.0.1).  Such a request carries the attacker's name in ``Host``, so a
  request whose ``Host`` is not a loopback name is refused (421 Misdirected Request).
- On any other address, ``serve`` refuses to start unless an admin token is set (``--admin-token``
  or ``$SMS_MOCKSERVER_ADMIN_TOKEN``; the admin API then requires ``Authorization: Bearer
  <token>``) or ``--insecure`` says the exposure is wanted (a container network, say).

The provider endpoints never need the admin token: they take the provider's own
credentials, as the real services do.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import MockServerError

__all__ = [
    "ADMIN_TOKEN_ENV",
    "LOOPBACK_NAMES",
    "HostAllowList",
    "HostCheck",
    "admin_authorized",
    "exposure",
    "host_name",
    "is_local",
    "is_loopback",
    "require_local",
    "served_hosts",
]

#: Environment variable holding the admin token when ``--admin-token`` is not given.
ADMIN_TOKEN_ENV = "SMS_MOCKSERVER_ADMIN_TOKEN"
#: Host names that always mean this machine (RFC 6761 section 6.3: ``localhost`` and every
#: name below it); loopback IP literals are recognised as such.
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """True for a loopback IP address (127.0.0.0/8, ::1) or a ``localhost`` name."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def served_hosts(
    allowed: frozenset[str] | None, host: str, extra: Iterable[str] = ()
) -> frozenset[str] | None:
    """The ``allowed_hosts`` a server bound to ``host`` runs with: the Host check is on (the
    loopback names, ``allowed`` and ``extra`` served) for a loopback address, and whenever
    ``extra`` names a host; otherwise ``allowed`` as it is (README, "Access off loopback")."""
    names = frozenset(extra)
    if is_loopback(host) or names:
        return frozenset(allowed or ()) | names
    return allowed


def is_local(url: str) -> bool:
    """Whether ``url`` names this machine (a loopback address, ``localhost``, or the
    in-process ``testserver``)."""
    host = urlsplit(url).hostname or ""
    return host == "testserver" or is_loopback(host)


def require_local(url: str, allow_real_sends: bool) -> None:
    """Refuse a contract-suite target off this machine unless real sends are allowed: the
    suite sends hundreds of requests, which a real service would deliver as SMS."""
    if not allow_real_sends and not is_local(url):
        raise MockServerError(
            f"sms-mockserver check: {url} is not on this machine; the suite sends hundreds of "
            "requests, which a real service would deliver as SMS. Pass --allow-real-sends "
            "(allow_real_sends=True) if that is what you want"
        )


def host_name(header: str) -> str:
    """The name of a ``Host`` header value, without its port (``[::1]:8910`` -> ``::1``)."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def exposure(host: str, admin_token: str | None, insecure: bool) -> str | None:
    """Refuse to serve on a non-loopback ``host`` with no admin token and no ``insecure``;
    the warning to print when serving there insecurely on purpose (None: nothing to say)."""
    if is_loopback(host):
        return None
    if admin_token:
        return None
    if not insecure:
        raise MockServerError(
            f"sms-mockserver: --host {host} can be reached from the network, and the admin API "
            "shows every message (texts, numbers, request headers) and can delete them. Set an "
            f"admin token (--admin-token TOKEN or ${ADMIN_TOKEN_ENV}; /_mock/ then requires "
            "Authorization: Bearer TOKEN), or pass --insecure to serve without one."
        )
    return (
        f"sms-mockserver: WARNING: serving on {host} with --insecure: anyone who can reach it "
        "can read and delete the journal"
    )


def admin_authorized(authorization: str, token: str | None) -> bool:
    """Whether an admin request's ``Authorization`` header carries the admin token (always
    true when none is set); compared in constant time."""
    if not token:
        return True
    scheme, _, value = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


class HostAllowList:
    """The ``Host`` values the mock serves: loopback names and addresses, and ``extra``."""

    def __init__(self, extra: frozenset[str] = frozenset()) -> None:
        self.extra = frozenset(host_name(h) for h in extra)
        self._seen: dict[bytes, bool] = {}

    def allowed(self, header: bytes) -> bool:
        """Whether a ``Host`` header value is served (cached: clients send few values)."""
        known = self._seen.get(header)
        if known is None:
            name = host_name(header.decode("latin-1"))
            known = is_loopback(name) or name in self.extra
            if len(self._seen) < 1024:
                self._seen[header] = known
        return known

    def refused(self, scope: Scope) -> bytes | None:
        """The request's (first) ``Host`` when it is not served; None when it is, or when the
        request sent none (HTTP/1.0)."""
        for name, value in scope["headers"]:
            if name == b"host":
                return None if self.allowed(value) else value
        return None


class HostCheck:
    """ASGI middleware: refuse requests whose ``Host`` names neither a loopback address nor
    one of the allow list's names (421, JSON); a request without ``Host`` (HTTP/1.0) passes."""

    def __init__(self, app: ASGIApp, hosts: HostAllowList) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = self.hosts.refused(scope)
            if host is not None:
                body = orjson.dumps(
                    {
                        "error": f"sms-mockserver: Host {host.decode('latin-1')!r} is not a "
                        "loopback name; the mock serves localhost and loopback addresses only "
                        "(a guard against DNS rebinding). Use http://127.0.0.1:PORT, or start "
                        "it with --allowed-host NAME for a name of yours"
                    }
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 421,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),  # any body it sent is not read
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
