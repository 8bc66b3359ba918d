"""The SDK's classes as domain objects, one definition each, field names as in the seed.

Strawberry types in `schema/` resolve their fields straight off these objects (no copying), which
is why the field names are the SDK's camelCase ones.
"""

from __future__ import annotations

import msgspec

from gateway.im.enums import AllowType, Gender, UserStatusType


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
