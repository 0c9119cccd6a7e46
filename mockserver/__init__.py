"""sms-mockserver: a local stand-in for the Zoho Voice and 2sms send-SMS APIs.

>>> from mockserver import create_app
>>> app = create_app()          # an ASGI app; serve it with uvicorn or test it in-process
"""

from __future__ import annotations

__version__ = "0.1.0"

from .app import create_app
from .config import Settings
from .contracts import load_contract, openapi_document
from .errors import ContractError, ContractViolation, MockServerError
from .server import MockServer

__all__ = [
    "ContractError",
    "ContractViolation",
    "MockServer",
    "MockServerError",
    "Settings",
    "__version__",
    "create_app",
    "load_contract",
    "openapi_document",
]
