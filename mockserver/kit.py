"""The contract kit: the generated contract suite, run against any base URL.

The suite is schemathesis over the OpenAPI document generated from ``contracts/``, with
positive and negative cases: every answer must conform to the contract (status, content type,
body), schema-valid requests must be accepted and schema-invalid ones refused.  Run it

- from the command line: ``sms-mockserver check --provider twosms --base-url URL``;
- in your own tests: ``test_twosms_contract = contract_test("twosms", "http://127.0.0.1:8910")``
  in a test module, collected by pytest like any test.

Against this mock, another mock, or a staging endpoint: a base URL that is not on this
machine needs ``allow_real_sends`` (``--allow-real-sends``), as the suite sends hundreds of
messages.  The rules the OpenAPI document cannot state (a 2sms send needs a recipient, Zoho's
``mms`` goes with a file) and how to authenticate are each provider's own
(``Provider.kit_unheld_checks`` and ``kit_credentials``, in ``providers/*_kit.py``); ASP.NET's
lenient binding is read from the violations a mock records.  They are applied here, once, for
the kit and for this repository's own contract tests alike.

Needs the ``kit`` extra (``pip install 'sms-mockserver[kit]'``: schemathesis, hypothesis).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from .access import is_local, require_local
from .cli import TARGET_ENV
from .contracts import PROVIDERS, render_openapi
from .errors import MockServerError
from .providers import PROVIDERS as PROVIDER_CLASSES
from .strategies import register_formats

__all__ = [
    "DEFAULT_CREDENTIAL",
    "DISAGREEMENTS",
    "TARGET_ENV",
    "Disagreements",
    "Target",
    "auth_for",
    "bound_as_asp_net",
    "contract_test",
    "excluded_checks",
    "is_local",
]


#: The credential sent for a name not given: a mock accepts any (not a placeholder such as
#: ``changeme``, which it refuses).
DEFAULT_CREDENTIAL = "sms-mockserver-check"


@dataclass(frozen=True, slots=True)
class Target:
    """What the suite runs against, and with which credentials."""

    provider: str
    base_url: str
    #: The provider's credentials by name (its ``Provider.kit_credential_names``: Zoho's
    #: ``token``, 2sms's ``client_id`` and ``client_secret``); a name left out is sent as
    #: :data:`DEFAULT_CREDENTIAL`, which any mock accepts.
    credentials: Mapping[str, str] = field(default_factory=dict)
    max_examples: int = 100
    allow_real_sends: bool = False

    def __post_init__(self) -> None:
        cls = PROVIDER_CLASSES.get(self.provider)
        if cls is None:
            return  # suite() names the known contracts
        unknown = sorted(set(self.credentials) - set(cls.kit_credential_names))
        if unknown:
            raise MockServerError(
                f"sms-mockserver: {self.provider} takes no credential named "
                f"{', '.join(unknown)}; its credentials: "
                f"{', '.join(cls.kit_credential_names) or '(none)'}"
            )

    def credential_values(self) -> dict[str, str]:
        """Every credential the provider takes, the given ones and the defaults."""
        names = PROVIDER_CLASSES[self.provider].kit_credential_names
        return {name: self.credentials.get(name, DEFAULT_CREDENTIAL) for name in names}

    def to_env(self) -> str:
        """The target as the value of :data:`TARGET_ENV`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> Target:
        """The target ``sms-mockserver check`` put in :data:`TARGET_ENV`."""
        raw = os.environ.get(TARGET_ENV)
        if not raw:
            raise MockServerError(f"sms-mockserver: {TARGET_ENV} is not set (run `check`)")
        return cls(**json.loads(raw))


def auth_for(case: schemathesis.Case[Any], auth: Mapping[str, str]) -> dict[str, str] | None:
    """The headers to add to ``case``: ``auth``, unless the case's headers are the negative part.

    Schemathesis makes a negative case by, among others, leaving out the required
    ``Authorization`` header.  Passing credentials over it would send a valid request that the
    negative-data check still expects to be refused, so such a case goes out as generated and
    must get the provider's 401.
    """
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        return None
    return dict(auth)


def bound_as_asp_net(violations: list[dict[str, Any]]) -> bool:
    """Whether a request's recorded violations (``/_mock/violations`` entries) say the mock
    read a schema-invalid body the way ASP.NET binds it (``"Content": 5`` as ``"5"``,
    trailing commas): then its acceptance is the documented binding, not a missed rejection."""
    return any(
        "Json.NET" in v["expected"] or "a dictionary entry" in v["expected"] for v in violations
    )


#: The schemathesis checks a provider can name as unheld (``Provider.kit_unheld_checks``).
_CHECKS: dict[str, Any] = {
    "positive_data_acceptance": positive_data_acceptance,
    "negative_data_rejection": negative_data_rejection,
}


def excluded_checks(provider: str, case: schemathesis.Case[Any]) -> list[Any]:
    """The checks a case cannot be held to: the ones the provider names for it
    (``Provider.kit_unheld_checks``, the rules its document states only in words), and only
    for such cases."""
    names = PROVIDER_CLASSES[provider].kit_unheld_checks(case.path, case.media_type, case.body)
    return [_CHECKS[name] for name in sorted(names)]


class Disagreements:
    """The distinct ways a run found the server and the contract apart, counted, grouped by
    operation and by field (a response member, or the request as a whole)."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, str], int] = {}

    def add(self, operation: str, failure: BaseException, status: int) -> None:
        path = getattr(failure, "instance_path", None)
        if path is not None:  # a response body against its schema: name the member
            where = "response " + (".".join(str(p) for p in path) or "(body)")
            what = getattr(failure, "validation_message", "") or str(failure).splitlines()[0]
        else:
            where = f"answer (HTTP {status})"
            what = getattr(failure, "title", None) or str(failure).splitlines()[0]
        key = (operation, where, what.splitlines()[0] if what else type(failure).__name__)
        self.found[key] = self.found.get(key, 0) + 1

    def lines(self) -> list[str]:
        """The report: one line per field and disagreement, under its operation."""
        out: list[str] = []
        for operation in sorted({op for op, _, _ in self.found}):
            out.append(f"  {operation}")
            for (op, where, what), count in sorted(self.found.items()):
                if op == operation:
                    out.append(f"    {where}: {what} ({count} case(s))")
        return out


#: What this process's runs found (``sms-mockserver check`` prints it at the end).
DISAGREEMENTS = Disagreements()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """With ``-p mockserver.kit`` (as ``check`` runs it): the disagreements, by field."""
    if DISAGREEMENTS.found:
        terminalreporter.section("sms-mockserver check: disagreements with the contract")
        for line in DISAGREEMENTS.lines():
            terminalreporter.write_line(line)


class _Run:
    """One run of the suite against one target: its credentials, fetched once."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.base = target.base_url.rstrip("/")
        self._auth: dict[str, str] | None = None
        self._mock: bool | None = None
        # Kept-alive connections: a case costs three requests against a mock (the case, its
        # violations, the cleanup).
        self.admin = httpx.Client(base_url=self.base, timeout=30)
        self.session = requests.Session()

    def close(self) -> None:
        """Close the run's connections."""
        self.admin.close()
        self.session.close()

    def auth(self) -> dict[str, str]:
        if self._auth is None:
            given = self.target.credential_values()
            self._auth = PROVIDER_CLASSES[self.target.provider].kit_credentials(self.admin, given)
        return self._auth

    def is_mock(self) -> bool:
        """Whether the target is an sms-mockserver (its admin API answers)."""
        if self._mock is None:
            try:
                health = self.admin.get("/_mock/health").json()
                self._mock = isinstance(health, dict) and "providers" in health
            except (httpx.HTTPError, ValueError):
                self._mock = False
        return self._mock

    def converted_as_json_net(self, namespace: str) -> bool:
        """Whether the mock accepted the case's body the way ASP.NET binds it, recording
        that as a violation (``"Content": 5`` read as ``"5"``): then accepting a schema-invalid
        body is the documented binding, not a missed rejection."""
        answer = self.admin.get("/_mock/violations", params={"namespace": namespace})
        return answer.status_code == 200 and bound_as_asp_net(answer.json()["violations"])

    def forget(self, namespace: str) -> None:
        self.admin.delete("/_mock/messages", params={"namespace": namespace})

    def check(self, case: schemathesis.Case[Any]) -> None:
        """Send one case and hold its answer to the contract."""
        provider = self.target.provider
        namespace = f"check-{uuid.uuid4().hex}"  # a fresh credit balance for every case
        headers = auth_for(case, self.auth()) or {}
        headers["X-Mock-Namespace"] = namespace
        response = case.call(base_url=self.base, headers=headers, session=self.session)
        excluded = excluded_checks(provider, case)
        mock = self.is_mock()
        try:
            if mock and response.status_code == 200 and self.converted_as_json_net(namespace):
                excluded.append(negative_data_rejection)
            case.validate_response(response, excluded_checks=excluded, headers=headers)
        except (AssertionError, BaseExceptionGroup) as exc:  # a Failure, or a FailureGroup
            failures = getattr(exc, "exceptions", (exc,))
            for failure in failures:
                DISAGREEMENTS.add(f"{case.method} {case.path}", failure, response.status_code)
            raise
        finally:
            if mock:
                self.forget(namespace)


def contract_test(
    provider: str,
    base_url: str,
    *,
    max_examples: int = 100,
    allow_real_sends: bool = False,
    **credentials: str,
) -> Callable[..., None]:
    """The contract suite of ``provider`` against ``base_url``, as a pytest test function
    (assign it to a ``test_…`` name in a test module).

    ``credentials`` are the provider's, by name: ``token=`` for zoho_voice, ``client_id=``
    and ``client_secret=`` for twosms.  Raises :class:`~mockserver.errors.MockServerError`
    for a credential the provider does not take, and for a base URL off this machine unless
    ``allow_real_sends``."""
    target = Target(provider, base_url, credentials, max_examples, allow_real_sends)
    return suite(target)


def suite(target: Target) -> Callable[..., None]:
    """:func:`contract_test` for a :class:`Target`."""
    if target.provider not in PROVIDERS:
        raise MockServerError(
            f"sms-mockserver: no contract named {target.provider!r}; known: {', '.join(PROVIDERS)}"
        )
    require_local(target.base_url, target.allow_real_sends)
    register_formats()
    schema = schemathesis.openapi.from_dict(json.loads(render_openapi(target.provider)))
    run = _Run(target)

    @schema.parametrize()
    @settings(
        max_examples=target.max_examples, deadline=None, suppress_health_check=list(HealthCheck)
    )
    def test_contract(case: schemathesis.Case[Any]) -> None:
        run.check(case)

    test_contract.__name__ = f"test_{target.provider}_contract"
    found: Callable[..., None] = test_contract
    return found
