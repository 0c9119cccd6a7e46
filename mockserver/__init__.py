"""sms-mockserver: a local stand-in for the Zoho Voice and 2sms send-SMS APIs.

>>> from mockserver import create_app
>>> app = create_app()          # an ASGI app; serve it with uvicorn or test it in-process

The names below are imported on first use, so ``import mockserver.store`` (or the contract
data) does not pull in the web stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .app import create_app
    from .config import Settings
    from .contracts import load_contract, openapi_document
    from .errors import ContractError, ContractViolation, MockServerError
    from .providers.twosms_settings import TwoSmsSettings
    from .providers.zoho_settings import ZohoSettings
    from .server import MockServer

_WHERE = {
    "create_app": "app",
    "Settings": "config",
    "load_contract": "contracts",
    "openapi_document": "contracts",
    "ContractError": "errors",
    "ContractViolation": "errors",
    "MockServerError": "errors",
    "MockServer": "server",
    "TwoSmsSettings": "providers.twosms_settings",
    "ZohoSettings": "providers.zoho_settings",
}

__all__ = [
    "ContractError",
    "ContractViolation",
    "MockServer",
    "MockServerError",
    "Settings",
    "TwoSmsSettings",
    "ZohoSettings",
    "__version__",
    "create_app",
    "load_contract",
    "openapi_document",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
