"""The SQLite store under a real server: nothing acknowledged is lost to ``kill -9``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import VALID_SMS, ZOHO_PATH, serve_command, stop_process

TWOSMS = "/api/v2/sms/messages"
SENDERS = 64
#: Acknowledged messages before the kill.
KILL_AFTER = 300


def start(db: Path) -> tuple[subprocess.Popen[str], str]:
    """``sms-mockserver serve`` on a free port with the SQLite file ``db``; its base URL."""
    proc = subprocess.Popen(
        serve_command(store=f"sqlite://{db}"),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("sms-mockserver "), first
    return proc, first.rsplit(" ", 1)[-1].strip()


async def load(url: str, token: str, acknowledged: list[str], stop: asyncio.Event) -> None:
    """64 concurrent senders, half Zoho and half 2sms, until ``stop`` is set (or a sender's
    connection fails); each acknowledged id is added to ``acknowledged``."""
    limits = httpx.Limits(max_connections=SENDERS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def sender(n: int) -> None:
            k = 0
            while not stop.is_set():
                k += 1
                if n % 2:
                    sms = {**VALID_SMS, "message": f"sender {n} message {k}"}
                    response = await client.post(
                        ZOHO_PATH,
                        headers={"Authorization": "Zoho-oauthtoken t", "X-Mock-Namespace": "z"},
                        files={"sms_data": (None, json.dumps(sms))},
                    )
                    if response.status_code == 200:
                        acknowledged.append(response.json()["send"]["logid"])
                else:
                    body = {
                        "Contacts": {"QuickRecipients": {"+12125550100": 1, "+12125550101": 1}},
                        "Content": f"sender {n} message {k}",
                        "Options": {},
                        "Type": 1,
                    }
                    response = await client.post(
                        TWOSMS, json=body, headers={"Authorization": f"Bearer {token}"}
                    )
                    if response.status_code == 200:
                        ids = response.json()["ResponseData"]["Detail"]["IDs"]
                        acknowledged.extend(
                            i for v in ids["StandardMessageIDs"].values() for i in v
                        )

        await asyncio.gather(*(sender(n) for n in range(SENDERS)), return_exceptions=True)


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_every_acknowledged_message_and_token_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    proc, url = start(db)
    try:
        token = httpx.post(
            url + "/Token",
            data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
        ).json()["access_token"]

        acknowledged: list[str] = []

        async def load_then_kill() -> None:
            # The kill lands while the senders are still sending, once the load is real: a
            # fixed delay measured the machine's speed (and the client's warm-up) instead.
            stop = asyncio.Event()
            task = asyncio.ensure_future(load(url, token, acknowledged, stop))
            deadline = time.monotonic() + 30
            while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            stop.set()
            await task

        asyncio.run(load_then_kill())
        proc.wait(timeout=10)
    finally:
        stop_process(proc, kill=True)
    assert len(acknowledged) >= KILL_AFTER, "the load must have been real before the kill"

    proc, url = start(db)
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            kept: set[str] = set()
            cursor = ""
            while True:
                page = client.get("/_mock/messages", params={"limit": 1000, "cursor": cursor})
                body = page.json()
                kept.update(m["id"] for m in body["messages"])
                if body["next_cursor"] is None:
                    break
                cursor = body["next_cursor"]
            lost = set(acknowledged) - kept
            assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged messages lost"
            # The token issued before the kill still works.
            again = client.post(
                TWOSMS,
                json={
                    "Contacts": {"QuickRecipients": {"+12125550100": 1}},
                    "Content": "after the restart",
                    "Options": {},
                    "Type": 1,
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert again.status_code == 200, again.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
