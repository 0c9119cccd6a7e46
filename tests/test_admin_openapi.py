"""The admin API's description (``GET /_mock/openapi.json``) and the routes agree both ways."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.admin_openapi import OPERATIONS, document

from .conftest import make_client


def _admin_routes() -> set[tuple[str, str]]:
    app = create_app()
    found = set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/_mock/"):
            # Starlette answers HEAD for every GET itself; it is not an operation of ours.
            found |= {(m.lower(), route.path) for m in route.methods or () if m != "HEAD"}
    return found


def test_every_admin_route_and_method_is_described() -> None:
    missing = _admin_routes() - set(OPERATIONS)
    assert not missing, f"admin routes without a description: {sorted(missing)}"


def test_every_described_operation_exists() -> None:
    extra = set(OPERATIONS) - _admin_routes()
    assert not extra, f"described operations without a route: {sorted(extra)}"


def test_the_description_is_served_and_open_without_the_token() -> None:
    with make_client(Settings(admin_token="s3cret")) as c:
        answer = c.get("/_mock/openapi.json")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        served: dict[str, Any] = answer.json()
        assert served == document()
        assert served["openapi"].startswith("3.1")
        assert c.get("/_mock/faults").status_code == 401  # the rest still needs it


def test_every_operation_answers_json_errors_and_names_its_refs() -> None:
    doc = document()
    schemas, params = doc["components"]["schemas"], doc["components"]["parameters"]
    text = str(doc)
    for name in schemas:
        assert f"#/components/schemas/{name}" in text, name
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            assert "508" in op["responses"], (method, path)
            assert ("401" in op["responses"]) == (op.get("security") != []), (method, path)
            for p in op.get("parameters", []):
                assert p["$ref"].rsplit("/", 1)[-1] in params, (method, path, p)
            if "{id}" in path:
                assert "404" in op["responses"], (method, path)


def test_behind_a_root_path_the_description_names_it_as_its_server() -> None:
    app = create_app()
    with TestClient(app, root_path="/sms") as c:
        served = c.get("/sms/_mock/openapi.json").json()
    assert served["servers"] == [{"url": "/sms"}]
    assert "/_mock/health" in served["paths"]
    assert "servers" not in document()
