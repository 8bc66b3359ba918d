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
import json
import random
from typing import Any

import httpx

from gateway.backend import (
    AccountManager,
    ConversationManager,
    FriendshipManager,
    GroupManager,
    MessageManager,
    SignalingManager,
)
from gateway.config import Settings
from gateway.tencent.coverage import SERVED
from gateway.tencent.reconcile import USER_MARK
from gateway.v4.callbacks import C2C_AFTER_SEND, SUPPORTED_COMMANDS
from tests.support import signaling
from tests.support.actors import actor as listening
from tests.support.messages import HISTORY, MODIFY, Device, device
from tests.support.servers import free_port, start_in_process
from tests.support.tencent_pair import TOKEN, Pair, eventually, running_pair

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
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    created = await alice.q('mutation { createGroup(groupName: "g", groupType: V2TIM_GROUP_TYPE_WORK) }')
    group_id = created["createGroup"]
    # member marks (AVChatRoom only in the SDK, and imql users cannot join one on Tencent)
    mark = 'mutation($g: String!) { markGroupMemberList(groupID: $g, memberIDList: ["alice"], markType: 1) }'
    reply = await alice.call(mark, {"g": group_id})
    assert reply.codes == [7013]
    assert "not available on the Tencent backend" in reply.errors[0]["message"]
    members = await alice.q(
        'query($g: String!) { getGroupMembersInfo(groupID: $g, memberList: ["alice"]) { markList } }', {"g": group_id}
    )
    assert members["getGroupMembersInfo"] == [{"markList": []}]  # as it was


def test_every_served_method_is_a_method_of_its_manager() -> None:
    for manager, methods in SERVED.items():
        protocol = MANAGER_PROTOCOLS[manager]
        assert methods <= set(dir(protocol)), (manager, methods - set(dir(protocol)))


REVOKE = "mutation($m: String!) { revokeMessage(lastMsgID: $m) }"
READ = "mutation($u: String!) { markC2CMessageAsRead(userID: $u) }"


async def test_recalls_cross_both_ways(pair: Pair) -> None:
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    bob = await device(pair.at_cloud, pair.cloud, "bob")
    mine = await alice.send_text("bob", "oops from alice")
    assert (await bob.event())["message"]["msgID"]
    assert await alice.q(REVOKE, {"m": mine["msgID"]})
    recalled = await bob.event()
    assert recalled["type"] == "onRecvMessageRevoked"
    assert (await history(bob, "alice"))[0]["status"] == "V2TIM_MSG_STATUS_LOCAL_REVOKED"

    theirs = await bob.send_text("alice", "oops from bob")
    heard = (await alice.event())["message"]
    assert await bob.q(REVOKE, {"m": theirs["msgID"]})
    event = await alice.event()
    assert (event["type"], event["msgID"]) == ("onRecvMessageRevoked", heard["msgID"])
    statuses = [m["status"] for m in await history(alice, "bob")]
    assert statuses == ["V2TIM_MSG_STATUS_LOCAL_REVOKED", "V2TIM_MSG_STATUS_LOCAL_REVOKED"]
    await alice.quiet()  # the echo of alice's own recall told her nothing twice


async def test_modifications_cross_both_ways(pair: Pair) -> None:
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    bob = await device(pair.at_cloud, pair.cloud, "bob")
    mine = await alice.send_text("bob", "helo")
    await bob.event()
    await alice.q(MODIFY, {"m": mine["msgID"], "t": "hello", "c": "edited"})
    changed = await bob.event()
    assert changed["type"] == "onRecvMessageModified"
    assert text_of(changed["message"]) == "hello"

    theirs = await bob.send_text("alice", "wrold")
    await alice.event()
    await bob.q(MODIFY, {"m": theirs["msgID"], "t": "world"})
    event = await alice.event()
    assert event["type"] == "onRecvMessageModified"
    assert text_of(event["message"]) == "world"
    assert [text_of(m) for m in await history(alice, "bob")] == ["world", "hello"]
    await alice.quiet()


async def test_read_reports_cross_both_ways(pair: Pair) -> None:
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    bob = await device(pair.at_cloud, pair.cloud, "bob")
    await bob.send_text("alice", "read me")
    await alice.event()
    assert await alice.q(READ, {"u": "bob"})
    receipt = await bob.event()
    assert receipt["type"] == "onRecvC2CReadReceipt"
    assert receipt["receiptList"][0]["userID"] == "alice"

    await alice.send_text("bob", "and me")
    await bob.event()
    assert await bob.q(READ, {"u": "alice"})
    theirs = await alice.event()
    assert theirs["type"] == "onRecvC2CReadReceipt"
    assert theirs["receiptList"][0]["userID"] == "bob"
    await alice.quiet()


async def test_conversation_list_changes_reach_tencents_recent_contacts(pair: Pair) -> None:
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    bob = await device(pair.at_cloud, pair.cloud, "bob")
    carol = await device(pair.at_cloud, pair.cloud, "carol")
    await alice.send_text("bob", "to bob")
    await alice.send_text("carol", "to carol")
    await bob.event()
    await carol.event()
    marked = await alice.q(
        'mutation { markConversation(conversationIDList: ["c2c_bob"], markType: 1, enableMark: true) { resultCode } }'
    )
    assert marked["markConversation"] == [{"resultCode": 0}]
    await alice.q(
        'mutation { createConversationGroup(groupName: "work", conversationIDList: ["c2c_bob"]) { resultCode } }'
    )
    await alice.q('mutation { renameConversationGroup(oldName: "work", newName: "job") }')
    await alice.q(
        'mutation { addConversationsToGroup(groupName: "job", conversationIDList: ["c2c_carol"]) { resultCode } }'
    )
    on_tencent = await pair.admin("recentcontact/get_contact_group", {"From_Account": "alice", "StartIndex": 0})
    assert [g["GroupName"] for g in on_tencent["GroupItem"]] == ["job"]
    marks = {item["To_Account"]: item for item in on_tencent["ContactItem"]}
    assert marks["bob"]["StandardMark"] == "1"  # bit 1: markType 1 (V2TIM_CONVERSATION_MARK_TYPE_STAR)
    assert set(marks) == {"bob", "carol"}

    await alice.q('mutation { deleteConversationList(conversationIDList: ["c2c_carol"], clearMessage: true) }')
    contacts = await pair.admin(
        "recentcontact/get_list",
        {
            "From_Account": "alice",
            "TimeStamp": 0,
            "StartIndex": 0,
            "TopTimeStamp": 0,
            "TopStartIndex": 0,
            "AssistFlags": 0,
        },
    )
    assert [item.get("To_Account") for item in contacts.get("SessionItem", [])] == ["bob"]
    await alice.q('mutation { deleteConversationGroup(groupName: "job") }')
    after = await pair.admin("recentcontact/get_contact_group", {"From_Account": "alice", "StartIndex": 0})
    assert after.get("GroupItem", []) == []


async def test_call_invitations_cross_both_ways(pair: Pair) -> None:
    """A native user's invitation rings the gateway user's signalingListener; the gateway user's
    answer reaches the native side as the signaling message a native SDK turns into its event."""
    alice = await signaling.device(pair.at_gateway, pair.gateway.ws_url, "alice")
    bob_messages = await device(pair.at_cloud, pair.cloud, "bob", platform="ios")
    bob = await signaling.device(pair.at_cloud, pair.cloud.ws_url, "bob")
    invite_id = await bob.invite("alice", data="video call")
    ringing = await alice.event()
    assert ringing["type"] == "onReceiveNewInvitation"
    assert (ringing["inviteID"], ringing["inviter"], ringing["data"]) == (invite_id, "bob", "video call")
    assert (await bob_messages.event())["message"]["elemType"] == "V2TIM_ELEM_TYPE_CUSTOM"  # bob's own invite
    assert await alice.q(f'mutation {{ accept(inviteID: "{invite_id}", data: "on my way") }}')
    answer = (await bob_messages.event())["message"]
    step = json.loads(answer["customElem"]["data"])
    assert (step["inviteID"], step["actionType"], step["data"]) == (invite_id, 3, "on my way")  # 3: accept
    # and the other way round: alice invites bob, bob's device cancels nothing, alice cancels
    mine = await alice.invite("bob", data="again")
    heard = json.loads((await bob_messages.event())["message"]["customElem"]["data"])
    assert (heard["inviteID"], heard["actionType"], heard["inviter"]) == (mine, 1, "alice")
    assert await alice.q(f'mutation {{ cancel(inviteID: "{mine}") }}')
    cancelled = json.loads((await bob_messages.event())["message"]["customElem"]["data"])
    assert (cancelled["inviteID"], cancelled["actionType"]) == (mine, 2)


async def test_a_native_invitation_times_out_once(pair: Pair) -> None:
    """Both sides time a native invitation out; only the native inviter's side sends the timeout
    message (the gateway tells its own user and sends nothing)."""
    alice = await signaling.device(pair.at_gateway, pair.gateway.ws_url, "alice")
    bob = await signaling.device(pair.at_cloud, pair.cloud.ws_url, "bob")
    invite_id = await bob.invite("alice", timeout=1)
    assert (await alice.event())["type"] == "onReceiveNewInvitation"
    timed_out = await alice.event()
    assert (timed_out["type"], timed_out["inviteID"]) == ("onInvitationTimeout", invite_id)
    await asyncio.sleep(1.5)  # time for a second timeout message, were one sent
    messages = (await bob.q(signaling.HISTORY % "alice"))["getC2CHistoryMessageList"]
    steps = [json.loads(m["customElem"]["data"])["actionType"] for m in messages]
    assert sorted(steps) == [1, 5]  # the invitation and one timeout


UNREAD = "{ getTotalUnreadMessageCount }"


async def test_messages_whose_webhook_was_lost_are_read_back_when_the_user_comes_online(
    settings: Settings, redis_url: str
) -> None:
    lost = SUPPORTED_COMMANDS - {C2C_AFTER_SEND}  # Tencent never tells the gateway of a C2C message
    async with running_pair(settings, redis_url, cloud_callbacks=lost) as pair:
        bob = await device(pair.at_cloud, pair.cloud, "bob")
        alice = await device(pair.at_gateway, pair.gateway, "alice")  # online: her first read-back
        await eventually(lambda: _passed_once(pair, "alice"))
        await alice.send_text("bob", "hello bob")  # through Tencent, known to the mirror
        await bob.send_text("alice", "first, while alice is online")
        await alice.ws.close()  # offline; the message's webhook was lost
        assert [text_of(m) for m in await history(alice, "bob")] == ["hello bob"]

        alice = await device(pair.at_gateway, pair.gateway, "alice")  # back online: read back
        await eventually(lambda: _texts_are(alice, ["first, while alice is online", "hello bob"]))
        assert (await alice.q(UNREAD))["getTotalUnreadMessageCount"] == 1  # news, as the webhook was
        await alice.ws.close()

        await bob.send_text("alice", "second, while alice is away")
        alice = await device(pair.at_gateway, pair.gateway, "alice")

        async def unread_twice() -> bool:
            return bool((await alice.q(UNREAD))["getTotalUnreadMessageCount"] == 2)

        await eventually(unread_twice)
        texts = ["second, while alice is away", "first, while alice is online", "hello bob"]
        assert [text_of(m) for m in await history(alice, "bob")] == texts  # each once


async def test_a_users_first_read_back_brings_their_history_not_news(settings: Settings, redis_url: str) -> None:
    lost = SUPPORTED_COMMANDS - {C2C_AFTER_SEND}
    async with running_pair(settings, redis_url, cloud_callbacks=lost) as pair:
        await pair.admin("im_open_login_svc/account_import", {"UserID": "alice"})  # on Tencent before imql
        bob = await device(pair.at_cloud, pair.cloud, "bob")
        await bob.send_text("alice", "from before the gateway")
        alice = await device(pair.at_gateway, pair.gateway, "alice")
        await eventually(lambda: _texts_are(alice, ["from before the gateway"]))
        assert (await alice.q(UNREAD))["getTotalUnreadMessageCount"] == 0


async def test_a_webhook_lost_while_the_user_stays_online_is_read_back_periodically(
    settings: Settings, redis_url: str
) -> None:
    lost = SUPPORTED_COMMANDS - {C2C_AFTER_SEND}
    changes = {"tencent_reconcile_seconds": 0.3}
    async with running_pair(settings, redis_url, cloud_callbacks=lost, gateway_changes=changes) as pair:
        bob = await device(pair.at_cloud, pair.cloud, "bob")
        alice = await device(pair.at_gateway, pair.gateway, "alice")
        await eventually(lambda: _passed_once(pair, "alice"))
        await bob.send_text("alice", "lost, but alice never left")
        heard = (await alice.event())["message"]  # the periodic pass applies it live
        assert text_of(heard) == "lost, but alice never left"
        assert (await alice.q(UNREAD))["getTotalUnreadMessageCount"] == 1


async def _passed_once(pair: Pair, user_id: str) -> bool:
    """Whether the user's first read-back pass is done (its mark is kept by gateway.tencent.reconcile)."""
    gateway = pair.gateway.gateway
    return bool(await gateway.redis.hexists(gateway.keys.tencent_synced(user_id), USER_MARK))


async def _texts_are(dev: Device, texts: list[str]) -> bool:
    return [text_of(m) for m in await history(dev, "bob")] == texts


STATUS = "query($u: [String!]!) { getUserStatus(userIDList: $u) { userID statusType } }"
STATUS_EVENTS = """subscription { sdkListener { __typename
  ... on UserStatusChangedEvent { statusList { userID statusType } } } }"""


async def test_native_users_status_comes_from_tencent(pair: Pair) -> None:
    alice = await listening(pair.at_gateway, pair.gateway.ws_url, "alice", STATUS_EVENTS)
    await device(pair.at_cloud, pair.cloud, "carol", platform="ios")  # a native user, online there
    await pair.at_cloud.login("dave")  # logged in natively, no live connection: PushOnline at Tencent
    statuses = (await alice.q(STATUS, {"u": ["carol", "dave", "alice", "nobody-anywhere"]}))["getUserStatus"]
    assert [s["statusType"] for s in statuses] == [
        "V2TIM_USER_STATUS_ONLINE",
        "V2TIM_USER_STATUS_OFFLINE",
        "V2TIM_USER_STATUS_ONLINE",
        "V2TIM_USER_STATUS_UNKNOWN",
    ]
    # State.StateChange: a native user coming online reaches those who subscribed to their status
    assert await alice.q('mutation { subscribeUserStatus(userIDList: ["erin"]) }')
    await pair.at_cloud.login("erin")
    await device(pair.at_cloud, pair.cloud, "erin")  # erin's device connects: Tencent reports Login
    while True:  # past the subscription's own connection events
        event = await alice.event()
        if event["__typename"] == "UserStatusChangedEvent":
            break
    assert event["statusList"] == [{"userID": "erin", "statusType": "V2TIM_USER_STATUS_ONLINE"}]


async def test_a_native_group_call_invitation_rings_the_gateway_user(pair: Pair) -> None:
    alice = await signaling.device(pair.at_gateway, pair.gateway.ws_url, "alice")
    bob = await signaling.device(pair.at_cloud, pair.cloud.ws_url, "bob")
    created = await bob.q(
        'mutation { createGroup(groupName: "call", groupType: V2TIM_GROUP_TYPE_WORK,'
        ' memberListMap: [{userID: "alice"}]) }'
    )
    group_id = created["createGroup"]
    invite_id = (
        await bob.q(
            'mutation($g: String!) { inviteInGroup(groupID: $g, inviteeList: ["alice"], data: "team call") }',
            {"g": group_id},
        )
    )["inviteInGroup"]
    ringing = await alice.event()
    assert ringing["type"] == "onReceiveNewInvitation"
    assert (ringing["inviteID"], ringing["groupID"], ringing["data"]) == (invite_id, group_id, "team call")
