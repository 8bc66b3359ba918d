"""Community topics on the Tencent Cloud backend end to end: the gateway against imql's own REST v4
server standing in for Tencent (the `pair` of tests/support/tencent_pair.py).

Cloud GraphQL users play native SDK users. What docs/tencent.md promises for topics: a gateway
user's topic writes (createTopicInCommunity, setTopicInfo, deleteTopicFromCommunity) reach Tencent's
`million_group_open_http_svc` first and then the mirror, under the ID Tencent gave; a refusal
(the engine's permission rules, checked first) changes nothing on either side; topic messages are
sent with `TopicId` and stored at Tencent's seq in the topic's timeline, recalled and modified on
Tencent first; native users' topic messages reach gateway members through the send webhook; topics
the mirror never heard of are imported from `get_topic` when first needed. The stand-in sends no
topic lifecycle callbacks, so those are injected here as Tencent documents them (1047/49464-49466).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gateway.config import Settings
from gateway.engine.groups import extras
from gateway.engine.groups.extras import GroupExtras
from gateway.engine.groups.store import GroupStore
from gateway.errors import Code
from gateway.im.groups import TopicInfo
from gateway.tencent.client import Answer
from gateway.tencent.errors import TencentError, tencent_error
from gateway.tencent.inbound import GroupMessageSent, decode_callback
from gateway.tencent.mirror_group_messages import message_sent
from gateway.tencent.topics import TencentTopics
from gateway.v4 import callbacks as wire
from gateway.v4.callbacks import GROUP_AFTER_SEND, SUPPORTED_COMMANDS
from tests.support.groups import Member, member
from tests.support.tencent_pair import Pair, eventually, running_pair
from tests.tencent.test_group_early_recall import mirror_of
from tests.tencent.test_groups_e2e import (
    MESSAGE_EVENTS,
    MODIFY,
    REVOKE,
    REVOKED,
    TEXT,
    both,
    next_message_event,
    next_text,
    settled,
    wait_for,
)
from tests.tencent.test_hostile_webhooks import inject
from tests.tencent.test_webhooks import OK

SVC = "million_group_open_http_svc"
CREATE = """mutation($g: String!, $t: TopicInfoInput!) { createTopicInCommunity(groupID: $g, topicInfo: $t) }"""
SET = """mutation($g: String!, $t: TopicInfoInput!) { setTopicInfo(groupID: $g, topicInfo: $t) }"""
DELETE = """mutation($g: String!, $ids: [String!]!) {
  deleteTopicFromCommunity(groupID: $g, topicIDList: $ids) { topicID errorCode } }"""
TOPICS = """query($g: String!, $ids: [String!]) { getTopicInfoList(groupID: $g, topicIDList: $ids) {
  errorCode topicInfo { topicID topicName notification introduction customString } } }"""
MUTED = """query($g: String!, $ids: [String!]) { getTopicInfoList(groupID: $g, topicIDList: $ids) {
  errorCode topicInfo { topicID isAllMuted } } }"""
HISTORY = """query($g: String!) { getGroupHistoryMessageList(groupID: $g, count: 20) {
  msgID sender seq status textElem { text } } }"""


async def community(pair: Pair) -> tuple[Member, Member, Member, str]:
    """alice (gateway, owner), bob (native) and dave (gateway) in alice's topic-enabled community."""
    alice, bob = await both(pair, "alice", "bob")
    dave = await member(pair.at_gateway, pair.gateway, "dave")
    gid = await alice.create("Community", "town", topics=True, m=[{"userID": "bob"}, {"userID": "dave"}])
    await settled(pair)
    for m in (alice, bob, dave):
        await m.group_events()
    return alice, bob, dave, gid


async def create_topic(m: Member, gid: str, name: str, **fields: Any) -> str:
    return str((await m.q(CREATE, {"g": gid, "t": {"topicName": name, **fields}}))["createTopicInCommunity"])


async def on_tencent(pair: Pair, gid: str, topic_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Tencent's topics of the community (or those named that it has), by ID."""
    body: dict[str, Any] = {"GroupId": gid} if topic_ids is None else {"GroupId": gid, "TopicIdList": topic_ids}
    answer = await pair.admin(f"{SVC}/get_topic", body)
    assert answer["ErrorCode"] == 0, answer
    return {i["TopicInfo"]["TopicId"]: i["TopicInfo"] for i in answer["TopicAndSelfInfo"] if i.get("ErrorCode", 0) == 0}


async def in_mirror(m: Member, gid: str) -> dict[str, dict[str, Any]]:
    """The topics a member of the community reads through its backend, by ID."""
    page = (await m.q(TOPICS, {"g": gid, "ids": None}))["getTopicInfoList"]
    return {r["topicInfo"]["topicID"]: r["topicInfo"] for r in page if r["errorCode"] == 0}


async def tencent_history(pair: Pair, gid: str, topic: str) -> dict[int, dict[str, Any]]:
    body = {"GroupId": gid, "TopicId": topic, "ReqMsgNumber": 20, "WithRecalledMsg": 1}
    answer = await pair.admin("group_open_http_svc/group_msg_get_simple", body)
    return {m["MsgSeq"]: m for m in answer["RspMsgList"]}


async def texts(m: Member, timeline: str) -> list[tuple[int, str, str]]:
    page = (await m.q(HISTORY, {"g": timeline}))["getGroupHistoryMessageList"]
    return [(x["seq"], x["sender"], x["textElem"]["text"]) for x in reversed(page) if x["textElem"]]


async def next_text_in(m: Member, op: str, timeline: str) -> dict[str, Any]:
    """The next text message of `timeline` the member's listener `op` delivers (others passed over)."""
    while True:
        message: dict[str, Any] = (await next_message_event(m, op, "onRecvNewMessage"))["message"]
        if message["groupID"] == timeline and message["elemType"] == TEXT:
            return message


async def made_natively(pair: Pair, gid: str, name: str, **fields: Any) -> str:
    """A topic made by the app's servers through Tencent's REST (no webhook reaches the gateway)."""
    made = await pair.admin(f"{SVC}/create_topic", {"GroupId": gid, "TopicName": name, **fields})
    assert made["ErrorCode"] == 0, made
    return str(made["TopicId"])


def topic_types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events if e["type"].startswith("onTopic")]


# ---- lifecycle written through -------------------------------------------------------------------
async def test_a_topic_made_through_the_gateway_is_tencents_and_its_changes_reach_both_sides(pair: Pair) -> None:
    alice, bob, dave, gid = await community(pair)
    topic = await create_topic(alice, gid, "news", notification="read me", customString="c1")
    # the ID is the one Tencent assigned (none was asked for), and Tencent has the topic
    assert topic.startswith(f"{gid}@TOPIC#_")
    there = (await on_tencent(pair, gid))[topic]
    assert (there["TopicName"], there["Notification"], there["CustomString"]) == ("news", "read me", "c1")
    assert (await wait_for(bob, "onTopicCreated"))["topicID"] == topic  # told by Tencent
    assert (await wait_for(dave, "onTopicCreated"))["topicID"] == topic  # told by the mirror
    assert (await in_mirror(dave, gid))[topic]["topicName"] == "news"

    renamed = {"topicID": topic, "topicName": "headlines", "notification": "read me", "customString": "c1"}
    assert await alice.q(SET, {"g": gid, "t": renamed})
    assert (await on_tencent(pair, gid))[topic]["TopicName"] == "headlines"
    assert (await wait_for(bob, "onTopicInfoChanged"))["topicInfo"] == {"topicID": topic, "topicName": "headlines"}
    assert (await in_mirror(dave, gid))[topic]["topicName"] == "headlines"

    # a custom ID is Tencent's too
    named = await create_topic(alice, gid, "sports", topicID=f"{gid}@TOPIC#_sports")
    assert named == f"{gid}@TOPIC#_sports"
    assert set(await on_tencent(pair, gid)) == {topic, named}
    await settled(pair)
    assert topic_types(await alice.group_events()) == ["onTopicCreated", "onTopicInfoChanged", "onTopicCreated"]


async def test_deleting_topics_removes_them_on_both_sides(pair: Pair) -> None:
    alice, bob, dave, gid = await community(pair)
    first = await create_topic(alice, gid, "first")
    second = await create_topic(alice, gid, "second")
    deleted = (await alice.q(DELETE, {"g": gid, "ids": [first]}))["deleteTopicFromCommunity"]
    assert deleted == [{"topicID": first, "errorCode": 0}]
    assert set(await on_tencent(pair, gid)) == {second}
    assert (await wait_for(bob, "onTopicDeleted"))["topicIDList"] == [first]
    assert (await wait_for(dave, "onTopicDeleted"))["topicIDList"] == [first]
    assert set(await in_mirror(dave, gid)) == {second}

    # one Tencent no longer has (destroyed by the app's servers: no webhook reached the gateway) is
    # dropped from the mirror too; its result is Tencent's
    await pair.admin(f"{SVC}/destroy_topic", {"GroupId": gid, "TopicIdList": [second]})
    assert set(await in_mirror(dave, gid)) == {second}  # the mirror has not heard
    results = (await alice.q(DELETE, {"g": gid, "ids": [second]}))["deleteTopicFromCommunity"]
    assert [(r["topicID"], r["errorCode"]) for r in results] == [(second, Code.ERR_GROUP_NOT_FOUND)]
    assert (await wait_for(dave, "onTopicDeleted"))["topicIDList"] == [second]
    assert await in_mirror(dave, gid) == {}


async def test_a_refused_topic_write_changes_nothing_on_either_side(pair: Pair) -> None:
    alice, bob, dave, gid = await community(pair)
    topic = await create_topic(alice, gid, "rules")
    carol = await member(pair.at_gateway, pair.gateway, "carol")  # a stranger to the community
    # an ordinary member may not manage topics, a stranger may do nothing: refused before Tencent
    for who in (dave, carol):
        assert (await who.call(CREATE, {"g": gid, "t": {"topicName": "mine"}})).codes == [Code.ERR_NO_PERMISSION]
        renamed = {"topicID": topic, "topicName": "hijacked"}
        assert (await who.call(SET, {"g": gid, "t": renamed})).codes == [Code.ERR_NO_PERMISSION]
        assert (await who.call(DELETE, {"g": gid, "ids": [topic]})).codes == [Code.ERR_NO_PERMISSION]
    assert (await carol.call(TOPICS, {"g": gid, "ids": None})).codes == [Code.ERR_NO_PERMISSION]
    assert (await carol.send(topic, "let me in")).codes == [Code.ERR_NO_PERMISSION]
    assert (await alice.call(CREATE, {"g": gid, "t": {"topicName": ""}})).codes == [Code.ERR_GROUP_INVALID_PARAMETERS]
    # nothing changed on Tencent, nor in the mirror, and nobody was told anything
    assert {t: v["TopicName"] for t, v in (await on_tencent(pair, gid)).items()} == {topic: "rules"}
    assert await tencent_history(pair, gid, topic) == {}
    assert {t: v["topicName"] for t, v in (await in_mirror(alice, gid)).items()} == {topic: "rules"}
    await settled(pair)
    assert topic_types(await bob.group_events()) == ["onTopicCreated"]
    assert topic_types(await dave.group_events()) == ["onTopicCreated"]


# ---- topic messages ------------------------------------------------------------------------------
async def test_topic_messages_cross_both_ways_live_and_in_history_at_tencents_seqs(pair: Pair) -> None:
    alice, bob, dave, gid = await community(pair)
    alice_op, bob_op, dave_op = [await m.ws.subscribe(MESSAGE_EVENTS) for m in (alice, bob, dave)]
    topic = await create_topic(alice, gid, "chat")
    mine = (await alice.send(topic, "from the gateway")).ok()["sendMessage"]
    assert mine["groupID"] == topic
    sent = (await tencent_history(pair, gid, topic))[mine["seq"]]  # on Tencent, in the topic, at its seq
    assert (sent["From_Account"], sent["MsgBody"][0]["MsgContent"]["Text"]) == ("alice", "from the gateway")
    for m, op in ((bob, bob_op), (dave, dave_op)):  # the native member by Tencent, the gateway one live
        heard = await next_text_in(m, op, topic)
        assert (heard["msgID"], heard["seq"], heard["sender"]) == (mine["msgID"], mine["seq"], "alice")
    assert await texts(bob, topic) == [(mine["seq"], "alice", "from the gateway")]  # native history

    theirs = (await bob.send(topic, "from the native side")).ok()["sendMessage"]
    for m, op in ((alice, alice_op), (dave, dave_op)):  # through Tencent's send webhook, with TopicId
        heard = await next_text_in(m, op, topic)
        assert (heard["msgID"], heard["seq"], heard["sender"]) == (theirs["msgID"], theirs["seq"], "bob")
    expected = [(mine["seq"], "alice", "from the gateway"), (theirs["seq"], "bob", "from the native side")]
    assert await texts(dave, topic) == expected
    assert await texts(alice, topic) == expected
    assert await texts(dave, gid) == []  # the community's own timeline has none of them

    changed = (await alice.q(MODIFY, {"m": mine["msgID"], "t": "edited"}))["modifyMessage"]
    assert changed["textElem"]["text"] == "edited"
    assert (await tencent_history(pair, gid, topic))[mine["seq"]]["MsgBody"][0]["MsgContent"]["Text"] == "edited"
    assert (await next_message_event(bob, bob_op, "onRecvMessageModified"))["message"]["msgID"] == mine["msgID"]

    assert await alice.q(REVOKE, {"m": mine["msgID"]})
    assert (await tencent_history(pair, gid, topic))[mine["seq"]]["IsPlaceMsg"] == 2  # recalled on Tencent
    assert (await next_message_event(bob, bob_op, "onRecvMessageRevoked"))["msgID"] == mine["msgID"]
    assert (await next_message_event(dave, dave_op, "onRecvMessageRevoked"))["msgID"] == mine["msgID"]
    assert await bob.q(REVOKE, {"m": theirs["msgID"]})
    assert (await next_message_event(dave, dave_op, "onRecvMessageRevoked"))["msgID"] == theirs["msgID"]
    statuses = {x["msgID"]: x["status"] for x in (await dave.q(HISTORY, {"g": topic}))["getGroupHistoryMessageList"]}
    assert (statuses[mine["msgID"]], statuses[theirs["msgID"]]) == (REVOKED, REVOKED)

    await settled(pair)  # the echoes of alice's send, modification and recall were not applied again
    after = await alice.drain(alice_op)
    assert [e for e in after if e["type"] == "onRecvNewMessage"] == []
    revoked = [e["msgID"] for e in after if e["type"] == "onRecvMessageRevoked"]
    assert theirs["msgID"] in revoked
    assert len(revoked) == len(set(revoked))  # each recall told once
    history = (await alice.q(HISTORY, {"g": topic}))["getGroupHistoryMessageList"]
    assert sorted(x["seq"] for x in history) == [mine["seq"], theirs["seq"]]  # stored once each


# ---- topics the mirror never heard of ------------------------------------------------------------
async def test_a_native_topic_is_imported_when_first_needed(pair: Pair) -> None:
    alice, _, dave, gid = await community(pair)
    dave_op = await dave.ws.subscribe(MESSAGE_EVENTS)
    # made by the app's servers (the stand-in sends no topic callbacks: to the gateway, lost webhooks)
    early = await made_natively(pair, gid, "early", Introduction="before")
    # the community's first topic read imports Tencent's topics, telling nobody
    assert {t: v["introduction"] for t, v in (await in_mirror(dave, gid)).items()} == {early: "before"}
    late = await made_natively(pair, gid, "late")
    assert set(await in_mirror(dave, gid)) == {early}  # read once: what came since needs naming
    named = (await dave.q(TOPICS, {"g": gid, "ids": [late]}))["getTopicInfoList"]
    assert [(r["errorCode"], r["topicInfo"]["topicName"]) for r in named] == [(0, "late")]

    # a native member's message in a topic the mirror never heard of brings the topic: bob sends
    # through Tencent's REST as a native client's send would be, and Tencent's webhook carries TopicId
    latest = await made_natively(pair, gid, "latest")
    body = {"MsgType": "TIMTextElem", "MsgContent": {"Text": "first words"}}
    sent = await pair.admin(
        "group_open_http_svc/send_group_msg",
        {"GroupId": gid, "TopicId": latest, "From_Account": "bob", "Random": 77, "MsgBody": [body]},
    )
    heard = await next_text_in(dave, dave_op, latest)
    assert (heard["seq"], heard["sender"], heard["textElem"]["text"]) == (sent["MsgSeq"], "bob", "first words")
    assert set(await in_mirror(dave, gid)) == {early, late, latest}
    assert topic_types(await dave.group_events()) == []  # imports tell nobody
    # a topic first named by a history read is imported by it (its history starts at the import)
    unseen = await made_natively(pair, gid, "unseen")
    assert await texts(dave, unseen) == []
    assert unseen in await in_mirror(dave, gid)
    mine = (await alice.send(early, "hello early")).ok()["sendMessage"]  # and it is written through
    assert (await tencent_history(pair, gid, early))[mine["seq"]]["From_Account"] == "alice"


# ---- Tencent's topic callbacks (injected: the stand-in sends none) -------------------------------
def callback(command: str, gid: str, **fields: Any) -> dict[str, Any]:
    """A topic callback as Tencent's docs show it (1047/49464-49466), for the pair's community."""
    return {"CallbackCommand": command, "GroupId": gid, "Type": "Community", **fields}


async def test_topic_callbacks_reach_gateway_members_and_echoes_do_not(pair: Pair) -> None:
    alice, _, dave, gid = await community(pair)
    # the app's servers make a topic: Tencent reports it (its callback names the name only)
    made = await pair.admin(
        f"{SVC}/create_topic", {"GroupId": gid, "TopicName": "by REST", "Notification": "from the servers"}
    )
    topic = made["TopicId"]
    created = callback(
        "Group.CallbackAfterCreateTopic",
        gid,
        TopicId=topic,
        Operator_Account="administrator",
        Owner_Account="alice",
        Name="by REST",
        UserDefinedDataList=[],
    )
    assert (await inject(pair, created)).json() == OK
    assert (await wait_for(dave, "onTopicCreated"))["topicID"] == topic
    assert (await in_mirror(dave, gid))[topic]["notification"] == "from the servers"  # read from Tencent

    # an info change names no topic (Tencent's sample): every topic is read again, the changed one told
    other = await create_topic(alice, gid, "untouched")
    await dave.group_events()
    await pair.admin(f"{SVC}/modify_topic", {"GroupId": gid, "TopicId": topic, "Introduction": "new intro"})
    changed = callback(
        "Group.CallbackAfterTopicInfoChanged", gid, Operator_Account="administrator", Introduction="new intro"
    )
    assert (await inject(pair, changed)).json() == OK
    assert (await wait_for(dave, "onTopicInfoChanged"))["topicInfo"]["topicID"] == topic
    assert (await in_mirror(dave, gid))[topic]["introduction"] == "new intro"

    await pair.admin(f"{SVC}/destroy_topic", {"GroupId": gid, "TopicIdList": [topic]})
    destroyed = callback("Group.CallbackAfterTopicDestroyed", gid, TopicIdList=[topic])
    assert (await inject(pair, destroyed)).json() == OK
    assert (await wait_for(dave, "onTopicDeleted"))["topicIDList"] == [topic]
    assert set(await in_mirror(dave, gid)) == {other}
    await settled(pair)
    assert topic_types(await dave.group_events()) == []  # each told once

    # the echoes of the gateway's own writes (OptPlatform RESTAPI) tell nobody again
    mine = await create_topic(alice, gid, "mine")
    renamed = {"topicID": mine, "topicName": "mine 2"}
    assert await alice.q(SET, {"g": gid, "t": renamed})
    assert (await alice.q(DELETE, {"g": gid, "ids": [other]}))["deleteTopicFromCommunity"][0]["errorCode"] == 0
    echoes = [
        callback("Group.CallbackAfterCreateTopic", gid, TopicId=mine, Operator_Account="alice", Name="mine"),
        callback("Group.CallbackAfterTopicInfoChanged", gid, TopicId=mine, Operator_Account="alice", Name="mine 2"),
        callback("Group.CallbackAfterTopicDestroyed", gid, TopicIdList=[other]),
    ]
    inbound = pair.gateway.gateway.tencent_inbound
    assert inbound is not None
    for echo in echoes:
        event = decode_callback(echo["CallbackCommand"], echo, platform=wire.REST_API)
        assert event is not None
        assert await inbound.own.all_echoes(event.echo_keys())  # known as the gateway's own: dropped
        assert (await inject(pair, echo, platform=wire.REST_API)).json() == OK
    # the info change as Tencent's sample shows it, naming no topic, is no echo (it could be another
    # topic's): it is applied, and the re-read finds the mirror as Tencent has it
    unnamed = callback("Group.CallbackAfterTopicInfoChanged", gid, Operator_Account="alice", Name="mine 2")
    assert (await inject(pair, unnamed, platform=wire.REST_API)).json() == OK
    await settled(pair)
    assert topic_types(await dave.group_events()) == ["onTopicCreated", "onTopicInfoChanged", "onTopicDeleted"]

    async def unchanged() -> bool:
        return {t: v["topicName"] for t, v in (await in_mirror(dave, gid)).items()} == {mine: "mine 2"}

    await eventually(unchanged)


async def test_a_native_change_to_the_values_of_the_gateways_own_change_is_not_taken_for_its_echo(
    pair: Pair,
) -> None:
    """The gateway renames one topic; the app's servers then rename another topic the same (their
    callback, like the gateway's, comes from OptPlatform RESTAPI, and names no topic): that is the
    other topic's change, not the echo of the gateway's, and reaches the mirror and its members."""
    alice, _, dave, gid = await community(pair)
    first, second = await create_topic(alice, gid, "first"), await create_topic(alice, gid, "second")
    assert await alice.q(SET, {"g": gid, "t": {"topicID": first, "topicName": "same"}})
    await settled(pair)
    await dave.group_events()

    await pair.admin(f"{SVC}/modify_topic", {"GroupId": gid, "TopicId": second, "TopicName": "same"})
    changed = callback("Group.CallbackAfterTopicInfoChanged", gid, Operator_Account="administrator", Name="same")
    assert (await inject(pair, changed, platform=wire.REST_API)).json() == OK
    await settled(pair)
    assert {t: v["topicName"] for t, v in (await in_mirror(dave, gid)).items()} == {first: "same", second: "same"}
    assert (await wait_for(dave, "onTopicInfoChanged"))["topicInfo"] == {"topicID": second, "topicName": "same"}
    await settled(pair)
    assert topic_types(await dave.group_events()) == []  # told once, and of that topic only


# ---- lost webhooks ---------------------------------------------------------------------------------
async def test_topic_messages_whose_webhook_was_lost_are_read_back_once(settings: Settings, redis_url: str) -> None:
    """As a group's (tests/tencent/test_reconcile_groups_e2e.py): when a gateway user comes online,
    each topic with news on Tencent is read back above its mark, with TopicId."""
    lost = SUPPORTED_COMMANDS - {GROUP_AFTER_SEND}  # Tencent never tells the gateway of a group message
    async with running_pair(settings, redis_url, cloud_callbacks=lost) as pair:
        alice, bob, _, gid = await community(pair)
        quiet, busy = await create_topic(alice, gid, "quiet"), await create_topic(alice, gid, "busy")
        mine = (await alice.send(busy, "from the gateway")).ok()["sendMessage"]  # mirrored at once
        await alice.ws.close()
        theirs = (await bob.send(busy, "lost while alice was away")).ok()["sendMessage"]
        assert await texts(alice, busy) == [(mine["seq"], "alice", "from the gateway")]

        alice = await member(pair.at_gateway, pair.gateway, "alice")  # back online: read back
        heard = await next_text(alice)  # live, as the webhook would have been
        assert (heard["msgID"], heard["groupID"], heard["seq"]) == (theirs["msgID"], busy, theirs["seq"])
        expected = [(mine["seq"], "alice", "from the gateway"), (theirs["seq"], "bob", "lost while alice was away")]
        assert await texts(alice, busy) == expected
        assert await texts(alice, quiet) == []
        marks = await pair.gateway.gateway.redis.hgetall(pair.gateway.gateway.keys.tencent_groups_synced())
        assert int(marks[busy]) == theirs["seq"]  # the topic's own mark


# ---- communities the mirror holds as without topics (imported before their answer was read) ------
async def stale(pair: Pair, gid: str) -> None:
    """The mirror's community as an import before get_topic was asked (or during an outage) stored it."""
    g = pair.gateway.gateway
    await g.redis.hset(g.keys.group_info(gid), "isSupportTopic", "0")


async def mirrored_support(pair: Pair, gid: str) -> str | None:
    g = pair.gateway.gateway
    value: str | None = await g.redis.hget(g.keys.group_info(gid), "isSupportTopic")
    return value


def upstream_topics(pair: Pair) -> TencentTopics:
    up = mirror_of(pair).upstream
    assert up is not None
    assert isinstance(up.topics, TencentTopics)
    return up.topics


def watch_get_topic(pair: Pair, monkeypatch: pytest.MonkeyPatch, *, failing: bool = False) -> list[dict[str, Any]]:
    """The gateway's get_topic bodies from now on (`failing`: each answered 70500, Tencent failing inside)."""
    client = upstream_topics(pair)._client
    real = client.call
    seen: list[dict[str, Any]] = []

    async def call(endpoint: str, body: dict[str, Any], **options: Any) -> Answer:
        if endpoint == f"{SVC}/get_topic":
            seen.append(body)
            if failing:
                raise tencent_error(70500, "internal server error", endpoint)
        return await real(endpoint, body, **options)

    monkeypatch.setattr(client, "call", call)
    return seen


def topic_message(gid: str, topic: str, seq: int, text: str) -> GroupMessageSent:
    return GroupMessageSent(
        command=GROUP_AFTER_SEND,
        group_id=gid,
        group_type="Community",
        from_account="bob",
        random=4242,
        msg_body=({"MsgType": "TIMTextElem", "MsgContent": {"Text": text}},),
        msg_seq=seq,
        msg_time=int(time.time()),
        topic_id=topic,
    )


async def test_a_community_stored_without_topics_is_asked_again_where_topics_are_needed(pair: Pair) -> None:
    _, _, dave, gid = await community(pair)
    dave_op = await dave.ws.subscribe(MESSAGE_EVENTS)
    await stale(pair, gid)
    # a native member's message in a native topic is mirrored, not dropped (know_topics asks Tencent)
    topic = await made_natively(pair, gid, "native")
    body = {"MsgType": "TIMTextElem", "MsgContent": {"Text": "still here"}}
    sent = await pair.admin(
        "group_open_http_svc/send_group_msg",
        {"GroupId": gid, "TopicId": topic, "From_Account": "bob", "Random": 78, "MsgBody": [body]},
    )
    heard = await next_text_in(dave, dave_op, topic)
    assert (heard["seq"], heard["textElem"]["text"]) == (sent["MsgSeq"], "still here")
    assert await mirrored_support(pair, gid) == "1"  # Tencent's "yes" is kept
    # and an SDK call on the topics (`_community`) asks again too
    await stale(pair, gid)
    assert topic in await in_mirror(dave, gid)
    assert await mirrored_support(pair, gid) == "1"
    # and the joined-community list, which lists only communities with topics
    await stale(pair, gid)
    joined = (await dave.q("{ getJoinedCommunityList { groupID } }"))["getJoinedCommunityList"]
    assert [g["groupID"] for g in joined] == [gid]
    assert await mirrored_support(pair, gid) == "1"


async def test_a_topic_message_met_during_an_outage_is_retried_not_dropped(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, dave, gid = await community(pair)
    topic = await made_natively(pair, gid, "unseen")
    await stale(pair, gid)
    event = topic_message(gid, topic, 1, "during the outage")
    with monkeypatch.context() as outage:
        watch_get_topic(pair, outage, failing=True)
        with pytest.raises(TencentError):  # the webhook's entry fails: the worker tries it again
            await message_sent(mirror_of(pair), event)
    assert await mirrored_support(pair, gid) == "0"  # unknown is not "no": nothing stored
    await message_sent(mirror_of(pair), event)  # Tencent back: the retry brings it
    assert await texts(dave, topic) == [(1, "bob", "during the outage")]


def watch_calls(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every (endpoint, body) the gateway sends Tencent from now on."""
    client = upstream_topics(pair)._client
    real = client.call
    seen: list[tuple[str, dict[str, Any]]] = []

    async def call(endpoint: str, body: dict[str, Any], **options: Any) -> Answer:
        seen.append((endpoint, body))
        return await real(endpoint, body, **options)

    monkeypatch.setattr(client, "call", call)
    return seen


async def test_a_stranger_naming_a_topic_the_mirror_has_not_met_is_refused_10007_asking_nobody(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A topic only Tencent has (made natively, its webhook lost) is not imported for a stranger
    (who must not make the gateway ask Tencent as them): refused as a non-member, 10007, not as a
    topic that does not exist (10010), and nothing changes anywhere."""
    _, _, dave, gid = await community(pair)
    topic = await made_natively(pair, gid, "members only")
    carol = await member(pair.at_gateway, pair.gateway, "carol")
    seen = watch_calls(pair, monkeypatch)
    assert (await carol.send(topic, "let me in")).codes == [Code.ERR_NO_PERMISSION]
    assert (await carol.call(HISTORY, {"g": topic})).codes == [Code.ERR_NO_PERMISSION]
    assert (await carol.call(TOPICS, {"g": gid, "ids": [topic]})).codes == [Code.ERR_NO_PERMISSION]
    assert [body for _, body in seen if body.get("From_Account") == "carol"] == []
    assert [endpoint for endpoint, _ in seen if endpoint.startswith(SVC)] == []  # no topic read at all
    g = pair.gateway.gateway
    assert not await g.redis.exists(g.keys.group_topics(gid))  # nothing imported
    assert await tencent_history(pair, gid, topic) == {}  # nothing sent
    # a topic of a community that does not exist is still no group (10010)
    assert (await carol.send("@TGS#_nowhere@TOPIC#_x", "hello")).codes == [Code.ERR_GROUP_NOT_FOUND]

    assert await texts(dave, topic) == []  # a member's read imports it, as that member
    assert [body.get("From_Account") for endpoint, body in seen if endpoint == f"{SVC}/get_topic"][-1] == "dave"
    # and a topic the mirror has is refused to the stranger the same
    assert (await carol.send(topic, "let me in")).codes == [Code.ERR_NO_PERMISSION]
    assert (await carol.call(HISTORY, {"g": topic})).codes == [Code.ERR_NO_PERMISSION]


# ---- a topic written while its community is dismissed --------------------------------------------
async def test_a_topic_created_during_its_communitys_dismissal_is_refused_and_leaves_nothing(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Tencent's side (imql's own server, no upstream): the create checked the community, then
    waited for its turn while the dismissal held it."""
    await both(pair, "alice", "bob")
    gid = "race-town"
    made = {"Type": "Community", "GroupId": gid, "Name": "town", "Owner_Account": "alice", "SupportTopic": 1}
    assert (await pair.admin("group_open_http_svc/create_group", made))["ErrorCode"] == 0
    held, go = asyncio.Event(), asyncio.Event()
    real = GroupExtras._topics_known

    async def hold(self: GroupExtras, user_id: str, group_id: str, app_admin: bool) -> Any:
        answer = await real(self, user_id, group_id, app_admin)
        if group_id == gid and not held.is_set():
            held.set()
            await go.wait()  # just before the create's turn, and its write
        return answer

    monkeypatch.setattr(GroupExtras, "_topics_known", hold)
    late = f"{gid}@TOPIC#_late"
    creating = asyncio.create_task(
        pair.admin(f"{SVC}/create_topic", {"GroupId": gid, "TopicId": late, "TopicName": "late"})
    )
    await asyncio.wait_for(held.wait(), 10)
    assert (await pair.admin("group_open_http_svc/destroy_group", {"GroupId": gid}))["ErrorCode"] == 0
    go.set()
    assert (await creating)["ErrorCode"] == Code.ERR_GROUP_NOT_FOUND
    cloud = pair.cloud.gateway
    assert not await cloud.redis.exists(cloud.keys.group_topics(gid))
    # a new community under the same ID starts without topics
    assert (await pair.admin("group_open_http_svc/create_group", made))["ErrorCode"] == 0
    assert await on_tencent(pair, gid) == {}


async def test_a_topic_created_muted_is_muted_on_both_sides(pair: Pair) -> None:
    alice, _, dave, gid = await community(pair)
    topic = await create_topic(alice, gid, "quiet", isAllMuted=True)
    assert (await on_tencent(pair, gid))[topic]["MuteAllMember"] == "On"
    page = (await dave.q(MUTED, {"g": gid, "ids": [topic]}))["getTopicInfoList"]
    assert page[0]["topicInfo"]["isAllMuted"] is True


# ---- a topic write that fails after Tencent took it ------------------------------------------------
async def test_a_topic_create_cut_after_tencent_is_repaired_by_its_webhook(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mirror's write failed after Tencent's (Redis, a deadline, a crash): the echo keys were not
    recorded, so Tencent's callback is no echo and brings the topic."""
    alice, _, dave, gid = await community(pair)
    topic = f"{gid}@TOPIC#_half"

    real = extras._write_topic

    async def cut(store: GroupStore, group_id: str, info: TopicInfo, *, only_new: bool) -> bool:
        if store.upstream is not None:  # the gateway's mirror (Tencent's stand-in shares the code)
            raise ConnectionError("the mirror's Redis went away")
        return await real(store, group_id, info, only_new=only_new)

    with monkeypatch.context() as broken:
        broken.setattr(extras, "_write_topic", cut)
        assert (await alice.call(CREATE, {"g": gid, "t": {"topicName": "half", "topicID": topic}})).codes
    assert topic in await on_tencent(pair, gid)
    assert topic not in await in_mirror(dave, gid)
    created = callback("Group.CallbackAfterCreateTopic", gid, TopicId=topic, Operator_Account="alice", Name="half")
    event = decode_callback(created["CallbackCommand"], created, platform=wire.REST_API)
    inbound = pair.gateway.gateway.tencent_inbound
    assert event is not None
    assert inbound is not None
    assert not await inbound.own.all_echoes(event.echo_keys())
    assert (await inject(pair, created, platform=wire.REST_API)).json() == OK
    assert (await wait_for(dave, "onTopicCreated"))["topicID"] == topic
    assert topic in await in_mirror(dave, gid)
