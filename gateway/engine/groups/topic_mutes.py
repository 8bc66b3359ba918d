"""A community topic's own mutes: its isAllMuted (in its TopicInfo) and its members' mutes in it
(muteGroupMember naming the topic; V2TIMTopicInfo.selfMuteTime), which its sends are checked
against besides the community's; and a topic as one member reads it (`as_seen_by`).

The members' mutes are a hash per topic (`Keys.group_topic_mutes`: member → until, unix s) on the
community's slot, beside its topics hash: a send reads the topic and the sender's mute in one round
trip; the topic's deletion (`GroupEraser.delete_topic`, or a mirror's `GroupExtras._erase_topic`)
and the community's erasure (`GroupEraser.erase`) delete the hash in the same step as the topic;
a member leaving loses their entries just before their records go (`GroupStore._remove_records`:
a cut leaves a member unmuted there, never a former member muted on joining again). An entry whose
time has passed stays until one of those, or an unmute, removes it: at most one per member and
topic, read as no mute."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from gateway.engine.groups.store import CLOSED_FIELD, GroupStore, member_dec
from gateway.engine.scripts import PipelinedScript
from gateway.errors import Code, IMError
from gateway.ids import topic_parent
from gateway.im.groups import TopicInfo, TopicInfoResult, TopicView
from gateway.keys import Keys

_topic_dec = msgspec.json.Decoder(TopicInfo)

# A member's mute in a topic written (ARGV[3] > 0: until then, unix s) or lifted (0), only while
# the topic is in its community's topics hash and the community is open: a deletion or dismissal
# that came first must not find the mutes hash made again behind it. KEYS: the community's info,
# its topics, the topic's mutes (one slot); ARGV: the topic, the member, the end. Answers 1 done,
# 0 no such topic, -1 the community is gone or closed.
MUTE_IN_TOPIC = PipelinedScript(
    f"""
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 1 then return -1 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
if ARGV[3] == '0' then redis.call('HDEL', KEYS[3], ARGV[2]) else redis.call('HSET', KEYS[3], ARGV[2], ARGV[3]) end
return 1
"""
)


class TopicMutes(msgspec.Struct, frozen=True, kw_only=True):
    """What a send into a topic is checked against besides the community's own mutes."""

    all_muted: bool  # the topic's isAllMuted: ordinary members may not send
    until: int  # the sender's own mute in the topic ends then (unix s; 0: none)


async def topic_mutes(store: GroupStore, topic_id: str, user_id: str) -> TopicMutes:
    """The topic's mutes for `user_id`'s send, read with its existence (10010 without it) in one
    round trip: its TopicInfo (for isAllMuted) and the user's entry of its members' mutes."""
    community = topic_parent(topic_id) or ""
    pipe = store.redis.pipeline(transaction=False)
    pipe.hget(store.keys.group_topics(community), topic_id)
    pipe.hget(store.keys.group_topic_mutes(community, topic_id), user_id)
    raw, until = await pipe.execute()
    if raw is None:
        raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no topic {topic_id!r}")
    return TopicMutes(all_muted=_topic_dec.decode(raw).isAllMuted, until=int(until or 0))


async def muted_until(store: GroupStore, community: str, topic_ids: Sequence[str], user_id: str) -> list[int]:
    """Until when (unix s, 0: not) `user_id` is muted in each of the community's topics."""
    if not topic_ids:
        return []
    pipe = store.redis.pipeline(transaction=False)
    for topic_id in topic_ids:
        pipe.hget(store.keys.group_topic_mutes(community, topic_id), user_id)
    return [int(v or 0) for v in await pipe.execute()]


async def as_seen_by(
    store: GroupStore, community: str, results: Sequence[TopicInfoResult], user_id: str
) -> list[TopicInfoResult]:
    """The topics found (getTopicInfoList's) as `user_id` reads them (`TopicView`), in one round trip:
    how long their own mutes still keep them from sending in each (the longer of theirs in the
    community and theirs in the topic; isAllMuted is the topic's own field) and their receive option
    for it."""
    found = [r.topicInfo for r in results if r.topicInfo is not None]
    if not found:
        return list(results)
    keys = store.keys
    pipe = store.redis.pipeline(transaction=False)
    pipe.hget(keys.group_members(community), user_id)
    for info in found:
        pipe.hget(keys.group_topic_mutes(community, info.topicID), user_id)
        pipe.hget(keys.receive_options(user_id), Keys.group_receive_option_field(info.topicID))
    record, *per_topic = await pipe.execute()
    in_community = member_dec.decode(record).muteUntil if record is not None else 0
    now = store.now()
    views: dict[str, TopicView] = {}
    for i, info in enumerate(found):
        until, option = max(in_community, int(per_topic[2 * i] or 0)), per_topic[2 * i + 1]
        views[info.topicID] = TopicView(
            **msgspec.structs.asdict(info),
            selfMuteTime=max(0, until - now),
            recvOpt=int(Keys.receive_option(option)),
        )
    return [
        TopicInfoResult(errorCode=r.errorCode, errorMessage=r.errorMessage, topicInfo=views[r.topicInfo.topicID])
        if r.topicInfo is not None
        else r
        for r in results
    ]
