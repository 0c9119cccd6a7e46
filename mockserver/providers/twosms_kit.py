"""What the contract kit needs to know of 2sms beyond its OpenAPI document.

The kit (:mod:`mockserver.kit`) runs schemathesis over the provider's generated document;
this module tells it how to get a token and which generated requests break a rule the
document can only state in words.  No schemathesis import: checks are named.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import httpx

from ..config import Settings
from ..errors import MockServerError, Reject
from .twosms_schedule import check_schedule

__all__ = ["CREDENTIAL_NAMES", "breaks_business_rule", "credentials", "unheld_checks"]

#: The kit's credentials: the OAuth2 client credentials it exchanges at ``POST /Token``.
CREDENTIAL_NAMES = {
    "client_id": "2sms client id, exchanged with the secret at POST /Token for a bearer token",
    "client_secret": "2sms client secret",
}

_FORM = "application/x-www-form-urlencoded"


@functools.cache
def _defaults() -> Settings:
    # Made on first use: building Settings reads the provider registry, which is still
    # being imported when this module is.
    return Settings()


def breaks_business_rule(body: Any) -> bool:
    """True when a generated 2sms MessageV2 breaks a rule the schema cannot state.

    The contract records these as business rules (send_messages.toml inferences): at least
    one recipient across the three Contacts maps; Content unless a Template is given; a
    Template.ID among the configured templates (a generated GUID never is); RecurringOptions
    when Type is Recurring; recurrence and repeat values the mock can read (its readings of
    fields the document leaves unexplained, :mod:`mockserver.providers.twosms_schedule`).
    """
    if not isinstance(body, dict):
        return False
    contacts = body.get("Contacts")
    if not isinstance(contacts, dict) or not any(
        contacts.get(k) for k in ("ContactID", "GroupID", "QuickRecipients")
    ):
        return True
    if body.get("Template"):
        return True
    if not body.get("Content"):
        return True
    options = body.get("Options")
    recurring = body.get("Type") == 2
    if recurring and not (isinstance(options, dict) and options.get("RecurringOptions")):
        return True
    try:
        check_schedule(options if isinstance(options, dict) else {}, recurring, _defaults())
    except (Reject, TypeError, AttributeError):
        return True
    return False


def unheld_checks(path: str, media_type: str | None, body: Any) -> frozenset[str]:
    """A form body: schemathesis serialises nested objects in a urlencoded body without
    ASP.NET's model-binding keys (``Options.Reads``), so its acceptance verdicts are about
    its serialiser, not the server (a known schemathesis limitation with nested urlencoded
    bodies); the answers are still checked against the contract.  A JSON body that breaks a
    business rule is refused, rightly."""
    if path == "/Token":
        return frozenset()
    if media_type == _FORM:
        return frozenset({"positive_data_acceptance", "negative_data_rejection"})
    return frozenset({"positive_data_acceptance"}) if breaks_business_rule(body) else frozenset()


def credentials(http: httpx.Client, given: Mapping[str, str]) -> dict[str, str]:
    """A bearer token from ``POST /Token`` (OAuth2 client credentials)."""
    answer = http.post(
        "/Token",
        data={
            "grant_type": "client_credentials",
            "client_id": given["client_id"],
            "client_secret": given["client_secret"],
        },
        timeout=30,
    )
    if answer.status_code != 200:
        raise MockServerError(
            f"sms-mockserver check: POST {http.base_url}Token answered "
            f"{answer.status_code}: {answer.text[:200]} (check --client-id and "
            "--client-secret)"
        )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
