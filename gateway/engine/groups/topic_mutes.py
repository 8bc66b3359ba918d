"""A community topic's own mutes: its isAllMuted (in its TopicInfo) and its members' mutes in it
(muteGroupMember naming the topic; V2TIMTopicInfo.selfMuteTime), which its sends are checked
against besides the community's; and a topic as one member reads it (`as_seen_by`).

The members' mutes are a hash per topic (`Keys.group_topic_mutes`: member → until, unix s) on the
community's slot, beside its topics hash: a send reads the topic and the sender's mute in one round
trip; the topic's deletion (`topic_erasure.delete_topic`, or a mirror's `GroupExtras._erase_topic`)
and the community's erasure (`GroupEraser.erase`) delete the hash in the same step as the topic;
a member leaving loses their entries in the same step as their records (`_REMOVE_MEMBER`, in
gateway.engine.groups.store: a quit or kick takes the community's turn, as a mute does, so none
lands between its read of the topics and that step, and `MUTE_IN_TOPIC` refuses a former member),
so a member joining again has none. An entry whose time has passed stays until one of those, or
an unmute, removes it: at most one per member and topic, read as no mute."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from gateway.engine.conversations.state import UserState
from gateway.engine.groups.store import CLOSED_FIELD, GroupStore, member_dec
from gateway.engine.scripts import PipelinedScript
from gateway.errors import Code, IMError
from gateway.ids import group_conversation_id, topic_parent
from gateway.im.conversations import Conversation
from gateway.im.groups import TopicInfo, TopicInfoResult
from gateway.im.topics import TopicView

_topic_dec = msgspec.json.Decoder(TopicInfo)

# A member's mute in a topic written (ARGV[3] > 0: until then, unix s) or lifted (0), only while
# the topic is in its community's topics hash, the community is open and the target is still one of
# its members: a deletion or dismissal that came first must not find the mutes hash made again
# behind it, nor a member's removal (which drops their entries in its own step, `_REMOVE_MEMBER`;
# it waits for the mute's turn but for a turn outlived, TURN_TTL_SECONDS) leave a former member's
# entry written after it. KEYS: the
# community's info, its topics, the topic's mutes, its members (one slot); ARGV: the topic, the
# member, the end. Answers MUTED_IN_TOPIC, or what is gone: NO_TOPIC, NO_COMMUNITY or NO_MEMBER.
MUTED_IN_TOPIC, NO_TOPIC, NO_COMMUNITY, NO_MEMBER = 1, 0, -1, -2
MUTE_IN_TOPIC = PipelinedScript(
    f"""
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 1 then
  return {NO_COMMUNITY}
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return {NO_TOPIC} end
if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 0 then return {NO_MEMBER} end
if ARGV[3] == '0' then redis.call('HDEL', KEYS[3], ARGV[2]) else redis.call('HSET', KEYS[3], ARGV[2], ARGV[3]) end
return {MUTED_IN_TOPIC}
"""
)


def seconds_left(in_community: int, in_topic: int, now: int) -> int:
    """How long (s) a member's own mutes still keep them from sending in a topic: the longer of
    their mute in the community (`MemberRecord.muteUntil`) and theirs in the topic (unix s, 0:
    none); either alone keeps them from sending there. 0: neither holds."""
    return max(0, in_community - now, in_topic - now)


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


class TopicConversations(Protocol):
    """What reads conversations as one user sees them (gateway.engine.conversations.views
    `ConversationViews`, which the engine's backend hands the groups: this package does not import
    it), for a topic's, which are in no conversation list."""

    def queue_state_of(self, pipe: Any, user_id: str, convs: list[str]) -> Callable[[list[Any]], UserState]:
        """Into a pipeline: the user's state of these conversations only (what `views` takes)."""
        ...

    async def views(self, user_id: str, convs: Sequence[str], state: UserState | None = None) -> list[Conversation]:
        """The conversations as the user sees them, from their state of them."""
        ...


async def as_seen_by(
    store: GroupStore,
    community: str,
    results: Sequence[TopicInfoResult],
    user_id: str,
    conversations: TopicConversations,
) -> list[TopicInfoResult]:
    """The topics found (getTopicInfoList's) as `user_id` reads them (`TopicView`): how long their
    own mutes still keep them from sending in each (the longer of theirs in the community and theirs
    in the topic; isAllMuted is the topic's own field), and their receive option, unread count and
    last message in each, read as their topic conversations (`group_<topicID>`) are. The mutes and
    the user's state of just these conversations (not of all theirs, whose number this would grow
    with) in one round trip, then the conversation views' fixed round trips for all the topics."""
    found = [r.topicInfo for r in results if r.topicInfo is not None]
    if not found:
        return list(results)
    keys = store.keys
    convs = [group_conversation_id(info.topicID) for info in found]
    pipe = store.redis.pipeline(transaction=False)
    pipe.hget(keys.group_members(community), user_id)
    for info in found:
        pipe.hget(keys.group_topic_mutes(community, info.topicID), user_id)
    state_of = conversations.queue_state_of(pipe, user_id, convs)
    replies = await pipe.execute()
    record, per_topic = replies[0], replies[1 : 1 + len(found)]
    in_community = member_dec.decode(record).muteUntil if record is not None else 0
    seen = {c.groupID: c for c in await conversations.views(user_id, convs, state_of(replies))}
    now = store.now()
    views: dict[str, TopicView] = {}
    for info, in_topic in zip(found, per_topic, strict=True):
        conversation = seen[info.topicID]
        views[info.topicID] = TopicView(
            **msgspec.structs.asdict(info),
            selfMuteTime=seconds_left(in_community, int(in_topic or 0), now),
            recvOpt=int(conversation.recvOpt),
            unreadCount=conversation.unreadCount,
            lastMessage=conversation.lastMessage,
        )
    return [
        TopicInfoResult(errorCode=r.errorCode, errorMessage=r.errorMessage, topicInfo=views[r.topicInfo.topicID])
        if r.topicInfo is not None
        else r
        for r in results
    ]
