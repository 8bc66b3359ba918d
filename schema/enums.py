"""The SDK's enums as GraphQL enums named as the seed names them (V2TIM_Gender, ...).

The Python enums of `gateway.im.enums` are wrapped in place, so resolvers pass domain values
straight through; every enum is registered with the schema even before an API uses it, so
frontends can generate all of them.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.im import enums as im

ALL_ENUMS: list[type[Enum]] = []
for _cls, _name in im.SEED_ENUM_NAMES.items():
    ALL_ENUMS.append(strawberry.enum(_cls, name=_name))

LogLevel = im.LogLevel
Gender = im.Gender
AllowType = im.AllowType
UserStatusType = im.UserStatusType
LoginStatus = im.LoginStatus
FriendAccept = im.FriendAccept
FriendAddType = im.FriendAddType
FriendApplicationType = im.FriendApplicationType
FriendRelationType = im.FriendRelationType
ElemType = im.ElemType
GetType = im.GetType
ImageType = im.ImageType
MessageOpt = im.MessageOpt
MsgStatus = im.MsgStatus
Priority = im.Priority
GroupAdd = im.GroupAdd
GroupApplicationHandleResult = im.GroupApplicationHandleResult
GroupApplicationHandleStatus = im.GroupApplicationHandleStatus
GroupApplicationType = im.GroupApplicationType
GroupInfoChangeType = im.GroupInfoChangeType
GroupMemberFilter = im.GroupMemberFilter
GroupMemberOperationResult = im.GroupMemberOperationResult
GroupMemberRole = im.GroupMemberRole
GroupTipsType = im.GroupTipsType
GroupType = im.GroupType
AtType = im.AtType
ConversationType = im.ConversationType
SignalingActionType = im.SignalingActionType
KeywordListMatchType = im.KeywordListMatchType
