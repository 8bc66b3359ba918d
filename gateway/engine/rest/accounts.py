"""Accounts and profiles: `im_open_login_svc/*`, `openim/query_online_status`, `profile/*`.

An account exists while its profile does (gateway.engine.profiles): `account_import` creates it,
as an SDK login does, and `account_delete` removes it and ends its sessions. Profiles are read and
written in Tencent's tags (profile_tags.py), and `portrait_set` is `setSelfInfo`: the user's devices
get onSelfInfoUpdated and those who have them as a friend onFriendInfoChanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.engine.rest.context import RestContext
from gateway.engine.rest.profile_tags import ProfileWrite, profile_items, read_profile_write, tags_to_read
from gateway.engine.rest.registry import Commands
from gateway.errors import IMError
from gateway.ids import check_user_id
from gateway.im.model import ProfileChanges
from gateway.v4.fields import Body

login_svc = Commands("im_open_login_svc", invalid_code=70402)
profile = Commands("profile", invalid_code=40001)
online = Commands("openim", invalid_code=90009)

REGISTRIES = (login_svc, profile, online)

ACCOUNT_NOT_IMPORTED = 70107  # Tencent's "this account was never imported" (login svc, openim)
PROFILE_ACCOUNT_NOT_FOUND = 40003
ACCOUNTS_PER_CALL_MAX = 100  # multiaccount_import, account_delete, account_check (MAPPING.md §8)
ONLINE_QUERY_MAX = 500  # query_online_status
PORTRAIT_GET_MAX = 100
PORTRAIT_TAGS_MAX = 100  # not documented by Tencent: 12 standard tags and a few custom ones fit
PORTRAIT_ITEMS_MAX = 100
PROFILE_STRING_MAX_BYTES = 500  # Nick, FaceUrl on import (the profile limit)

# imql's platform names (free-form, lower case) as Tencent's query_online_status spells its own
TENCENT_PLATFORMS = {
    "ios": "iPhone",
    "iphone": "iPhone",
    "ipad": "iPad",
    "android": "Android",
    "web": "Web",
    "pc": "PC",
    "windows": "PC",
    "mac": "Mac",
    "macos": "Mac",
}


def _user_id(body: Body, name: str) -> str:
    """A required UserID: 1-32 bytes of printable ASCII, refused with the service's own code."""
    user_id: str = body.string(name)
    try:
        check_user_id(user_id, name)
    except IMError as exc:
        raise body.error(exc.desc) from None
    return user_id


def _is_valid_user_id(user_id: str) -> bool:
    try:
        check_user_id(user_id)
    except IMError:
        return False
    return True


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


# ---- im_open_login_svc ----------------------------------------------------------------------------
def _import_profile(body: Body) -> ProfileChanges:
    """Nick and FaceUrl of an import; an empty one is "not given" (a client that always sends
    `"FaceUrl": ""`, as Tencent's Python SDK does, must not wipe a face set since)."""
    nick: str = body.string("Nick", "", empty=True)
    face: str = body.string("FaceUrl", "", empty=True)
    return ProfileChanges(nickName=nick or None, faceUrl=face or None)


def _too_long(changes: ProfileChanges) -> str | None:
    for name, value in (("Nick", changes.nickName), ("FaceUrl", changes.faceUrl)):
        if value is not None and len(value.encode("utf-8")) > PROFILE_STRING_MAX_BYTES:
            return f"{name} is over {PROFILE_STRING_MAX_BYTES} bytes"
    return None


async def _import(ctx: RestContext, user_id: str, given: ProfileChanges) -> None:
    """Create the account if new; set the given Nick/FaceUrl where they differ from the stored
    ones (Tencent updates an existing account's nick and face on import). A real change is a
    profile change: the user's devices and friends hear of it as of setSelfInfo."""
    await ctx.engine.accounts.ensure_account(user_id)
    if given.is_empty():
        return
    current = await ctx.engine.accounts.get_users_info([user_id])
    if not current:  # deleted meanwhile
        return
    changes = ProfileChanges(
        nickName=given.nickName if given.nickName != current[0].nickName else None,
        faceUrl=given.faceUrl if given.faceUrl != current[0].faceUrl else None,
    )
    if not changes.is_empty():
        await ctx.engine.accounts.set_self_info(user_id, changes)


@login_svc.command("account_import")
async def account_import(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{UserID, Nick?, FaceUrl?}` (older clients say `Identifier`): idempotent."""
    user_id = _user_id(body, "Identifier" if body.has("Identifier") and not body.has("UserID") else "UserID")
    given = _import_profile(body)
    problem = _too_long(given)
    if problem:
        raise body.error(problem)
    await _import(ctx, user_id, given)
    return {}


def _multi_import_items(body: Body) -> list[tuple[str, ProfileChanges | None]]:
    """Every item read (a wrong type refuses the whole call before any write): the current form
    `AccountList: [{UserID, Nick?, FaceUrl?}]` or the older `Accounts: [UserID]`. A profile of None
    marks an item that fails on its own (a bad ID or an over-long value)."""
    if body.has("AccountList"):
        items: list[tuple[str, ProfileChanges | None]] = []
        for item in body.objects("AccountList", max_items=ACCOUNTS_PER_CALL_MAX):
            user_id: str = item.string("UserID")
            given = _import_profile(item)
            items.append((user_id, None if _too_long(given) else given))
        return items
    ids: list[str] = body.strings("Accounts", max_items=ACCOUNTS_PER_CALL_MAX)
    return [(user_id, ProfileChanges()) for user_id in ids]


@login_svc.command("multiaccount_import")
async def multiaccount_import(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{AccountList: [{UserID, Nick?, FaceUrl?}] | Accounts: [UserID]}` (≤100) → `FailAccounts`."""
    failed: list[str] = []
    for user_id, given in _multi_import_items(body):
        if given is None or not _is_valid_user_id(user_id):
            failed.append(user_id)
            continue
        await _import(ctx, user_id, given)
    return {"FailAccounts": failed}


def _account_items(body: Body, name: str) -> list[str]:
    """`[{UserID}]` items (≤100), each ID checked."""
    return [_user_id(item, "UserID") for item in body.objects(name, max_items=ACCOUNTS_PER_CALL_MAX)]


@login_svc.command("account_delete")
async def account_delete(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{DeleteItem: [{UserID}]}` (≤100) → `ResultItem: [{ResultCode, ResultInfo, UserID}]`.

    The account stops existing (account_check says NotImported, sends to it fail 20003, profile
    reads 40003) and every session of it ends (onKickedOffline). Its friendships, group
    memberships, conversations and message history are kept: Tencent deletes them, but removing
    a user from every group and friend list is a cascade the engine has no operation for. A new
    login or import of the same UserID makes a fresh, empty profile."""
    results = []
    for user_id in _unique(_account_items(body, "DeleteItem")):
        if await ctx.engine.profiles.delete_account(user_id):
            # after the delete: a login racing it gets a fresh account, never a dead session
            await ctx.sessions.kick(user_id)
            results.append({"ResultCode": 0, "ResultInfo": "", "UserID": user_id})
        else:
            results.append(
                {"ResultCode": ACCOUNT_NOT_IMPORTED, "ResultInfo": "account not imported", "UserID": user_id}
            )
    return {"ResultItem": results}


@login_svc.command("account_check")
async def account_check(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{CheckItem: [{UserID}]}` (≤100) → `ResultItem: [{UserID, ResultCode, ResultInfo, AccountStatus}]`."""
    user_ids = _account_items(body, "CheckItem")
    exists = await ctx.engine.accounts.exists(user_ids) if user_ids else []
    return {
        "ResultItem": [
            {
                "UserID": user_id,
                "ResultCode": 0,
                "ResultInfo": "",
                "AccountStatus": "Imported" if found else "NotImported",
            }
            for user_id, found in zip(user_ids, exists, strict=True)
        ]
    }


@login_svc.command("kick")
async def kick(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{UserID}` (older clients say `Identifier`): every session of the user ends; their
    subscriptions get onKickedOffline and their tokens stop working. 70107 for no such account."""
    user_id = _user_id(body, "Identifier" if body.has("Identifier") and not body.has("UserID") else "UserID")
    (found,) = await ctx.engine.accounts.exists([user_id])
    if not found:
        raise IMError(ACCOUNT_NOT_IMPORTED, f"account {user_id!r} is not imported")
    await ctx.sessions.kick(user_id)
    return {}


# ---- openim/query_online_status -------------------------------------------------------------------
@online.command("query_online_status")
async def query_online_status(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{To_Account: [≤500], IsNeedDetail?}` → `QueryResult: [{To_Account, Status, Detail?}]` and
    `ErrorList: [{To_Account, ErrorCode: 70107}]` for accounts that do not exist.

    Status is "Online" (a live subscription), "PushOnline" (logged in, nothing live) or "Offline".
    Tencent's sample spells the field `State`, its field table `Status`: imql answers `Status`.
    Presence is kept per user, not per device, so every logged-in platform of the Detail carries
    the user's status."""
    user_ids = _unique(body.strings("To_Account", max_items=ONLINE_QUERY_MAX))
    detail = body.flag("IsNeedDetail")
    exists = await ctx.engine.accounts.exists(user_ids)
    known = [u for u, found in zip(user_ids, exists, strict=True) if found]
    statuses = await ctx.sessions.online_status(known) if known else []
    results = []
    for user_id, (status, platforms) in zip(known, statuses, strict=True):
        result: dict[str, Any] = {"To_Account": user_id, "Status": status}
        if detail and platforms:
            result["Detail"] = [{"Platform": TENCENT_PLATFORMS.get(p, p), "Status": status} for p in platforms]
        results.append(result)
    errors = [
        {"To_Account": u, "ErrorCode": ACCOUNT_NOT_IMPORTED}
        for u, found in zip(user_ids, exists, strict=True)
        if not found
    ]
    return {"QueryResult": results, "ErrorList": errors}


# ---- profile ------------------------------------------------------------------------------------
@profile.command("portrait_get")
async def portrait_get(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{To_Account: [≤100], TagList: [Tag_Profile_IM_* | Tag_Profile_Custom_*]}` →
    `UserProfileItem: [{To_Account, ProfileItem: [{Tag, Value}], ResultCode, ResultInfo}]`; an
    account that does not exist gets ResultCode 40003 and is listed in `Fail_Account`."""
    user_ids = _unique(body.strings("To_Account", max_items=PORTRAIT_GET_MAX))
    tags = _unique(body.strings("TagList", max_items=PORTRAIT_TAGS_MAX))
    reading = tags_to_read(tags, body)
    infos = {info.userID: info for info in await ctx.engine.accounts.get_users_info(user_ids)}
    found = [u for u in user_ids if u in infos]
    server = dict(zip(found, await ctx.engine.profiles.server_fields(found, reading.server_fields), strict=True))
    items: list[dict[str, Any]] = []
    failed: list[str] = []
    for user_id in user_ids:
        info = infos.get(user_id)
        if info is None:
            failed.append(user_id)
            items.append(
                {"To_Account": user_id, "ResultCode": PROFILE_ACCOUNT_NOT_FOUND, "ResultInfo": "no such account"}
            )
            continue
        shown = profile_items(tags, info, server[user_id])
        items.append({"To_Account": user_id, "ProfileItem": shown, "ResultCode": 0, "ResultInfo": ""})
    answer: dict[str, Any] = {"UserProfileItem": items}
    if failed:
        answer["Fail_Account"] = failed
    answer["ErrorDisplay"] = ""
    return answer


@profile.command("portrait_set")
async def portrait_set(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, ProfileItem: [{Tag, Value}]}`: setSelfInfo for the user. Every item is
    checked before anything is written (40001 unknown tag or malformed item, 40601 value too long,
    40605 value outside the tag's values, 40610 value of the wrong type; 40003 no such account).
    SDK fields change as setSelfInfo changes them, with its events; the tags the SDK has no field
    for (Location, Language, MsgSettings, AdminForbidType) are stored for the server API only."""
    user_id = _user_id(body, "From_Account")
    write: ProfileWrite = read_profile_write(body.objects("ProfileItem", max_items=PORTRAIT_ITEMS_MAX))
    (found,) = await ctx.engine.accounts.exists([user_id])
    if not found:
        raise IMError(PROFILE_ACCOUNT_NOT_FOUND, f"account {user_id!r} does not exist")
    if not write.changes.is_empty():
        await ctx.engine.accounts.set_self_info(user_id, write.changes)
    if write.server_fields and not await ctx.engine.profiles.set_server_fields(user_id, write.server_fields):
        raise IMError(PROFILE_ACCOUNT_NOT_FOUND, f"account {user_id!r} does not exist")
    return {"ErrorDisplay": ""}
