"""Contracts as data: drift, provenance, and the documents' samples against the schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema_rs
import pytest

from mockserver.contracts import (
    PROVIDERS,
    Field,
    build_schema,
    contracts_dir,
    fixtures_dir,
    load_contract,
    render_openapi,
)
from mockserver.errors import ContractError
from mockserver.validation import FORMAT_CHECKERS

AVAILABLE = PROVIDERS


@pytest.mark.parametrize("provider", AVAILABLE)
def test_committed_openapi_matches_the_field_tables(provider: str) -> None:
    committed = (contracts_dir() / provider / "openapi.json").read_bytes()
    assert committed == render_openapi(provider), (
        f"contracts/{provider}/openapi.json is stale: run `make contracts` and commit it"
    )


@pytest.mark.parametrize("provider", AVAILABLE)
def test_generation_is_deterministic(provider: str) -> None:
    # Fresh interpreters with different hash seeds: set and dict order may not leak in.
    script = (
        "import sys; from mockserver.contracts import render_openapi; "
        f"sys.stdout.buffer.write(render_openapi({provider!r}))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {render_openapi(provider)}


@pytest.mark.parametrize("provider", AVAILABLE)
def test_every_entry_names_its_source_section(provider: str) -> None:
    for op in load_contract(provider).operations:
        entries = [*op.request, *(f for body in op.bodies.values() for f in body)]
        missing = [f.name for f in entries if not f.section]
        assert not missing, f"{op.id}: entries without a section: {missing}"


@pytest.mark.parametrize("provider", AVAILABLE)
def test_every_example_satisfies_its_own_entry(provider: str) -> None:
    for op in load_contract(provider).operations:
        for f in op.request:
            if f.example is None:
                continue
            leaf = build_schema(
                [Field(name="x", type=f.type, format=f.format, constraints=f.constraints)]
            )["properties"]["x"]
            validator = jsonschema_rs.validator_for(
                leaf, formats=dict(FORMAT_CHECKERS), validate_formats=True
            )
            assert validator.is_valid(f.example), f"{op.id} {f.name}: example {f.example!r}"


@pytest.mark.parametrize("provider", AVAILABLE)
def test_documented_sample_responses_validate(provider: str) -> None:
    checked = 0
    for op in load_contract(provider).operations:
        for kind, spec in op.responses.items():
            if "example" not in spec:
                continue
            sample = json.loads((fixtures_dir() / spec["example"]).read_text("utf-8"))
            validator = jsonschema_rs.validator_for(op.response_schema(kind), validate_formats=True)
            errors = [e.message for e in validator.iter_errors(sample)]
            assert not errors, f"{spec['example']}: {errors}"
            checked += 1
    assert checked


def test_zoho_request_table_has_every_documented_parameter() -> None:
    op = load_contract("zoho_voice").operation("zohoVoiceSendSmsV2")
    names = [f.name for f in op.request]
    assert names[:2] == ["mms_media", "sms_data"]
    for name in (
        "sms_data.customerNumber",
        "sms_data.message",
        "sms_data.senderId",
        "sms_data.mms",
        "templateId",
        "scheduledTime",
        "timeZone",
    ):
        assert name in names
    assert op.auth is not None
    assert op.auth["scheme"] == "Zoho-oauthtoken"
    assert [h["name"] for h in op.headers] == ["Accept"]
    assert op.field("sms_data").media_type == "application/json"


def test_zoho_openapi_describes_the_multipart_json_part() -> None:
    doc = json.loads(render_openapi("zoho_voice"))
    post = doc["paths"]["/rest/json/v2/sms/send"]["post"]
    media = post["requestBody"]["content"]["multipart/form-data"]
    assert media["encoding"] == {"sms_data": {"contentType": "application/json"}}
    assert media["schema"]["required"] == ["sms_data"]
    assert media["schema"]["properties"]["sms_data"]["required"] == [
        "customerNumber",
        "message",
        "senderId",
    ]
    assert set(post["responses"]) == {"200", "400", "401", "405", "507"}
    assert doc["components"]["securitySchemes"]["zoho_voice_zoho_oauthtoken"]["name"] == (
        "Authorization"
    )


def test_build_schema_nests_paths_arrays_and_maps() -> None:
    schema = build_schema(
        [
            Field("a", "object", required=True),
            Field("a.list", "array"),
            Field("a.list[]", "object"),
            Field("a.list[].id", "string", required=True),
            Field("m", "map"),
            Field("m{}", "integer", format="int32"),
        ]
    )
    assert schema["required"] == ["a"]
    item = schema["properties"]["a"]["properties"]["list"]["items"]
    assert item["required"] == ["id"]
    values = schema["properties"]["m"]["additionalProperties"]
    assert (values["type"], values["maximum"]) == ("integer", 2**31 - 1)


def test_bad_field_entries_are_refused() -> None:
    with pytest.raises(ContractError, match="unknown keys"):
        Field.from_toml({"name": "a", "type": "string", "colour": "red"}, "x")
    with pytest.raises(ContractError, match="type 'text'"):
        Field.from_toml({"name": "a", "type": "text"}, "x")


@pytest.mark.parametrize("provider", AVAILABLE)
def test_every_setting_named_in_a_contract_exists(provider: str) -> None:
    import dataclasses

    from mockserver import Settings
    from mockserver.providers import PROVIDERS

    own = PROVIDERS[provider].settings_class
    names = {f.name for f in dataclasses.fields(Settings)}
    names |= {f"[{own.TABLE}] {f.name}" for f in dataclasses.fields(own)}
    for op in load_contract(provider).operations:
        named = [f.setting for f in op.request if f.setting]
        named += [spec["setting"] for spec in op.responses.values() if "setting" in spec]
        assert set(named) <= names, f"{op.id}: {sorted(set(named) - names)}"


def test_served_contract_follows_the_settings() -> None:
    from mockserver import Settings, TwoSmsSettings, ZohoSettings
    from mockserver.contracts import openapi_document

    settings = Settings().using(
        ZohoSettings(max_message_length=10_000, error_status=200),
        TwoSmsSettings(message_types={"Advanced": 0, "Standard": 1, "Flash": 5}),
    )
    zoho = openapi_document("zoho_voice", settings.contract_overrides())
    post = zoho["paths"]["/rest/json/v2/sms/send"]["post"]
    media = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert media["properties"]["sms_data"]["properties"]["message"]["maxLength"] == 10_000
    assert "400" not in post["responses"]
    assert len(post["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]) == 2
    twosms = openapi_document("twosms", settings.contract_overrides())
    send = twosms["paths"]["/api/v2/sms/messages"]["post"]
    type_ = send["requestBody"]["content"]["application/json"]["schema"]["properties"]["Type"]
    assert (type_["enum"], type_["x-enum-names"]) == ([0, 1, 5], ["Advanced", "Standard", "Flash"])


def test_every_contract_folder_has_a_provider_module_and_back() -> None:
    from mockserver.providers import PROVIDERS as MODULES

    assert set(PROVIDERS) == set(MODULES)
