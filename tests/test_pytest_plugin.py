"""The pytest plugin, as a user's test suite sees it (pytester)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import run_readme_example, serve_command

CLIENT = '''
import json

import httpx


def send_sms(base_url, to, text, number_as_int=False):
    """A Zoho Voice client; number_as_int is the bug a broken client has."""
    number = int(to.lstrip("+")) if number_as_int else to
    sms = {"customerNumber": number, "message": text, "senderId": "ACME"}
    return httpx.post(
        f"{base_url}/rest/json/v2/sms/send",
        headers={"Authorization": "Zoho-oauthtoken dev"},
        files={"sms_data": (None, json.dumps(sms))},
    )
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(client=CLIENT)
    return pytester


def test_a_correct_client_passes_and_assert_sent_checks_what_was_sent(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_app="""
        import pytest
        from client import send_sms
        from mockserver.handle import NotSentError

        def test_reminder(smsmock):
            assert send_sms(smsmock.url, "+14155550100", "See you at 10:00").status_code == 200
            smsmock.assert_sent(to="+14155550100", text_contains="10:00")
            assert [m.to for m in smsmock.messages()] == ["+14155550100"]
            assert smsmock.wait_for(to="+14155550100", timeout=1).text == "See you at 10:00"

        def test_a_miss_lists_the_closest_messages(smsmock):
            send_sms(smsmock.url, "+14155550100", "See you at 10:00")
            with pytest.raises(NotSentError) as caught:
                smsmock.assert_sent(to="+14155550199", text_contains="11:00")
            text = str(caught.value)
            assert text.startswith("smsmock: expected 1 message(s) with to='+14155550199'")
            assert "to='+14155550100' text='See you at 10:00' (zoho_voice)" in text

        def test_each_test_has_its_own_namespace(smsmock):
            assert smsmock.messages() == []
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=3)


def test_a_broken_client_fails_the_test_with_a_field_level_diff(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_app="""
        import pytest
        from client import send_sms

        def test_broken(smsmock):
            send_sms(smsmock.url, "+14155550100", "hi", number_as_int=True)

        @pytest.mark.smsmock(strict=False)
        def test_opted_out(smsmock):
            send_sms(smsmock.url, "+14155550100", "hi", number_as_int=True)

        def test_declared(smsmock):
            smsmock.expect_violations("sms_data.customerNumber")
            send_sms(smsmock.url, "+14155550100", "hi", number_as_int=True)

        def test_in_process(smsmock_app):
            from starlette.testclient import TestClient
            with TestClient(smsmock_app.app, base_url=smsmock_app.url) as c:
                c.post("/rest/json/v2/sms/send",
                       headers={"Authorization": "Zoho-oauthtoken dev"},
                       files={"sms_data": (None, '{"customerNumber": 1, "message": "x"}')})
        """
    )
    result = project.runpytest("-W", "error")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*smsmock: 1 contract violation(s) in namespace test-*",
            "*smsmock: sms_data.customerNumber: sent 14155550100 (int), contract expects a string",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*smsmock: sms_data.customerNumber: sent 1 (int), contract expects a string",
            "*smsmock: sms_data.senderId: missing, the contract requires it",
        ]
    )
    assert "FAILED test_app.py::test_broken" in result.stdout.str()
    assert "FAILED test_app.py::test_in_process" in result.stdout.str()


def test_the_configuration_fixtures_can_be_overridden(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest
        from mockserver import Settings, ZohoSettings

        @pytest.fixture(scope="session")
        def smsmock_settings():
            return Settings().using(ZohoSettings(allowed_countries=frozenset({"ca"})))
        """
    )
    project.makepyfile(
        test_app="""
        from client import send_sms

        def test_country(smsmock):
            answer = send_sms(smsmock.url, "+14155550100", "hi")
            assert answer.json()["code"] == "ZVSMS-4038"

        def test_country_in_process(smsmock_app):
            from starlette.testclient import TestClient
            with TestClient(smsmock_app.app, base_url=smsmock_app.url) as c:
                answer = c.post("/rest/json/v2/sms/send",
                                headers={"Authorization": "Zoho-oauthtoken dev"},
                                files={"sms_data": (None, '{"customerNumber": "+14155550100", '
                                                          '"message": "x", "senderId": "A"}')})
            assert answer.json()["code"] == "ZVSMS-4038"
        """
    )
    project.runpytest().assert_outcomes(passed=2)


def test_smsmock_url_uses_a_running_server_under_xdist(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_app="""
        import os
        import pytest
        from client import send_sms

        @pytest.mark.parametrize("n", range(8))
        def test_parallel(smsmock, smsmock_server, n):
            assert smsmock_server.url == os.environ["EXPECTED_URL"]  # no server of its own
            assert send_sms(smsmock.url, "+14155550100", f"hi {n}").status_code == 200
            (message,) = smsmock.messages()  # never another test's, nor another worker's
            assert message.text == f"hi {n}"
        """
    )
    proc = subprocess.Popen(serve_command(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        monkeypatch.setenv("EXPECTED_URL", url)
        monkeypatch.setenv("SMSMOCK_URL", url)
        project.runpytest_subprocess("-n", "2").assert_outcomes(passed=8)
        monkeypatch.delenv("SMSMOCK_URL")
        project.runpytest_subprocess(f"--smsmock-url={url}").assert_outcomes(passed=8)
        # Every test's namespace was reset at its end: the shared server keeps nothing.
        health = httpx.get(url + "/_mock/health").json()
        assert health["store"]["messages"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_the_plugin_is_registered_on_install(tmp_path: Path) -> None:
    # A bare project with no conftest: the fixtures come from the installed entry point.
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fixtures defined from mockserver.pytest_plugin" in result.stdout
    for name in ("smsmock", "smsmock_app", "smsmock_server", "smsmock_settings", "smsmock_store"):
        assert f"\n{name} " in result.stdout, result.stdout


def test_the_readme_time_and_lifecycle_example_passes(pytester: pytest.Pytester) -> None:
    run_readme_example(pytester, "Time and lifecycle", "smsmock.clock(advance=")
