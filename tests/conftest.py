"""Shared test helpers: an in-process client and response checks against the contracts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from hypothesis import settings
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Message, Scope

from mockserver import Settings, create_app, load_contract
from mockserver.contracts import fixtures_dir
from mockserver.store import MemoryStore, Store, StoreLimits, Violation
from mockserver.store import Message as StoredMessage

ZOHO_PATH = "/rest/json/v2/sms/send"
ZOHO_AUTH = {"Authorization": "Zoho-oauthtoken test-token"}
#: The namespace a Zoho send with ZOHO_AUTH and no X-Mock-Namespace header lands in: the
#: provider's name and the first 12 hex digits of the token's SHA-256 (README, "Endpoints").
ZOHO_NAMESPACE = "zoho_voice:" + hashlib.sha256(b"test-token").hexdigest()[:12]
VALID_SMS = {"customerNumber": "14155550100", "message": "Hi there!", "senderId": "14155550199"}
#: The 2sms "SMS Plus / RESTful API" page's worked example ("Sending a Single Message").
WORKED = {
    "Contacts": {"QuickRecipients": {"+12345678901": 2}},
    "Content": "Standard Send Test",
    "Options": {},
    "Type": 1,
}
JPEG = (fixtures_dir() / "zoho_voice" / "photo.jpg").read_bytes()

pytest_plugins = ["pytester"]

# In CI every property test (hypothesis, schemathesis) runs a fixed sequence of examples, so
# a run can't go red on a case no one changed anything to produce; locally each run draws new
# examples and keeps the failing ones in .hypothesis/ to replay.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (marked ``anyio``) run on asyncio, the loop uvicorn serves with."""
    return "asyncio"


def serve_command(*extra: str, store: str = "memory") -> list[str]:
    """``sms-mockserver serve`` on a free port with ``store`` and ``extra`` arguments; it
    prints its URL on its first line."""
    return [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--store", store, *extra]


def make_client(settings: Settings | None = None, clock: float | None = None) -> TestClient:
    """An in-process client over a fresh app (fresh in-memory store)."""
    if clock is None:
        return TestClient(create_app(settings=settings))
    return TestClient(create_app(settings=settings, clock=lambda: clock))


def journal(client: TestClient, **filters: str) -> list[StoredMessage]:
    """Kept messages, through the admin API (one page of up to 1,000)."""
    response = client.get("/_mock/messages", params={**filters, "limit": "1000"})
    assert response.status_code == 200, response.text
    return [StoredMessage.from_json(m) for m in response.json()["messages"]]


def violations(client: TestClient, **filters: str) -> list[Violation]:
    """Recorded contract violations, through the admin API."""
    response = client.get("/_mock/violations", params={**filters, "limit": "1000"})
    assert response.status_code == 200, response.text
    return [Violation.from_json(v) for v in response.json()["violations"]]


def exchange(client: TestClient, message_id: str) -> dict[str, Any]:
    """The request headers, fields and response a message was accepted with."""
    response = client.get(f"/_mock/messages/{message_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["submission"]
    return found


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_client() as c:
        yield c


def zoho_send(
    client: TestClient,
    sms_data: Any = None,
    *,
    raw_sms: str | None = None,
    files: dict[str, Any] | None = None,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a Zoho send the way a client library builds it (multipart, real boundary).

    Text parts go in as file tuples without a filename, so httpx always builds multipart
    (with ``data=`` alone it would send form-urlencoded).
    """
    text = (
        raw_sms if raw_sms is not None else json.dumps(VALID_SMS if sms_data is None else sms_data)
    )
    parts: list[tuple[str, Any]] = [("sms_data", (None, text))]
    parts += [(name, (None, value)) for name, value in (data or {}).items()]
    parts += list((files or {}).items())
    response: httpx.Response = client.post(
        ZOHO_PATH, files=parts, headers=ZOHO_AUTH if headers is None else headers
    )
    return response


def twosms_send(
    client: TestClient, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a 2sms send as JSON with a fresh bearer token (client ``a``/``b``)."""
    token = client.post(
        "/Token",
        data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
    ).json()["access_token"]
    response: httpx.Response = client.post(
        "/api/v2/sms/messages",
        json=body,
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )
    return response


_VALIDATORS: dict[tuple[str, str], jsonschema_rs.Validator] = {}


def assert_matches_contract(provider: str, op_id: str, response: httpx.Response) -> None:
    """The response body conforms to the contract's schema for its HTTP status."""
    op = load_contract(provider).operation(op_id)
    kinds = [k for k, spec in op.responses.items() if int(spec["status"]) == response.status_code]
    assert kinds, f"status {response.status_code} is not in the {provider} contract"
    body = response.json()
    errors: list[str] = []
    for kind in kinds:
        key = (op_id, kind)
        if key not in _VALIDATORS:
            _VALIDATORS[key] = jsonschema_rs.validator_for(
                op.response_schema(kind), validate_formats=True
            )
        found = [e.message for e in _VALIDATORS[key].iter_errors(body)]
        if not found:
            return
        errors += found
    raise AssertionError(f"response does not match the contract: {errors}\n{body}")


def asgi_call(
    app: Starlette,
    method: str,
    path: str,
    headers: Sequence[tuple[bytes, bytes]],
    body: bytes,
    query: bytes = b"",
    root_path: str = "",
) -> tuple[int, bytes]:
    """Call the app directly with these exact header bytes (TestClient re-encodes them)."""
    sent: list[Message] = []
    inbox: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": query,
        "headers": list(headers),
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), data


#: Builds a store of the parametrized back-end with the given limits (``make_store``).
StoreFactory = Callable[..., Store]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A factory of stores, once with each back-end: the behaviour tests of the store run
    over public verbs only, so each back-end must pass all of them."""

    def factory(**limits: Any) -> Store:
        lim = StoreLimits(**limits)
        if request.param == "memory":
            return MemoryStore(lim)
        from mockserver.store.sqlite import SQLiteStore

        return SQLiteStore(tmp_path / "mock.sqlite3", lim)

    return factory


def stop_process(proc: subprocess.Popen[str], *, kill: bool = False) -> None:
    """End a server started by a test (terminate, or kill when it is still running after a
    test that should have stopped it) and close its output pipe."""
    if proc.poll() is None:
        proc.kill() if kill else proc.terminate()
        proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def run_readme_example(pytester: pytest.Pytester, heading: str, must_contain: str) -> None:
    """Run the first Python block under the README's ``## heading`` as a test file: the
    example a user copies must pass as written."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split(f"\n## {heading}\n", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert must_contain in code
    pytester.makepyfile(test_readme=code)
    pytester.runpytest().assert_outcomes(passed=1)
