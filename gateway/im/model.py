"""The SDK's classes as domain objects, one definition each, field names as in the seed.

Strawberry types in `schema/` resolve their fields straight off these objects (no copying), which
is why the field names are the SDK's camelCase ones.
"""

from __future__ import annotations

import msgspec

from gateway.im.enums import AllowType, FriendApplicationType, FriendRelationType, Gender, UserStatusType


class UserFullInfo(msgspec.Struct, kw_only=True):
    """V2TIMUserFullInfo."""

    userID: str
    nickName: str = ""
    faceUrl: str = ""
    selfSignature: str = ""
    gender: Gender = Gender.V2TIM_GENDER_UNKNOWN
    # Tencent's default for new accounts: friend requests need confirmation.
    allowType: AllowType = AllowType.V2TIM_FRIEND_NEED_CONFIRM
    role: int = 0
    level: int = 0
    birthday: int = 0
    customInfo: dict[str, str] = {}


class UserStatus(msgspec.Struct, kw_only=True):
    """V2TIMUserStatus."""

    userID: str
    statusType: UserStatusType
    customStatus: str = ""


class ProfileChanges(msgspec.Struct, kw_only=True):
    """What setSelfInfo changes; None leaves a field as it is. customInfo merges key by key."""

    nickName: str | None = None
    faceUrl: str | None = None
    selfSignature: str | None = None
    gender: Gender | None = None
    allowType: AllowType | None = None
    role: int | None = None
    level: int | None = None
    birthday: int | None = None
    customInfo: dict[str, str] | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__struct_fields__)


class LoginResult(msgspec.Struct, kw_only=True):
    token: str
    userID: str
    expireTime: int


# ---- friendship ---------------------------------------------------------------------------------
class FriendInfo(msgspec.Struct, kw_only=True):
    """V2TIMFriendInfo: a friend as the user who has them sees them."""

    userID: str
    friendRemark: str = ""
    friendGroup: list[str] = []
    userProfile: UserFullInfo | None = None
    friendCustomInfo: dict[str, str] = {}


class FriendApplication(msgspec.Struct, kw_only=True):
    """V2TIMFriendApplication: a friend request, received (COME_IN) or sent (SEND_OUT)."""

    userID: str
    nickName: str = ""
    faceUrl: str = ""
    addTime: int = 0
    addSource: str = ""
    addWording: str = ""
    type: FriendApplicationType


class FriendApplicationResult(msgspec.Struct, kw_only=True):
    unreadCount: int
    friendApplicationList: list[FriendApplication]


class FriendOperationResult(msgspec.Struct, kw_only=True):
    """V2TIMFriendOperationResult: what one user's part of a friendship call came to."""

    userID: str
    resultCode: int = 0
    resultInfo: str = ""


class FriendInfoResult(msgspec.Struct, kw_only=True):
    resultCode: int = 0
    resultInfo: str = ""
    relation: FriendRelationType
    friendInfo: FriendInfo


class FriendCheckResult(msgspec.Struct, kw_only=True):
    userID: str
    resultCode: int = 0
    resultInfo: str = ""
    resultType: FriendRelationType


class FriendGroup(msgspec.Struct, kw_only=True):
    name: str
    friendCount: int
    friendIDList: list[str]


class FriendSearchParam(msgspec.Struct, kw_only=True):
    keywordList: list[str]
    isSearchNickName: bool = True
    isSearchUserID: bool = True
    isSearchRemark: bool = True


class FriendChanges(msgspec.Struct, kw_only=True):
    """What setFriendInfo changes; None leaves a field as it is. friendCustomInfo merges by key."""

    friendRemark: str | None = None
    friendCustomInfo: dict[str, str] | None = None
