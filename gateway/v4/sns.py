"""Tencent's relation-chain vocabulary (`sns/*`): friend tags, add sources and the names of add,
delete and check types. The REST server (gateway.engine.rest.friendship) and the Tencent backend
(gateway.tencent.friendship) both speak it.
"""

from __future__ import annotations

import re

from gateway.im.enums import FriendAddType, FriendRelationType

TAG_REMARK = "Tag_SNS_IM_Remark"
TAG_GROUP = "Tag_SNS_IM_Group"  # a list of friend-group names
TAG_ADD_SOURCE = "Tag_SNS_IM_AddSource"
TAG_ADD_WORDING = "Tag_SNS_IM_AddWording"
TAG_ADD_TIME = "Tag_SNS_IM_AddTime"
CUSTOM_PREFIX = "Tag_SNS_Custom_"  # custom friend fields, declared in Tencent's console
STANDARD_TAGS = (TAG_ADD_SOURCE, TAG_REMARK, TAG_GROUP, TAG_ADD_WORDING, TAG_ADD_TIME)

# "AddSource_Type_" and a keyword of at most 8 English letters (Tencent's standard friend fields)
ADD_SOURCE_PREFIX = "AddSource_Type_"
ADD_SOURCE = re.compile(r"AddSource_Type_[A-Za-z]{1,8}")

SINGLE, BOTH = FriendAddType.V2TIM_FRIEND_TYPE_SINGLE, FriendAddType.V2TIM_FRIEND_TYPE_BOTH
ADD_TYPES = {"Add_Type_Single": SINGLE, "Add_Type_Both": BOTH}
DELETE_TYPES = {"Delete_Type_Single": SINGLE, "Delete_Type_Both": BOTH}
CHECK_TYPES = {"CheckResult_Type_Single": SINGLE, "CheckResult_Type_Both": BOTH}

RELATIONS = {
    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY: "CheckResult_Type_BothWay",
    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST: "CheckResult_Type_AWithB",
    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_OTHER_FRIEND_LIST: "CheckResult_Type_BWithA",
    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_NONE: "CheckResult_Type_NoRelation",
}

# codes of the relation chain that the V2TIM Code enum does not name
ACCOUNT_MISSING = 30003  # the requested user account does not exist
PENDING = 30539  # friend_add: a request now waits for the target to accept it


UNKNOWN_ADD_SOURCE = ADD_SOURCE_PREFIX + "Unknown"


def add_source_for_rest(source: str) -> str:
    """Tencent's AddSource for an SDK addSource: `AddSource_Type_<keyword>` (the native SDK adds the
    prefix too). A value that cannot be such a keyword (1-8 English letters) becomes "Unknown"."""
    if ADD_SOURCE.fullmatch(source):
        return source
    prefixed = ADD_SOURCE_PREFIX + source
    return prefixed if ADD_SOURCE.fullmatch(prefixed) else UNKNOWN_ADD_SOURCE


def type_name(names: dict[str, FriendAddType], value: FriendAddType) -> str:
    """The wire name of an add, delete or check type."""
    return next(name for name, kind in names.items() if kind == value)
