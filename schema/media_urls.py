"""Media URLs inline: an upload's element carries a URL signed for the reader (as
getMessageOnlineUrl gives), in history, `lastMessage` and events alike.

Stored messages name an upload by its store key (the element's UUID), never by a URL
(gateway.session.media), so the URL fields resolve per reader: signed for the caller's user ID
(IMContext.viewer, known once the session is resolved, so no Redis round trip) with the request's
base URL. One HMAC-SHA256 per URL field.

A group event is rendered once for every subscriber with the same document (its root carries a
share key: schema.execution.listeners, schema.execution.executor), so there the resolver writes a
placeholder holding the key instead, and each subscriber's copy gets its own signed URL at
delivery (`personalize` on the rendered bytes, `personalize_data` on a result's data): a split on
the placeholder and one HMAC per media URL per subscriber, nothing for events without media.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from strawberry.types import Info

from gateway.media.store import is_media_key
from schema.context import IMContext
from schema.execution.share import SHARE_ATTRIBUTE

# Marks a key awaiting its reader's URL. Random per process, so no message text can contain it.
_HOLE = f"imql-media-{secrets.token_hex(16)}:"
_HOLE_BYTES = _HOLE.encode()


def media_url(info: Info[IMContext, None], key: str, given: str) -> str:
    """The URL field of a media element: `given` for media sent by URL, else the reader's URL."""
    if given or not key or not is_media_key(key):
        return given
    if getattr(info.root_value, SHARE_ATTRIBUTE, ""):
        return f"{_HOLE}{key}{_HOLE}"  # rendered once for many readers: filled in per reader
    return signed_url(info.context, key)


def signed_url(context: IMContext, key: str) -> str:
    if not context.viewer:
        return ""  # no reader known (not reached: every message read needs a session)
    gateway = context.gateway
    base = str(context.request.base_url).rstrip("/")
    if base.startswith("ws"):  # a WebSocket's own URL: media are fetched over HTTP(S)
        base = "http" + base[2:]
    return base + gateway.media_signer.url(key, context.viewer, gateway.clock.now())


def for_anyone(payload: bytes) -> bool:
    """Whether a rendered payload holds no placeholder: `personalize` gives it as it is."""
    return _HOLE_BYTES not in payload


def personalize(payload: bytes, context: IMContext) -> bytes:
    """A rendered payload with each placeholder replaced by the URL signed for this reader."""
    if for_anyone(payload):
        return payload
    parts = payload.split(_HOLE_BYTES)
    for i in range(1, len(parts), 2):
        parts[i] = orjson.dumps(signed_url(context, parts[i].decode()))[1:-1]
    return b"".join(parts)


def personalize_data(data: Any, context: IMContext) -> Any:
    """The same on a result's data (the Strawberry path): a copy where a placeholder was."""
    if isinstance(data, str):
        if data.startswith(_HOLE) and data.endswith(_HOLE) and len(data) > 2 * len(_HOLE):
            return signed_url(context, data[len(_HOLE) : -len(_HOLE)])
        return data
    if isinstance(data, dict):
        return {k: personalize_data(v, context) for k, v in data.items()}
    if isinstance(data, list):
        return [personalize_data(v, context) for v in data]
    return data
