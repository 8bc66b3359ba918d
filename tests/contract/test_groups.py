"""GroupManager: create, join and invite, the member list, roles, kick, quit, dismiss."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.backend import IMBackend
from gateway.errors import Code
from gateway.im.enums import GroupAdd, GroupMemberFilter, GroupMemberOperationResult, GroupMemberRole, GroupType
from gateway.im.events import (
    OnApplicationProcessed,
    OnGrantAdministrator,
    OnGroupCreated,
    OnGroupDismissed,
    OnMemberEnter,
    OnMemberInfoChanged,
    OnMemberInvited,
    OnMemberKicked,
    OnMemberLeave,
    OnQuitFromGroup,
    OnReceiveJoinApplication,
    OnRecvNewMessage,
)
from tests.contract.conftest import Device, refused, send_group_text, texts

pytestmark = pytest.mark.families("groups")

Listen = Callable[[str], Awaitable[Device]]
ALL = GroupMemberFilter.V2TIM_GROUP_MEMBER_FILTER_ALL
MEETING = GroupType.V2TIM_GROUP_TYPE_MEETING
WORK = GroupType.V2TIM_GROUP_TYPE_WORK
OK = GroupMemberOperationResult.OPERATION_RESULT_SUCC


async def members(backend: IMBackend, user: str, group_id: str) -> dict[str, GroupMemberRole]:
    page = await backend.groups.get_group_member_list(user, group_id, ALL, 0)
    return {m.userID: m.role for m in page.memberInfoList}


async def test_create_makes_the_creator_owner(backend: IMBackend, listen: Listen) -> None:
    alice = await listen("alice")
    gid = await backend.groups.create_group("alice", MEETING, None, "book club")
    assert (await alice.wait_for(OnGroupCreated)).groupID == gid
    assert await members(backend, "alice", gid) == {"alice": GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_OWNER}
    [result] = await backend.groups.get_groups_info([gid])
    assert result.resultCode == 0
    assert result.groupInfo is not None
    assert (result.groupInfo.groupName, result.groupInfo.owner) == ("book club", "alice")
    assert [g.groupID for g in await backend.groups.get_joined_group_list("alice")] == [gid]
    assert await refused(backend.groups.create_group("bob", MEETING, "@TGS#mine", "x")) == Code.ERR_GROUP_ID_INVALID
    assert await backend.groups.create_group("alice", MEETING, "club-1", "named") == "club-1"
    assert await refused(backend.groups.create_group("bob", MEETING, "club-1", "mine")) == Code.ERR_GROUP_ID_TAKEN
    assert await refused(backend.groups.create_group("bob", MEETING, None, "")) == Code.ERR_GROUP_INVALID_PARAMETERS


async def test_join_tells_the_members_and_messages_reach_them(backend: IMBackend, listen: Listen) -> None:
    gid = await backend.groups.create_group("alice", MEETING, None, "open")
    alice = await listen("alice")
    await backend.groups.join_group("bob", gid, "hello")
    entered = await alice.wait_for(OnMemberEnter)
    assert (entered.groupID, [m.userID for m in entered.memberList]) == (gid, ["bob"])
    assert set(await members(backend, "bob", gid)) == {"alice", "bob"}
    assert await refused(backend.groups.join_group("bob", gid, "")) == Code.ERR_ALREADY_GROUP_MEMBER
    assert await refused(backend.groups.join_group("bob", "no-such-group", "")) == Code.ERR_GROUP_NOT_FOUND
    await send_group_text(backend, "bob", gid, "hi all")
    received = (await alice.wait_for(OnRecvNewMessage, lambda e: e.message.textElem is not None)).message
    assert (received.groupID, texts([received])) == (gid, ["hi all"])
    assert "hi all" in texts(await backend.messages.get_group_history_message_list("alice", gid, 10))


async def test_invite_into_a_work_group(backend: IMBackend, listen: Listen) -> None:
    gid = await backend.groups.create_group("alice", WORK, None, "team")
    assert await refused(backend.groups.join_group("bob", gid, "")) == Code.ERR_NO_PERMISSION
    alice, bob = await listen("alice"), await listen("bob")
    results = await backend.groups.invite_user_to_group("alice", gid, ["bob", "ghost"])
    assert [(r.memberID, r.result) for r in results] == [
        ("bob", OK),
        ("ghost", GroupMemberOperationResult.OPERATION_RESULT_FAIL),
    ]
    for device in (alice, bob):
        invited = await device.wait_for(OnMemberInvited)
        assert (invited.opUser.userID, [m.userID for m in invited.memberList]) == ("alice", ["bob"])
    assert set(await members(backend, "alice", gid)) == {"alice", "bob"}
    assert await refused(backend.groups.invite_user_to_group("carol", gid, ["carol"])) == Code.ERR_NO_PERMISSION


async def test_roles_and_who_may_kick(backend: IMBackend, listen: Listen) -> None:
    gid = await backend.groups.create_group("alice", MEETING, None, "ranked")
    for user in ("bob", "carol"):
        await backend.groups.join_group(user, gid, "")
    # a plain member may neither grant roles nor kick
    admin = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN
    assert await refused(backend.groups.set_group_member_role("carol", gid, "bob", admin)) == Code.ERR_NO_PERMISSION
    assert await refused(backend.groups.kick_group_member("carol", gid, ["bob"], "")) == Code.ERR_NO_PERMISSION
    carol = await listen("carol")
    await backend.groups.set_group_member_role("alice", gid, "bob", admin)
    granted = await carol.wait_for(OnGrantAdministrator)
    assert (granted.opUser.userID, [m.userID for m in granted.memberList]) == ("alice", ["bob"])
    assert (await members(backend, "carol", gid))["bob"] == admin
    # an admin kicks a member, not the owner
    results = await backend.groups.kick_group_member("bob", gid, ["carol", "alice"], "bye")
    assert [(r.memberID, r.result) for r in results] == [
        ("carol", OK),
        ("alice", GroupMemberOperationResult.OPERATION_RESULT_FAIL),
    ]
    kicked = await carol.wait_for(OnMemberKicked)  # the kicked member is told too
    assert (kicked.groupID, kicked.opUser.userID, [m.userID for m in kicked.memberList]) == (gid, "bob", ["carol"])
    assert set(await members(backend, "alice", gid)) == {"alice", "bob"}
    assert await backend.groups.get_joined_group_list("carol") == []


async def test_quit_tells_the_others_and_the_quitter(backend: IMBackend, listen: Listen) -> None:
    gid = await backend.groups.create_group("alice", MEETING, None, "revolving door")
    await backend.groups.join_group("bob", gid, "")
    alice, bob = await listen("alice"), await listen("bob")
    assert await refused(backend.groups.quit_group("alice", gid)) == Code.ERR_GROUP_OWNER_CANNOT_QUIT
    await backend.groups.quit_group("bob", gid)
    assert (await alice.wait_for(OnMemberLeave)).member.userID == "bob"
    assert (await bob.wait_for(OnQuitFromGroup)).groupID == gid
    assert set(await members(backend, "alice", gid)) == {"alice"}


async def test_dismiss_tells_every_member_and_the_group_is_gone(backend: IMBackend, listen: Listen) -> None:
    gid = await backend.groups.create_group("alice", MEETING, None, "short lived")
    await backend.groups.join_group("bob", gid, "")
    bob = await listen("bob")
    assert await refused(backend.groups.dismiss_group("bob", gid)) == Code.ERR_NO_PERMISSION
    await backend.groups.dismiss_group("alice", gid)
    dismissed = await bob.wait_for(OnGroupDismissed)
    assert (dismissed.groupID, dismissed.opUser.userID) == (gid, "alice")
    [result] = await backend.groups.get_groups_info([gid])
    assert result.resultCode == Code.ERR_GROUP_NOT_FOUND
    assert await backend.groups.get_joined_group_list("bob") == []
    assert await refused(backend.groups.get_group_member_list("alice", gid, ALL, 0)) == Code.ERR_GROUP_NOT_FOUND


async def test_a_muted_member_cannot_send(backend: IMBackend, listen: Listen) -> None:
    gid = await backend.groups.create_group("alice", MEETING, None, "quiet please")
    await backend.groups.join_group("bob", gid, "")
    bob = await listen("bob")
    assert await refused(backend.groups.mute_group_member("bob", gid, "alice", 60)) == Code.ERR_NO_PERMISSION
    await backend.groups.mute_group_member("alice", gid, "bob", 60)
    changed = await bob.wait_for(OnMemberInfoChanged)
    assert [(c.userID, c.muteTime) for c in changed.groupMemberChangeInfoList] == [("bob", 60)]
    assert await refused(send_group_text(backend, "bob", gid, "psst")) == Code.ERR_GROUP_MEMBER_MUTED
    assert await refused(send_group_text(backend, "carol", gid, "hi")) == Code.ERR_NO_PERMISSION


async def test_a_join_application_is_handled_by_the_owner(backend: IMBackend, listen: Listen) -> None:
    gid = await backend.groups.create_group(
        "alice", GroupType.V2TIM_GROUP_TYPE_PUBLIC, None, "by approval", add_opt=GroupAdd.V2TIM_GROUP_ADD_AUTH
    )
    alice, bob = await listen("alice"), await listen("bob")
    await backend.groups.join_group("bob", gid, "let me in")
    application = await alice.wait_for(OnReceiveJoinApplication)
    assert (application.groupID, application.member.userID, application.opReason) == (gid, "bob", "let me in")
    assert set(await members(backend, "alice", gid)) == {"alice"}
    await backend.groups.accept_group_application("alice", gid, "bob", "alice", "welcome")
    processed = await bob.wait_for(OnApplicationProcessed)
    assert (processed.opUser.userID, processed.isAgreeJoin, processed.opReason) == ("alice", True, "welcome")
    assert [m.userID for m in (await alice.wait_for(OnMemberEnter)).memberList] == ["bob"]
    assert set(await members(backend, "alice", gid)) == {"alice", "bob"}
    again = backend.groups.accept_group_application("alice", gid, "bob", "alice", "")
    assert await refused(again) == Code.ERR_GROUP_APPLICATION_HANDLED
