"""Recent contacts (the server's conversation list): `recentcontact/*`.

Tencent's names a conversation `{Type: 1, To_Account}` or `{Type: 2, <group ID>}`, the group ID
spelt `GroupId` in `get_list` answers, `ToGroupid` in `delete` and `ToGroupId` in the mark and
conversation-group commands; the engine's conversation IDs are `c2c_<userID>` / `group_<groupID>`.
Every write is the SDK call a user would make (deleteConversationList, markConversation,
setConversationCustomData, the conversation-group calls), so the user's devices hear the same
conversationListener events.

Codes are Tencent's for this service: 50001 an account that was never imported, 50002 a malformed
request, 51006-51011 the mark and conversation-group limits (raised by the engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from gateway.engine.conversations.groups import ContactMarks
from gateway.engine.rest.context import RestContext
from gateway.engine.rest.registry import Commands
from gateway.errors import Code, IMError
from gateway.ids import (
    GROUP_ID_ARG_MAX_BYTES,
    USER_ID_MAX_BYTES,
    c2c_conversation_id,
    conversation_group_id,
    conversation_peer_id,
    group_conversation_id,
)
from gateway.im.conversations import ConversationOperationResult
from gateway.v4.fields import Body

recentcontact = Commands("recentcontact", invalid_code=50002)  # 50002: "incorrect request parameter"

REGISTRIES = (recentcontact,)

USER_NOT_IMPORTED = 50001
C2C, GROUP = 1, 2  # Tencent's conversation Type
LIST_PAGE = 100  # SessionItem per get_list page (Tencent does not document its own)
CONTACT_GROUP_PAGE = 100  # ContactItem per get_contact_group page
PER_CALL_MAX = 100  # MarkItem / ContactItem per write (51006 when empty or beyond)
SEARCH_MAX = 300  # ContactItem per search_contact_group
CUSTOM_MARK_MAX_BYTES = 256
MARK_BITS = 64  # standard mark bits are numbered 1..64; bit n is V2TIM markType 1 << (n - 1)
# get_list AssistFlags
PINNED_FIRST, WITH_EMPTY, PINNED_PAGED = 1, 2, 4
# mark_contact OptType bits, update_contact_group kinds
STANDARD_MARKS, CUSTOM_MARK = 1, 2
RENAME, MEMBERS = 1, 2
ADD, REMOVE = 1, 2


# ---- request parts ----------------------------------------------------------------------------
def _printable(body: Body, name: str, value: str) -> str:
    if not all(0x20 <= ord(ch) <= 0x7E for ch in value):
        raise body.error(f"{name} must be printable ASCII")
    return value


def _user_id(body: Body, name: str) -> str:
    return _printable(body, name, body.string(name, max_bytes=USER_ID_MAX_BYTES))


async def _from_account(ctx: RestContext, body: Body) -> str:
    """From_Account, which must be an imported account (50001 otherwise)."""
    user = _user_id(body, "From_Account")
    if not (await ctx.engine.accounts.exists([user]))[0]:
        raise IMError(USER_NOT_IMPORTED, f"From_Account {user!r} has not been imported")
    return user


def _conversation(item: Body, group_field: str) -> str:
    """The engine's conversation ID for `{Type, To_Account | <group_field>}`."""
    if item.integer("Type", lo=C2C, hi=GROUP) == C2C:
        return c2c_conversation_id(_user_id(item, "To_Account"))
    group_id = item.string(group_field, max_bytes=GROUP_ID_ARG_MAX_BYTES)
    return group_conversation_id(_printable(item, group_field, group_id))


def _batch(body: Body, name: str) -> list[Body]:
    """A write's list of objects: 51006 when empty or over 100 (Tencent's code for it)."""
    raw = body.raw.get(name)
    if isinstance(raw, list) and not 0 < len(raw) <= PER_CALL_MAX:
        raise IMError(Code.ERR_CONVERSATION_MARK_PER_CALL, f"{name} must hold 1-{PER_CALL_MAX} items")
    items: list[Body] = body.objects(name, max_items=PER_CALL_MAX)
    return items


def _mark_bits(item: Body, name: str) -> int:
    """SetMark / ClearMark: bit numbers 1..64, as one V2TIM markType mask."""
    value = item.raw.get(name)
    if value is None:
        return 0
    if not isinstance(value, list) or not all(isinstance(b, int) and not isinstance(b, bool) for b in value):
        raise item.error(f"{name} must be a list of bit numbers")
    if not all(1 <= b <= MARK_BITS for b in value):
        raise item.error(f"{name}: bits are numbered 1-{MARK_BITS}")
    mask = 0
    for bit in value:
        mask |= 1 << (bit - 1)
    return mask


# ---- answer parts -----------------------------------------------------------------------------
def _contact_item(conv: str, group_field: str = "ToGroupId") -> dict[str, Any]:
    peer = conversation_peer_id(conv)
    if peer is not None:
        return {"Type": C2C, "To_Account": peer}
    return {"Type": GROUP, group_field: conversation_group_id(conv)}


def _result_item(result: ConversationOperationResult) -> dict[str, Any]:
    return {
        "ContactItem": _contact_item(result.conversationID),
        "ResultCode": result.resultCode,
        "ResultInfo": result.resultInfo,
    }


def _has_marks(conv: str, data: ContactMarks) -> bool:
    return bool(data.marks.get(conv) or data.custom.get(conv) or _group_ids_of(conv, data))


def _group_ids_of(conv: str, data: ContactMarks) -> list[int]:
    return sorted(data.group_ids[name] for name, convs in data.groups.items() if conv in convs)


def _marked_item(conv: str, data: ContactMarks) -> dict[str, Any]:
    """A conversation's mark data as get/search_contact_group give it; empty parts left out, as in
    Tencent's samples. StandardMark is the mark bits in binary, bit 1 rightmost."""
    item = _contact_item(conv)
    if bits := data.marks.get(conv, 0):
        item["StandardMark"] = format(bits, "b")
    if custom := data.custom.get(conv):
        item["CustomMark"] = custom
    if group_ids := _group_ids_of(conv, data):
        item["ContactGroupId"] = group_ids
    item["Timestamp"] = data.changed_at.get(conv, 0)
    return item


def _group_items(data: ContactMarks, names: Sequence[str]) -> list[dict[str, Any]]:
    return [{"GroupName": n, "GroupId": data.group_ids[n]} for n in sorted(names, key=data.group_ids.__getitem__)]


# ---- get_list -----------------------------------------------------------------------------------
class _Session(NamedTuple):
    conv: str
    order_ms: int
    pinned: bool

    @property
    def secs(self) -> int:
        return self.order_ms // 1000


class _Cursor(NamedTuple):
    """Tencent's paging point: conversations from time `time` down, skipping the first `offset` of
    those at exactly `time` (time 0: from the newest)."""

    time: int
    offset: int

    def rest(self, full: list[_Session]) -> list[_Session]:
        if self.time == 0:
            return full[self.offset :]
        same = [s for s in full if s.secs == self.time]
        return same[self.offset :] + [s for s in full if s.secs < self.time]

    @staticmethod
    def after(full: list[_Session], last: _Session) -> _Cursor:
        upto = full[: full.index(last) + 1]
        return _Cursor(last.secs, sum(1 for s in upto if s.secs == last.secs))


class _Taken(NamedTuple):
    sessions: list[_Session]
    cursor: _Cursor
    done: bool  # nothing is left after the cursor


async def _empty(ctx: RestContext, user: str, convs: list[str]) -> set[str]:
    """Conversations with no message the user can see (left out unless AssistFlags bit 1)."""
    views = await ctx.engine.conversations.views(user, convs)
    return {v.conversationID for v in views if v.lastMessage is None}


async def _take(
    ctx: RestContext, user: str, full: list[_Session], cursor: _Cursor, room: int, with_empty: bool
) -> _Taken:
    """Up to `room` sessions of `full` after `cursor`, and the cursor after the last one looked at
    (empty conversations that were skipped are passed by the cursor too)."""
    candidates = cursor.rest(full)
    taken: list[_Session] = []
    pos = 0
    while pos < len(candidates) and len(taken) < room:
        batch = candidates[pos : pos + room - len(taken)]
        empty = set() if with_empty else await _empty(ctx, user, [s.conv for s in batch])
        taken += [s for s in batch if s.conv not in empty]
        pos += len(batch)
        cursor = _Cursor.after(full, batch[-1])
    return _Taken(taken, cursor, pos >= len(candidates))


def _session_item(s: _Session) -> dict[str, Any]:
    peer = conversation_peer_id(s.conv)
    target = (
        {"Type": C2C, "To_Account": peer}
        if peer is not None
        else {"Type": GROUP, "GroupId": conversation_group_id(s.conv)}
    )
    return {**target, "MsgTime": s.secs, "TopFlag": int(s.pinned)}


def _newest_first(sessions: list[_Session]) -> list[_Session]:
    return sorted(sessions, key=lambda s: (s.order_ms, s.conv), reverse=True)  # the engine's own order


@recentcontact.command("get_list")
async def get_list(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, TimeStamp, StartIndex, TopTimeStamp, TopStartIndex, AssistFlags}`: the user's
    conversation list, newest first, pinned ones first (bit 0) in pages of their own (bit 2), with
    or without empty conversations (bit 1). Without bit 2 every pinned conversation comes on the
    first page, on top of its page of others."""
    cursor = _Cursor(body.integer("TimeStamp", lo=0), body.integer("StartIndex", lo=0))
    top_cursor = _Cursor(body.integer("TopTimeStamp", lo=0), body.integer("TopStartIndex", lo=0))
    flags = body.integer("AssistFlags", lo=0, hi=7)
    user = await _from_account(ctx, body)
    sessions = [_Session(*s) for s in await ctx.engine.conversations.recent_contacts(user)]
    pinned_first, with_empty = bool(flags & PINNED_FIRST), bool(flags & WITH_EMPTY)
    pinned = _newest_first([s for s in sessions if pinned_first and s.pinned])
    normal = _newest_first([s for s in sessions if not (pinned_first and s.pinned)])
    page: list[_Session] = []
    top_done, room = True, LIST_PAGE
    if flags & PINNED_PAGED:
        top = await _take(ctx, user, pinned, top_cursor, LIST_PAGE, with_empty)
        page, top_cursor, top_done = top.sessions, top.cursor, top.done
        room -= len(page)
    elif cursor == (0, 0):  # outside the page size: the normal cursor must move on every page
        top = await _take(ctx, user, pinned, _Cursor(0, 0), len(pinned), with_empty)
        page, top_cursor = top.sessions, top.cursor
    done = False
    if top_done:
        rest = await _take(ctx, user, normal, cursor, room, with_empty)
        page, cursor, done = page + rest.sessions, rest.cursor, rest.done
    return {
        "SessionItem": [_session_item(s) for s in page],
        "CompleteFlag": int(top_done and done),
        "TimeStamp": cursor.time,
        "StartIndex": cursor.offset,
        "TopTimeStamp": top_cursor.time,
        "TopStartIndex": top_cursor.offset,
        "ErrorDisplay": "",
    }


# ---- delete -------------------------------------------------------------------------------------
@recentcontact.command("delete")
async def delete(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, Type, To_Account | ToGroupid, ClearRamble?}`: deleteConversationList of one
    conversation (its history too with ClearRamble 1); a conversation not in the list is a no-op."""
    conv = _conversation(body, "ToGroupid")
    clear = body.flag("ClearRamble")
    user = await _from_account(ctx, body)
    await ctx.engine.conversations.delete_conversation_list(user, [conv], clear)
    return {"ErrorDisplay": ""}


# ---- mark_contact -------------------------------------------------------------------------------
class _Mark(NamedTuple):
    opt: int
    conv: str
    set_mask: int
    clear_mask: int
    custom: str | None


def _mark(item: Body) -> _Mark:
    opt = item.integer("OptType", lo=1, hi=3)
    conv = _conversation(item.object("ContactItem"), "ToGroupId")
    set_mask = clear_mask = 0
    if opt & STANDARD_MARKS:
        set_mask, clear_mask = _mark_bits(item, "SetMark"), _mark_bits(item, "ClearMark")
        if not set_mask | clear_mask:
            raise item.error("SetMark or ClearMark is required with OptType 1 or 3")
    custom = item.string("CustomMark", empty=True, max_bytes=CUSTOM_MARK_MAX_BYTES) if opt & CUSTOM_MARK else None
    return _Mark(opt, conv, set_mask, clear_mask, custom)


async def _apply_mark(ctx: RestContext, user: str, mark: _Mark) -> tuple[int, str]:
    """markConversation (set, then clear) and setConversationCustomData, as a user's device would
    call them; the first refusal is the item's result."""
    conversations = ctx.engine.conversations
    try:
        steps: list[list[ConversationOperationResult]] = []
        if mark.set_mask:
            steps.append(await conversations.mark_conversation(user, [mark.conv], True, mark.set_mask))
        if mark.clear_mask and not _failed(steps):
            steps.append(await conversations.mark_conversation(user, [mark.conv], False, mark.clear_mask))
        if mark.custom is not None and not _failed(steps):
            steps.append(await conversations.set_conversation_custom_data(user, [mark.conv], mark.custom))
    except IMError as exc:  # 51008: too many marked conversations
        return exc.code, exc.desc
    failed = _failed(steps)
    return (failed.resultCode, failed.resultInfo) if failed else (0, "")


def _failed(steps: list[list[ConversationOperationResult]]) -> ConversationOperationResult | None:
    return next((r for results in steps for r in results if r.resultCode), None)


@recentcontact.command("mark_contact")
async def mark_contact(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, MarkItem: [≤100 {OptType, ContactItem, SetMark?, ClearMark?, CustomMark?}]}`:
    standard marks (bit n = V2TIM markType 1 << (n-1)) and the custom mark (the conversation's
    customData), each item with its own result."""
    marks = [_mark(item) for item in _batch(body, "MarkItem")]
    user = await _from_account(ctx, body)
    results = []
    for mark in marks:
        code, info = await _apply_mark(ctx, user, mark)
        results.append(
            {"OptType": mark.opt, "ContactItem": _contact_item(mark.conv), "ResultCode": code, "ResultInfo": info}
        )
    return {"ResultItem": results, "ErrorDisplay": ""}


# ---- conversation groups ------------------------------------------------------------------------
@recentcontact.command("create_contact_group")
async def create_contact_group(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, GroupContactItem: [{GroupName, ContactItem: [...]}]}` (one group a call):
    createConversationGroup; 51007 when the name exists, 51010 beyond 20 groups, 51011 a name over
    32 bytes."""
    [group] = body.objects("GroupContactItem", max_items=1)
    name = group.string("GroupName")
    convs = [_conversation(item, "ToGroupId") for item in _batch(group, "ContactItem")]
    user = await _from_account(ctx, body)
    results = await ctx.engine.conversations.create_conversation_group(user, name, convs)
    group_id = (await ctx.engine.conversations.conversation_group_ids(user, [name]))[name]
    return {
        "GroupResultItem": [
            {"GroupItem": {"GroupName": name, "GroupId": group_id}, "ResultItem": [_result_item(r) for r in results]}
        ],
        "ErrorDisplay": "",
    }


@recentcontact.command("get_contact_group")
async def get_contact_group(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, StartIndex}`: every conversation with marks, a custom mark or groups (in
    conversation ID order, pages of 100) and every conversation group."""
    start = body.integer("StartIndex", lo=0)
    user = await _from_account(ctx, body)
    data = await ctx.engine.conversations.contact_marks(user)
    grouped = {conv for convs in data.groups.values() for conv in convs}
    marked = sorted(c for c in set(data.marks) | set(data.custom) | grouped if _has_marks(c, data))
    page = marked[start : start + CONTACT_GROUP_PAGE]
    complete = start + len(page) >= len(marked)
    return {
        "ContactItem": [_marked_item(conv, data) for conv in page],
        "GroupItem": _group_items(data, list(data.groups)),
        "CompleteFlag": int(complete),
        "NextStartIndex": 0 if complete else start + len(page),
        "ErrorDisplay": "",
    }


@recentcontact.command("search_contact_group")
async def search_contact_group(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, ContactItem: [≤300]}`: the mark data of these conversations (those without
    any are left out) and the conversation groups they are in."""
    items = body.objects("ContactItem", max_items=SEARCH_MAX)
    convs = list(dict.fromkeys(_conversation(item, "ToGroupId") for item in items))
    user = await _from_account(ctx, body)
    data = await ctx.engine.conversations.contact_marks(user)
    found = [conv for conv in convs if _has_marks(conv, data)]
    names = {name for name, members in data.groups.items() if any(c in members for c in found)}
    return {
        "ContactResultItem": [_marked_item(conv, data) for conv in found],
        "GroupItem": _group_items(data, list(names)),
        "ErrorDisplay": "",
    }


@recentcontact.command("del_contact_group")
async def del_contact_group(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, GroupName: [name]}` (one group a call): deleteConversationGroup; 51009 when
    there is no such group."""
    [name] = body.strings("GroupName", max_items=1)
    user = await _from_account(ctx, body)
    data = await ctx.engine.conversations.contact_marks(user)
    if name not in data.groups:
        raise IMError(Code.ERR_CONVERSATION_GROUP_NOT_FOUND, f"no conversation group {name!r}")
    await ctx.engine.conversations.delete_conversation_group(user, name)
    return {"GroupItem": [{"GroupName": name, "GroupId": data.group_ids[name]}], "ErrorDisplay": ""}


class _MemberChange(NamedTuple):
    opt: int
    conv: str


def _member_change(item: Body) -> _MemberChange:
    return _MemberChange(
        item.integer("ContactOptType", lo=ADD, hi=REMOVE), _conversation(item.object("ContactItem"), "ToGroupId")
    )


async def _change_members(ctx: RestContext, user: str, name: str, changes: list[_MemberChange]) -> list[dict[str, Any]]:
    """addConversationsToGroup, then deleteConversationsFromGroup: one call each, as a device would."""
    conversations = ctx.engine.conversations
    outcome: dict[tuple[int, str], ConversationOperationResult] = {}
    adds = [c.conv for c in changes if c.opt == ADD]
    removes = [c.conv for c in changes if c.opt == REMOVE]
    if adds:
        for r in await conversations.add_conversations_to_group(user, name, adds):
            outcome[(ADD, r.conversationID)] = r
    if removes:
        for r in await conversations.delete_conversations_from_group(user, name, removes):
            outcome[(REMOVE, r.conversationID)] = r
    return [{"ContactOptType": c.opt, **_result_item(outcome[(c.opt, c.conv)])} for c in changes]


@recentcontact.command("update_contact_group")
async def update_contact_group(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{From_Account, UpdateType: 1, UpdateGroup: {UpdateGroupType, OldGroupName, NewGroupName? |
    ContactUpdateItem?: [{ContactOptType, ContactItem}]}}`: renameConversationGroup (type 1), or
    add (ContactOptType 1) / remove (2) conversations (type 2). The GroupId survives a rename."""
    update_type = body.integer("UpdateType", lo=1, hi=1)
    update = body.object("UpdateGroup")
    kind = update.integer("UpdateGroupType", lo=RENAME, hi=MEMBERS)
    old = update.string("OldGroupName")
    new = update.string("NewGroupName") if kind == RENAME else old
    changes: list[_MemberChange] = []
    if kind == MEMBERS:
        changes = [_member_change(item) for item in _batch(update, "ContactUpdateItem")]
    user = await _from_account(ctx, body)
    if kind == RENAME:
        await ctx.engine.conversations.rename_conversation_group(user, old, new)
        results: list[dict[str, Any]] = []
    else:
        results = await _change_members(ctx, user, old, changes)
    group_id = (await ctx.engine.conversations.conversation_group_ids(user, [new]))[new]
    return {
        "UpdateType": update_type,
        "UpdateGroupResult": {
            "UpdateGroupType": kind,
            "GroupName": new,
            "GroupId": group_id,
            "OldGroupName": old,
            "ContactResultItem": results,
        },
        "ErrorDisplay": "",
    }
