"""`node(id:)`: an object again by its global id (schema.identity), as the caller may see it now.

Each kind is read through the API that reads it for the caller (findMessages, getConversation,
getGroupsInfo, ...), with that API's visibility rules: what the caller may not see, or what no
longer exists, answers null, as Relay expects; nothing tells a stranger whether it exists. An id
that is not one of the gateway's answers 6017.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

import strawberry
from strawberry.types import Info

from gateway.errors import Code, IMError, invalid
from gateway.ids import topic_parent
from gateway.im.enums import FriendRelationType, GroupApplicationType
from gateway.session.im_session import IMSession
from schema.context import IMContext
from schema.friendship import application_parties
from schema.identity import Node, parse_global_id
from schema.signaling import signaling_info

Ctx = Info[IMContext, None]

# What the reading APIs answer for something the caller may not see or that does not exist: for
# node(id:) both are null. Anything else (a rate limit, a session gone) is an error as usual.
NOT_FOUND_CODES = frozenset(
    {
        Code.ERR_INVALID_CONVERSATION,  # not a conversation of the caller's
        Code.ERR_INVALID_PARAMETERS,  # a key the API refuses (another user's message, a malformed ID)
        Code.ERR_INVALID_USERID,
        Code.ERR_SDK_SIGNALING_INVALID_INVITE_ID,
        Code.ERR_RECEIVER_NOT_FOUND,
        Code.ERR_NO_PERMISSION,  # not a member
        Code.ERR_GROUP_NOT_FOUND,
        Code.ERR_GROUP_ID_INVALID,
        Code.ERR_GROUP_INVALID_PARAMETERS,
        Code.ERR_FRIENDSHIP_INVALID_PARAMETERS,
    }
)
Fetch = Callable[[IMSession, list[str]], Awaitable[object | None]]

_FRIENDS = (
    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST,
    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY,
)


async def _message(session: IMSession, key: list[str]) -> object | None:
    if len(key) != 1:
        return None  # a created message not sent yet: not readable back by id
    found = await session.find_messages(key)
    return found[0] if found else None


async def _conversation(session: IMSession, key: list[str]) -> object | None:
    owner, conversation_id = key
    if owner != session.user_id:
        return None
    return await session.get_conversation(conversation_id)


async def _user(session: IMSession, key: list[str]) -> object | None:
    found = await session.get_users_info(key)
    return found[0] if found else None


async def _status(session: IMSession, key: list[str]) -> object | None:
    found = await session.get_user_status(key)
    return found[0] if found else None


async def _friend(session: IMSession, key: list[str]) -> object | None:
    owner, user_id = key
    if owner != session.user_id:
        return None
    found = await session.get_friends_info([user_id])
    return found[0].friendInfo if found and found[0].relation in _FRIENDS else None


async def _friend_application(session: IMSession, key: list[str]) -> object | None:
    if session.user_id not in key:
        return None
    for application in (await session.get_friend_application_list()).friendApplicationList:
        if application_parties(application, session.user_id) == tuple(key):
            return application
    return None


async def _friend_group(session: IMSession, key: list[str]) -> object | None:
    owner, name = key
    if owner != session.user_id:
        return None
    found = await session.get_friend_groups([name])
    return found[0] if found else None


async def _group(session: IMSession, key: list[str]) -> object | None:
    found = await session.get_groups_info(key)
    return found[0].groupInfo if found and found[0].resultCode == 0 else None


async def _member(session: IMSession, key: list[str]) -> object | None:
    group_id, user_id = key
    found = await session.get_group_members_info(group_id, [user_id])
    return found[0] if found else None


async def _group_application(session: IMSession, key: list[str]) -> object | None:
    group_id, kind, from_user, to_user = key
    if kind not in {str(int(t)) for t in GroupApplicationType}:
        return None
    for application in (await session.get_group_application_list()).groupApplicationList:
        if (application.groupID, str(int(application.type)), application.fromUser, application.toUser) == (
            group_id,
            kind,
            from_user,
            to_user,
        ):
            return application
    return None


async def _topic(session: IMSession, key: list[str]) -> object | None:
    group_id = topic_parent(key[0])
    if group_id is None:
        return None
    found = await session.get_topic_info_list(group_id, key)
    return found[0].topicInfo if found and found[0].errorCode == 0 else None


async def _signaling(session: IMSession, key: list[str]) -> object | None:
    return signaling_info(key[0], await session.get_signaling_info(key[0]))


# type name -> (key length, how the caller reads it)
FETCHERS: dict[str, tuple[tuple[int, ...], Fetch]] = {
    "Message": ((1, 2), _message),
    "Conversation": ((2,), _conversation),
    "UserFullInfo": ((1,), _user),
    "UserStatus": ((1,), _status),
    "FriendInfo": ((2,), _friend),
    "FriendApplication": ((2,), _friend_application),
    "FriendGroup": ((2,), _friend_group),
    "GroupInfo": ((1,), _group),
    "GroupMemberFullInfo": ((2,), _member),
    "GroupApplication": ((4,), _group_application),
    "TopicInfo": ((1,), _topic),
    "SignalingInfo": ((1,), _signaling),
}


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="An object by its global id (Node.id), as you may see it now; null if you may not see it or it "
        "is gone. Gateway-side (Global Object Identification); docs/identity.md."
    )
    async def node(self, info: Ctx, id: strawberry.ID) -> Node | None:
        type_name, key = parse_global_id(id)
        found = FETCHERS.get(type_name)
        if found is None or len(key) not in found[0]:
            raise invalid("id is not an object id")
        session = await info.context.session()
        try:
            return cast("Node | None", await found[1](session, key))  # a domain object of a Node type
        except IMError as error:
            if error.code in NOT_FOUND_CODES:
                return None
            raise
