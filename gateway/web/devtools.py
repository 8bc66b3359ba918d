"""Development-app conveniences: `POST /dev/login` (log in as any user) and the demo web chat at
`/demo/`. Both exist for the development app only (Settings.is_development_app: the secret key
anyone can read, so a UserSig proves nothing there anyway); with a real app `/dev/...` answers 403
saying why and `/demo/` 404.

- `GET /dev`: whether this gateway runs the development app (the playground shows its "log in as"
  control only then);
- `POST /dev/login` with `{"userID": "alice", "platform": "web"}` (platform optional: else the
  X-IM-Platform header, else `web`, as the login mutation): mints the user's UserSig with the
  app's key and logs in exactly as the `login` mutation does (the account is created on first
  login, a newer login on the same platform ends the older one); answers `{token, userID,
  expireTime, userSig}`. The userSig is there so a newcomer can also try the login mutation;
- `/demo/`: the built demo (clients/demo, committed under gateway/demo by scripts/build-demo.sh).

Refusals use imql's HTTP error shape (`{"data": null, "errors": [{message, extensions: {code,
codeName, desc}}]}`), as every other transport-level failure.
"""

from __future__ import annotations

from importlib import resources

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.config import Settings
from gateway.errors import Code, IMError
from gateway.services import Gateway
from gateway.usersig import mint
from gateway.web.view import error_response

PLATFORM_HEADER = "x-im-platform"
DEFAULT_PLATFORM = "web"  # as the login mutation's default (schema.context)
MAX_BODY_BYTES = 4096  # {"userID", "platform"}: a userID is ≤32 bytes
NOT_DEVELOPMENT = (
    "/dev/login works only with the development app (IMQL_SECRET_KEY unset): this gateway runs a real app, "
    "whose users log in with a UserSig your server mints (see README, A first query)"
)
DEMO_NOT_SERVED = (
    "the demo web chat is served only with the development app (IMQL_SECRET_KEY unset); "
    "build clients/demo and serve it yourself for a real app"
)


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def dev_status(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    if not gateway.settings.is_development_app:
        return error_response(403, NOT_DEVELOPMENT, Code.ERR_SDK_INTERFACE_NOT_SUPPORT)
    return _json(
        {"developmentApp": True, "sdkAppID": gateway.settings.sdkappid, "login": "/dev/login", "demo": "/demo/"}
    )


async def dev_login(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    settings = gateway.settings
    if not settings.is_development_app:
        return error_response(403, NOT_DEVELOPMENT, Code.ERR_SDK_INTERFACE_NOT_SUPPORT)
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return error_response(413, f"body over {MAX_BODY_BYTES} bytes")
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("userID"), str):
        return error_response(400, 'the body must be a JSON object {"userID": "...", "platform": "..." (optional)}')
    platform = body.get("platform") or request.headers.get(PLATFORM_HEADER) or DEFAULT_PLATFORM
    if not isinstance(platform, str):
        return error_response(400, "platform must be a string")
    user_id: str = body["userID"]
    user_sig = mint(settings.sdkappid, settings.secret_key, user_id, now=int(gateway.clock.now()))
    try:
        session = await gateway.sessions.login(user_id, user_sig, platform)
    except IMError as exc:
        return error_response(400, exc.desc, exc.code)
    return _json(
        {"token": session.token, "userID": session.user_id, "expireTime": session.expires_at, "userSig": user_sig}
    )


async def demo_not_served(request: Request) -> Response:
    return PlainTextResponse(DEMO_NOT_SERVED, status_code=404)


def demo_available() -> bool:
    """Whether the built demo is in this install (scripts/build-demo.sh writes it)."""
    return resources.files("gateway").joinpath("demo/index.html").is_file()


def dev_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/dev", dev_status, methods=["GET"]),
        Route("/dev/login", dev_login, methods=["POST"]),
    ]
    if settings.is_development_app and demo_available():
        routes.append(Mount("/demo", StaticFiles(packages=[("gateway", "demo")], html=True), name="demo"))
    else:
        routes.append(Route("/demo{rest:path}", demo_not_served))
    return routes
