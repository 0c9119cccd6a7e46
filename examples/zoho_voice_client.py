"""A small Zoho Voice client, as an application would write it (httpx).

It follows "POST - Send SMS v2 version" (https://www.zoho.com/voice/api/send-sms-v2-version.html)
and raises :class:`ZohoVoiceError` for every error answer.  The contract kit checks it in
this repository's tests (tests/test_examples.py): against the mock, with messages generated
from the contract and with every documented answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx


class ZohoVoiceError(Exception):
    """Zoho Voice refused the send: its code (ZVSMS-4027, INVALID_OAUTHTOKEN, …) and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class ZohoVoiceClient:
    base_url: str = "https://voice.zoho.com"
    token: str = ""

    def send_sms(self, to: str, text: str, sender: str) -> str:
        """Send one SMS; returns Zoho's logid."""
        sms_data = {"customerNumber": to, "message": text, "senderId": sender}
        answer = httpx.post(
            f"{self.base_url}/rest/json/v2/sms/send",
            headers={"Authorization": f"Zoho-oauthtoken {self.token}"},
            files={"sms_data": (None, json.dumps(sms_data), "application/json")},
            timeout=30,
        )
        try:
            body = answer.json()
        except ValueError:
            raise ZohoVoiceError(answer.status_code, "", answer.text[:200]) from None
        if answer.status_code != 200 or body.get("status") != "SUCCESS":
            raise ZohoVoiceError(
                answer.status_code, str(body.get("code", "")), str(body.get("message", ""))
            )
        return str(body["send"]["logid"])
