"""Header redaction shared by the providers: a credential is never kept, whatever its size."""

from __future__ import annotations

import pytest

from mockserver.providers.common import redact_headers


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Bearer abc", "Bearer ***"),
        ("Zoho-oauthtoken 1000.abc.def", "Zoho-oauthtoken ***"),
        ("1000.abc.def", "***"),  # no scheme can be told from it
        ("Bearer " + "x" * 5000, "Bearer ***"),  # longer than any kept redaction
        ("y" * 5000, "***"),
    ],
)
def test_an_authorization_keeps_its_scheme_and_never_its_credential(sent: str, kept: str) -> None:
    for _ in range(2):  # the second time from the remembered redactions, when short
        assert redact_headers({"authorization": sent, "accept": "*/*"}) == {
            "authorization": kept,
            "accept": "*/*",
        }


def test_other_secret_headers_are_hidden_whole() -> None:
    sent = {
        "cookie": "session=abc",
        "x-api-key": "k",
        "proxy-authorization": "Basic dXNlcjpwdw==",
        "host": "localhost",
    }
    assert redact_headers(sent) == {
        "cookie": "***",
        "x-api-key": "***",
        "proxy-authorization": "Basic ***",
        "host": "localhost",
    }
    assert sent["cookie"] == "session=abc"  # the request's own headers are left as they are
