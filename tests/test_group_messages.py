"""Group messages: delivery, targeted and @ messages, receive options, unread by read diffusion,
revocation by managers, and a send's Redis cost that does not grow with the group."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio.client as redis_client

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.groups.store import MemberRecord, member_enc
from gateway.errors import Code
from gateway.im.enums import ElemType, GroupType
from gateway.im.messages import Content, SendOptions, TextElem
from gateway.services import Gateway
from tests.support.actors import Actor
from tests.support.clients import HTTPClient, WSClient
from tests.support.engine import embedded
from tests.support.servers import InProcessGateway

EVENTS = """subscription { advancedMsgListener { __typename
  ... on RecvNewMessageEvent { type message { msgID sender groupID isSelf groupAtUserList elemType textElem { text } } }
  ... on RecvMessageRevokedEvent { type msgID } } }"""


class Person(Actor):
    """A member's device, listening to advancedMsgListener."""

    async def send(self, gid: str, text: str, *, receiver: str | None = None, at: list[str] | None = None) -> Any:
        if at is None:
            created = (await self.q(f'mutation {{ createTextMessage(text: "{text}") {{ id }} }}'))["createTextMessage"][
                "id"
            ]
        else:
            users = ", ".join(f'"{u}"' for u in at)
            created = (
                await self.q(f'mutation {{ createTextAtMessage(text: "{text}", atUserList: [{users}]) {{ id }} }}')
            )["createTextAtMessage"]["id"]
        to = f', receiver: "{receiver}"' if receiver else ""
        return await self.call(f'mutation {{ sendMessage(id: "{created}", groupID: "{gid}"{to}) {{ msgID isSelf }} }}')


async def person(client: HTTPClient, server: InProcessGateway, name: str, platform: str = "web") -> Person:
    return await Person.online(client, server.ws_url, name, EVENTS, platform=platform)


@pytest.fixture
async def room(client: HTTPClient, server: InProcessGateway) -> tuple[str, Person, Person, Person, Person]:
    """A Meeting group of olive (owner, two devices), mike and nora."""
    olive = await person(client, server, "olive", "web")
    olive_phone = await person(client, server, "olive", "ios")
    mike = await person(client, server, "mike")
    nora = await person(client, server, "nora")
    gid = (await olive.q('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_MEETING, groupName: "room") }'))[
        "createGroup"
    ]
    for p in (mike, nora):
        await p.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    for p in (olive, olive_phone, mike, nora):
        await p.drain()  # the join tips
    return gid, olive, olive_phone, mike, nora


async def test_group_message_reaches_members_and_the_senders_other_devices(
    room: tuple[str, Person, Person, Person, Person], server: InProcessGateway
) -> None:
    gid, olive, olive_phone, mike, nora = room
    sent = (await olive.send(gid, "hello room")).ok()["sendMessage"]
    assert sent["isSelf"] is True
    for p in (mike, nora):
        (event,) = await p.drain()
        assert (event["message"]["msgID"], event["message"]["isSelf"]) == (sent["msgID"], False)
    (synced,) = await olive_phone.drain()
    assert synced["message"]["isSelf"] is True
    assert await olive.drain() == []
    history = await mike.q(f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: 5) {{ msgID elemType }} }}')
    assert history["getGroupHistoryMessageList"][0]["msgID"] == sent["msgID"]
    engine = embedded(server.gateway.backend).messages
    assert await engine.group_unread("mike", gid) == 1
    assert await engine.group_unread("olive", gid) == 0  # sending reads the conversation
    assert await mike.q(f'mutation {{ markGroupMessageAsRead(groupID: "{gid}") }}')
    assert await engine.group_unread("mike", gid) == 0


async def test_targeted_and_at_messages(room: tuple[str, Person, Person, Person, Person]) -> None:
    gid, olive, olive_phone, mike, nora = room
    assert (await olive.send(gid, "just mike", receiver="mike")).codes == []
    assert [e["message"]["textElem"]["text"] for e in await mike.drain()] == ["just mike"]
    assert await nora.drain() == []
    nora_history = await nora.q(
        f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: 5) {{ textElem {{ text }} }} }}'
    )
    assert {"textElem": {"text": "just mike"}} not in nora_history["getGroupHistoryMessageList"]
    await olive_phone.drain()
    at = (await olive.send(gid, "@nora look", at=["nora", "__kImSDK_MesssageAtALL__"])).ok()
    assert at["sendMessage"]["msgID"]
    (event,) = await nora.drain()
    assert event["message"]["groupAtUserList"] == ["nora", "__kImSDK_MesssageAtALL__"]
    many = [f"u{i}" for i in range(31)]
    assert (
        await olive.call(
            'mutation { createTextAtMessage(text: "x", atUserList: [%s]) { id } }' % ", ".join(f'"{u}"' for u in many)
        )
    ).codes == [6017]


async def test_non_members_receive_options_and_revoking(
    room: tuple[str, Person, Person, Person, Person], client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    gid, olive, _olive_phone, mike, nora = room
    stranger = await person(client, server, "stranger")
    assert (await stranger.send(gid, "let me in")).codes == [Code.ERR_NO_PERMISSION]
    assert await nora.q(f'mutation {{ setGroupReceiveMessageOpt(groupID: "{gid}", opt: V2TIM_NOT_RECEIVE_MESSAGE) }}')
    sent = (await mike.send(gid, "quiet please")).ok()["sendMessage"]
    assert await nora.drain() == []
    assert len(await olive.drain()) == 1
    await clock.advance(600)  # long past the sender's 2 minutes: the owner may still revoke
    assert (await nora.call(f'mutation {{ revokeMessage(lastMsgID: "{sent["msgID"]}") }}')).codes == [
        Code.ERR_NO_PERMISSION
    ]
    assert (await mike.call(f'mutation {{ revokeMessage(lastMsgID: "{sent["msgID"]}") }}')).codes == [
        Code.ERR_REVOKE_TIME_LIMIT
    ]
    assert await olive.q(f'mutation {{ revokeMessage(lastMsgID: "{sent["msgID"]}") }}')
    assert [e["type"] for e in await mike.drain()] == ["onRecvMessageRevoked"]
    assert await mike.q(f'mutation {{ clearGroupHistoryMessage(groupID: "{gid}") }}')
    assert (await mike.q(f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: 5) {{ msgID }} }}'))[
        "getGroupHistoryMessageList"
    ] == []
    inserted = await mike.q(
        f'mutation {{ insertGroupMessageToLocalStorage(data: "note", groupID: "{gid}", sender: "mike") {{ status }} }}'
    )
    assert inserted["insertGroupMessageToLocalStorage"]["status"] == "V2TIM_MSG_STATUS_LOCAL_IMPORTED"
    assert await mike.q("mutation { markAllMessageAsRead }")


async def test_not_receive_holds_for_live_and_later_subscriptions(client: HTTPClient, server: InProcessGateway) -> None:
    olive, mike, nora = [await person(client, server, n) for n in ("olive", "mike", "nora")]
    gid = (
        await olive.q(
            'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "g",'
            ' memberListMap: [{userID: "mike"}, {userID: "nora"}]) }'
        )
    )["createGroup"]
    for p in (olive, mike, nora):
        await p.drain()
    opt = 'mutation {{ setGroupReceiveMessageOpt(groupID: "%s", opt: {}) }}' % gid
    assert await nora.q(opt.format("V2TIM_NOT_RECEIVE_MESSAGE"))
    await olive.send(gid, "one")
    assert [e["message"]["textElem"]["text"] for e in await mike.drain()] == ["one"]
    assert await nora.drain() == []  # her live subscription
    later = await person(client, server, "nora", "ios")  # a subscription opened after the option was set
    await olive.send(gid, "two")
    assert await later.drain() == []
    assert await nora.q(opt.format("V2TIM_RECEIVE_MESSAGE"))
    await olive.send(gid, "three")
    for device in (nora, later):
        assert [e["message"]["textElem"]["text"] for e in await device.drain()] == ["three"]


@pytest.fixture
async def gw(settings: Settings) -> AsyncIterator[Gateway]:
    gateway = Gateway.build(settings, clock=ManualClock())
    await gateway.start()
    yield gateway
    await gateway.close()


async def _bulk_group(gw: Gateway, size: int) -> str:
    """A Community with `size` members, written straight into Redis (what joins would leave)."""
    await gw.backend.accounts.ensure_account("owner")
    gid = await gw.backend.groups.create_group("owner", GroupType.V2TIM_GROUP_TYPE_COMMUNITY, None, "big")
    pipe = gw.redis.pipeline(transaction=False)
    for i in range(size - 1):
        uid = f"m{i}"
        pipe.hset(gw.keys.group_members(gid), uid, member_enc.encode(MemberRecord(joinTime=1)))
        pipe.zadd(gw.keys.group_roster(gid), {uid: i + 2})
        pipe.hset(gw.keys.user_groups(uid), gid, 1)
    await pipe.execute()
    return gid


async def test_a_sends_redis_commands_are_the_same_for_10_and_10000_members(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = {}
    original_execute = redis_client.Pipeline.execute
    original_command = type(gw.redis).execute_command
    commands = 0

    async def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal commands
        commands += len(self.command_stack)
        return await original_execute(self, *args, **kwargs)

    async def counted_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal commands
        commands += 1
        return await original_command(self, *args, **kwargs)

    for size in (10, 10_000):
        gid = await _bulk_group(gw, size)
        created = await gw.backend.messages.create_message(
            "owner", Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="hi all"))
        )
        monkeypatch.setattr(redis_client.Pipeline, "execute", counted_execute)
        monkeypatch.setattr(type(gw.redis), "execute_command", counted_command)
        commands = 0
        await gw.backend.messages.send_group_message("owner", "s", created.id, gid, SendOptions())
        counts[size] = commands
        monkeypatch.undo()
    assert counts[10] == counts[10_000]


async def test_the_recycler_runs_on_its_own_when_configured(settings: Settings) -> None:
    from dataclasses import replace

    clock = ManualClock()
    gateway = Gateway.build(replace(settings, group_recycle_days=1), clock=clock)
    await gateway.start()
    try:
        await gateway.backend.accounts.ensure_account("owner")
        gid = await gateway.backend.groups.create_group("owner", GroupType.V2TIM_GROUP_TYPE_MEETING, None, "sleepy")
        for _ in range(30):  # a day and a bit of hourly passes, each given time to run
            await clock.advance(3600)
            for _ in range(25):
                await asyncio.sleep(0.004)
            if not await gateway.redis.exists(gateway.keys.group_info(gid)):
                break
        assert not await gateway.redis.exists(gateway.keys.group_info(gid))
    finally:
        await gateway.close()


SHARED_DOC = """subscription { advancedMsgListener { __typename
  ... on RecvNewMessageEvent { at: cursor type message { msgID textElem { text } senderProfile { userID } } } } }"""


async def test_a_group_event_is_executed_once_for_subscribers_with_the_same_document(
    client: HTTPClient, server: InProcessGateway
) -> None:
    owner = await person(client, server, "olive")
    gid = (await owner.q('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_MEETING, groupName: "shared") }'))[
        "createGroup"
    ]
    members = []
    for name in ("m1", "m2", "m3"):
        token = await client.login(name)
        await client.gql(f'mutation {{ joinGroup(groupID: "{gid}") }}', token=token)
        ws = await WSClient.connect(server.ws_url, token)
        members.append((name, token, ws, await ws.subscribe(SHARED_DOC)))
    for _, _, ws, op in members:  # the join tips of those who joined later
        with contextlib.suppress(TimeoutError):
            while True:
                await ws.next(op, timeout=0.3)
    shared = server.app.app.routes[1].endpoint._fast_schema.shared_results
    before = shared.executions
    sent = (await owner.send(gid, "to all of you")).ok()["sendMessage"]
    got = {}
    for name, _, ws, op in members:
        event = await ws.next_event(op)
        got[name] = event
        assert event["message"] == {
            "msgID": sent["msgID"],
            "textElem": {"text": "to all of you"},
            "senderProfile": {"userID": "olive"},
        }
    assert shared.executions - before == 1  # one execution served all three
    cursors = {name: event["at"] for name, event in got.items()}
    assert len(set(cursors.values())) == 3  # each subscriber still gets its own cursor (aliased here)
    # and each cursor is that subscriber's: resuming from it replays nothing of the others'
    for name, token, ws, _ in members:
        await ws.close()
        again = await WSClient.connect(server.ws_url, token)
        op = await again.subscribe(
            "subscription($c: String) { advancedMsgListener(since: $c) { __typename } }", {"c": cursors[name]}
        )
        await owner.send(gid, f"after {name}")
        event = await again.next_event(op)
        assert event["__typename"] == "RecvNewMessageEvent"
        await again.close()
