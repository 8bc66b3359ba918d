"""V2TIMFriendshipManager: friends, friend requests, the blacklist and friend groups.

Per the contract, an argument the API cannot work without is non-null in the SDL (validation
refuses a call without it, 6017); the others are nullable or carry the SDK's default. Arguments
needed one-of-two (imagePath or file, receiver or groupID) stay nullable and are checked here.
"""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from graphql import GraphQLResolveInfo
from strawberry.types import Info

from gateway.errors import invalid
from gateway.im import model as im
from schema.context import IMContext
from schema.enums import FriendAccept, FriendAddType, FriendApplicationType, FriendRelationType
from schema.identity import Node, global_id, viewer
from schema.types import KeyValue, KeyValueInput, UserFullInfo, gql, pairs_to_dict

Ctx = Info[IMContext, None]
T = TypeVar("T")


def need(value: T | None, arg: str) -> T:
    if value is None:
        raise invalid(f"{arg} is required")
    return value


def _friend_custom_info(root: strawberry.Parent[im.FriendInfo]) -> list[KeyValue]:
    return [KeyValue(key=k, value=v) for k, v in sorted(root.friendCustomInfo.items())]


def _friend_id(root: strawberry.Parent[im.FriendInfo], info: Ctx) -> strawberry.ID:
    return global_id("FriendInfo", viewer(info), root.userID)  # your friend: your remark, your groups


def application_parties(root: im.FriendApplication, user: str) -> tuple[str, str]:
    """(from, to) of a friend request `user` sees: they sent it, or received it."""
    if root.type == FriendApplicationType.V2TIM_FRIEND_APPLICATION_SEND_OUT:
        return user, root.userID
    return root.userID, user


def _application_id(root: strawberry.Parent[im.FriendApplication], info: Ctx) -> strawberry.ID:
    # the request from one user to another: its sender and its recipient name it alike
    return global_id("FriendApplication", *application_parties(root, viewer(info)))


def _friend_group_id(root: strawberry.Parent[im.FriendGroup], info: Ctx) -> strawberry.ID:
    return global_id("FriendGroup", viewer(info), root.name)  # names are per user


@strawberry.type(description="V2TIMFriendInfo: a friend as you see them.")
class FriendInfo(Node):
    id: strawberry.ID = strawberry.field(
        resolver=_friend_id, description="Global id (Node): this friend of yours (another user's differs)"
    )
    userID: str
    friendRemark: str
    friendGroup: list[str] = strawberry.field(description="The friend groups this friend is in")
    userProfile: UserFullInfo | None
    friendCustomInfo: list[KeyValue] = strawberry.field(resolver=_friend_custom_info)

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.FriendInfo))


@strawberry.type(description="V2TIMFriendApplication: a friend request you received or sent.")
class FriendApplication(Node):
    id: strawberry.ID = strawberry.field(
        resolver=_application_id, description="Global id (Node): the request from its sender to its recipient"
    )
    userID: str
    nickName: str
    faceUrl: str
    addTime: int
    addSource: str
    addWording: str
    type: FriendApplicationType

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.FriendApplication))


@strawberry.type(description="The friend requests, newest first (at most 100), and how many received are unread.")
class FriendApplicationResult:
    unreadCount: int
    friendApplicationList: list[FriendApplication]


@strawberry.type(description="V2TIMFriendOperationResult: one user's outcome; resultCode 0 is success.")
class FriendOperationResult:
    userID: str
    resultCode: int
    resultInfo: str


@strawberry.type(description="V2TIMFriendInfoResult: a user's relation to you and, for friends, their info.")
class FriendInfoResult:
    resultCode: int
    resultInfo: str
    relation: FriendRelationType
    friendInfo: FriendInfo


@strawberry.type(description="V2TIMFriendCheckResult")
class FriendCheckResult:
    userID: str
    resultCode: int
    resultInfo: str
    resultType: FriendRelationType


@strawberry.type(description="V2TIMFriendGroup")
class FriendGroup(Node):
    id: strawberry.ID = strawberry.field(resolver=_friend_group_id, description="Global id (Node): your friend group")
    name: str
    friendCount: int
    friendIDList: list[str]

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.FriendGroup))


@strawberry.input(description="Keywords (1-5) matched case-insensitively, any of them, in the chosen fields.")
class FriendSearchParam:
    keywordList: list[str]
    isSearchNickName: bool = True
    isSearchUserID: bool = True
    isSearchRemark: bool = True


@strawberry.type
class FriendshipQuery:
    @strawberry.field(description="Your friends, by userID.")
    async def getFriendList(self, info: Ctx) -> list[FriendInfo]:
        return gql(await (await info.context.session()).get_friend_list(), list[FriendInfo])

    @strawberry.field(description="Your relation to each user and, for friends, their info.")
    async def getFriendsInfo(self, info: Ctx, userIDList: list[str]) -> list[FriendInfoResult]:
        results = await (await info.context.session()).get_friends_info(userIDList)
        return gql(results, list[FriendInfoResult])

    @strawberry.field(description="Search your friends by userID, nickname and remark.")
    async def searchFriends(self, info: Ctx, searchParam: FriendSearchParam) -> list[FriendInfoResult]:
        param = searchParam
        results = await (await info.context.session()).search_friends(
            im.FriendSearchParam(
                keywordList=param.keywordList,
                isSearchNickName=param.isSearchNickName,
                isSearchUserID=param.isSearchUserID,
                isSearchRemark=param.isSearchRemark,
            )
        )
        return gql(results, list[FriendInfoResult])

    @strawberry.field(description="SINGLE: is each user in your list; BOTH: the relation both ways.")
    async def checkFriend(
        self,
        info: Ctx,
        userIDList: list[str],
        checkType: FriendAddType = FriendAddType.V2TIM_FRIEND_TYPE_BOTH,
    ) -> list[FriendCheckResult]:
        results = await (await info.context.session()).check_friend(userIDList, checkType)
        return gql(results, list[FriendCheckResult])

    @strawberry.field(description="Friend requests received and sent.")
    async def getFriendApplicationList(self, info: Ctx) -> FriendApplicationResult:
        result = await (await info.context.session()).get_friend_application_list()
        return gql(result, FriendApplicationResult)

    @strawberry.field(description="Users you blocked, oldest first.")
    async def getBlackList(self, info: Ctx) -> list[FriendInfo]:
        return gql(await (await info.context.session()).get_black_list(), list[FriendInfo])

    @strawberry.field(description="Your friend groups (all when groupNameList is empty).")
    async def getFriendGroups(self, info: Ctx, groupNameList: list[str] | None = None) -> list[FriendGroup]:
        return gql(await (await info.context.session()).get_friend_groups(groupNameList), list[FriendGroup])


@strawberry.type
class FriendshipMutation:
    @strawberry.mutation(description="Set a friend's remark and custom fields (merged by key).")
    async def setFriendInfo(
        self,
        info: Ctx,
        userID: str,
        friendRemark: str | None = None,
        friendCustomInfo: list[KeyValueInput] | None = None,
    ) -> bool:
        changes = im.FriendChanges(
            friendRemark=friendRemark, friendCustomInfo=pairs_to_dict(friendCustomInfo, "friendCustomInfo")
        )
        await (await info.context.session()).set_friend_info(userID, changes)
        return True

    @strawberry.mutation(
        description="Add a friend, as the user's allowType permits: at once (ALLOW_ANY), as a request "
        "(NEED_CONFIRM: resultCode 30539), or refused (DENY_ANY: error 30516)."
    )
    async def addFriend(
        self,
        info: Ctx,
        userID: str,
        addType: FriendAddType = FriendAddType.V2TIM_FRIEND_TYPE_BOTH,
        remark: str | None = None,
        addWording: str | None = None,
        addSource: str | None = None,
        friendGroup: str | None = None,
    ) -> FriendOperationResult:
        result = await (await info.context.session()).add_friend(
            userID, addType, remark or "", addWording or "", addSource or "", friendGroup or ""
        )
        return gql(result, FriendOperationResult)

    @strawberry.mutation(description="Remove friends from your list (SINGLE) or from both lists (BOTH).")
    async def deleteFromFriendList(
        self,
        info: Ctx,
        userIDList: list[str],
        deleteType: FriendAddType = FriendAddType.V2TIM_FRIEND_TYPE_BOTH,
    ) -> list[FriendOperationResult]:
        results = await (await info.context.session()).delete_from_friend_list(userIDList, deleteType)
        return gql(results, list[FriendOperationResult])

    @strawberry.mutation(description="Accept a friend request: AGREE (they have you) or AGREE_AND_ADD (both ways).")
    async def acceptFriendApplication(
        self,
        info: Ctx,
        userID: str,
        responseType: FriendAccept = FriendAccept.V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD,
    ) -> FriendOperationResult:
        result = await (await info.context.session()).accept_friend_application(userID, responseType)
        return gql(result, FriendOperationResult)

    @strawberry.mutation(description="Refuse a friend request.")
    async def refuseFriendApplication(self, info: Ctx, userID: str) -> FriendOperationResult:
        result = await (await info.context.session()).refuse_friend_application(userID)
        return gql(result, FriendOperationResult)

    @strawberry.mutation(description="Remove a friend request from your list.")
    async def deleteFriendApplication(self, info: Ctx, userID: str) -> bool:
        await (await info.context.session()).delete_friend_application(userID)
        return True

    @strawberry.mutation(description="Mark received friend requests read (on all your devices).")
    async def setFriendApplicationRead(self, info: Ctx) -> bool:
        await (await info.context.session()).set_friend_application_read()
        return True

    @strawberry.mutation(description="Block users: ends friendships and requests both ways; they cannot message you.")
    async def addToBlackList(self, info: Ctx, userIDList: list[str]) -> list[FriendOperationResult]:
        results = await (await info.context.session()).add_to_black_list(userIDList)
        return gql(results, list[FriendOperationResult])

    @strawberry.mutation(description="Unblock users.")
    async def deleteFromBlackList(self, info: Ctx, userIDList: list[str]) -> list[FriendOperationResult]:
        results = await (await info.context.session()).delete_from_black_list(userIDList)
        return gql(results, list[FriendOperationResult])

    @strawberry.mutation(description="Create a friend group (≤30, names ≤30 bytes) holding these friends.")
    async def createFriendGroup(
        self, info: Ctx, groupName: str, userIDList: list[str] | None = None
    ) -> list[FriendOperationResult]:
        results = await (await info.context.session()).create_friend_group(groupName, userIDList or [])
        return gql(results, list[FriendOperationResult])

    @strawberry.mutation(description="Delete friend groups (the friends stay friends).")
    async def deleteFriendGroup(self, info: Ctx, groupNameList: list[str]) -> bool:
        await (await info.context.session()).delete_friend_group(groupNameList)
        return True

    @strawberry.mutation(description="Rename a friend group.")
    async def renameFriendGroup(self, info: Ctx, oldName: str, newName: str) -> bool:
        await (await info.context.session()).rename_friend_group(oldName, newName)
        return True

    @strawberry.mutation(description="Put friends into a friend group.")
    async def addFriendsToFriendGroup(
        self, info: Ctx, groupName: str, userIDList: list[str]
    ) -> list[FriendOperationResult]:
        results = await (await info.context.session()).add_friends_to_friend_group(groupName, userIDList)
        return gql(results, list[FriendOperationResult])

    @strawberry.mutation(description="Take friends out of a friend group.")
    async def deleteFriendsFromFriendGroup(
        self, info: Ctx, groupName: str, userIDList: list[str]
    ) -> list[FriendOperationResult]:
        results = await (await info.context.session()).delete_friends_from_friend_group(groupName, userIDList)
        return gql(results, list[FriendOperationResult])
