"""Access: the Host check on loopback, the admin token, and serve's refusal to expose."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import MockServer, Settings, create_app
from mockserver.access import ADMIN_TOKEN_ENV, host_name, is_loopback
from mockserver.errors import MockServerError

from .conftest import VALID_SMS, ZOHO_AUTH, ZOHO_PATH, serve_command, zoho_send


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("app.localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("localhost.evil.example", False),
        ("evil.example", False),
    ],
)
def test_loopback_names(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8910", "localhost"),
        ("[::1]:8910", "::1"),
        ("::1", "::1"),
        ("Evil.Example", "evil.example"),
    ],
)
def test_host_name_drops_the_port(header: str, name: str) -> None:
    assert host_name(header) == name


def test_a_non_loopback_host_header_is_refused_when_the_check_is_on() -> None:
    app = create_app(settings=Settings(allowed_hosts=frozenset({"mock.test"})))
    with TestClient(app, base_url="http://localhost:8910") as c:
        assert zoho_send(c).status_code == 200
        for host in ("127.0.0.1:8910", "[::1]:8910", "mock.test:8910"):
            assert c.get("/_mock/health", headers={"Host": host}).status_code == 200
        rebound = c.get("/_mock/messages", headers={"Host": "attacker.example:8910"})
        assert rebound.status_code == 421
        assert "is not a loopback name" in rebound.json()["error"]
        assert "--allowed-host" in rebound.json()["error"]
        send = c.post(ZOHO_PATH, headers={**ZOHO_AUTH, "Host": "attacker.example"})
        assert (send.status_code, send.headers["connection"]) == (421, "close")
    # In-process (no check by default): TestClient's own Host, testserver, is served.
    with TestClient(create_app()) as c:
        assert c.get("/_mock/health").status_code == 200


def test_the_admin_token_guards_the_admin_api_but_not_the_providers() -> None:
    with TestClient(create_app(settings=Settings(admin_token="s3cret"))) as c:
        assert zoho_send(c).status_code == 200  # provider credentials only
        assert c.get("/_mock/health").status_code == 200  # liveness, no data
        for method, path in (("GET", "/_mock/messages"), ("DELETE", "/_mock/messages")):
            refused = c.request(method, path)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "requires Authorization: Bearer <admin token>" in refused.json()["error"]
            wrong = c.request(method, path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        good = c.get("/_mock/messages", headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 200
        assert good.json()["count"] == 1
    assert "s3cret" not in repr(Settings(admin_token="s3cret"))


def test_mock_server_sends_its_token_and_refuses_to_expose_without_one() -> None:
    with pytest.raises(MockServerError, match="--insecure"):
        MockServer(host="0.0.0.0")
    with MockServer(settings=Settings(admin_token="t0k")) as mock:
        httpx.post(
            mock.url + ZOHO_PATH,
            headers=ZOHO_AUTH,
            files={"sms_data": (None, json.dumps(VALID_SMS))},
        )
        assert mock.health()["status"] == "ok"
        assert len(mock.messages()) == 1  # the helpers pass the token
        with (
            MockServer.connect(mock.url) as anonymous,
            pytest.raises(MockServerError, match="HTTP 401"),
        ):
            anonymous.messages()
        with MockServer.connect(mock.url, admin_token="t0k") as other:
            assert other.reset() == 1
            assert mock.messages() == []
        rebound = httpx.get(mock.url + "/_mock/health", headers={"Host": "attacker.example"})
        assert rebound.status_code == 421


def test_serve_refuses_a_network_address_without_a_token_or_insecure() -> None:
    env = {k: v for k, v in os.environ.items() if k != ADMIN_TOKEN_ENV}
    result = subprocess.run(
        serve_command("--host", "0.0.0.0"), capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2
    assert "can be reached from the network" in result.stderr
    assert "--admin-token TOKEN" in result.stderr


@pytest.mark.parametrize("how", ["flag", "env", "insecure"])
def test_serve_on_a_network_address(how: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != ADMIN_TOKEN_ENV}
    extra = ["--host", "0.0.0.0"]
    if how == "flag":
        extra += ["--admin-token", "t0k"]
    elif how == "env":
        env[ADMIN_TOKEN_ENV] = "t0k"
    else:
        extra.append("--insecure")
    proc = subprocess.Popen(
        serve_command(*extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        port = first.rsplit(":", 1)[-1].strip()
        url = f"http://127.0.0.1:{port}"
        lines = [proc.stdout.readline() for _ in range(3)]
        messages = httpx.get(url + "/_mock/messages", headers={"Host": "mock.lan"})
        if how == "insecure":
            assert any("admin API: open (no token)" in line for line in lines), lines
            assert messages.status_code == 200  # any Host: the user asked for the network
            assert "WARNING: serving on 0.0.0.0 with --insecure" in proc.stderr.readline()
        else:
            assert any("admin API: requires Authorization" in line for line in lines), lines
            assert messages.status_code == 401
            authorized = {"Authorization": "Bearer t0k", "Host": "mock.lan"}
            assert httpx.get(url + "/_mock/messages", headers=authorized).status_code == 200
        send = httpx.post(
            url + ZOHO_PATH, headers=ZOHO_AUTH, files={"sms_data": (None, json.dumps(VALID_SMS))}
        )
        assert send.status_code in (200, 400)  # a provider answer, not the admin guard
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_serve_on_loopback_refuses_other_host_names() -> None:
    proc = subprocess.Popen(
        serve_command("--allowed-host", "mock.lan"), stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        assert httpx.get(url + "/_mock/health").status_code == 200
        assert httpx.get(url + "/_mock/health", headers={"Host": "mock.lan"}).status_code == 200
        rebound = httpx.get(url + "/_mock/messages", headers={"Host": "attacker.example:80"})
        assert rebound.status_code == 421
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
