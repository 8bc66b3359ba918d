"""The HTTP side of callbacks: one POST to the app's endpoint, as Tencent makes it.

`POST <url>?SdkAppid=&CallbackCommand=&contenttype=json&ClientIP=&OptPlatform=[&Sign=&RequestTime=]`
with the JSON body; the answer counts only when it is HTTP 200 with a JSON object (Tencent counts
anything else as a failure). Connections are kept alive between callbacks ("long connection by
default", as Tencent), in one client shared by the before-callbacks and the worker: for a plain
http:// endpoint reached directly, imql's own (plain_http, a twentieth of httpx's CPU per POST);
for the rest (https, a proxy from the environment, credentials in the URL), httpx.
"""

from __future__ import annotations

import asyncio
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from gateway.clock import Clock
from gateway.engine.callbacks.plain_http import ANSWER_MAX_BYTES, PlainHTTPClient, PlainHTTPError
from gateway.v4.callbacks import query_string

# connections to the endpoint per process (the worker delivers up to its batch at once; the
# before-callbacks of requests share them): beyond it a POST waits, within its timeout
PLAIN_CONNECTIONS = 16


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
        endpoint = None if client is not None else plain_endpoint(url)
        self._plain: PlainHTTPClient | None = None
        self._client: httpx.AsyncClient | None = None
        if endpoint is not None:
            host, port, self._target = endpoint
            self._plain = PlainHTTPClient(host, port, max_connections=PLAIN_CONNECTIONS)
        else:
            self._client = client or httpx.AsyncClient(timeout=timeout_seconds)

    def url_for(self, command: str, platform: str, client_ip: str) -> str:
        return f"{self._url}{self._joiner}{self._query(command, platform, client_ip)}"

    def _query(self, command: str, platform: str, client_ip: str) -> str:
        return query_string(
            self._sdkappid,
            command,
            client_ip,
            platform,
            token=self._token,
            request_time=int(self._clock.now()),
        )

    async def post(self, command: str, body: dict[str, Any], platform: str, client_ip: str) -> dict[str, Any]:
        """The endpoint's answer, within `timeout_seconds` all told (a free connection, connect,
        send and read)."""
        content = orjson.dumps(body)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                if self._plain is not None:
                    query = self._query(command, platform, client_ip)
                    answer = await self._plain.post(f"{self._target}{self._joiner}{query}", content)
                    status, raw = answer.status, answer.body
                else:
                    assert self._client is not None
                    url = self.url_for(command, platform, client_ip)
                    headers = {"Content-Type": "application/json"}
                    request = self._client.build_request("POST", url, content=content, headers=headers)
                    response = await self._client.send(request, stream=True)
                    try:
                        status, raw = response.status_code, await _capped(response)
                    finally:
                        await response.aclose()
        except (httpx.HTTPError, PlainHTTPError, TimeoutError, OSError) as exc:
            raise CallbackUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if status == 429 or status >= 500:
            raise CallbackUnavailable(f"HTTP {status}")
        if status != 200:
            raise CallbackRejected(f"HTTP {status}")
        try:
            answer_body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise CallbackRejected("the answer is not JSON") from exc
        if not isinstance(answer_body, dict):
            raise CallbackRejected("the answer is not a JSON object")
        return answer_body

    async def aclose(self) -> None:
        if self._plain is not None:
            await self._plain.aclose()
        if self._client is not None:
            await self._client.aclose()


def plain_endpoint(url: str) -> tuple[str, int, str] | None:
    """(host, port, path and query) of an http:// URL reached directly, which PlainHTTPClient can
    serve; None for the rest (https, credentials in the URL, a proxy from the environment: httpx
    serves those, as it reads the same HTTP_PROXY / ALL_PROXY / NO_PROXY)."""
    parts = urlsplit(url)
    try:
        port = parts.port or 80
    except ValueError:  # not a port: httpx says so at each POST
        return None
    if parts.scheme.lower() != "http" or parts.username is not None or not parts.hostname:
        return None
    proxies = urllib.request.getproxies()
    if ("http" in proxies or "all" in proxies) and not urllib.request.proxy_bypass(parts.hostname):
        return None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not (target + parts.hostname).isascii() or " " in target:  # httpx encodes what a request line cannot hold
        return None
    return parts.hostname, port, target


async def _capped(response: httpx.Response) -> bytes:
    """An answer's body (decoded, as httpx decodes it) up to ANSWER_MAX_BYTES; past it, refused
    (as the plain-HTTP client refuses it: an endpoint does not fill the gateway's memory)."""
    parts, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > ANSWER_MAX_BYTES:
            raise CallbackUnavailable(f"the answer is over {ANSWER_MAX_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)
