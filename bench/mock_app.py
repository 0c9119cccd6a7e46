"""The mock as the benchmark serves it: the real app, with a message cap that a run won't hit.

The mock keeps every accepted message in memory, capped per namespace (10,000 by default,
then it answers 507).  A measured run sends far more than that, so the cap is raised here,
and so are 2sms credits.  The 2sms bearer token the benchmark sends is issued up front
(through the store, as POST /Token would): obtaining a token is not what is measured.

Serve it with ``python -m uvicorn --factory bench.mock_app:app``.
"""

from __future__ import annotations

import time

from starlette.applications import Starlette

from mockserver import Settings, create_app

__all__ = ["BENCH_MAX_MESSAGES", "BENCH_TWOSMS_TOKEN", "app"]

#: Per-namespace message cap while benchmarking (well above any run's request count).
BENCH_MAX_MESSAGES = 10_000_000
#: The bearer token bench/run.py sends to the 2sms endpoint.
BENCH_TWOSMS_TOKEN = "bench-token"


def app() -> Starlette:
    """Build the mock with default settings except the raised caps, and a live 2sms token."""
    settings = Settings(max_messages=BENCH_MAX_MESSAGES, twosms_starting_credits=10**15)
    mock = create_app(settings=settings)
    mock.state.store.issue_token(BENCH_TWOSMS_TOKEN, "bench", time.time() + 86_400)
    return mock
