"""A community topic's own mutes (gateway.engine.groups.topic_mutes), on the engine and real Redis:

- a topic's isAllMuted keeps its ordinary members from sending there (10017), as the community's
  does, but not its admins and owner, nor the app admin's REST send;
- muteGroupMember naming a topic mutes a member of the community in that topic only, by the
  community mute's rules (who may, whom), told by a tip in the topic and onMemberInfoChanged naming
  it; 0 unmutes;
- the mutes go with the member (leaving), the topic (its deletion) and the community (dismissal);
- getTopicInfoList shows each member their own mute time and receive option in each topic
  (TopicInfo.selfMuteTime, recvOpt), and REST forbid_send_msg (TopicId) and get_topic
  (SelfInfo.ShutUpTime) serve the same mutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.rest.group_views import MSG_FLAG_NAMES, GroupViews
from gateway.errors import Code, IMError
from gateway.im.enums import ElemType, GroupMemberRole, GroupTipsType, GroupType, MessageOpt
from gateway.im.groups import TopicInfo
from gateway.im.messages import Content, SendOptions, TextElem
from gateway.keys import Keys
from gateway.services import Gateway
from schema.identity import global_id
from tests.conftest import REDIS_URL
from tests.rest.conftest import RestClient, rest
from tests.support.actors import Actor
from tests.support.clients import HTTPClient
from tests.support.engine import embedded
from tests.support.groups import Member, member
from tests.support.servers import InProcessGateway

__all__ = ["rest"]  # the REST fixture, used by the last test

COMMUNITY = GroupType.V2TIM_GROUP_TYPE_COMMUNITY
ADMIN = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN
USERS = ("owner", "admin", "member", "target", "stranger")
SESSION = "s-test"
MUTED = Code.ERR_GROUP_MEMBER_MUTED
NO = Code.ERR_NO_PERMISSION
BAD = Code.ERR_GROUP_INVALID_PARAMETERS
GONE = Code.ERR_GROUP_NOT_FOUND


@pytest.fixture
def redis_topology(request: pytest.FixtureRequest) -> str:
    """A single Redis, unless a test asks for a Redis Cluster (`indirect` parametrization)."""
    return str(getattr(request, "param", "single-redis"))


@pytest.fixture
def redis_url(redis_topology: str, request: pytest.FixtureRequest) -> str:
    if redis_topology == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    return REDIS_URL


@pytest.fixture
def redis_is_cluster(redis_topology: str) -> bool:
    return redis_topology == "redis-cluster"


@pytest.fixture
async def community(gw: Gateway) -> tuple[str, str, str]:
    """A community (its owner, an admin, two ordinary members) with two topics: (its ID, the topics')."""
    for user in USERS:
        await gw.backend.accounts.ensure_account(user)
    g = gw.backend.groups
    gid = await g.create_group("owner", COMMUNITY, None, "c", is_support_topic=True)
    for user in ("admin", "member", "target"):
        await g.join_group(user, gid, "")
    await g.set_group_member_role("owner", gid, "admin", ADMIN)
    topic = await g.create_topic_in_community("owner", gid, TopicInfo(topicID="", topicName="one"))
    other = await g.create_topic_in_community("owner", gid, TopicInfo(topicID="", topicName="two"))
    return gid, topic, other


def engine(gw: Gateway) -> EmbeddedBackend:
    return embedded(gw.backend)


async def send(gw: Gateway, sender: str, to: str) -> int:
    """0 sent, else the refusal's code."""
    content = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=f"from {sender}"))
    created = await engine(gw).messages.create_message(sender, content)
    try:
        await engine(gw).messages.send_group_message(sender, SESSION, created.id, to, SendOptions())
    except IMError as refused:
        return refused.code
    return 0


async def refusal(call: Any) -> int:
    try:
        await call
    except IMError as refused:
        return refused.code
    return 0


async def test_a_topics_all_mute_stops_its_ordinary_members_only(gw: Gateway, community: tuple[str, str, str]) -> None:
    gid, topic, other = community
    g = gw.backend.groups
    await g.set_topic_info("owner", gid, TopicInfo(topicID=topic, topicName="one", isAllMuted=True))
    assert [await send(gw, u, topic) for u in ("member", "target", "admin", "owner")] == [MUTED, MUTED, 0, 0]
    # the community and its other topics are not muted
    assert [await send(gw, "member", to) for to in (gid, other)] == [0, 0]
    # the app admin's REST send (no member) is not held by mutes
    created = await engine(gw).messages.create_message(
        "administrator", Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="notice"))
    )
    await engine(gw).messages.send_group_message(
        "administrator", SESSION, created.id, topic, SendOptions(), as_admin=True
    )
    await g.set_topic_info("owner", gid, TopicInfo(topicID=topic, topicName="one", isAllMuted=False))
    assert await send(gw, "member", topic) == 0


async def test_a_member_muted_in_a_topic_cannot_send_there_until_unmuted(
    gw: Gateway, community: tuple[str, str, str]
) -> None:
    gid, topic, other = community
    g = gw.backend.groups
    await g.mute_group_member("admin", topic, "target", 60)
    assert await send(gw, "target", topic) == MUTED
    assert [await send(gw, "target", to) for to in (gid, other)] == [0, 0]  # that topic only
    assert await send(gw, "member", topic) == 0
    # told in the topic's own conversation: a member-info tip naming the topic and the mute
    (tip,) = [
        m
        for m in await engine(gw).messages.get_group_history_message_list("member", topic, 10)
        if m.elemType == ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS
    ]
    elem = tip.groupTipsElem
    assert elem is not None
    assert tip.groupID == topic
    assert (elem.groupID, elem.type, elem.opMember.userID) == (
        topic,
        GroupTipsType.V2TIM_GROUP_TIPS_TYPE_MEMBER_INFO_CHANGE,
        "admin",
    )
    assert [(c.userID, c.muteTime) for c in elem.memberChangeInfoList] == [("target", 60)]
    await g.mute_group_member("owner", topic, "target", 0)  # 0 unmutes
    assert await send(gw, "target", topic) == 0


async def test_a_topic_mute_follows_the_community_mutes_rules(gw: Gateway, community: tuple[str, str, str]) -> None:
    gid, topic, _ = community
    g = gw.backend.groups
    assert await refusal(g.mute_group_member("member", topic, "target", 60)) == NO  # an ordinary member
    assert await refusal(g.mute_group_member("stranger", topic, "target", 60)) == NO  # no member
    assert await refusal(g.mute_group_member("admin", topic, "owner", 60)) == NO  # outranks the admin
    assert await refusal(g.mute_group_member("admin", topic, "stranger", 60)) == BAD  # not in the community
    assert await refusal(g.mute_group_member("admin", topic, "target", -1)) == BAD
    assert await refusal(g.mute_group_member("admin", f"{gid}@TOPIC#_none", "target", 60)) == GONE
    assert await send(gw, "target", topic) == 0  # none of them muted anybody
    # the app admin (REST) may
    await engine(gw).groups.mute_group_member("administrator", topic, "admin", 60, app_admin=True)
    assert await send(gw, "admin", topic) == MUTED


# on a Redis Cluster too: the mutes hash is written and deleted in one step with the community's
# keys (its info and topics hash, by script and transaction), so it must be on their slot
@pytest.mark.parametrize("redis_topology", ["single-redis", "redis-cluster"], indirect=True)
async def test_topic_mutes_go_with_the_member_the_topic_and_the_community(
    gw: Gateway, community: tuple[str, str, str]
) -> None:
    gid, topic, other = community
    g = gw.backend.groups
    keys = engine(gw).groups.store.keys
    await g.mute_group_member("admin", topic, "target", 60)
    await g.mute_group_member("admin", other, "target", 60)
    await g.mute_group_member("admin", other, "member", 60)
    # leaving: a member who joins again is muted in no topic
    await g.quit_group("target", gid)
    assert not await gw.redis.hexists(keys.group_topic_mutes(gid, topic), "target")
    assert await gw.redis.hkeys(keys.group_topic_mutes(gid, other)) == ["member"]
    await g.join_group("target", gid, "")
    assert [await send(gw, "target", to) for to in (topic, other)] == [0, 0]
    # the topic's deletion: one made again under its ID has no mutes
    await g.delete_topic_from_community("owner", gid, [other])
    assert not await gw.redis.exists(keys.group_topic_mutes(gid, other))
    await g.create_topic_in_community("owner", gid, TopicInfo(topicID=other, topicName="again"))
    assert await send(gw, "member", other) == 0
    # the community's dismissal
    await g.mute_group_member("admin", topic, "member", 60)
    await g.dismiss_group("owner", gid)
    assert not await gw.redis.exists(keys.group_topic_mutes(gid, topic))


async def test_each_member_reads_their_own_mute_and_receive_option_in_each_topic(
    gw: Gateway, clock: ManualClock, community: tuple[str, str, str]
) -> None:
    gid, topic, other = community
    g = gw.backend.groups

    async def seen(user: str) -> dict[str, tuple[int, int]]:
        found = await g.get_topic_info_list(user, gid, None)
        return {
            r.topicInfo.topicID: (getattr(r.topicInfo, "selfMuteTime", -1), getattr(r.topicInfo, "recvOpt", -1))
            for r in found
            if r.topicInfo is not None
        }

    assert await seen("target") == {topic: (0, 0), other: (0, 0)}
    await g.mute_group_member("admin", topic, "target", 60)
    await engine(gw).messages.set_group_receive_message_opt(
        "target", other, MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE
    )
    await clock.advance(10)
    assert await seen("target") == {topic: (50, 0), other: (0, int(MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE))}
    assert await seen("member") == {topic: (0, 0), other: (0, 0)}
    # a mute in the community keeps them from every topic: the longer of the two counts
    await g.mute_group_member("admin", gid, "target", 100)
    assert await seen("target") == {topic: (100, 0), other: (100, int(MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE))}


T = "million_group_open_http_svc/"
G = "group_open_http_svc/"


async def test_over_graphql_and_rest(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    olive, mike = await member(client, server, "olive"), await member(client, server, "mike")
    gid = await olive.create("Community", topics=True)
    await mike.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    topic = (await olive.q('mutation { createTopicInCommunity(groupID: "%s", topicInfo: {topicName: "t"}) }' % gid))[
        "createTopicInCommunity"
    ]
    for m in (olive, mike):
        await m.group_events()
        await m.messages()
    mute = 'mutation($s: Int!) { muteGroupMember(groupID: "%s", userID: "mike", seconds: $s) }' % topic
    assert await olive.q(mute, {"s": 60})
    (changed,) = await mike.group_events()
    assert (changed["type"], changed["groupID"], changed["groupMemberChangeInfoList"]) == (
        "onMemberInfoChanged",
        topic,
        [{"userID": "mike", "muteTime": 60}],
    )
    (tip,) = await mike.messages()
    assert (tip["groupID"], tip["groupTipsElem"]["memberChangeInfoList"]) == (
        topic,
        [{"userID": "mike", "muteTime": 60}],
    )
    assert (await mike.send(topic, "hello")).codes == [MUTED]
    listed = '{ getTopicInfoList(groupID: "%s", topicIDList: []) { topicInfo { topicID selfMuteTime recvOpt } } }' % gid
    assert (await mike.q(listed))["getTopicInfoList"] == [
        {"topicInfo": {"topicID": topic, "selfMuteTime": 60, "recvOpt": 0}}
    ]
    # REST: get_topic's SelfInfo, then forbid_send_msg with TopicId unmutes and mutes again
    selves = await rest.ok(T + "get_topic", {"GroupId": gid, "From_Account": "mike"})
    assert [i["SelfInfo"]["ShutUpTime"] for i in selves["TopicAndSelfInfo"]] == [60]
    await rest.ok(G + "forbid_send_msg", {"GroupId": gid, "TopicId": topic, "Members_Account": ["mike"], "MuteTime": 0})
    assert (await mike.send(topic, "hello")).codes == []
    assert (await mike.send(gid, "hello")).codes == []
    await rest.ok(
        G + "forbid_send_msg", {"GroupId": gid, "TopicId": topic, "Members_Account": ["mike"], "MuteTime": 30}
    )
    assert (await mike.send(topic, "again")).codes == [MUTED]
    assert (await mike.send(gid, "in the community")).codes == []  # the topic only
    selves = await rest.ok(T + "get_topic", {"GroupId": gid, "From_Account": "mike"})
    assert [i["SelfInfo"]["ShutUpTime"] for i in selves["TopicAndSelfInfo"]] == [30]
    # a topic of another group, or none, is refused
    wrong = {"GroupId": gid, "TopicId": "other@TOPIC#_x", "Members_Account": ["mike"], "MuteTime": 30}
    await rest.fails(G + "forbid_send_msg", wrong, BAD)
    await rest.fails(G + "forbid_send_msg", {**wrong, "TopicId": f"{gid}@TOPIC#_none"}, GONE)


async def test_a_topic_gone_between_the_mutes_checks_and_its_write_keeps_no_mutes(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write checks the topic again in the same step (a mutes hash written after the topic's
    deletion would outlive it): the topic removed just after the target was read (as a deletion not
    holding the community's turn would)."""
    gid, topic, _ = community
    store = engine(gw).groups.store
    real = store.member

    async def member_then_gone(group_id: str, user_id: str) -> Any:
        found = await real(group_id, user_id)
        if user_id == "target":
            await gw.redis.hdel(store.keys.group_topics(gid), topic)
        return found

    monkeypatch.setattr(store, "member", member_then_gone)
    assert await refusal(gw.backend.groups.mute_group_member("admin", topic, "target", 60)) == GONE
    assert not await gw.redis.exists(store.keys.group_topic_mutes(gid, topic))


# on a Redis Cluster too: a topic's timeline is on a slot of its own, not its community's info's,
# so taking back a tip written there must not touch both in one script (CROSSSLOT)
@pytest.mark.parametrize("cut", ["community-closed", "topic-deleted"])
@pytest.mark.parametrize("redis_topology", ["single-redis", "redis-cluster"], indirect=True)
async def test_a_topic_tip_written_after_its_community_closed_or_its_topic_went_is_taken_back(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch, cut: str
) -> None:
    """The community closed for its dismissal, or the topic deleted, between the mute's write and its
    tip (as a dismissal or a deletion not waiting for the mute's turn would): the tip, written into
    the topic's timeline, finds it in the same round trip and is taken back; 10010."""
    gid, topic, _ = community
    store = engine(gw).groups.store
    tips = Keys.timeline_messages(store.keys.group_timeline(topic))
    assert not await gw.redis.hlen(tips)
    real = store.member_infos
    cut_once: list[str] = []

    async def cut_then_member_infos(group_id: str, user_ids: Sequence[str]) -> Any:
        if not cut_once:  # the first after the write: the tip's operator
            cut_once.append(cut)
            if cut == "community-closed":
                assert await store.close(gid)
            else:
                await gw.redis.hdel(store.keys.group_topics(gid), topic)
        return await real(group_id, user_ids)

    monkeypatch.setattr(store, "member_infos", cut_then_member_infos)
    assert await refusal(gw.backend.groups.mute_group_member("admin", topic, "target", 60)) == GONE
    assert cut_once == [cut]
    assert not await gw.redis.hlen(tips)
    # a deleted topic's seq counter stays (its erasure is bounded by it, a topic made again goes on)
    seq = Keys.timeline_seq(store.keys.group_timeline(topic))
    assert await gw.redis.exists(seq) == (cut == "topic-deleted")


TOPIC_CHANGED = """subscription { groupListener { __typename
  ... on TopicInfoChangedEvent { type topicInfo {
    topicID topicName selfMuteTime recvOpt unreadCount lastMessage { msgID } } } } }"""


async def test_a_topic_event_carries_no_readers_own_state(
    client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    """onTopicInfoChanged goes to every member alike: selfMuteTime, recvOpt and unreadCount are null
    there, not 0, which a client merging the event into its cache would take for "not muted",
    "receive" and "all read" (and lastMessage null, not "no message"); getTopicInfoList and node,
    read by one member, fill them."""
    olive = await member(client, server, "olive")
    mike = await Actor.online(client, server.ws_url, "mike", TOPIC_CHANGED)
    gid = await olive.create("Community", topics=True)
    await mike.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    create = 'mutation { createTopicInCommunity(groupID: "%s", topicInfo: {topicName: "t"}) }' % gid
    topic = (await olive.q(create))["createTopicInCommunity"]
    await olive.q('mutation { muteGroupMember(groupID: "%s", userID: "mike", seconds: 60) }' % topic)
    await olive.q(
        'mutation { setTopicInfo(groupID: "%s", topicInfo: {topicID: "%s", topicName: "renamed"}) }' % (gid, topic)
    )
    changed = [e for e in await mike.drain(mike.ops[0]) if e["__typename"] == "TopicInfoChangedEvent"]
    assert [e["topicInfo"] for e in changed] == [
        {
            "topicID": topic,
            "topicName": "renamed",
            "selfMuteTime": None,
            "recvOpt": None,
            "unreadCount": None,
            "lastMessage": None,
        }
    ]
    fields = "topicID selfMuteTime recvOpt"
    listed = await mike.q('{ getTopicInfoList(groupID: "%s", topicIDList: []) { topicInfo { %s } } }' % (gid, fields))
    assert listed["getTopicInfoList"] == [{"topicInfo": {"topicID": topic, "selfMuteTime": 60, "recvOpt": 0}}]
    node_id = global_id("TopicInfo", topic)
    read = await mike.q('{ node(id: "%s") { ... on TopicInfo { %s } } }' % (node_id, fields))
    assert read["node"] == {"topicID": topic, "selfMuteTime": 60, "recvOpt": 0}


async def test_get_topics_self_info_is_read_in_one_round_trip_for_all_the_topics(
    gw: Gateway, clock: ManualClock, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """REST get_topic's SelfInfo of every topic asked (a community may have 100s): one pipeline,
    whatever their number, the mute the longer of the community's and the topic's."""
    gid, topic, other = community
    g = gw.backend.groups
    await g.mute_group_member("admin", topic, "target", 60)
    await g.mute_group_member("admin", gid, "target", 30)
    await engine(gw).messages.set_group_receive_message_opt(
        "target", other, MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE
    )
    views = GroupViews(engine(gw).groups.store, engine(gw).groups.store.now())
    trips = 0
    pipeline = type(gw.redis.pipeline(transaction=False))  # the gateway's own (gateway.lean.redis)
    real_execute, real_command = pipeline.execute, type(gw.redis).execute_command

    async def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await real_execute(self, *args, **kwargs)

    async def counted_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await real_command(self, *args, **kwargs)

    monkeypatch.setattr(pipeline, "execute", counted_execute)
    monkeypatch.setattr(type(gw.redis), "execute_command", counted_command)
    selves = await views.topics_self(gid, [topic, other], "target")
    assert trips == 1
    monkeypatch.undo()
    assert [(s["ShutUpTime"], s["MsgFlag"]) for s in selves] == [
        (60, MSG_FLAG_NAMES[MessageOpt.V2TIM_RECEIVE_MESSAGE]),
        (30, MSG_FLAG_NAMES[MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE]),
    ]


async def test_each_member_reads_their_unread_count_and_last_message_in_each_topic(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """A topic's conversation (group_<topicID>) is in no conversation list: getTopicInfoList (and
    node) is where a member reads its unread count and last message (V2TIMTopicInfo), each their
    own, as their conversation's would be."""
    olive, mike = await member(client, server, "olive"), await member(client, server, "mike")
    gid = await olive.create("Community", topics=True)
    await mike.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    create = 'mutation($n: String!) { createTopicInCommunity(groupID: "%s", topicInfo: {topicName: $n}) }' % gid
    busy = (await olive.q(create, {"n": "busy"}))["createTopicInCommunity"]
    quiet = (await olive.q(create, {"n": "quiet"}))["createTopicInCommunity"]
    for text in ("one", "two"):
        assert (await olive.send(busy, text)).codes == []
    fields = "topicID unreadCount lastMessage { sender isSelf textElem { text } }"
    listed = '{ getTopicInfoList(groupID: "%s", topicIDList: []) { topicInfo { %s } } }' % (gid, fields)

    async def seen(m: Member) -> dict[str, Any]:
        return {
            r["topicInfo"]["topicID"]: {k: v for k, v in r["topicInfo"].items() if k != "topicID"}
            for r in (await m.q(listed))["getTopicInfoList"]
        }

    two = {"sender": "olive", "textElem": {"text": "two"}}
    assert await seen(mike) == {
        busy: {"unreadCount": 2, "lastMessage": {**two, "isSelf": False}},
        quiet: {"unreadCount": 0, "lastMessage": None},
    }
    # the sender's own messages are not unread to them, and are theirs (isSelf)
    assert (await seen(olive))[busy] == {"unreadCount": 0, "lastMessage": {**two, "isSelf": True}}
    # read (markGroupMessageAsRead naming the topic): none unread, the last message still there
    await mike.q('mutation { markGroupMessageAsRead(groupID: "%s") }' % busy)
    assert (await seen(mike))[busy]["unreadCount"] == 0
    read = await mike.q('{ node(id: "%s") { ... on TopicInfo { %s } } }' % (global_id("TopicInfo", busy), fields))
    assert read["node"] == {"topicID": busy, "unreadCount": 0, "lastMessage": {**two, "isSelf": False}}


async def test_topic_info_reads_the_readers_state_of_those_topics_only(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """getTopicInfoList's reader's own part (`as_seen_by`: mutes, receive option, unread count, last
    message) reads their state of the topics' conversations, not of all theirs: the same round
    trips and commands whether they have 2 other conversations or 300, none of them a read of
    their whole conversation list or of a state hash whole (but their few named conversation
    groups, which `UserStates.queue_state_of` reads whole)."""
    from gateway.engine.groups.topic_mutes import as_seen_by
    from gateway.lean.redis import LeanPipeline

    gid, topic, other = community
    groups = engine(gw).groups
    keys = groups.store.keys
    assert await send(gw, "owner", topic) == 0
    found = await groups.extras.get_topic_info_list("target", gid, None)
    sent: list[list[tuple[str, str]]] = []
    real_execute, real_command = LeanPipeline.execute, type(gw.redis).execute_command

    async def recorded_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append([(str(a[0]).upper(), str(a[1]) if len(a) > 1 else "") for a, _ in self.command_stack])
        return await real_execute(self, *args, **kwargs)

    async def recorded_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append([(str(args[0]).upper(), str(args[1]) if len(args) > 1 else "")])
        return await real_command(self, *args, **kwargs)

    async def read() -> tuple[list[list[tuple[str, str]]], dict[str, tuple[int, int]]]:
        sent.clear()
        monkeypatch.setattr(LeanPipeline, "execute", recorded_execute)
        monkeypatch.setattr(type(gw.redis), "execute_command", recorded_command)
        seen = await as_seen_by(groups.store, gid, found, "target", groups.topic_conversations)
        monkeypatch.undo()
        views = {r.topicInfo.topicID: r.topicInfo for r in seen if r.topicInfo is not None}
        return list(sent), {t: (getattr(v, "unreadCount", -1), getattr(v, "recvOpt", -1)) for t, v in views.items()}

    await read()  # its scripts loaded on a Redis that never ran them, before anything is counted
    few, seen_few = await read()
    # 300 more conversations of the reader's, each with state in several hashes
    others = [f"c2c_peer{i}" for i in range(300)]
    await gw.redis.zadd(keys.conversations("target"), dict.fromkeys(others, 1))
    for family in ("draft", "pinned", "custom-data"):
        await gw.redis.hset(keys.conversation_state("target", family), mapping=dict.fromkeys(others, "1:x"))
    await gw.redis.hset(keys.receive_options("target"), mapping={Keys.receive_option_field(c): 2 for c in others})
    many, seen_many = await read()
    assert seen_few == seen_many == {topic: (1, 0), other: (0, 0)}
    assert many == few
    assert len(many) <= 3
    whole = {("ZRANGE", keys.conversations("target"))} | {
        ("HGETALL", key)
        for key in (
            keys.receive_options("target"),
            keys.group_read_seqs("target"),
            *(keys.conversation_state("target", f) for f in ("draft", "pinned", "custom-data", "left", "deleted")),
        )
    }
    assert not whole & {command for trip in many for command in trip}
    # nor a topic's info hash, which does not exist (its info is in its community's topics hash),
    # nor the groups' activity, where topics have no place (`_ViewRead`)
    pointless = {("HGETALL", keys.group_info(t)) for t in (topic, other)} | {("ZMSCORE", keys.group_activity())}
    assert not pointless & {command for trip in many for command in trip}


def test_the_groups_are_built_with_their_topic_conversations() -> None:
    """The conversation views getTopicInfoList reads a reader's topic conversations with are the
    groups' from their construction, not set after it (where a backend missing the step would
    answer every topic as all read, with no message)."""
    import inspect

    from gateway.engine.groups.manager import EmbeddedGroups

    parameter = inspect.signature(EmbeddedGroups).parameters["topic_conversations"]
    assert parameter.default is inspect.Parameter.empty
