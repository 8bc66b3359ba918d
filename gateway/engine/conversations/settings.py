"""A user's settings of their conversations: deleting, drafts, custom data, pins, marks, read marks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.clock import Clock
from gateway.engine.conversations.announce import ConversationAnnouncer
from gateway.engine.conversations.state import PER_CALL_MAX, UserStates
from gateway.engine.group_messages import GroupMessaging
from gateway.engine.messages import C2CMessaging
from gateway.engine.scripts import RAISE_FIELD, run_pipeline
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import EventBus
from gateway.ids import conversation_group_id, conversation_peer_id, conversation_topic_id, parse_conversation_id
from gateway.im.conversations import ConversationOperationResult
from gateway.im.enums import ConversationType
from gateway.im.events import OnConversationDeleted
from gateway.keys import Keys
from gateway.upstream import Upstream, active

MARKED_MAX = 1_000  # marked conversations in all (51008 beyond)
DRAFT_MAX_BYTES = 10 * 1024
CUSTOM_DATA_MAX_BYTES = 1024


class ConversationSettings:
    """V2TIMConversationManager's per-conversation writes; each announces what it changed."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        states: UserStates,
        announcer: ConversationAnnouncer,
        c2c: C2CMessaging,
        group: GroupMessaging,
        upstream: Upstream | None = None,
    ) -> None:
        self._upstream = upstream  # the IM server a user's list changes go to first (gateway.upstream)
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._clock = clock
        self._states = states
        self._announcer = announcer
        self._c2c = c2c  # what clears and reads C2C conversations
        self._group = group  # what reads a community topic's conversation (markGroupMessageAsRead's)

    def _ms(self) -> int:
        return int(self._clock.now() * 1000)

    async def delete_conversation_list(
        self, user_id: str, conversation_ids: Sequence[str], clear_messages: bool, *, strict: bool = False
    ) -> None:
        if len(conversation_ids) > PER_CALL_MAX:
            raise invalid(f"conversationIDList: at most {PER_CALL_MAX} per call")
        state = await self._states.user_state(user_id)
        ordered = {o[2]: o[1] for o in await self._states.ordered(user_id, state)}
        doomed = []
        for conv in dict.fromkeys(conversation_ids):
            parse_conversation_id(conv)
            if conv in ordered:
                doomed.append(conv)
            elif strict:  # another's, unknown or already deleted: refused, nothing deleted
                raise IMError(Code.ERR_INVALID_CONVERSATION, f"{conv!r} is not one of your conversations")
        if not doomed:
            return
        up = active(self._upstream)
        if up is not None:
            await up.conversations.delete(user_id, doomed, clear_messages)
        # one transaction (all the user's slot): a deletion mark never stands beside an announcement,
        # which is what lets a send lift the mark only from unannounced conversations
        pipe = self._redis.pipeline(transaction=True)
        for conv in doomed:
            pipe.hset(self._keys.conversation_state(user_id, "deleted"), conv, ordered[conv])
            pipe.hdel(self._keys.conversation_state(user_id, "draft"), conv)
            pipe.hdel(self._keys.conversation_state(user_id, "announced"), conv)  # if it comes back, it is new again
        await pipe.execute()
        for conv in doomed:  # a deleted conversation's messages are no longer unread
            kind, target = parse_conversation_id(conv)
            if kind == ConversationType.V2TIM_C2C:
                if clear_messages:
                    await self._c2c.clear_c2c_history_message(user_id, target)
                # the read mark raised (never lowered: a read since stands), with the unread index
                await self._c2c.unread_index.read(user_id, {target: self._ms()})
            else:
                last = int(await self._redis.get(self._keys.timeline_seq(self._keys.group_timeline(target))) or 0)
                if clear_messages:
                    await self._redis.hset(self._keys.cleared_before(user_id), conv, last)
                await self._redis.hset(self._keys.group_read_seqs(user_id), conv, last)
        await self._bus.publish([user_id], OnConversationDeleted(conversationIDList=doomed))

    async def set_conversation_draft(self, user_id: str, conversation_id: str, draft_text: str) -> None:
        state = await self._states.user_state(user_id)
        await self._states.known(user_id, conversation_id, state)
        if len(draft_text.encode("utf-8")) > DRAFT_MAX_BYTES:
            raise invalid(f"draftText is over {DRAFT_MAX_BYTES} bytes")
        if draft_text:
            await self._redis.hset(
                self._keys.conversation_state(user_id, "draft"),
                conversation_id,
                f"{int(self._clock.now())}:{draft_text}",
            )
        else:
            await self._redis.hdel(self._keys.conversation_state(user_id, "draft"), conversation_id)
        await self._announcer.announce({user_id: [conversation_id]})

    async def set_conversation_custom_data(
        self, user_id: str, conversation_ids: Sequence[str], custom_data: str
    ) -> list[ConversationOperationResult]:
        if len(custom_data.encode("utf-8")) > CUSTOM_DATA_MAX_BYTES:
            raise invalid(f"customData is over {CUSTOM_DATA_MAX_BYTES} bytes")
        return await self._per_conversation(user_id, conversation_ids, "custom-data", lambda _old: custom_data)

    async def _per_conversation(
        self,
        user_id: str,
        conversation_ids: Sequence[str],
        family: str,
        value: Any,
        before_write: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> list[ConversationOperationResult]:
        """`before_write`: told the conversations about to change, before anything is written (an
        upstream's refusal then leaves them as they were)."""
        if len(conversation_ids) > PER_CALL_MAX:
            raise IMError(Code.ERR_CONVERSATION_MARK_PER_CALL, f"conversationIDList: at most {PER_CALL_MAX} per call")
        state = await self._states.user_state(user_id)
        results, changed = [], []
        current = {"custom-data": state.custom, "marks": state.marks}[family]
        key = self._keys.conversation_state(user_id, family)
        pipe = self._redis.pipeline(transaction=False)  # every conversation's write in one round trip
        for conv in dict.fromkeys(conversation_ids):
            try:
                await self._states.known(user_id, conv, state)
            except IMError as exc:
                results.append(
                    ConversationOperationResult(conversationID=conv, resultCode=exc.code, resultInfo=exc.desc)
                )
                continue
            new = value(current.get(conv))
            if new in ("", 0):
                pipe.hdel(key, conv)
            else:
                pipe.hset(key, conv, new)
            changed.append(conv)
            results.append(ConversationOperationResult(conversationID=conv))
        self._states.queue_touch(pipe, user_id, changed)
        if changed and before_write is not None:
            await before_write(changed)
        if changed:
            await pipe.execute()
        await self._announcer.announce({user_id: changed})
        return results

    async def pin_conversation(self, user_id: str, conversation_id: str, pinned: bool) -> None:
        state = await self._states.user_state(user_id)
        await self._states.known(user_id, conversation_id, state)
        if pinned:
            await self._redis.hset(self._keys.conversation_state(user_id, "pinned"), conversation_id, self._ms())
        else:
            await self._redis.hdel(self._keys.conversation_state(user_id, "pinned"), conversation_id)
        await self._announcer.announce({user_id: [conversation_id]})

    async def mark_conversation(
        self, user_id: str, conversation_ids: Sequence[str], enable: bool, mark_type: int
    ) -> list[ConversationOperationResult]:
        if mark_type <= 0:
            raise invalid("markType must be a V2TIM_ConversationMarkType bit (or a custom bit)")
        state = await self._states.user_state(user_id)
        if enable and len(set(state.marks) | set(conversation_ids)) > MARKED_MAX:
            raise IMError(Code.ERR_CONVERSATION_MARK_TOTAL, f"at most {MARKED_MAX} marked conversations")
        up = active(self._upstream)

        async def mark_upstream(changed: list[str]) -> None:
            if up is not None:
                await up.conversations.mark(user_id, changed, enable, mark_type)

        return await self._per_conversation(
            user_id,
            conversation_ids,
            "marks",
            lambda old: (int(old or 0) | mark_type) if enable else (int(old or 0) & ~mark_type),
            mark_upstream,
        )

    async def clean_conversation_unread_message_count(
        self, user_id: str, conversation_id: str, clean_timestamp: int, clean_sequence: int
    ) -> None:
        """cleanConversationUnreadMessageCount: one conversation, "c2c", "group", or "" for all.

        A community topic's conversation is in no list (getTopicInfoList shows its unread count):
        it is read as markGroupMessageAsRead naming the topic reads it, by the same code, for a
        member of the community only (10007; 10010 for no such topic or community), and is none
        of the bulk forms'. Its read mark is the gateway's own on the Tencent backend too, as
        markGroupMessageAsRead's is (no group read-report REST)."""
        topic = conversation_topic_id(conversation_id)
        if topic is not None:
            parse_conversation_id(conversation_id)  # 6004 when malformed
            await self._group.mark_group_message_as_read(user_id, topic, until_seq=clean_sequence)
            return
        state = await self._states.user_state(user_id)
        if conversation_id in ("", "c2c", "group"):
            # "c2c" / "group": the conversations whose ID is of that kind ("": all of them)
            kind_of = {"c2c": conversation_peer_id, "group": conversation_group_id}.get(conversation_id)
            targets = [c for c in state.order if kind_of is None or kind_of(c) is not None]
        else:
            await self._states.known(user_id, conversation_id, state)
            targets = [conversation_id]
        up = active(self._upstream)
        if up is not None:  # Tencent's read positions move too (one call per conversation: no bulk call)
            for conv in targets:
                kind, target = parse_conversation_id(conv)
                if kind == ConversationType.V2TIM_C2C:
                    await up.messages.read_c2c(user_id, target, clean_timestamp or int(self._clock.now()))
        upstream_marks: dict[str, int] = {}
        if up is not None and not clean_timestamp:
            peers = [p for p in (conversation_peer_id(c) for c in targets) if p is not None]
            upstream_marks = await self._c2c.upstream_read_ms(user_id, peers, self._ms())
        c2c_marks: dict[str, int] = {}  # peer -> read mark (ms)
        group_marks: dict[str, int] = {}  # conversation -> read seq
        for conv in targets:
            kind, target = parse_conversation_id(conv)
            if kind == ConversationType.V2TIM_C2C:
                until = clean_timestamp * 1000 if clean_timestamp else upstream_marks.get(target, self._ms())
                c2c_marks[target] = until  # raised by the write, never lowered
            else:
                last = int(await self._redis.get(self._keys.timeline_seq(self._keys.group_timeline(target))) or 0)
                group_marks[conv] = min(clean_sequence, last) if clean_sequence else last

        def build(pipe: Any) -> None:
            # each read mark raised, never lowered, in one script with the unread index: a read
            # landing since `state` was read (another device's, at a later time) stands
            self._c2c.unread_index.queue_read(pipe, user_id, c2c_marks)
            for conv, until_seq in group_marks.items():  # raised, never lowered (a read racing this one)
                RAISE_FIELD.queue(pipe, [self._keys.group_read_seqs(user_id)], [conv, until_seq])

        if c2c_marks or group_marks:  # (the writes are idempotent: run again if a script was missing)
            await run_pipeline(self._redis, build, (RAISE_FIELD,))
        await self._announcer.announce({user_id: targets})
