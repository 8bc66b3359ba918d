"""The operator REST API, in Tencent Cloud IM REST v4's wire format.

A backend server that already calls Tencent's REST API can call the same paths here. Requests are
authenticated as Tencent's are: `?sdkappid=&identifier=<admin>&usersig=<the admin's UserSig>`.
Answers carry ActionStatus / ErrorCode / ErrorInfo, with HTTP 200, as Tencent's do.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import Code, IMError
from gateway.services import Gateway
from gateway.usersig import verify

MAX_REST_BODY_BYTES = 64 * 1024


def _answer(code: int = 0, info: str = "") -> Response:
    body = {"ActionStatus": "OK" if code == 0 else "FAIL", "ErrorCode": code, "ErrorInfo": info}
    return Response(orjson.dumps(body), media_type="application/json")


def _authorize(gateway: Gateway, request: Request) -> None:
    params = request.query_params
    settings = gateway.settings
    if params.get("sdkappid") != str(settings.sdkappid):
        raise IMError(Code.ERR_USERSIG_OTHER_APP, "sdkappid is not this gateway's app")
    identifier = params.get("identifier", "")
    if identifier != settings.admin_identifier:
        raise IMError(Code.ERR_NO_PERMISSION, "identifier must be the app's admin account")
    verify(
        params.get("usersig", ""),
        sdkappid=settings.sdkappid,
        secret_key=settings.secret_key,
        user_id=identifier,
        now=gateway.clock.now(),
    )


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_REST_BODY_BYTES:
        raise IMError(Code.ERR_INVALID_PARAMETERS, f"body over {MAX_REST_BODY_BYTES} bytes")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise IMError(Code.ERR_INVALID_PARAMETERS, "body is not JSON") from exc
    if not isinstance(body, dict):
        raise IMError(Code.ERR_INVALID_PARAMETERS, "body must be a JSON object")
    return body


async def send_group_system_notification(request: Request) -> Response:
    """POST /v4/group_open_http_svc/send_group_system_notification
    {"GroupId": "...", "ToMembers_Account": ["..."] (optional), "Content": "..."}"""
    gateway: Gateway = request.app.state.gateway
    try:
        _authorize(gateway, request)
        body = await _json_body(request)
        group_id, content = body.get("GroupId"), body.get("Content")
        members = body.get("ToMembers_Account")
        if not isinstance(group_id, str) or not isinstance(content, str) or not group_id:
            raise IMError(Code.ERR_GROUP_INVALID_PARAMETERS, "GroupId and Content are required strings")
        if members is not None and not (isinstance(members, list) and all(isinstance(m, str) for m in members)):
            raise IMError(Code.ERR_GROUP_INVALID_PARAMETERS, "ToMembers_Account must be a list of userIDs")
        housekeeping = gateway.backend.housekeeping
        if housekeeping is None:
            raise IMError(Code.ERR_SDK_INTERFACE_NOT_SUPPORT, f"not available on the {gateway.backend.name} backend")
        await housekeeping.send_group_system_notification(group_id, content, members or None)
    except IMError as exc:
        return _answer(exc.code, exc.desc)
    return _answer()
