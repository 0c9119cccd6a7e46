"""Credentials for the schemathesis runs, without undoing the negative cases that drop them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation


def auth_for(case: schemathesis.Case[Any], auth: Mapping[str, str]) -> dict[str, str] | None:
    """The headers to add to ``case``: ``auth``, unless the case's headers are the negative part.

    Schemathesis makes a negative case by, among others, leaving out the required
    ``Authorization`` header.  Passing our credentials over it would send a valid request
    that the negative-data check still expects to be refused (seen as a flaky ST201 when the
    same case also mutated a part the mock rightly accepts), so such a case goes out as
    generated and must get the provider's 401.
    """
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        return None
    return dict(auth)
