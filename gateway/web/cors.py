"""Cross-origin browsers: CORS on HTTP and the Origin check of WebSocket handshakes, from one list
(IMQL_ALLOWED_ORIGINS).

An origin is scheme, host and port (`https://app.example.com`, `http://localhost:5173`), compared
exactly after normalizing as browsers send the `Origin` header (lowercase scheme and host, the
scheme's default port left out). `*` allows every origin.

HTTP (Fetch's CORS protocol), on `/graphql`, `/media/...`, `/v4/...` and the development app's
`/dev` and `/dev/...` only (a page on a vite dev server at another origin logs in as any user with
`/dev/login`; with a real app those answer 403, which an allowed origin can read):
- a preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) from an allowed origin is
  answered 204 with `Access-Control-Allow-Origin` (the origin itself, or `*` when every origin is
  allowed), `Access-Control-Allow-Methods`, `Access-Control-Allow-Headers` (ALLOWED_HEADERS, a fixed
  list: the browser itself refuses a request header that is not in it, with a message naming
  it), `Access-Control-Max-Age` and `Vary: Origin`; from any other origin it is answered 403 with
  no CORS header at all, so the browser refuses the request;
- an actual request from an allowed origin gets `Access-Control-Allow-Origin` and `Vary: Origin`
  on its response, whatever its status; from another origin, only `Vary: Origin`.
Credentials: imql authenticates with a bearer token in the Authorization header, never a cookie,
so `Access-Control-Allow-Credentials` is never sent and `*` is safe to serve. A client must not ask
for credentialed requests (`fetch(..., {credentials: "include"})`, Apollo's
`credentials: "include"`): the browser refuses the answer of those without that header.
Nothing is exposed beyond the CORS-safelisted response headers: imql's answers carry everything a
client needs in the body (`extensions.requestId` of an error included).

WebSockets (browsers send no preflight, and CORS does not apply to them): a handshake is accepted
when it carries no `Origin` (not a browser), when the origin is the gateway's own (same scheme,
host and port: `http` pages for `ws`, `https` for `wss`, the scheme as X-Forwarded-Proto from a
trusted proxy set it; or `Sec-Fetch-Site: same-origin`, which only the browser sets), or when it is
allowed; else it is refused (HTTP 403) before Strawberry sees it. Strawberry's own check, which runs
after, compares host and port only and is looser than this one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import normalize_origin

log = logging.getLogger("imql.cors")

CORS_PATHS = ("/graphql", "/media/", "/v4/", "/dev/")
CORS_EXACT_PATHS = frozenset({"/dev"})
ALLOWED_METHODS = "GET, POST"
# The request headers a cross-origin client sends that are not CORS-safelisted: imql's own
# (Authorization, X-IM-Platform), GraphQL over HTTP's (Content-Type: application/json, Accept),
# Apollo Client's (client awareness, and the CSRF-prevention headers Apollo Server asks for) and
# the SSE transport's resume header.
ALLOWED_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "x-im-platform",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "last-event-id",
)
# How long a browser may reuse a preflight's answer: Chromium caps it at 2 hours, Firefox at 24.
MAX_AGE_SECONDS = 7200


def is_cors_path(path: str) -> bool:
    """Whether CORS applies to an HTTP request for `path` (the API's paths; pages and assets never)."""
    return path.startswith(CORS_PATHS) or path in CORS_EXACT_PATHS


class OriginPolicy:
    def __init__(self, allowed: Iterable[str]) -> None:
        origins = tuple(allowed)
        self.any = "*" in origins
        normalized = {o: normalize_origin(o) for o in origins if o != "*"}
        bad = [o for o, n in normalized.items() if n is None]
        if bad:
            raise ValueError(f"not origins (scheme://host[:port]): {', '.join(map(repr, bad))}")
        self.allowed = frozenset(n for n in normalized.values() if n is not None)

    def allows(self, origin: str) -> bool:
        if self.any or origin in self.allowed:
            return True
        normalized = normalize_origin(origin)
        return normalized is not None and normalized in self.allowed

    def allows_websocket(self, scope: Scope) -> bool:
        headers = _headers(scope)
        origin = headers.get(b"origin")
        if origin is None:
            return True  # not a browser: nothing ambient (imql has no cookies) to abuse anyway
        text = origin.decode("latin-1")
        if headers.get(b"sec-fetch-site") == b"same-origin" or self.allows(text):
            return True
        scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
        host = headers.get(b"host", b"").decode("latin-1")
        own = normalize_origin(f"{scheme}://{host}") if host else None
        if own is not None and normalize_origin(text) == own:
            return True
        log.warning(
            "refused a WebSocket from origin %r to %s: not this gateway's origin; add it to IMQL_ALLOWED_ORIGINS "
            "if pages there should connect",
            text,
            own,
        )
        return False


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return dict(scope.get("headers") or [])


async def refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """Close before accepting: the server answers the handshake 403."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008})


_CORS_PREFIX = b"access-control-"


class CORSMiddleware:
    """The HTTP half of the policy, for the paths of is_cors_path (see the module's docstring).
    Requests without an `Origin` header (servers, curl, same-origin GETs) pass through untouched."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy
        self._allow_origin = b"*" if policy.any else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_cors_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        origin: bytes | None = None
        preflight = False
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight = True
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = self.policy.allows(origin.decode("latin-1"))
        allow_origin = (self._allow_origin or origin) if allowed else None
        if preflight and scope["method"] == "OPTIONS":
            await self._preflight(allow_origin, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(_CORS_PREFIX)]
                headers.append((b"vary", b"Origin"))
                if allow_origin is not None:
                    headers.append((b"access-control-allow-origin", allow_origin))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(allow_origin: bytes | None, send: Send) -> None:
        if allow_origin is None:
            body = b"origin not allowed: add it to IMQL_ALLOWED_ORIGINS"
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"vary", b"Origin")]
            status = 403
        else:
            body = b""
            headers = [
                (b"access-control-allow-origin", allow_origin),
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
                (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
                (b"vary", b"Origin"),
            ]
            status = 204
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
