"""Command line: ``sms-mockserver serve`` and ``sms-mockserver contracts``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .access import ADMIN_TOKEN_ENV, exposure, require_local, served_hosts
from .config import Settings, deprecated_keys, read_toml
from .contracts import PROVIDERS, contracts_dir, render_openapi, write_openapi
from .errors import MockServerError
from .store.urls import store_from_url

__all__ = ["main"]

#: Environment variable carrying ``check``'s target to the suite (``mockserver.kit``).
TARGET_ENV = "SMS_MOCKSERVER_CHECK"


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8910
#: Environment variable naming the store when --store is not given.
STORE_ENV = "SMS_MOCKSERVER_STORE"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sms-mockserver",
        description="Local stand-in for the Zoho Voice and 2sms send-SMS APIs.",
    )
    parser.add_argument("--version", action="version", version=f"sms-mockserver {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the mock HTTP server")
    serve.add_argument("--host", default=DEFAULT_HOST, help="bind address (default %(default)s)")
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="bind port, 0 for a free one (default %(default)s)",
    )
    serve.add_argument(
        "--config", metavar="FILE", help="TOML file of settings (see README, 'Settings')"
    )
    serve.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help=(
            "where state is kept: sqlite (the default file, in $SMS_MOCKSERVER_DATA_DIR or the "
            "user data directory), sqlite://PATH, or memory (gone on exit); default sqlite, "
            "or $SMS_MOCKSERVER_STORE"
        ),
    )
    serve.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help=(
            "seed of the random source behind message ids: two servers started with the same "
            "seed answer the same requests with the same ids (default: a fresh seed, shown by "
            "/_mock/health)"
        ),
    )
    serve.add_argument(
        "--admin-token",
        default=None,
        metavar="TOKEN",
        help=(
            "require Authorization: Bearer TOKEN on the admin API (/_mock/); needed, or "
            f"--insecure, to serve on a non-loopback --host (default ${ADMIN_TOKEN_ENV})"
        ),
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="serve on a non-loopback --host without an admin token (anyone who can reach it "
        "can read and delete the journal)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help=(
            "a Host name served besides localhost and loopback addresses (repeatable); on a "
            "loopback --host other names are refused, a guard against DNS rebinding"
        ),
    )
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level; 'info' logs every request (default %(default)s)",
    )

    check = sub.add_parser(
        "check",
        help="run the generated contract suite against a base URL (needs the kit extra)",
        description=(
            "Run the contract suite (schemathesis, positive and negative cases) generated from "
            "the documented field tables against BASE_URL: this mock, another mock or a "
            "staging endpoint. Exit status 1 when the server disagrees with the contract."
        ),
    )
    check.add_argument("--provider", required=True, choices=list(PROVIDERS))
    check.add_argument(
        "--base-url", required=True, metavar="URL", help="e.g. http://127.0.0.1:8910"
    )
    for name, (providers, what) in _credential_options().items():
        check.add_argument(
            _option(name),
            dest=f"credential_{name}",
            metavar="VALUE",
            help=f"{what} ({', '.join(providers)}; default: any value a mock accepts)",
        )
    check.add_argument(
        "--max-examples", type=int, default=100, metavar="N", help="generated cases per operation"
    )
    check.add_argument(
        "--allow-real-sends",
        action="store_true",
        help="allow a base URL off this machine (a real service delivers what the suite sends)",
    )
    check.add_argument("--junit-xml", metavar="FILE", help="also write a JUnit XML report")

    verify = sub.add_parser(
        "verify",
        help="check recorded traffic (a HAR file) against the contract",
        description=(
            "Check every request of a HAR file (exported by a browser or a proxy) to a "
            "provider path with the providers' own parsing and field rules; exit 1 when any "
            "request breaks the contract."
        ),
    )
    verify.add_argument("file", metavar="FILE", help="a HAR file")
    verify.add_argument("--config", metavar="FILE", help="TOML settings (message length, …)")

    contracts = sub.add_parser("contracts", help="regenerate or check the OpenAPI documents")
    mode = contracts.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite contracts/*/openapi.json")
    mode.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a committed openapi.json differs from the field tables",
    )
    return parser


def _credential_options() -> dict[str, tuple[list[str], str]]:
    """Every provider's kit credentials, by name: the providers that take it, and what it is
    (each provider declares them, so a new provider brings its own options)."""
    from .providers import PROVIDERS as PROVIDER_CLASSES

    options: dict[str, tuple[list[str], str]] = {}
    for provider, cls in PROVIDER_CLASSES.items():
        for name, what in cls.kit_credential_names.items():
            options.setdefault(name, ([], what))[0].append(provider)
    return options


def _option(name: str) -> str:
    """The ``check`` option of a credential: ``client_id`` is ``--client-id``."""
    return "--" + name.replace("_", "-")


def _check_credentials(args: argparse.Namespace) -> dict[str, str]:
    """The credentials given for ``--provider``; one of another provider is refused."""
    given: dict[str, str] = {}
    for name, (providers, _) in _credential_options().items():
        value = getattr(args, f"credential_{name}")
        if value is None:
            continue
        if args.provider not in providers:
            raise MockServerError(
                f"sms-mockserver: {_option(name)} is a credential of {', '.join(providers)}, "
                f"not of {args.provider}"
            )
        given[name] = value
    return given


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .serving import settle_heap, uvicorn_config

    settings = Settings()
    if args.config:
        data = read_toml(args.config)
        settings = Settings.from_mapping(data)
        old = deprecated_keys(data)
        if old:
            print(
                f"sms-mockserver: {args.config}: {', '.join(old)}: flat provider setting names "
                "are deprecated; write them in the provider's table, e.g. [zoho_voice] "
                "error_status = 200 for zoho_error_status (README, 'Settings')",
                file=sys.stderr,
            )
    if args.seed is not None:
        settings = settings.replace(seed=args.seed)
    token = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or settings.admin_token
    warning = exposure(args.host, token, args.insecure)
    hosts = served_hosts(settings.allowed_hosts, args.host, args.allowed_host)
    settings = settings.replace(admin_token=token, allowed_hosts=hosts)
    store = store_from_url(
        args.store or os.environ.get(STORE_ENV) or "sqlite", settings.store_limits()
    )
    app = create_app(settings=settings, store=store)
    config = uvicorn_config(
        app,
        settings,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.log_level in {"info", "debug"},
    )
    server = uvicorn.Server(config)
    settle_heap()

    # Print the real URL (port 0 picks a free one) once the socket is bound.
    original_startup = server.startup

    async def startup(sockets: object = None) -> None:
        await original_startup(sockets=sockets)  # type: ignore[arg-type]
        port = args.port
        if server.servers and server.servers[0].sockets:
            port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://{args.host}:{port}"
        lines = [
            f"sms-mockserver {__version__} listening on {base}",
            f"store: {store.url}",
            f"seed: {app.state.runtime.seed}",
            "admin API: "
            + ("requires Authorization: Bearer <admin token>" if token else "open (no token)"),
            "routes:",
        ]
        listed = [
            (",".join(sorted(getattr(route, "methods", None) or [])) or "ANY", route)
            for route in app.routes
        ]
        width = max(len(methods) for methods, _ in listed)
        for methods, route in listed:
            lines.append(f"  {methods:<{width}}  {base}{getattr(route, 'path', '')}")
        print("\n".join(lines), flush=True)
        if warning:
            print(warning, file=sys.stderr, flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0


def _contracts(args: argparse.Namespace) -> int:
    if args.write:
        for path in write_openapi():
            print(f"wrote {path}")
        return 0
    stale = [
        p
        for p in PROVIDERS
        if not (path := contracts_dir() / p / "openapi.json").exists()
        or path.read_bytes() != render_openapi(p)
    ]
    for provider in stale:
        print(
            f"contracts/{provider}/openapi.json is out of date: run `make contracts`",
            file=sys.stderr,
        )
    return 1 if stale else 0


def _check(args: argparse.Namespace) -> int:
    import importlib.util
    import tempfile

    missing = [m for m in ("schemathesis", "hypothesis") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"sms-mockserver check needs the kit extra ({', '.join(missing)} missing): "
            "pip install 'sms-mockserver[kit]'",
            file=sys.stderr,
        )
        return 2
    require_local(args.base_url, args.allow_real_sends)  # main() prints the refusal
    # The suite reads its target from the environment: importing the kit here, before
    # pytest starts, would keep pytest from rewriting the asserts of what it imports.
    target = {
        "provider": args.provider,
        "base_url": args.base_url,
        "credentials": _check_credentials(args),
        "max_examples": args.max_examples,
        "allow_real_sends": args.allow_real_sends,
    }
    os.environ[TARGET_ENV] = json.dumps(target)
    import pytest

    module = Path(__file__).with_name("check_suite.py")
    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")  # none of the current project's settings or conftests
        options = [str(module), "-c", str(ini), "--rootdir", tmp, "-p", "no:cacheprovider"]
        options += ["-p", "no:smsmock", "-p", "mockserver.kit", "-q", "-rf"]
        options += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        if args.junit_xml:
            options += ["--junitxml", str(Path(args.junit_xml).resolve())]
        code = pytest.main(options)
    return 0 if code == 0 else 1


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify_har

    settings = Settings.from_mapping(read_toml(args.config)) if args.config else Settings()
    report = verify_har(args.file, settings)
    for finding in report.findings:
        print(finding)
    requests = len({f.entry for f in report.findings})
    print(
        f"sms-mockserver verify: {report.checked} provider request(s) checked, {requests} "
        f"broke the contract ({len(report.findings)} finding(s)); {report.skipped} other "
        "request(s) skipped"
    )
    return 1 if report.findings else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sms-mockserver`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "check":
            return _check(args)
        if args.command == "verify":
            return _verify(args)
        return _contracts(args)
    except MockServerError as exc:
        print(exc, file=sys.stderr)
        return 2
