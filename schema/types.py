"""Object types of the SDK's classes (V2TIM prefix dropped), resolved straight off domain objects."""

from __future__ import annotations

from typing import NewType, TypeVar, cast

import strawberry

from gateway.errors import invalid
from gateway.im import model as im
from schema.enums import AllowType, Gender, UserStatusType

T = TypeVar("T")


def gql(value: object, _type: type[T]) -> T:
    """Hand a domain object to Strawberry as the GraphQL type whose fields it carries."""
    return cast(T, value)


def _parse_long(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("a Long is an integer")
    return int(value)


Long = NewType("Long", int)
LONG_SCALAR = strawberry.scalar(
    name="Long",
    serialize=int,
    parse_value=_parse_long,
    description="A 64-bit integer (times in milliseconds, order keys), sent as a JSON number.",
)


# Strawberry cannot hand a resolver an argument named `info` (its own parameter has that name), yet
# the SDK names two arguments so (setGroupInfo, addInvitedSignaling). build.py has graphql-core pass
# such an argument under this name, as a dict of coerced values, to a resolver of our own.
INFO_ARGUMENT = "info_argument"


@strawberry.type(description="A key/value pair (maps such as customInfo travel as lists of these).")
class KeyValue:
    key: str
    value: str


@strawberry.input(description="A key/value pair.")
class KeyValueInput:
    key: str
    value: str


def _custom_info(root: strawberry.Parent[im.UserFullInfo]) -> list[KeyValue]:
    return [KeyValue(key=k, value=v) for k, v in sorted(root.customInfo.items())]


@strawberry.type(description="V2TIMUserFullInfo: a user's profile.")
class UserFullInfo:
    userID: str
    nickName: str
    faceUrl: str
    selfSignature: str
    gender: Gender
    allowType: AllowType = strawberry.field(description="Friend verification method")
    role: int
    level: int
    birthday: int = strawberry.field(description="YYYYMMDD, e.g. 19700101; 0 when unset")
    customInfo: list[KeyValue] = strawberry.field(resolver=_custom_info, description="Custom profile fields")


@strawberry.type(description="V2TIMUserStatus: whether a user is online, and their custom status.")
class UserStatus:
    userID: str
    statusType: UserStatusType
    customStatus: str


@strawberry.type(description="A session: send `Authorization: Bearer <token>` with every later request.")
class LoginResult:
    token: str
    userID: str
    # Long: a UserSig may be minted to expire past 2038 (the official libraries take any expiry)
    expireTime: Long = strawberry.field(description="When the UserSig, and so the session, expires (unix s)")


def pairs_to_dict(pairs: list[KeyValueInput] | None, arg: str) -> dict[str, str] | None:
    """Key/value pairs as a map; a key given twice is refused (6017) rather than silently dropped."""
    if pairs is None:
        return None
    result: dict[str, str] = {}
    for pair in pairs:
        if pair.key in result:
            raise invalid(f"{arg} has the key {pair.key!r} twice")
        result[pair.key] = pair.value
    return result
