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

from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.engine.backend import EmbeddedBackend
from gateway.errors import Code, IMError
from gateway.im.enums import ElemType, GroupMemberRole, GroupTipsType, GroupType, MessageOpt
from gateway.im.groups import TopicInfo
from gateway.im.messages import Content, SendOptions, TextElem
from gateway.services import Gateway
from tests.conftest import REDIS_URL
from tests.rest.conftest import RestClient, rest
from tests.support.clients import HTTPClient
from tests.support.engine import embedded
from tests.support.groups import member
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
