"""The application factory: the provider operations' direct dispatch and what falls through."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette

from mockserver import create_app

from .conftest import ZOHO_NAMESPACE, ZOHO_PATH, asgi_call, journal, make_client, zoho_send

TWOSMS_PATH = "/api/v2/sms/messages"


def call(app: Starlette, method: str, path: str, root_path: str = "") -> tuple[int, Any]:
    """One request without a body; the status and the decoded JSON answer."""
    status, body = asgi_call(
        app, method, path, [(b"host", b"testserver")], b"", root_path=root_path
    )
    return status, orjson.loads(body)


def test_a_send_is_answered_by_its_provider_under_a_root_path() -> None:
    app = create_app()
    # No credentials: each provider's own 401, whether or not the app is mounted below a
    # root path (ASGI puts the root path in front of the path).
    for prefix in ("", "/mock"):
        status, body = call(app, "POST", prefix + TWOSMS_PATH, root_path=prefix)
        assert (status, body["Error"]["ErrorCode"]) == (401, "Unauthorized")
        status, body = call(app, "POST", prefix + ZOHO_PATH, root_path=prefix)
        assert (status, body["code"]) == (401, "INVALID_OAUTHTOKEN")


def test_other_methods_and_paths_fall_through_to_the_router() -> None:
    app = create_app()
    status, body = call(app, "GET", TWOSMS_PATH)
    assert status == 405
    assert body["Error"]["ErrorCode"] == "MethodNotAllowed"
    status, body = call(app, "POST", "/elsewhere")
    assert status == 404
    assert "routes" in body["error"]
    status, body = call(app, "POST", "/mock" + TWOSMS_PATH + "/", root_path="/mock")
    assert (status, body["Error"]["ErrorCode"]) == (404, "NotFound")  # below the root path
    status, _ = call(app, "POST", "/mockx" + TWOSMS_PATH, root_path="/mock")
    assert status == 404  # "/mockx" is not below the root path "/mock"


def test_a_send_at_its_own_path_and_one_below_a_namespace_prefix_land_apart() -> None:
    # The plain path is answered before the middleware stack (MockApp); the /_ns/ path goes
    # down the stack, where NamespacePrefix picks the namespace. Both are the same endpoint.
    with make_client() as client:
        assert zoho_send(client).status_code == 200
        response = client.post(
            "/_ns/team-a" + ZOHO_PATH,
            files=[
                (
                    "sms_data",
                    (
                        None,
                        '{"customerNumber": "+14155550100", "message": "hi", "senderId": "ACME"}',
                    ),
                )
            ],
            headers={"Authorization": "Zoho-oauthtoken test-token"},
        )
        assert response.status_code == 200, response.text
        assert [m.namespace for m in journal(client, namespace="team-a")] == ["team-a"]
        assert [m.namespace for m in journal(client, namespace=ZOHO_NAMESPACE)] == [ZOHO_NAMESPACE]
        # A wrong method on either path still gets the provider's own 405 from the router.
        for path in (ZOHO_PATH, "/_ns/team-a" + ZOHO_PATH):
            assert client.get(path).status_code == 405
