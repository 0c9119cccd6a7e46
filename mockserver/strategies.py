"""Hypothesis strategies for the contracts' custom formats (needs the ``kit`` extra).

``register_formats()`` teaches schemathesis to generate values the mock accepts for
``phone``, ``iana-timezone`` and ``zoho-datetime``, so positive cases are really positive.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from hypothesis import strategies as st

__all__ = ["FORMAT_STRATEGIES", "register_formats"]

# Valid numbers across regions and lengths, with and without the leading "+".
_NUMBERS = [
    "+14155550100",
    "14155552671",
    "+919876543210",
    "+61412345678",
    "+447911123456",
    "+4915123456789",
    "+33612345678",
    "+5511961234567",
]

FORMAT_STRATEGIES = {
    "phone": st.sampled_from(_NUMBERS),
    "iana-timezone": st.sampled_from(sorted(zoneinfo.available_timezones())),
    # Days ahead, so the "must be in the future" rule holds in any zone.
    "zoho-datetime": st.integers(min_value=2, max_value=3650).map(
        lambda days: (datetime.now() + timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")
    ),
}


def register_formats() -> None:
    """Register :data:`FORMAT_STRATEGIES` with schemathesis (idempotent)."""
    import schemathesis

    for name, strategy in FORMAT_STRATEGIES.items():
        schemathesis.openapi.format(name, strategy)
