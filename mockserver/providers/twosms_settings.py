"""2sms's own settings: the ``[twosms]`` table of a settings file.

Each is a behaviour the 2sms documents leave open (README, "Settings"); the flat names of
earlier versions (``twosms_error_status``) are still read, with a deprecation message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from ..config import ProviderSettings, frozen
from ..contracts import Overrides
from ..errors import MockServerError

__all__ = ["RECURRENCE_RANGES", "TwoSmsSettings"]

#: The ways a 2sms recurrence can end (``recurrence_ranges`` numbers them).
RECURRENCE_RANGES = ("NoEndDate", "OccurrenceCount", "EndByDate")


@dataclass(frozen=True, slots=True)
class TwoSmsSettings(ProviderSettings):
    """2sms settings; defaults are documented in the README."""

    TABLE: ClassVar[str] = "twosms"
    FLAT_PREFIX: ClassVar[str] = "twosms_"
    KINDS: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {
            "clients": ("mapping", None),
            "templates": "mapping",
            "message_types": "mapping",
            "quick_recipient_types": "mapping",
            "recurrence_ranges": "mapping",
            "status_push_format": str,
        }
    )
    POSITIVE: ClassVar[tuple[str, ...]] = ("token_lifetime_seconds", "repeat_frequency_seconds")
    HTTP_STATUSES: ClassVar[tuple[str, ...]] = ("error_status",)
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType(
        {"status_push_format": ("form", "json")}
    )

    #: HTTP status of envelope errors (not documented; the envelope may well come with 200).
    error_status: int = 400
    #: Access-token lifetime: "expires after 8 hours" (2sms US "SMS Plus / RESTful API" page,
    #: https://us.2sms.us/2020/06/30/smsplus/).
    token_lifetime_seconds: int = 28_800
    #: client_id -> client_secret accepted by POST /Token; ``None`` accepts any non-empty pair.
    clients: Mapping[str, str] | None = None
    #: Credits each account (client_id) starts with; one credit per SMS segment per recipient.
    starting_credits: int = 1_000
    #: Known templates: Template.ID (GUID) -> text with ``{N}`` placeholders. The default holds
    #: the document's sample ID, so its sample request can be sent.
    templates: Mapping[str, str] = field(
        default_factory=lambda: frozen(
            {"86dc152b-ccbb-4be8-b283-fdd250329113": "Hello {1}, your reference is {3}."}
        )
    )
    #: MessageRequestType members, name -> number (INFERENCE: 2sms documents only 1 = Standard;
    #: the reasoning is in the ``Type`` entry of contracts/twosms/send_messages.toml).
    message_types: Mapping[str, int] = field(
        default_factory=lambda: frozen({"Advanced": 0, "Standard": 1, "Recurring": 2})
    )
    #: QuickRecipients values, name -> number; 2 = Text from the legacy SOAP MessageType.
    quick_recipient_types: Mapping[str, int] = field(
        default_factory=lambda: frozen({"None": 0, "Email": 1, "Text": 2, "EmailAndText": 3})
    )
    #: ``RecurringOptions.Range`` members, name -> number (INFERENCE: the document gives no
    #: values; these are the members of the common .NET scheduler enum ``RecurrenceRange``,
    #: in its order).  NoEndDate: no end; OccurrenceCount: ``OccurrencesEnd`` occurrences;
    #: EndByDate: none after ``Options.ExpiryDate``.
    recurrence_ranges: Mapping[str, int] = field(
        default_factory=lambda: frozen({"NoEndDate": 0, "OccurrenceCount": 1, "EndByDate": 2})
    )
    #: Seconds of one unit of ``Options.Repeat.Frequency`` (INFERENCE: the document does not
    #: say; minutes, as an alert repeated until it is read is usually repeated).
    repeat_frequency_seconds: int = 60
    #: Body of a status push: ``form`` (the default: the 2sms "Status Updates" page
    #: describes an HTTP POST of named values, not a JSON document) or ``json``.
    status_push_format: str = "form"

    def check(self) -> None:
        """The number tables."""
        for name in ("message_types", "quick_recipient_types", "recurrence_ranges"):
            values: Mapping[str, Any] = getattr(self, name)
            if not values or not all(isinstance(v, int) for v in values.values()):
                raise MockServerError(
                    f"sms-mockserver: setting {self.label(name)} must map names to numbers"
                )
        if set(self.recurrence_ranges) != set(RECURRENCE_RANGES):
            raise MockServerError(
                f"sms-mockserver: setting {self.label('recurrence_ranges')} must give a number "
                f"to each of {', '.join(RECURRENCE_RANGES)}, got {dict(self.recurrence_ranges)}"
            )

    def contract_overrides(self) -> Overrides:
        """The ``Type`` and ``QuickRecipients`` numbers and the error status are settings."""
        types, quick = dict(self.message_types), dict(self.quick_recipient_types)
        return {
            "twosmsSendMessagesV2": {
                "fields": {
                    "Type": {"enum": list(types.values()), "enum_names": list(types)},
                    "Contacts.QuickRecipients{}": {
                        "enum": list(quick.values()),
                        "enum_names": list(quick),
                    },
                },
                "statuses": {"error": self.error_status},
            }
        }
