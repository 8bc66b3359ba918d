"""Groups as Tencent's REST API spells them: type, role, join-option and message-flag names, and the
group / member / topic objects of its answers (built from the engine's records, then trimmed by the
request's filters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.engine.codec import STORED_DEC
from gateway.engine.groups.store import GroupStore, member_dec
from gateway.engine.groups.topic_mutes import seconds_left
from gateway.errors import Code, IMError
from gateway.ids import group_conversation_id
from gateway.im.enums import GroupMemberRole
from gateway.im.groups import GroupInfo, TopicInfo
from gateway.keys import Keys
from gateway.v4.groups import (  # the names, shared with the Tencent backend's client side
    GROUP_TYPES,
    JOIN_OPTION_NAMES,
    JOIN_OPTIONS,
    MSG_FLAG_NAMES,
    MSG_FLAGS,
    ON_OFF,
    ROLE_NAMES,
    ROLES,
    SETTABLE_ROLES,
    TYPE_NAMES,
)

__all__ = [
    "BASE_FIELDS",
    "GROUP_TYPES",
    "JOIN_OPTIONS",
    "JOIN_OPTION_NAMES",
    "MEMBER_FIELDS",
    "MSG_FLAGS",
    "MSG_FLAG_NAMES",
    "ON_OFF",
    "ROLES",
    "ROLE_NAMES",
    "SETTABLE_ROLES",
    "TYPE_NAMES",
    "GroupViews",
    "key_values",
    "rest_error",
]


BASE_FIELDS = (
    "Type",
    "Name",
    "Appid",
    "Introduction",
    "Notification",
    "FaceUrl",
    "Owner_Account",
    "CreateTime",
    "LastInfoTime",
    "LastMsgTime",
    "NextMsgSeq",
    "MemberNum",
    "MaxMemberNum",
    "ApplyJoinOption",
    "MuteAllMember",
)
MEMBER_FIELDS = ("Role", "JoinTime", "MsgSeq", "MsgFlag", "LastSendMsgTime", "MuteUntil", "NameCard")

# the engine's SDK-local refusals, as the REST API answers them
_SDK_TO_REST: dict[int, int] = {
    Code.ERR_GROUP_MEMBER_COUNT_LIMIT: Code.ERR_GROUP_FULL,
    Code.ERR_GROUP_ID_TOO_LONG: Code.ERR_GROUP_ID_INVALID,
    Code.ERR_GROUP_NAME_TOO_LONG: Code.ERR_GROUP_INVALID_PARAMETERS,
    Code.ERR_GROUP_INTRODUCTION_TOO_LONG: Code.ERR_GROUP_INVALID_PARAMETERS,
    Code.ERR_GROUP_NOTIFICATION_TOO_LONG: Code.ERR_GROUP_INVALID_PARAMETERS,
    Code.ERR_GROUP_FACE_URL_TOO_LONG: Code.ERR_GROUP_INVALID_PARAMETERS,
    Code.ERR_GROUP_NAME_CARD_TOO_LONG: Code.ERR_GROUP_INVALID_PARAMETERS,
}


def rest_error(exc: IMError) -> IMError:
    """An engine refusal with the code Tencent's REST API gives for it."""
    code = _SDK_TO_REST.get(exc.code)
    return IMError(code, exc.desc) if code is not None else exc


def key_values(data: dict[str, str], wanted: Sequence[str] | None = None) -> list[dict[str, str]]:
    """`[{Key, Value}]` (AppDefinedData / AppMemberDefinedData), limited to `wanted` keys if given."""
    keys = sorted(data) if wanted is None else [k for k in wanted if k in data]
    return [{"Key": k, "Value": data[k]} for k in keys]


class GroupViews:
    """Reads what a REST answer shows of groups and members, in Tencent's shape."""

    def __init__(self, store: GroupStore, now: int) -> None:
        self.store = store
        self.keys: Keys = store.keys
        self.now = now

    async def last_message(self, conversation_group: str) -> tuple[int, int]:
        """(the timeline's last seq, its time) for a group or topic."""
        timeline = self.keys.group_timeline(conversation_group)
        seq = int(await self.store.redis.get(self.keys.timeline_seq(timeline)) or 0)
        if not seq:
            return 0, 0
        raw = await self.store.redis.hget(self.keys.timeline_messages(timeline), str(seq))
        return seq, (STORED_DEC.decode(raw).timestamp if raw else 0)

    async def group(self, group: GroupInfo, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """The base info of `group`, in B23's order; only `fields` if given."""
        seq, last_time = await self.last_message(group.groupID)
        cap = await self.store.member_cap(group)
        full: dict[str, Any] = {
            "Type": TYPE_NAMES[group.groupType],
            "Name": group.groupName,
            "Appid": int(self.keys.app),
            "Introduction": group.introduction,
            "Notification": group.notification,
            "FaceUrl": group.faceUrl,
            "Owner_Account": group.owner,
            "CreateTime": group.createTime,
            "LastInfoTime": group.lastInfoTime,
            "LastMsgTime": last_time,
            "NextMsgSeq": seq + 1,
            "MemberNum": group.memberCount,
            "MaxMemberNum": cap or 0,  # 0: no cap (AVChatRoom)
            "ApplyJoinOption": JOIN_OPTION_NAMES[group.addOpt],
            "MuteAllMember": "On" if group.isAllMuted else "Off",
        }
        view = {"GroupId": group.groupID}
        view.update({k: v for k, v in full.items() if fields is None or k in fields})
        return view

    async def members(
        self,
        group_id: str,
        user_ids: Sequence[str],
        fields: Sequence[str] | None = None,
        custom_keys: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Member objects (B25) of those of `user_ids` in the group, in that order. Custom data
        (AppMemberDefinedData) is shown when asked for by `fields` or `custom_keys`, or with no filter."""
        if not user_ids:
            return []
        redis, conversation = self.store.redis, group_conversation_id(group_id)
        option_field = Keys.group_receive_option_field(group_id)
        pipe = redis.pipeline(transaction=False)
        pipe.hmget(self.keys.group_members(group_id), list(user_ids))
        pipe.hmget(self.keys.group_last_sent(group_id), list(user_ids))
        for uid in user_ids:
            pipe.hget(self.keys.group_read_seqs(uid), conversation)
            pipe.hget(self.keys.receive_options(uid), option_field)
        records, last_sent, *per_user = await pipe.execute()
        rows = []
        for i, (uid, raw) in enumerate(zip(user_ids, records, strict=True)):
            if raw is None:
                continue
            record = member_dec.decode(raw)
            read_seq, option = per_user[2 * i], per_user[2 * i + 1]
            full: dict[str, Any] = {
                "Role": ROLE_NAMES[GroupMemberRole(record.role)],
                "JoinTime": record.joinTime,
                "MsgSeq": int(read_seq or 0),
                "MsgFlag": MSG_FLAG_NAMES[Keys.receive_option(option)],
                "LastSendMsgTime": int(last_sent[i] or 0),
                "MuteUntil": record.muteUntil if record.muteUntil > self.now else 0,
                "NameCard": record.nameCard,
            }
            row: dict[str, Any] = {"Member_Account": uid}
            row.update({k: v for k, v in full.items() if fields is None or k in fields})
            wants_custom = fields is None or "AppMemberDefinedData" in fields or custom_keys
            if wants_custom:
                row["AppMemberDefinedData"] = key_values(record.customInfo, custom_keys or None)
            rows.append(row)
        return rows

    async def topic(self, group_id: str, info: TopicInfo) -> dict[str, Any]:
        """TopicInfo of get_topic (note `GroupID`). CreateTime is not listed: topics record none."""
        seq, last_time = await self.last_message(info.topicID)
        return {
            "TopicId": info.topicID,
            "TopicName": info.topicName,
            "GroupID": group_id,
            "FaceUrl": info.topicFaceUrl,
            "Notification": info.notification,
            "Introduction": info.introduction,
            "LastMsgTime": last_time,
            "NextMsgSeq": seq + 1,
            "MuteAllMember": "On" if info.isAllMuted else "Off",
            "CustomString": info.customString,
        }

    async def topics_self(self, group_id: str, topic_ids: Sequence[str], user_id: str) -> list[dict[str, Any]]:
        """SelfInfo of get_topic for each topic: the member's mute (seconds left), read seq and flag
        in it, all read in one round trip. The mute is the longer of theirs in the community and
        theirs in the topic (muteGroupMember / forbid_send_msg naming it): either keeps them from
        sending there."""
        keys = self.keys
        pipe = self.store.redis.pipeline(transaction=False)
        pipe.hget(keys.group_members(group_id), user_id)
        for topic_id in topic_ids:
            pipe.hget(keys.group_topic_mutes(group_id, topic_id), user_id)
            pipe.hget(keys.group_read_seqs(user_id), group_conversation_id(topic_id))
            pipe.hget(keys.receive_options(user_id), Keys.group_receive_option_field(topic_id))
        record, *per_topic = await pipe.execute()
        in_community = member_dec.decode(record).muteUntil if record is not None else 0
        return [
            {
                "ShutUpTime": seconds_left(in_community, int(in_topic or 0), self.now),
                "MsgSeq": int(read or 0),
                "MsgFlag": MSG_FLAG_NAMES[Keys.receive_option(option)],
            }
            for in_topic, read, option in zip(per_topic[0::3], per_topic[1::3], per_topic[2::3], strict=True)
        ]
