"""Zoho Voice's own settings: the ``[zoho_voice]`` table of a settings file.

Each is a behaviour the Zoho Voice documents leave open (README, "Settings"); the flat names
of earlier versions (``zoho_error_status``) are still read, with a deprecation message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..config import ProviderSettings, frozen
from ..contracts import Overrides
from ..errors import MockServerError

__all__ = ["ZohoSettings"]


@dataclass(frozen=True, slots=True)
class ZohoSettings(ProviderSettings):
    """Zoho Voice settings; defaults are documented in the README."""

    TABLE: ClassVar[str] = "zoho_voice"
    FLAT_PREFIX: ClassVar[str] = "zoho_"
    KINDS: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {
            "auth_error_body": "mapping",
            "contacts": "mapping",
            "templates": "mapping",
            "allowed_countries": ("set", None),
            "accepted_tokens": ("set", None),
            "error_detail": bool,
            "user_name": str,
            "email": str,
            "bucket_name": str,
            "account_timezone": str,
            "status_push_format": str,
        }
    )
    POSITIVE: ClassVar[tuple[str, ...]] = ("max_message_length", "max_media_files")
    HTTP_STATUSES: ClassVar[tuple[str, ...]] = ("error_status", "auth_error_status")
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType(
        {"status_push_format": ("json", "form")}
    )

    #: HTTP status of ZVSMS error bodies (not documented; some clients expect 200).
    error_status: int = 400
    #: HTTP status and body for a missing or rejected token (not documented for Voice).
    auth_error_status: int = 401
    auth_error_body: Mapping[str, Any] = field(
        default_factory=lambda: frozen(
            {"status": "ERROR", "code": "INVALID_OAUTHTOKEN", "message": "Invalid OAuth token"}
        )
    )
    #: True: error messages name the field and what was expected. False: the provider's bare
    #: documented wording ("Bad Request").
    error_detail: bool = True
    #: Zoho's v1 page says 1000 characters, the older KB 10,000 (both pages are cited in
    #: contracts/zoho_voice/send_sms.toml).
    max_message_length: int = 1000
    #: Lower-case ISO-2 codes accepted as destinations; ``None`` accepts every country.
    allowed_countries: frozenset[str] | None = None
    #: Tokens accepted after ``Zoho-oauthtoken ``; ``None`` accepts any non-empty token.
    accepted_tokens: frozenset[str] | None = None
    #: The account identity echoed in ``send.userName`` / ``send.email``.
    user_name: str = "Mock User"
    email: str = "mock.user@example.com"
    #: How many ``mms_media`` files one send may carry. The document shows one part; that
    #: ``mmsMeta`` is an array suggests more may be allowed (Zoho does not say).
    max_media_files: int = 1
    #: ``mmsMeta[].bucketName`` of stored media.
    bucket_name: str = "zohovoice-mms-mock"
    #: Contact names by E.164 number, used for ``send.customerName``.
    contacts: Mapping[str, str] = field(default_factory=lambda: frozen({}))
    #: Zone used for ``sentTime`` and for ``scheduledTime`` when no ``timeZone`` is sent.
    account_timezone: str = "UTC"
    #: Templates by ``templateId`` (a positive whole number, written as a string key) ->
    #: text.  Empty (the default): any positive templateId is accepted and changes nothing.
    #: Set: a known templateId sends the template's text (``sms_data.message`` optional), an
    #: unknown one is refused naming templateId.
    templates: Mapping[str, str] = field(default_factory=lambda: frozen({}))
    #: Body of a status push: ``json`` or ``form`` (INFERENCE: Zoho publishes no payload).
    status_push_format: str = "json"

    def check(self) -> None:
        """The auth body, the zone and the templates."""
        if self.allowed_countries is not None:  # ISO-2 codes, compared in lower case
            lowered = frozenset(c.lower() for c in self.allowed_countries)
            object.__setattr__(self, "allowed_countries", lowered)
        if "INVALID_OAUTHTOKEN" not in repr(dict(self.auth_error_body)):
            raise MockServerError(
                f"sms-mockserver: {self.label('auth_error_body')} must contain "
                "INVALID_OAUTHTOKEN, the literal Zoho clients look for"
            )
        try:
            ZoneInfo(self.account_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise MockServerError(
                f"sms-mockserver: {self.label('account_timezone')} {self.account_timezone!r} "
                "is not an IANA time zone name (e.g. UTC, Asia/Kolkata)"
            ) from None
        for key, text in self.templates.items():
            if not (str(key).isascii() and str(key).isdigit() and int(key) >= 1) or not (
                isinstance(text, str) and text
            ):
                raise MockServerError(
                    f"sms-mockserver: {self.label('templates')} maps template ids (positive "
                    f'whole numbers, as keys: "1234" = "text") to non-empty text, got '
                    f"{key!r} = {text!r}"
                )

    def contract_overrides(self) -> Overrides:
        """The message length and the error statuses are settings."""
        return {
            "zohoVoiceSendSmsV2": {
                "fields": {"sms_data.message": {"max_length": self.max_message_length}},
                "statuses": {"error": self.error_status, "auth_error": self.auth_error_status},
            }
        }
