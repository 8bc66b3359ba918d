"""The Tencent backend as operators run it: two real `imql serve` processes on real Redis.

The cloud is an embedded imql (REST v4 server, third-party callbacks aimed at the gateway); the
gateway runs `IMQL_BACKEND=tencent` against it, configured only through the environment names of
the contract. A native user (on the cloud's own GraphQL) and a gateway user exchange C2C and group
messages both ways, live and in history, with the unread counts right on both sides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import SECRET
from tests.support.actors import Actor
from tests.support.clients import HTTPClient
from tests.support.groups import MSG_EVENTS
from tests.support.servers import GatewayProcess, free_port, spawn_gateway
from tests.support.tencent_pair import CLOUD_REDIS_DB, TOKEN, drop_app, eventually

pytestmark = pytest.mark.e2e

UNREAD = "{ getTotalUnreadMessageCount }"
GROUP_HISTORY = "query($g: String!) { getGroupHistoryMessageList(groupID: $g, count: 10) { textElem { text } } }"
C2C_HISTORY = "query($u: String!) { getC2CHistoryMessageList(userID: $u, count: 10) { textElem { text } } }"


@dataclass
class Processes:
    cloud: GatewayProcess
    gateway: GatewayProcess
    at_cloud: HTTPClient
    at_gateway: HTTPClient


@pytest.fixture
async def processes(sdkappid: int, redis_url: str) -> AsyncIterator[Processes]:
    cloud_url = redis_url.rsplit("/", 1)[0] + f"/{CLOUD_REDIS_DB}"
    cloud_port, gateway_port = free_port(), free_port()
    common = {"IMQL_SDKAPPID": str(sdkappid), "IMQL_SECRET_KEY": SECRET, "IMQL_RATE_LIMIT": "0"}
    gateway = await spawn_gateway(
        {
            **common,
            "IMQL_REDIS_URL": redis_url,
            "IMQL_BACKEND": "tencent",
            "IMQL_TENCENT_API_URL": f"http://127.0.0.1:{cloud_port}",
            "IMQL_TENCENT_CALLBACK_TOKEN": TOKEN,
        },
        port=gateway_port,
    )
    cloud = await spawn_gateway(
        {
            **common,
            "IMQL_REDIS_URL": cloud_url,
            "IMQL_CALLBACK_URL": f"http://127.0.0.1:{gateway_port}/tencent/callback",
            "IMQL_CALLBACK_TOKEN": TOKEN,
        },
        port=cloud_port,
    )
    at_cloud = HTTPClient(cloud.base_url, sdkappid, SECRET)
    at_gateway = HTTPClient(gateway.base_url, sdkappid, SECRET)
    try:
        yield Processes(cloud, gateway, at_cloud, at_gateway)
    finally:
        await at_cloud.aclose()
        await at_gateway.aclose()
        gateway.terminate()
        cloud.terminate()
        drop_app(cloud_url, sdkappid)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["textElem"]["text"] for m in messages if m["textElem"] is not None]


async def text_event(user: Actor) -> str:
    """The text of the next text message the user hears (other events and group tips passed over)."""
    while True:
        event = await user.event()
        if event.get("type") == "onRecvNewMessage" and event["message"]["textElem"] is not None:
            return str(event["message"]["textElem"]["text"])


async def test_c2c_and_group_messages_cross_between_two_processes(processes: Processes) -> None:
    native = await Actor.online(processes.at_cloud, processes.cloud.ws_url, "nina", MSG_EVENTS)
    mine = await Actor.online(processes.at_gateway, processes.gateway.ws_url, "gus", MSG_EVENTS)

    async def send(sender: Actor, target: str, text: str) -> None:
        created = await sender.create_text(text)
        await sender.q(f'mutation {{ sendMessage(id: "{created}", {target}) {{ msgID }} }}')

    await send(mine, 'receiver: "nina"', "hi nina")
    assert await text_event(native) == "hi nina"
    await send(native, 'receiver: "gus"', "hi gus")
    assert await text_event(mine) == "hi gus"
    assert texts((await mine.q(C2C_HISTORY, {"u": "nina"}))["getC2CHistoryMessageList"]) == ["hi gus", "hi nina"]
    assert (await mine.q(UNREAD))["getTotalUnreadMessageCount"] == 1
    assert (await native.q(UNREAD))["getTotalUnreadMessageCount"] == 1

    group = (
        await mine.q(
            'mutation { createGroup(groupName: "both", groupType: V2TIM_GROUP_TYPE_WORK,'
            ' memberListMap: [{userID: "nina"}]) }'
        )
    )["createGroup"]
    await send(native, f'groupID: "{group}"', "group hello from nina")
    assert await text_event(mine) == "group hello from nina"
    assert (await mine.q(UNREAD))["getTotalUnreadMessageCount"] == 2  # nina's C2C and group messages
    await send(mine, f'groupID: "{group}"', "group hello from gus")
    assert await text_event(native) == "group hello from gus"

    async def both_histories() -> bool:
        ours = texts((await mine.q(GROUP_HISTORY, {"g": group}))["getGroupHistoryMessageList"])
        theirs = texts((await native.q(GROUP_HISTORY, {"g": group}))["getGroupHistoryMessageList"])
        wanted = ["group hello from gus", "group hello from nina"]
        return ours[:2] == wanted and theirs[:2] == wanted

    await eventually(both_histories)
    assert (await native.q(UNREAD))["getTotalUnreadMessageCount"] == 2  # gus's C2C and group messages
