"""Provider wire formats: each module knows one provider's requests, answers and wording.

:data:`PROVIDERS` is the registry the app is built from: a provider is its module, its
``contracts/<name>/`` folder and its line here.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from ..runtime import Runtime
from .common import Provider
from .twosms import TwoSms
from .zoho_voice import ZohoVoice

__all__ = ["PROVIDERS", "Provider"]

#: Every provider by name (the name of its contracts folder), in the order routes are listed.
PROVIDERS: dict[str, Callable[[Settings, Runtime], Provider]] = {
    TwoSms.name: TwoSms,
    ZohoVoice.name: ZohoVoice,
}
