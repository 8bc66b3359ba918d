"""Groups from Tencent's webhooks into the mirror: lifecycle, membership and profiles.

Each applier writes through the mirror's REST v4 server with Tencent's own body for the change
(create → add_group_member of the initial members, destroy_group, add_group_member,
delete_group_member, modify_group_base_info, change_group_owner, modify_group_member_info), with a
report of what the webhook says beyond that body (`UpstreamReport`: who acted, a join by
application or a quit rather than an invitation or a kick), so imql users hear what an SDK user
would: onMemberEnter for a native user's join, opUser the native operator.

A group the mirror has never seen is imported whole from Tencent first (get_group_info and
get_group_member_info, by `MirrorWrites.know_groups`), and the members the webhook reports joining
are announced as joining. Every applier is idempotent: it compares with
the mirror and writes only what differs, so the echo of the gateway's own write, if it was not
dropped as one, publishes nothing a second time.
"""

from __future__ import annotations

from typing import Any

from gateway.tencent.inbound import (
    GroupAttrChanged,
    GroupCreated,
    GroupDestroyed,
    GroupInfoChanged,
    GroupMemberFieldChanged,
    GroupMembersJoined,
    GroupMembersLeft,
    GroupOwnerChanged,
)
from gateway.tencent.mirror_writes import Applier, MirrorWrites
from gateway.upstream import UpstreamReport

SVC = "group_open_http_svc"
APPLY = "Apply"  # JoinType of a member who joined by themselves (a free join or an accepted application)
QUIT = "Quit"  # ExitType of a member who left by themselves
SETTABLE_ROLES = ("Admin", "Member")  # the owner changes by change_group_owner only
BASE_INFO = ["Type", "Name", "Introduction", "Notification", "FaceUrl", "Owner_Account"]
# members of live-stream rooms are online SDK connections: imql users are never among them, and
# the mirror keeps no roster of them (MAPPING.md section 10, gap 1)
AVCHATROOM = "AVChatRoom"


async def mirrored(mirror: MirrorWrites, group_id: str) -> dict[str, Any] | None:
    """The mirror's base info of the group, or None when the mirror has not got it."""
    body = {"GroupIdList": [group_id], "ResponseFilter": {"GroupBaseInfoFilter": BASE_INFO}}
    answer = await mirror.apply(f"{SVC}/get_group_info", body)
    (item,) = answer["GroupInfo"]
    return item if item.get("ErrorCode", 0) == 0 else None


async def mirrored_members(mirror: MirrorWrites, group_id: str, user_ids: tuple[str, ...]) -> dict[str, Any]:
    """The mirror's member rows of those of `user_ids` in the group, by account."""
    if not user_ids:
        return {}
    answer = await mirror.apply(
        f"{SVC}/get_specified_group_member_info", {"GroupId": group_id, "Member_List_Account": list(user_ids)}
    )
    return {row["Member_Account"]: row for row in answer.get("MemberList", [])}


async def group_created(mirror: MirrorWrites, event: GroupCreated) -> None:
    """A group the mirror knows was created through it (or imported): nothing newer to learn. A new
    one is imported without its initial members, who are then added as invited by the creator."""
    if await mirrored(mirror, event.group_id) is not None:
        return
    members = tuple(m for m in event.members if m and m != event.owner)
    await mirror.know_accounts(event.operator)
    await mirror.know_groups(event.group_id, joined=members, operator=event.operator or event.owner)


async def group_destroyed(mirror: MirrorWrites, event: GroupDestroyed) -> None:
    """onGroupDismissed, with the owner as opUser (the callback names no operator)."""
    if await mirrored(mirror, event.group_id) is None:
        return  # never known here: nobody to tell
    await mirror.apply(f"{SVC}/destroy_group", {"GroupId": event.group_id}, UpstreamReport(operator=event.owner))


async def members_joined(mirror: MirrorWrites, event: GroupMembersJoined) -> None:
    if event.group_type == AVCHATROOM:
        return
    by_self = event.join_type == APPLY
    if await mirrored(mirror, event.group_id) is None:
        # imported as Tencent has it now, these members (with their roles) included and announced
        await mirror.know_accounts(event.operator)
        await mirror.know_groups(event.group_id, joined=event.members, operator=event.operator, by_self=by_self)
        return
    await _add(mirror, event.group_id, event.members, operator=event.operator, by_self=by_self)


async def _add(mirror: MirrorWrites, group_id: str, members: tuple[str, ...], *, operator: str, by_self: bool) -> None:
    """add_group_member of those not members in the mirror yet (members already there: nothing)."""
    present = await mirrored_members(mirror, group_id, members)
    joining = [m for m in dict.fromkeys(members) if m and m not in present]
    if not joining:
        return
    await mirror.know_accounts(*joining, operator)
    body = {"GroupId": group_id, "MemberList": [{"Member_Account": m} for m in joining]}
    await mirror.apply(f"{SVC}/add_group_member", body, UpstreamReport(operator=operator, by_self=by_self))


async def members_left(mirror: MirrorWrites, event: GroupMembersLeft) -> None:
    """Quit: onMemberLeave (and onQuitFromGroup to the member's own sessions); Kicked: onMemberKicked."""
    if event.group_type == AVCHATROOM:
        return
    if await mirrored(mirror, event.group_id) is None:
        return  # never known here: an import now would show them gone already
    leaving = list(await mirrored_members(mirror, event.group_id, event.members))
    if not leaving:
        return
    report = UpstreamReport(operator=event.operator, by_self=event.exit_type == QUIT)
    body = {"GroupId": event.group_id, "MemberToDel_Account": leaving}
    await mirror.apply(f"{SVC}/delete_group_member", body, report)


async def info_changed(mirror: MirrorWrites, event: GroupInfoChanged) -> None:
    """onGroupInfoChanged of what differs from the mirror (name, introduction, notification, face)."""
    current = await mirrored(mirror, event.group_id)
    if current is None:
        await mirror.know_groups(event.group_id)  # imported as it is now: nothing to announce
        return
    given = {
        "Name": event.name,
        "Introduction": event.introduction,
        "Notification": event.notification,
        "FaceUrl": event.face_url,
    }
    changed = {k: v for k, v in given.items() if v is not None and current.get(k) != v and (v or k != "Name")}
    if changed:
        body = {"GroupId": event.group_id, **changed}
        await mirror.apply(f"{SVC}/modify_group_base_info", body, UpstreamReport(operator=event.operator))


async def owner_changed(mirror: MirrorWrites, event: GroupOwnerChanged) -> None:
    current = await mirrored(mirror, event.group_id)
    if current is None:
        await mirror.know_groups(event.group_id)
        return
    if current.get("Owner_Account") == event.new_owner:
        return
    if not await mirrored_members(mirror, event.group_id, (event.new_owner,)):
        # the mirror missed their joining: they are added (as invited) before they take over
        await _add(mirror, event.group_id, (event.new_owner,), operator=event.operator, by_self=False)
    body = {"GroupId": event.group_id, "NewOwner_Account": event.new_owner}
    await mirror.apply(f"{SVC}/change_group_owner", body, UpstreamReport(operator=event.operator))


async def member_field_changed(mirror: MirrorWrites, event: GroupMemberFieldChanged) -> None:
    """onGrantAdministrator / onRevokeAdministrator for a role that differs; a name card is kept."""
    if await mirrored(mirror, event.group_id) is None:
        await mirror.know_groups(event.group_id)
        return
    row = (await mirrored_members(mirror, event.group_id, (event.member,))).get(event.member)
    if row is None:
        return  # not a member in the mirror (its joining comes, or came, by its own webhook)
    body: dict[str, Any] = {"GroupId": event.group_id, "Member_Account": event.member}
    if event.role in SETTABLE_ROLES and row.get("Role") != event.role and row.get("Role") != "Owner":
        body["Role"] = event.role
    if event.name_card is not None and row.get("NameCard") != event.name_card:
        body["NameCard"] = event.name_card
    if len(body) > 2:
        await mirror.apply(f"{SVC}/modify_group_member_info", body, UpstreamReport(operator=event.operator))


async def attributes_changed(mirror: MirrorWrites, event: GroupAttrChanged) -> None:
    """onGroupAttributeChanged (the whole map) when the change leaves the mirror's map different."""
    if await mirrored(mirror, event.group_id) is None:
        await mirror.know_groups(event.group_id)  # imported with its attributes as they are now
        return
    found = await mirror.apply("group_open_attr_http_svc/get_group_attr", {"GroupId": event.group_id})
    current = {a["key"]: a["value"] for a in found.get("GroupAttrAry", [])}
    named = dict(event.attrs)
    report = UpstreamReport(operator=event.operator)
    command, body = "", {}
    if event.option_type == "set" and named != current:
        command, body = "set_group_attr", _attrs(named)
    elif event.option_type == "modify" and {**current, **named} != current:
        command, body = "modify_group_attr", _attrs({k: v for k, v in named.items() if current.get(k) != v})
    elif event.option_type == "delete" and (present := [k for k in named if k in current]):
        command, body = "delete_group_attr", {"GroupAttr": [{"key": k} for k in present]}
    elif event.option_type == "clear" and current:
        command = "clear_group_attr"
    if command:
        await mirror.apply(f"{SVC}/{command}", {"GroupId": event.group_id, **body}, report)


def _attrs(attributes: dict[str, str]) -> dict[str, Any]:
    return {"GroupAttr": [{"key": k, "value": v} for k, v in attributes.items()]}


APPLIERS: dict[type[Any], Applier] = {
    GroupAttrChanged: attributes_changed,
    GroupCreated: group_created,
    GroupDestroyed: group_destroyed,
    GroupMembersJoined: members_joined,
    GroupMembersLeft: members_left,
    GroupInfoChanged: info_changed,
    GroupOwnerChanged: owner_changed,
    GroupMemberFieldChanged: member_field_changed,
}
