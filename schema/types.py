"""Object types of the SDK's classes (V2TIM prefix dropped), resolved straight off domain objects."""

from __future__ import annotations

from typing import Any, NewType, TypeVar, cast

import strawberry
from graphql import GraphQLError, GraphQLResolveInfo

from gateway.digits import INT64_MAX, INT64_MIN, parse_integer
from gateway.errors import invalid
from gateway.im import model as im
from schema.enums import AllowType, Gender, UserStatusType
from schema.identity import Node, global_id

T = TypeVar("T")


def gql(value: object, _type: type[T]) -> T:
    """Hand a domain object to Strawberry as the GraphQL type whose fields it carries."""
    return cast(T, value)


def _parse_long(value: object) -> int:
    """A JSON number, or a string of ASCII digits (JavaScript clients send big ones so), in 64 bits.
    Refusals are GraphQLErrors: graphql-core wraps any other exception as the error's original,
    which the error formatter takes for a fault (7012) rather than a bad variable (6017)."""
    if isinstance(value, str) and (number := parse_integer(value)) is not None:
        value = number
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError("a Long is an integer (a number, or a string of digits)")
    if not INT64_MIN <= value <= INT64_MAX:
        raise GraphQLError(f"a Long is {INT64_MIN}..{INT64_MAX}")
    return value


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


def _user_id(root: strawberry.Parent[im.UserFullInfo]) -> strawberry.ID:
    return global_id("UserFullInfo", root.userID)


def _status_id(root: strawberry.Parent[im.UserStatus]) -> strawberry.ID:
    return global_id("UserStatus", root.userID)


@strawberry.type(description="V2TIMUserFullInfo: a user's profile.")
class UserFullInfo(Node):
    id: strawberry.ID = strawberry.field(resolver=_user_id, description="Global id (Node): the user's profile")
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

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.UserFullInfo))


@strawberry.type(description="V2TIMUserStatus: whether a user is online, and their custom status.")
class UserStatus(Node):
    id: strawberry.ID = strawberry.field(resolver=_status_id, description="Global id (Node): the user's status")
    userID: str
    statusType: UserStatusType
    customStatus: str

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.UserStatus))


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
