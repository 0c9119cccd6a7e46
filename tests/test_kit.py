"""The contract kit: `sms-mockserver check` against the mock, a wrong server, and the recipe."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.cli import main
from mockserver.errors import MockServerError
from mockserver.kit import DEFAULT_CREDENTIAL, Target, _Run, contract_test

from .conftest import serve_command

WRONG_SERVER = Path(__file__).with_name("wrong_server.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    proc = subprocess.Popen(serve_command(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    yield proc.stdout.readline().rsplit(" ", 1)[-1].strip()
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()


@pytest.fixture(scope="module")
def wrong_url() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(WRONG_SERVER), str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/_mock/health")
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the wrong server did not start"
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "check", "--max-examples", "25", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("provider", ["zoho_voice", "twosms"])
def test_check_passes_against_the_mock(mock_url: str, provider: str, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    credentials = (
        ["--token", "dev"]
        if provider == "zoho_voice"
        else ["--client-id", "me", "--client-secret", "s3"]
    )
    result = check(
        "--provider", provider, "--base-url", mock_url, "--junit-xml", str(junit), *credentials
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout
    report = junit.read_text()
    assert f"test_{provider}_contract" in report
    assert 'failures="0"' in report


def test_check_names_the_fields_a_wrong_server_gets_wrong(wrong_url: str) -> None:
    twosms = check("--provider", "twosms", "--base-url", wrong_url)
    assert twosms.returncode == 1
    report = twosms.stdout.split("disagreements with the contract", 1)[1]
    assert "POST /api/v2/sms/messages" in report
    assert 'response ResponseData.Detail.NoOfSMS: 1 is not of type "string"' in report
    zoho = check("--provider", "zoho_voice", "--base-url", wrong_url)
    assert zoho.returncode == 1
    assert 'response send: "country" is a required property' in zoho.stdout


def test_check_refuses_a_remote_url_without_allow_real_sends(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["check", "--provider", "twosms", "--base-url", "https://portal.2sms.us"])
    assert code == 2
    assert "--allow-real-sends" in capsys.readouterr().err
    with pytest.raises(Exception, match="allow_real_sends"):
        contract_test("twosms", "https://portal.2sms.us")


def test_check_says_what_to_install_without_the_kit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "schemathesis" else real(name)
    )
    assert main(["check", "--provider", "twosms", "--base-url", "http://127.0.0.1:1"]) == 2
    assert "pip install 'sms-mockserver[kit]'" in capsys.readouterr().err


def test_the_suite_runs_in_a_users_own_tests(pytester: pytest.Pytester, mock_url: str) -> None:
    pytester.makepyfile(
        test_contract=f"""
        from mockserver.kit import contract_test

        test_zoho = contract_test("zoho_voice", "{mock_url}", token="dev", max_examples=10)
        test_twosms = contract_test("twosms", "{mock_url}", client_id="me", max_examples=10)
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=3)  # zoho, 2sms send and /Token


def test_check_offers_every_providers_credentials_as_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    usage = capsys.readouterr().out
    for option, provider in (
        ("--token", "zoho_voice"),
        ("--client-id", "twosms"),
        ("--client-secret", "twosms"),
    ):
        assert option in usage
        assert provider in usage.split(option, 2)[2].split("--", 1)[0]


def test_a_credential_another_provider_takes_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["check", "--provider", "twosms", "--base-url", "http://127.0.0.1:1", "--token", "x"]
    assert main(args) == 2
    assert "--token is a credential of zoho_voice, not of twosms" in capsys.readouterr().err
    with pytest.raises(MockServerError, match="twosms takes no credential named token; its "):
        contract_test("twosms", "http://127.0.0.1:1", token="x")


def test_the_kit_authenticates_with_the_credentials_it_is_given(mock_url: str) -> None:
    zoho = Target("zoho_voice", mock_url, {"token": "dev"})
    assert zoho.credential_values() == {"token": "dev"}
    run = _Run(zoho)
    assert run.auth() == {"Authorization": "Zoho-oauthtoken dev"}
    run.close()
    twosms = Target("twosms", mock_url, {"client_id": "me"})
    assert twosms.credential_values() == {"client_id": "me", "client_secret": DEFAULT_CREDENTIAL}
    run = _Run(twosms)
    headers = run.auth()
    run.close()
    answer = httpx.post(
        mock_url + "/api/v2/sms/messages",
        headers=headers,
        json={
            "Contacts": {"QuickRecipients": {"+12345678901": 2}},
            "Content": "hi",
            "Options": {},
            "Type": 1,
        },
    )
    assert answer.status_code == 200, answer.text
    # The token was issued to the client id given: the send is that account's.
    assert answer.json()["ResponseData"]["Identification"]["UserId"] == "me"
    # The target goes to `check`'s suite through the environment, credentials included.
    assert Target(**json.loads(twosms.to_env())) == twosms
