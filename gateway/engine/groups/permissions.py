"""Who may do what in a group, by role and group type (the SDK's rules), in one table.

A refusal is 10007 (ERR_NO_PERMISSION). Operations on other members also compare ranks: an admin
may act on ordinary members only; the owner on everyone.
"""

from __future__ import annotations

from enum import Enum

from gateway.errors import Code, IMError
from gateway.im.enums import GroupMemberRole, GroupType


class Op(Enum):
    SET_INFO = "setGroupInfo"
    MUTE_ALL = "isAllMuted"
    MUTE = "muteGroupMember"
    KICK = "kickGroupMember"
    INVITE = "inviteUserToGroup"
    SET_ROLE = "setGroupMemberRole"
    TRANSFER = "transferGroupOwner"
    DISMISS = "dismissGroup"
    HANDLE_APPLICATION = "acceptGroupApplication"
    SET_OTHERS_INFO = "setGroupMemberInfo"
    MARK = "markGroupMemberList"
    ATTRIBUTES = "setGroupAttributes"
    COUNTERS = "setGroupCounters"
    TOPICS = "createTopicInCommunity"


OWNER = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_OWNER
ADMIN = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN
MEMBER = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER
ANYONE = frozenset({OWNER, ADMIN, MEMBER})
MANAGERS = frozenset({OWNER, ADMIN})
OWNER_ONLY = frozenset({OWNER})
NOBODY: frozenset[GroupMemberRole] = frozenset()
ALL_TYPES = tuple(GroupType)


def _rule(
    default: frozenset[GroupMemberRole], **by_type: frozenset[GroupMemberRole]
) -> dict[GroupType, frozenset[GroupMemberRole]]:
    table = dict.fromkeys(ALL_TYPES, default)
    for name, roles in by_type.items():
        table[GroupType(name)] = roles
    return table


# Work groups are small teams: every member may edit the profile and invite; only the owner kicks.
# Community and AVChatRoom take no invitations. Counters are not for communities.
RULES: dict[Op, dict[GroupType, frozenset[GroupMemberRole]]] = {
    Op.SET_INFO: _rule(MANAGERS, Work=ANYONE),
    Op.MUTE_ALL: _rule(MANAGERS),
    Op.MUTE: _rule(MANAGERS),
    Op.KICK: _rule(MANAGERS, Work=OWNER_ONLY),
    Op.INVITE: _rule(MANAGERS, Work=ANYONE, Community=NOBODY, AVChatRoom=NOBODY),
    Op.SET_ROLE: _rule(OWNER_ONLY),
    Op.TRANSFER: _rule(OWNER_ONLY),
    Op.DISMISS: _rule(OWNER_ONLY),
    Op.HANDLE_APPLICATION: _rule(MANAGERS),
    Op.SET_OTHERS_INFO: _rule(MANAGERS),
    Op.MARK: _rule(MANAGERS),
    Op.ATTRIBUTES: _rule(ANYONE),
    Op.COUNTERS: _rule(ANYONE, Community=NOBODY),
    Op.TOPICS: _rule(NOBODY, Community=MANAGERS),
}


def allowed(op: Op, role: GroupMemberRole | None, group_type: GroupType) -> bool:
    return role is not None and role in RULES[op][group_type]


def require(op: Op, role: GroupMemberRole | None, group_type: GroupType) -> GroupMemberRole:
    if role is None:
        raise IMError(Code.ERR_NO_PERMISSION, f"{op.value}: you are not a member of this group")
    if not allowed(op, role, group_type):
        raise IMError(Code.ERR_NO_PERMISSION, f"{op.value}: a {role.name} of a {group_type.value} group may not")
    return role


def outranks(actor: GroupMemberRole, target: GroupMemberRole) -> bool:
    """The owner acts on anyone else; an admin on ordinary members only."""
    return (actor == OWNER and target != OWNER) or (actor == ADMIN and target == MEMBER)
