"""MockServer on a real socket, and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mockserver import MockServer
from mockserver.contracts import fixtures_dir
from mockserver.errors import NoMessageError
from mockserver.store.urls import DATA_DIR_ENV

from .conftest import VALID_SMS, ZOHO_AUTH, ZOHO_PATH

SAMPLE_CTYPE = "multipart/form-data; boundary=----smsmockBoundary7MA4YWxkTrZu0gW"


def test_live_server_round_trip() -> None:
    with MockServer() as mock:
        assert mock.port != 0
        response = httpx.post(
            mock.url + ZOHO_PATH,
            headers=ZOHO_AUTH,
            files={"sms_data": (None, json.dumps(VALID_SMS))},
        )
        assert response.status_code == 200
        assert [m.to for m in mock.messages()] == ["+14155550100"]
        assert mock.wait_for(to="+14155550100", timeout=1).text == VALID_SMS["message"]
        assert mock.health()["store"]["messages"] == 1
        assert mock.reset() == 1
        assert mock.messages() == []
        # The same helpers on a server that is already running.
        with MockServer.connect(mock.url) as other:
            assert other.messages() == []
            with pytest.raises(NoMessageError, match=r"arrived within 0\.1 s"):
                other.wait_for(to="+14155550100", timeout=0.1)


def test_serve_prints_url_and_routes_then_answers_curl_style_requests(tmp_path: Path) -> None:
    # The default store is the SQLite file in the data directory.
    env = {**os.environ, DATA_DIR_ENV: str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("sms-mockserver "), first
        url = first.rsplit(" ", 1)[-1].strip()
        assert proc.stdout.readline().strip() == f"store: sqlite://{tmp_path}/journal.sqlite3"
        lines = [proc.stdout.readline() for _ in range(7)]
        assert any("POST" in ln and url + ZOHO_PATH in ln for ln in lines), lines
        # The document's sample request, as literal bytes.
        body = (fixtures_dir() / "zoho_voice" / "sample_request.multipart").read_bytes()
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.post(
                    url + ZOHO_PATH,
                    content=body,
                    headers={
                        **ZOHO_AUTH,
                        "Content-Type": SAMPLE_CTYPE,
                    },
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200
        assert response.json()["send"]["isMMS"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_contracts_check_passes_on_a_clean_tree() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "contracts", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
