"""The `imql` command: serve, usersig, schema (CONTRACT §1)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import Any

from gateway.config import ConfigError, Settings, load_settings
from gateway.usersig import DEFAULT_EXPIRE_SECONDS, mint

log = logging.getLogger("imql")
# uvicorn's WebSocket implementation: its sans-I/O one (which holds less per connection than the
# legacy one), with less kept per idle connection (gateway.lean.uvicorn_ws)
WS_IMPLEMENTATION = "gateway.lean.uvicorn_ws:LeanWebSocketProtocol"
# uvicorn's httptools protocol, a response's head and body in one write (gateway.lean.uvicorn_http)
HTTP_IMPLEMENTATION = "gateway.lean.uvicorn_http:HeadWithBodyHttpToolsProtocol"
# What each worker of `imql serve --workers N` runs: the app, built from the environment.
APP_FACTORY = "gateway.web.app:create_app"
# More processes than this on one host is a typo: one per core is the point (README, Production).
MAX_WORKERS = 64


def _serve(settings: Settings, workers: int = 1) -> int:
    import uvicorn

    from gateway.web.app import create_app

    if settings.backend == "tencent":
        from gateway.tencent.client import check_tencent_api

        problem = asyncio.run(check_tencent_api(settings))
        # not fatal: Tencent may be back before the first user; /readyz says 503 until it is
        print(f"imql: {problem}" if problem else f"imql: Tencent's REST API answers at {settings.tencent_api_url}")
    if not 1 <= workers <= MAX_WORKERS:
        print(f"imql: --workers must be 1..{MAX_WORKERS}", file=sys.stderr)
        return 2
    if workers > 1 and not settings.persistent:
        print(
            "imql: --workers above 1 needs IMQL_REDIS_URL: the embedded store lives inside one process",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    url = f"http://{shown_host}:{settings.port}/graphql"
    print(f"imql: SDKAppID {settings.sdkappid}, backend {settings.backend}", flush=True)
    if settings.is_development_app:
        print(f"imql: development app: secret key {settings.secret_key!r} (set IMQL_SECRET_KEY in production)")
    hint = "" if settings.is_development_app else "   (with the same IMQL_SDKAPPID and IMQL_SECRET_KEY)"
    print(f"imql: mint a UserSig with:  imql usersig <userID>{hint}")
    print(f"imql: playground at {url}", flush=True)
    if not settings.persistent:
        log.warning(
            "IMQL_REDIS_URL is not set: using the embedded in-process store; nothing is persisted "
            "and only one process can serve"
        )
    if settings.backend == "tencent" and settings.public_url is None:
        log.warning(
            "IMQL_PUBLIC_URL is not set: media uploaded through imql reach Tencent with relative URLs "
            "(/media/...) that Tencent's own clients cannot open"
        )
    if workers == 1:
        uvicorn.Server(server_config(create_app(settings), settings)).run()
        return 0
    _serve_workers(settings, workers)
    return 0


def _serve_workers(settings: Settings, workers: int) -> None:
    """`workers` processes sharing one listening socket (uvicorn's supervisor: it restarts a worker
    that dies). Each worker builds its own app, and so its own Redis clients and event dispatcher,
    from the environment: the flags' host and port are put there first. They share nothing but
    Redis, as replicas on several hosts do."""
    import os

    from uvicorn.supervisors import Multiprocess

    os.environ["IMQL_HOST"], os.environ["IMQL_PORT"] = settings.host, str(settings.port)
    config = server_config(
        APP_FACTORY,
        settings,
        workers=workers,
        factory=True,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
    )
    socket = config.bind_socket()
    Multiprocess(config, sockets=[socket]).run()


def server_config(app: Any, settings: Settings, **extra: Any) -> Any:
    """How `imql serve` runs an ASGI app (the benchmark's floors run theirs the same way)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws_ping_interval=settings.ws_ping_interval_seconds,
        ws_ping_timeout=settings.ws_ping_interval_seconds,
        lifespan="on",
        proxy_headers=False,  # the app applies uvicorn's proxy-header middleware itself (gateway.web.app)
        server_header=False,
        http=HTTP_IMPLEMENTATION,
        ws=WS_IMPLEMENTATION,
        ws_per_message_deflate=settings.ws_compression,
        **extra,
    )


def _usersig(settings: Settings, user_id: str, expire: int) -> int:
    from gateway.errors import IMError
    from gateway.ids import check_user_id

    try:
        check_user_id(user_id)
    except IMError as exc:
        print(f"imql: {exc.desc}", file=sys.stderr)
        return 2
    if expire <= 0:
        print("imql: --expire must be a positive number of seconds", file=sys.stderr)
        return 2
    print(mint(settings.sdkappid, settings.secret_key, user_id, now=int(time.time()), expire=expire))
    return 0


def _schema() -> int:
    from schema.sdl import export_sdl

    sys.stdout.write(export_sdl())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imql", description="A GraphQL gateway for Tencent Cloud Chat (IM).")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", help="listen address (IMQL_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (IMQL_PORT; default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port, e.g. one per core (default 1; more need IMQL_REDIS_URL)",
    )
    sig = commands.add_parser("usersig", help="print a UserSig for the configured app")
    sig.add_argument("user_id", metavar="USERID")
    sig.add_argument(
        "--expire", type=int, default=DEFAULT_EXPIRE_SECONDS, help="lifetime in seconds (default 180 days)"
    )
    commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"imql: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(settings.with_overrides(host=args.host, port=args.port), args.workers)
    if args.command == "usersig":
        return _usersig(settings, args.user_id, args.expire)
    return _schema()


if __name__ == "__main__":
    sys.exit(main())
