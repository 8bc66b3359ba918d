"""GET /media/<key>: an uploaded file, for the holder of a URL that getMessageOnlineUrl signed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from gateway.errors import Code
from gateway.services import Gateway
from gateway.web.view import error_response


async def serve_media(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    key = request.path_params["key"]
    q = request.query_params
    if not gateway.media_signer.valid(key, q.get("u", ""), q.get("e", ""), q.get("s", ""), gateway.clock.now()):
        desc = "this media URL is not valid (or has expired): ask getMessageOnlineUrl again"
        return error_response(403, desc, Code.ERR_NO_PERMISSION)
    path = gateway.media_store.path(key)
    if path is None:
        return error_response(404, "no such media")
    # private: the URL is one user's; immutable: a key never names other bytes. Uploads are other
    # users' bytes served from the API's origin: never sniffed, never run (nosniff, sandbox), and
    # only images (stored with their checked format as suffix) get a type a browser shows inline.
    headers = {
        "Cache-Control": "private, max-age=3600, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    media_type = None if "." in key else "application/octet-stream"
    return FileResponse(path, headers=headers, media_type=media_type)
