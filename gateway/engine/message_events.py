"""Message events by reference: what an event log keeps for an event carrying a stored message.

onRecvNewMessage and onRecvMessageModified carry a whole V2TIMMessage. Written out, that is most of
a message's cost in Redis, twice for a C2C message (both users' logs), and it repeats what the
message's timeline already holds. So for a message stored in a timeline the log keeps a reference
(gateway.events.entries): `[kind, conversationID, seq, delta, version]`, the version left out when
it is 0, and then the delta when it is empty. The delta is what the viewer's view of the message
held beyond its base view (`base_view`: what anyone sees of it, as the viewer): the created id it
was sent from, a friend remark, read marks, local custom data.

Resolving a reference rebuilds exactly the event that was written, whenever it is read:
- the base view is made from the message at the referenced version: the timeline's copy while the
  message has that version; before a modification replaces it, the old version is kept
  (`Keys.message_revisions`); a message cleared for everyone is still found where it was moved;
- a recall changes only the message's status, which the base view leaves out (a recalled
  message's events show the status they were written with, which the delta holds if it differed);
- anything else the view held that a delta cannot say makes the caller write the event out
  (`reference` returns None), as it must for a message no timeline keeps (online-only, AVChatRoom).

A process resolves the messages it wrote itself from memory (the last RECENT_KEPT, as encoded),
so a send delivered to a subscriber of the same process costs no extra read.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from msgspec.structs import astuple

from gateway.engine.codec import STORED_DEC, STORED_ENC
from gateway.engine.groups.store import neutral_view
from gateway.events.bus import F_EVENT
from gateway.events.entries import Reference, is_reference
from gateway.ids import c2c_conversation_id, conversation_group_id, conversation_peer_id, group_conversation_id
from gateway.im.enums import MsgStatus
from gateway.im.events import IMEvent, OnRecvMessageModified, OnRecvNewMessage, decode_event
from gateway.im.messages import Message, StoredMessage
from gateway.keys import Keys

KIND_NEW = "n"  # onRecvNewMessage
KIND_MODIFIED = "m"  # onRecvMessageModified
_EVENTS: dict[str, type[OnRecvNewMessage] | type[OnRecvMessageModified]] = {
    KIND_NEW: OnRecvNewMessage,
    KIND_MODIFIED: OnRecvMessageModified,
}
RECENT_KEPT = 4_096  # messages this process wrote, kept (encoded) for its own subscribers
# A reference read before the message it points to is readable (in a Redis Cluster, the timeline's
# shard may apply the send's write a moment after the log's shard): read again after these pauses.
MISSING_RETRY_SECONDS = (0.02, 0.1)
FIND_PAGE = 200  # log entries read per round trip while looking for a sent message


class ViewDelta(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    # short: a sender's every message event holds one
    rename={
        "id": "i",
        "userID": "u",
        "friendRemark": "r",
        "nameCard": "n",
        "status": "s",
        "isSelf": "me",
        "isRead": "rd",
        "isPeerRead": "pr",
        "localCustomData": "ld",
        "localCustomInt": "li",
    },
):
    """The fields in which one viewer's view of a message differs from its base view."""

    id: str | None = None
    userID: str | None = None
    friendRemark: str | None = None
    nameCard: str | None = None
    status: MsgStatus | None = None
    isSelf: bool | None = None
    isRead: bool | None = None
    isPeerRead: bool | None = None
    localCustomData: str | None = None
    localCustomInt: int | None = None


_DELTA_FIELDS = frozenset(ViewDelta.__struct_fields__)
_MESSAGE_FIELDS = Message.__struct_fields__  # in astuple's order
_NO_DELTA = ViewDelta()


class _Reference(msgspec.Struct, array_like=True):
    """A stored reference (gateway.events.entries.Reference) as this module writes it."""

    kind: str  # KIND_*, then the entry's conversation notice letter, if any
    conversation: str
    seq: int
    delta: ViewDelta = msgspec.field(default_factory=ViewDelta)
    version: int = 0


_decoder = msgspec.json.Decoder(_Reference)


def base_view(stored: StoredMessage, viewer: str | None) -> Message:
    """What anyone sees of `stored` as `viewer` (None: as a group's member who did not send it):
    the neutral view, its status as sent, and whose message it is."""
    view = neutral_view(stored)
    view.status = MsgStatus.V2TIM_MSG_STATUS_SEND_SUCC
    if viewer is not None:
        view.isSelf = view.isRead = stored.sender == viewer
        if not stored.groupID:
            view.userID = stored.receiver if stored.sender == viewer else stored.sender
    return view


def _delta(view: Message, base: Message) -> ViewDelta | None:
    """`view` as changes to `base`, or None when it differs in a field a delta cannot hold."""
    changes: dict[str, Any] = {}
    # field by field from two tuples made in C: a getattr pair per field was ~150 calls per send
    for name, value, base_value in zip(_MESSAGE_FIELDS, astuple(view), astuple(base), strict=True):
        if value != base_value:
            if name not in _DELTA_FIELDS:
                return None
            changes[name] = value
    return ViewDelta(**changes)


class MessageEvents:
    """Writes references for the engine's message events and resolves them for subscriptions
    (gateway.events.entries.Resolver)."""

    def __init__(self, redis: Any, keys: Keys, kept: int = RECENT_KEPT) -> None:
        self._redis = redis
        self._keys = keys
        self._kept = kept
        self._recent: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()

    def _timeline(self, viewer: str | None, conversation: str) -> str | None:
        peer = conversation_peer_id(conversation)
        if peer is not None:
            return self._keys.c2c_timeline(viewer, peer) if viewer is not None else None
        group = conversation_group_id(conversation)
        return self._keys.group_timeline(group) if group is not None else None

    # ---- writing -------------------------------------------------------------------------------
    def reference(self, kind: str, stored: StoredMessage, view: Message, viewer: str | None) -> Reference | None:
        """What a log keeps instead of the event of `kind` carrying `view` (`stored` as `viewer`
        sees it; None: a group's stream, read by every member), or None when the event must be
        written out. Only for a message its timeline keeps (or is about to: call it before the
        write is sent, so this process can resolve it meanwhile)."""
        if stored.visibleTo or (viewer is None and not stored.groupID):
            return None  # a local import is no timeline's for anyone else; C2C needs its viewer
        delta = _delta(view, base_view(stored, viewer))
        if delta is None:
            return None
        if stored.groupID:
            conversation = group_conversation_id(stored.groupID)
        else:
            conversation = c2c_conversation_id(stored.receiver if stored.sender == viewer else stored.sender)
        timeline = self._timeline(viewer, conversation)
        assert timeline is not None
        self._keep(timeline, stored)
        rest: tuple[Any, ...] = (stored.seq,)  # then the delta and the version, unless empty and 0
        if stored.version:
            rest += (delta, stored.version)
        elif delta != _NO_DELTA:
            rest += (delta,)
        return Reference(kind, conversation, rest)

    def _keep(self, timeline: str, stored: StoredMessage) -> None:
        """Remember `stored` (encoded: nobody's later change to the object reaches it) for this
        process's resolutions; once, though both users' events refer to it."""
        key = (timeline, stored.seq, stored.version)
        if key in self._recent:
            return
        self._recent[key] = STORED_ENC.encode(stored)
        if len(self._recent) > self._kept:
            self._recent.popitem(last=False)

    # ---- reading -------------------------------------------------------------------------------
    async def resolve(
        self, viewer: str | None, raws: Sequence[str], pipeline: Callable[[], Any] | None = None
    ) -> list[IMEvent | None]:
        """`pipeline`: where the reads go (gateway.events.entries.Resolver); this client's own by default."""
        refs: list[_Reference | None] = []
        for raw in raws:
            try:
                refs.append(_decoder.decode(raw))
            except msgspec.DecodeError:
                refs.append(None)
        timelines = [self._timeline(viewer, ref.conversation) if ref is not None else None for ref in refs]
        found: dict[int, StoredMessage] = {}
        todo: list[int] = []
        for i, (ref, timeline) in enumerate(zip(refs, timelines, strict=True)):
            if ref is None or timeline is None:
                continue
            raw_stored = self._recent.get((timeline, ref.seq, ref.version))
            if raw_stored is not None:
                found[i] = STORED_DEC.decode(raw_stored)
            else:
                todo.append(i)
        for pause in (0.0, *MISSING_RETRY_SECONDS):
            if not todo:
                break
            if pause:
                await asyncio.sleep(pause)
            todo = await self._read(todo, refs, timelines, found, pipeline)
        return [
            self._event(ref, found[i], viewer) if ref is not None and i in found else None for i, ref in enumerate(refs)
        ]

    async def _read(
        self,
        todo: list[int],
        refs: list[_Reference | None],
        timelines: list[str | None],
        found: dict[int, StoredMessage],
        pipeline: Callable[[], Any] | None = None,
    ) -> list[int]:
        """One round trip for the referenced messages: each as its timeline holds it, the version it
        had before a modification, and (groups) where a clear for everyone moved it. Returns those
        still missing."""
        pipe = pipeline() if pipeline is not None else self._redis.pipeline(transaction=False)
        for i in todo:
            ref, timeline = refs[i], timelines[i]
            assert ref is not None
            assert timeline is not None
            pipe.hget(Keys.timeline_messages(timeline), str(ref.seq))
            pipe.hget(Keys.message_revisions(timeline), f"{ref.seq}:{ref.version}")
            pipe.hget(Keys.timeline_cleared(timeline), str(ref.seq))
        replies = await pipe.execute()
        missing = []
        for n, i in enumerate(todo):
            ref = refs[i]
            assert ref is not None
            current, revision, cleared = replies[3 * n : 3 * n + 3]
            stored = next(
                (m for m in (STORED_DEC.decode(r) for r in (current, cleared) if r) if m.version == ref.version),
                None,
            )
            if stored is None and revision:
                stored = STORED_DEC.decode(revision)
            if stored is None:
                missing.append(i)
            else:
                found[i] = stored
        return missing

    @staticmethod
    def _event(ref: _Reference, stored: StoredMessage, viewer: str | None) -> IMEvent | None:
        event_type = _EVENTS.get(ref.kind[:1])
        if event_type is None:
            return None
        view = base_view(stored, viewer)
        for name in _DELTA_FIELDS:
            value = getattr(ref.delta, name)
            if value is not None:
                setattr(view, name, value)
        return event_type(message=view)

    # ---- a send's first result, from the sender's log --------------------------------------------
    async def find_sent(self, user_id: str, created_id: str) -> str | None:
        """The msgID of the message `user_id` sent from `created_id`, found in their event log (the
        sending session's own onRecvNewMessage, which carries the created id): how a repeated send
        finds its first result once the created message is gone. None when the log no longer
        holds it (logs keep at least 24 hours or 10,000 events)."""
        stream = self._keys.user_events(user_id)
        end = "+"
        while True:
            rows = await self._redis.xrevrange(stream, end, "-", count=FIND_PAGE)
            for _, fields in rows:
                raw = fields.get(F_EVENT, "")
                if created_id not in raw:
                    continue
                message = await self._sent_message(user_id, raw)
                if message is not None and message.id == created_id:
                    return message.msgID
            if len(rows) < FIND_PAGE:
                return None
            end = f"({rows[-1][0]}"

    async def _sent_message(self, user_id: str, raw: str) -> Message | None:
        if is_reference(raw):
            (event,) = await self.resolve(user_id, [raw])
        else:
            try:
                event = decode_event(raw)
            except msgspec.DecodeError:
                return None
        return event.message if isinstance(event, OnRecvNewMessage) else None
