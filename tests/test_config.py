"""Settings: defaults, files, and refusal of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver import MockServerError, Settings, TwoSmsSettings, ZohoSettings
from mockserver.config import deprecated_keys

from .conftest import serve_command


def test_defaults_accept_the_documented_sample_file() -> None:
    assert Settings().max_media_bytes > 5_125_300
    assert Settings().max_body_bytes > Settings().max_media_bytes


def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "mock.toml"
    path.write_text(
        'zoho_error_status = 200\nzoho_allowed_countries = ["US", "in"]\n'
        '[zoho_contacts]\n"+14155550100" = "Henry"\n'
    )
    zoho = Settings.from_file(path).provider(ZohoSettings)
    assert zoho.error_status == 200
    assert zoho.allowed_countries == frozenset({"us", "in"})
    assert zoho.contacts["+14155550100"] == "Henry"


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(MockServerError, match=r"unknown setting.*zoho_eror_status"):
        Settings.from_mapping({"zoho_eror_status": 200})


@pytest.mark.parametrize(
    ("kind", "changes"),
    [
        (Settings, {"max_body_bytes": 0}),
        (ZohoSettings, {"error_status": 99}),
        (ZohoSettings, {"auth_error_body": {"a": 1}}),
    ],
)
def test_bad_values_are_refused(kind: type[object], changes: dict[str, object]) -> None:
    with pytest.raises(MockServerError):
        kind(**changes)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MockServerError, match="cannot read config"):
        Settings.from_file(tmp_path / "missing.toml")


def test_contract_violation_shows_a_field_level_diff() -> None:
    from mockserver.errors import ContractViolation, FieldProblem

    error = ContractViolation(
        [FieldProblem("sms_data.mms", "yes", "expected true or false, got a string")],
        context="POST /rest/json/v2/sms/send",
    )
    assert isinstance(error, AssertionError)
    assert str(error).splitlines() == [
        "sms-mockserver: 1 contract violation(s) in POST /rest/json/v2/sms/send",
        "sms-mockserver: sms_data.mms: sent 'yes' (str), contract expects true or false",
    ]
    missing = ContractViolation([FieldProblem("sms_data.senderId", None, "required")], tool="t")
    assert str(missing).splitlines()[1] == "t: sms_data.senderId: missing, the contract requires it"


def test_the_readme_settings_example_loads() -> None:
    import re
    import tomllib

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    (block,) = re.findall(r"### Settings.*?```toml\n(.*?)```", readme, re.S)
    settings = Settings.from_mapping(tomllib.loads(block))
    assert settings.provider(TwoSmsSettings).clients == {"my-app": "dev-secret"}
    assert settings.provider(ZohoSettings).allowed_countries == frozenset({"us", "ca"})
    (code,) = re.findall(r"### Settings.*?```python\n(.*?)```", readme, re.S)
    scope: dict[str, object] = {}
    exec(code, scope)  # the README's Python example, as written
    given = scope["settings"]
    assert isinstance(given, Settings)
    assert given.provider(ZohoSettings).error_status == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"zoho_account_timezone": "Europe/Londn"}, "not an IANA time zone"),
        ({"zoho_allowed_countries": "us"}, "must be a list"),
        ({"max_messages": "5"}, "max_messages must be int"),
        ({"zoho_error_detail": "yes"}, r"\[zoho_voice\] error_detail must be bool"),
        (
            {"twosms": {"token_lifetime_seconds": 0}},
            r"\[twosms\] token_lifetime_seconds must",
        ),
        ({"twosms": {"status_push_format": "xml"}}, "must be form or json"),
        ({"twosms_message_types": {"Standard": "one"}}, "map names to numbers"),
        ({"number_processes": -1}, "number_processes must be from 0 to 64"),
        ({"number_processes": "2"}, "number_processes must be"),
    ],
)
def test_wrong_settings_are_refused_by_name(data: dict[str, object], message: str) -> None:
    with pytest.raises(MockServerError, match=message):
        Settings.from_mapping(data)


def test_serve_with_a_bad_config_exits_cleanly(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "bad.toml"
    path.write_text('zoho_account_timezone = "Europe/Londn"\n')
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "not an IANA time zone" in result.stderr


def test_provider_settings_are_read_from_their_tables_and_flat_names_still_work() -> None:
    tabled = Settings.from_mapping(
        {
            "zoho_voice": {"error_status": 200, "contacts": {"+1": "A"}},
            "twosms": {"error_status": 422},
        }
    )
    zoho, twosms = tabled.provider(ZohoSettings), tabled.provider(TwoSmsSettings)
    assert (zoho.error_status, twosms.error_status) == (200, 422)
    assert zoho.contacts == {"+1": "A"}
    flat = {"zoho_error_status": 200, "max_messages": 5}
    assert Settings.from_mapping(flat).provider(ZohoSettings).error_status == 200
    assert deprecated_keys(flat) == ["zoho_error_status"]
    assert deprecated_keys({"zoho_voice": {"error_status": 200}}) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"zoho_voice": {"eror_status": 200}}, r"unknown setting\(s\) \[zoho_voice\] eror_status"),
        ({"zoho_voice": {"error_status": 1}, "zoho_error_status": 2}, "are one setting"),
        ({"twosms": 5}, "must be a table of settings"),
    ],
)
def test_provider_tables_are_checked(data: dict[str, object], message: str) -> None:
    with pytest.raises(MockServerError, match=message):
        Settings.from_mapping(data)


def test_serve_names_the_flat_settings_to_move(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "old.toml"
    path.write_text("zoho_error_status = 200\nmax_messages = 5\n")
    proc = subprocess.Popen(
        serve_command("--config", str(path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        notice = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
    assert "zoho_error_status: flat provider setting names are deprecated" in notice
    assert "[zoho_voice]" in notice


def test_provider_settings_are_given_in_python_and_checked_by_kind() -> None:
    settings = Settings(max_messages=5).using(ZohoSettings(error_status=200))
    assert settings.provider(ZohoSettings).error_status == 200
    assert settings.provider(TwoSmsSettings) == TwoSmsSettings()  # not given: its defaults
    assert settings.max_messages == 5
    with pytest.raises(MockServerError, match=r"providers\['twosms'\] must be"):
        Settings(providers={"twosms": ZohoSettings()})
