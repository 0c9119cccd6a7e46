"""No request makes the mock answer 5xx or raise: bad input gets the provider's own error shape.

Two layers:

- hypothesis properties that post raw bytes (random, byte-wise mutations of valid bodies, or
  splices of multipart / JSON / form fragments) with sampled Content-Type headers to every
  POST endpoint;
- a table of concrete nasty requests found by reading the request path: multipart framing,
  form model binding, JSON edge cases, dates and zones, odd headers and admin queries.

Every answer must be below 500 (507 "store full" is deliberate), be JSON in the shape of the
endpoint's provider, and leave the journal (``GET /_mock/messages``, ``/_mock/violations``)
renderable.  Cases that once answered 500 (a boundary over 256 bytes, numbers of more than
4300 digits, a Content-Length of non-ASCII digits) stay here as regression tests.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mockserver import create_app

from .conftest import asgi_call

ZOHO = "/rest/json/v2/sms/send"
TWOSMS = "/api/v2/sms/messages"
TOKEN = "/Token"
POST_PATHS = (ZOHO, TWOSMS, TOKEN)

ZOHO_AUTH = b"Zoho-oauthtoken test-token"
BEARER = b"Bearer {token}"  # {token} is replaced by a live token from POST /Token
MULTIPART = b"multipart/form-data; boundary=XyZ"
JSON_CT = b"application/json"
FORM_CT = b"application/x-www-form-urlencoded"
GUID = b"86dc152b-ccbb-4be8-b283-fdd250329113"
VALID_SMS: dict[str, Any] = {
    "customerNumber": "14155550100",
    "message": "Hi there!",
    "senderId": "14155550199",
}
VALID_MSG: dict[str, Any] = {
    "Contacts": {"QuickRecipients": {"+12025550100": 2}},
    "Content": "x",
    "Options": {},
    "Type": 1,
}
VALID_FORM = b"Contacts.QuickRecipients[%2B12025550100]=2&Content=x&Options=&Type=1"
#: ASCII digits (and +) to their fullwidth / Arabic-Indic look-alikes, which str.isdigit(),
#: re's \d and int() all accept.
FULLWIDTH = str.maketrans("+0123456789", "\uff0b" + "".join(chr(0xFF10 + i) for i in range(10)))
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + i) for i in range(10)))
HUGE_INT = b"1" * 4301  # one digit over CPython's int("...") limit (sys.get_int_max_str_digits)


# --------------------------------------------------------------------------- plumbing


@dataclass(frozen=True)
class Mock:
    """A fresh app, an in-process client over it and a live 2sms token."""

    app: Starlette
    client: TestClient
    token: str

    def bearer(self) -> list[tuple[str, str]]:
        """The 2sms Authorization header."""
        return [("authorization", f"Bearer {self.token}")]


def fresh() -> Mock:
    """A mock with an empty store (cheap: a few milliseconds)."""
    app = create_app()
    client = TestClient(app, raise_server_exceptions=True)
    response = client.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}
    )
    assert response.status_code == 200, response.text
    return Mock(app, client, str(response.json()["access_token"]))


@cache
def shared() -> Mock:
    """One mock for all hypothesis examples (its journal grows; that is part of the test)."""
    return fresh()


def assert_provider_shape(path: str, status: int, body: Any) -> None:
    """The answer is the endpoint's own JSON shape for its status."""
    assert isinstance(body, dict), body
    if path == ZOHO:
        if status == 200:
            assert body["code"] == "ZVSMS-2000"
        elif status == 401:
            assert body["code"] == "INVALID_OAUTHTOKEN"
        else:
            assert re.fullmatch(r"ZVSMS-[0-9]{4}", body["code"]), body
            assert isinstance(body["message"], str)
            assert body["status"] in {"ERROR", "FAILURE"}
    elif path == TWOSMS:
        assert set(body) == {"Error", "ResponseData"}, body
        assert (body["Error"] is None) == (status == 200), body
        if body["Error"] is not None:
            assert isinstance(body["Error"]["ErrorCode"], str)
            assert isinstance(body["Error"]["ErrorReason"], str)
    elif path == TOKEN:
        if status == 200:
            assert isinstance(body["access_token"], str)
        else:
            assert set(body) == {"error", "error_description"}, body
    elif status >= 400:  # admin API
        assert set(body) == {"error"}, body


def assert_journal_renders(mock: Mock) -> None:
    """The admin views still answer JSON after whatever was sent."""
    for path in (
        "/_mock/messages",
        "/_mock/violations",
        "/_mock/messages?provider=twosms",
        "/_mock/violations?provider=zoho_voice",
    ):
        response = mock.client.get(path)
        assert response.status_code == 200, (path, response.text)
        response.json()


def assert_sound(mock: Mock, path: str, status: int, content: bytes) -> None:
    """No server error, JSON in the provider's shape, and a journal that still renders."""
    assert status < 500 or status == 507, content[:500]
    assert_provider_shape(path, status, json.loads(content))
    assert_journal_renders(mock)


# --------------------------------------------------------------------------- bodies


def mp(*parts: tuple[bytes, bytes], boundary: bytes = b"XyZ") -> bytes:
    """A multipart body from (header block, data) pairs."""
    out = b"".join(
        b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n" for head, data in parts
    )
    return out + b"--" + boundary + b"--\r\n"


def disp(name: bytes, rest: bytes = b"") -> bytes:
    return b'Content-Disposition: form-data; name="' + name + b'"' + rest


def sms_part(data: bytes | None = None, **overrides: Any) -> tuple[bytes, bytes]:
    text = data if data is not None else json.dumps({**VALID_SMS, **overrides}).encode()
    return disp(b"sms_data"), text


def field_part(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    return disp(name), value


# --------------------------------------------------------------------------- properties

_CONTENT_TYPES: dict[str, list[bytes]] = {
    ZOHO: [
        MULTIPART,
        b'multipart/form-data; boundary="XyZ"',
        b"Multipart/Form-Data; Boundary=XyZ; charset=latin-1",
        b"multipart/form-data; boundary=XyZ; boundary=QQ",
        b"multipart/form-data",
        b"multipart/form-data; boundary=",
        b"multipart/form-data; boundary=" + b"b" * 256,
        JSON_CT,
        FORM_CT,
        b"text/plain; charset=utf-8",
        b"",
    ],
    TWOSMS: [
        JSON_CT,
        b"text/json",
        b"APPLICATION/JSON; charset=latin-1",
        FORM_CT,
        b"application/x-www-form-urlencoded; charset=utf-8",
        MULTIPART,
        b"text/plain",
        b"",
    ],
    TOKEN: [FORM_CT, b"Application/X-WWW-Form-Urlencoded; charset=latin-1", JSON_CT, b""],
}


#: Valid bodies that the property mutates byte-wise, so that many examples get past the
#: framing and into binding, validation and the business rules.
_SEEDS: dict[str, list[bytes]] = {
    ZOHO: [
        mp(sms_part()),
        mp(sms_part(mms=True), (disp(b"mms_media", b'; filename="a.jpg"'), b"\xff\xd8\xff")),
        mp(
            sms_part(),
            field_part(b"scheduledTime", b"2030-03-31 02:30:00"),
            field_part(b"timeZone", b"Europe/Berlin"),
        ),
        mp(sms_part(), field_part(b"templateId", b"12")),
    ],
    TWOSMS: [
        json.dumps(VALID_MSG).encode(),
        json.dumps(
            {**VALID_MSG, "Template": {"ID": GUID.decode(), "PlaceHolders": {"1": "x"}}}
        ).encode(),
        json.dumps({**VALID_MSG, "Options": {"DateToSend": "2030-01-01T00:00:00Z"}}).encode(),
        VALID_FORM,
        VALID_FORM + b"&Template.ID=" + GUID + b"&Template.PlaceHolders[1]=x&Options[Reads]=3",
    ],
    TOKEN: [b"grant_type=client_credentials&client_id=a&client_secret=b"],
}


def _whole_part(name: bytes, data: bytes, extra: bytes = b"") -> bytes:
    """One complete part, opening boundary included (no closing boundary)."""
    return b"--XyZ\r\n" + disp(name, extra) + b"\r\n\r\n" + data + b"\r\n"


#: Pieces that the property splices together in random order.
_FRAGMENTS: dict[str, list[bytes]] = {
    ZOHO: [
        # whole parts, so that spliced bodies often get past the multipart framing
        _whole_part(b"sms_data", json.dumps(VALID_SMS).encode()),
        _whole_part(b"sms_data", json.dumps({**VALID_SMS, "mms": True}).encode()),
        _whole_part(
            b"mms_media", b"\xff\xd8\xff", b'; filename="a.jpg"\r\nContent-Type: image/jpeg'
        ),
        _whole_part(b"scheduledTime", b"2030-03-31 02:30:00"),
        _whole_part(b"timeZone", b"Europe/Berlin"),
        _whole_part(b"templateId", b"12"),
        b"--XyZ--\r\n",
        # pieces
        b"--XyZ",
        b"--XyZ--",
        b"--QQ",
        b"\r\n",
        b"\r\n\r\n",
        b'Content-Disposition: form-data; name="sms_data"',
        b'Content-Disposition: form-data; name="mms_media"; filename="a.jpg"',
        b'Content-Disposition: form-data; name="templateId"',
        b'Content-Disposition: form-data; name="scheduledTime"',
        b'Content-Disposition: form-data; name="timeZone"',
        b"Content-Disposition: form-data; name*=UTF-8''%E2%82%AC; filename*=UTF-8''%E2%82%AC",
        b"Content-Type: image/jpeg",
        json.dumps(VALID_SMS).encode(),
        json.dumps({**VALID_SMS, "mms": True}).encode(),
        b"2030-03-31 02:30:00",
        b"Europe/Berlin",
        b"12",
        b"\xff\xfe",
        b";",
        b'"',
        b":",
    ],
    TWOSMS: [
        json.dumps(VALID_MSG).encode(),
        VALID_FORM,
        b"&" + VALID_FORM,
        b"{",
        b"}",
        b",",
        b":",
        b'"Contacts":',
        b'{"QuickRecipients":{"+12025550100":2}}',
        b'"Content":"x"',
        b'"Options":{}',
        b'"Type":1',
        b'"Type":"standard"',
        b'"Template":{"ID":"' + GUID + b'","PlaceHolders":{"1":"x"}}',
        b'"DateToSend":"2030-01-01T00:00:00Z"',
        b"1e400",
        b"NaN",
        b"null",
        b"\xef\xbb\xbf",
        b'"\\ud800"',
        b"Contacts.QuickRecipients[%2B12025550100]=2",
        b"&",
        b"=",
        b"Content=x",
        b"Options=",
        b"Type=1",
        b"Options[Reads]=3",
        b"Template.ID=" + GUID,
        b"Template.PlaceHolders[1]=x",
        b"[",
        b"]",
        b".",
        b"%",
        b"%ED%A0%80",
    ],
    TOKEN: [
        b"grant_type=client_credentials",
        b"client_id=a",
        b"client_secret=b",
        b"&",
        b"=",
        b"%ff",
        b"\xff",
    ],
}


def _mutate(seed: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """``seed`` with each (position, bytes to cut, bytes to insert) edit applied in turn."""
    out = seed
    for position, cut, insert in edits:
        at = position % (len(out) + 1)
        out = out[:at] + insert + out[at + cut :]
    return out


def bodies(path: str) -> st.SearchStrategy[bytes]:
    """Mutated valid bodies, splices of body fragments, or plain random bytes."""
    edit = st.tuples(st.integers(0, 2**16), st.integers(0, 8), st.binary(max_size=8))
    mutated = st.builds(_mutate, st.sampled_from(_SEEDS[path]), st.lists(edit, max_size=4))
    pieces = st.one_of(st.sampled_from(_FRAGMENTS[path]), st.binary(max_size=16))
    spliced = st.lists(pieces, max_size=24).map(b"".join)
    return st.one_of(mutated, spliced, st.binary(max_size=512))


@pytest.mark.parametrize("path", POST_PATHS)
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_bytes_never_make_a_server_error(path: str, data: st.DataObject) -> None:
    mock = shared()
    body = data.draw(bodies(path), label="body")
    own = _CONTENT_TYPES[path][0]
    ctype = data.draw(
        st.one_of(st.just(own), st.sampled_from(_CONTENT_TYPES[path])), label="content-type"
    )
    headers: list[tuple[bytes, bytes]] = [(b"content-type", ctype)] if ctype else []
    if path == ZOHO:
        headers.append((b"authorization", ZOHO_AUTH))
    elif path == TWOSMS:
        headers.append((b"authorization", b"Bearer " + mock.token.encode()))
    response = mock.client.post(path, content=body, headers=headers)
    assert_sound(mock, path, response.status_code, response.content)


# --------------------------------------------------------------------------- nasty requests


@dataclass(frozen=True)
class Nasty:
    """One concrete request."""

    id: str
    method: str
    path: str
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    query: bytes = b""
    raw: bool = False  # exact header bytes through a direct ASGI call


MMS = sms_part(mms=True)


def zoho(
    id_: str,
    body: bytes,
    *,
    ctype: bytes | None = MULTIPART,
    auth: bytes | None = ZOHO_AUTH,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    raw: bool = False,
) -> Nasty:
    hs = [(b"authorization", auth)] if auth is not None else []
    hs += [(b"content-type", ctype)] if ctype is not None else []
    return Nasty(f"zoho-{id_}", "POST", ZOHO, (*hs, *headers), body, raw=raw)


def zoho_parts(id_: str, *parts: tuple[bytes, bytes]) -> Nasty:
    return zoho(id_, mp(*parts))


def sched(id_: str, when: bytes | None, zone: bytes | None) -> Nasty:
    parts = [sms_part()]
    if when is not None:
        parts.append(field_part(b"scheduledTime", when))
    if zone is not None:
        parts.append(field_part(b"timeZone", zone))
    return zoho_parts(f"schedule-{id_}", *parts)


def twosms(
    id_: str,
    body: bytes,
    *,
    ctype: bytes | None = JSON_CT,
    auth: bytes = BEARER,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    raw: bool = False,
) -> Nasty:
    hs = [(b"authorization", auth)]
    hs += [(b"content-type", ctype)] if ctype is not None else []
    return Nasty(f"2sms-{id_}", "POST", TWOSMS, (*hs, *headers), body, raw=raw)


def msg(id_: str, **overrides: Any) -> Nasty:
    return twosms(id_, json.dumps({**VALID_MSG, **overrides}).encode())


def form(id_: str, body: bytes) -> Nasty:
    return twosms(f"form-{id_}", body, ctype=FORM_CT)


def token(
    id_: str,
    body: bytes,
    *,
    ctype: bytes | None = FORM_CT,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    raw: bool = False,
) -> Nasty:
    hs = ((b"content-type", ctype),) if ctype is not None else ()
    return Nasty(f"token-{id_}", "POST", TOKEN, (*hs, *headers), body, raw=raw)


def admin(id_: str, method: str, path: str, query: bytes = b"", *, raw: bool = False) -> Nasty:
    return Nasty(f"admin-{id_}", method, path, query=query, raw=raw)


ZOHO_CASES = [
    # Content-Type and boundary
    zoho(
        "boundary-257-bytes",
        mp(sms_part(), boundary=b"a" * 257),
        ctype=b"multipart/form-data; boundary=" + b"a" * 257,
    ),
    zoho(
        "boundary-256-bytes",
        mp(sms_part(), boundary=b"a" * 256),
        ctype=b"multipart/form-data; boundary=" + b"a" * 256,
    ),
    zoho("boundary-quoted", mp(sms_part()), ctype=b'multipart/form-data; boundary="XyZ"'),
    zoho("content-type-upper-case", mp(sms_part()), ctype=b"MULTIPART/FORM-DATA; BOUNDARY=XyZ"),
    zoho("boundary-twice", mp(sms_part()), ctype=b"multipart/form-data;boundary=XyZ;boundary=Q"),
    zoho("boundary-empty", mp(sms_part()), ctype=b"multipart/form-data; boundary="),
    zoho("boundary-empty-quoted", mp(sms_part()), ctype=b'multipart/form-data; boundary=""'),
    zoho("boundary-rfc2231", mp(sms_part()), ctype=b"multipart/form-data; boundary*=UTF-8''XyZ"),
    zoho(
        "boundary-non-ascii",
        mp(sms_part()),
        ctype=b"multipart/form-data; boundary=X\xffZ",
        raw=True,
    ),
    zoho("boundary-dashes", mp(sms_part()), ctype=b"multipart/form-data; boundary=--"),
    zoho("boundary-backslash", mp(sms_part()), ctype=b'multipart/form-data; boundary="\\"'),
    zoho(
        "content-type-charset-latin-1",
        mp(sms_part()),
        ctype=b"multipart/form-data; charset=latin-1; boundary=XyZ",
    ),
    zoho("content-type-empty-params", mp(sms_part()), ctype=b"multipart/form-data; =; ;;"),
    zoho("content-type-missing", mp(sms_part()), ctype=None),
    zoho("content-type-text", mp(sms_part()), ctype=b"text/plain"),
    zoho("content-type-mixed", mp(sms_part()), ctype=b"multipart/mixed; boundary=XyZ"),
    zoho(
        "content-type-twice",
        mp(sms_part()),
        ctype=b"text/plain",
        headers=((b"content-type", MULTIPART),),
        raw=True,
    ),
    zoho(
        "content-length-superscript",
        mp(sms_part()),
        headers=((b"content-length", b"\xb2"),),
        raw=True,
    ),
    zoho(
        "content-length-garbage", mp(sms_part()), headers=((b"content-length", b"12x"),), raw=True
    ),
    # multipart framing
    zoho("body-empty", b""),
    zoho("body-only-closing-boundary", b"--XyZ--\r\n"),
    zoho("body-preamble", b"junk\r\n" + mp(sms_part())),
    zoho("body-truncated", mp(sms_part())[:-10]),
    zoho("body-no-crlf", b"--XyZ" + disp(b"sms_data") + b"{}--XyZ--"),
    zoho("body-lf-only", mp(sms_part()).replace(b"\r\n", b"\n")),
    zoho("header-line-without-colon", b"--XyZ\r\nnocolon\r\n\r\nx\r\n--XyZ--\r\n"),
    zoho(
        "header-line-20k",
        b"--XyZ\r\n" + disp(b"sms_data", b"; x=" + b"a" * 20_000) + b"\r\n\r\n{}\r\n--XyZ--\r\n",
    ),
    zoho(
        "headers-200",
        b"--XyZ\r\n"
        + disp(b"sms_data")
        + b"\r\n"
        + b"".join(b"X-%d: y\r\n" % i for i in range(200))
        + b"\r\n{}\r\n--XyZ--\r\n",
    ),
    zoho("parts-65", mp(*[field_part(b"x", b"1")] * 65)),
    zoho_parts("part-without-disposition", (b"X-Thing: y", b"x")),
    zoho_parts("part-without-name", (b"Content-Disposition: form-data", b"x")),
    zoho_parts("part-name-empty", (disp(b""), b"x")),
    zoho_parts("part-name-not-utf8", sms_part(), (disp(b"\xff"), b"\xff")),
    zoho_parts(
        "part-name-rfc2231",
        sms_part(),
        (b"Content-Disposition: form-data; name*=UTF-8''%E2%82%AC", b"x"),
    ),
    zoho_parts(
        "sms-data-filename-rfc2231",
        (disp(b"sms_data", b"; filename*=UTF-8''%E2%82%AC"), json.dumps(VALID_SMS).encode()),
    ),
    zoho_parts("sms-data-twice", sms_part(), sms_part()),
    zoho_parts(
        "media-filename-rfc2231",
        MMS,
        (disp(b"mms_media", b"; filename*=UTF-8''%E2%82%AC.jpg"), b"abc"),
    ),
    zoho_parts(
        "media-filename-utf8", MMS, (disp(b"mms_media", b'; filename="\xe2\x82\xac.jpg"'), b"abc")
    ),
    zoho_parts(
        "media-filename-not-utf8",
        MMS,
        (
            disp(b"mms_media", b'; filename="\xff\xfe.jpg"') + b"\r\nContent-Type: image/\xff",
            b"abc",
        ),
    ),
    zoho_parts(
        "media-filename-windows-path",
        MMS,
        (disp(b"mms_media", b'; filename="C:\\dir\\a.jpg"'), b"abc"),
    ),
    zoho_parts("media-filename-empty", MMS, (disp(b"mms_media", b'; filename=""'), b"abc")),
    zoho_parts("media-without-filename", MMS, (disp(b"mms_media"), b"abc")),
    zoho_parts("media-empty-file", MMS, (disp(b"mms_media", b'; filename="a.jpg"'), b"")),
    zoho_parts("media-twice", MMS, *[(disp(b"mms_media", b'; filename="a.jpg"'), b"a")] * 2),
    zoho_parts("media-without-mms-flag", sms_part(), (disp(b"mms_media", b'; filename="a"'), b"a")),
    zoho_parts("mms-flag-without-media", MMS),
    # sms_data JSON
    zoho_parts("sms-data-not-json", sms_part(b"nope")),
    zoho_parts("sms-data-scalar", sms_part(b"5")),
    zoho_parts("sms-data-list", sms_part(b"[1]")),
    zoho_parts("sms-data-null", sms_part(b"null")),
    zoho_parts("sms-data-bom", sms_part(b"\xef\xbb\xbf" + json.dumps(VALID_SMS).encode())),
    zoho_parts(
        "sms-data-latin-1",
        sms_part(
            json.dumps({**VALID_SMS, "message": "caf\xe9"}, ensure_ascii=False).encode("latin-1")
        ),
    ),
    zoho_parts(
        "sms-data-lone-surrogate",
        sms_part(b'{"customerNumber":"14155550100","message":"\\ud800","senderId":"x"}'),
    ),
    zoho_parts(
        "sms-data-surrogate-pair",
        sms_part(b'{"customerNumber":"14155550100","message":"\\ud83d\\ude00","senderId":"x"}'),
    ),
    zoho_parts(
        "sms-data-1e400",
        sms_part(b'{"customerNumber":"14155550100","message":"m","senderId":"x","mms":1e400}'),
    ),
    zoho_parts("sms-data-nan", sms_part(b'{"customerNumber":"14155550100","mms":NaN}')),
    zoho_parts(
        "sms-data-huge-int-extra",
        sms_part(
            b'{"customerNumber":"14155550100","message":"m","senderId":"x",'
            b'"n":123456789012345678901234567890}'
        ),
    ),
    zoho_parts("sms-data-minus-zero", sms_part(mms=-0.0)),
    zoho_parts(
        "sms-data-duplicate-keys",
        sms_part(
            b'{"customerNumber":"14155550100","customerNumber":"x","message":"m","senderId":"x"}'
        ),
    ),
    zoho_parts(
        "sms-data-nested-40",
        sms_part(
            b'{"customerNumber":"14155550100","message":"m",'
            b'"senderId":"x","d":' + b"[" * 40 + b"]" * 40 + b"}"
        ),
    ),
    zoho_parts("sms-data-nested-2000", sms_part(b"[" * 2000 + b"]" * 2000)),
    zoho_parts("customer-number-int", sms_part(customerNumber=14155550100)),
    zoho_parts("customer-number-plus-only", sms_part(customerNumber="+")),
    zoho_parts("customer-number-300-digits", sms_part(customerNumber="1" * 300)),
    zoho_parts(
        "customer-number-fullwidth", sms_part(customerNumber="+14155550100".translate(FULLWIDTH))
    ),
    zoho_parts(
        "customer-number-arabic-indic",
        sms_part(customerNumber="14155550100".translate(ARABIC_INDIC)),
    ),
    zoho_parts("sender-plus-only", sms_part(senderId="+")),
    zoho_parts("message-empty", sms_part(message="")),
    zoho_parts("message-nul", sms_part(message="\x00")),
    zoho_parts("message-too-long", sms_part(message="x" * 1001)),
    zoho_parts("mms-flag-string", sms_part(mms="true")),
    # templateId
    zoho_parts("template-id-empty", sms_part(), field_part(b"templateId", b"")),
    zoho_parts("template-id-zero", sms_part(), field_part(b"templateId", b"0")),
    zoho_parts(
        "template-id-over-int64", sms_part(), field_part(b"templateId", b"9223372036854775808")
    ),
    zoho_parts("template-id-4300-digits", sms_part(), field_part(b"templateId", b"1" * 4300)),
    zoho_parts("template-id-4301-digits", sms_part(), field_part(b"templateId", HUGE_INT)),
    zoho_parts("template-id-float", sms_part(), field_part(b"templateId", b"1e3")),
    zoho_parts("template-id-not-utf8", sms_part(), field_part(b"templateId", b"\xff")),
    # scheduledTime / timeZone
    sched("dst-gap-berlin", b"2030-03-31 02:30:00", b"Europe/Berlin"),
    sched("dst-fold-berlin", b"2030-10-27 02:30:00", b"Europe/Berlin"),
    sched("year-0001-tokyo", b"0001-01-01 00:00:00", b"Asia/Tokyo"),
    sched("year-9999-gmt-plus-12", b"9999-12-31 23:59:59", b"Etc/GMT+12"),
    sched("year-9999-kiritimati", b"9999-12-31 23:59:59", b"Pacific/Kiritimati"),
    sched("utc", b"2030-01-01 00:00:00", b"UTC"),
    sched("etc-gmt-plus-5", b"2030-01-01 00:00:00", b"Etc/GMT+5"),
    sched("zone-localtime", b"2030-01-01 00:00:00", b"localtime"),
    sched("zone-path-traversal", b"2030-01-01 00:00:00", b"../../etc/passwd"),
    sched("zone-absolute-path", b"2030-01-01 00:00:00", b"/etc/localtime"),
    sched("zone-posixrules", b"2030-01-01 00:00:00", b"posixrules"),
    sched("zone-lower-case", b"2030-01-01 00:00:00", b"utc"),
    sched("zone-empty", b"2030-01-01 00:00:00", b""),
    sched("zone-nul", b"2030-01-01 00:00:00", b"\x00"),
    sched("zone-without-time", None, b"Asia/Kolkata"),
    sched("time-without-zone", b"2030-01-01 00:00:00", None),
    sched("time-trailing-newline", b"2030-01-01 00:00:00\n", b"UTC"),
    sched("time-february-30", b"2030-02-30 00:00:00", b"UTC"),
    sched("time-iso-t", b"2030-01-01T00:00:00", b"UTC"),
    sched("time-z-suffix", b"2030-01-01 00:00:00Z", b"UTC"),
    sched("time-hour-24", b"2030-01-01 24:00:00", b"UTC"),
    sched("time-single-digits", b"2030-1-1 0:0:0", b"UTC"),
    sched(
        "time-arabic-indic-digits", "2030-01-01 00:00:00".translate(ARABIC_INDIC).encode(), b"UTC"
    ),
    # auth and namespace headers
    zoho("auth-missing", mp(sms_part()), auth=None),
    zoho("auth-tab", mp(sms_part()), auth=b"Zoho-oauthtoken\tx"),
    zoho("auth-lower-case-scheme", mp(sms_part()), auth=b"zoho-oauthtoken x"),
    zoho("auth-empty-token", mp(sms_part()), auth=b"Zoho-oauthtoken \t"),
    zoho("auth-non-ascii-token", mp(sms_part()), auth=b"Zoho-oauthtoken \xff\xfe", raw=True),
    zoho("auth-utf8-token", mp(sms_part()), auth="Zoho-oauthtoken jeton-é€".encode()),
    zoho(
        "auth-twice", mp(sms_part()), auth=b"x", headers=((b"authorization", ZOHO_AUTH),), raw=True
    ),
    zoho("namespace-empty", mp(sms_part()), headers=((b"x-mock-namespace", b""),), raw=True),
    zoho(
        "namespace-not-utf8",
        mp(sms_part()),
        headers=((b"x-mock-namespace", b"\xff\xfe"),),
        raw=True,
    ),
    zoho("namespace-nul", mp(sms_part()), headers=((b"x-mock-namespace", b"\x00"),), raw=True),
    zoho("namespace-path", mp(sms_part()), headers=((b"x-mock-namespace", b"../x"),)),
    zoho("namespace-10k", mp(sms_part()), headers=((b"x-mock-namespace", b"n" * 10_000),)),
]

TWOSMS_CASES = [
    # Content-Type and framing
    twosms(
        "content-type-upper-case-charset",
        json.dumps(VALID_MSG).encode(),
        ctype=b"APPLICATION/JSON; Charset=UTF-8",
    ),
    twosms("text-json", json.dumps(VALID_MSG).encode(), ctype=b"text/json"),
    twosms(
        "charset-latin-1-body",
        json.dumps({**VALID_MSG, "Content": "caf\xe9"}, ensure_ascii=False).encode("latin-1"),
        ctype=b"application/json; charset=latin-1",
    ),
    twosms(
        "charset-utf-16-body",
        json.dumps(VALID_MSG).encode("utf-16"),
        ctype=b"application/json; charset=utf-16",
    ),
    twosms("content-type-params-only", json.dumps(VALID_MSG).encode(), ctype=b";"),
    twosms(
        "content-type-nul", json.dumps(VALID_MSG).encode(), ctype=b"application/json\x00", raw=True
    ),
    twosms("content-type-missing", json.dumps(VALID_MSG).encode(), ctype=None),
    twosms("content-type-multipart", mp(sms_part()), ctype=MULTIPART),
    twosms(
        "content-length-superscript",
        json.dumps(VALID_MSG).encode(),
        headers=((b"content-length", b"\xb9"),),
        raw=True,
    ),
    twosms("body-bom", b"\xef\xbb\xbf" + json.dumps(VALID_MSG).encode()),
    twosms("body-double-bom", b"\xef\xbb\xbf\xef\xbb\xbf" + json.dumps(VALID_MSG).encode()),
    twosms("body-empty", b""),
    twosms("body-int", b"5"),
    twosms("body-float-max", b"1.5e308"),
    twosms("body-huge-int", b"123456789012345678901234567890"),
    twosms("body-string", b'"x"'),
    twosms("body-null", b"null"),
    twosms("body-list", b"[1,2]"),
    twosms("body-nan", b'{"Type":NaN}'),
    twosms("body-1e400", b'{"Type":1e400}'),
    twosms("body-lone-surrogate", json.dumps(VALID_MSG).replace('"x"', '"\\udc00"').encode()),
    twosms(
        "body-duplicate-keys-any-case",
        b'{"Contacts":{"QuickRecipients":{"+12025550100":2}},"contacts":5,'
        b'"Content":"x","Options":{},"Type":1}',
    ),
    twosms(
        "body-duplicate-keys",
        b'{"Contacts":{"QuickRecipients":{"+12025550100":2}},"Content":"x","Content":null,'
        b'"Options":{},"Type":1}',
    ),
    twosms(
        "body-nested-40-unknown",
        json.dumps({**VALID_MSG, "X": {"a": [[]]}}).replace("[[]]", "[" * 40 + "]" * 40).encode(),
    ),
    twosms(
        "body-unknown-huge-int",
        json.dumps(VALID_MSG)[:-1].encode() + b',"Zz":123456789012345678901234567890}',
    ),
    # Type
    msg("type-minus-zero", Type=-0.0),
    twosms(
        "type-one-point-zero", json.dumps(VALID_MSG).replace('"Type": 1', '"Type": 1.0').encode()
    ),
    msg("type-one-and-a-half", Type=1.5),
    twosms("type-huge", json.dumps(VALID_MSG).replace('"Type": 1', '"Type": ' + "9" * 40).encode()),
    twosms(
        "type-uint64-max",
        json.dumps(VALID_MSG).replace('"Type": 1', '"Type": 18446744073709551615').encode(),
    ),
    msg("type-name-odd-case", Type="sTaNdArD"),
    msg("type-name-recurring-without-options", Type="recurring"),
    msg("type-recurring-empty-options", Type=2, Options={"RecurringOptions": {}}),
    msg("type-padded-number", Type=" 1 "),
    msg("type-bool", Type=True),
    msg("type-null", Type=None),
    msg("type-object", Type={}),
    twosms(
        "lower-case-keys",
        json.dumps(
            {
                "contacts": {"quickrecipients": {"+12025550100": "text"}},
                "content": "x",
                "options": {},
                "type": "standard",
            }
        ).encode(),
    ),
    # Contacts
    msg("quick-key-empty", Contacts={"QuickRecipients": {"": 2}}),
    msg("quick-key-digits-only", Contacts={"QuickRecipients": {"12025550100": 2}}),
    msg("quick-key-one", Contacts={"QuickRecipients": {"1": 2}}),
    msg("quick-key-zero-and-text", Contacts={"QuickRecipients": {"0": 2, "abc": 2}}),
    msg("quick-key-5000-digits", Contacts={"QuickRecipients": {"9" * 5000: 2}}),
    msg(
        "quick-key-same-number-three-ways",
        Contacts={"QuickRecipients": {"+12025550100": 2, "12025550100": 2, " +1 202 555 0100": 2}},
    ),
    msg("quick-value-name-upper-case", Contacts={"QuickRecipients": {"+12025550100": "EMAIL"}}),
    msg("quick-value-unknown-name", Contacts={"QuickRecipients": {"+12025550100": "Fax"}}),
    msg("quick-value-9", Contacts={"QuickRecipients": {"+12025550100": 9}}),
    msg("quick-value-null", Contacts={"QuickRecipients": {"+12025550100": None}}),
    msg("quick-value-float", Contacts={"QuickRecipients": {"+12025550100": 2.0}}),
    msg("quick-list", Contacts={"QuickRecipients": [2]}),
    msg("quick-email-only", Contacts={"QuickRecipients": {"+12025550100": 1}}),
    msg("contacts-empty", Contacts={}),
    msg("contacts-null", Contacts=None),
    msg("contacts-list", Contacts=[]),
    msg(
        "contact-id-and-quick-same-key",
        Contacts={"ContactID": {"+12025550100": 2}, "QuickRecipients": {"+12025550100": 2}},
    ),
    msg("contact-id-over-int32", Contacts={"ContactID": {"abc": 2**40}}),
    msg("group-id-name", Contacts={"GroupID": {"g": "Text"}}),
    # Options
    msg("options-null", Options=None),
    msg("options-list", Options=[]),
    msg("date-z", Options={"DateToSend": "2030-01-01T00:00:00Z"}),
    msg("date-lower-case-t-z", Options={"DateToSend": "2030-01-01t00:00:00z"}),
    msg("date-year-0001-plus-14", Options={"DateToSend": "0001-01-01T00:00:00+14:00"}),
    msg("date-year-0000", Options={"DateToSend": "0000-01-01T00:00:00Z"}),
    msg("date-year-9999-minus-2359", Options={"DateToSend": "9999-12-31T23:59:59-23:59"}),
    msg("date-leap-second", Options={"DateToSend": "2030-06-30T23:59:60Z"}),
    msg("date-without-offset", Options={"DateToSend": "2030-01-01T00:00:00"}),
    msg("date-offset-99", Options={"DateToSend": "2030-01-01T00:00:00+99:99"}),
    msg("date-12-digit-fraction", Options={"DateToSend": "2030-01-01T00:00:00.123456789123Z"}),
    msg("date-space-separator", Options={"DateToSend": "2030-01-01 00:00:00+00:00"}),
    msg("date-number", Options={"DateToSend": 5}),
    msg("expiry-in-the-past", Options={"ExpiryDate": "2000-01-01T00:00:00Z"}),
    msg("options-unknown-and-lower-case", Options={"Foo": 1, "reads": "3"}),
    msg("reads-over-int32", Options={"Reads": 2**31}),
    msg("sender-number", Options={"Sender": 5}),
    msg("secure-message-null", Options={"SecureMessage": None}),
    # Template
    msg("template", Template={"ID": GUID.decode(), "PlaceHolders": {"1": "Bob", "3": "R"}}),
    msg("template-id-upper-case", Template={"ID": GUID.decode().upper()}),
    msg("template-id-braces", Template={"ID": "{" + GUID.decode() + "}"}),
    msg("template-id-no-dashes", Template={"ID": GUID.decode().replace("-", "")}),
    msg("template-id-unknown", Template={"ID": "00000000-0000-0000-0000-000000000000"}),
    msg("template-id-lower-case-key", Template={"id": GUID.decode()}),
    msg("template-empty", Template={}),
    msg("template-null", Template=None),
    msg("template-id-null", Template={"ID": None}),
    msg("template-id-number", Template={"ID": 5}),
    msg("placeholder-key-text", Template={"ID": GUID.decode(), "PlaceHolders": {"a": "x"}}),
    msg(
        "placeholder-key-fullwidth",
        Template={"ID": GUID.decode(), "PlaceHolders": {"1".translate(FULLWIDTH): "x"}},
    ),
    msg(
        "placeholder-key-underscore",
        Template={"ID": GUID.decode(), "PlaceHolders": {"1_0": "x", "a": "y"}},
    ),
    msg(
        "placeholder-key-5000-digits",
        Template={"ID": GUID.decode(), "PlaceHolders": {"9" * 5000: "x"}},
    ),
    msg("placeholder-value-number", Template={"ID": GUID.decode(), "PlaceHolders": {"1": 5}}),
    msg("placeholders-null", Template={"ID": GUID.decode(), "PlaceHolders": None}),
    msg("placeholders-list", Template={"ID": GUID.decode(), "PlaceHolders": ["a"]}),
    twosms(
        "template-without-content",
        json.dumps(
            {
                "Contacts": VALID_MSG["Contacts"],
                "Options": {},
                "Type": 1,
                "Template": {"ID": GUID.decode()},
            }
        ).encode(),
    ),
    msg("content-null", Content=None),
    msg("content-number", Content=5),
    msg("content-empty", Content=""),
    msg("content-emoji", Content="\U0001f600" * 100),
    # auth and namespace headers
    twosms("auth-tab", json.dumps(VALID_MSG).encode(), auth=b"Bearer\t{token}"),
    twosms("auth-lower-case-scheme", json.dumps(VALID_MSG).encode(), auth=b"bearer {token}"),
    twosms("auth-padded", json.dumps(VALID_MSG).encode(), auth=b"Bearer   {token}   "),
    twosms("auth-empty-token", json.dumps(VALID_MSG).encode(), auth=b"Bearer   "),
    twosms("auth-non-ascii", json.dumps(VALID_MSG).encode(), auth=b"Bearer \xe9", raw=True),
    twosms(
        "auth-token-and-junk", json.dumps(VALID_MSG).encode(), auth=b"Bearer {token}\xff", raw=True
    ),
    twosms(
        "namespace-not-utf8",
        json.dumps(VALID_MSG).encode(),
        headers=((b"x-mock-namespace", b"\xff\xfe"),),
        raw=True,
    ),
]

FORM_CASES = [
    twosms("form-charset", VALID_FORM, ctype=FORM_CT + b"; charset=ISO-8859-1"),
    twosms("form-upper-case-type", VALID_FORM, ctype=b"Application/X-WWW-Form-Urlencoded"),
    form("latin-1-byte", VALID_FORM.replace(b"Content=x", b"Content=caf\xe9")),
    form("percent-latin-1", VALID_FORM.replace(b"Content=x", b"Content=caf%E9")),
    form("percent-surrogate", VALID_FORM.replace(b"Content=x", b"Content=%ED%A0%80")),
    form("percent-malformed", VALID_FORM.replace(b"Content=x", b"Content=%zz%")),
    form("key-empty", VALID_FORM + b"&=x"),
    form("key-open-bracket", VALID_FORM + b"&[=x"),
    form("key-unclosed-bracket", VALID_FORM + b"&a[b=x"),
    form("key-dot", VALID_FORM + b"&.=x"),
    form("key-double-dot", VALID_FORM + b"&Contacts..X=1"),
    form("key-empty-brackets", VALID_FORM + b"&Contacts.QuickRecipients[]=2"),
    form("key-not-utf8", VALID_FORM + b"&\xff=1"),
    form("key-nul", VALID_FORM + b"&Content%00=x"),
    form(
        "placeholder-nested",
        VALID_FORM + b"&Template.ID=" + GUID + b"&Template.PlaceHolders[1][2]=x",
    ),
    form("placeholder", VALID_FORM + b"&Template.ID=" + GUID + b"&Template.PlaceHolders[1]=Bob"),
    form(
        "placeholder-dotted", VALID_FORM + b"&Template.ID=" + GUID + b"&Template.PlaceHolders.1=Bob"
    ),
    form("placeholder-without-id", VALID_FORM + b"&Template.PlaceHolders[1]=Bob"),
    form("template-id-upper-case", VALID_FORM + b"&Template.ID=" + GUID.upper()),
    form("template-id-lower-case-key", VALID_FORM + b"&template.id=" + GUID),
    form("template-id-brackets", VALID_FORM + b"&Template[ID]=" + GUID),
    form("template-empty", VALID_FORM + b"&Template="),
    form("template-text", VALID_FORM + b"&Template=x"),
    form("reads-jquery", VALID_FORM + b"&Options[Reads]=3"),
    form(
        "reads-before-options",
        b"Contacts.QuickRecipients[%2B12025550100]=2&Content=x&Options[Reads]=3&Options=&Type=1",
    ),
    form(
        "options-text-then-reads",
        b"Contacts.QuickRecipients[%2B12025550100]=2&Content=x&Options=x&Options[Reads]=3&Type=1",
    ),
    form("reads-text", VALID_FORM + b"&Options[Reads]=abc"),
    form("reads-4300-digits", VALID_FORM + b"&Options[Reads]=" + b"9" * 4300),
    form("reads-4301-digits", VALID_FORM + b"&Options[Reads]=" + HUGE_INT),
    form("type-4301-digits", VALID_FORM.replace(b"Type=1", b"Type=" + HUGE_INT)),
    form("quick-value-4301-digits", VALID_FORM.replace(b"]=2", b"]=" + HUGE_INT)),
    form(
        "contact-id-4301-digits",
        VALID_FORM + b"&Contacts.ContactID[a]=" + HUGE_INT,
    ),
    form(
        "range-4301-digits",
        VALID_FORM.replace(b"Type=1", b"Type=2") + b"&Options.RecurringOptions.Range=" + HUGE_INT,
    ),
    form("bool-upper-case", VALID_FORM + b"&Options.DeliveryReceipt=TRUE"),
    form("bool-yes", VALID_FORM + b"&Options.DeliveryReceipt=yes"),
    form("bool-empty", VALID_FORM + b"&Options.SecureMessage="),
    form("type-name", VALID_FORM.replace(b"Type=1", b"Type=sTANDARD")),
    form("type-empty", VALID_FORM.replace(b"Type=1", b"Type=")),
    form("type-twice", VALID_FORM + b"&Type=2"),
    form("type-as-object", VALID_FORM + b"&Type[a]=1"),
    form("quick-value-name", VALID_FORM.replace(b"]=2", b"]=email")),
    form("quick-value-empty", VALID_FORM.replace(b"]=2", b"]=")),
    form("quick-key-unescaped-plus", VALID_FORM.replace(b"%2B", b"+")),
    form(
        "quick-key-dotted",
        VALID_FORM.replace(b"QuickRecipients[%2B12025550100]", b"QuickRecipients.%2B12025550100"),
    ),
    form("contacts-empty", b"Contacts=&Content=x&Options=&Type=1"),
    form("contacts-text", b"Contacts=x&Content=x&Options=&Type=1"),
    form("group-id-empty", VALID_FORM + b"&Contacts.GroupID="),
    form("date-escaped-plus", VALID_FORM + b"&Options.DateToSend=2030-01-01T00:00:00%2B00:00"),
    form("date-unescaped-plus", VALID_FORM + b"&Options.DateToSend=2030-01-01T00:00:00+00:00"),
    form("only-ampersands", b"&&&"),
    form("empty", b""),
    form("semicolons", VALID_FORM.replace(b"&", b";")),
    form("no-equals", b"Content"),
    form("5000-unknown-keys", b"&".join(b"x%d=1" % i for i in range(5000))),
    form("json-body", json.dumps(VALID_MSG).encode()),
    twosms("form-body-as-json", VALID_FORM),
]

TOKEN_CASES = [
    token(
        "charset",
        b"grant_type=client_credentials&client_id=a&client_secret=b",
        ctype=FORM_CT + b"; charset=utf-8",
    ),
    token("raw-not-utf8", b"grant_type=client_credentials&client_id=\xff&client_secret=b"),
    token("percent-not-utf8", b"grant_type=client_credentials&client_id=%ff&client_secret=b"),
    token(
        "percent-surrogate", b"grant_type=client_credentials&client_id=%ED%A0%80&client_secret=b"
    ),
    token("grant-nul", b"grant_type=%00&client_id=a&client_secret=b"),
    token(
        "grant-twice",
        b"grant_type=password&grant_type=client_credentials&client_id=a&client_secret=b",
    ),
    token("body-over-field-limit", b"grant_type=x" * 10_000),
    token("json", b'{"grant_type":"client_credentials"}', ctype=JSON_CT),
    token("no-content-type", b"", ctype=None),
    token("empty", b""),
    token("only-separators", b"=&=&&"),
    token(
        "content-length-superscript",
        b"grant_type=x",
        headers=((b"content-length", b"\xb3"),),
        raw=True,
    ),
]

ADMIN_QUERIES = [
    b"",
    b"provider=zoho_voice",
    b"provider=",
    b"provider=%ff",
    b"provider=%ED%A0%80",
    b"provider=twosms&provider=zoho_voice",
    b"provider[]=x",
    b"to=%2B12025550100",
    b"to=+12025550100",
    b"to=%2B1%20202%20555%200100",
    b"to=",
    b"to=abc",
    b"to=" + b"1" * 5000,
    b"to=%00",
    b"namespace=",
    b"namespace=%ff",
    b"x=1",
    b"%ff=1",
    b"=",
    b"&&&",
]
ADMIN_CASES = [
    *(admin(f"messages-{i}", "GET", "/_mock/messages", q) for i, q in enumerate(ADMIN_QUERIES)),
    *(admin(f"violations-{i}", "GET", "/_mock/violations", q) for i, q in enumerate(ADMIN_QUERIES)),
    admin("messages-query-not-utf8", "GET", "/_mock/messages", b"namespace=\xff&to=\xff", raw=True),
    admin("delete-namespace-not-utf8", "DELETE", "/_mock/messages", b"namespace=%ff"),
    admin("delete-unknown-filter", "DELETE", "/_mock/messages", b"x=1"),
    admin("health-with-query", "GET", "/_mock/health", b"x=%ff"),
    admin("contract-zoho", "GET", "/_mock/contracts/zoho_voice/openapi.json"),
    admin("contract-unknown", "GET", "/_mock/contracts/x/openapi.json"),
    admin("contract-dot-dot", "GET", "/_mock/contracts/%2e%2e/openapi.json"),
    admin("contract-nul", "GET", "/_mock/contracts/zoho_voice%00/openapi.json"),
    admin("contract-not-utf8", "GET", "/_mock/contracts/%ff/openapi.json"),
    admin("media-unknown-message", "GET", "/_mock/messages/nope/media/0"),
    admin("media-index-not-a-number", "GET", "/_mock/messages/nope/media/%ff"),
    admin("media-index-negative", "GET", "/_mock/messages/nope/media/-1"),
    admin("media-index-huge", "GET", "/_mock/messages/nope/media/" + "9" * 400),
    admin("media-namespace-not-utf8", "GET", "/_mock/messages/nope/media/0", b"namespace=%ff"),
    admin("media-unknown-parameter", "GET", "/_mock/messages/nope/media/0", b"x=1"),
]

CASES: list[Nasty] = [*ZOHO_CASES, *TWOSMS_CASES, *FORM_CASES, *TOKEN_CASES, *ADMIN_CASES]


def send(mock: Mock, case: Nasty) -> tuple[int, bytes]:
    headers = [(k, v.replace(b"{token}", mock.token.encode())) for k, v in case.headers]
    if case.raw:
        return asgi_call(mock.app, case.method, case.path, headers, case.body, case.query)
    url = case.path + (f"?{case.query.decode('latin-1')}" if case.query else "")
    response = mock.client.request(case.method, url, headers=headers, content=case.body)
    return response.status_code, response.content


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_nasty_request_gets_a_provider_answer(case: Nasty) -> None:
    mock = fresh()
    status, content = send(mock, case)
    assert_sound(mock, case.path, status, content)


def test_journal_renders_after_every_nasty_request() -> None:
    """All the nasty requests through one mock, then every admin view."""
    mock = fresh()
    for case in CASES:
        send(mock, case)
    assert_journal_renders(mock)
    for query in ADMIN_QUERIES:
        for path in ("/_mock/messages", "/_mock/violations"):
            response = mock.client.get(f"{path}?{query.decode('latin-1')}")
            assert response.status_code in {200, 400}, response.text
            assert_provider_shape(path, response.status_code, response.json())
    # Every attachment accepted (odd names and types included) downloads as it was summed.
    downloads = 0
    for listed in mock.client.get("/_mock/messages", params={"limit": 1000}).json()["messages"]:
        one = mock.client.get(f"/_mock/messages/{listed['id']}").json()
        for item in one["media"]:
            response = mock.client.get(item["url"])
            assert response.status_code == 200, response.text
            assert hashlib.sha256(response.content).hexdigest() == item["sha256"]
            downloads += 1
    assert downloads >= 4  # the accepted MMS cases: a non-UTF-8 name and type among them


# --------------------------------------------------------------------------- wrong answers
# Not server errors, but answers that once broke the rule "bad input gets the provider's
# error" (each found by this file, each fixed).


def zoho_post(mock: Mock, body: bytes, ctype: bytes = MULTIPART) -> tuple[int, Any]:
    response = mock.client.post(
        ZOHO, content=body, headers=[(b"authorization", ZOHO_AUTH), (b"content-type", ctype)]
    )
    return response.status_code, response.json()


def test_scheduled_time_with_fullwidth_digits_is_refused() -> None:
    mock = fresh()
    when = ("2099".translate(FULLWIDTH) + "-01-01 00:00:00").encode()
    status, body = zoho_post(mock, mp(sms_part(), field_part(b"scheduledTime", when)))
    assert status == 400, body


def test_zoho_media_type_must_be_exactly_multipart_form_data() -> None:
    mock = fresh()
    status, body = zoho_post(mock, mp(sms_part()), b"multipart/form-dataX; boundary=XyZ")
    assert status == 400, body


def test_rfc3339_date_to_send_in_the_future_is_scheduled() -> None:
    mock = fresh()
    body = {**VALID_MSG, "Options": {"DateToSend": "2099-01-01T00:00:00Z"}}
    response = mock.client.post(TWOSMS, json=body, headers=mock.bearer())
    assert response.status_code == 200, response.text
    assert [m["status"] for m in mock.client.get("/_mock/messages").json()["messages"]] == [
        "scheduled"
    ]


@pytest.mark.parametrize("when", ["2099-01-01t00:00:00z", "2099-06-30T23:59:60Z"])
def test_rfc3339_variants_of_date_to_send_are_scheduled(when: str) -> None:
    mock = fresh()
    body = {**VALID_MSG, "Options": {"DateToSend": when}}
    response = mock.client.post(TWOSMS, json=body, headers=mock.bearer())
    assert response.status_code == 200, response.text
    assert [m["status"] for m in mock.client.get("/_mock/messages").json()["messages"]] == [
        "scheduled"
    ]


def test_recipients_naming_the_same_number_get_distinct_message_ids() -> None:
    mock = fresh()
    quick = {"+12025550100": 2, "12025550100": 2}
    body = {**VALID_MSG, "Contacts": {"QuickRecipients": quick}}
    response = mock.client.post(TWOSMS, json=body, headers=mock.bearer())
    assert response.status_code == 200, response.text
    ids = [m["id"] for m in mock.client.get("/_mock/messages").json()["messages"]]
    assert len(ids) == len(set(ids)), ids


def test_delete_with_a_provider_filter_does_not_wipe_other_providers() -> None:
    mock = fresh()
    assert zoho_post(mock, mp(sms_part()))[0] == 200
    response = mock.client.delete("/_mock/messages?provider=twosms")
    kept = mock.client.get("/_mock/messages?provider=zoho_voice").json()["count"]
    assert response.status_code == 400, response.text  # only namespace= narrows a reset
    assert kept == 1


@pytest.mark.parametrize("path", [ZOHO, TWOSMS, TOKEN])
def test_wrong_method_gets_the_provider_error_shape(path: str) -> None:
    mock = fresh()
    response = mock.client.get(path)
    assert response.status_code == 405
    assert_provider_shape(path, response.status_code, response.json())
