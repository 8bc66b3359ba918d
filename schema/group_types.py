"""Object and input types of groups: V2TIMGroupInfo, members, applications, topics, tips."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLResolveInfo

from gateway.im import groups as im
from schema.enums import (
    GroupAdd,
    GroupApplicationHandleResult,
    GroupApplicationHandleStatus,
    GroupApplicationType,
    GroupInfoChangeType,
    GroupMemberOperationResult,
    GroupMemberRole,
    GroupTipsType,
    GroupType,
)
from schema.identity import Node, global_id
from schema.types import KeyValue, Long


def _group_id(root: strawberry.Parent[im.GroupInfo]) -> strawberry.ID:
    return global_id("GroupInfo", root.groupID)


@strawberry.type(description="V2TIMGroupInfo")
class GroupInfo(Node):
    id: strawberry.ID = strawberry.field(resolver=_group_id, description="Global id (Node): the group")
    groupID: str
    groupType: GroupType
    groupName: str
    notification: str
    introduction: str
    faceUrl: str
    addOpt: GroupAdd
    approveOpt: GroupAdd
    isAllMuted: bool
    isSupportTopic: bool
    owner: str
    memberCount: int
    createTime: int
    lastInfoTime: int

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.GroupInfo))


@strawberry.type(description="One group's result in getGroupsInfo (resultCode 0, or 10010 for no such group).")
class GroupInfoResult:
    resultCode: int
    resultMessage: str
    groupInfo: GroupInfo | None


@strawberry.type(description="V2TIMGroupMemberInfo")
class GroupMemberInfo:
    userID: str
    nickName: str
    faceUrl: str
    nameCard: str
    friendRemark: str


def _member_custom_info(root: strawberry.Parent[im.GroupMemberFullInfo]) -> list[KeyValue]:
    return [KeyValue(key=k, value=v) for k, v in sorted(root.customInfo.items())]


def _member_id(root: strawberry.Parent[im.GroupMemberFullInfo]) -> strawberry.ID:
    return global_id("GroupMemberFullInfo", root.groupID, root.userID)


@strawberry.type(description="V2TIMGroupMemberFullInfo")
class GroupMemberFullInfo(Node):
    id: strawberry.ID = strawberry.field(
        resolver=_member_id, description="Global id (Node): this user's membership of this group"
    )
    userID: str
    role: GroupMemberRole
    muteUntil: int
    nameCard: str
    customInfo: list[KeyValue] = strawberry.field(resolver=_member_custom_info)
    joinTime: int
    nickName: str
    faceUrl: str
    friendRemark: str
    markList: list[int]

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.GroupMemberFullInfo))


@strawberry.type(description="A page of members; pass nextSeq back for the next one (0: no more).")
class GroupMemberInfoResult:
    nextSeq: int
    memberInfoList: list[GroupMemberFullInfo]


@strawberry.type(description="V2TIMGroupChangeInfo")
class GroupChangeInfo:
    type: GroupInfoChangeType
    value: str
    key: str
    boolValue: bool
    intValue: int


@strawberry.type(description="V2TIMGroupMemberChangeInfo")
class GroupMemberChangeInfo:
    userID: str
    muteTime: int


@strawberry.type(description="V2TIMGroupTipsElem: a change to a group, as it appears in its history.")
class GroupTipsElem:
    groupID: str
    type: GroupTipsType
    opMember: GroupMemberInfo
    memberList: list[GroupMemberInfo]
    groupChangeInfoList: list[GroupChangeInfo]
    memberChangeInfoList: list[GroupMemberChangeInfo]
    memberCount: int


@strawberry.type(description="One user's outcome of inviteUserToGroup / kickGroupMember.")
class GroupOperationResult:
    memberID: str
    result: GroupMemberOperationResult


def _application_id(root: strawberry.Parent[im.GroupApplication]) -> strawberry.ID:
    return global_id("GroupApplication", root.groupID, str(int(root.type)), root.fromUser, root.toUser)


@strawberry.type(description="A join request, or an invitation waiting for its invitee.")
class GroupApplication(Node):
    id: strawberry.ID = strawberry.field(
        resolver=_application_id, description="Global id (Node): the request (group, kind, from, to)"
    )
    groupID: str
    fromUser: str
    fromUserNickName: str
    fromUserFaceUrl: str
    toUser: str
    addTime: Long = strawberry.field(description="When it was made (unix ms, as the SDK has it)")
    requestMsg: str
    handledMsg: str
    type: GroupApplicationType
    handleStatus: GroupApplicationHandleStatus
    handleResult: GroupApplicationHandleResult

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.GroupApplication))


@strawberry.type(description="Group applications, newest first, and how many unhandled ones are unread.")
class GroupApplicationResult:
    unreadCount: int
    groupApplicationList: list[GroupApplication]


@strawberry.type(description="One topic's outcome (errorCode 0 on success).")
class TopicOperationResult:
    topicID: str
    errorCode: int
    errorMessage: str


@strawberry.type(description="A group counter.")
class GroupCounter:
    key: str
    value: int


@strawberry.input(description="V2TIMCreateGroupMemberInfo: an initial member.")
class CreateGroupMemberInfoInput:
    userID: str
    role: GroupMemberRole = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER


@strawberry.input(description="setGroupInfo's info: the groupID and the fields to change.")
class GroupInfoInput:
    groupID: str
    groupName: str | None = None
    notification: str | None = None
    introduction: str | None = None
    faceUrl: str | None = None
    addOpt: GroupAdd | None = None
    approveOpt: GroupAdd | None = None
    isAllMuted: bool | None = None


@strawberry.input(description="searchGroups' parameters (among your groups).")
class GroupSearchParam:
    keywordList: list[str]
    isSearchGroupID: bool = True
    isSearchGroupName: bool = True


@strawberry.input(description="searchGroupMembers' parameters.")
class GroupMemberSearchParam:
    keywordList: list[str]
    groupIDList: list[str] | None = None
    isSearchMemberUserID: bool = True
    isSearchMemberNickName: bool = True
    isSearchMemberRemark: bool = True
    isSearchMemberNameCard: bool = True


@strawberry.input(description="V2TIMTopicInfo for createTopicInCommunity / setTopicInfo.")
class TopicInfoInput:
    topicID: str = ""
    topicName: str = ""
    topicFaceUrl: str = ""
    notification: str = ""
    introduction: str = ""
    isAllMuted: bool = False
    customString: str = ""
    draftText: str = ""

    def to_domain(self) -> im.TopicInfo:
        return im.TopicInfo(**{name: getattr(self, name) for name in im.TopicInfo.__struct_fields__})


@strawberry.input(description="A group counter to set.")
class GroupCounterInput:
    key: str
    value: int
