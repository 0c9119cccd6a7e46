"""The runtime context: the seeded random source, per-namespace clocks, background tasks."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import subprocess
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.errors import MockServerError
from mockserver.runtime import Runtime, VirtualClock

from .conftest import VALID_SMS, ZOHO_AUTH, ZOHO_PATH, journal, serve_command, zoho_send

TWOSMS = "/api/v2/sms/messages"
TWOSMS_BODY = {
    "Contacts": {"QuickRecipients": {"+12125550100": 2, "+12125550101": 2}},
    "Content": "hello",
    "Options": {},
    "Type": 1,
}


def issued_ids(settings: Settings | None = None) -> list[str]:
    """The ids a fresh app gives a Zoho send and a two-recipient 2sms send, in order."""
    with TestClient(create_app(settings=settings)) as c:
        logid = zoho_send(c).json()["send"]["logid"]
        token = c.post(
            "/Token",
            data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
        ).json()["access_token"]
        answer = c.post(TWOSMS, json=TWOSMS_BODY, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        ids = answer.json()["ResponseData"]["Detail"]["IDs"]["StandardMessageIDs"]
        return [logid, *(i for key in sorted(ids) for i in ids[key])]


def test_apps_created_after_the_same_global_seed_issue_different_ids() -> None:
    # pytest-randomly seeds the global random module before each test: the mock's ids must
    # not follow it.
    random.seed(1234)
    first = issued_ids()
    random.seed(1234)
    second = issued_ids()
    assert set(first).isdisjoint(second)


def test_the_same_seed_gives_the_same_ids_and_another_seed_others() -> None:
    first = issued_ids(Settings(seed=42))
    assert issued_ids(Settings(seed=42)) == first
    assert set(issued_ids(Settings(seed=43))).isdisjoint(first)
    assert len(set(first)) == 3


def test_two_servers_started_with_the_same_seed_issue_the_same_ids() -> None:
    def first_id() -> str:
        proc = subprocess.Popen(
            serve_command("--seed", "99"),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
            assert "seed: 99" in [proc.stdout.readline().strip() for _ in range(2)]
            answer = httpx.post(
                url + ZOHO_PATH,
                headers=ZOHO_AUTH,
                files={"sms_data": (None, json.dumps(VALID_SMS))},
            )
            logid: str = answer.json()["send"]["logid"]
            return logid
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()

    assert first_id() == first_id() == issued_ids(Settings(seed=99))[0]


def test_health_shows_the_seed_so_a_run_can_be_replayed() -> None:
    with TestClient(create_app(settings=Settings(seed=7))) as c:
        assert c.get("/_mock/health").json()["seed"] == 7
    with TestClient(create_app()) as c:
        seed = c.get("/_mock/health").json()["seed"]
        replayed = issued_ids(Settings(seed=seed))
        assert zoho_send(c).json()["send"]["logid"] == replayed[0]


def test_settings_refuse_a_bad_seed() -> None:
    with pytest.raises(MockServerError, match="seed must be from 0"):
        Settings(seed=-1)
    with pytest.raises(MockServerError, match="seed must be int or unset"):
        Settings.from_mapping({"seed": "abc"})


def test_a_namespace_clock_moves_only_that_namespace() -> None:
    app = create_app()
    runtime: Runtime = app.state.runtime
    # 2001-09-09: in "past", a scheduledTime in 2002 lies ahead; for everyone else it is gone.
    runtime.use_clock("past", VirtualClock(1_000_000_000.0))
    schedule = {"scheduledTime": "2002-01-01 00:00:00", "timeZone": "UTC"}
    with TestClient(app) as c:
        accepted = zoho_send(c, data=schedule, headers=_zoho("past"))
        refused = zoho_send(c, data=schedule, headers=_zoho("other"))
        (stored,) = journal(c, namespace="past")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["send"]["submittedTime"] == 1_000_000_000_000
    assert stored.created_at == 1_000_000_000.0
    assert refused.status_code == 400
    assert "a time in the future" in refused.json()["message"]


def test_a_virtual_clock_is_set_and_advanced() -> None:
    clock = VirtualClock(100.0)
    clock.advance(2.5)
    assert clock() == 102.5
    clock.set(50)
    assert clock() == 50.0
    with pytest.raises(ValueError, match="0 seconds or more"):
        clock.advance(-1)
    runtime = Runtime(clock=lambda: 7.0)
    runtime.use_clock("a", clock)
    assert (runtime.now("a"), runtime.now("b"), runtime.now()) == (50.0, 7.0, 7.0)
    runtime.use_clock("a", None)
    assert runtime.now("a") == 7.0


def test_namespace_clocks_are_bounded() -> None:
    runtime = Runtime(max_clocks=2)
    runtime.use_clock("a", VirtualClock(0))
    runtime.use_clock("b", VirtualClock(0))
    runtime.use_clock("a", VirtualClock(1))  # replacing one is not a new one
    with pytest.raises(MockServerError, match="2 namespaces already have a clock"):
        runtime.use_clock("c", VirtualClock(0))


def test_background_tasks_run_in_the_lifespan_and_are_cancelled_at_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app()
    runtime: Runtime = app.state.runtime
    events: list[str] = []

    async def forever(started: asyncio.Event) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def fails() -> None:
        raise RuntimeError("boom")

    async def main() -> None:
        with pytest.raises(MockServerError, match="lifespan"):
            runtime.spawn(fails)
        async with app.router.lifespan_context(app):
            started = asyncio.Event()
            runtime.spawn(forever, started)
            runtime.spawn(fails)
            await asyncio.wait_for(started.wait(), 5)
            await asyncio.sleep(0.01)
            events.append("still running")
        events.append("closed")

    with caplog.at_level(logging.ERROR, logger="mockserver"):
        asyncio.run(main())
    assert events == ["still running", "cancelled", "closed"]
    assert "background task" in caplog.text
    assert "boom" in caplog.text


def _zoho(namespace: str) -> dict[str, Any]:
    return {"Authorization": "Zoho-oauthtoken test-token", "X-Mock-Namespace": namespace}
