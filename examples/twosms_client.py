"""A small 2sms client, as an application would write it (httpx): token, then send.

It follows the 2sms help page "POST api/v2/sms/messages"
(https://portal.2sms.us/Help/Api/POST-api-v2-sms-messages) and the "SMS Plus / RESTful API"
page's token flow (https://us.2sms.us/2020/06/30/smsplus/), and raises :class:`TwoSmsError`
for every error answer.  Checked by the contract kit in tests/test_examples.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx


class TwoSmsError(Exception):
    """2sms refused the request: HTTP status, ErrorCode and ErrorReason."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(f"{status} {code}: {reason}")
        self.status, self.code, self.reason = status, code, reason


@dataclass
class TwoSmsClient:
    base_url: str = "https://portal.2sms.us"
    client_id: str = ""
    client_secret: str = ""
    _token: str | None = field(default=None, repr=False)

    def token(self) -> str:
        if self._token is None:
            answer = httpx.post(
                f"{self.base_url}/Token",
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
                timeout=30,
            )
            if answer.status_code != 200:
                raise TwoSmsError(answer.status_code, "token", answer.text[:200])
            self._token = str(answer.json()["access_token"])
        return self._token

    def send_sms(self, to: str, text: str) -> list[str]:
        """Send one Standard message; returns the message ids."""
        number = to if to.startswith("+") else "+" + to
        message = {
            "Contacts": {"QuickRecipients": {number: 2}},  # 2 = Text
            "Content": text,
            "Options": {},
            "Type": 1,  # Standard
        }
        answer = httpx.post(
            f"{self.base_url}/api/v2/sms/messages",
            headers={"Authorization": f"Bearer {self.token()}"},
            json=message,
            timeout=30,
        )
        try:
            body = answer.json()
        except ValueError:
            raise TwoSmsError(answer.status_code, "", answer.text[:200]) from None
        error = body.get("Error") if isinstance(body, dict) else None
        if answer.status_code != 200 or error:
            error = error or {}
            raise TwoSmsError(
                answer.status_code, str(error.get("ErrorCode", "")), str(error.get("ErrorReason"))
            )
        ids = body["ResponseData"]["Detail"]["IDs"]["StandardMessageIDs"]
        return [i for values in ids.values() for i in values]
