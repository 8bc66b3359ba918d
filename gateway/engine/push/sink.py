"""Where notifications go. A sink takes one user's notification for one message (all of that
user's devices in it) and either delivers it, raises PushUnavailable (try again later) or raises
PushRejected (never retry). The built-in WebhookSink POSTs signed JSON to an operator's endpoint,
which forwards to APNs / FCM / vendor channels; a direct APNs or FCM sender is one more class with
the same method.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

import httpx
import msgspec

from gateway.clock import Clock
from gateway.engine.push.planner import PushContent
from gateway.push.devices import PushDevice

SIGNATURE_HEADER = "X-IMQL-Signature"  # "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>"
TIMESTAMP_HEADER = "X-IMQL-Timestamp"  # unix seconds; receivers should refuse stale ones (replays)
REQUEST_TIMEOUT_SECONDS = 10.0


class PushNotification(msgspec.Struct, kw_only=True):
    sdkAppID: int
    toUserID: str
    devices: list[PushDevice]
    content: PushContent


class PushUnavailable(Exception):
    """The sink could not take the notification now (network error, 5xx, 429): retry."""


class PushRejected(Exception):
    """The sink refused the notification for good (4xx): retrying would not help."""


class PushSink(Protocol):
    async def deliver(self, notification: PushNotification) -> None: ...

    async def aclose(self) -> None: ...


_enc = msgspec.json.Encoder()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSink:
    def __init__(self, url: str, secret: str, clock: Clock, client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        self._secret = secret
        self._clock = clock
        self._client = client or httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS)

    async def deliver(self, notification: PushNotification) -> None:
        body = _enc.encode(notification)
        timestamp = str(int(self._clock.now()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PushUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise PushUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PushRejected(f"HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
