"""Groups as Tencent's REST API and callbacks spell them: type, role, join-option, message-flag and
on/off names (MAPPING.md section 3), shared by the REST v4 server (gateway.engine.rest) and the
Tencent backend's client side (gateway.tencent), which must not import each other."""

from __future__ import annotations

from gateway.im.enums import GroupAdd, GroupMemberRole, GroupType, MessageOpt

# REST names → the engine's. "Work"/"Meeting" are Tencent's newer spellings.
GROUP_TYPES = {
    "Private": GroupType.V2TIM_GROUP_TYPE_WORK,
    "Work": GroupType.V2TIM_GROUP_TYPE_WORK,
    "Public": GroupType.V2TIM_GROUP_TYPE_PUBLIC,
    "ChatRoom": GroupType.V2TIM_GROUP_TYPE_MEETING,
    "Meeting": GroupType.V2TIM_GROUP_TYPE_MEETING,
    "AVChatRoom": GroupType.V2TIM_GROUP_TYPE_AVCHATROOM,
    "Community": GroupType.V2TIM_GROUP_TYPE_COMMUNITY,
}
TYPE_NAMES = {
    GroupType.V2TIM_GROUP_TYPE_WORK: "Private",
    GroupType.V2TIM_GROUP_TYPE_PUBLIC: "Public",
    GroupType.V2TIM_GROUP_TYPE_MEETING: "ChatRoom",
    GroupType.V2TIM_GROUP_TYPE_AVCHATROOM: "AVChatRoom",
    GroupType.V2TIM_GROUP_TYPE_COMMUNITY: "Community",
}
ROLE_NAMES = {
    GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_OWNER: "Owner",
    GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN: "Admin",
    GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER: "Member",
}
ROLES = {name: role for role, name in ROLE_NAMES.items()}
SETTABLE_ROLES = {"Admin": ROLES["Admin"], "Member": ROLES["Member"]}  # the owner changes by change_group_owner
JOIN_OPTIONS = {
    "FreeAccess": GroupAdd.V2TIM_GROUP_ADD_ANY,
    "NeedPermission": GroupAdd.V2TIM_GROUP_ADD_AUTH,
    "DisableApply": GroupAdd.V2TIM_GROUP_ADD_FORBID,
}
JOIN_OPTION_NAMES = {opt: name for name, opt in JOIN_OPTIONS.items()}
MSG_FLAGS = {
    "AcceptAndNotify": MessageOpt.V2TIM_RECEIVE_MESSAGE,
    "AcceptNotNotify": MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE,
    "Discard": MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE,
}
MSG_FLAG_NAMES = {opt: name for name, opt in MSG_FLAGS.items()}
ON_OFF = {"On": True, "Off": False}
