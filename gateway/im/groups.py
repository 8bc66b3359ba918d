"""Groups: V2TIMGroupInfo, members, applications, topics and the group tips element."""

from __future__ import annotations

import msgspec

from gateway.im.enums import (
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


class GroupInfo(msgspec.Struct, kw_only=True):
    """V2TIMGroupInfo (plus the owner, member count and times a client needs)."""

    groupID: str
    groupType: GroupType
    groupName: str = ""
    notification: str = ""
    introduction: str = ""
    faceUrl: str = ""
    addOpt: GroupAdd = GroupAdd.V2TIM_GROUP_ADD_ANY
    approveOpt: GroupAdd = GroupAdd.V2TIM_GROUP_ADD_FORBID
    isAllMuted: bool = False
    isSupportTopic: bool = False
    owner: str = ""
    memberCount: int = 0
    createTime: int = 0
    lastInfoTime: int = 0


class GroupInfoChanges(msgspec.Struct, kw_only=True):
    """setGroupInfo: None leaves a field as it is."""

    groupName: str | None = None
    notification: str | None = None
    introduction: str | None = None
    faceUrl: str | None = None
    addOpt: GroupAdd | None = None
    approveOpt: GroupAdd | None = None
    isAllMuted: bool | None = None


class GroupMemberInfo(msgspec.Struct, kw_only=True):
    """V2TIMGroupMemberInfo."""

    userID: str
    nickName: str = ""
    faceUrl: str = ""
    nameCard: str = ""
    friendRemark: str = ""


class GroupMemberFullInfo(msgspec.Struct, kw_only=True):
    """V2TIMGroupMemberFullInfo."""

    userID: str
    role: GroupMemberRole = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER
    muteUntil: int = 0
    nameCard: str = ""
    customInfo: dict[str, str] = {}
    joinTime: int = 0
    nickName: str = ""
    faceUrl: str = ""
    friendRemark: str = ""
    markList: list[int] = []
    groupID: str = ""  # the group it is a member of (not a field of the SDK's; its object id needs it)


class GroupMemberPage(msgspec.Struct, kw_only=True):
    nextSeq: int
    memberInfoList: list[GroupMemberFullInfo]


class GroupChangeInfo(msgspec.Struct, kw_only=True):
    """V2TIMGroupChangeInfo: one changed field of a group's profile."""

    type: GroupInfoChangeType
    value: str = ""
    key: str = ""
    boolValue: bool = False
    intValue: int = 0


class GroupMemberChangeInfo(msgspec.Struct, kw_only=True):
    userID: str
    muteTime: int = 0


class GroupTipsElem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """V2TIMGroupTipsElem: a change to a group, as it appears in the group's history."""

    groupID: str
    type: GroupTipsType
    opMember: GroupMemberInfo
    memberList: list[GroupMemberInfo] = []
    groupChangeInfoList: list[GroupChangeInfo] = []
    memberChangeInfoList: list[GroupMemberChangeInfo] = []
    memberCount: int = 0


class GroupOperationResult(msgspec.Struct, kw_only=True):
    """inviteUserToGroup / kickGroupMember: one user's outcome."""

    memberID: str
    result: GroupMemberOperationResult


class GroupInfoResult(msgspec.Struct, kw_only=True):
    resultCode: int = 0
    resultMessage: str = ""
    groupInfo: GroupInfo | None = None


class GroupApplication(msgspec.Struct, kw_only=True):
    groupID: str
    fromUser: str
    fromUserNickName: str = ""
    fromUserFaceUrl: str = ""
    toUser: str = ""
    addTime: int = 0  # ms
    requestMsg: str = ""
    handledMsg: str = ""
    type: GroupApplicationType
    handleStatus: GroupApplicationHandleStatus = (
        GroupApplicationHandleStatus.V2TIM_GROUP_APPLICATION_HANDLE_STATUS_UNHANDLED
    )
    handleResult: GroupApplicationHandleResult = (
        GroupApplicationHandleResult.V2TIM_GROUP_APPLICATION_HANDLE_RESULT_REFUSE
    )


class GroupApplicationResult(msgspec.Struct, kw_only=True):
    unreadCount: int
    groupApplicationList: list[GroupApplication]


class CreateGroupMember(msgspec.Struct, kw_only=True):
    userID: str
    role: GroupMemberRole = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER


class TopicInfo(msgspec.Struct, kw_only=True):
    """V2TIMTopicInfo."""

    topicID: str
    topicName: str = ""
    topicFaceUrl: str = ""
    notification: str = ""
    introduction: str = ""
    isAllMuted: bool = False
    customString: str = ""
    draftText: str = ""


class TopicOperationResult(msgspec.Struct, kw_only=True):
    topicID: str
    errorCode: int = 0
    errorMessage: str = ""


class TopicInfoResult(msgspec.Struct, kw_only=True):
    errorCode: int = 0
    errorMessage: str = ""
    topicInfo: TopicInfo | None = None


class GroupCounter(msgspec.Struct, kw_only=True):
    key: str
    value: int
