"""The Tencent Cloud backend end to end, against imql's own REST v4 server standing in for Tencent.

Two real gateways on real Redis:
- the **cloud**: an embedded `imql` (its own Redis database) serving REST v4 and sending its
  third-party callbacks to the gateway's webhook route, as Tencent's IM server does; its GraphQL
  users play the native SDK users;
- the **gateway**: `IMQL_BACKEND=tencent` pointed at the cloud, same SDKAppID and key.

What the design note (docs/tencent-design.md) promises for accounts and C2C messages: writes go to
the cloud first and are mirrored with the cloud's answer, native users' messages and profile
changes arrive through webhooks as the same listener events, echoes of the gateway's own calls
are not applied twice, and a refusal upstream leaves the mirror untouched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis as sync_redis

from gateway.backend import (
    AccountManager,
    ConversationManager,
    FriendshipManager,
    GroupManager,
    MessageManager,
    SignalingManager,
)
from gateway.config import Settings
from gateway.keys import Keys
from gateway.tencent.coverage import SERVED
from tests.conftest import SECRET
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway, free_port, start_in_process
from tests.test_messages import HISTORY, Device, device

CLOUD_REDIS_DB = 1  # the cloud's data apart from the gateway's mirror (same SDKAppID, same key names)
TOKEN = "tencent-callback-token-0123"
MANAGER_PROTOCOLS: dict[str, type[object]] = {
    "accounts": AccountManager,
    "friendship": FriendshipManager,
    "messages": MessageManager,
    "groups": GroupManager,
    "conversations": ConversationManager,
    "signaling": SignalingManager,
}
NICK = "query($u: [String!]!) { getUsersInfo(userIDList: $u) { userID nickName } }"
RENAME = "mutation($n: String!) { setSelfInfo(nickName: $n) { nickName } }"


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


@pytest.fixture
async def pair(settings: Settings, redis_url: str) -> AsyncIterator[Pair]:
    cloud_url = redis_url.rsplit("/", 1)[0] + f"/{CLOUD_REDIS_DB}"
    cloud_port = free_port()
    gateway = await start_in_process(
        dataclasses.replace(
            settings,
            backend="tencent",
            tencent_api_url=f"http://127.0.0.1:{cloud_port}",
            tencent_callback_token=TOKEN,
        )
    )
    cloud = await start_in_process(
        dataclasses.replace(
            settings,
            redis_url=cloud_url,
            callback_url=f"{gateway.base_url}{settings.tencent_callback_path}",
            callback_token=TOKEN,
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
        _drop_app(cloud_url, settings.sdkappid)


def _drop_app(url: str, sdkappid: int) -> None:
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


async def history(dev: Device, peer: str) -> list[dict[str, Any]]:
    return list((await dev.q(HISTORY, {"u": peer, "n": 20}))["getC2CHistoryMessageList"])


def text_of(message: dict[str, Any]) -> str:
    return str(message["textElem"]["text"])


async def test_a_gateway_user_exists_on_tencent_after_logging_in(pair: Pair) -> None:
    await pair.at_gateway.login("alice")
    answer = await pair.admin("im_open_login_svc/account_check", {"CheckItem": [{"UserID": "alice"}]})
    assert answer["ResultItem"][0]["AccountStatus"] == "Imported"


async def test_a_c2c_send_goes_to_tencent_then_to_the_mirror(pair: Pair) -> None:
    bob = await device(pair.at_cloud, pair.cloud, "bob")  # a native user
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    sent = await alice.send_text("bob", f"hello native {random.random()}")
    heard = (await bob.event())["message"]
    assert text_of(heard) == text_of(sent)
    # the mirror keeps Tencent's time for it, and holds it once (its echo was not applied again)
    assert heard["timestamp"] == sent["timestamp"]
    await asyncio.sleep(0.5)  # time for the echo callback to come back and be dropped
    mine = await history(alice, "bob")
    assert [text_of(m) for m in mine] == [text_of(sent)]
    theirs = await history(bob, "alice")
    assert [text_of(m) for m in theirs] == [text_of(sent)]


async def test_a_native_users_message_reaches_the_gateway_user_live_and_in_history(pair: Pair) -> None:
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    bob = await device(pair.at_cloud, pair.cloud, "bob")
    sent = await bob.send_text("alice", "hi from the native side")
    heard = (await alice.event())["message"]
    assert text_of(heard) == "hi from the native side"
    assert heard["sender"] == "bob"
    assert heard["isSelf"] is False
    assert [text_of(m) for m in await history(alice, "bob")] == [text_of(sent)]


async def test_a_native_user_unknown_to_the_mirror_is_fetched_from_tencent(pair: Pair) -> None:
    carol = await device(pair.at_cloud, pair.cloud, "carol")
    await carol.q(RENAME, {"n": "Carol on Tencent"})
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    infos = (await alice.q(NICK, {"u": ["carol", "nobody-anywhere"]}))["getUsersInfo"]
    assert infos == [{"userID": "carol", "nickName": "Carol on Tencent"}]


async def test_profile_changes_cross_both_ways(pair: Pair) -> None:
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    bob = await device(pair.at_cloud, pair.cloud, "bob")
    await alice.q(NICK, {"u": ["bob"]})  # bob is in the mirror now: his changes come by webhook
    await alice.q(RENAME, {"n": "Alice via gateway"})
    assert (await bob.q(NICK, {"u": ["alice"]}))["getUsersInfo"][0]["nickName"] == "Alice via gateway"
    await bob.q(RENAME, {"n": "Bob natively"})

    async def alice_sees_it() -> bool:
        infos = (await alice.q(NICK, {"u": ["bob"]}))["getUsersInfo"]
        return bool(infos[0]["nickName"] == "Bob natively")

    await eventually(alice_sees_it)


async def test_a_send_tencent_does_not_take_leaves_the_mirror_unchanged(pair: Pair) -> None:
    await device(pair.at_cloud, pair.cloud, "bob")
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    await alice.q(NICK, {"u": ["bob"]})
    await pair.cloud.stop()  # Tencent unreachable
    reply = await alice.send(await alice.create_text("lost in transit"), "bob")
    assert reply.codes
    assert 0 not in reply.codes
    assert await history(alice, "bob") == []


async def test_readyz_says_when_tencent_does_not_answer(settings: Settings) -> None:
    dead = dataclasses.replace(
        settings, backend="tencent", tencent_api_url=f"http://127.0.0.1:{free_port()}", tencent_callback_token=TOKEN
    )
    gateway = await start_in_process(dead)
    try:
        async with httpx.AsyncClient(base_url=gateway.base_url) as http:
            response = await http.get("/readyz")
        assert response.status_code == 503
        assert "tencent backend" in response.json()["reason"]
    finally:
        await gateway.stop()


async def test_an_api_not_yet_written_through_is_refused_and_changes_nothing(pair: Pair) -> None:
    await device(pair.at_cloud, pair.cloud, "bob")
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    reply = await alice.call('mutation { createGroup(groupName: "g", groupType: V2TIM_GROUP_TYPE_WORK) }')
    assert reply.codes == [7013]
    assert "not available on the Tencent backend" in reply.errors[0]["message"]
    joined = await pair.admin("group_open_http_svc/get_joined_group_list", {"Member_Account": "alice"})
    assert joined.get("TotalCount", 0) == 0


def test_every_served_method_is_a_method_of_its_manager() -> None:
    for manager, methods in SERVED.items():
        protocol = MANAGER_PROTOCOLS[manager]
        assert methods <= set(dir(protocol)), (manager, methods - set(dir(protocol)))
