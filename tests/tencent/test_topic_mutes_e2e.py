"""A community topic's member mutes on the Tencent Cloud backend end to end: the gateway against
imql's own REST v4 server standing in for Tencent (tests/support/tencent_pair.py).

A gateway user's muteGroupMember naming a topic reaches Tencent first (forbid_send_msg with TopicId,
MAPPING.md #75), and holds on both sides: the member's sends into the topic are refused (10017)
through the gateway (the mirror) and from their native device (Tencent), and get_topic's
SelfInfo.ShutUpTime reports it; 0 lifts it on both.

And the app admin's REST send into a topic only Tencent has (made natively, its webhook lost)
imports the topic as the admin and is sent, not refused as a non-member's (the admin is no member
of the community).
"""

from __future__ import annotations

from gateway.errors import Code
from tests.support.groups import member
from tests.support.tencent_pair import Pair
from tests.tencent.test_group_early_recall import mirror_of
from tests.tencent.test_groups_e2e import settled
from tests.tencent.test_topics import DELETE, SVC, community, create_topic, made_natively, tencent_history, texts

MUTE = 'mutation($g: String!, $s: Int!) { muteGroupMember(groupID: $g, userID: "dave", seconds: $s) }'


async def shut_up_time(pair: Pair, gid: str, topic: str, user: str) -> int:
    """Tencent's (the stand-in's) SelfInfo.ShutUpTime of `user` in the topic (get_topic)."""
    answer = await pair.admin(f"{SVC}/get_topic", {"GroupId": gid, "TopicIdList": [topic], "From_Account": user})
    assert answer["ErrorCode"] == 0, answer
    (item,) = answer["TopicAndSelfInfo"]
    return int(item["SelfInfo"]["ShutUpTime"])


async def test_a_topic_mute_reaches_tencent_first_and_holds_on_both_sides(pair: Pair) -> None:
    alice, _, dave, gid = await community(pair)
    topic = await create_topic(alice, gid, "quiet")
    await settled(pair)
    assert await shut_up_time(pair, gid, topic, "dave") == 0
    assert await alice.q(MUTE, {"g": topic, "s": 60})
    assert 0 < await shut_up_time(pair, gid, topic, "dave") <= 60  # the stand-in's clock runs
    native_dave = await member(pair.at_cloud, pair.cloud, "dave")
    for m in (dave, native_dave):
        assert (await m.send(topic, "may I")).codes == [Code.ERR_GROUP_MEMBER_MUTED]
    assert (await dave.send(gid, "in the community")).codes == []  # muted in the topic alone
    assert await alice.q(MUTE, {"g": topic, "s": 0})
    assert await shut_up_time(pair, gid, topic, "dave") == 0
    for m in (dave, native_dave):
        assert (await m.send(topic, "thanks")).codes == []
    # the mirror's mutes of a topic go with it (deleted on Tencent first, then in the mirror)
    assert await alice.q(MUTE, {"g": topic, "s": 60})
    mirror = pair.gateway.gateway
    mutes = mirror.keys.group_topic_mutes(gid, topic)
    assert await mirror.redis.hkeys(mutes) == ["dave"]
    deleted = await alice.q(DELETE, {"g": gid, "ids": [topic]})
    assert deleted["deleteTopicFromCommunity"] == [{"topicID": topic, "errorCode": 0}]
    assert not await mirror.redis.exists(mutes)


async def test_the_app_admins_rest_send_into_a_topic_the_mirror_has_not_met_is_sent(pair: Pair) -> None:
    """The engine's REST v4 send run on the mirror (`MirrorWrites.server`, which the Tencent backend
    does not serve over HTTP), as the app admin and not as the upstream's own report: the send goes
    to Tencent first, as every gateway write does."""
    _, _, dave, gid = await community(pair)
    # on Tencent the admin identifier is an account of the app, which From_Account may name
    imported = await pair.admin("im_open_login_svc/account_import", {"UserID": "administrator"})
    assert imported["ErrorCode"] == 0, imported
    topic = await made_natively(pair, gid, "unseen")
    body = {"MsgType": "TIMTextElem", "MsgContent": {"Text": "from the app"}}
    send = {"GroupId": gid, "TopicId": topic, "Random": 7, "MsgBody": [body]}
    sent = await mirror_of(pair).server.call("group_open_http_svc/send_group_msg", send)
    assert sent["ErrorCode"] == 0, sent
    on_tencent = await tencent_history(pair, gid, topic)
    assert [m["MsgBody"][0]["MsgContent"]["Text"] for m in on_tencent.values()] == ["from the app"]
    assert [text for _, _, text in await texts(dave, topic)] == ["from the app"]
