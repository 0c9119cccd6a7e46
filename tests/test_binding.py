"""Binding bodies to the contract's names: unknown members and their near misses."""

from __future__ import annotations

from mockserver import Settings
from mockserver.binding import Binder
from mockserver.contracts import load_contract
from mockserver.errors import NEAR_MISSES_CHECKED
from mockserver.validation import RequestValidator


def _message_v2() -> tuple[Binder, RequestValidator]:
    contract = load_contract("twosms").operation("twosmsSendMessagesV2")
    validator = RequestValidator(contract, Settings().contract_overrides()[contract.id]["fields"])
    return Binder(validator.schema, "MessageV2"), validator


def test_only_the_first_unknown_members_are_checked_for_a_near_miss() -> None:
    # difflib costs about 100 us a name: 50,000 unknown members took 5 s before the cap.
    misspelt = {f"Content{i:03d}": "hi" for i in range(NEAR_MISSES_CHECKED + 50)}
    _, unknown = _message_v2()[0].bind_json({"Type": 1, **misspelt})
    assert len(unknown) == NEAR_MISSES_CHECKED + 50
    assert [p.near for p in unknown[:NEAR_MISSES_CHECKED]] == ["Content"] * NEAR_MISSES_CHECKED
    assert {p.near for p in unknown[NEAR_MISSES_CHECKED:]} == {None}
    assert unknown[-1].expected == "not a field of MessageV2 (ignored)"


def test_a_form_s_unknown_keys_are_checked_the_same_way() -> None:
    keys = "&".join(f"Content{i:03d}=hi" for i in range(NEAR_MISSES_CHECKED + 50))
    binder, validator = _message_v2()
    _, unknown = binder.bind_form(
        validator.fields, f"Type=1&{keys}".encode(), "application/x-www-form-urlencoded"
    )
    assert [p.near for p in unknown[:NEAR_MISSES_CHECKED]] == ["Content"] * NEAR_MISSES_CHECKED
    assert {p.near for p in unknown[NEAR_MISSES_CHECKED:]} == {None}
