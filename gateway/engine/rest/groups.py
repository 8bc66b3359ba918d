"""Groups: `group_open_http_svc/*` (lifecycle, profile, members, roles, mutes, owner, attributes,
counters), `group_open_attr_http_svc/*` (attributes) and `million_group_open_http_svc/*` (topics).

The app admin is no member of the groups it manages and skips role checks, as on Tencent: each
write runs the engine's own operation with `app_admin=True`, so members hear of it exactly as of
the SDK call (tips message and groupListener event), with the admin as the operator. Type, role,
join-option and message-flag names are Tencent's (group_views.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.digits import is_digits
from gateway.engine.groups.extras import COUNTER_VALUE_MAX, COUNTER_VALUE_MIN
from gateway.engine.groups.members import INVALID as ALREADY_MEMBER
from gateway.engine.groups.members import MUTE_SECONDS_MAX
from gateway.engine.groups.members import OK as ADDED
from gateway.engine.groups.store import (
    AVCHATROOM,
    COMMUNITY,
    FACE_URL_MAX_BYTES,
    GROUP_ID_MAX_BYTES,
    GROUP_NAME_MAX_BYTES,
    INTRODUCTION_MAX_BYTES,
    NAME_CARD_MAX_BYTES,
    NOTIFICATION_MAX_BYTES,
    OWNER,
    WORK,
    GroupStore,
    member_dec,
)
from gateway.engine.rest.context import RestContext
from gateway.engine.rest.group_views import (
    BASE_FIELDS,
    GROUP_TYPES,
    JOIN_OPTIONS,
    MEMBER_FIELDS,
    MSG_FLAGS,
    ON_OFF,
    ROLE_NAMES,
    SETTABLE_ROLES,
    TYPE_NAMES,
    GroupViews,
    key_values,
    rest_error,
)
from gateway.engine.rest.registry import Commands
from gateway.errors import Code, IMError
from gateway.ids import topic_parent
from gateway.im.enums import GroupMemberRole
from gateway.im.groups import CreateGroupMember, GroupInfo, GroupInfoChanges, TopicInfo
from gateway.upstream import upstream_report
from gateway.v4.fields import Body

group_svc = Commands("group_open_http_svc", invalid_code=10004)
attr_svc = Commands("group_open_attr_http_svc", invalid_code=10004)
topic_svc = Commands("million_group_open_http_svc", invalid_code=10004)

REGISTRIES = (group_svc, attr_svc, topic_svc)

# Tencent's batch caps and sizes (MAPPING.md section 8)
CREATE_MEMBERS_MAX = 100
GROUP_INFO_IDS_MAX = 50
ADD_MEMBERS_MAX = 300
DELETE_MEMBERS_MAX = 100
SPECIFIED_MEMBERS_MAX = 50
FORBID_MEMBERS_MAX = 500
ROLE_QUERY_MAX = 500
MEMBER_PAGE_MAX = 6000
JOINED_PAGE_MAX = 5000
APPID_PAGE_MAX = 10000
COUNTERS_PER_CALL_MAX = 20
CUSTOM_KEY_MAX_BYTES = 16  # Tencent's custom group / member field names
CUSTOM_VALUE_MAX_BYTES = 4000
CUSTOM_FIELDS_MAX = 10
GROUP_ATTR_KEYS_MAX = 16
ATTR_KEY_MISSING = 10050  # delete_group_attr named a key the group has not
TOPIC_ID_MAX_BYTES = 96
TOPIC_NAME_MAX_BYTES = 150
TOPICS_PER_CALL_MAX = 100  # a community holds at most 100
ROLES_MEMBER = SETTABLE_ROLES["Member"]


def operator(ctx: RestContext) -> str:
    """The account shown as the operator of admin actions. The call does not say which admin
    made it, so the first of the app's admin accounts (the one media URLs are signed for). A
    change an upstream IM server reported (the Tencent backend's mirror applying a webhook) names
    its own operator: the native user who acted."""
    report = upstream_report()
    if report is not None and report.operator:
        return report.operator
    return min(ctx.admins, default="administrator")


def groups(ctx: RestContext) -> Any:
    return ctx.engine.groups


def store(ctx: RestContext) -> GroupStore:
    result: GroupStore = ctx.engine.groups.store
    return result


async def existing_group(ctx: RestContext, body: Body) -> GroupInfo:
    """The group named by `GroupId`, or 10010."""
    return await store(ctx).info(body.string("GroupId"))


async def require_accounts(ctx: RestContext, user_ids: Sequence[str], field: str) -> None:
    """10019 unless every account was imported (has a profile)."""
    known = await ctx.engine.profiles.exists(list(user_ids))
    missing = [u for u, ok in zip(user_ids, known, strict=True) if not ok]
    if missing:
        raise IMError(10019, f"{field}: no account {', '.join(map(repr, missing))}")


def custom_data(body: Body, name: str) -> dict[str, str] | None:
    """`[{Key, Value}]` as a dict (Value "" deletes the key where the command updates)."""
    items = body.objects(name, None, max_items=CUSTOM_FIELDS_MAX, min_items=0)
    if items is None:
        return None
    return {
        item.string("Key", max_bytes=CUSTOM_KEY_MAX_BYTES): item.string(
            "Value", max_bytes=CUSTOM_VALUE_MAX_BYTES, empty=True
        )
        for item in items
    }


def filter_list(body: Body, name: str, allowed: Sequence[str]) -> list[str] | None:
    """A ResponseFilter list of field names; unknown names are refused."""
    names = body.strings(name, None, max_items=len(allowed) + 10, min_items=0)
    unknown = [n for n in names or () if n not in allowed]
    if unknown:
        raise body.error(f"{name}: unknown field(s) {', '.join(unknown)}")
    return names  # type: ignore[no-any-return]


# ---- lifecycle ----------------------------------------------------------------------------------
@group_svc.command("create_group")
async def create_group(ctx: RestContext, body: Body) -> dict[str, Any]:
    """B22. Without Owner_Account the group has no owner (Owner_Account "" in its info), as on
    Tencent; the admin is the operator of the initial members' invitation tips."""
    owner = body.string("Owner_Account", None)
    group_type = body.choice("Type", GROUP_TYPES)
    group_id = body.string("GroupId", None)
    if group_id is not None and len(group_id.encode()) > GROUP_ID_MAX_BYTES:
        raise IMError(Code.ERR_GROUP_ID_INVALID, f"GroupId is over {GROUP_ID_MAX_BYTES} bytes")
    members = [
        CreateGroupMember(userID=item.string("Member_Account"), role=item.choice("Role", SETTABLE_ROLES, ROLES_MEMBER))
        for item in body.objects("MemberList", [], max_items=CREATE_MEMBERS_MAX, min_items=0)
    ]
    member_data = {
        item.string("Member_Account"): custom_data(item, "AppMemberDefinedData")
        for item in body.objects("MemberList", [], max_items=CREATE_MEMBERS_MAX, min_items=0)
    }
    if group_type == AVCHATROOM and members:
        raise body.error("MemberList: AVChatRoom groups start with no members")
    name = body.string("Name", max_bytes=GROUP_NAME_MAX_BYTES)
    notification = body.string("Notification", "", max_bytes=NOTIFICATION_MAX_BYTES, empty=True)
    introduction = body.string("Introduction", "", max_bytes=INTRODUCTION_MAX_BYTES, empty=True)
    face_url = body.string("FaceUrl", "", max_bytes=FACE_URL_MAX_BYTES, empty=True)
    add_opt = body.choice("ApplyJoinOption", JOIN_OPTIONS, None)
    all_muted = body.choice("MuteAllMember", ON_OFF, False)
    topics = group_type == COMMUNITY and body.flag("SupportTopic")
    max_members = body.integer("MaxMemberCount", None, lo=1)
    group_data = custom_data(body, "AppDefinedData")
    await require_accounts(ctx, [*([owner] if owner else []), *(m.userID for m in members)], "Member_Account")
    try:
        gid = await groups(ctx).create_group(
            owner,
            group_type,
            group_id,
            name,
            notification=notification,
            introduction=introduction,
            face_url=face_url,
            add_opt=add_opt,
            is_all_muted=all_muted,
            is_support_topic=topics,
            members=members,
            operator=operator(ctx),
            max_members=max_members,
            custom_info=group_data,
        )
    except IMError as exc:
        raise rest_error(exc) from exc
    for uid, data in member_data.items():
        # a member at their own group cap was not added: nothing to set for them
        if data and uid != owner and await store(ctx).member(gid, uid) is not None:
            await groups(ctx).set_group_member_info(operator(ctx), gid, uid, None, data, app_admin=True)
    answer: dict[str, Any] = {"GroupId": gid}
    if group_type == COMMUNITY:
        answer.update(HugeGroupFlag=0, Type=TYPE_NAMES[group_type])
    return answer


@group_svc.command("destroy_group")
async def destroy_group(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Members get onGroupDismissed with the admin as opUser."""
    group = await existing_group(ctx, body)
    await groups(ctx).dismiss_group(operator(ctx), group.groupID, app_admin=True)
    return {}


@group_svc.command("get_group_info")
async def get_group_info(ctx: RestContext, body: Body) -> dict[str, Any]:
    """B23: each group's base info, custom data and members, trimmed by ResponseFilter; a missing
    group is an item with ErrorCode 10010."""
    group_ids = body.strings("GroupIdList", max_items=GROUP_INFO_IDS_MAX)
    response_filter = body.object("ResponseFilter", None)
    base = member_fields = group_keys = member_keys = None
    if response_filter is not None:
        base = filter_list(response_filter, "GroupBaseInfoFilter", BASE_FIELDS)
        member_fields = filter_list(response_filter, "MemberInfoFilter", (*MEMBER_FIELDS, "AppMemberDefinedData"))
        group_keys = response_filter.strings("AppDefinedDataFilter_Group", None, max_items=100, min_items=0)
        member_keys = response_filter.strings("AppDefinedDataFilter_GroupMember", None, max_items=100, min_items=0)
    views = GroupViews(store(ctx), ctx.now())
    found = await store(ctx).infos(group_ids)
    answer = []
    for gid, group in zip(group_ids, found, strict=True):
        if group is None:
            answer.append({"GroupId": gid, "ErrorCode": Code.ERR_GROUP_NOT_FOUND, "ErrorInfo": f"no group {gid!r}"})
            continue
        view = await views.group(group, base)
        item: dict[str, Any] = {"GroupId": gid, "ErrorCode": 0, "ErrorInfo": ""}
        item.update(view)
        item["AppDefinedData"] = key_values(await store(ctx).group_custom_info(gid), group_keys)
        if response_filter is None or member_fields is not None or member_keys is not None:
            roster = await store(ctx).redis.zrange(store(ctx).keys.group_roster(gid), 0, -1)
            item["MemberList"] = await views.members(gid, roster, member_fields, member_keys)
        answer.append(item)
    return {"GroupInfo": answer}


@group_svc.command("modify_group_base_info")
async def modify_group_base_info(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Members get onGroupInfoChanged (and the info-change tips) for what changed."""
    group = await existing_group(ctx, body)
    changes = GroupInfoChanges(
        groupName=body.string("Name", None, max_bytes=GROUP_NAME_MAX_BYTES),
        introduction=body.string("Introduction", None, max_bytes=INTRODUCTION_MAX_BYTES, empty=True),
        notification=body.string("Notification", None, max_bytes=NOTIFICATION_MAX_BYTES, empty=True),
        faceUrl=body.string("FaceUrl", None, max_bytes=FACE_URL_MAX_BYTES, empty=True),
        addOpt=body.choice("ApplyJoinOption", JOIN_OPTIONS, None),
        isAllMuted=body.choice("MuteAllMember", ON_OFF, None),
    )
    custom = custom_data(body, "AppDefinedData")
    max_members = body.integer("MaxMemberNum", None, lo=1)
    if max_members is not None and max_members < group.memberCount:
        raise body.error(f"MaxMemberNum: the group has {group.memberCount} members already")
    if changes.addOpt is not None and changes.addOpt == group.addOpt:
        changes.addOpt = None  # unchanged: the engine refuses addOpt on the types whose rule is fixed
    try:
        await groups(ctx).set_group_info(operator(ctx), group.groupID, changes, app_admin=True, custom_info=custom)
    except IMError as exc:
        raise rest_error(exc) from exc
    if max_members is not None:
        await store(ctx).redis.hset(store(ctx).keys.group_info(group.groupID), "maxMemberNum", max_members)
    return {}


# ---- members ------------------------------------------------------------------------------------
def member_filters(body: Body) -> tuple[list[str] | None, list[str] | None]:
    fields = filter_list(body, "MemberInfoFilter", (*MEMBER_FIELDS, "AppMemberDefinedData"))
    custom = body.strings("AppDefinedDataFilter_GroupMember", None, max_items=100, min_items=0)
    return fields, custom


@group_svc.command("get_group_member_info")
async def get_group_member_info(ctx: RestContext, body: Body) -> dict[str, Any]:
    """B25: members in join order, by role if MemberRoleFilter; Limit/Offset, or Next (a cursor
    of join order, Tencent's Community paging)."""
    group = await existing_group(ctx, body)
    fields, custom = member_filters(body)
    roles = body.strings("MemberRoleFilter", None, max_items=3)
    if roles and any(r not in ROLE_NAMES.values() for r in roles):
        raise body.error("MemberRoleFilter: each must be Owner, Admin or Member")
    limit = body.integer("Limit", MEMBER_PAGE_MAX, lo=1, hi=MEMBER_PAGE_MAX)
    by_cursor = body.has("Next")
    cursor = body.string("Next", "", empty=True) if by_cursor else ""
    if cursor and not is_digits(cursor, 15):
        raise body.error("Next must be the Next of the previous page")
    offset = body.integer("Offset", 0, lo=0)
    s = store(ctx)
    roster = await s.redis.zrangebyscore(
        s.keys.group_roster(group.groupID), f"({cursor}" if cursor else "-inf", "+inf", withscores=True
    )
    if roles:
        records = await s.redis.hmget(s.keys.group_members(group.groupID), [uid for uid, _ in roster] or [""])
        wanted = {SETTABLE_ROLES.get(r, OWNER) for r in roles}
        roster = [
            (uid, score)
            for (uid, score), raw in zip(roster, records, strict=False)
            if raw and GroupMemberRole(member_dec.decode(raw).role) in wanted
        ]
    page = roster[:limit] if by_cursor else roster[offset : offset + limit]
    answer: dict[str, Any] = {
        "MemberNum": group.memberCount,
        "MemberList": await GroupViews(s, ctx.now()).members(group.groupID, [u for u, _ in page], fields, custom),
    }
    if by_cursor:
        answer["Next"] = str(int(page[-1][1])) if len(roster) > len(page) else ""
    return answer


@group_svc.command("get_specified_group_member_info")
async def get_specified_group_member_info(ctx: RestContext, body: Body) -> dict[str, Any]:
    """The named members (non-members are left out)."""
    group = await existing_group(ctx, body)
    accounts = body.strings("Member_List_Account", max_items=SPECIFIED_MEMBERS_MAX)
    fields, custom = member_filters(body)
    rows = await GroupViews(store(ctx), ctx.now()).members(group.groupID, list(dict.fromkeys(accounts)), fields, custom)
    return {"MemberList": rows}


@group_svc.command("add_group_member")
async def add_group_member(ctx: RestContext, body: Body) -> dict[str, Any]:
    """B26: Result 1 added, 2 already a member, 0 failed (no such account, or at their group cap).
    Members get onMemberInvited (the admin as opUser) unless Silence is 1; an upstream's report of
    members who joined by themselves gives onMemberEnter instead."""
    group = await existing_group(ctx, body)
    silent = body.flag("Silence")
    accounts = [item.string("Member_Account") for item in body.objects("MemberList", max_items=ADD_MEMBERS_MAX)]
    report = upstream_report()
    try:
        results = await groups(ctx).invite_user_to_group(
            operator(ctx),
            group.groupID,
            accounts,
            app_admin=True,
            silent=silent,
            entered=report is not None and report.by_self,
        )
    except IMError as exc:
        raise rest_error(exc) from exc
    codes = {ADDED: 1, ALREADY_MEMBER: 2}
    return {"MemberList": [{"Member_Account": r.memberID, "Result": codes.get(r.result, 0)} for r in results]}


@group_svc.command("delete_group_member")
async def delete_group_member(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Members (and those removed) get onMemberKicked with the admin as opUser, unless Silence is 1.
    The owner cannot be removed; accounts that are not members are skipped."""
    group = await existing_group(ctx, body)
    accounts = body.strings("MemberToDel_Account", max_items=DELETE_MEMBERS_MAX)
    reason = body.string("Reason", "", empty=True)
    silent = body.flag("Silence")
    if group.owner and group.owner in accounts:
        raise body.error(f"MemberToDel_Account: {group.owner!r} owns the group (change_group_owner first)")
    report = upstream_report()
    if report is not None and report.by_self and not silent:
        # an upstream's report of members who quit: onMemberLeave, as their own quitGroup gives
        for uid in dict.fromkeys(accounts):
            if await store(ctx).member(group.groupID, uid) is not None:
                await groups(ctx).quit_group(uid, group.groupID)
        return {}
    await groups(ctx).kick_group_member(operator(ctx), group.groupID, accounts, reason, app_admin=True, silent=silent)
    return {}


async def require_member(ctx: RestContext, group: GroupInfo, user_id: str, field: str) -> GroupMemberRole:
    record = await store(ctx).member(group.groupID, user_id)
    if record is None:
        raise IMError(Code.ERR_GROUP_INVALID_PARAMETERS, f"{field}: {user_id!r} is not a member of {group.groupID!r}")
    return GroupMemberRole(record.role)


def mute_seconds(body: Body, name: str) -> int:
    seconds: int = body.integer(name, lo=0, hi=MUTE_SECONDS_MAX)
    return seconds


@group_svc.command("modify_group_member_info")
async def modify_group_member_info(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Role (onGrantAdministrator / onRevokeAdministrator), MuteTime (onMemberInfoChanged),
    NameCard and AppMemberDefinedData, MsgFlag (the member's receive option). All is read and
    checked before anything is written."""
    group = await existing_group(ctx, body)
    target = body.string("Member_Account")
    role = body.choice("Role", SETTABLE_ROLES, None)
    name_card = body.string("NameCard", None, max_bytes=NAME_CARD_MAX_BYTES, empty=True)
    mute = mute_seconds(body, "MuteTime") if body.has("MuteTime") else None
    msg_flag = body.choice("MsgFlag", MSG_FLAGS, None)
    custom = custom_data(body, "AppMemberDefinedData")
    current = await require_member(ctx, group, target, "Member_Account")
    if current == OWNER and (role is not None or mute is not None):
        raise IMError(Code.ERR_NO_PERMISSION, "the owner's role and mute do not change here")
    if role is not None and role != current and group.groupType in (AVCHATROOM, WORK):
        raise body.error(f"Role: {TYPE_NAMES[group.groupType]} groups have no admins")
    engine, op = groups(ctx), operator(ctx)
    try:
        if name_card is not None or custom:
            await engine.set_group_member_info(op, group.groupID, target, name_card, custom, app_admin=True)
        if role is not None and role != current:
            await engine.set_group_member_role(op, group.groupID, target, role, app_admin=True)
        if mute is not None:
            await engine.mute_group_member(op, group.groupID, target, mute, app_admin=True)
    except IMError as exc:
        raise rest_error(exc) from exc
    if msg_flag is not None:
        await ctx.engine.messages.set_group_receive_message_opt(target, group.groupID, msg_flag)
    return {}


@group_svc.command("forbid_send_msg")
async def forbid_send_msg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Mute (MuteTime seconds; 0 unmutes) each member, as muteGroupMember does: onMemberInfoChanged
    and the member-info tips for each. With TopicId (MAPPING.md #75: a topic of the community
    GroupId names), in that topic only, as muteGroupMember naming the topic does: its tips go into
    the topic's conversation."""
    group = await existing_group(ctx, body)
    accounts = list(dict.fromkeys(body.strings("Members_Account", max_items=FORBID_MEMBERS_MAX)))
    seconds = mute_seconds(body, "MuteTime")
    topic_id = body.string("TopicId", "", max_bytes=TOPIC_ID_MAX_BYTES, empty=True)
    if topic_id and topic_parent(topic_id) != group.groupID:
        raise body.error(f"TopicId: {topic_id!r} is not a topic of {group.groupID!r}")
    for uid in accounts:
        if await require_member(ctx, group, uid, "Members_Account") == OWNER:
            raise IMError(Code.ERR_NO_PERMISSION, f"Members_Account: {uid!r} owns the group and cannot be muted")
    for uid in accounts:
        await groups(ctx).mute_group_member(operator(ctx), topic_id or group.groupID, uid, seconds, app_admin=True)
    return {}


@group_svc.command("get_group_muted_account")
async def get_group_muted_account(ctx: RestContext, body: Body) -> dict[str, Any]:
    group = await existing_group(ctx, body)
    s, now = store(ctx), ctx.now()
    muted = []
    for uid, raw in (await s.redis.hgetall(s.keys.group_members(group.groupID))).items():
        until = member_dec.decode(raw).muteUntil
        if until > now:
            muted.append({"Member_Account": uid, "MutedUntil": until})
    muted.sort(key=lambda m: (m["MutedUntil"], m["Member_Account"]))
    return {"MutedAccountList": muted}


@group_svc.command("change_group_owner")
async def change_group_owner(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Members get onGroupInfoChanged (owner) and its tips, the admin as operator."""
    group = await existing_group(ctx, body)
    new_owner = body.string("NewOwner_Account")
    await require_member(ctx, group, new_owner, "NewOwner_Account")
    if new_owner == group.owner:
        raise body.error(f"NewOwner_Account: {new_owner!r} owns the group already")
    await groups(ctx).transfer_group_owner(operator(ctx), group.groupID, new_owner, app_admin=True)
    return {}


@group_svc.command("get_role_in_group")
async def get_role_in_group(ctx: RestContext, body: Body) -> dict[str, Any]:
    group = await existing_group(ctx, body)
    accounts = body.strings("User_Account", max_items=ROLE_QUERY_MAX)
    records = await store(ctx).redis.hmget(store(ctx).keys.group_members(group.groupID), accounts)
    return {
        "UserIdList": [
            {
                "Member_Account": uid,
                "Role": ROLE_NAMES[GroupMemberRole(member_dec.decode(raw).role)] if raw else "NotMember",
            }
            for uid, raw in zip(accounts, records, strict=True)
        ]
    }


@group_svc.command("get_online_member_num")
async def get_online_member_num(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Members with a live session now (every type, not only AVChatRoom as on Tencent)."""
    group = await existing_group(ctx, body)
    return {"OnlineMemberNum": int(await store(ctx).redis.scard(store(ctx).keys.group_online(group.groupID)))}


# ---- lists --------------------------------------------------------------------------------------
@group_svc.command("get_joined_group_list")
async def get_joined_group_list(ctx: RestContext, body: Body) -> dict[str, Any]:
    """B24: the account's groups in join order; AVChatRoom only with WithHugeGroups 1; base fields
    and SelfInfo as ResponseFilter asks (only GroupId without it)."""
    user = body.string("Member_Account")
    limit = body.integer("Limit", JOINED_PAGE_MAX, lo=1, hi=JOINED_PAGE_MAX)
    offset = body.integer("Offset", 0, lo=0)
    group_type = body.choice("GroupType", GROUP_TYPES, None)
    with_huge = body.flag("WithHugeGroups")
    body.flag("WithNoActiveGroups")  # every group is active here: none is hidden until its first message
    response_filter = body.object("ResponseFilter", None)
    base = self_fields = None
    if response_filter is not None:
        base = filter_list(response_filter, "GroupBaseInfoFilter", BASE_FIELDS)
        self_fields = filter_list(response_filter, "SelfInfoFilter", MEMBER_FIELDS)
    await require_accounts(ctx, [user], "Member_Account")
    joined = await groups(ctx).get_joined_group_list(user)
    shown = [
        g
        for g in joined
        if (group_type is None or g.groupType == group_type) and (with_huge or g.groupType != AVCHATROOM)
    ]
    views = GroupViews(store(ctx), ctx.now())
    listed = []
    for group in shown[offset : offset + limit]:
        item = await views.group(group, base or ()) if base is not None else {"GroupId": group.groupID}
        if self_fields:
            (row,) = await views.members(group.groupID, [user], self_fields)
            item["SelfInfo"] = {k: v for k, v in row.items() if k in self_fields}
        listed.append(item)
    return {"TotalCount": len(shown), "GroupIdList": listed}


@group_svc.command("get_appid_group_list")
async def get_appid_group_list(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Every group of the app, ordered by ID; Next is the count already listed (0 to start, 0 when
    done)."""
    limit = body.integer("Limit", APPID_PAGE_MAX, lo=1, hi=APPID_PAGE_MAX)
    start = body.integer("Next", 0, lo=0)
    group_type = body.choice("GroupType", GROUP_TYPES, None)
    s = store(ctx)
    ids = sorted(await s.redis.zrange(s.keys.group_activity(), 0, -1))
    if group_type is not None:
        infos = await s.infos(ids)
        ids = [g.groupID for g in infos if g is not None and g.groupType == group_type]
    page = ids[start : start + limit]
    done = start + len(page) >= len(ids)
    return {
        "TotalCount": len(ids),
        "GroupIdList": [{"GroupId": gid} for gid in page],
        "Next": 0 if done else start + len(page),
    }


# ---- attributes ---------------------------------------------------------------------------------
def attr_items(body: Body, *, values: bool) -> list[Body]:
    items: list[Body] = body.objects("GroupAttr", max_items=GROUP_ATTR_KEYS_MAX)
    for item in items:
        item.string("key")
        if values:
            item.string("value", empty=True)
    return items


@attr_svc.command("get_group_attr")
async def get_group_attr(ctx: RestContext, body: Body) -> dict[str, Any]:
    group = await existing_group(ctx, body)
    current = await groups(ctx).get_group_attributes(operator(ctx), group.groupID, None, app_admin=True)
    return {"GroupAttrAry": [{"key": k, "value": current[k]} for k in sorted(current)]}


@group_svc.command("modify_group_attr")
async def modify_group_attr(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Set the named attributes, keep the others: members get onGroupAttributeChanged (the whole map)."""
    group = await existing_group(ctx, body)
    attributes = {i.string("key"): i.string("value", empty=True) for i in attr_items(body, values=True)}
    await groups(ctx).set_group_attributes(operator(ctx), group.groupID, attributes, app_admin=True)
    return {}


@group_svc.command("set_group_attr")
async def set_group_attr(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Replace all attributes (initGroupAttributes)."""
    group = await existing_group(ctx, body)
    attributes = {i.string("key"): i.string("value", empty=True) for i in attr_items(body, values=True)}
    await groups(ctx).init_group_attributes(operator(ctx), group.groupID, attributes, app_admin=True)
    return {}


@group_svc.command("delete_group_attr")
async def delete_group_attr(ctx: RestContext, body: Body) -> dict[str, Any]:
    """10050 if a key is not set (nothing is deleted then)."""
    group = await existing_group(ctx, body)
    keys = [i.string("key") for i in attr_items(body, values=False)]
    current = await groups(ctx).get_group_attributes(operator(ctx), group.groupID, None, app_admin=True)
    missing = [k for k in keys if k not in current]
    if missing:
        raise IMError(ATTR_KEY_MISSING, f"GroupAttr: no attribute {', '.join(map(repr, missing))}")
    await groups(ctx).delete_group_attributes(operator(ctx), group.groupID, keys, app_admin=True)
    return {}


@group_svc.command("clear_group_attr")
async def clear_group_attr(ctx: RestContext, body: Body) -> dict[str, Any]:
    group = await existing_group(ctx, body)
    await groups(ctx).delete_group_attributes(operator(ctx), group.groupID, None, app_admin=True)
    return {}


# ---- counters -----------------------------------------------------------------------------------
def counters_out(counters: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"Key": c.key, "Value": c.value} for c in counters]


@group_svc.command("get_group_counter")
async def get_group_counter(ctx: RestContext, body: Body) -> dict[str, Any]:
    group = await existing_group(ctx, body)
    keys = body.strings("GroupCounterKeys", None, max_items=COUNTERS_PER_CALL_MAX, min_items=0)
    found = await groups(ctx).get_group_counters(operator(ctx), group.groupID, keys, app_admin=True)
    return {"GroupCounter": counters_out(found)}


COUNTER_MODES = {"Set": 0, "Increase": 1, "Decrease": -1}


@group_svc.command("update_group_counter")
async def update_group_counter(ctx: RestContext, body: Body) -> dict[str, Any]:
    """B29: Set, or Increase / Decrease (atomic) each; members get onGroupCounterChanged per key.
    Answers the new values."""
    group = await existing_group(ctx, body)
    items = body.objects("GroupCounter", max_items=COUNTERS_PER_CALL_MAX)
    mode = body.choice("Mode", COUNTER_MODES, 0)
    # (a value is a GraphQL Int to the members who read it: 32 bits, as the engine keeps them)
    lo = 0 if mode else COUNTER_VALUE_MIN
    values = {item.string("Key"): item.integer("Value", lo=lo, hi=COUNTER_VALUE_MAX) for item in items}
    engine, op = groups(ctx), operator(ctx)
    if not mode:
        return {
            "GroupCounter": counters_out(await engine.set_group_counters(op, group.groupID, values, app_admin=True))
        }
    deltas = [(key, mode * amount) for key, amount in values.items()]  # all of them, or none
    return {"GroupCounter": counters_out(await engine.change_group_counters(op, group.groupID, deltas, app_admin=True))}


@group_svc.command("delete_group_counter")
async def delete_group_counter(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Members get onGroupCounterChanged with 0 for each key that existed."""
    group = await existing_group(ctx, body)
    keys = body.strings("GroupCounterKeys", max_items=COUNTERS_PER_CALL_MAX)
    await groups(ctx).delete_group_counters(operator(ctx), group.groupID, keys, app_admin=True)
    return {}


# ---- topics -------------------------------------------------------------------------------------
def topic_fields(body: Body, info: TopicInfo) -> TopicInfo:
    """The request's topic fields over `info` (those absent keep their value)."""
    return TopicInfo(
        topicID=info.topicID,
        topicName=body.string("TopicName", info.topicName, max_bytes=TOPIC_NAME_MAX_BYTES),
        topicFaceUrl=body.string("FaceUrl", info.topicFaceUrl, max_bytes=FACE_URL_MAX_BYTES, empty=True),
        notification=body.string("Notification", info.notification, max_bytes=NOTIFICATION_MAX_BYTES, empty=True),
        introduction=body.string("Introduction", info.introduction, max_bytes=INTRODUCTION_MAX_BYTES, empty=True),
        isAllMuted=body.choice("MuteAllMember", ON_OFF, info.isAllMuted),
        customString=body.string("CustomString", info.customString, max_bytes=CUSTOM_VALUE_MAX_BYTES, empty=True),
        draftText=info.draftText,
    )


@topic_svc.command("create_topic")
async def create_topic(ctx: RestContext, body: Body) -> dict[str, Any]:
    """B33: members get onTopicCreated. TopicId (optional) must be `<GroupId>@TOPIC#_<suffix>`;
    From_Account, if given, must be a member (topics record no creator)."""
    group = await existing_group(ctx, body)
    topic_id = body.string("TopicId", "", max_bytes=TOPIC_ID_MAX_BYTES)
    info = topic_fields(body, TopicInfo(topicID=topic_id, topicName=body.string("TopicName")))
    if body.has("From_Account"):
        await require_member(ctx, group, body.string("From_Account"), "From_Account")
    created = await groups(ctx).create_topic_in_community(operator(ctx), group.groupID, info, app_admin=True)
    return {"TopicId": created}


@topic_svc.command("destroy_topic")
async def destroy_topic(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Members get onTopicDeleted for those deleted; each item says how it went."""
    group = await existing_group(ctx, body)
    topic_ids = body.strings("TopicIdList", max_items=TOPICS_PER_CALL_MAX)
    results = await groups(ctx).delete_topic_from_community(operator(ctx), group.groupID, topic_ids, app_admin=True)
    return {
        "DestroyResultItem": [
            {"ErrorCode": r.errorCode, "ErrorInfo": r.errorMessage, "TopicId": r.topicID} for r in results
        ]
    }


@topic_svc.command("modify_topic")
async def modify_topic(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Members get onTopicInfoChanged."""
    group = await existing_group(ctx, body)
    topic_id = body.string("TopicId")
    (found,) = await groups(ctx).get_topic_info_list(operator(ctx), group.groupID, [topic_id], app_admin=True)
    if found.topicInfo is None:
        raise IMError(found.errorCode, f"TopicId: {found.errorMessage}")
    info = topic_fields(body, found.topicInfo)
    await groups(ctx).set_topic_info(operator(ctx), group.groupID, info, app_admin=True)
    return {}


@topic_svc.command("get_topic")
async def get_topic(ctx: RestContext, body: Body) -> dict[str, Any]:
    """B33: the community's topics (or those named), with From_Account's SelfInfo when given."""
    group = await existing_group(ctx, body)
    topic_ids = body.strings("TopicIdList", None, max_items=TOPICS_PER_CALL_MAX, min_items=0)
    viewer = body.string("From_Account", None)
    if viewer is not None:
        await require_member(ctx, group, viewer, "From_Account")
    results = await groups(ctx).get_topic_info_list(operator(ctx), group.groupID, topic_ids, app_admin=True)
    views = GroupViews(store(ctx), ctx.now())
    found = [r.topicInfo.topicID for r in results if r.topicInfo is not None]
    selves = iter(await views.topics_self(group.groupID, found, viewer) if viewer is not None else [])
    items = []
    for result in results:
        item: dict[str, Any] = {"ErrorCode": result.errorCode, "ErrorInfo": result.errorMessage or "ok"}
        if result.topicInfo is not None:
            if viewer is not None:
                item["SelfInfo"] = next(selves)
            item["TopicInfo"] = await views.topic(group.groupID, result.topicInfo)
        items.append(item)
    return {"TopicAndSelfInfo": items}
