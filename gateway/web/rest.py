"""`POST /v4/<service>/<command>`: Tencent's server REST API v4, on the gateway's own port.

Requests are authenticated as Tencent authenticates them: `?sdkappid=&identifier=&usersig=&random=
&contenttype=json`, where the identifier is one of the app's admin accounts (IMQL_ADMIN_IDENTIFIER)
and the UserSig is that admin's. Every answer is HTTP 200 with Tencent's envelope (ActionStatus,
ErrorCode, ErrorInfo), refusals included, with Tencent's codes: 60006 for another app, 60010 for
an identifier that is not an admin, 70001/70003/70013/70014 for the sig, 60003 for a body that is
not a JSON object, 60002 for one over `MAX_REST_BODY_BYTES`, 60009 for an unknown command. The
command itself is run by the backend's `ServerAPI` (the embedded engine's `gateway.engine.rest`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.digits import is_digits
from gateway.errors import IMError
from gateway.origin import act_as
from gateway.services import Gateway
from gateway.usersig import verify
from gateway.v4 import envelope
from gateway.v4.callbacks import REST_API

log = logging.getLogger("imql.rest")

# Tencent documents no body cap of its own beyond each command's batch limits; the largest
# documented batch (500 recipients or imported messages) fits well under this.
MAX_REST_BODY_BYTES = 1024 * 1024


def _answer(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _authorize(gateway: Gateway, request: Request) -> dict[str, Any] | None:
    """None when the caller is an admin of this app with a valid sig, else the refusal to answer."""
    params = request.query_params
    settings = gateway.settings
    if params.get("sdkappid") != str(settings.sdkappid):
        return envelope.fail(envelope.SDKAPPID_INVALID, "sdkappid is missing or is not this app's SDKAppID")
    identifier = params.get("identifier", "")
    if not identifier or not params.get("usersig"):
        return envelope.fail(envelope.ACCOUNT_OR_SIG_INVALID, "identifier and usersig are required")
    if identifier not in settings.admin_identifiers:
        return envelope.fail(envelope.ADMIN_REQUIRED, "identifier is not an app admin (IMQL_ADMIN_IDENTIFIER)")
    try:
        verify(
            params.get("usersig", ""),
            sdkappid=settings.sdkappid,
            secret_key=settings.secret_key,
            user_id=identifier,
            now=gateway.clock.now(),
        )
    except IMError as exc:
        return envelope.fail(exc.code, exc.desc)
    return None


async def _json_body(request: Request) -> dict[str, Any] | str:
    """The body as a JSON object, or why not."""
    declared = request.headers.get("content-length", "")
    if is_digits(declared) and int(declared) > MAX_REST_BODY_BYTES:
        return f"body over {MAX_REST_BODY_BYTES} bytes"
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_REST_BODY_BYTES:
            return f"body over {MAX_REST_BODY_BYTES} bytes"
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        return "not JSON"
    return body if isinstance(body, dict) else "not a JSON object"


async def serve_rest(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    command = f"{request.path_params['service']}/{request.path_params['command']}"
    refusal = _authorize(gateway, request)
    if refusal is not None:
        gateway.metrics.rest_calls.labels(command="(unauthorized)", code=str(refusal["ErrorCode"])).inc()
        return _answer(refusal)
    server = gateway.server_api
    if server is None or not server.has(command):
        answer = envelope.fail(envelope.URL_INVALID, f"no REST command {command!r} on this server")
        gateway.metrics.rest_calls.labels(command="(unknown)", code=str(envelope.URL_INVALID)).inc()
        return _answer(answer)
    body = await _json_body(request)
    if isinstance(body, str):
        code = envelope.HTTP_PARSE_FAILED if body.startswith("body over") else envelope.JSON_PARSE_FAILED
        gateway.metrics.rest_calls.labels(command=command, code=str(code)).inc()
        return _answer(envelope.fail(code, f"the request body is {body}"))
    started = time.perf_counter()
    # what this call causes, the app's callbacks hear of as from RESTAPI, the admin and its IP
    act_as(REST_API, request.client.host if request.client else "", request.query_params.get("identifier", ""))
    try:
        answer = await server.call(command, body)
    except Exception:  # a fault is answered in Tencent's shape and logged, never a 500
        log.exception("REST %s failed", command)
        answer = envelope.fail(envelope.SERVER_INTERNAL, "internal error; the gateway's log has the cause")
    gateway.metrics.rest_latency.labels(command=command).observe(time.perf_counter() - started)
    gateway.metrics.rest_calls.labels(command=command, code=str(answer["ErrorCode"])).inc()
    return _answer(answer)
