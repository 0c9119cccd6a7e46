"""A deliberately broken Zoho Voice client: what the contract kit must catch.

Two bugs real client code has: the number is sent as a JSON number (``16502530000``, not a
string), and an error answer crashes it (it reads ``send`` from every answer).
"""

from __future__ import annotations

import json

import httpx


def send_sms(base_url: str, token: str, to: str, text: str, sender: str) -> str:
    sms_data = {"customerNumber": int(to.lstrip("+")), "message": text, "senderId": sender}
    answer = httpx.post(
        f"{base_url}/rest/json/v2/sms/send",
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        files={"sms_data": (None, json.dumps(sms_data))},
        timeout=30,
    )
    return str(answer.json()["send"]["logid"])  # KeyError on any error answer
