"""bench/store_bounds.py: the pure helpers (nothing here is timed)."""

from __future__ import annotations

from bench.store_bounds import Figure, numbers, percentile, render, twosms_body
from mockserver.sms import parse_number


def test_numbers_are_valid_and_distinct() -> None:
    made = numbers(500, 100)
    assert len(set(made)) == 500
    assert all(parse_number(n) is not None for n in made)


def test_twosms_body_sends_email_only_recipients() -> None:
    body = twosms_body(["+12122000000", "+12122000001"])
    assert body["Contacts"]["QuickRecipients"] == {"+12122000000": 1, "+12122000001": 1}
    assert body["Type"] == 1


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([5.0], 0.5) == 5.0


def test_render_shows_each_figure_its_target_and_note() -> None:
    table = render(
        [
            Figure("ring", "memory", "messages kept", 10_000, "", "10,000", True),
            Figure("big_send", "sqlite", "RSS growth", 54.0, "MB", "< 50", False, "a note"),
        ]
    )
    lines = table.splitlines()
    assert "10,000" in lines[1]
    assert lines[1].endswith("PASS")
    assert "54.0 MB" in lines[2]
    assert lines[2].endswith("FAIL")
    assert lines[3].strip() == "(a note)"
