"""Table-driven: each group operation × each role × each group type → allowed, or the exact code.

The expected table is written out here independently of gateway/engine/groups/permissions.py, from
the SDK's documented rules, and each cell is exercised on the real engine and Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.errors import Code, IMError
from gateway.im.enums import GroupAdd, GroupMemberRole, GroupType
from gateway.im.groups import GroupInfoChanges, TopicInfo
from gateway.services import Gateway

TYPES = ["Work", "Public", "Meeting", "Community", "AVChatRoom"]
ROLES = ["owner", "admin", "member", "outsider"]
OK = 0
NO = Code.ERR_NO_PERMISSION
BAD = Code.ERR_GROUP_INVALID_PARAMETERS

# op → {group type → {role → expected}}; "*" is every type not listed
EXPECTED: dict[str, dict[str, dict[str, int]]] = {
    "setGroupInfo": {
        "Work": {"owner": OK, "admin": OK, "member": OK, "outsider": NO},
        "*": {"owner": OK, "admin": OK, "member": NO, "outsider": NO},
    },
    "muteAll": {"*": {"owner": OK, "admin": OK, "member": NO, "outsider": NO}},
    "muteGroupMember": {"*": {"owner": OK, "admin": OK, "member": NO, "outsider": NO}},
    "kickGroupMember": {
        "Work": {"owner": OK, "admin": NO, "member": NO, "outsider": NO},
        "*": {"owner": OK, "admin": OK, "member": NO, "outsider": NO},
    },
    "inviteUserToGroup": {
        "Work": {"owner": OK, "admin": OK, "member": OK, "outsider": NO},
        "Community": {"owner": NO, "admin": NO, "member": NO, "outsider": NO},
        "AVChatRoom": {"owner": NO, "admin": NO, "member": NO, "outsider": NO},
        "*": {"owner": OK, "admin": OK, "member": NO, "outsider": NO},
    },
    "setGroupMemberRole": {
        "Work": {"owner": BAD, "admin": NO, "member": NO, "outsider": NO},  # Work groups have no admins
        "*": {"owner": OK, "admin": NO, "member": NO, "outsider": NO},
    },
    "transferGroupOwner": {"*": {"owner": OK, "admin": NO, "member": NO, "outsider": NO}},
    "dismissGroup": {"*": {"owner": OK, "admin": NO, "member": NO, "outsider": NO}},
    "setGroupAttributes": {"*": {"owner": OK, "admin": OK, "member": OK, "outsider": NO}},
    "increaseGroupCounter": {
        "Community": {"owner": BAD, "admin": BAD, "member": BAD, "outsider": BAD},
        "*": {"owner": OK, "admin": OK, "member": OK, "outsider": NO},
    },
    "createTopicInCommunity": {
        "Community": {"owner": OK, "admin": OK, "member": NO, "outsider": NO},
        "*": {"owner": BAD, "admin": BAD, "member": BAD, "outsider": BAD},
    },
    "markGroupMemberList": {"*": {"owner": OK, "admin": OK, "member": NO, "outsider": NO}},
    "setOthersMemberInfo": {"*": {"owner": OK, "admin": OK, "member": NO, "outsider": NO}},
}


def expected(op: str, group_type: str, role: str) -> int:
    if group_type == "Work" and role == "admin":
        role = "member"  # Work groups have no admins: the "admin" user is an ordinary member there
    table = EXPECTED[op]
    return table.get(group_type, table["*"])[role]


@pytest.fixture
async def gw(settings: Settings) -> AsyncIterator[Gateway]:
    gateway = Gateway.build(settings, clock=ManualClock())
    await gateway.start()
    for user in ("owner", "admin", "member", "outsider", "target", "newbie"):
        await gateway.backend.accounts.ensure_account(user)
    yield gateway
    await gateway.close()


async def make_group(gw: Gateway, group_type: str) -> str:
    groups = gw.backend.groups
    kind = GroupType(group_type)
    gid = await groups.create_group(
        "owner",
        kind,
        None,
        "table",
        is_support_topic=kind == GroupType.V2TIM_GROUP_TYPE_COMMUNITY,
        approve_opt=GroupAdd.V2TIM_GROUP_ADD_ANY
        if kind not in (GroupType.V2TIM_GROUP_TYPE_COMMUNITY, GroupType.V2TIM_GROUP_TYPE_AVCHATROOM)
        else None,
    )
    # admins need a type that has them: every type but Work
    for user in ("admin", "member", "target"):
        if kind in (GroupType.V2TIM_GROUP_TYPE_WORK,):
            await groups.invite_user_to_group("owner", gid, [user])
        else:
            await groups.join_group(user, gid, "") if kind != GroupType.V2TIM_GROUP_TYPE_PUBLIC else await _join_public(
                gw, gid, user
            )
    if kind != GroupType.V2TIM_GROUP_TYPE_WORK:
        await groups.set_group_member_role("owner", gid, "admin", GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN)
    return gid


async def _join_public(gw: Gateway, gid: str, user: str) -> None:
    await gw.backend.groups.join_group(user, gid, "please")
    await gw.backend.groups.accept_group_application("owner", gid, user, "", "welcome")


def operation(op: str) -> Callable[[Gateway, str, str], Awaitable[Any]]:
    async def run(gw: Gateway, actor: str, gid: str) -> Any:
        g = gw.backend.groups
        match op:
            case "setGroupInfo":
                return await g.set_group_info(actor, gid, GroupInfoChanges(introduction=f"by {actor}"))
            case "muteAll":
                return await g.set_group_info(actor, gid, GroupInfoChanges(isAllMuted=True))
            case "muteGroupMember":
                return await g.mute_group_member(actor, gid, "target", 60)
            case "kickGroupMember":
                results = await g.kick_group_member(actor, gid, ["target"], "")
                assert results[0].result == 1, results
                return results
            case "inviteUserToGroup":
                return await g.invite_user_to_group(actor, gid, ["newbie"])
            case "setGroupMemberRole":
                return await g.set_group_member_role(
                    actor, gid, "target", GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN
                )
            case "transferGroupOwner":
                return await g.transfer_group_owner(actor, gid, "target")
            case "dismissGroup":
                return await g.dismiss_group(actor, gid)
            case "setGroupAttributes":
                return await g.set_group_attributes(actor, gid, {"k": actor})
            case "increaseGroupCounter":
                return await g.change_group_counter(actor, gid, "likes", 1)
            case "createTopicInCommunity":
                return await g.create_topic_in_community(actor, gid, TopicInfo(topicID="", topicName="t"))
            case "markGroupMemberList":
                return await g.mark_group_member_list(actor, gid, ["target"], 1, True)
            case "setOthersMemberInfo":
                return await g.set_group_member_info(actor, gid, "target", "card", None)
        raise AssertionError(op)

    return run


@pytest.mark.parametrize("group_type", TYPES)
async def test_permission_table(gw: Gateway, group_type: str) -> None:
    failures = []
    for op in EXPECTED:
        for role in ROLES:
            gid = await make_group(gw, group_type)
            want = expected(op, group_type, role)
            try:
                await operation(op)(gw, role, gid)
                got = OK
            except IMError as exc:
                got = exc.code
            if got != want:
                failures.append(f"{op} by {role} in {group_type}: expected {want}, got {got}")
    assert not failures, "\n".join(failures)


async def test_admins_act_on_ordinary_members_only(gw: Gateway) -> None:
    gid = await make_group(gw, "Public")
    g = gw.backend.groups
    await g.set_group_member_role("owner", gid, "target", GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN)
    with pytest.raises(IMError) as refused:
        await g.mute_group_member("admin", gid, "target", 60)
    assert refused.value.code == NO
    results = await g.kick_group_member("admin", gid, ["target", "owner", "member"], "")
    assert [r.result for r in results] == [0, 0, 1]  # FAIL, FAIL, SUCC
    with pytest.raises(IMError) as refused:
        await g.quit_group("owner", gid)
    assert refused.value.code == Code.ERR_GROUP_OWNER_CANNOT_QUIT
