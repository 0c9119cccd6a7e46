"""The mock as the benchmark serves it: the real app, with a message cap that a run won't hit.

The mock keeps every accepted message in memory, capped per namespace (10,000 by default,
then it answers 507).  A measured run sends far more than that, so the cap is raised here.

Serve it with ``python -m uvicorn --factory bench.mock_app:app``.
"""

from __future__ import annotations

from starlette.applications import Starlette

from mockserver import Settings, create_app

__all__ = ["BENCH_MAX_MESSAGES", "app"]

#: Per-namespace message cap while benchmarking (well above any run's request count).
BENCH_MAX_MESSAGES = 10_000_000


def app() -> Starlette:
    """Build the mock with default settings except the raised message cap."""
    return create_app(settings=Settings(max_messages=BENCH_MAX_MESSAGES))
