"""`sms-mockserver verify`: recorded traffic (HAR) checked with the providers' own parse."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from mockserver.cli import main
from mockserver.errors import MockServerError
from mockserver.verify import verify_har

from .conftest import VALID_SMS, WORKED

BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"


def _multipart(sms: Any) -> str:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="sms_data"\r\n\r\n'
        f"{json.dumps(sms)}\r\n--{BOUNDARY}--\r\n"
    )


def _entry(method: str, url: str, headers: dict[str, str], post: dict[str, Any] | None) -> Any:
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "headers": [{"name": k, "value": v} for k, v in headers.items()],
    }
    if post is not None:
        request["postData"] = post
    return {"request": request, "response": {"status": 200}}


def _har(tmp_path: Path, *entries: Any) -> Path:
    path = tmp_path / "staging.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": list(entries)}}))
    return path


ZOHO = "https://voice.zoho.com/rest/json/v2/sms/send"
ZOHO_CT = f"multipart/form-data; boundary={BOUNDARY}"
TWOSMS = "https://portal.2sms.us/api/v2/sms/messages"


def test_recorded_requests_are_checked_with_the_providers_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good_zoho = _entry(
        "POST",
        ZOHO,
        {"Authorization": "Zoho-oauthtoken 1000.x"},
        {"mimeType": ZOHO_CT, "text": _multipart(VALID_SMS)},
    )
    bad_zoho = _entry(
        "POST",
        ZOHO,
        {"Authorization": "Bearer 1000.x", "Content-Type": ZOHO_CT},
        {"mimeType": ZOHO_CT, "text": _multipart({**VALID_SMS, "customerNumber": 14155550100})},
    )
    json_body = json.dumps({**WORKED, "Options": {"DstPort": "80"}}).encode()
    lenient_2sms = _entry(
        "POST",
        TWOSMS,
        {"Authorization": "Bearer abc", "Content-Type": "application/json"},
        {
            "mimeType": "application/json",
            "text": base64.b64encode(json_body).decode(),
            "encoding": "base64",
        },
    )
    form_2sms = _entry(
        "POST",
        TWOSMS,
        {"Authorization": "Bearer abc"},
        {
            "mimeType": "application/x-www-form-urlencoded",
            "params": [
                {"name": "Contacts.QuickRecipients[+12345678901]", "value": "2"},
                {"name": "Content", "value": "hi"},
                {"name": "Options", "value": ""},
                {"name": "Type", "value": "1"},
            ],
        },
    )
    other = _entry("GET", "https://example.com/", {}, None)
    path = _har(tmp_path, good_zoho, bad_zoho, lenient_2sms, form_2sms, other)
    report = verify_har(path)
    assert (report.checked, report.skipped) == (4, 1)
    found = [(f.entry, f.problem.field) for f in report.findings]
    assert found == [
        (1, "Authorization"),
        (1, "sms_data.customerNumber"),
        (2, "Options.DstPort"),  # read as Json.NET reads it, and recorded
    ]  # entry 3: a HAR's params are decoded, and the + in the key is encoded again
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("entry 1: POST /rest/json/v2/sms/send: Authorization: Zoho-oauthtoken")
    assert "4 provider request(s) checked, 2 broke the contract (3 finding(s)); 1 other" in out[-1]
    assert main(["verify", str(_har(tmp_path, good_zoho, other))]) == 0


def test_a_file_that_is_not_a_har_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    path.write_text("{}")
    with pytest.raises(MockServerError, match="not a HAR file"):
        verify_har(path)
    assert main(["verify", str(tmp_path / "missing.har")]) == 2
