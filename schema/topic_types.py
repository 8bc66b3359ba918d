"""Object types of community topics: V2TIMTopicInfo, with a reader's own state in the topic.

Apart from schema.group_types because a topic as one member reads it carries its last message
(schema.message_types, which imports schema.group_types)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLResolveInfo

from gateway.im import groups as im
from gateway.im.topics import TopicView
from schema.identity import Node, global_id
from schema.message_types import Message
from schema.types import gql


def _topic_id(root: strawberry.Parent[im.TopicInfo]) -> strawberry.ID:
    return global_id("TopicInfo", root.topicID)  # `<groupID>@TOPIC#_<suffix>`: unique in the app


# A reader's own state in the topic is known where one reader reads it (`TopicView`: getTopicInfoList,
# node); a topic's events go to every member alike, so they carry none: null there, which a client
# merging events into its cache keeps apart from a real 0 ("not muted", "receive")


def _self_mute_time(root: strawberry.Parent[im.TopicInfo]) -> int | None:
    return root.selfMuteTime if isinstance(root, TopicView) else None


def _recv_opt(root: strawberry.Parent[im.TopicInfo]) -> int | None:
    return root.recvOpt if isinstance(root, TopicView) else None


def _unread_count(root: strawberry.Parent[im.TopicInfo]) -> int | None:
    return root.unreadCount if isinstance(root, TopicView) else None


def _last_message(root: strawberry.Parent[im.TopicInfo]) -> Message | None:
    return gql(root.lastMessage, Message) if isinstance(root, TopicView) and root.lastMessage else None


@strawberry.type(description="V2TIMTopicInfo")
class TopicInfo(Node):
    id: strawberry.ID = strawberry.field(resolver=_topic_id, description="Global id (Node): the topic")
    topicID: str
    topicName: str
    topicFaceUrl: str
    notification: str
    introduction: str
    isAllMuted: bool
    customString: str
    draftText: str
    selfMuteTime: int | None = strawberry.field(
        resolver=_self_mute_time,
        description="Your own mute in the topic: the seconds left until it ends (not an end time), the longer of "
        "your mute in the community and your mute in this topic (muteGroupMember naming it); 0 when neither holds. "
        "isAllMuted is separate. As read by getTopicInfoList (and node); null in events (onTopicInfoChanged), which "
        "goes to every member alike: no reader's own state is known there.",
    )
    recvOpt: int | None = strawberry.field(
        resolver=_recv_opt,
        description="Your receive option for the topic (V2TIM_MessageOpt's value; setGroupReceiveMessageOpt with "
        "the topic's ID). As read by getTopicInfoList (and node); null in events (onTopicInfoChanged), which "
        "goes to every member alike: no reader's own state is known there.",
    )
    unreadCount: int | None = strawberry.field(
        resolver=_unread_count,
        description="Your unread messages in the topic, counted as your conversation's would be (the topic's "
        "conversation, group_<topicID>, is in no conversation list). As read by getTopicInfoList (and node); null "
        "in events.",
    )
    lastMessage: Message | None = strawberry.field(
        resolver=_last_message,
        description="The topic's last message you may see, as you see it (null when there is none). As read by "
        "getTopicInfoList (and node); null in events.",
    )

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.TopicInfo))


@strawberry.type(description="One topic's info, or why there is none.")
class TopicInfoResult:
    errorCode: int
    errorMessage: str
    topicInfo: TopicInfo | None
