"""A deliberately wrong server for the contract kit's tests: the mock, but answering 2sms
counters as numbers and Zoho's ``send`` without ``country``.

Run as ``python tests/wrong_server.py PORT``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn
from starlette.types import Message, Receive, Scope, Send

from mockserver import create_app

app = create_app()


async def wrong(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        await app(scope, receive, send)
        return
    start: dict[str, Any] = {}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        body = message.get("body", b"")
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("ResponseData"):
                detail = data["ResponseData"]["Detail"]
                for key in ("NoOfSMS", "CreditsUsed"):
                    detail[key] = int(detail[key])
            if isinstance(data, dict) and isinstance(data.get("send"), dict):
                data["send"].pop("country", None)
            body = json.dumps(data).encode()
        except ValueError:
            pass
        headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    await app(scope, receive, capture)


if __name__ == "__main__":
    uvicorn.run(wrong, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
