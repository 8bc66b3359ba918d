"""A community topic as one member reads it (getTopicInfoList): V2TIMTopicInfo's per-reader fields.

Apart from gateway.im.groups, whose TopicInfo it extends, because it carries a message (the topic's
last one, as the reader sees it), and gateway.im.messages imports gateway.im.groups."""

from __future__ import annotations

from gateway.im.groups import TopicInfo
from gateway.im.messages import Message


class TopicView(TopicInfo, kw_only=True):
    """A topic as one member reads it (getTopicInfoList): its TopicInfo and the reader's own state in
    it, which no shared record of the topic (its stored info, its events) carries. A topic's
    conversation (`group_<topicID>`) is in no conversation list: this is where the SDK reads its
    unread count and last message (V2TIMTopicInfo.unreadCount, lastMessage)."""

    selfMuteTime: int = 0  # seconds left until the reader's own mutes let them send there (0: none)
    recvOpt: int = 0  # the reader's receive option for the topic (V2TIM_MessageOpt's value)
    unreadCount: int = 0  # the reader's unread messages in the topic (as their conversation's)
    lastMessage: Message | None = None  # the topic's last message the reader may see, as they see it
