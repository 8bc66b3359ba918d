"""V2TIMGroupManager, and V2TIMManager's createGroup / joinGroup / quitGroup / dismissGroup.

Per the contract, an argument the API cannot work without is non-null in the SDL (validation
refuses a call without it, 6017); the others are nullable or carry the SDK's default. Arguments
needed one-of-two (imagePath or file, receiver or groupID) stay nullable and are checked here.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry.types import Info

from gateway.errors import invalid
from gateway.im import groups as im
from schema.context import IMContext
from schema.enums import GroupAdd, GroupMemberFilter, GroupMemberRole, GroupType
from schema.friendship import need
from schema.group_types import (
    CreateGroupMemberInfoInput,
    GroupApplicationResult,
    GroupCounter,
    GroupCounterInput,
    GroupInfo,
    GroupInfoInput,
    GroupInfoResult,
    GroupMemberFullInfo,
    GroupMemberInfoResult,
    GroupMemberSearchParam,
    GroupOperationResult,
    GroupSearchParam,
    TopicInfoInput,
    TopicOperationResult,
)
from schema.topic_types import TopicInfoResult
from schema.types import KeyValue, KeyValueInput, gql, pairs_to_dict

Ctx = Info[IMContext, None]


def _counters(counters: list[GroupCounterInput]) -> dict[str, int]:
    result: dict[str, int] = {}
    for c in counters:
        if c.key in result:
            raise invalid(f"counters has the key {c.key!r} twice")
        result[c.key] = c.value
    return result


@strawberry.type
class GroupQuery:
    @strawberry.field(description="The groups you are in, oldest joined first.")
    async def getJoinedGroupList(self, info: Ctx) -> list[GroupInfo]:
        return gql(await (await info.context.session()).get_joined_group_list(), list[GroupInfo])

    @strawberry.field(description="Group profiles, with a result code per group (10010: no such group).")
    async def getGroupsInfo(self, info: Ctx, groupIDList: list[str]) -> list[GroupInfoResult]:
        results = await (await info.context.session()).get_groups_info(groupIDList)
        return gql(results, list[GroupInfoResult])

    @strawberry.field(description="Search your groups by ID and name.")
    async def searchGroups(self, info: Ctx, searchParam: GroupSearchParam) -> list[GroupInfo]:
        p = searchParam
        found = await (await info.context.session()).search_groups(
            p.keywordList, p.isSearchGroupID, p.isSearchGroupName
        )
        return gql(found, list[GroupInfo])

    @strawberry.field(description="A group's attributes (all when keys is empty).")
    async def getGroupAttributes(self, info: Ctx, groupID: str, keys: list[str] | None = None) -> list[KeyValue]:
        attrs = await (await info.context.session()).get_group_attributes(groupID, keys)
        return [KeyValue(key=k, value=v) for k, v in sorted(attrs.items())]

    @strawberry.field(description="Members with a live session subscribed now.")
    async def getGroupOnlineMemberCount(self, info: Ctx, groupID: str) -> int:
        return await (await info.context.session()).get_group_online_member_count(groupID)

    @strawberry.field(description="A page of members (100) by role; nextSeq 0 starts, and 0 in the result ends.")
    async def getGroupMemberList(
        self,
        info: Ctx,
        groupID: str,
        filter: GroupMemberFilter = GroupMemberFilter.V2TIM_GROUP_MEMBER_FILTER_ALL,
        nextSeq: int = 0,
    ) -> GroupMemberInfoResult:
        page = await (await info.context.session()).get_group_member_list(groupID, filter, nextSeq)
        return gql(page, GroupMemberInfoResult)

    @strawberry.field(description="Profiles of some members of a group.")
    async def getGroupMembersInfo(self, info: Ctx, groupID: str, memberList: list[str]) -> list[GroupMemberFullInfo]:
        found = await (await info.context.session()).get_group_members_info(groupID, memberList)
        return gql(found, list[GroupMemberFullInfo])

    @strawberry.field(description="Search members of your groups (or of groupIDList).")
    async def searchGroupMembers(self, info: Ctx, param: GroupMemberSearchParam) -> list[GroupMemberFullInfo]:
        p = param
        found = await (await info.context.session()).search_group_members(
            p.keywordList,
            p.groupIDList,
            p.isSearchMemberUserID,
            p.isSearchMemberNickName,
            p.isSearchMemberRemark,
            p.isSearchMemberNameCard,
        )
        return gql(found, list[GroupMemberFullInfo])

    @strawberry.field(description="Join requests to groups you manage, and invitations to you.")
    async def getGroupApplicationList(self, info: Ctx) -> GroupApplicationResult:
        return gql(await (await info.context.session()).get_group_application_list(), GroupApplicationResult)

    @strawberry.field(description="Your communities that have topics.")
    async def getJoinedCommunityList(self, info: Ctx) -> list[GroupInfo]:
        return gql(await (await info.context.session()).get_joined_community_list(), list[GroupInfo])

    @strawberry.field(description="Topics of a community (all when topicIDList is empty).")
    async def getTopicInfoList(
        self, info: Ctx, groupID: str, topicIDList: list[str] | None = None
    ) -> list[TopicInfoResult]:
        found = await (await info.context.session()).get_topic_info_list(groupID, topicIDList)
        return gql(found, list[TopicInfoResult])

    @strawberry.field(description="A group's counters (all when keys is empty).")
    async def getGroupCounters(self, info: Ctx, groupID: str, keys: list[str] | None = None) -> list[GroupCounter]:
        found = await (await info.context.session()).get_group_counters(groupID, keys)
        return gql(found, list[GroupCounter])


@strawberry.type
class GroupMutation:
    @strawberry.mutation(description="Create a group; returns its groupID (generated ones start with @TGS#).")
    async def createGroup(
        self,
        info: Ctx,
        groupName: str,
        groupType: GroupType,
        groupID: str | None = None,
        notification: str | None = None,
        introduction: str | None = None,
        faceURL: str | None = None,
        addOpt: GroupAdd | None = None,
        isAllMuted: bool | None = None,
        isSupportTopic: bool | None = None,
        memberListMap: list[CreateGroupMemberInfoInput] | None = None,
        approveOpt: GroupAdd | None = None,
    ) -> str:
        members = [im.CreateGroupMember(userID=m.userID, role=m.role) for m in memberListMap or []]
        return await (await info.context.session()).create_group(
            groupType,
            groupID,
            groupName,
            notification=notification or "",
            introduction=introduction or "",
            face_url=faceURL or "",
            add_opt=addOpt,
            approve_opt=approveOpt,
            is_all_muted=bool(isAllMuted),
            is_support_topic=bool(isSupportTopic),
            members=members,
        )

    @strawberry.mutation(description="Join a group (Public groups with approval: a request the managers answer).")
    async def joinGroup(self, info: Ctx, groupID: str, message: str | None = None) -> bool:
        await (await info.context.session()).join_group(groupID, message or "")
        return True

    @strawberry.mutation(description="Leave a group (the owner cannot: 10009).")
    async def quitGroup(self, info: Ctx, groupID: str) -> bool:
        await (await info.context.session()).quit_group(groupID)
        return True

    @strawberry.mutation(description="Dismiss a group (the owner only).")
    async def dismissGroup(self, info: Ctx, groupID: str) -> bool:
        await (await info.context.session()).dismiss_group(groupID)
        return True

    @strawberry.mutation(
        description="Change a group's profile; each changed field is reported as a V2TIMGroupChangeInfo."
    )
    async def setGroupInfo(self, ctx: Ctx, info_: Annotated[GroupInfoInput, strawberry.argument(name="info")]) -> bool:
        # never called: build.py routes this field to resolve_set_group_info (schema.types.INFO_ARGUMENT)
        return await _set_group_info(ctx.context, info_)

    @strawberry.mutation(description="Replace all of a group's attributes (≤16 keys, 16 KB).")
    async def initGroupAttributes(self, info: Ctx, groupID: str, attributes: list[KeyValueInput]) -> bool:
        attrs = pairs_to_dict(attributes, "attributes") or {}
        await (await info.context.session()).init_group_attributes(groupID, attrs)
        return True

    @strawberry.mutation(description="Add or update some of a group's attributes.")
    async def setGroupAttributes(self, info: Ctx, groupID: str, attributes: list[KeyValueInput]) -> bool:
        attrs = pairs_to_dict(attributes, "attributes") or {}
        await (await info.context.session()).set_group_attributes(groupID, attrs)
        return True

    @strawberry.mutation(description="Delete some of a group's attributes (all when keys is null).")
    async def deleteGroupAttributes(self, info: Ctx, groupID: str, keys: list[str] | None = None) -> bool:
        await (await info.context.session()).delete_group_attributes(groupID, keys)
        return True

    @strawberry.mutation(description="Set a member's name card and custom fields (yours, or as owner/admin others').")
    async def setGroupMemberInfo(
        self,
        info: Ctx,
        groupID: str,
        userID: str,
        nameCard: str | None = None,
        customInfo: list[KeyValueInput] | None = None,
    ) -> bool:
        await (await info.context.session()).set_group_member_info(
            groupID, userID, nameCard, pairs_to_dict(customInfo, "customInfo")
        )
        return True

    @strawberry.mutation(
        description="Mute a member for `seconds` (0 unmutes); owner and admins only. A topic's ID as groupID mutes "
        "a member of its community in that topic only (TopicInfo.selfMuteTime)."
    )
    async def muteGroupMember(self, info: Ctx, groupID: str, userID: str, seconds: int) -> bool:
        await (await info.context.session()).mute_group_member(groupID, userID, seconds)
        return True

    @strawberry.mutation(description="Invite users; each gets a result (PENDING when the group approves invitations).")
    async def inviteUserToGroup(self, info: Ctx, groupID: str, userList: list[str]) -> list[GroupOperationResult]:
        results = await (await info.context.session()).invite_user_to_group(groupID, userList)
        return gql(results, list[GroupOperationResult])

    @strawberry.mutation(description="Remove members; each gets a result.")
    async def kickGroupMember(
        self,
        info: Ctx,
        groupID: str,
        memberList: list[str],
        reason: str | None = None,
        duration: int | None = None,
    ) -> list[GroupOperationResult]:
        results = await (await info.context.session()).kick_group_member(groupID, memberList, reason or "")
        return gql(results, list[GroupOperationResult])

    @strawberry.mutation(description="Make a member an admin or an ordinary member (the owner only).")
    async def setGroupMemberRole(self, info: Ctx, groupID: str, userID: str, role: GroupMemberRole) -> bool:
        await (await info.context.session()).set_group_member_role(groupID, userID, role)
        return True

    @strawberry.mutation(description="Add or remove a numeric mark on members.")
    async def markGroupMemberList(
        self,
        info: Ctx,
        groupID: str,
        memberIDList: list[str],
        markType: int,
        enableMark: bool | None = None,
    ) -> bool:
        await (await info.context.session()).mark_group_member_list(groupID, memberIDList, markType, bool(enableMark))
        return True

    @strawberry.mutation(description="Make another member the owner (the owner only).")
    async def transferGroupOwner(self, info: Ctx, groupID: str, userID: str) -> bool:
        await (await info.context.session()).transfer_group_owner(groupID, userID)
        return True

    @strawberry.mutation(description="Accept a join request (as owner/admin) or an invitation (as its invitee).")
    async def acceptGroupApplication(
        self,
        info: Ctx,
        groupID: str,
        fromUser: str,
        toUser: str | None = None,
        reason: str | None = None,
    ) -> bool:
        await (await info.context.session()).accept_group_application(groupID, fromUser, toUser or "", reason or "")
        return True

    @strawberry.mutation(description="Refuse a join request or an invitation.")
    async def refuseGroupApplication(
        self,
        info: Ctx,
        groupID: str,
        fromUser: str,
        toUser: str | None = None,
        reason: str | None = None,
    ) -> bool:
        await (await info.context.session()).refuse_group_application(groupID, fromUser, toUser or "", reason or "")
        return True

    @strawberry.mutation(description="Mark group applications read.")
    async def setGroupApplicationRead(self, info: Ctx) -> bool:
        await (await info.context.session()).set_group_application_read()
        return True

    @strawberry.mutation(description="Create a topic in a community; returns its topicID (<groupID>@TOPIC#_...).")
    async def createTopicInCommunity(self, info: Ctx, groupID: str, topicInfo: TopicInfoInput) -> str:
        return await (await info.context.session()).create_topic_in_community(groupID, topicInfo.to_domain())

    @strawberry.mutation(description="Delete topics from a community.")
    async def deleteTopicFromCommunity(
        self, info: Ctx, groupID: str, topicIDList: list[str]
    ) -> list[TopicOperationResult]:
        results = await (await info.context.session()).delete_topic_from_community(groupID, topicIDList)
        return gql(results, list[TopicOperationResult])

    @strawberry.mutation(description="Change a topic's info.")
    async def setTopicInfo(self, info: Ctx, groupID: str, topicInfo: TopicInfoInput) -> bool:
        await (await info.context.session()).set_topic_info(groupID, topicInfo.to_domain())
        return True

    @strawberry.mutation(description="Set group counters; returns them.")
    async def setGroupCounters(self, info: Ctx, groupID: str, counters: list[GroupCounterInput]) -> list[GroupCounter]:
        result = await (await info.context.session()).set_group_counters(groupID, _counters(counters))
        return gql(result, list[GroupCounter])

    @strawberry.mutation(description="Add `value` to a counter (from 0 if new), atomically; returns the new value.")
    async def increaseGroupCounter(self, info: Ctx, groupID: str, key: str, value: int) -> list[GroupCounter]:
        result = await (await info.context.session()).change_group_counter(groupID, key, value)
        return gql(result, list[GroupCounter])

    @strawberry.mutation(description="Subtract `value` from a counter, atomically; returns the new value.")
    async def decreaseGroupCounter(self, info: Ctx, groupID: str, key: str, value: int) -> list[GroupCounter]:
        result = await (await info.context.session()).change_group_counter(groupID, key, -value)
        return gql(result, list[GroupCounter])


async def _set_group_info(context: IMContext, given: GroupInfoInput) -> bool:
    changes = im.GroupInfoChanges(
        groupName=given.groupName,
        notification=given.notification,
        introduction=given.introduction,
        faceUrl=given.faceUrl,
        addOpt=given.addOpt,
        approveOpt=given.approveOpt,
        isAllMuted=given.isAllMuted,
    )
    await (await context.session()).set_group_info(given.groupID, changes)
    return True


async def resolve_set_group_info(
    _source: object, info: GraphQLResolveInfo[IMContext], info_argument: dict[str, Any] | None = None
) -> bool:
    """setGroupInfo as graphql-core calls it (see schema.types.INFO_ARGUMENT)."""
    given = need(info_argument, "info")
    return await _set_group_info(info.context, GroupInfoInput(**given))
