"""The floor of the benchmark: a bare Starlette app that parses what the mock parses.

``POST /rest/json/v2/sms/send`` reads the multipart form, takes the ``sms_data`` field,
``json.loads`` it and answers a small JSON body; ``POST /api/v2/sms/messages`` parses the JSON
body (the 2sms send) and answers a small JSON body.  Nothing is validated or stored, so the
difference between this app and the mock is the cost of the mock's own work.

Serve it with ``python -m uvicorn bench.bare_app:app``.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["app"]


async def zoho_send(request: Request) -> Response:
    """Parse the multipart body and its ``sms_data`` JSON; answer a fixed small JSON body."""
    form = await request.form()
    raw = form.get("sms_data")
    if not isinstance(raw, str):
        return JSONResponse({"status": "ERROR", "message": "sms_data missing"}, status_code=400)
    data = json.loads(raw)
    return JSONResponse({"status": "SUCCESS", "fields": len(data)})


async def twosms_send(request: Request) -> Response:
    """Parse the JSON body; answer a fixed small JSON body."""
    data = await request.json()
    return JSONResponse({"Error": None, "fields": len(data)})


app = Starlette(
    routes=[
        Route("/rest/json/v2/sms/send", zoho_send, methods=["POST"]),
        Route("/api/v2/sms/messages", twosms_send, methods=["POST"]),
    ]
)
