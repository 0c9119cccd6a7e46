"""bench/run.py: reading wrk's report and reducing rounds to a verdict (no load is run here)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from bench import ab
from bench.run import (
    PAIRS,
    REPO,
    BenchError,
    Options,
    PairResult,
    WrkResult,
    lua_string,
    median_run,
    parse_args,
    parse_wrk,
    render_table,
    results_json,
)

WRK_REPORT = """\
Running 8s test @ http://127.0.0.1:8931/api/v2/sms/messages
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.59ms  412.13us  12.27ms   91.61%
    Req/Sec    20.15k     1.52k   22.01k    81.25%
  Latency Distribution
     50%  812.00us
     75%    1.66ms
     90%    1.87ms
     99%    1.02s
  160405 requests in 8.00s, 114.90MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 3
Requests/sec:  20049.19
Transfer/sec:     14.36MB
"""

ENV = {
    "python": "3.11",
    "starlette": "1",
    "uvicorn": "0",
    "wrk": "4",
    "cpu": "cpu",
    "cores": 2,
    "platform": "linux",
}


def run(rps: float) -> WrkResult:
    return WrkResult(rps, 1.0, 2.0, int(rps * 10), 0, dict.fromkeys(("connect", "read"), 0))


def test_parse_wrk_reads_every_number_in_its_unit() -> None:
    result = parse_wrk(WRK_REPORT)
    assert result.requests_per_sec == 20049.19
    assert result.p50_ms == pytest.approx(0.812)
    assert result.p99_ms == pytest.approx(1020.0)
    assert result.requests == 160405
    assert result.non_2xx == 3
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 5}
    assert not result.clean


def test_parse_wrk_refuses_a_report_without_numbers() -> None:
    with pytest.raises(BenchError, match="cannot read wrk output"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_verdict_is_the_median_of_the_round_ratios() -> None:
    pair = dataclasses.replace(PAIRS[0], ratio_target=0.75)
    # Round ratios 0.70, 0.80, 0.90: the median is the middle round's, not the ratio of
    # the median req/s (20,000 / 16,000 would be 0.80 as well, so make them differ).
    result = PairResult(
        pair,
        bare=(run(10_000), run(20_000), run(30_000)),
        mock=(run(7_000), run(16_000), run(27_000)),
    )
    assert result.ratios == pytest.approx([0.7, 0.8, 0.9])
    assert result.ratio == pytest.approx(0.8)
    assert result.verdict == "PASS"
    low = PairResult(pair, bare=(run(100), run(100)), mock=(run(70), run(74)))
    assert low.ratio == pytest.approx(0.72)
    assert low.verdict == "BELOW TARGET"
    assert median_run(low.mock).requests_per_sec == 70  # the lower middle of an even count


def test_table_and_json_show_every_round() -> None:
    result = PairResult(PAIRS[0], bare=(run(100), run(110)), mock=(run(90), run(88)))
    options = Options(connections=32, warmup=1, duration=2, rounds=2)
    table = render_table([result], ENV, options)
    assert "2 round(s)" in table
    assert "(rounds: 0.90 0.80)" in table
    data = results_json([result], ENV, options)
    (pair,) = data["pairs"]
    assert [r["requests_per_sec"] for r in pair["mock"]["rounds"]] == [90, 88]
    assert pair["ratio"] == pytest.approx(0.85)
    assert data["clean"] is True


def test_options() -> None:
    options = parse_args(["--rounds", "5", "--pair", "2sms send"])
    assert (options.rounds, options.pairs) == (5, ("2sms send",))
    assert parse_args([]).rounds == 3
    with pytest.raises(SystemExit):
        parse_args(["--pair", "no such pair"])
    with pytest.raises(SystemExit):
        parse_args(["--rounds", "0"])


def test_lua_string_escapes_what_lua_would_read_otherwise() -> None:
    assert lua_string(b'a"b\\c\r\n\xff') == '"a\\034b\\092c\\013\\010\\255"'


def test_ab_wants_two_revisions_and_checks_out_each_into_its_own_worktree(
    tmp_path: Path,
) -> None:
    with pytest.raises(SystemExit) as refused:
        ab.main(["HEAD"])
    assert refused.value.code == 2
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: bench/ab.py compares git revisions")
    tree = ab._worktree("HEAD", tmp_path)
    try:
        assert (tree / "bench" / "mock_app.py").is_file()
        assert (tree / "mockserver" / "pipeline.py").is_file()
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=True
        )
