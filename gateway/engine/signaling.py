"""V2TIMSignalingManager on Redis: call invitations with answers, cancellation and server-side timeouts.

An invitation is one hash (parties, state, each invitee's answer) plus, while it may still time
out, an entry in an app-wide sorted set of deadlines. Every state change is one Lua script, so
an accept racing a cancel or the timeout has exactly one winner. Whichever replica's timer finds a
deadline passed claims it in that same script; so onInvitationTimeout goes out once, from any
replica, and survives restarts (a replica that dies in the instant between the claim and the
publish loses that one notice; everything before the claim is kept in Redis).

As in the Tencent SDK, each step also travels as a custom message (businessID 1, see
gateway.im.signaling) in the C2C conversation or the group, unless the invitation is online-only;
getSignalingInfo reads such a message back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from gateway.clock import Clock
from gateway.engine.errors import maps_store_errors
from gateway.engine.groups.store import GroupStore
from gateway.engine.message_manager import EmbeddedMessages
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import EventBus
from gateway.im.enums import ElemType, SignalingActionType
from gateway.im.events import (
    IMEvent,
    OnInvitationCancelled,
    OnInvitationModified,
    OnInvitationTimeout,
    OnInviteeAccepted,
    OnInviteeRejected,
    OnReceiveNewInvitation,
)
from gateway.im.messages import Content, CustomElem, OfflinePushInfo, SendOptions
from gateway.im.signaling import SIGNALING_BUSINESS_ID, SignalingInfo
from gateway.keys import Keys

log = logging.getLogger("imql.signaling")

TIMEOUT_MAX_SECONDS = 24 * 3600  # longer than any call rings; 0 means no timeout, as in the SDK
INVITEES_MAX = 100  # invitees of one group invitation
KEEP_AFTER_END_SECONDS = 24 * 3600  # a finished invitation still answers 8010 (not "unknown") this long
KEEP_WITHOUT_TIMEOUT_SECONDS = 7 * 24 * 3600  # an invitation with no timeout lapses after this
DUE_BATCH = 100  # deadlines claimed per timer pass
_FOREVER = float(2**52)  # "now" for a timeout reported by the upstream: past any deadline kept here

_ACTIONS = {
    "accept": SignalingActionType.SIGNALING_ACTION_TYPE_ACCEPT_INVITE,
    "reject": SignalingActionType.SIGNALING_ACTION_TYPE_REJECT_INVITE,
    "cancel": SignalingActionType.SIGNALING_ACTION_TYPE_CANCEL_INVITE,
    "timeout": SignalingActionType.SIGNALING_ACTION_TYPE_INVITE_TIMEOUT,
}

# KEYS[1] the invitation hash, KEYS[2] the deadlines set.
# ARGV: op (accept | reject | cancel | modify | add | timeout), user, inviteID, now, data
# Returns {0, ...} on success, {code} on refusal. accept/reject: {0, 1 if that was the last answer};
# cancel/timeout: {0, invitees who had not answered...}.
_TRANSITION = """
local op, user = ARGV[1], ARGV[2]
local state = redis.call('HGET', KEYS[1], 'state')
if not state and op == 'timeout' then
  redis.call('ZREM', KEYS[2], ARGV[3])  -- lapsed while no timer ran: nobody is left to tell
end
if state ~= 'open' then return {8010} end
local inviter = redis.call('HGET', KEYS[1], 'inviter')
local invitees = cjson.decode(redis.call('HGET', KEYS[1], 'invitees'))
local pending, invited = {}, false
for _, u in ipairs(invitees) do
  if u == user then invited = true end
  if redis.call('HEXISTS', KEYS[1], 'answer:' .. u) == 0 then pending[#pending + 1] = u end
end
local function finish(final)
  redis.call('HSET', KEYS[1], 'state', final)
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
end
if op == 'timeout' then
  local deadline = redis.call('ZSCORE', KEYS[2], ARGV[3])
  if not deadline or tonumber(deadline) > tonumber(ARGV[4]) then return {8010} end
  finish('timeout')
  return {0, unpack(pending)}
end
if op == 'cancel' then
  if user ~= inviter then return {8011} end
  finish('cancelled')
  return {0, unpack(pending)}
end
if op == 'modify' then
  if user ~= inviter and not invited then return {8011} end
  redis.call('HSET', KEYS[1], 'data', ARGV[5])
  return {0}
end
if not invited then return {8011} end
if redis.call('HEXISTS', KEYS[1], 'answer:' .. user) == 1 then return {8010} end
if op == 'add' then
  if redis.call('HSETNX', KEYS[1], 'added:' .. user, 1) == 0 then return {8012} end
  return {0}
end
redis.call('HSET', KEYS[1], 'answer:' .. user, op)
if #pending == 1 then
  finish('answered')
  return {0, 1}
end
return {0, 0}
"""

_info_enc = msgspec.json.Encoder()
_info_dec = msgspec.json.Decoder(SignalingInfo)

_REFUSALS = {
    8010: (Code.ERR_SDK_SIGNALING_INVALID_INVITE_ID, "inviteID: unknown, already answered, cancelled or timed out"),
    8011: (Code.ERR_SDK_SIGNALING_NO_PERMISSION, "you may not do that to this invitation"),
    8012: (Code.ERR_SDK_SIGNALING_ALREADY_EXISTS, "the invitation was already added"),
}


class _Invitation(msgspec.Struct, kw_only=True):
    inviteID: str
    inviter: str
    groupID: str
    inviteeList: list[str]
    data: str
    timeout: int
    onlineUserOnly: bool
    # made on the upstream IM server (a native user's, gateway.upstream): its steps' messages are
    # the native devices' to send, so a timeout here tells the local parties and sends nothing
    remote: bool = False


@maps_store_errors
class Signaling:
    def __init__(
        self, redis: Any, keys: Keys, bus: EventBus, clock: Clock, messages: EmbeddedMessages, groups: GroupStore
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._clock = clock
        self._messages = messages
        self._groups = groups
        self._transition_script = redis.register_script(_TRANSITION)

    # ---- inviting -------------------------------------------------------------------------------
    async def invite(
        self,
        user_id: str,
        session_id: str,
        invitee: str,
        data: str,
        timeout_seconds: int,
        *,
        online_user_only: bool = False,
        offline_push_info: OfflinePushInfo | None = None,
    ) -> str:
        if invitee == user_id:
            raise invalid("invitee: you cannot invite yourself")
        return await self._open(
            user_id, session_id, "", [invitee], data, timeout_seconds, online_user_only, offline_push_info
        )

    async def invite_in_group(
        self,
        user_id: str,
        session_id: str,
        group_id: str,
        invitees: Sequence[str],
        data: str,
        timeout_seconds: int,
        *,
        online_user_only: bool = False,
    ) -> str:
        invitees = [u for u in dict.fromkeys(invitees) if u != user_id]
        if not invitees:
            raise invalid("inviteeList: name at least one member besides you")
        if len(invitees) > INVITEES_MAX:
            raise invalid(f"inviteeList: at most {INVITEES_MAX} invitees")
        group = await self._groups.info(group_id)
        await self._groups.require_member(group, user_id)
        outsiders = await self._groups.non_members(group_id, invitees)
        if outsiders:
            raise invalid(f"inviteeList: {', '.join(outsiders)} not members of {group_id!r}")
        return await self._open(user_id, session_id, group_id, invitees, data, timeout_seconds, online_user_only, None)

    async def _open(
        self,
        inviter: str,
        session_id: str,
        group_id: str,
        invitees: list[str],
        data: str,
        timeout_seconds: int,
        online_user_only: bool,
        offline_push_info: OfflinePushInfo | None,
    ) -> str:
        if not 0 <= timeout_seconds <= TIMEOUT_MAX_SECONDS:
            raise invalid(f"timeout: 0 (none) to {TIMEOUT_MAX_SECONDS} seconds")
        invitation = _Invitation(
            inviteID=str(uuid.uuid4()),
            inviter=inviter,
            groupID=group_id,
            inviteeList=invitees,
            data=data,
            timeout=timeout_seconds,
            onlineUserOnly=online_user_only,
        )
        key = self._keys.signaling_invitation(invitation.inviteID)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(
            key,
            mapping={
                "state": "open",
                "inviter": inviter,
                "invitees": _info_enc.encode(invitees),
                "info": _info_enc.encode(invitation),
                "data": data,
            },
        )
        if timeout_seconds:
            pipe.expire(key, timeout_seconds + KEEP_AFTER_END_SECONDS)
            pipe.zadd(self._keys.signaling_deadlines(), {invitation.inviteID: self._clock.now() + timeout_seconds})
        else:
            pipe.expire(key, KEEP_WITHOUT_TIMEOUT_SECONDS)
        await pipe.execute()
        try:
            # the message checks what any message would (the invitee exists, has not blocked the
            # inviter, group membership and mutes); a refused invitation must not ring later
            invite = SignalingActionType.SIGNALING_ACTION_TYPE_INVITE
            await self._tell_by_message(invitation, inviter, session_id, invite, invitees, data, offline_push_info)
        except IMError:
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(key)
            pipe.zrem(self._keys.signaling_deadlines(), invitation.inviteID)
            await pipe.execute()
            raise
        event = OnReceiveNewInvitation(
            inviteID=invitation.inviteID, inviter=inviter, groupID=group_id, inviteeList=invitees, data=data
        )
        await self._bus.publish(invitees, event)
        return invitation.inviteID

    # ---- answering ------------------------------------------------------------------------------
    async def accept_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None:
        await self._answer(user_id, session_id, invite_id, data, "accept")

    async def reject_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None:
        await self._answer(user_id, session_id, invite_id, data, "reject")

    async def _answer(self, user_id: str, session_id: str, invite_id: str, data: str, op: str) -> None:
        await self._transition(op, user_id, invite_id, data)
        invitation = await self._load(invite_id)
        event: IMEvent = (
            OnInviteeAccepted(inviteID=invite_id, invitee=user_id, data=data)
            if op == "accept"
            else OnInviteeRejected(inviteID=invite_id, invitee=user_id, data=data)
        )
        await self._bus.publish(_parties(invitation), event, except_session=session_id)
        await self._tell_quietly(invitation, user_id, session_id, _ACTIONS[op], [user_id], data)

    async def cancel_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None:
        await self._transition("cancel", user_id, invite_id, data)
        invitation = await self._load(invite_id)
        event = OnInvitationCancelled(inviteID=invite_id, inviter=user_id, data=data)
        await self._bus.publish(_parties(invitation), event, except_session=session_id)
        await self._tell_quietly(invitation, user_id, session_id, _ACTIONS["cancel"], invitation.inviteeList, data)

    async def modify_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None:
        """onInvitationModified (the SDK's modifyInvitation): new data for an open invitation."""
        await self._transition("modify", user_id, invite_id, data)
        invitation = await self._load(invite_id)
        await self._bus.publish(
            _parties(invitation), OnInvitationModified(inviteID=invite_id, data=data), except_session=session_id
        )

    async def add_invited_signaling(self, user_id: str, invite_id: str) -> None:
        """addInvitedSignaling: an invitee who learned of an invitation elsewhere (an offline push)
        has it delivered to their devices as onReceiveNewInvitation; once per invitee (8012 after).
        The server's record is what is delivered, whatever else the client's info says."""
        await self._transition("add", user_id, invite_id, "")
        invitation = await self._load(invite_id)
        data = await self._redis.hget(self._keys.signaling_invitation(invite_id), "data")
        event = OnReceiveNewInvitation(
            inviteID=invite_id,
            inviter=invitation.inviter,
            groupID=invitation.groupID,
            inviteeList=invitation.inviteeList,
            data=data or "",
        )
        await self._bus.publish([user_id], event)

    # ---- steps made upstream -----------------------------------------------------------------------
    async def apply_remote_step(self, sender: str, info: SignalingInfo) -> None:
        """A step of an invitation made on the upstream IM server (a native user's), as the
        signaling message that carried it says: the invitation's state follows and the local
        parties hear the same events as for a step made here; no message is sent (the step's own
        message is mirrored as it is). A step the state has already passed (a repeat, or the
        timeout both sides noticed) changes nothing."""
        action = info.actionType
        if action == SignalingActionType.SIGNALING_ACTION_TYPE_INVITE:
            await self._open_remote(sender, info)
            return
        op = {
            SignalingActionType.SIGNALING_ACTION_TYPE_ACCEPT_INVITE: "accept",
            SignalingActionType.SIGNALING_ACTION_TYPE_REJECT_INVITE: "reject",
            SignalingActionType.SIGNALING_ACTION_TYPE_CANCEL_INVITE: "cancel",
            SignalingActionType.SIGNALING_ACTION_TYPE_INVITE_TIMEOUT: "timeout",
        }.get(action)
        if op is None:
            return
        try:
            # a native timeout is the inviter's device's own: whatever deadline is kept here
            pending = await self._transition(op, sender, info.inviteID, info.data, now=_FOREVER)
            invitation = await self._load(info.inviteID)
        except IMError:
            return
        event: IMEvent
        if op == "accept":
            event = OnInviteeAccepted(inviteID=info.inviteID, invitee=sender, data=info.data)
        elif op == "reject":
            event = OnInviteeRejected(inviteID=info.inviteID, invitee=sender, data=info.data)
        elif op == "cancel":
            event = OnInvitationCancelled(inviteID=info.inviteID, inviter=sender, data=info.data)
        else:
            event = OnInvitationTimeout(inviteID=info.inviteID, inviteeList=pending)
        await self._bus.publish(_parties(invitation), event)

    async def _open_remote(self, inviter: str, info: SignalingInfo) -> None:
        if not info.inviteID or not 0 <= info.timeout <= TIMEOUT_MAX_SECONDS:
            return  # not an invitation imql can keep
        invitation = _Invitation(
            inviteID=info.inviteID,
            inviter=inviter,
            groupID=info.groupID,
            inviteeList=list(info.inviteeList),
            data=info.data,
            timeout=info.timeout,
            onlineUserOnly=False,
            remote=True,
        )
        key = self._keys.signaling_invitation(invitation.inviteID)
        if not await self._redis.hsetnx(key, "state", "open"):
            return  # a repeat of an invitation already kept
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(
            key,
            mapping={
                "inviter": inviter,
                "invitees": _info_enc.encode(invitation.inviteeList),
                "info": _info_enc.encode(invitation),
                "data": info.data,
            },
        )
        if info.timeout:
            pipe.expire(key, info.timeout + KEEP_AFTER_END_SECONDS)
            pipe.zadd(self._keys.signaling_deadlines(), {invitation.inviteID: self._clock.now() + info.timeout})
        else:
            pipe.expire(key, KEEP_WITHOUT_TIMEOUT_SECONDS)
        await pipe.execute()
        event = OnReceiveNewInvitation(
            inviteID=invitation.inviteID,
            inviter=inviter,
            groupID=invitation.groupID,
            inviteeList=invitation.inviteeList,
            data=info.data,
        )
        await self._bus.publish(invitation.inviteeList, event)

    # ---- timeouts -------------------------------------------------------------------------------
    async def expire_due(self) -> int:
        """Time out every invitation whose deadline has passed; returns how many this call did.
        Replicas may run it at once: the claim inside the transition lets one of them win each."""
        now = self._clock.now()
        due = await self._redis.zrangebyscore(self._keys.signaling_deadlines(), "-inf", now, start=0, num=DUE_BATCH)
        expired = 0
        for invite_id in due:
            try:
                pending = await self._transition("timeout", "", invite_id, "", now=now)
            except IMError:
                continue  # answered, cancelled, or claimed by another replica meanwhile
            expired += 1
            invitation = await self._load(invite_id)
            await self._bus.publish(
                [invitation.inviter, *pending], OnInvitationTimeout(inviteID=invite_id, inviteeList=pending)
            )
            if not invitation.remote:  # a native inviter's device sends its own timeout message
                await self._tell_quietly(invitation, invitation.inviter, "", _ACTIONS["timeout"], pending, "")
        return expired

    # ---- reading messages back ------------------------------------------------------------------
    async def get_signaling_info(self, user_id: str, msg_id: str) -> SignalingInfo:
        stored = await self._messages.load_visible(user_id, msg_id)
        elem = stored.content.customElem
        if stored.content.elemType != ElemType.V2TIM_ELEM_TYPE_CUSTOM or elem is None:
            raise invalid("msgID: not a signaling message")
        try:
            info = _info_dec.decode(elem.data)
        except msgspec.DecodeError:
            raise invalid("msgID: not a signaling message") from None
        if info.businessID != SIGNALING_BUSINESS_ID:
            raise invalid("msgID: not a signaling message")
        return info

    # ---- helpers --------------------------------------------------------------------------------
    async def _transition(self, op: str, user_id: str, invite_id: str, data: str, *, now: float = 0.0) -> list[str]:
        if not invite_id:
            raise invalid("inviteID is required")
        keys = [self._keys.signaling_invitation(invite_id), self._keys.signaling_deadlines()]
        reply = await self._transition_script(
            keys=keys, args=[op, user_id, invite_id, now, data, KEEP_AFTER_END_SECONDS]
        )
        code = int(reply[0])
        if code:
            raise IMError(*_REFUSALS[code])
        return [r.decode() if isinstance(r, bytes) else str(r) for r in reply[1:]]

    async def _load(self, invite_id: str) -> _Invitation:
        raw = await self._redis.hget(self._keys.signaling_invitation(invite_id), "info")
        if raw is None:
            raise IMError(*_REFUSALS[8010])
        return msgspec.json.decode(raw, type=_Invitation)

    async def _tell_by_message(
        self,
        invitation: _Invitation,
        sender: str,
        session_id: str,
        action: SignalingActionType,
        invitees: list[str],
        data: str,
        offline_push_info: OfflinePushInfo | None = None,
    ) -> None:
        """One step of the invitation as the custom message the SDK would send."""
        info = SignalingInfo(
            inviteID=invitation.inviteID,
            groupID=invitation.groupID,
            inviter=invitation.inviter,
            inviteeList=invitees,
            data=data,
            timeout=invitation.timeout,
            actionType=action,
        )
        content = Content(
            elemType=ElemType.V2TIM_ELEM_TYPE_CUSTOM, customElem=CustomElem(data=_info_enc.encode(info).decode())
        )
        # sent as a one-request send does (sendCustomMessage): every rule of a send, no draft to
        # write, read, claim and delete
        options = SendOptions(onlineUserOnly=invitation.onlineUserOnly, offlinePushInfo=offline_push_info)
        if invitation.groupID:
            await self._messages.send_group_content(sender, session_id, content, invitation.groupID, options)
            return
        # C2C: between the inviter and the one invitee, whoever sends
        peer = invitation.inviteeList[0] if sender == invitation.inviter else invitation.inviter
        await self._messages.send_c2c_content(sender, session_id, content, peer, options)

    async def _tell_quietly(
        self,
        invitation: _Invitation,
        sender: str,
        session_id: str,
        action: SignalingActionType,
        invitees: list[str],
        data: str,
    ) -> None:
        """The message of a step that has already happened: a refused message (say the sender was
        muted meanwhile) must not undo it, so it is logged rather than raised."""
        try:
            await self._tell_by_message(invitation, sender, session_id, action, invitees, data)
        except IMError as exc:
            log.warning("signaling message for %s not sent: %s", invitation.inviteID, exc.desc)


def _parties(invitation: _Invitation) -> list[str]:
    return [invitation.inviter, *invitation.inviteeList]
