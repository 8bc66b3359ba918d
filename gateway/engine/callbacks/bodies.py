"""The bodies of Tencent's callbacks, built from the engine's records (FIXTURES.md section C).

Keys, casing and value types are Tencent's, including its inconsistencies: group callbacks carry
`EventTime` as a string of milliseconds, the others as a number; only C2C callbacks carry
`MsgKey` (`<MsgSeq>_<MsgRandom>_<MsgTime>`, gateway.v4.identity), group ones `MsgSeq`/`Random`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.im.enums import AllowType, Gender, GroupMemberRole, GroupType
from gateway.im.groups import GroupInfo
from gateway.im.messages import StoredMessage
from gateway.im.model import ProfileChanges
from gateway.v4 import callbacks as wire
from gateway.v4.identity import MsgKey
from gateway.v4.msgbody import MediaUrl, msgbody_from_content

Body = dict[str, Any]

# The engine's parts take the callbacks as a collaborator, so this package imports none of them;
# these two are the SDK's @-everyone mark (gateway.engine.group_messages.AT_ALL) and the topic ID
# mark (gateway.engine.groups.extras.TOPIC_MARK).
AT_ALL = "__kImSDK_MesssageAtALL__"
TOPIC_MARK = "@TOPIC#_"

# Tencent's names of the group types (REST and callbacks): Work is "Private", Meeting "ChatRoom"
GROUP_TYPE_NAMES = {
    GroupType.V2TIM_GROUP_TYPE_WORK: "Private",
    GroupType.V2TIM_GROUP_TYPE_PUBLIC: "Public",
    GroupType.V2TIM_GROUP_TYPE_MEETING: "ChatRoom",
    GroupType.V2TIM_GROUP_TYPE_AVCHATROOM: "AVChatRoom",
    GroupType.V2TIM_GROUP_TYPE_COMMUNITY: "Community",
}
_ROLE_NAMES = {
    GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_OWNER: "Owner",
    GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN: "Admin",
    GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER: "Member",
}
_GENDERS = {
    Gender.V2TIM_GENDER_UNKNOWN: "Gender_Type_Unknown",
    Gender.V2TIM_GENDER_MALE: "Gender_Type_Male",
    Gender.V2TIM_GENDER_FEMALE: "Gender_Type_Female",
}
_ALLOW_TYPES = {
    AllowType.V2TIM_FRIEND_ALLOW_ANY: "AllowType_Type_AllowAny",
    AllowType.V2TIM_FRIEND_DENY_ANY: "AllowType_Type_DenyAny",
    AllowType.V2TIM_FRIEND_NEED_CONFIRM: "AllowType_Type_NeedConfirm",
}
_PROFILE_TAGS = (
    ("nickName", "Tag_Profile_IM_Nick"),
    ("faceUrl", "Tag_Profile_IM_Image"),
    ("selfSignature", "Tag_Profile_IM_SelfSignature"),
    ("role", "Tag_Profile_IM_Role"),
    ("level", "Tag_Profile_IM_Level"),
    ("birthday", "Tag_Profile_IM_BirthDay"),
)
CUSTOM_TAG_PREFIX = "Tag_Profile_Custom_"
SEND_SUCCEEDED = "send msg succeed"  # C2C.CallbackAfterSendMsg's ErrorInfo for a sent message


def group_type_name(group_type: GroupType) -> str:
    return GROUP_TYPE_NAMES.get(group_type, str(group_type))


def role_name(role: GroupMemberRole) -> str:
    """Tencent's name of a member role (REST and callbacks)."""
    return _ROLE_NAMES.get(role, "Member")


def _accounts(user_ids: Sequence[str]) -> list[dict[str, str]]:
    return [{"Member_Account": u} for u in user_ids]


def group_of(conversation_group: str) -> str:
    """The group of a timeline: a topic's community (topic IDs are `<groupID>@TOPIC#_<suffix>`)."""
    head, mark, _ = conversation_group.partition(TOPIC_MARK)
    return head if mark and head else conversation_group


def _group_ids(conversation_group: str) -> dict[str, str]:
    """GroupId, plus TopicId when the message lives in a community's topic."""
    parent = group_of(conversation_group)
    return {"GroupId": parent, "TopicId": conversation_group} if parent != conversation_group else {"GroupId": parent}


# ---- C2C ---------------------------------------------------------------------------------------
def c2c_message(command: str, m: StoredMessage, online_only: bool, media_url: MediaUrl) -> Body:
    """The fields C2C.CallbackBeforeSendMsg (C1) and C2C.CallbackAfterSendMsg (C2) share."""
    return {
        "CallbackCommand": command,
        "From_Account": m.sender,
        "To_Account": m.receiver,
        "MsgSeq": m.seq,
        "MsgRandom": m.random,
        "MsgTime": m.timestamp,
        "MsgKey": str(MsgKey(m.seq, m.random, m.timestamp)),
        "MsgId": m.msgID,
        "OnlineOnlyFlag": 1 if online_only else 0,
        "MsgBody": msgbody_from_content(m.content, media_url),
        "CloudCustomData": m.cloudCustomData,
    }


def c2c_before_send(m: StoredMessage, online_only: bool, media_url: MediaUrl, event_ms: int) -> Body:
    return {**c2c_message(wire.C2C_BEFORE_SEND, m, online_only, media_url), "EventTime": event_ms}


def c2c_after_send(m: StoredMessage, online_only: bool, media_url: MediaUrl) -> Body:
    body = c2c_message(wire.C2C_AFTER_SEND, m, online_only, media_url)
    # UnreadMsgNum is the receiver's total one-to-one unread, counted at delivery (CallbackWorker)
    return {**body, "SendMsgResult": 0, "ErrorInfo": SEND_SUCCEEDED, "UnreadMsgNum": 0}


def c2c_withdrawn(m: StoredMessage) -> Body:
    return {
        "CallbackCommand": wire.C2C_AFTER_WITHDRAW,
        "From_Account": m.sender,
        "To_Account": m.receiver,
        "MsgKey": str(MsgKey(m.seq, m.random, m.timestamp)),
        "UnreadMsgNum": 0,
    }


def c2c_read(reader: str, peer: str, read_time: int) -> Body:
    """C3; UnreadMsgNum is the reader's total one-to-one unread, counted at delivery (CallbackWorker)."""
    return {
        "CallbackCommand": wire.C2C_AFTER_READ,
        "Report_Account": reader,
        "Peer_Account": peer,
        "LastReadTime": read_time,
        "UnreadMsgNum": 0,
    }


def c2c_modified(m: StoredMessage, operator: str, media_url: MediaUrl, event_ms: int) -> Body:
    """C5: the message as it is after the change."""
    return {
        "CloudCustomData": m.cloudCustomData,
        "MsgBody": msgbody_from_content(m.content, media_url),
        "CallbackCommand": wire.C2C_AFTER_MODIFY,
        "Operator_Account": operator,
        "From_Account": m.sender,
        "To_Account": m.receiver,
        "MsgRandom": m.random,
        "MsgSeq": m.seq,
        "MsgTime": m.timestamp,
        "MsgKey": str(MsgKey(m.seq, m.random, m.timestamp)),
        "EventTime": event_ms,
    }


Extension = tuple[str, str, int]  # (Key, Value, Seq) of one changed message extension


def _extension_fields(operate: int, extensions: Sequence[Extension], event_ms: int) -> Body:
    """What C6 and C21 share: the items changed, and the message's extension Seq (the newest of
    theirs: imql versions each key, Tencent the whole message)."""
    return {
        "OperateType": operate,
        "ExtensionList": [{"Key": k, "Value": v, "Seq": seq} for k, v, seq in extensions],
        "Seq": max((seq for _, _, seq in extensions), default=0),
        "EventTime": event_ms,
    }


def c2c_extension(m: StoredMessage, operate: int, extensions: Sequence[Extension], event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.C2C_AFTER_EXTENSION,
        "From_Account": m.sender,
        "To_Account": m.receiver,
        "MsgKey": str(MsgKey(m.seq, m.random, m.timestamp)),
        **_extension_fields(operate, extensions, event_ms),
    }


# ---- group messages ------------------------------------------------------------------------------
def group_before_send(
    m: StoredMessage, group: GroupInfo, operator: str, online_only: bool, media_url: MediaUrl, event_ms: int
) -> Body:
    return {
        "CallbackCommand": wire.GROUP_BEFORE_SEND,
        **_group_ids(m.groupID),
        "Type": group_type_name(group.groupType),
        "From_Account": m.sender,
        "Operator_Account": operator,
        "Random": m.random,
        "OnlineOnlyFlag": 1 if online_only else 0,
        "MsgBody": msgbody_from_content(m.content, media_url),
        "CloudCustomData": m.cloudCustomData,
        "EventTime": str(event_ms),
    }


def group_after_send(
    m: StoredMessage, group: GroupInfo, operator: str, online_only: bool, media_url: MediaUrl, event_ms: int
) -> Body:
    body: Body = {
        "CallbackCommand": wire.GROUP_AFTER_SEND,
        **_group_ids(m.groupID),
        "Type": group_type_name(group.groupType),
        "From_Account": m.sender,
        "Operator_Account": operator,
        "Random": m.random,
        "MsgId": m.msgID,
        "MsgSeq": m.seq,
        "MsgTime": m.timestamp,
        "OnlineOnlyFlag": 1 if online_only else 0,
        "MsgBody": msgbody_from_content(m.content, media_url),
        "CloudCustomData": m.cloudCustomData,
        "EventTime": str(event_ms),
    }
    if m.groupAtUserList:
        body["GroupAtInfo"] = [
            {"GroupAtAllFlag": 1} if u == AT_ALL else {"GroupAtAllFlag": 0, "GroupAt_Account": u}
            for u in m.groupAtUserList
        ]
    return body


def group_recalled(m: StoredMessage, group_type: GroupType, operator: str, event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.GROUP_AFTER_RECALL,
        "Operator_Account": operator,
        "Type": group_type_name(group_type),
        **_group_ids(m.groupID),
        "MsgSeqList": [{"MsgSeq": m.seq}],
        "EventTime": str(event_ms),
    }


def group_modified(m: StoredMessage, operator: str, media_url: MediaUrl, event_ms: int) -> Body:
    """C20: TopicId is always there ("" outside topics) and EventTime is a number, as in the sample."""
    ids = _group_ids(m.groupID)
    return {
        "MsgBody": msgbody_from_content(m.content, media_url),
        "CallbackCommand": wire.GROUP_AFTER_MODIFY,
        "Operator_Account": operator,
        "GroupId": ids["GroupId"],
        "TopicId": ids.get("TopicId", ""),
        "MsgSeq": m.seq,
        "EventTime": event_ms,
    }


def group_extension(m: StoredMessage, operate: int, extensions: Sequence[Extension], event_ms: int) -> Body:
    """C21 (TopicId added for a topic's message, as in the other group message callbacks)."""
    return {
        "CallbackCommand": wire.GROUP_AFTER_EXTENSION,
        **_group_ids(m.groupID),
        "MsgSeq": m.seq,
        **_extension_fields(operate, extensions, event_ms),
    }


ReadReceipt = tuple[int, int, int]  # (MsgSeq, ReadNum, UnreadNum) of one message


def group_read_receipts(
    conversation_group: str, group_type: GroupType, reader: str, receipts: Sequence[ReadReceipt], event_ms: int
) -> Body:
    """C18: one reader's new receipts, each message with its counts after the read."""
    return {
        "CallbackCommand": wire.GROUP_AFTER_READ_RECEIPT,
        **_group_ids(conversation_group),
        "Type": group_type_name(group_type),
        "GroupMsgReceiptList": [
            {"MsgSeq": seq, "ReadNum": read, "UnreadNum": unread, "ReadReceiptMembers": _accounts([reader])}
            for seq, read, unread in receipts
        ],
        "EventTime": str(event_ms),
    }


# ---- groups --------------------------------------------------------------------------------------
def before_apply_join(group: GroupInfo, requestor: str, event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.BEFORE_APPLY_JOIN,
        "GroupId": group.groupID,
        "Type": group_type_name(group.groupType),
        "Requestor_Account": requestor,
        "EventTime": str(event_ms),
    }


def before_create_group(
    operator: str, owner: str, group_type: GroupType, name: str, created: int, members: Sequence[str], event_ms: int
) -> Body:
    return {
        "CallbackCommand": wire.BEFORE_CREATE_GROUP,
        "Operator_Account": operator,
        "Owner_Account": owner,
        "Type": group_type_name(group_type),
        "Name": name,
        "CreateGroupNum": created,
        "MemberList": _accounts(members),
        "EventTime": str(event_ms),
    }


def group_created(group: GroupInfo, operator: str, members: Sequence[str], event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.GROUP_AFTER_CREATE,
        "GroupId": group.groupID,
        "Operator_Account": operator,
        "Owner_Account": group.owner,
        "Type": group_type_name(group.groupType),
        "Name": group.groupName,
        "MemberList": _accounts(members),
        "UserDefinedDataList": [],  # imql groups have no custom fields at creation
        "EventTime": str(event_ms),
    }


def members_joined(group: GroupInfo, operator: str, members: Sequence[str], join_type: str, event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.GROUP_AFTER_JOIN,
        "GroupId": group.groupID,
        "Type": group_type_name(group.groupType),
        "JoinType": join_type,
        "Operator_Account": operator,
        "NewMemberList": _accounts(members),
        "EventTime": str(event_ms),
    }


def members_left(group: GroupInfo, operator: str, members: Sequence[str], exit_type: str, event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.GROUP_AFTER_EXIT,
        "GroupId": group.groupID,
        "Type": group_type_name(group.groupType),
        "ExitType": exit_type,
        "Operator_Account": operator,
        "ExitMemberList": _accounts(members),
        "EventTime": str(event_ms),
    }


def group_destroyed(group: GroupInfo, members: Sequence[str], event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.GROUP_AFTER_DESTROY,
        "GroupId": group.groupID,
        "Type": group_type_name(group.groupType),
        "Owner_Account": group.owner,
        "Name": group.groupName,
        "MemberList": _accounts(members),
        "EventTime": str(event_ms),
    }


def group_info_changed(group: GroupInfo, operator: str, changed: dict[str, str], event_ms: int) -> Body:
    """`changed`: the new values of the profile fields that changed, by Tencent's names."""
    return {
        "CallbackCommand": wire.GROUP_AFTER_INFO,
        "GroupId": group.groupID,
        "Type": group_type_name(group.groupType),
        "Operator_Account": operator,
        **changed,
        "EventTime": str(event_ms),
    }


def member_field_changed(
    group: GroupInfo, operator: str, member: str, role: str, name_card: str, event_ms: int
) -> Body:
    """C15: the member's role and name card after the change."""
    return {
        "CallbackCommand": wire.GROUP_AFTER_MEMBER_FIELD,
        "GroupId": group.groupID,
        "Type": group_type_name(group.groupType),
        "Operator_Account": operator,
        "Member_Account": member,
        "Role": role,
        "NameCard": name_card,
        "EventTime": str(event_ms),
    }


def owner_changed(group: GroupInfo, operator: str, old_owner: str, new_owner: str, event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.GROUP_AFTER_OWNER,
        "GroupId": group.groupID,
        "Type": group_type_name(group.groupType),
        "Operator_Account": operator,
        "OldOwner_Account": old_owner,
        "NewOwner_Account": new_owner,
        "EventTime": str(event_ms),
    }


def attributes_changed(group: GroupInfo, operator: str, option: str, attributes: dict[str, str], event_ms: int) -> Body:
    """C17; `option` is "set" (all replaced), "modify", "delete" (values "") or "clear" (none)."""
    return {
        "CallbackCommand": wire.GROUP_AFTER_ATTR,
        "GroupId": group.groupID,
        "Type": group_type_name(group.groupType),
        "Operator_Account": operator,
        "OptionType": option,
        "GroupAttr": [{"key": k, "value": v} for k, v in attributes.items()],
        "EventTime": str(event_ms),
    }


# ---- relationships, profiles, state ----------------------------------------------------------------
def prev_friend_add(requester: str, items: Sequence[dict[str, str]], both: bool, forced: bool, event_ms: int) -> Body:
    """`items`: one `{To_Account, Remark, GroupName, AddSource, AddWording}` per target."""
    return {
        "CallbackCommand": wire.PREV_FRIEND_ADD,
        "Requester_Account": requester,
        "From_Account": requester,
        "FriendItem": list(items),
        "AddType": "Add_Type_Both" if both else "Add_Type_Single",
        "ForceAddFlags": 1 if forced else 0,
        "EventTime": event_ms,
    }


def prev_friend_response(responder: str, items: Sequence[dict[str, str]], event_ms: int) -> Body:
    """`items`: one `{To_Account, Remark, TagName, ResponseAction}` per request answered."""
    return {
        "CallbackCommand": wire.PREV_FRIEND_RESPONSE,
        "Requester_Account": responder,
        "From_Account": responder,
        "ResponseFriendItem": list(items),
        "EventTime": event_ms,
    }


def friends_added(pairs: Sequence[tuple[str, str]], initiator: str, client_cmd: str, admin: str, forced: bool) -> Body:
    return {
        "CallbackCommand": wire.FRIEND_ADD,
        "PairList": [{"From_Account": a, "To_Account": b, "Initiator_Account": initiator} for a, b in pairs],
        "ClientCmd": client_cmd,
        "Admin_Account": admin,
        "ForceFlag": 1 if forced else 0,
    }


def pairs_changed(command: str, pairs: Sequence[tuple[str, str]]) -> Body:
    """Sns.CallbackFriendDelete, Sns.CallbackBlackListAdd and Sns.CallbackBlackListDelete (C23)."""
    return {"CallbackCommand": command, "PairList": [{"From_Account": a, "To_Account": b} for a, b in pairs]}


def profile_items(changes: ProfileChanges) -> list[dict[str, Any]]:
    """The fields a profile change set, as Tencent's `ProfileItem` tags and values."""
    items: list[dict[str, Any]] = []
    for field, tag in _PROFILE_TAGS:
        value = getattr(changes, field)
        if value is not None:
            items.append({"Tag": tag, "Value": value})
    if changes.gender is not None:
        items.append({"Tag": "Tag_Profile_IM_Gender", "Value": _GENDERS[changes.gender]})
    if changes.allowType is not None:
        items.append({"Tag": "Tag_Profile_IM_AllowType", "Value": _ALLOW_TYPES[changes.allowType]})
    for key, value in (changes.customInfo or {}).items():
        items.append({"Tag": CUSTOM_TAG_PREFIX + key, "Value": value})
    return items


def portrait_set(operator: str, user_id: str, changes: ProfileChanges, event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.PORTRAIT_SET,
        "Operator_Account": operator,
        "From_Account": user_id,
        "EventTime": event_ms,
        "ProfileItem": profile_items(changes),
    }


def state_changed(user_id: str, action: str, reason: str, event_ms: int) -> Body:
    return {
        "CallbackCommand": wire.STATE_CHANGE,
        "EventTime": event_ms,
        "Info": {"Action": action, "To_Account": user_id, "Reason": reason},
        "KickedDevice": [],
    }


def friend_item(target: str, remark: str, group: str, source: str, wording: str) -> dict[str, str]:
    """One target of Sns.CallbackPrevFriendAdd's FriendItem."""
    return {"To_Account": target, "Remark": remark, "GroupName": group, "AddSource": source, "AddWording": wording}


def friend_pairs(a: str, b: str, both: bool) -> list[tuple[str, str]]:
    """(a, b), and (b, a) for a both-way relation."""
    return [(a, b), (b, a)] if both else [(a, b)]
