"""The example clients under examples/, checked by the contract kit's client conformance."""

from __future__ import annotations

import broken_zoho_voice_client  # examples/ is on the path (pytest's pythonpath setting)
import pytest
import twosms_client
import zoho_voice_client

from mockserver.conformance import ClientConformanceError, Outgoing, check_client


def test_the_zoho_voice_example_client_conforms() -> None:
    def send(base_url: str, sms: Outgoing) -> object:
        client = zoho_voice_client.ZohoVoiceClient(base_url, token="dev")
        return client.send_sms(sms.to, sms.text, sms.sender)

    check_client("zoho_voice", send, expected_errors=(zoho_voice_client.ZohoVoiceError,))


def test_the_twosms_example_client_conforms() -> None:
    def send(base_url: str, sms: Outgoing) -> object:
        client = twosms_client.TwoSmsClient(base_url, client_id="app", client_secret="s3")
        return client.send_sms(sms.to, sms.text)

    check_client("twosms", send, expected_errors=(twosms_client.TwoSmsError,))


def test_the_broken_client_is_reported_with_the_field_it_gets_wrong() -> None:
    def send(base_url: str, sms: Outgoing) -> object:
        return broken_zoho_voice_client.send_sms(base_url, "dev", sms.to, sms.text, sms.sender)

    with pytest.raises(ClientConformanceError) as caught:
        check_client("zoho_voice", send, max_examples=5)
    message = str(caught.value)
    assert "broke the zoho_voice contract" in message
    assert "sms_data.customerNumber: sent " in message
    assert "contract: expected a string, got a whole number" in message


def test_a_client_that_crashes_on_error_answers_is_reported_per_answer() -> None:
    def send(base_url: str, sms: Outgoing) -> object:
        # Sends correctly, but reads the success body from every answer.
        client = zoho_voice_client.ZohoVoiceClient(base_url, token="dev")
        try:
            return client.send_sms(sms.to, sms.text, sms.sender)
        except zoho_voice_client.ZohoVoiceError as exc:
            raise KeyError("send") from exc

    with pytest.raises(ClientConformanceError) as caught:
        check_client("zoho_voice", send, max_examples=3)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("sms-mockserver: the client does not cope with documented answers")
    assert "  ZVSMS-4038 (country not supported): the client crashed with KeyError('send')" in lines
    assert len(lines) == 5  # each of the four error answers
