"""What the engine tells the app's callback endpoint, and when (MAPPING.md section 5).

The engine's parts hold one `Callbacks` and call it at each hook point:
- before-callbacks ask the endpoint and wait for its answer, at most the configured timeout; a
  failed callback (timeout, network error, not HTTP 200 with JSON, an answer imql cannot apply)
  lets the action through (fail-open, Tencent's default) or refuses it (fail-closed);
- after-callbacks are queued on Redis (an XADD, into the write's own pipeline where the write has
  one) and delivered by a CallbackWorker on some replica, so the endpoint never slows an action.

With no callback URL (or with a command not in IMQL_CALLBACK_COMMANDS) every hook is a set lookup
and returns: the send path gates its hooks with `gates()` (no await, no Redis command).
OptPlatform, ClientIP and the operator come from the request's origin (gateway.origin).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

import msgspec

from gateway.clock import Clock
from gateway.engine.callbacks import bodies
from gateway.engine.callbacks.sender import CallbackRejected, CallbackSender, CallbackUnavailable
from gateway.engine.codec import require_body_fits
from gateway.errors import IMError
from gateway.im.enums import FriendAddType, GroupInfoChangeType, GroupMemberRole, GroupType
from gateway.im.groups import GroupChangeInfo, GroupInfo
from gateway.im.messages import StoredMessage
from gateway.im.model import ProfileChanges
from gateway.keys import Keys
from gateway.origin import current_origin
from gateway.v4 import callbacks as wire
from gateway.v4.msgbody import MediaUrl, content_from_msgbody

log = logging.getLogger("imql.callbacks")

QUEUE_MAX = 100_000  # after-callbacks kept while no worker reads (approximate trim): a backlog, not a leak

# Tencent's callback names of the group profile fields a change may carry (C13)
_INFO_FIELDS = {
    GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_NAME: "Name",
    GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_INTRODUCTION: "Introduction",
    GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_NOTIFICATION: "Notification",
    GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_FACE_URL: "FaceUrl",
}


class CallbackJob(msgspec.Struct, kw_only=True):
    """One queued after-callback, with the origin of the action that caused it."""

    command: str
    body: dict[str, Any]
    platform: str
    clientIP: str
    # C2C callbacks carry a user's total one-to-one unread, counted at delivery: [that user, ...]
    unreadOf: list[str] = []


_job_enc = msgspec.json.Encoder()
_job_dec = msgspec.json.Decoder(CallbackJob)


def decode_job(raw: bytes | str) -> CallbackJob:
    return _job_dec.decode(raw)


def _same(url: str) -> str:
    return url


class Callbacks:
    """The engine's side of third-party callbacks; `Callbacks()` is the switched-off one."""

    def __init__(
        self,
        redis: Any = None,
        keys: Keys | None = None,
        clock: Clock | None = None,
        sender: CallbackSender | None = None,
        *,
        commands: Collection[str] = (),
        fail_closed: bool = False,
        media_url: MediaUrl = _same,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._sender = sender
        self._on = frozenset(commands) if sender is not None and keys is not None else frozenset()
        self._fail_closed = fail_closed
        self._media_url = media_url

    @property
    def enabled(self) -> bool:
        return bool(self._on)

    @property
    def longest_decision_seconds(self) -> float:
        """How long a before-callback may keep a request waiting: its timeout (0 without one)."""
        return self._sender.timeout_seconds if self._sender is not None else 0.0

    def gates(self, command: str) -> bool:
        """Whether this action sends `command`: configured, and not forbidden by the REST call
        being served (ForbidCallbackControl)."""
        if command not in self._on:
            return False
        forbidden = current_origin().forbidden
        return not any(command in wire.FORBID_CONTROLS.get(f, ()) for f in forbidden)

    def _ms(self) -> int:
        assert self._clock is not None
        return int(self._clock.now() * 1000)

    @staticmethod
    def _operator(acting: str) -> str:
        """Operator_Account: the REST admin for a REST action, else the acting user."""
        return current_origin().operator or acting

    # ---- before-callbacks ----------------------------------------------------------------------
    async def _ask(self, command: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The endpoint's answer, or None when the callback failed (the policy decides)."""
        assert self._sender is not None
        origin = current_origin()
        try:
            return await self._sender.post(command, body, origin.platform, origin.client_ip)
        except (CallbackUnavailable, CallbackRejected) as exc:
            log.warning("%s failed: %s (%s)", command, exc, "refused" if self._fail_closed else "allowed")
            return None

    @staticmethod
    def _error_code(answer: dict[str, Any]) -> int | None:
        code = answer.get("ErrorCode", 0)
        if isinstance(code, bool) or not isinstance(code, int | str):
            return None
        try:
            return int(code)
        except ValueError:
            return None

    async def _release(self, claim_key: str | None) -> None:
        """A send that did not happen frees its created message's claim: a resend asks again
        (None: a one-request send without an idempotency key has no claim)."""
        assert self._redis is not None
        if claim_key is not None:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hdel(claim_key, "msgID")
            pipe.delete(Keys.finishing_of(claim_key))  # and the send's hold on it
            await pipe.execute()

    async def _moderate(
        self,
        command: str,
        body: dict[str, Any],
        stored: StoredMessage,
        claim_key: str | None,
        custom_codes: range,
        refused_code: int,
    ) -> tuple[StoredMessage, bool]:
        """(the message to store and deliver, whether to drop it silently); raises to refuse."""
        answer = await self._ask(command, body)
        code = None if answer is None else self._error_code(answer)
        if answer is not None and code == wire.ALLOW:
            if answer.get("MsgBody") == body.get("MsgBody"):  # the body it was sent, echoed: as it is
                answer = {k: v for k, v in answer.items() if k != "MsgBody"}
            replaced = self._replaced(command, stored, answer)
            if replaced is not None:
                return replaced, False
            code = None  # an answer imql cannot apply counts as a failed callback
        if code is None:
            if not self._fail_closed:
                return stored, False
            await self._release(claim_key)
            raise IMError(refused_code, f"{command}: the app's callback failed (IMQL_CALLBACK_FAILURE_POLICY=closed)")
        await self._release(claim_key)
        if code == wire.DISCARD:
            return stored, True
        info = str((answer or {}).get("ErrorInfo") or "") or f"refused by the app's {command} callback"
        raise IMError(code if code in custom_codes else refused_code, info)

    def _replaced(self, command: str, stored: StoredMessage, answer: dict[str, Any]) -> StoredMessage | None:
        """The message with the answer's MsgBody / CloudCustomData, if any; None when imql cannot
        apply them (a body of several elements, a malformed one)."""
        changes: dict[str, Any] = {}
        if "MsgBody" in answer:
            try:
                changes["content"] = content_from_msgbody(answer["MsgBody"])
            except IMError as exc:
                log.warning("%s answered a MsgBody imql cannot store: %s", command, exc.desc)
                return None
        cloud = answer.get("CloudCustomData")
        if isinstance(cloud, str):
            changes["cloudCustomData"] = cloud
        if not changes:
            return stored
        replaced = msgspec.structs.replace(stored, **changes)
        try:  # held to the limit any message is: the app's answer is no way past it
            require_body_fits(replaced.content, replaced.cloudCustomData or "")
        except IMError as exc:
            log.warning("%s answered a message imql cannot store: %s", command, exc.desc)
            return None
        return replaced

    async def before_c2c_send(
        self, stored: StoredMessage, online_only: bool, claim_key: str | None
    ) -> tuple[StoredMessage, bool]:
        """C2C.CallbackBeforeSendMsg: (the message, possibly rewritten; True to drop it silently).
        Refusals raise 20006, or the app's code in 120001-130000."""
        body = bodies.c2c_before_send(stored, online_only, self._media_url, self._ms())
        return await self._moderate(
            wire.C2C_BEFORE_SEND, body, stored, claim_key, wire.C2C_CUSTOM_CODES, wire.C2C_REFUSED
        )

    async def before_group_send(
        self, stored: StoredMessage, group: GroupInfo, online_only: bool, claim_key: str | None
    ) -> tuple[StoredMessage, bool]:
        """Group.CallbackBeforeSendMsg; refusals raise 10016, or the app's code in 10100-10200."""
        operator = self._operator(stored.sender)
        body = bodies.group_before_send(stored, group, operator, online_only, self._media_url, self._ms())
        return await self._moderate(
            wire.GROUP_BEFORE_SEND, body, stored, claim_key, wire.GROUP_CUSTOM_CODES, wire.GROUP_REFUSED
        )

    async def _decide(self, command: str, body: dict[str, Any]) -> None:
        """A group before-callback answered 0 (allow) or not: refusals raise 10016, or the app's
        code in 10100-10200."""
        answer = await self._ask(command, body)
        code = None if answer is None else self._error_code(answer)
        if code == wire.ALLOW or (code is None and not self._fail_closed):
            return
        if code is None:
            raise IMError(
                wire.GROUP_REFUSED, f"{command}: the app's callback failed (IMQL_CALLBACK_FAILURE_POLICY=closed)"
            )
        info = str((answer or {}).get("ErrorInfo") or "") or f"refused by the app's {command} callback"
        raise IMError(code if code in wire.GROUP_CUSTOM_CODES else wire.GROUP_REFUSED, info)

    async def before_apply_join(self, group: GroupInfo, requestor: str) -> None:
        if self.gates(wire.BEFORE_APPLY_JOIN):
            await self._decide(wire.BEFORE_APPLY_JOIN, bodies.before_apply_join(group, requestor, self._ms()))

    async def before_create_group(self, owner: str, group_type: GroupType, name: str, members: Sequence[str]) -> None:
        if self.gates(wire.BEFORE_CREATE_GROUP):
            created = await self._groups_created(owner, group_type)
            operator = self._operator(owner)
            body = bodies.before_create_group(operator, owner, group_type, name, created, members, self._ms())
            await self._decide(wire.BEFORE_CREATE_GROUP, body)

    async def _groups_created(self, owner: str, group_type: GroupType) -> int:
        """CreateGroupNum: the groups of this type the owner owns now."""
        assert self._keys is not None
        group_ids = await self._redis.hkeys(self._keys.user_groups(owner))
        pipe = self._redis.pipeline(transaction=False)
        for gid in group_ids:
            pipe.hmget(self._keys.group_info(gid), ["groupType", "owner"])
        rows = await pipe.execute() if group_ids else []
        return sum(1 for kind, who in rows if kind == group_type.value and who == owner)

    async def prev_friend_add(
        self, requester: str, items: Sequence[dict[str, str]], add_type: FriendAddType, *, forced: bool = False
    ) -> dict[str, tuple[int, str]]:
        """Sns.CallbackPrevFriendAdd: the targets the app refuses, with its ResultCode (38000-39000)
        and ResultInfo. `items`: `{To_Account, Remark, GroupName, AddSource, AddWording}` each."""
        if not self.gates(wire.PREV_FRIEND_ADD):
            return {}
        both = add_type == FriendAddType.V2TIM_FRIEND_TYPE_BOTH
        body = bodies.prev_friend_add(requester, items, both, forced, self._ms())
        return await self._friend_verdicts(wire.PREV_FRIEND_ADD, body, [i["To_Account"] for i in items])

    async def prev_friend_response(self, responder: str, applicant: str, action: str) -> tuple[int, str] | None:
        """Sns.CallbackPrevFriendResponse before the user answers a friend request (`action`:
        Response_Action_AgreeAndAdd, _Agree or _Reject): the app's refusal (ResultCode, ResultInfo),
        or None to let the answer through."""
        if not self.gates(wire.PREV_FRIEND_RESPONSE):
            return None
        item = {"To_Account": applicant, "Remark": "", "TagName": "", "ResponseAction": action}
        body = bodies.prev_friend_response(responder, [item], self._ms())
        return (await self._friend_verdicts(wire.PREV_FRIEND_RESPONSE, body, [applicant])).get(applicant)

    async def _friend_verdicts(
        self, command: str, body: dict[str, Any], targets: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        """The targets a friend before-callback refuses: its ResultItem entries with a code in
        38000-39000; a failed callback refuses them all only fail-closed."""
        answer = await self._ask(command, body)
        if answer is None or self._error_code(answer) != wire.ALLOW:
            if not self._fail_closed:
                return {}
            return dict.fromkeys(targets, (wire.FRIEND_REFUSED, f"{command} failed; refused"))
        refused: dict[str, tuple[int, str]] = {}
        items = answer.get("ResultItem")
        for item in items if isinstance(items, list) else []:  # (anything else: no refusal in it)
            if not isinstance(item, dict):
                continue
            target, code = item.get("To_Account"), item.get("ResultCode")
            if target in targets and isinstance(code, int) and code in wire.FRIEND_REFUSE_CODES:
                refused[str(target)] = (code, str(item.get("ResultInfo") or "refused by the app"))
        return refused

    # ---- after-callbacks -------------------------------------------------------------------------
    def _job(self, command: str, body: dict[str, Any], unread_of: Sequence[str] = ()) -> bytes:
        origin = current_origin()
        job = CallbackJob(
            command=command, body=body, platform=origin.platform, clientIP=origin.client_ip, unreadOf=list(unread_of)
        )
        return _job_enc.encode(job)

    def _queue(self, pipe: Any, job: bytes) -> None:
        assert self._keys is not None
        pipe.xadd(self._keys.callback_queue(), {"job": job}, maxlen=QUEUE_MAX, approximate=True)

    async def _enqueue(self, command: str, body: dict[str, Any], unread_of: Sequence[str] = ()) -> None:
        assert self._keys is not None
        job = self._job(command, body, unread_of)
        await self._redis.xadd(self._keys.callback_queue(), {"job": job}, maxlen=QUEUE_MAX, approximate=True)

    def queue_c2c_sent(self, pipe: Any, stored: StoredMessage, online_only: bool) -> None:
        """C2C.CallbackAfterSendMsg, queued in the send's write pipeline."""
        if self.gates(wire.C2C_AFTER_SEND):
            body = bodies.c2c_after_send(stored, online_only, self._media_url)
            self._queue(pipe, self._job(wire.C2C_AFTER_SEND, body, [stored.receiver, stored.sender]))

    def queue_group_sent(self, pipe: Any, stored: StoredMessage, group: GroupInfo, online_only: bool) -> None:
        """Group.CallbackAfterSendMsg, queued with the sender's own event once the send's write has
        read its group open: a send taken back for a dismissal racing it tells the app nothing."""
        if self.gates(wire.GROUP_AFTER_SEND):
            operator = self._operator(stored.sender)
            body = bodies.group_after_send(stored, group, operator, online_only, self._media_url, self._ms())
            self._queue(pipe, self._job(wire.GROUP_AFTER_SEND, body))

    def queue_c2c_read(self, pipe: Any, reader: str, peer: str, read_time: int) -> None:
        """C2C.CallbackAfterMsgReport, queued in the read's write pipeline; UnreadMsgNum is the
        reader's total one-to-one unread, counted at delivery."""
        if self.gates(wire.C2C_AFTER_READ):
            self._queue(pipe, self._job(wire.C2C_AFTER_READ, bodies.c2c_read(reader, peer, read_time), [reader]))

    def queue_message_modified(self, pipe: Any, stored: StoredMessage, acting: str) -> None:
        """C2C.CallbackAfterModifyMsg or Group.CallbackAfterModifyMsg, with the message as changed,
        queued once the modification's transaction is done (another slot on a Redis Cluster)."""
        command = wire.GROUP_AFTER_MODIFY if stored.groupID else wire.C2C_AFTER_MODIFY
        if self.gates(command):
            build = bodies.group_modified if stored.groupID else bodies.c2c_modified
            body = build(stored, self._operator(acting), self._media_url, self._ms())
            self._queue(pipe, self._job(command, body))

    async def extensions_changed(
        self, stored: StoredMessage, operate: int, extensions: Sequence[bodies.Extension]
    ) -> None:
        """C2C.CallbackAfterC2CMsgExtension or Group.CallbackAfterGroupMsgExtension: the keys a
        write changed, (Key, Value, Seq) each (OperateType 3, clear: none)."""
        command = wire.GROUP_AFTER_EXTENSION if stored.groupID else wire.C2C_AFTER_EXTENSION
        if (extensions or operate == wire.EXTENSION_CLEAR) and self.gates(command):
            build = bodies.group_extension if stored.groupID else bodies.c2c_extension
            await self._enqueue(command, build(stored, operate, extensions, self._ms()))

    async def group_read_receipts(
        self, conversation_group: str, reader: str, receipts: Sequence[bodies.ReadReceipt]
    ) -> None:
        """Group.CallbackAfterReadReceipt: the messages of one group (or topic) a member has just read."""
        if receipts and self.gates(wire.GROUP_AFTER_READ_RECEIPT):
            group_type = await self._group_type(bodies.group_of(conversation_group))
            body = bodies.group_read_receipts(conversation_group, group_type, reader, receipts, self._ms())
            await self._enqueue(wire.GROUP_AFTER_READ_RECEIPT, body)

    async def _group_type(self, group_id: str) -> GroupType:
        assert self._keys is not None
        raw = await self._redis.hget(self._keys.group_info(group_id), "groupType")
        return GroupType(raw) if raw else GroupType.V2TIM_GROUP_TYPE_PUBLIC

    def queue_member_field_changed(
        self, pipe: Any, group: GroupInfo, acting: str, member: str, role: GroupMemberRole, name_card: str
    ) -> None:
        """Group.CallbackAfterMemberFieldChanged: the member's role and name card after a change of
        either (Tencent's callback has no field for mutes or custom data)."""
        if self.gates(wire.GROUP_AFTER_MEMBER_FIELD):
            body = bodies.member_field_changed(
                group, self._operator(acting), member, bodies.role_name(role), name_card, self._ms()
            )
            self._queue(pipe, self._job(wire.GROUP_AFTER_MEMBER_FIELD, body))

    def queue_owner_changed(self, pipe: Any, group: GroupInfo, acting: str, new_owner: str) -> None:
        """Group.CallbackAfterChangeGroupOwner; `group` as it was before (its owner the old one)."""
        if self.gates(wire.GROUP_AFTER_OWNER):
            body = bodies.owner_changed(group, self._operator(acting), group.owner, new_owner, self._ms())
            self._queue(pipe, self._job(wire.GROUP_AFTER_OWNER, body))

    def queue_attributes_changed(
        self, pipe: Any, group: GroupInfo, acting: str, option: str, attributes: dict[str, str]
    ) -> None:
        """Group.CallbackAfterGroupAttrChanged, queued once the attributes' write is done."""
        if self.gates(wire.GROUP_AFTER_ATTR):
            body = bodies.attributes_changed(group, self._operator(acting), option, attributes, self._ms())
            self._queue(pipe, self._job(wire.GROUP_AFTER_ATTR, body))

    async def message_recalled(self, stored: StoredMessage, acting: str) -> None:
        """C2C.CallbackAfterMsgWithDraw or Group.CallbackAfterRecallMsg."""
        if not stored.groupID:
            if self.gates(wire.C2C_AFTER_WITHDRAW):
                await self._enqueue(
                    wire.C2C_AFTER_WITHDRAW, bodies.c2c_withdrawn(stored), [stored.receiver, stored.sender]
                )
            return
        if self.gates(wire.GROUP_AFTER_RECALL):
            group_type = await self._group_type(bodies.group_of(stored.groupID))
            body = bodies.group_recalled(stored, group_type, self._operator(acting), self._ms())
            await self._enqueue(wire.GROUP_AFTER_RECALL, body)

    async def members_joined(self, group: GroupInfo, acting: str, members: Sequence[str], join_type: str) -> None:
        """Group.CallbackAfterNewMemberJoin; `join_type` is "Apply" or "Invited"."""
        if members and self.gates(wire.GROUP_AFTER_JOIN):
            body = bodies.members_joined(group, self._operator(acting), members, join_type, self._ms())
            await self._enqueue(wire.GROUP_AFTER_JOIN, body)

    async def members_left(self, group: GroupInfo, acting: str, members: Sequence[str], exit_type: str) -> None:
        """Group.CallbackAfterMemberExit; `exit_type` is "Quit" or "Kicked"."""
        if members and self.gates(wire.GROUP_AFTER_EXIT):
            body = bodies.members_left(group, self._operator(acting), members, exit_type, self._ms())
            await self._enqueue(wire.GROUP_AFTER_EXIT, body)

    async def group_created(self, group: GroupInfo, acting: str, members: Sequence[str]) -> None:
        if self.gates(wire.GROUP_AFTER_CREATE):
            body = bodies.group_created(group, self._operator(acting), members, self._ms())
            await self._enqueue(wire.GROUP_AFTER_CREATE, body)

    async def group_destroyed(self, group: GroupInfo, members: Sequence[str]) -> None:
        if self.gates(wire.GROUP_AFTER_DESTROY):
            await self._enqueue(wire.GROUP_AFTER_DESTROY, bodies.group_destroyed(group, members, self._ms()))

    async def group_info_changed(self, group: GroupInfo, acting: str, infos: Sequence[GroupChangeInfo]) -> None:
        """Group.CallbackAfterGroupInfoChanged, with the profile fields that changed (only those)."""
        if not self.gates(wire.GROUP_AFTER_INFO):
            return
        changed = {_INFO_FIELDS[i.type]: i.value for i in infos if i.type in _INFO_FIELDS}
        if changed:
            body = bodies.group_info_changed(group, self._operator(acting), changed, self._ms())
            await self._enqueue(wire.GROUP_AFTER_INFO, body)

    async def friends_added(
        self, pairs: Sequence[tuple[str, str]], initiator: str, client_cmd: str, *, forced: bool = False
    ) -> None:
        """Sns.CallbackFriendAdd: `pairs` (owner, new friend) of each friend-list entry made."""
        if pairs and self.gates(wire.FRIEND_ADD):
            origin = current_origin()
            admin = origin.operator if origin.platform == wire.REST_API else ""
            await self._enqueue(wire.FRIEND_ADD, bodies.friends_added(pairs, initiator, client_cmd, admin, forced))

    async def pairs_changed(self, command: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Sns.CallbackFriendDelete / BlackListAdd / BlackListDelete: (owner, other) per entry."""
        if pairs and self.gates(command):
            await self._enqueue(command, bodies.pairs_changed(command, pairs))

    async def portrait_set(self, user_id: str, changes: ProfileChanges) -> None:
        if self.gates(wire.PORTRAIT_SET):
            body = bodies.portrait_set(self._operator(user_id), user_id, changes, self._ms())
            await self._enqueue(wire.PORTRAIT_SET, body)

    async def state_changed(self, user_id: str, online: bool) -> None:
        """State.StateChange from presence: online is a Login, offline a Disconnect (the last
        live connection closed or lapsed)."""
        if self.gates(wire.STATE_CHANGE):
            action, reason = ("Login", "Register") if online else ("Disconnect", "LinkClose")
            await self._enqueue(wire.STATE_CHANGE, bodies.state_changed(user_id, action, reason, self._ms()))
