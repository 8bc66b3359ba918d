"""The HTTP side of callbacks: one POST to the app's endpoint, as Tencent makes it.

`POST <url>?SdkAppid=&CallbackCommand=&contenttype=json&ClientIP=&OptPlatform=[&Sign=&RequestTime=]`
with the JSON body; the answer counts only when it is HTTP 200 with a JSON object (Tencent counts
anything else as a failure). Connections are kept alive between callbacks ("long connection by
default", as Tencent), in one httpx client shared by the before-callbacks and the worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson

from gateway.clock import Clock
from gateway.v4.callbacks import query_string


class CallbackUnavailable(Exception):
    """The endpoint did not answer usefully now (network error, timeout, 5xx, 429): worth a retry."""


class CallbackRejected(Exception):
    """The endpoint answered, but not with HTTP 200 and a JSON object: a retry would not help."""


class CallbackSender:
    def __init__(
        self,
        url: str,
        token: str | None,
        sdkappid: int,
        clock: Clock,
        timeout_seconds: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = url
        self._joiner = "&" if "?" in url else "?"
        self._token = token
        self._sdkappid = sdkappid
        self._clock = clock
        self.timeout_seconds = timeout_seconds
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds)

    def url_for(self, command: str, platform: str, client_ip: str) -> str:
        query = query_string(
            self._sdkappid,
            command,
            client_ip,
            platform,
            token=self._token,
            request_time=int(self._clock.now()),
        )
        return f"{self._url}{self._joiner}{query}"

    async def post(self, command: str, body: dict[str, Any], platform: str, client_ip: str) -> dict[str, Any]:
        """The endpoint's answer, within `timeout_seconds` all told (connect, send and read)."""
        url = self.url_for(command, platform, client_ip)
        content = orjson.dumps(body)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                response = await self._client.post(url, content=content, headers={"Content-Type": "application/json"})
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            raise CallbackUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise CallbackUnavailable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise CallbackRejected(f"HTTP {response.status_code}")
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise CallbackRejected("the answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise CallbackRejected("the answer is not a JSON object")
        return answer

    async def aclose(self) -> None:
        await self._client.aclose()
