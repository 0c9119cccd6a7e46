"""Checking a large send's numbers in helper processes: the same parses, whatever happens
to the helpers."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from mockserver import Settings, number_pool
from mockserver.number_pool import AHEAD_MIN, parse_ahead, serve_helper, stop_helpers
from mockserver.sms import check_number, parse_number, unparsed

from .conftest import make_client


def _numbers(area: str, count: int) -> list[str]:
    """``count`` numbers of a NANP area code, none of them parsed before (each test its own
    area code: the cache is the process's), every 7th one not valid (exchange 0xx)."""
    return [
        f"+1{area}0{n:06d}" if n % 7 == 0 else f"+1{area}{2_000_000 + n:07d}" for n in range(count)
    ]


def _helper_runs(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    """Helpers run ``source`` (Python) instead of the real helper."""
    monkeypatch.setattr(number_pool, "_HELPER", [sys.executable, "-c", source])


def _as_parse_number_checks(raws: list[str]) -> bool:
    """Whether every kept parse of ``raws`` is what parse_number's own check gives."""
    return [parse_number(raw) for raw in raws] == [check_number(raw) for raw in raws]


@pytest.fixture(autouse=True)
def _fresh_helpers() -> Iterator[None]:
    stop_helpers()
    yield
    stop_helpers()


def test_a_helper_answers_a_line_of_numbers_with_a_line_of_parses() -> None:
    line = b'["+12125550150", "+447700900123", "+12120000000", "nonsense"]\n'
    helper = subprocess.run(
        number_pool._HELPER, input=line, capture_output=True, check=True, timeout=60
    )
    assert orjson.loads(helper.stdout) == [
        {
            "e164": "+12125550150",
            "country_code": 1,
            "national": "2125550150",
            "region": "us",
            "test": True,
        },
        {
            "e164": "+447700900123",
            "country_code": 44,
            "national": "7700900123",
            "region": "gb",
            "test": True,
        },
        None,
        None,
    ]
    assert helper.stdout.endswith(b"\n")
    assert helper.stderr == b""


def test_serve_helper_reads_until_its_input_closes() -> None:
    sink = io.BytesIO()
    serve_helper(io.BytesIO(b'["+12125550150"]\n["x"]\n'), sink)
    assert sink.getvalue() == (
        b'[{"e164":"+12125550150","country_code":1,"national":"2125550150","region":"us",'
        b'"test":true}]\n[null]\n'
    )


def test_numbers_checked_ahead_are_parse_numbers_own() -> None:
    raws = _numbers("646", AHEAD_MIN + 500)
    parse_ahead(raws, 1)
    assert unparsed(raws) == []
    assert _as_parse_number_checks(raws)
    assert sum(parse_number(raw) is None for raw in raws) == len(raws[::7])


def test_without_helpers_or_with_few_numbers_nothing_is_checked_ahead() -> None:
    off = _numbers("718", AHEAD_MIN)
    parse_ahead(off, 0)
    assert unparsed(off) == off
    few = _numbers("917", AHEAD_MIN - 1)
    parse_ahead(few, 1)
    assert unparsed(few) == few


def test_a_helper_that_dies_leaves_its_numbers_to_parse_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A helper that answers its first line, then exits.
    once = (
        "import io, sys\n"
        "from mockserver.number_pool import serve_helper\n"
        "serve_helper(io.BytesIO(sys.stdin.buffer.readline()), sys.stdout.buffer)\n"
    )
    _helper_runs(monkeypatch, once)
    raws = _numbers("347", AHEAD_MIN * 4)
    parse_ahead(raws, 1)
    # What the helper did not check is checked in the calling thread, when asked for.
    assert _as_parse_number_checks(raws)
    assert number_pool._gave_up is None  # it did answer once: it is started again
    # The next large send starts a helper again.
    monkeypatch.undo()
    again = _numbers("929", AHEAD_MIN)
    parse_ahead(again, 1)
    assert unparsed(again) == []
    assert _as_parse_number_checks(again)


def test_helpers_that_cannot_start_are_given_up_once_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    starts = tmp_path / "starts"
    failing = f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(1)"
    _helper_runs(monkeypatch, failing)
    first, second = _numbers("412", AHEAD_MIN), _numbers("614", AHEAD_MIN)
    with caplog.at_level(logging.WARNING, logger="mockserver"):
        parse_ahead(first, 1)
        parse_ahead(second, 1)
    assert starts.read_text() == "x"  # the second send did not try again
    (warning,) = [r.getMessage() for r in caplog.records if "number helper" in r.getMessage()]
    assert "a new one did not answer" in warning
    assert _as_parse_number_checks(first + second)
    stop_helpers()  # a fresh start tries again
    parse_ahead(_numbers("713", AHEAD_MIN), 1)
    assert starts.read_text() == "xx"


def test_the_helpers_take_chunks_from_the_front_and_the_thread_from_the_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A helper whose every parse is marked (region "zz"), to see who checked what.
    fake = (
        "import sys, json\n"
        "for line in sys.stdin:\n"
        "    n = len(json.loads(line))\n"
        "    row = {'e164': '+10000000000', 'country_code': 1, 'national': '0000000000',\n"
        "           'region': 'zz', 'test': False}\n"
        "    print(json.dumps([row] * n), flush=True)\n"
    )
    _helper_runs(monkeypatch, fake)
    raws = _numbers("206", AHEAD_MIN * 4)
    parse_ahead(raws, 1)
    regions = [number.region if number else None for number in map(parse_number, raws)]
    by_helper = [i for i, region in enumerate(regions) if region == "zz"]
    assert by_helper, "the helper checked no chunk"
    assert by_helper == list(range(len(by_helper)))  # a front run of whole chunks
    assert len(by_helper) % number_pool.CHUNK == 0
    rest = raws[len(by_helper) :]
    assert _as_parse_number_checks(rest)


def test_health_shows_the_helpers_running_their_limit_and_why_they_are_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with make_client(Settings(number_processes=1)) as client:
        assert client.get("/_mock/health").json()["number_helpers"] == {
            "running": 0,
            "limit": 1,
            "off": None,
        }
        parse_ahead(_numbers("480", AHEAD_MIN), 1)
        assert client.get("/_mock/health").json()["number_helpers"]["running"] == 1
        stop_helpers()
        _helper_runs(monkeypatch, "raise SystemExit(1)")
        parse_ahead(_numbers("520", AHEAD_MIN), 1)
        helpers = client.get("/_mock/health").json()["number_helpers"]
    assert helpers["running"] == 0
    assert helpers["off"].startswith("a new one did not answer")
