"""Group messages: `group_open_http_svc/*` sends, history, recall, modify, system notifications and
read receipts; group message extensions `openim_msg_ext_http_svc/group_*_key_values`.

A group message is named as on Tencent (MAPPING.md section 6): its group (and topic) and `MsgSeq`,
the group's seq, tips included. Every write is the engine's own action, so members hear of it
exactly as of the SDK call: a send is the group send path (onRecvNewMessage, conversation
changes), a recall or modification is the sender's (onRecvMessageRevoked, onRecvMessageModified),
an extension write reaches every member (onRecvMessageExtensionsChanged). What Tencent skips for
the admin is skipped: mutes on send, the recall window and roles, the extension versions.
"""

from __future__ import annotations

from typing import Any

from gateway.digits import is_digits
from gateway.engine.group_messages import ImportedGroupMessage
from gateway.engine.groups.store import AVCHATROOM, COMMUNITY
from gateway.engine.message_core import AT_ALL, AT_USERS_MAX, Draft
from gateway.engine.rest.context import RestContext
from gateway.engine.rest.controls import apply_forbid_callback_control
from gateway.engine.rest.registry import Commands
from gateway.errors import Code, IMError
from gateway.ids import topic_parent
from gateway.im.enums import ElemType, MsgStatus, Priority
from gateway.im.messages import MessageExtension, MessageExtensionResult, SendOptions, StoredMessage
from gateway.upstream import upstream_report
from gateway.v4.fields import Body
from gateway.v4.msgbody import content_from_msgbody, msgbody_from_content, offline_push_from_rest

group_msg = Commands("group_open_http_svc", invalid_code=10004)
# the group variants of message extensions live in the C2C extensions' service, with the groups' code
group_ext = Commands("openim_msg_ext_http_svc", invalid_code=10004)

# Tencent documents modify_group_msg under openim (FIXTURES.md B10, MAPPING.md #41); the
# group_open_http_svc path is served too, as before
openim_group = Commands("openim", invalid_code=10004)

REGISTRIES = (group_msg, group_ext, openim_group)

SYSTEM_NOTIFICATION_MEMBERS_MAX = 500
IMPORT_PER_CALL_MAX = 7  # import_group_msg MsgList: "at most 7 messages per call"
UINT32_MAX = 2**32 - 1
TARGETED_RECEIVERS_MAX = 50  # To_Account of a targeted send
SEND_DEDUP_SECONDS = 300  # Tencent: a second send with the same Random within 5 minutes is the same message
HISTORY_PAGE_MAX = 20  # group_msg_get_simple answers at most this many seqs
RECALL_PER_CALL_MAX = 10
RECEIPTS_PER_CALL_MAX = 100  # get_group_msg_receipt: Tencent documents no cap; imql's SDK-side one
RECEIPT_DETAIL_PAGE_MAX = 200
ENGINE_MEMBERS_PAGE_MAX = 100  # what one engine read-member page holds
TOPIC_ID_MAX_BYTES = 96
EXTENSIONS_PER_WRITE_MAX = 20
EXTENSIONS_PER_READ_MAX = 200
EXTENSION_KEY_MAX_BYTES = 100
EXTENSION_VALUE_MAX_BYTES = 1000

# Tencent's codes for these commands (FIXTURES B7, B30, B31)
RECALL_NO_MESSAGE = 10030
RECALL_NOT_SUPPORTED = 10032
RECALL_GROUP_TYPE = 10033
NO_RECEIPT = 10062
EXTENSION_NOT_SUPPORTED = 23002
EXTENSION_NO_MESSAGE = 23004

PLACE_GONE, PLACE_RECALLED = 1, 2  # IsPlaceMsg: no message at the seq / a recalled one
SET_KEYS, DELETE_KEYS, CLEAR_KEYS = 1, 2, 3  # OperateType

_PRIORITIES = {
    "High": Priority.V2TIM_PRIORITY_HIGH,
    "Normal": Priority.V2TIM_PRIORITY_NORMAL,
    "Low": Priority.V2TIM_PRIORITY_LOW,
}
_SEND_CONTROLS = {"NoLastMsg", "NoUnread"}


# ---- shared readers -------------------------------------------------------------------------------
def _conversation(body: Body, group_id: str) -> str:
    """The engine's ID of the timeline named by GroupId [+ TopicId] (a topic's ID names its community)."""
    topic = body.string("TopicId", None, max_bytes=TOPIC_ID_MAX_BYTES)
    if topic is None:
        return group_id
    if topic_parent(topic) != group_id:
        raise body.error(f"TopicId {topic!r} is not a topic of {group_id!r}")
    return str(topic)


def _seq_list(body: Body, max_items: int) -> list[int]:
    return [item.integer("MsgSeq", lo=1) for item in body.objects("MsgSeqList", max_items=max_items)]


async def _message_at(ctx: RestContext, conversation: str, seq: int) -> StoredMessage | None:
    _, found = await ctx.engine.messages.stored_group_messages(conversation, [seq])
    return found.get(seq)


def _recalled(message: StoredMessage) -> bool:
    return message.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED


# ---- send -----------------------------------------------------------------------------------------
def _at_users(body: Body) -> list[str]:
    """GroupAtInfo as the message's groupAtUserList, in order; @all is marked as the SDK marks it."""
    marks = []
    for item in body.objects("GroupAtInfo", [], max_items=AT_USERS_MAX):
        if item.flag("GroupAtAllFlag"):
            marks.append(AT_ALL)
        else:
            marks.append(item.string("GroupAt_Account"))
    return list(dict.fromkeys(marks))


def _send_options(body: Body) -> SendOptions:
    controls = body.strings("SendMsgControl", [], max_items=len(_SEND_CONTROLS), min_items=0)
    if unknown := set(controls) - _SEND_CONTROLS:
        raise body.error(f"SendMsgControl: unknown value(s) {sorted(unknown)}; NoLastMsg, NoUnread")
    online_only = body.flag("OnlineOnlyFlag")
    if online_only and controls:
        raise body.error("SendMsgControl cannot be used with OnlineOnlyFlag 1")
    apply_forbid_callback_control(body)
    return SendOptions(
        priority=body.choice("MsgPriority", _PRIORITIES, Priority.V2TIM_PRIORITY_NORMAL),
        onlineUserOnly=online_only,
        cloudCustomData=body.string("CloudCustomData", None, empty=True),
        isExcludedFromUnreadCount="NoUnread" in controls,
        isExcludedFromLastMessage="NoLastMsg" in controls,
        isSupportMessageExtension=body.flag("SupportMessageExtension"),
        needReadReceipt=body.flag("NeedReadReceipt"),
        offlinePushInfo=offline_push_from_rest(body.raw.get("OfflinePushInfo"), body.invalid_code),
    )


async def _sender(ctx: RestContext, body: Body, group_id: str) -> str:
    """From_Account, which must be an existing member (Tencent: "specify a group member as the
    sender"; mutes are not checked), or else the app admin account, which sends as itself."""
    sender = body.string("From_Account", None)
    if sender is None:
        # the handler does not learn which admin called: the first admin account speaks for the app
        return min(ctx.admins)
    if not (await ctx.engine.accounts.exists([sender]))[0]:
        raise body.error(f"From_Account: no account {sender!r}")
    if await ctx.engine.groups.store.member(group_id, sender) is None:
        raise IMError(Code.ERR_NO_PERMISSION, f"From_Account: {sender!r} is not a member of {group_id!r}")
    return str(sender)


@group_msg.command("send_group_msg")
async def send_group_msg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B3. Answers MsgTime, MsgSeq (the group's seq) and MsgId (the imql msgID). A repeat
    with the same Random within 5 minutes is the same message: it answers the first send's result."""
    group_id = body.string("GroupId")
    conversation = _conversation(body, group_id)
    random = body.integer("Random", lo=0, hi=2**32 - 1)
    content = content_from_msgbody(body.raw.get("MsgBody"), body.invalid_code)
    at_users = _at_users(body)
    receivers = body.strings("To_Account", [], max_items=TARGETED_RECEIVERS_MAX)
    options = _send_options(body)
    group = await ctx.engine.groups.store.info(group_id)
    if AT_ALL in at_users and group.groupType in (COMMUNITY, AVCHATROOM):
        raise body.error("GroupAtInfo: Community and AVChatRoom groups have no @all")
    if receivers and group.groupType in (COMMUNITY, AVCHATROOM):
        raise body.error("To_Account: targeted messages are for Work, Public and Meeting groups")
    sender = await _sender(ctx, body, group_id)
    # the created id names the send: a repeat of the same Random returns the first result
    created_id = f"rest-group-msg:{conversation}:{random}"
    draft = Draft(content=content, groupAtUserList=at_users, targets=list(dict.fromkeys(receivers)))
    # an upstream's report of the message (the Tencent backend's mirror applying a webhook): its seq and time
    report = upstream_report()
    message = await ctx.engine.messages.send_group_message(
        sender,
        ctx.session_id,
        created_id,
        conversation,
        options,
        draft=draft,
        random=random,
        as_admin=True,
        upstream_seq=report.seq if report is not None else 0,
        upstream_time=report.timestamp if report is not None else 0,
    )
    store = ctx.engine.groups.store
    await store.redis.expire(store.keys.created_message(sender, created_id), SEND_DEDUP_SECONDS)
    return {"MsgTime": message.timestamp, "MsgSeq": message.seq, "MsgId": message.msgID}


@group_msg.command("send_group_system_notification")
async def send_group_system_notification(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{GroupId, ToMembers_Account?: [≤500], Content}`: members (all, or those named) get
    onReceiveRESTCustomData. Not stored, as on Tencent (no history, no unread)."""
    group_id = body.string("GroupId")
    content = body.string("Content", empty=True)
    members = body.strings("ToMembers_Account", None, max_items=SYSTEM_NOTIFICATION_MEMBERS_MAX)
    await ctx.engine.groups.send_group_system_notification(group_id, content, members or None)
    return {}


# ---- history --------------------------------------------------------------------------------------
def _history_item(ctx: RestContext, seq: int, message: StoredMessage | None) -> dict[str, Any]:
    """One RspMsgList item (FIXTURES B5): a seq with no message is a placeholder (IsPlaceMsg 1), a
    recalled message has no body (IsPlaceMsg 2). MsgPriority is Tencent's integer (1 High .. 3 Low)."""
    if message is None:
        return {
            "From_Account": "",
            "IsPlaceMsg": PLACE_GONE,
            "IsSystemMsg": 0,
            "MsgBody": [],
            "MsgPriority": int(Priority.V2TIM_PRIORITY_NORMAL),
            "MsgRandom": 0,
            "MsgSeq": seq,
            "MsgTimeStamp": 0,
        }
    recalled = _recalled(message)
    return {
        "From_Account": message.sender,
        "IsPlaceMsg": PLACE_RECALLED if recalled else 0,
        "IsSystemMsg": int(message.content.elemType == ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS),
        "MsgBody": [] if recalled else msgbody_from_content(message.content, ctx.media_url),
        "MsgPriority": int(message.priority or Priority.V2TIM_PRIORITY_NORMAL),
        "MsgRandom": message.random,
        "MsgSeq": message.seq,
        "MsgTimeStamp": message.timestamp,
        "CloudCustomData": message.cloudCustomData,
    }


@group_msg.command("group_msg_get_simple")
async def group_msg_get_simple(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B5: the seqs ReqMsgSeq (default: the newest), ReqMsgSeq-1, ... newest first. As on
    Tencent a request for more than 20 answers 20 with IsFinished 0; recalled messages are left
    out unless WithRecalledMsg is 1."""
    group_id = body.string("GroupId")
    conversation = _conversation(body, group_id)
    wanted = body.integer("ReqMsgNumber", lo=1)
    newest = body.integer("ReqMsgSeq", 0, lo=0)
    with_recalled = body.flag("WithRecalledMsg")
    group = await ctx.engine.groups.store.info(group_id)
    if group.groupType == AVCHATROOM:
        raise IMError(Code.ERR_NO_PERMISSION, "AVChatRoom groups keep no history")
    messages = ctx.engine.messages
    last, _ = await messages.stored_group_messages(conversation, [])
    top = min(newest or last, last)
    seqs = list(range(top, max(top - min(wanted, HISTORY_PAGE_MAX), 0), -1))
    # the admin still reads what clear_group_msg cleared for the members, as on Tencent
    _, found = await messages.stored_group_messages(conversation, seqs, with_cleared=True)
    items = [
        _history_item(ctx, seq, found.get(seq))
        for seq in seqs
        if with_recalled or seq not in found or not _recalled(found[seq])
    ]
    return {"GroupId": group_id, "IsFinished": int(wanted <= HISTORY_PAGE_MAX), "RspMsgList": items}


# ---- history import and deletion for everyone -----------------------------------------------------
def _imported(item: Body) -> ImportedGroupMessage:
    return ImportedGroupMessage(
        sender=item.string("From_Account"),
        timestamp=item.integer("SendTime", lo=0, hi=UINT32_MAX),
        random=item.integer("Random", None, lo=0, hi=UINT32_MAX),
        content=content_from_msgbody(item.raw.get("MsgBody"), item.invalid_code),
    )


@group_msg.command("import_group_msg")
async def import_group_msg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{GroupId, RecentContactFlag?, MsgList: [≤7 {From_Account, SendTime, Random?, MsgBody}]}`:
    a migration's history, stored in order with the given senders and times; nobody hears of it
    (no listener event, callback or push) and it never counts as unread. One ImportMsgResult per
    message: Result 0, 10004 (SendTime not after the group's creation, its newest message and the
    message before it, or not before now) or 80002 (too large). AVChatRoom groups keep no history (10007)."""
    group_id = body.string("GroupId")
    recent_contact = body.flag("RecentContactFlag")
    items = [_imported(item) for item in body.objects("MsgList", max_items=IMPORT_PER_CALL_MAX)]
    group = await ctx.engine.groups.store.info(group_id)
    if group.groupType == AVCHATROOM:
        raise IMError(Code.ERR_NO_PERMISSION, "AVChatRoom groups keep no history to import into")
    if recent_contact and group.groupType == COMMUNITY:
        raise body.error("RecentContactFlag: Community groups do not take it")
    senders = sorted({i.sender for i in items})
    for sender, exists in zip(senders, await ctx.engine.accounts.exists(senders), strict=True):
        if not exists:
            raise body.error(f"From_Account: no account {sender!r}")
    results = await ctx.engine.messages.import_group_messages(group_id, items, recent_contact=recent_contact)
    return {"ImportMsgResult": [{"MsgSeq": r.seq, "MsgTime": r.timestamp, "Result": r.code} for r in results]}


@group_msg.command("delete_group_msg_by_sender")
async def delete_group_msg_by_sender(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{GroupId, Sender_Account, TopicId?}`: Tencent's silent recall of the sender's messages among
    the group's newest 1,000: recalled in everyone's history (shown as recalled, IsPlaceMsg 2 with
    WithRecalledMsg), no longer unread; nobody is told, as on Tencent. AVChatRoom groups keep no
    history: nothing changes and nothing is refused, as on Tencent."""
    group_id = body.string("GroupId")
    sender = body.string("Sender_Account")
    conversation = _conversation(body, group_id)
    group = await ctx.engine.groups.store.info(group_id)
    if group.groupType != AVCHATROOM:
        await ctx.engine.messages.delete_messages_by_sender(conversation, sender)
    return {}


@group_msg.command("clear_group_msg")
async def clear_group_msg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B32 `{GroupId, MsgSeq?}`: the group's history up to MsgSeq (all without it) cleared
    for every member: gone from their history, conversation last message and unread counts, while
    `group_msg_get_simple` (the admin) still reads it, as on Tencent. Nobody is told. Community
    groups are refused (10007), as on Tencent."""
    group_id = body.string("GroupId")
    up_to = body.integer("MsgSeq", None, lo=1, hi=UINT32_MAX)
    group = await ctx.engine.groups.store.info(group_id)
    if group.groupType == COMMUNITY:
        raise IMError(Code.ERR_NO_PERMISSION, "clear_group_msg does not apply to Community groups")
    await ctx.engine.messages.clear_group_messages(group_id, up_to)
    return {}


# ---- recall and modify ----------------------------------------------------------------------------
@group_msg.command("group_msg_recall")
async def group_msg_recall(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B7: one RetCode per seq (0, 10030 no such message or already recalled, 10032 a tips
    message). No time limit, as for Tencent's admin; members hear onRecvMessageRevoked."""
    group_id = body.string("GroupId")
    conversation = _conversation(body, group_id)
    seqs = _seq_list(body, RECALL_PER_CALL_MAX)
    group = await ctx.engine.groups.store.info(group_id)
    if group.groupType == AVCHATROOM:
        raise IMError(RECALL_GROUP_TYPE, "AVChatRoom messages cannot be recalled")
    messages = ctx.engine.messages
    _, found = await messages.stored_group_messages(conversation, seqs)
    results, recalled = [], set()
    for seq in seqs:
        message = found.get(seq)
        if message is None or _recalled(message) or seq in recalled:
            code = RECALL_NO_MESSAGE
        elif message.content.elemType == ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS:
            code = RECALL_NOT_SUPPORTED
        else:
            await messages.revoke_message(message.sender, ctx.session_id, message.msgID, as_admin=True)
            recalled.add(seq)
            code = 0
        results.append({"MsgSeq": seq, "RetCode": code})
    return {"RecallRetList": results}


@group_msg.command("modify_group_msg")
@openim_group.command("modify_group_msg")
async def modify_group_msg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B10: a new MsgBody (of the same element type) and/or CloudCustomData; members hear
    onRecvMessageModified as from the sender's modification."""
    group_id = body.string("GroupId")
    conversation = _conversation(body, group_id)
    seq = body.integer("MsgSeq", lo=1)
    content = content_from_msgbody(body.raw["MsgBody"], body.invalid_code) if body.has("MsgBody") else None
    cloud_custom_data = body.string("CloudCustomData", None, empty=True)
    if content is None and cloud_custom_data is None:
        raise body.error("MsgBody or CloudCustomData is required")
    await ctx.engine.groups.store.info(group_id)
    message = await _message_at(ctx, conversation, seq)
    if message is None:
        raise body.error(f"MsgSeq: no message at seq {seq}")
    await ctx.engine.messages.modify_message(
        message.sender, ctx.session_id, message.msgID, content, cloud_custom_data, as_admin=True
    )
    return {}


# ---- read receipts --------------------------------------------------------------------------------
@group_msg.command("get_group_msg_receipt")
async def get_group_msg_receipt(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B31: ReadNum/UnreadNum per seq; Code 10062 for a message sent without NeedReadReceipt."""
    group_id = body.string("GroupId")
    conversation = _conversation(body, group_id)
    seqs = _seq_list(body, RECEIPTS_PER_CALL_MAX)
    await ctx.engine.groups.store.info(group_id)
    messages = ctx.engine.messages
    _, found = await messages.stored_group_messages(conversation, seqs)
    with_receipts = [m for m in found.values() if m.needReadReceipt and not _recalled(m)]
    receipts = dict(zip((m.seq for m in with_receipts), await messages.receipts_of(with_receipts), strict=True))
    answer = []
    for seq in seqs:
        receipt = receipts.get(seq)
        if receipt is None:
            answer.append({"Code": NO_RECEIPT, "MsgSeq": seq, "ReadNum": 0, "UnreadNum": 0})
        else:
            answer.append({"Code": 0, "MsgSeq": seq, "ReadNum": receipt.readCount, "UnreadNum": receipt.unreadCount})
    return {"GroupMsgReceiptList": answer}


@group_msg.command("get_group_msg_receipt_detail")
async def get_group_msg_receipt_detail(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B31: who has read (Filter 0) or not (Filter 1), Count ≤200 from Cursor ("" first).
    The sample says IsFinish and the field table IsFinished: both are answered."""
    group_id = body.string("GroupId")
    conversation = _conversation(body, group_id)
    seq = body.integer("MsgSeq", lo=1)
    read_filter = body.integer("Filter", lo=0, hi=1)
    cursor = body.string("Cursor", "", empty=True)
    count = body.integer("Count", lo=1, hi=RECEIPT_DETAIL_PAGE_MAX)
    if cursor and not is_digits(cursor, 15):
        raise body.error('Cursor: give "" or the Cursor of the previous answer')
    await ctx.engine.groups.store.info(group_id)
    message = await _message_at(ctx, conversation, seq)
    if message is None or not message.needReadReceipt or _recalled(message):
        raise IMError(NO_RECEIPT, f"MsgSeq: no read receipt for seq {seq}")
    users: list[str] = []
    position, done = int(cursor or 0), False
    while len(users) < count and not done:
        page = await ctx.engine.messages.get_group_message_read_member_list(
            message.sender, message.msgID, read_filter, position, min(ENGINE_MEMBERS_PAGE_MAX, count - len(users))
        )
        users += [m.userID for m in page.memberInfoList]
        position, done = page.nextSeq, page.isFinished
    listed = [{"Read_Account": u} for u in users] if read_filter == 0 else [{"Unread_Account": u} for u in users]
    return {
        "MsgSeq": seq,
        "Cursor": "" if done else str(position),
        "IsFinish": int(done),
        "IsFinished": int(done),
        "ReadList" if read_filter == 0 else "UnreadList": listed,
    }


# ---- message extensions ---------------------------------------------------------------------------
async def _extensible(ctx: RestContext, body: Body) -> StoredMessage:
    group_id = body.string("GroupId")
    seq = body.integer("MsgSeq", lo=1)
    await ctx.engine.groups.store.info(group_id)
    message = await _message_at(ctx, group_id, seq)
    if message is None or _recalled(message):
        raise IMError(EXTENSION_NO_MESSAGE, f"MsgSeq: no message at seq {seq}")
    return message


def _extension_of(item: Body, *, required_value: bool) -> MessageExtension:
    """An ExtensionList item; its Seq is not read (the admin's writes are not conditional).
    A delete names the key only, so its Value may be left out."""
    key = item.string("Key", max_bytes=EXTENSION_KEY_MAX_BYTES)
    if required_value:
        value = item.string("Value", max_bytes=EXTENSION_VALUE_MAX_BYTES, empty=True)
    else:
        value = item.string("Value", "", max_bytes=EXTENSION_VALUE_MAX_BYTES, empty=True)
    return MessageExtension(extensionKey=key, extensionValue=value)


def _extension_results(results: list[MessageExtensionResult]) -> list[dict[str, Any]]:
    return [{"ErrorCode": r.resultCode, "Extension": _extension(r.extension)} for r in results]


def _extension(e: MessageExtension) -> dict[str, Any]:
    return {"Key": e.extensionKey, "Value": e.extensionValue, "Seq": e.extensionVersion}


@group_ext.command("group_set_key_values")
async def group_set_key_values(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B30 (group variant): OperateType 1 set, 2 delete, 3 clear. The admin's Seq is not
    checked, as on Tencent; every member hears of the change."""
    operation = body.integer("OperateType", lo=SET_KEYS, hi=CLEAR_KEYS)
    items = body.objects("ExtensionList", max_items=EXTENSIONS_PER_WRITE_MAX) if operation != CLEAR_KEYS else []
    extensions = [_extension_of(item, required_value=operation == SET_KEYS) for item in items]
    if len({e.extensionKey for e in extensions}) != len(extensions):
        raise body.error("ExtensionList: each Key once per call")
    message = await _extensible(ctx, body)
    if not message.isSupportMessageExtension:
        raise IMError(EXTENSION_NOT_SUPPORTED, "the message was not sent with SupportMessageExtension")
    messages = ctx.engine.messages
    if operation == SET_KEYS:
        results = await messages.set_message_extensions(
            message.sender, ctx.session_id, message.msgID, extensions, [False] * len(extensions)
        )
        return {"ExtensionList": _extension_results(results)}
    keys = [e.extensionKey for e in extensions]
    if operation == CLEAR_KEYS:
        keys = [e.extensionKey for e in await messages.get_message_extensions(message.sender, message.msgID)]
    results = []
    for start in range(0, len(keys), EXTENSIONS_PER_WRITE_MAX):
        chunk = keys[start : start + EXTENSIONS_PER_WRITE_MAX]
        results += await messages.delete_message_extensions(
            message.sender, ctx.session_id, message.msgID, chunk, clearing=operation == CLEAR_KEYS
        )
    return {"ExtensionList": _extension_results(results) if operation == DELETE_KEYS else []}


@group_ext.command("group_get_key_values")
async def group_get_key_values(ctx: RestContext, body: Body) -> dict[str, Any]:
    """FIXTURES B30 (group variant): the message's extensions with Seq ≥ StartSeq, by Seq, 200 at
    most (CompleteFlag 0 when more remain). A key's Seq is its version."""
    start = body.integer("StartSeq", 0, lo=0)
    message = await _extensible(ctx, body)
    found = []
    if message.isSupportMessageExtension:
        found = await ctx.engine.messages.get_message_extensions(message.sender, message.msgID)
    ordered = sorted(found, key=lambda e: (e.extensionVersion, e.extensionKey))
    wanted = [e for e in ordered if e.extensionVersion >= start]
    page = wanted[:EXTENSIONS_PER_READ_MAX]
    return {
        "CompleteFlag": int(len(page) == len(wanted)),
        "LatestSeq": max((e.extensionVersion for e in found), default=0),
        "ClearSeq": 0,
        "ExtensionList": [_extension(e) for e in page],
    }
