"""One-to-one messages: `openim/*` (send, import, history, recall, read, unread, modify, receipts)
and their extensions `openim_msg_ext_http_svc/*`; global mutes `openconfigsvr/*`.

Every write is the engine's own action, done for the user the request names: a `sendmsg` goes
down the same send path as an SDK user's `sendMessage` (the receiver's advancedMsgListener and
both conversation lists hear of it the same way), a recall is the sender's recall, a read mark is
the reader's `markC2CMessageAsRead`. What Tencent skips for the admin is skipped: friendship,
blacklist and global-mute checks on sends, the 2-minute recall window, extension versions.

A C2C message is named on the wire by its two users and `MsgKey = <seq>_<random>_<time>`
(gateway/v4/identity.py), where seq is the conversation's seq: the key leads straight to the
stored message (`c2c_msg_id`).

A request without `From_Account` is sent by the app admin account: the first of
IMQL_ADMIN_IDENTIFIER in sort order (the admin's account is created on first use, as Tencent's
admin account exists from the start).
"""

from __future__ import annotations

import asyncio
import secrets
import zlib
from typing import Any

import orjson

from gateway.engine.message_ids import c2c_msg_id
from gateway.engine.messages import ServerSend
from gateway.engine.rest.context import RestContext
from gateway.engine.rest.controls import apply_forbid_callback_control
from gateway.engine.rest.registry import Commands
from gateway.errors import Code, IMError
from gateway.im.conversations import ConversationFilter
from gateway.im.enums import ConversationType, MsgStatus
from gateway.im.messages import Content, Message, MessageExtension, SendOptions
from gateway.v4 import envelope
from gateway.v4.fields import Body
from gateway.v4.identity import MsgKey, parse_msg_key
from gateway.v4.msgbody import content_from_msgbody, msgbody_from_content, offline_push_from_rest

openim = Commands("openim", invalid_code=90009)
extensions = Commands("openim_msg_ext_http_svc", invalid_code=90009)
config = Commands("openconfigsvr", invalid_code=90009)

REGISTRIES = (openim, extensions, config)

UINT32_MAX = 4294967295
BATCH_SEND_MAX = 500  # batchsendmsg To_Account
BATCH_SEND_CONCURRENCY = 32  # sends in flight at once for one batchsendmsg
MSG_LIFETIME_MAX = 7 * 24 * 3600  # MsgLifeTime (s); 0: online users only
ROAM_PAGE_MAX = 100  # admin_getroammsg messages per answer (Complete 0: ask again)
UNREAD_PEERS_MAX = 10  # get_c2c_unread_msg_num Peer_Account
RAMBLE_KEYS_MAX = 30  # delete_c2c_msg_ramble MsgKeyList
RECEIPT_KEYS_MAX = 100  # c2c_msg_read_receipt C2CMsgInfo (the engine's receipts per call)
EXTENSIONS_PER_WRITE = 20
EXTENSIONS_PER_READ = 200
FOREVER = UINT32_MAX  # setnospeaking: muted for good
FOREVER_UNTIL = 2**62  # how "for good" is stored (an until no clock reaches)

NO_SUCH_MESSAGE = 20022  # admin_msgwithdraw / modify_c2c_msg: no message with that key
ALREADY_RECALLED = 20023
BAD_MSG_KEY = 90054
BODY_TOO_LARGE = 93000  # sendmsg: the message is over 12 KB
ACCOUNT_NOT_FOUND = 70107  # an account that was never imported (batch and config answers)
REVOKED_FLAG = 8  # MsgFlagBits: the message was recalled

_SYNC_TO_SENDER, _SYNC_NOT_TO_SENDER = 1, 2  # SyncOtherMachine
_IMPORT_LIVE, _IMPORT_HISTORY, _IMPORT_LIVE_NEW = 1, 2, 5  # SyncFromOldSystem (5 is 1's current name)
_SET, _DELETE, _CLEAR = 1, 2, 3  # set_key_values OperateType


# ---- helpers -------------------------------------------------------------------------------------
def admin_account(ctx: RestContext) -> str:
    """The account a request without From_Account is sent by (module docstring)."""
    return min(ctx.admins)


async def require_accounts(ctx: RestContext, users: list[str], code: int = Code.ERR_RECEIVER_NOT_FOUND) -> None:
    """Every account named exists, or `code` naming the first that does not."""
    for user, exists in zip(users, await ctx.engine.accounts.exists(users), strict=True):
        if not exists:
            raise IMError(code, f"no account {user!r}: import it first (im_open_login_svc/account_import)")


def msg_key_of(message: Message) -> str:
    return str(MsgKey(message.seq, message.random, message.timestamp))


def read_msg_key(body: Body, name: str = "MsgKey") -> MsgKey:
    key = parse_msg_key(body.string(name))
    if key is None:
        raise IMError(BAD_MSG_KEY, f"{name} is not a MsgKey (<MsgSeq>_<MsgRandom>_<MsgTime>)")
    return key


async def find_by_key(ctx: RestContext, viewer: str, peer: str, key: MsgKey) -> Message | None:
    """The message of the viewer's conversation with `peer` that `key` names, as the viewer sees it."""
    found = await ctx.engine.messages.find_messages(viewer, [c2c_msg_id(viewer, peer, key.seq, key.random)])
    return found[0] if found and found[0].timestamp == key.time else None


async def sent_by(ctx: RestContext, sender: str, receiver: str, key: MsgKey) -> Message:
    """The message `sender` sent `receiver` under `key`, or 20022. Read from the receiver's side
    when the sender's has none: a `SyncOtherMachine` 2 send is not in the sender's history."""
    for viewer, peer in ((sender, receiver), (receiver, sender)):
        found = await find_by_key(ctx, viewer, peer, key)
        if found is not None and found.sender == sender:
            return found
    raise IMError(NO_SUCH_MESSAGE, f"no message from {sender!r} to {receiver!r} with MsgKey {key}")


def content_of(message: Message) -> Content:
    return Content(**{name: getattr(message, name) for name in Content.__struct_fields__})


# ---- sending -------------------------------------------------------------------------------------
class SendRequest:
    """The parts of a sendmsg / batchsendmsg / importmsg body the send path takes."""

    def __init__(self, sender: str, options: SendOptions, server: ServerSend, dedup: str | None) -> None:
        self.sender = sender
        self.options = options
        self.server = server
        self.dedup = dedup  # what names a repeat of this request (MsgSeq, MsgRandom, body), if anything

    def created_id(self, receiver: str) -> str:
        """The claim of one receiver's message: a repeat of the same request gets the first result."""
        if self.dedup is None:
            return f"rest-{secrets.token_urlsafe(12)}"
        return f"rest-{zlib.crc32(receiver.encode()):08x}-{self.dedup}"


def read_send_controls(body: Body) -> tuple[bool, bool]:
    """SendMsgControl: (NoUnread, NoLastMsg). WithMuteNotifications is accepted: the receiver's
    receive option is always honoured here."""
    controls = body.strings("SendMsgControl", [], max_items=3, min_items=0)
    unknown = set(controls) - {"NoUnread", "NoLastMsg", "WithMuteNotifications"}
    if unknown:
        raise body.error(f"SendMsgControl: unknown value(s) {sorted(unknown)}")
    return "NoUnread" in controls, "NoLastMsg" in controls


def dedup_of(body: Body, seq: int | None, random: int | None, *extra: object) -> str | None:
    if seq is None or random is None:
        return None
    raw = orjson.dumps(body.raw.get("MsgBody"), option=orjson.OPT_SORT_KEYS)
    return "-".join(str(part) for part in (seq, random, f"{zlib.crc32(raw):08x}", *extra))


async def read_send(ctx: RestContext, body: Body) -> SendRequest:
    """sendmsg / batchsendmsg: everything but To_Account."""
    sender = body.string("From_Account", None)
    sync = body.integer("SyncOtherMachine", _SYNC_TO_SENDER, lo=_SYNC_TO_SENDER, hi=_SYNC_NOT_TO_SENDER)
    seq = body.integer("MsgSeq", None, lo=0, hi=UINT32_MAX)
    random = body.integer("MsgRandom", None, lo=0, hi=UINT32_MAX)
    lifetime = body.integer("MsgLifeTime", MSG_LIFETIME_MAX, lo=0, hi=MSG_LIFETIME_MAX)
    content = content_from_msgbody(body.raw.get("MsgBody"))
    no_unread, no_last = read_send_controls(body)
    options = SendOptions(
        onlineUserOnly=lifetime == 0,
        cloudCustomData=body.string("CloudCustomData", None, empty=True),
        isExcludedFromUnreadCount=no_unread,
        isExcludedFromLastMessage=no_last,
        isSupportMessageExtension=body.flag("SupportMessageExtension"),
        needReadReceipt=body.flag("IsNeedReadReceipt"),
        offlinePushInfo=offline_push_from_rest(body.raw.get("OfflinePushInfo")),
    )
    apply_forbid_callback_control(body)
    if sender is None:
        sender = admin_account(ctx)
        await ctx.engine.accounts.ensure_account(sender)
    else:
        await require_accounts(ctx, [sender])
    server = ServerSend(content=content, random=random, to_sender=sync == _SYNC_TO_SENDER)
    return SendRequest(sender, options, server, dedup_of(body, seq, random, sync, lifetime))


async def send_one(ctx: RestContext, request: SendRequest, receiver: str) -> Message:
    try:
        return await ctx.engine.messages.send_c2c_message(
            request.sender,
            ctx.session_id,
            request.created_id(receiver),
            receiver,
            request.options,
            server=request.server,
        )
    except IMError as exc:
        if exc.code == Code.ERR_MSG_BODY_TOO_LARGE:  # the SDK's 8001 is REST's 93000
            raise IMError(BODY_TOO_LARGE, exc.desc) from exc
        raise


def sent_answer(message: Message) -> dict[str, Any]:
    return {"MsgTime": message.timestamp, "MsgKey": msg_key_of(message), "MsgId": message.msgID}


@openim.command("sendmsg")
async def sendmsg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """One message from From_Account (or the admin) to To_Account, as if sent by the SDK (B1)."""
    receiver = body.string("To_Account")
    request = await read_send(ctx, body)
    return sent_answer(await send_one(ctx, request, receiver))


@openim.command("batchsendmsg")
async def batchsendmsg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """The same message to up to 500 users, one message (and one MsgKey) per conversation; the
    answer's MsgKey is the first receiver's. Failures are listed, the rest are sent (B2)."""
    receivers = list(dict.fromkeys(body.strings("To_Account", max_items=BATCH_SEND_MAX)))
    request = await read_send(ctx, body)
    gate = asyncio.Semaphore(BATCH_SEND_CONCURRENCY)

    async def send(receiver: str) -> Message | IMError:
        async with gate:
            try:
                return await send_one(ctx, request, receiver)
            except IMError as exc:
                return exc

    results = await asyncio.gather(*(send(r) for r in receivers))
    sent = [r for r in results if isinstance(r, Message)]
    errors = [
        {"To_Account": receiver, "ErrorCode": batch_code(r)}
        for receiver, r in zip(receivers, results, strict=True)
        if isinstance(r, IMError)
    ]
    answer: dict[str, Any] = sent_answer(sent[0]) if sent else {}
    if errors:
        answer.update(ActionStatus=envelope.SOME_ERROR, ErrorList=errors)
    return answer


def batch_code(error: IMError) -> int:
    """A receiver's failure as Tencent lists it (an unknown account is 70107 there)."""
    return ACCOUNT_NOT_FOUND if error.code == Code.ERR_RECEIVER_NOT_FOUND else error.code


@openim.command("importmsg")
async def importmsg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """A message from another system into both users' history, with its original time.
    SyncFromOldSystem 2: history (not unread, nobody hears of it but their conversation lists);
    1 or 5: a live message of the migration (unread, delivered like a send)."""
    mode = body.integer("SyncFromOldSystem", lo=_IMPORT_LIVE, hi=_IMPORT_LIVE_NEW)
    if mode not in (_IMPORT_LIVE, _IMPORT_HISTORY, _IMPORT_LIVE_NEW):
        raise body.error("SyncFromOldSystem must be 1, 2 or 5")
    sender, receiver = body.string("From_Account"), body.string("To_Account")
    seq = body.integer("MsgSeq", lo=0, hi=UINT32_MAX)
    random = body.integer("MsgRandom", lo=0, hi=UINT32_MAX)
    timestamp = body.integer("MsgTimeStamp", lo=0, hi=UINT32_MAX)
    content = content_from_msgbody(body.raw.get("MsgBody"))
    history = mode == _IMPORT_HISTORY
    options = SendOptions(
        cloudCustomData=body.string("CloudCustomData", None, empty=True), isExcludedFromUnreadCount=history
    )
    await require_accounts(ctx, [sender, receiver])
    server = ServerSend(content=content, random=random, timestamp=timestamp, live=not history)
    # Tencent drops a repeat by (MsgSeq, MsgRandom, MsgTimeStamp) whatever the body
    request = SendRequest(sender, options, server, f"import-{seq}-{random}-{timestamp}")
    await send_one(ctx, request, receiver)
    return {}


# ---- history -------------------------------------------------------------------------------------
@openim.command("admin_getroammsg")
async def admin_getroammsg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Operator_Account's history with Peer_Account between MinTime and MaxTime, newest page first
    (each page oldest first); continue with MaxTime = LastMsgTime and LastMsgKey (B4). The old
    names From_Account / To_Account are accepted too."""
    operator = body.string("Operator_Account" if body.has("Operator_Account") else "From_Account")
    peer = body.string("Peer_Account" if body.has("Peer_Account") else "To_Account")
    wanted = min(body.integer("MaxCnt", lo=1, hi=UINT32_MAX), ROAM_PAGE_MAX)
    min_time = body.integer("MinTime", lo=0, hi=UINT32_MAX)
    max_time = body.integer("MaxTime", lo=0, hi=UINT32_MAX)
    if max_time < min_time:
        raise body.error("MaxTime is before MinTime")
    after = read_msg_key(body, "LastMsgKey") if body.has("LastMsgKey") else None
    await require_accounts(ctx, [operator, peer])
    cursor = c2c_msg_id(operator, peer, after.seq, after.random) if after else None
    found = await roam(ctx, operator, peer, wanted + 1, cursor, min_time, max_time)
    page = found[:wanted]
    oldest = page[-1] if page else None
    return {
        "Complete": 0 if len(found) > wanted else 1,
        "MsgCnt": len(page),
        "LastMsgTime": oldest.timestamp if oldest else 0,
        "LastMsgKey": msg_key_of(oldest) if oldest else "",
        "MsgList": [roam_item(ctx, operator, m) for m in reversed(page)],
    }


async def roam(
    ctx: RestContext, operator: str, peer: str, count: int, cursor: str | None, min_time: int, max_time: int
) -> list[Message]:
    """Up to `count` messages of the operator's view older than `cursor`, newest first, timed within
    [min_time, max_time] (the engine filters the lower bound, this the upper)."""
    begin = max(min_time, 1)  # 0 would switch the engine's time filter off
    found: list[Message] = []
    while len(found) < count:
        page = await ctx.engine.messages.get_c2c_history_message_list(
            operator, peer, ROAM_PAGE_MAX, last_msg_id=cursor, time_begin=begin, time_period=max_time - begin
        )
        found += [m for m in page if m.timestamp <= max_time]
        if len(page) < ROAM_PAGE_MAX:
            break
        cursor = page[-1].msgID
    return found[:count]


def roam_item(ctx: RestContext, operator: str, m: Message) -> dict[str, Any]:
    revoked = m.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED
    return {
        "From_Account": m.sender,
        "To_Account": m.userID if m.sender == operator else operator,
        "MsgSeq": m.seq,
        "MsgRandom": m.random,
        "MsgTimeStamp": m.timestamp,
        "MsgFlagBits": REVOKED_FLAG if revoked else 0,
        "IsPeerRead": 1 if m.isPeerRead else 0,
        "MsgKey": msg_key_of(m),
        "MsgBody": msgbody_from_content(content_of(m), ctx.media_url),
        "CloudCustomData": m.cloudCustomData,
    }


# ---- recall, modify, delete ----------------------------------------------------------------------
@openim.command("admin_msgwithdraw")
async def admin_msgwithdraw(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Recall From_Account's message to To_Account as the sender would, at any age (B6)."""
    sender, receiver = body.string("From_Account"), body.string("To_Account")
    key = read_msg_key(body)
    message = await sent_by(ctx, sender, receiver, key)
    if message.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED:
        raise IMError(ALREADY_RECALLED, f"the message {key} was already recalled")
    await ctx.engine.messages.revoke_message(sender, ctx.session_id, message.msgID, as_admin=True)
    return {}


@openim.command("modify_c2c_msg")
async def modify_c2c_msg(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Change the body and/or CloudCustomData of From_Account's message, as the sender would (B10)."""
    sender, receiver = body.string("From_Account"), body.string("To_Account")
    key = read_msg_key(body)
    content = content_from_msgbody(body.raw["MsgBody"]) if body.has("MsgBody") else None
    cloud = body.string("CloudCustomData", None, empty=True)
    if content is None and cloud is None:
        raise body.error("give MsgBody and/or CloudCustomData")
    message = await sent_by(ctx, sender, receiver, key)
    await ctx.engine.messages.modify_message(sender, ctx.session_id, message.msgID, content, cloud, as_admin=True)
    return {}


@openim.command("delete_c2c_msg_ramble")
async def delete_c2c_msg_ramble(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Delete messages from Operator_Account's history only (the peer keeps them), as the SDK's
    deleteMessages does (B32). Keys that name no message of the conversation are passed over."""
    operator, peer = body.string("Operator_Account"), body.string("Peer_Account")
    texts = body.strings("MsgKeyList", max_items=RAMBLE_KEYS_MAX)
    keys = [parse_msg_key(t) for t in texts]
    if any(k is None for k in keys):
        raise IMError(BAD_MSG_KEY, "MsgKeyList: an item is not a MsgKey")
    await require_accounts(ctx, [operator, peer])
    for key in keys:
        assert key is not None
        found = await find_by_key(ctx, operator, peer, key)
        if found is not None:
            await ctx.engine.messages.delete_message_from_local_storage(operator, found.msgID)
    return {}


# ---- reading -------------------------------------------------------------------------------------
@openim.command("admin_set_msg_read")
async def admin_set_msg_read(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Report_Account has read its conversation with Peer_Account (up to MsgReadTime, or now), as
    markC2CMessageAsRead: Peer_Account gets the read receipt (B8)."""
    reader, peer = body.string("Report_Account"), body.string("Peer_Account")
    read_time = body.integer("MsgReadTime", None, lo=0, hi=UINT32_MAX)
    await require_accounts(ctx, [reader, peer])
    await ctx.engine.messages.mark_c2c_message_as_read(reader, peer, read_time=read_time)
    return {}


@openim.command("get_c2c_unread_msg_num")
async def get_c2c_unread_msg_num(ctx: RestContext, body: Body) -> dict[str, Any]:
    """To_Account's unread one-to-one messages: all, and per Peer_Account (≤10) (B9)."""
    user = body.string("To_Account")
    peers = list(dict.fromkeys(body.strings("Peer_Account", [], max_items=UNREAD_PEERS_MAX, min_items=0)))
    await require_accounts(ctx, [user])
    c2c_only = ConversationFilter(conversationType=int(ConversationType.V2TIM_C2C))
    answer: dict[str, Any] = {
        "AllC2CUnreadMsgNum": await ctx.engine.conversations.get_unread_message_count_by_filter(user, c2c_only)
    }
    if peers:
        exists = await ctx.engine.accounts.exists(peers)
        known = [p for p, e in zip(peers, exists, strict=True) if e]
        counts = await asyncio.gather(*(ctx.engine.messages.unread_c2c(user, p) for p in known))
        answer["C2CUnreadMsgNumList"] = [
            {"Peer_Account": p, "C2CUnreadMsgNum": n} for p, n in zip(known, counts, strict=True)
        ]
        missing = [p for p, e in zip(peers, exists, strict=True) if not e]
        if missing:
            answer["ErrorList"] = [{"Peer_Account": p, "ErrorCode": ACCOUNT_NOT_FOUND} for p in missing]
    return answer


@openim.command("c2c_msg_read_receipt")
async def c2c_msg_read_receipt(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Operator_Account sends read receipts for Peer_Account's messages (those sent with
    IsNeedReadReceipt), as sendMessageReadReceipts: the sender hears onRecvMessageReadReceipts (B31)."""
    reader, sender = body.string("Operator_Account"), body.string("Peer_Account")
    items = body.objects("C2CMsgInfo", max_items=RECEIPT_KEYS_MAX)
    keys = []
    for item in items:
        if item.string("From_Account") != sender or item.string("To_Account") != reader:
            raise item.error("C2CMsgInfo: From_Account must be Peer_Account and To_Account Operator_Account")
        keys.append(read_msg_key(item))
    await require_accounts(ctx, [reader, sender])
    msg_ids = [(await sent_by(ctx, sender, reader, key)).msgID for key in keys]
    await ctx.engine.messages.send_message_read_receipts(reader, msg_ids)
    return {}


# ---- extensions ----------------------------------------------------------------------------------
async def extended_message(ctx: RestContext, body: Body) -> tuple[str, Message]:
    """(the account the extension write is done as, the message) for From_Account?/To_Account/MsgKey."""
    sender = body.string("From_Account", None) or admin_account(ctx)
    receiver = body.string("To_Account")
    key = read_msg_key(body)
    found = await find_by_key(ctx, sender, receiver, key)
    if found is None:
        raise IMError(NO_SUCH_MESSAGE, f"no message of {sender!r} and {receiver!r} with MsgKey {key}")
    return sender, found


@extensions.command("set_key_values")
async def set_key_values(ctx: RestContext, body: Body) -> dict[str, Any]:
    """OperateType 1 set, 2 delete the keys given, 3 delete all; the admin's writes skip the Seq
    check, as on Tencent. Both users hear of the change (B30)."""
    operate = body.integer("OperateType", lo=_SET, hi=_CLEAR)
    items = body.objects("ExtensionList", [], max_items=EXTENSIONS_PER_WRITE, min_items=0)
    if operate != _CLEAR and not items:
        raise body.error("ExtensionList needs at least 1 item")
    pairs = [(i.string("Key"), i.string("Value", "", empty=True)) for i in items]
    for item in items:
        item.integer("Seq", 0, lo=0)
    user, message = await extended_message(ctx, body)
    engine = ctx.engine.messages
    if operate == _SET:
        wanted = [MessageExtension(extensionKey=k, extensionValue=v) for k, v in pairs]
        results = await engine.set_message_extensions(
            user, ctx.session_id, message.msgID, wanted, [False] * len(wanted)
        )
    else:
        keys = [k for k, _ in pairs] if operate == _DELETE else await all_extension_keys(ctx, user, message.msgID)
        results = []
        for start in range(0, len(keys), EXTENSIONS_PER_WRITE):
            chunk = keys[start : start + EXTENSIONS_PER_WRITE]
            results += await engine.delete_message_extensions(
                user, ctx.session_id, message.msgID, chunk, clearing=operate == _CLEAR
            )
    return {
        "ExtensionList": [
            {
                "ErrorCode": r.resultCode,
                "Extension": {
                    "Key": r.extension.extensionKey,
                    "Value": r.extension.extensionValue,
                    "Seq": r.extension.extensionVersion,
                },
            }
            for r in results
        ]
    }


async def all_extension_keys(ctx: RestContext, user: str, msg_id: str) -> list[str]:
    return [e.extensionKey for e in await ctx.engine.messages.get_message_extensions(user, msg_id)]


@extensions.command("get_key_values")
async def get_key_values(ctx: RestContext, body: Body) -> dict[str, Any]:
    """The message's extensions with Seq ≥ StartSeq, 200 at most (CompleteFlag 0: more). A key's
    Seq is its version (bumped by each write of it); LatestSeq is the highest (B30)."""
    start = body.integer("StartSeq", 0, lo=0)
    user, message = await extended_message(ctx, body)
    found = await ctx.engine.messages.get_message_extensions(user, message.msgID)
    wanted = sorted(
        (e for e in found if e.extensionVersion >= start), key=lambda e: (e.extensionVersion, e.extensionKey)
    )
    page = wanted[:EXTENSIONS_PER_READ]
    return {
        "CompleteFlag": 1 if len(wanted) <= EXTENSIONS_PER_READ else 0,
        "LatestSeq": max((e.extensionVersion for e in found), default=0),
        "ClearSeq": 0,
        "ExtensionList": [{"Key": e.extensionKey, "Value": e.extensionValue, "Seq": e.extensionVersion} for e in page],
    }


# ---- global mutes --------------------------------------------------------------------------------
def until_of(seconds: int | None, now: int) -> int | None:
    """A mute length (0 lifts it, 4294967295 is for good) as the time it ends."""
    if seconds is None or seconds == 0:
        return seconds
    return FOREVER_UNTIL if seconds == FOREVER else now + seconds


def seconds_of(until: int, now: int) -> int:
    """The time a mute ends as what getnospeaking answers: what is left of it (4294967295: for good)."""
    if until == 0:
        return 0
    return FOREVER if until == FOREVER_UNTIL else max(until - now, 0)


@config.command("setnospeaking")
async def setnospeaking(ctx: RestContext, body: Body) -> dict[str, Any]:
    """Mute Set_Account for every one-to-one (20012) and/or group (10017) message it sends from the
    SDK, for the seconds given (0 lifts it, 4294967295 is for good). Admin REST sends are not held."""
    user = body.string("Set_Account")
    c2c = body.integer("C2CmsgNospeakingTime", None, lo=0, hi=UINT32_MAX)
    group = body.integer("GroupmsgNospeakingTime", None, lo=0, hi=UINT32_MAX)
    if c2c is None and group is None:
        raise body.error("give C2CmsgNospeakingTime and/or GroupmsgNospeakingTime")
    await require_accounts(ctx, [user], ACCOUNT_NOT_FOUND)
    now = ctx.now()
    await ctx.engine.messages.set_global_mute(user, until_of(c2c, now), until_of(group, now))
    return {}


@config.command("getnospeaking")
async def getnospeaking(ctx: RestContext, body: Body) -> dict[str, Any]:
    user = body.string("Get_Account")
    await require_accounts(ctx, [user], ACCOUNT_NOT_FOUND)
    c2c, group = await ctx.engine.messages.global_mute(user)
    now = ctx.now()
    return {"C2CmsgNospeakingTime": seconds_of(c2c, now), "GroupmsgNospeakingTime": seconds_of(group, now)}
