"""What the contract kit needs to know of Zoho Voice beyond its OpenAPI document.

The kit (:mod:`mockserver.kit`) runs schemathesis over the provider's generated document;
this module tells it how to authenticate and which generated requests break a rule the
document can only state in words.  No schemathesis import: checks are named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["CREDENTIAL_NAMES", "breaks_cross_part_rule", "credentials", "unheld_checks"]

#: The kit's one credential: the OAuth token itself (Zoho Voice API, "Authorization").
CREDENTIAL_NAMES = {"token": "Zoho OAuth token, sent as Authorization: Zoho-oauthtoken <token>"}


def breaks_cross_part_rule(body: Any) -> bool:
    """True when a generated Zoho body breaks a rule that spans two parts.

    "sms_data.mms is true exactly when an mms_media file is attached" (and that file is not
    empty) cannot be written in the OpenAPI schema in a way schemathesis can generate from
    (an if/then over a multipart body fails its binary serializer), so the contract states it
    in words and the mock enforces it.
    """
    if not isinstance(body, dict) or not isinstance(body.get("sms_data"), dict):
        return False
    mms = body["sms_data"].get("mms", False)
    media = body.get("mms_media")
    return (mms is True) != (media is not None) or media in (b"", "")


def unheld_checks(path: str, media_type: str | None, body: Any) -> frozenset[str]:
    """A schema-valid body that breaks the cross-part rule is refused, rightly."""
    return frozenset({"positive_data_acceptance"}) if breaks_cross_part_rule(body) else frozenset()


def credentials(http: httpx.Client, given: Mapping[str, str]) -> dict[str, str]:
    """``Authorization: Zoho-oauthtoken <token>`` (no exchange: the token is the
    credential)."""
    return {"Authorization": f"Zoho-oauthtoken {given['token']}"}
