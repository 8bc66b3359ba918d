"""Two real gateways for the Tencent backend's tests, on real Redis:
- the **cloud**: an embedded imql (its own Redis database) serving REST v4 and sending its
  third-party callbacks to the gateway's webhook route, as Tencent's IM server does; its GraphQL
  users play the native SDK users;
- the **gateway**: `IMQL_BACKEND=tencent` pointed at the cloud, with the same SDKAppID and key.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis as sync_redis

from gateway.clock import Clock
from gateway.config import Settings
from gateway.keys import Keys
from gateway.v4.callbacks import SUPPORTED_COMMANDS
from tests.conftest import SECRET
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway, free_port, start_in_process

CLOUD_REDIS_DB = 1  # the cloud's data apart from the gateway's mirror (same SDKAppID, same key names)
TOKEN = "tencent-callback-token-0123"


@dataclass
class Pair:
    cloud: InProcessGateway
    gateway: InProcessGateway
    at_cloud: HTTPClient
    at_gateway: HTTPClient

    async def admin(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """The cloud's REST v4, called as the app's admin (what the app's servers do)."""
        sig = self.at_cloud.sig("administrator")
        params: dict[str, str | int] = {
            "sdkappid": self.at_cloud.sdkappid,
            "identifier": "administrator",
            "usersig": sig,
            "random": 1,
            "contenttype": "json",
        }
        response = await self.at_cloud.http.post(f"/v4/{command}", params=params, json=body)
        answer: dict[str, Any] = response.json()
        return answer


@contextlib.asynccontextmanager
async def running_pair(
    settings: Settings,
    redis_url: str,
    *,
    cloud_callbacks: frozenset[str] = SUPPORTED_COMMANDS,
    clock: Clock | None = None,
    api_url_for: Callable[[str], str] | None = None,
    gateway_changes: Mapping[str, Any] | None = None,
) -> AsyncIterator[Pair]:
    """A cloud and a gateway pointed at it; `cloud_callbacks`: the callbacks the cloud sends (the
    others are lost, as a webhook Tencent gave up on); `clock`: the gateway's; `api_url_for`: the
    URL the gateway calls instead of the cloud's (a proxy in between, tests/support/fault_proxy.py);
    `gateway_changes`: more of the gateway's settings."""
    cloud_url = redis_url.rsplit("/", 1)[0] + f"/{CLOUD_REDIS_DB}"
    cloud_port = free_port()
    cloud_base = f"http://127.0.0.1:{cloud_port}"
    gateway = await start_in_process(
        dataclasses.replace(
            settings,
            backend="tencent",
            tencent_api_url=api_url_for(cloud_base) if api_url_for is not None else cloud_base,
            tencent_callback_token=TOKEN,
            **(gateway_changes or {}),
        ),
        clock,
    )
    cloud = await start_in_process(
        dataclasses.replace(
            settings,
            redis_url=cloud_url,
            callback_url=f"{gateway.base_url}{settings.tencent_callback_path}",
            callback_token=TOKEN,
            callback_commands=cloud_callbacks,
            data_dir=settings.data_dir / "cloud",
        ),
        port=cloud_port,
    )
    at_cloud = HTTPClient(cloud.base_url, settings.sdkappid, SECRET)
    at_gateway = HTTPClient(gateway.base_url, settings.sdkappid, SECRET)
    try:
        yield Pair(cloud, gateway, at_cloud, at_gateway)
    finally:
        await at_cloud.aclose()
        await at_gateway.aclose()
        await gateway.stop()
        await cloud.stop()
        drop_app(cloud_url, settings.sdkappid)


def drop_app(url: str, sdkappid: int) -> None:
    client = sync_redis.Redis.from_url(url)
    try:
        for pattern in Keys(sdkappid).scan_patterns():
            batch = list(client.scan_iter(match=pattern, count=1000))
            if batch:
                client.delete(*batch)
    finally:
        client.close()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Webhooks are asynchronous (queued, then applied by a worker): wait for their effect."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the webhook's effect never showed")
        await asyncio.sleep(0.05)
