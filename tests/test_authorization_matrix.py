"""The authorization matrix (issue 19): every root field that takes the ID of a message, conversation,
group, topic, invitation, media object or user-owned setting, called by someone with no right to
it: mallory (in no conversation and no group of the owners) with the owners' real IDs and with
unknown ones, and a member of the wrong role where the API is for owners or admins. Each call is
refused with the code the row names, and the owners' observable state is unchanged afterwards:
their history, unread counts, receipts, extensions, conversation list and settings, groups,
members, topics, attributes, friend groups, and the events their live subscriptions receive.

The rows are checked against the schema: a root field with an ID-like argument (by name, also
inside input objects) must have a row or an entry in EXEMPT saying why it needs none, so a new API
without a row fails `test_every_id_taking_field_has_a_row`.

One world per module (one gateway, one set of users); the rows are parametrized over it.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.message_ids import c2c_msg_id, group_msg_id
from gateway.im.events import (
    IMEvent,
    OnConversationDeleted,
    OnFriendApplicationListDeleted,
    OnInvitationCancelled,
    OnReceiveRESTCustomData,
    OnRecvMessageRevoked,
)
from gateway.keys import Keys
from schema.identity import global_id
from tests.conftest import REDIS_URL, SECRET
from tests.support.clients import GraphQLReply, HTTPClient, WSClient
from tests.support.graphql_calls import argument_paths, combined_query, document, root_fields
from tests.support.servers import InProcessGateway, start_in_process

# Argument names (also of input-object fields) that carry the ID of something someone owns.
ID_ARGUMENTS = {
    "id",
    "msgID",
    "msgIDList",
    "messageIDList",
    "lastMsgID",
    "conversationID",
    "conversationIDList",
    "groupID",
    "groupIDList",
    "topicID",
    "topicIDList",
    "inviteID",
    "groupName",
    "groupNameList",
    "oldName",
}

# Fields matched by ID_ARGUMENTS that take no one else's thing, and why.
EXEMPT = {
    "createGroup": "groupName names the new group (a taken groupID is a row: createGroup_taken)",
    "createFriendGroup": "groupName is a new name in the caller's own friend groups",
}

# The listeners whose events the owners' devices follow, with the sentinel each gets after a
# refused call: every event before the sentinel came from the call (the log is ordered per user).
LISTENERS: dict[str, tuple[str, Callable[[str], IMEvent]]] = {
    "advancedMsgListener": ("RecvMessageRevokedEvent { msgID }", lambda n: OnRecvMessageRevoked(msgID=n)),
    "conversationListener": (
        "ConversationDeletedEvent { conversationIDList }",
        lambda n: OnConversationDeleted(conversationIDList=[n]),
    ),
    "groupListener": (
        "ReceiveRESTCustomDataEvent { customData }",
        lambda n: OnReceiveRESTCustomData(groupID="sentinel", customData=n),
    ),
    "friendshipListener": (
        "FriendApplicationListDeletedEvent { userIDList }",
        lambda n: OnFriendApplicationListDeleted(userIDList=[n]),
    ),
    "signalingListener": (
        "InvitationCancelledEvent { inviteID }",
        lambda n: OnInvitationCancelled(inviteID=n, inviter="sentinel"),
    ),
}

OWNERS = ("alice", "bob", "carol")
# GroupApplication.addTime is left out: the engine keeps it in milliseconds, past the schema's 32-bit
# Int, so any pending application fails the whole field (reported on issue 19)
SNAPSHOT_SELECTIONS = {
    "groupApplications": "{ unreadCount groupApplicationList { groupID fromUser toUser requestMsg handledMsg type"
    " handleStatus handleResult } }"
}


@dataclass
class Owner:
    name: str
    token: str
    ws: WSClient
    ops: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    server: InProcessGateway
    client: HTTPClient
    tokens: dict[str, str]
    owners: dict[str, Owner]
    ids: dict[str, str]
    baseline: dict[str, Any] = field(default_factory=dict)
    sentinels: int = 0

    async def call(self, user: str, field_name: str, args: dict[str, Any]) -> GraphQLReply:
        return await self.client.gql(document(field_name, args), args, token=self.tokens[user])

    async def ok(self, user: str, field_name: str, args: dict[str, Any]) -> Any:
        return (await self.call(user, field_name, args)).ok()[field_name]

    async def snapshot(self) -> dict[str, Any]:
        """What each owner observes (queries only: taking it changes nothing)."""
        i = self.ids
        groups = [i["work"], i["public"], i["community"]]
        common: dict[str, tuple[str, dict[str, Any]]] = {
            "conversations": ("getConversationList", {"count": 100}),
            "total": ("getTotalUnreadMessageCount", {}),
            "groups": ("getGroupsInfo", {"groupIDList": groups}),
            "joined": ("getJoinedGroupList", {}),
            "conversationGroups": ("getConversationGroupList", {}),
            "friendGroups": ("getFriendGroups", {}),
            "friends": ("getFriendList", {}),
            "friendApplications": ("getFriendApplicationList", {}),
            "groupApplications": ("getGroupApplicationList", {}),
            "black": ("getBlackList", {}),
        }
        per_owner: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
            "alice": {
                "c2c": ("getHistoryMessageList", {"count": 100, "userID": "bob"}),
                "work": ("getHistoryMessageList", {"count": 100, "groupID": i["work"]}),
                "public": ("getHistoryMessageList", {"count": 100, "groupID": i["public"]}),
                "topic": ("getHistoryMessageList", {"count": 100, "groupID": i["topic"]}),
                "c2cReceipts": ("getMessageReadReceipts", {"msgIDList": [i["c2c_text"]]}),
                "workReceipts": ("getMessageReadReceipts", {"msgIDList": [i["work_text"]]}),
                "c2cExtensions": ("getMessageExtensions", {"msgID": i["c2c_text"]}),
                "workExtensions": ("getMessageExtensions", {"msgID": i["work_text"]}),
                "workMembers": ("getGroupMemberList", {"groupID": i["work"]}),
                "publicMembers": ("getGroupMemberList", {"groupID": i["public"]}),
                "communityMembers": ("getGroupMemberList", {"groupID": i["community"]}),
                "topics": ("getTopicInfoList", {"groupID": i["community"]}),
                "attributes": ("getGroupAttributes", {"groupID": i["work"]}),
                "counters": ("getGroupCounters", {"groupID": i["work"]}),
                "readers": ("getGroupMessageReadMemberList", {"msgID": i["work_text"], "filter": 0}),
                "signaling": ("getSignalingInfo", {"msgID": i["c2c_signal"]}),
            },
            "bob": {
                "c2c": ("getHistoryMessageList", {"count": 100, "userID": "alice"}),
                "work": ("getHistoryMessageList", {"count": 100, "groupID": i["work"]}),
                "topic": ("getHistoryMessageList", {"count": 100, "groupID": i["topic"]}),
            },
            "carol": {
                "work": ("getHistoryMessageList", {"count": 100, "groupID": i["work"]}),
                "public": ("getHistoryMessageList", {"count": 100, "groupID": i["public"]}),
            },
        }

        async def observe(owner: str) -> Any:
            doc, variables = combined_query({**common, **per_owner[owner]}, SNAPSHOT_SELECTIONS, depth=2)
            return (await self.client.gql(doc, variables, token=self.tokens[owner])).ok()

        return dict(zip(OWNERS, await asyncio.gather(*(observe(o) for o in OWNERS)), strict=True))

    async def live(self) -> None:
        """Wait until every subscription follows its log: a subscription starts at the log's end when
        it opens, so a sentinel published before that is never seen; publish again until one is."""
        bus = self.server.gateway.bus
        for owner in self.owners.values():
            for listener, op in owner.ops.items():
                make = LISTENERS[listener][1]
                for attempt in range(100):
                    tag = f"live-{attempt}"
                    await bus.publish([owner.name], make(tag))
                    try:
                        while tag not in json.dumps(await owner.ws.next_event(op, timeout=0.5)):
                            pass
                        break
                    except TimeoutError:
                        continue
                else:
                    raise AssertionError(f"{owner.name}'s {listener} never went live")

    async def events_since_last_sentinel(self) -> dict[str, list[Any]]:
        """Publish a sentinel to each owner on each listener and collect what came before it."""
        self.sentinels += 1
        tag = f"sentinel-{self.sentinels}"
        bus = self.server.gateway.bus
        pipe = self.server.gateway.redis.pipeline(transaction=False)
        for owner in self.owners.values():
            for _, make in LISTENERS.values():
                bus.queue_publish(pipe, [owner.name], make(tag))
        await pipe.execute()
        unexpected: dict[str, list[Any]] = {}
        for owner in self.owners.values():
            for listener, op in owner.ops.items():
                while True:
                    event = await owner.ws.next_event(op)
                    if tag in json.dumps(event):
                        break
                    unexpected.setdefault(f"{owner.name}.{listener}", []).append(event)
        return unexpected


async def _send(world: World, user: str, text: str, to: dict[str, str], **options: Any) -> str:
    created = (await world.ok(user, "createTextMessage", {"text": text}))["id"]
    return str((await world.ok(user, "sendMessage", {"id": created, **to, **options}))["msgID"])


async def _upload_image(world: World, user: str) -> str:
    """An uploaded image (a media object of the gateway's), sent alice -> bob."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    query = "mutation($f: Upload) { createImageMessage(file: $f) { id } }"
    response = await world.client.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": {"f": None}}),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        files={"0": ("a.png", out.getvalue(), "image/png")},
        headers={"Authorization": f"Bearer {world.tokens[user]}"},
    )
    created = GraphQLReply(response.status_code, response.json()).ok()["createImageMessage"]["id"]
    return str((await world.ok(user, "sendMessage", {"id": created, "receiver": "bob"}))["msgID"])


async def _build(world: World) -> None:
    ids = world.ids
    ok = world.ok
    # C2C: text with receipts and extensions, an uploaded image, a merger, a signaling invitation
    ids["c2c_text"] = await _send(
        world, "alice", "secret c2c", {"receiver": "bob"}, needReadReceipt=True, isSupportMessageExtension=True
    )
    await ok("alice", "setMessageExtensions", {"msgID": ids["c2c_text"], "extensions": [
        {"extensionKey": "k", "extensionValue": "v"}]})  # fmt: skip
    ids["c2c_image"] = await _upload_image(world, "alice")
    merger = await ok(
        "alice", "createMergerMessage", {"msgIDList": [ids["c2c_text"]], "title": "t", "compatibleText": "c"}
    )
    ids["c2c_merger"] = str((await ok("alice", "sendMessage", {"id": merger["id"], "receiver": "bob"}))["msgID"])
    ids["invite"] = str(await ok("alice", "invite", {"invitee": "bob", "data": "call", "timeout": 600}))
    history = await ok("alice", "getHistoryMessageList", {"count": 1, "userID": "bob"})
    ids["c2c_signal"] = history[0]["msgID"]
    # groups: a Work group (alice owner; bob, carol members), a Public group (carol member), a
    # Community with a topic (bob member)
    member = "V2TIM_GROUP_MEMBER_ROLE_MEMBER"
    ids["work"] = str(await ok("alice", "createGroup", {
        "groupType": "V2TIM_GROUP_TYPE_WORK", "groupName": "work",
        "memberListMap": [{"userID": "bob", "role": member}, {"userID": "carol", "role": member}]}))  # fmt: skip
    ids["public"] = str(await ok("alice", "createGroup", {
        "groupType": "V2TIM_GROUP_TYPE_PUBLIC", "groupName": "public", "groupID": "public-group",
        "memberListMap": [{"userID": "carol", "role": member}]}))  # fmt: skip
    ids["community"] = str(await ok("alice", "createGroup", {
        "groupType": "V2TIM_GROUP_TYPE_COMMUNITY", "groupName": "community", "isSupportTopic": True,
        "memberListMap": [{"userID": "bob", "role": member}]}))  # fmt: skip
    ids["topic"] = str(await ok("alice", "createTopicInCommunity", {
        "groupID": ids["community"], "topicInfo": {"topicName": "topic"}}))  # fmt: skip
    ids["work_text"] = await _send(
        world, "alice", "secret work", {"groupID": ids["work"]}, needReadReceipt=True, isSupportMessageExtension=True
    )
    await ok("alice", "setMessageExtensions", {"msgID": ids["work_text"], "extensions": [
        {"extensionKey": "k", "extensionValue": "v"}]})  # fmt: skip
    await ok("dave", "joinGroup", {"groupID": ids["public"], "message": "let me in"})  # pending: alice approves
    ids["public_text"] = await _send(world, "alice", "secret public", {"groupID": ids["public"]})
    ids["topic_text"] = await _send(world, "alice", "secret topic", {"groupID": ids["topic"]})
    ids["group_invite"] = str(await ok("alice", "inviteInGroup", {
        "groupID": ids["work"], "inviteeList": ["bob"], "data": "call", "timeout": 600}))  # fmt: skip
    await ok("alice", "setGroupAttributes", {"groupID": ids["work"], "attributes": [{"key": "a", "value": "1"}]})
    await ok("alice", "setGroupCounters", {"groupID": ids["work"], "counters": [{"key": "c", "value": 1}]})
    # alice's settings: pins, drafts, marks, custom data, a conversation group, a friend group
    await ok("alice", "pinConversation", {"conversationID": "c2c_bob", "isPinned": True})
    await ok("alice", "setConversationDraft", {"conversationID": f"group_{ids['work']}", "draftText": "draft"})
    await ok("alice", "markConversation", {"conversationIDList": ["c2c_bob"], "enableMark": True, "markType": 1})
    await ok("alice", "setConversationCustomData", {"conversationIDList": ["c2c_bob"], "customData": "cd"})
    await ok("alice", "createConversationGroup", {"groupName": "alices", "conversationIDList": ["c2c_bob"]})
    await ok("alice", "addFriend", {"userID": "bob"})
    await ok("bob", "acceptFriendApplication", {"userID": "alice"})
    await ok("alice", "createFriendGroup", {"groupName": "alices", "userIDList": ["bob"]})
    # one created (not yet sent) message of alice's
    ids["alice_created"] = (await ok("alice", "createTextMessage", {"text": "draft"}))["id"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    app = random.randint(1_600_000_000, 1_999_999_999)
    settings = Settings(
        sdkappid=app,
        secret_key=SECRET,
        redis_url=REDIS_URL,
        rate_limit_per_second=0,
        data_dir=Path(tmp_path_factory.mktemp("authz")),
    )
    clock = ManualClock()
    server = await start_in_process(settings, clock)
    client = HTTPClient(server.base_url, app, SECRET, now=clock.now)
    sockets: list[WSClient] = []
    try:
        tokens = {u: await client.login(u) for u in (*OWNERS, "dave", "mallory")}
        world = World(server=server, client=client, tokens=tokens, owners={}, ids={})
        for name in OWNERS:
            ws = await WSClient.connect(server.ws_url, tokens[name])
            sockets.append(ws)
            owner = Owner(name, tokens[name], ws)
            for listener, (fragment, _) in LISTENERS.items():
                query = f"subscription {{ {listener} {{ __typename ... on {fragment} }} }}"
                owner.ops[listener] = await ws.subscribe(query)
            world.owners[name] = owner
        await world.live()
        await _build(world)
        await world.events_since_last_sentinel()  # the world's own events are behind us
        world.baseline = await world.snapshot()
        yield world
    finally:
        for ws in sockets:
            await ws.close()
        await client.aclose()
        await server.stop()
        sync = redis.Redis.from_url(REDIS_URL)
        try:
            for pattern in Keys(app).scan_patterns():
                batch = list(sync.scan_iter(match=pattern, count=1000))
                for start in range(0, len(batch), 500):
                    sync.delete(*batch[start : start + 500])
        finally:
            sync.close()


# ---- the rows ----------------------------------------------------------------------------------------
Args = Callable[..., dict[str, Any]]  # (ids) -> arguments; lambdas bind loop values as defaults
EMPTY = 0  # expected "code" of a read that answers with nothing of the owners' (a filtered list)
OWN = -1  # expected "code" of a call on the caller's own namespace that succeeds and touches no one else


@dataclass(frozen=True)
class Call:
    """One refused call: who calls, with what, and the code it is refused with (EMPTY: an empty
    answer; a per-item result list: every item carries the code)."""

    name: str
    field: str
    args: Args
    code: int
    caller: str = "mallory"


GHOST_GROUP = "@no-such-group"


def _ghost_c2c(ids: dict[str, str]) -> str:
    return c2c_msg_id("alice", "bob", 999_999, 1)


def _ghost_group_msg(ids: dict[str, str]) -> str:
    return group_msg_id(GHOST_GROUP, 1, 1)


def rows() -> list[Call]:
    out: list[Call] = []

    def row(name: str, field_name: str, args: Args, code: int, caller: str = "mallory") -> None:
        out.append(Call(name, field_name, args, code, caller))

    def per_message(field_name: str, make: Callable[..., dict[str, Any]], code: int = 6004, keys: tuple[str, ...] = ("c2c_text", "work_text", "public_text", "topic_text")) -> None:  # fmt: skip
        for key in keys:
            row(f"{field_name}[{key}]", field_name, lambda i, k=key: make(i[k]), code)
        row(f"{field_name}[unknown c2c]", field_name, lambda i: make(_ghost_c2c(i)), code)
        row(f"{field_name}[unknown group]", field_name, lambda i: make(_ghost_group_msg(i)), code)

    ext = [{"extensionKey": "k", "extensionValue": "mallory"}]
    # messages by ID
    per_message("findMessages", lambda m: {"messageIDList": [m]}, EMPTY)
    per_message("createForwardMessage", lambda m: {"msgID": m})
    per_message("createMergerMessage", lambda m: {"msgIDList": [m], "title": "x", "compatibleText": "x"})
    per_message("getMessageOnlineUrl", lambda m: {"msgID": m}, keys=("c2c_image",))
    per_message("downloadMessage", lambda m: {"msgID": m}, keys=("c2c_image",))
    per_message("downloadMergerMessage", lambda m: {"msgID": m}, keys=("c2c_merger",))
    per_message("getMessageReadReceipts", lambda m: {"msgIDList": [m]})
    per_message("sendMessageReadReceipts", lambda m: {"msgIDList": [m]})
    per_message("getGroupMessageReadMemberList", lambda m: {"msgID": m}, keys=("work_text",))
    per_message("getMessageExtensions", lambda m: {"msgID": m}, keys=("c2c_text", "work_text"))
    per_message("setMessageExtensions", lambda m: {"msgID": m, "extensions": ext}, keys=("c2c_text", "work_text"))
    per_message("deleteMessageExtensions", lambda m: {"msgID": m, "keys": ["k"]}, keys=("c2c_text", "work_text"))
    per_message("revokeMessage", lambda m: {"lastMsgID": m})
    per_message("modifyMessage", lambda m: {"message": {"msgID": m, "textElem": {"text": "mallory"}}})
    per_message("deleteMessageFromLocalStorage", lambda m: {"msgID": m})
    per_message("getSignalingInfo", lambda m: {"msgID": m}, keys=("c2c_signal",))
    per_message(
        "sendReplyMessage",
        lambda m: {"id": "@", "receiver": "alice", "replyMessage": {"msgID": m}},
        keys=("c2c_text",),
    )
    for key, group in (("work_text", "work"), ("topic_text", "topic")):  # the quoted message is checked first
        row(f"sendReplyMessage[{key} to its group]", "sendReplyMessage", lambda i, k=key, g=group: {
            "id": "@", "groupID": i[g], "replyMessage": {"msgID": i[k]}}, 6004)  # fmt: skip
    # created messages are the creator's own
    for field_name in ("createAtSignedGroupMessage", "createTargetedGroupMessage"):
        extra = {"atUserList": ["alice"]} if field_name == "createAtSignedGroupMessage" else {"receiverList": ["alice"]}
        row(f"{field_name}[alice's]", field_name, lambda i, e=extra: {"msgID": i["alice_created"], **e}, 6017)
        row(f"{field_name}[unknown]", field_name, lambda i, e=extra: {"msgID": "created-nope", **e}, 6017)

    # group history and group-scoped message APIs
    def per_group(name: str, field_name: str, make: Callable[..., dict[str, Any]], code: int, unknown: int = 10010,
                  groups: tuple[str, ...] = ("work", "public", "community", "topic"), caller: str = "mallory") -> None:  # fmt: skip
        for g in groups:
            row(f"{name}[{g}]", field_name, lambda i, g=g: make(i[g]), code, caller)
        if unknown is not None:
            row(f"{name}[unknown]", field_name, lambda i: make(GHOST_GROUP), unknown, caller)

    per_group("getHistoryMessageList", "getHistoryMessageList", lambda g: {"count": 10, "groupID": g}, 10007)
    row("getHistoryMessageList[lastMsgID of others]", "getHistoryMessageList",
        lambda i: {"count": 10, "userID": "alice", "lastMsgID": i["c2c_text"]}, 6017)  # fmt: skip
    row("getC2CHistoryMessageList[lastMsgID of others]", "getC2CHistoryMessageList",
        lambda i: {"count": 10, "userID": "alice", "lastMsgID": i["c2c_text"]}, 6017)  # fmt: skip
    per_group("getGroupHistoryMessageList", "getGroupHistoryMessageList", lambda g: {"groupID": g, "count": 10}, 10007)
    per_group("sendMessage", "sendMessage", lambda g: {"id": "@", "groupID": g}, 10007)
    per_group("sendTextMessage", "sendTextMessage", lambda g: {"text": "mallory", "groupID": g}, 10007)
    per_group("sendCustomMessage", "sendCustomMessage", lambda g: {"data": "mallory", "groupID": g}, 10007)
    per_group("markGroupMessageAsRead", "markGroupMessageAsRead", lambda g: {"groupID": g}, 10007)
    per_group("setGroupReceiveMessageOpt", "setGroupReceiveMessageOpt",
              lambda g: {"groupID": g, "opt": "V2TIM_NOT_RECEIVE_MESSAGE"}, 10007)  # fmt: skip
    per_group("clearGroupHistoryMessage", "clearGroupHistoryMessage", lambda g: {"groupID": g}, 10007)
    per_group("insertGroupMessageToLocalStorage", "insertGroupMessageToLocalStorage",
              lambda g: {"groupID": g, "data": "x", "sender": "alice"}, 10007)  # fmt: skip
    for search in ("searchLocalMessages", "searchCloudMessages"):
        per_group(search, search, lambda g: {"searchParam": {"keywordList": ["secret"], "conversationID": f"group_{g}"}},
                  10007)  # fmt: skip
        row(f"{search}[all]", search, lambda i: {"searchParam": {"keywordList": ["secret"]}}, EMPTY)
    # groups: profile and members
    row("getGroupsInfo[work]", "getGroupsInfo", lambda i: {"groupIDList": [i["work"]]}, 10007)
    row("getGroupsInfo[unknown]", "getGroupsInfo", lambda i: {"groupIDList": [GHOST_GROUP]}, 10010)
    per_group("getGroupAttributes", "getGroupAttributes", lambda g: {"groupID": g}, 10007, groups=("work", "public"))
    per_group("getGroupOnlineMemberCount", "getGroupOnlineMemberCount", lambda g: {"groupID": g}, 10007,
              groups=("work",))  # fmt: skip
    per_group("getGroupMemberList", "getGroupMemberList", lambda g: {"groupID": g}, 10007, groups=("work", "public"))
    per_group("getGroupMembersInfo", "getGroupMembersInfo", lambda g: {"groupID": g, "memberList": ["alice"]},
              10007, groups=("work", "public"))  # fmt: skip
    row("searchGroupMembers[work]", "searchGroupMembers",
        lambda i: {"param": {"keywordList": ["a"], "groupIDList": [i["work"]]}}, EMPTY)  # fmt: skip
    row("searchGroupMembers[unknown]", "searchGroupMembers",
        lambda i: {"param": {"keywordList": ["a"], "groupIDList": [GHOST_GROUP]}}, EMPTY)  # fmt: skip
    per_group("getTopicInfoList", "getTopicInfoList", lambda g: {"groupID": g}, 10007, groups=("community",))
    row("getTopicInfoList[topicIDList]", "getTopicInfoList",
        lambda i: {"groupID": i["community"], "topicIDList": [i["topic"]]}, 10007)  # fmt: skip
    per_group("getGroupCounters", "getGroupCounters", lambda g: {"groupID": g}, 10007, groups=("work",))
    # groups: managing
    row("createGroup_taken", "createGroup",
        lambda i: {"groupID": i["public"], "groupName": "x", "groupType": "V2TIM_GROUP_TYPE_WORK"}, 10021)  # fmt: skip
    row("joinGroup[work]", "joinGroup", lambda i: {"groupID": i["work"]}, 10007)
    row("joinGroup[unknown]", "joinGroup", lambda i: {"groupID": GHOST_GROUP}, 10010)
    per_group("quitGroup", "quitGroup", lambda g: {"groupID": g}, 10007, groups=("work", "public", "community"))
    for who, groups in (("mallory", ("work", "public", "community")), ("carol", ("public",)), ("bob", ("community",))):
        per_group(f"dismissGroup<{who}>", "dismissGroup", lambda g: {"groupID": g}, 10007, groups=groups, caller=who)
        per_group(f"setGroupInfo<{who}>", "setGroupInfo", lambda g: {"info": {"groupID": g, "groupName": "pwned"}},
                  10007, groups=groups, caller=who)  # fmt: skip
        per_group(f"muteGroupMember<{who}>", "muteGroupMember", lambda g: {"groupID": g, "userID": "alice",
                  "seconds": 60}, 10007, groups=groups, caller=who)  # fmt: skip
        per_group(f"kickGroupMember<{who}>", "kickGroupMember", lambda g: {"groupID": g, "memberList": ["alice"]},
                  10007, groups=groups, caller=who)  # fmt: skip
        per_group(f"setGroupMemberRole<{who}>", "setGroupMemberRole", lambda g: {"groupID": g, "userID": "alice",
                  "role": "V2TIM_GROUP_MEMBER_ROLE_MEMBER"}, 10007, groups=groups, caller=who)  # fmt: skip
        per_group(f"transferGroupOwner<{who}>", "transferGroupOwner", lambda g, w=who: {"groupID": g, "userID": w},
                  10007, groups=groups, caller=who)  # fmt: skip
        per_group(f"setGroupMemberInfo<{who}>", "setGroupMemberInfo", lambda g: {"groupID": g, "userID": "alice",
                  "nameCard": "pwned"}, 10007, groups=groups, caller=who)  # fmt: skip
        per_group(f"markGroupMemberList<{who}>", "markGroupMemberList", lambda g: {"groupID": g,
                  "memberIDList": ["alice"], "markType": 1, "enableMark": True}, 10007, groups=groups, caller=who)  # fmt: skip
    for who in ("mallory", "carol"):  # dave's pending application to the Public group is alice's to handle
        for handle in ("acceptGroupApplication", "refuseGroupApplication"):
            per_group(f"{handle}<{who}>", handle, lambda g: {"groupID": g, "fromUser": "dave", "toUser": "alice"},
                      10007, groups=("public",), caller=who)  # fmt: skip
    per_group("inviteUserToGroup", "inviteUserToGroup", lambda g: {"groupID": g, "userList": ["mallory"]}, 10007,
              groups=("work", "public"))  # fmt: skip
    attribute_calls: tuple[tuple[str, dict[str, Any]], ...] = (
        ("initGroupAttributes", {"attributes": [{"key": "a", "value": "x"}]}),
        ("setGroupAttributes", {"attributes": [{"key": "a", "value": "x"}]}),
        ("deleteGroupAttributes", {"keys": ["a"]}),
    )
    for attr_field, extra in attribute_calls:
        per_group(attr_field, attr_field, lambda g, e=extra: {"groupID": g, **e}, 10007, groups=("work", "public"))
    counter_calls: tuple[tuple[str, dict[str, Any]], ...] = (
        ("setGroupCounters", {"counters": [{"key": "c", "value": 9}]}),
        ("increaseGroupCounter", {"key": "c", "value": 1}),
        ("decreaseGroupCounter", {"key": "c", "value": 1}),
    )
    for counter_field, extra in counter_calls:
        per_group(counter_field, counter_field, lambda g, e=extra: {"groupID": g, **e}, 10007, groups=("work",))
    # topics (bob: a plain member of the community)
    for who in ("mallory", "bob"):
        per_group(f"createTopicInCommunity<{who}>", "createTopicInCommunity",
                  lambda g: {"groupID": g, "topicInfo": {"topicName": "x"}}, 10007, groups=("community",), caller=who)  # fmt: skip
        row(f"deleteTopicFromCommunity<{who}>", "deleteTopicFromCommunity",
            lambda i: {"groupID": i["community"], "topicIDList": [i["topic"]]}, 10007, who)  # fmt: skip
        row(f"setTopicInfo<{who}>", "setTopicInfo",
            lambda i: {"groupID": i["community"], "topicInfo": {"topicID": i["topic"], "topicName": "pwned"}},
            10007, who)  # fmt: skip
    # conversations: others' (a group mallory is not in) and unknown conversation IDs
    conversations = {"work": lambda i: f"group_{i['work']}", "unknown group": lambda i: f"group_{GHOST_GROUP}",
                     "unknown user": lambda i: "c2c_nobody", "malformed": lambda i: "nonsense"}  # fmt: skip
    for label, conv in conversations.items():
        row(f"getConversation[{label}]", "getConversation", lambda i, c=conv: {"conversationID": c(i)}, 6004)
        row(f"getConversationListByConversationIds[{label}]", "getConversationListByConversationIds",
            lambda i, c=conv: {"conversationIDList": [c(i)]}, EMPTY if label != "malformed" else 6004)  # fmt: skip
        row(f"deleteConversation[{label}]", "deleteConversation", lambda i, c=conv: {"conversationID": c(i)}, 6004)
        row(f"deleteConversationList[{label}]", "deleteConversationList",
            lambda i, c=conv: {"conversationIDList": [c(i)], "clearMessage": True}, 6004)  # fmt: skip
        row(f"setConversationDraft[{label}]", "setConversationDraft",
            lambda i, c=conv: {"conversationID": c(i), "draftText": "x"}, 6004)  # fmt: skip
        row(f"setConversationCustomData[{label}]", "setConversationCustomData",
            lambda i, c=conv: {"conversationIDList": [c(i)], "customData": "x"}, 6004)  # fmt: skip
        row(f"pinConversation[{label}]", "pinConversation", lambda i, c=conv: {"conversationID": c(i),
            "isPinned": True}, 6004)  # fmt: skip
        row(f"markConversation[{label}]", "markConversation",
            lambda i, c=conv: {"conversationIDList": [c(i)], "enableMark": True, "markType": 1}, 6004)  # fmt: skip
        row(f"createConversationGroup[{label}]", "createConversationGroup",
            lambda i, c=conv, n=label: {"groupName": f"m-{n}", "conversationIDList": [c(i)]}, 6004)  # fmt: skip
        row(f"addConversationsToGroup[{label}]", "addConversationsToGroup",
            lambda i, c=conv: {"groupName": "alices", "conversationIDList": [c(i)]}, 51009)  # fmt: skip
        row(f"deleteConversationsFromGroup[{label}]", "deleteConversationsFromGroup",
            lambda i, c=conv: {"groupName": "alices", "conversationIDList": [c(i)]}, 51009)  # fmt: skip
        row(f"cleanConversationUnreadMessageCount[{label}]", "cleanConversationUnreadMessageCount",
            lambda i, c=conv: {"conversationID": c(i)}, 6004)  # fmt: skip
        row(f"searchCloudMessages[conversation {label}]", "searchCloudMessages",
            lambda i, c=conv: {"searchParam": {"keywordList": ["secret"], "conversationID": c(i)}},
            {"work": 10007, "unknown group": 10010, "unknown user": EMPTY, "malformed": 6004}[label])  # fmt: skip
    # user-owned settings: names are per user, so alice's names are unknown to mallory
    row("deleteConversationGroup[alice's]", "deleteConversationGroup", lambda i: {"groupName": "alices"}, 51009)
    row("renameConversationGroup[alice's]", "renameConversationGroup",
        lambda i: {"oldName": "alices", "newName": "x"}, 51009)  # fmt: skip
    for filter_field in ("getConversationListByFilter", "getUnreadMessageCountByFilter",
                         "subscribeUnreadMessageCountByFilter", "unsubscribeUnreadMessageCountByFilter"):  # fmt: skip
        row(f"{filter_field}[alice's group name]", filter_field, lambda i: {"filter": {"groupName": "alices"}},
            OWN if filter_field == "unsubscribeUnreadMessageCountByFilter" else 51009)  # fmt: skip
    row("getFriendGroups[alice's]", "getFriendGroups", lambda i: {"groupNameList": ["alices"]}, EMPTY)
    row("deleteFriendGroup[alice's]", "deleteFriendGroup", lambda i: {"groupNameList": ["alices"]}, OWN)
    row("renameFriendGroup[alice's]", "renameFriendGroup", lambda i: {"oldName": "alices", "newName": "x"}, 30001)
    row("addFriendsToFriendGroup[alice's]", "addFriendsToFriendGroup",
        lambda i: {"groupName": "alices", "userIDList": ["alice"]}, 30001)  # fmt: skip
    row("deleteFriendsFromFriendGroup[alice's]", "deleteFriendsFromFriendGroup",
        lambda i: {"groupName": "alices", "userIDList": ["bob"]}, 30001)  # fmt: skip
    # signaling
    for key in ("invite", "group_invite"):
        for op in ("cancel", "accept", "reject", "modifyInvitation"):  # not a party: 8011
            row(f"{op}[{key}]", op, lambda i, k=key: {"inviteID": i[k], "data": "x"}, 8011)
        row(f"addInvitedSignaling[{key}]", "addInvitedSignaling", lambda i, k=key: {"info": {"inviteID": i[k]}}, 8011)
    for op in ("cancel", "accept", "reject", "modifyInvitation"):
        row(f"{op}[unknown]", op, lambda i: {"inviteID": "no-such-invite", "data": "x"}, 8010)
    row("addInvitedSignaling[unknown]", "addInvitedSignaling", lambda i: {"info": {"inviteID": "no-such-invite"}}, 8010)
    row("cancel<bob>[invite]", "cancel", lambda i: {"inviteID": i["invite"], "data": "x"}, 8011, "bob")
    per_group("inviteInGroup", "inviteInGroup", lambda g: {"groupID": g, "inviteeList": ["alice"], "data": "x"},
              10007, groups=("work",))  # fmt: skip
    # wrong role on messages: a plain member revoking, modifying, reading receipts of alice's messages
    row("revokeMessage<carol>[work_text]", "revokeMessage", lambda i: {"lastMsgID": i["work_text"]}, 10007, "carol")
    row("modifyMessage<bob>[work_text]", "modifyMessage",
        lambda i: {"message": {"msgID": i["work_text"], "textElem": {"text": "x"}}}, 10007, "bob")  # fmt: skip
    row("modifyMessage<bob>[c2c_text]", "modifyMessage",
        lambda i: {"message": {"msgID": i["c2c_text"], "textElem": {"text": "x"}}}, 10007, "bob")  # fmt: skip
    row("getGroupMessageReadMemberList<bob>[work_text]", "getGroupMessageReadMemberList",
        lambda i: {"msgID": i["work_text"]}, 10007, "bob")  # fmt: skip
    row("getMessageReadReceipts<bob>[c2c_text]", "getMessageReadReceipts",
        lambda i: {"msgIDList": [i["c2c_text"]]}, 6017, "bob")  # fmt: skip
    # node(id:): the owners' objects by their global ids (schema.identity) answer null to a stranger
    node_keys: dict[str, Callable[[dict[str, str]], tuple[str, ...]]] = {
        "c2c message": lambda i: ("Message", i["c2c_text"]),
        "work message": lambda i: ("Message", i["work_text"]),
        "public message": lambda i: ("Message", i["public_text"]),
        "topic message": lambda i: ("Message", i["topic_text"]),
        "unknown message": lambda i: ("Message", _ghost_c2c(i)),
        "alice's created message": lambda i: ("Message", "alice", i["alice_created"]),
        "alice's conversation": lambda i: ("Conversation", "alice", "c2c_bob"),
        "alice's work conversation": lambda i: ("Conversation", "alice", f"group_{i['work']}"),
        "work group": lambda i: ("GroupInfo", i["work"]),
        "work member": lambda i: ("GroupMemberFullInfo", i["work"], "alice"),
        "public member": lambda i: ("GroupMemberFullInfo", i["public"], "carol"),
        "dave's application": lambda i: ("GroupApplication", i["public"], "0", "dave", ""),
        "topic": lambda i: ("TopicInfo", i["topic"]),
        "alice's friend": lambda i: ("FriendInfo", "alice", "bob"),
        "alice's friend group": lambda i: ("FriendGroup", "alice", "alices"),
        "friend request": lambda i: ("FriendApplication", "alice", "bob"),
        "signaling": lambda i: ("SignalingInfo", i["c2c_signal"]),
    }
    for label, node_key in node_keys.items():
        row(f"node[{label}]", "node", lambda i, k=node_key: {"id": global_id(*k(i))}, EMPTY)
    row("node[not an id]", "node", lambda i: {"id": "nonsense"}, 6017)
    return out


ROWS = rows()


def _resolve(args: dict[str, Any], world: World) -> dict[str, Any]:
    """'@mallory_created' style placeholders: mallory's own created message (fresh per call)."""
    return args


def _codes(reply: GraphQLReply) -> set[int]:
    """The refusal codes of a reply: its errors' codes, or the resultCodes of its per-item results."""
    if reply.errors:
        return set(reply.codes)
    found: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "resultCode" in value:
                found.add(int(value["resultCode"]))
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(reply.data)
    return found


def _is_empty(value: Any) -> bool:
    if value in (None, [], "", 0, False):
        return True
    if isinstance(value, dict):
        return all(_is_empty(v) or k in ("isFinished", "nextSeq") for k, v in value.items())
    return False


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("call", ROWS, ids=[c.name for c in ROWS])
async def test_refused_and_nothing_changes(world: World, call: Call) -> None:
    args = call.args(world.ids)
    if args.get("id") == "@":
        args["id"] = (await world.ok(call.caller, "createTextMessage", {"text": "x"}))["id"]
    reply = await world.call(call.caller, call.field, args)
    assert reply.status == 200, reply.body
    events = await world.events_since_last_sentinel()
    after = await world.snapshot()
    changed = {o: k for o in OWNERS for k in after[o] if after[o][k] != world.baseline[o][k]}
    world.baseline = after  # one row's damage does not fail the next
    if call.code == OWN:
        assert not reply.errors, reply.errors
    elif call.code == EMPTY:
        assert not reply.errors, reply.errors
        assert _is_empty(reply.data[call.field]), f"answered with the owners' data: {reply.data}"
    else:
        assert _codes(reply) == {call.code}, f"expected {call.code}, got {reply.body}"
    assert not changed, f"the owners' state changed: {changed}"
    assert not events, f"the owners received events: {events}"


def test_every_id_taking_field_has_a_row() -> None:
    covered = {c.field for c in ROWS}
    missing = []
    for _, name, root_field in root_fields():
        takes_ids = any(path[-1] in ID_ARGUMENTS for path in argument_paths(root_field))
        if takes_ids and name not in covered and name not in EXEMPT:
            missing.append(name)
    assert not missing, f"fields taking IDs with no authorization-matrix row (add rows, or EXEMPT with why): {missing}"
    stale = [name for name in EXEMPT if name in covered and name != "createGroup"]
    assert not stale, f"EXEMPT fields that have rows: {stale}"
