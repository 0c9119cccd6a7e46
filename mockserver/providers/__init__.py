"""Provider wire formats: each module knows one provider's requests, answers and wording.

:data:`PROVIDERS` is the registry the app is built from: a provider is its module, its
``contracts/<name>/`` folder and its line here.  The provider class declares the rest: its
settings (``settings_class``, a table of the settings file), its routes (``operations``), its
error codes and wording (its contract and ``render_reject``), its lifecycle words.
"""

from __future__ import annotations

from .common import Provider
from .twosms import TwoSms
from .zoho_voice import ZohoVoice

__all__ = ["PROVIDERS", "Provider"]

#: Every provider by name (the name of its contracts folder), in the order routes are listed.
PROVIDERS: dict[str, type[Provider]] = {
    TwoSms.name: TwoSms,
    ZohoVoice.name: ZohoVoice,
}
