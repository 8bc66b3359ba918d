"""A user's conversation state: their list's order and their per-conversation settings.

Per-user settings (drafts, pins, marks, custom data, conversation groups, receive options, read
marks) are small hashes under the user's hash tag; `UserStates` reads them (all, or those of a
few conversations) in one pipelined round trip, and every other part of the conversation manager
works from what it read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from gateway.clock import Clock
from gateway.errors import Code, IMError
from gateway.ids import (
    conversation_group_id,
    group_conversation_id,
    group_ids_of,
    parse_conversation_id,
    topic_parent,
)
from gateway.im.enums import MessageOpt
from gateway.keys import Keys

PAGE_MAX = 100  # conversations per page
PER_CALL_MAX = 100  # conversation IDs per call (51006 beyond, for marks)
# where the named conversation groups, the receive options and the left marks sit in `_state_hashes`
_GROUPS_AT, _OPTIONS_AT, _LEFT_AT = 5, 6, 10

# a conversation group's conversations, as its field of Keys.conversation_groups holds them
list_enc = msgspec.json.Encoder()
list_dec = msgspec.json.Decoder(list[str])


def seen_until(convs: Iterable[str], left: dict[str, Any]) -> dict[str, int]:
    """Of `convs`, the group conversations whose group the user left (`left`: the user's left
    marks, conversation to the group's last seq when they left), each with the newest seq they may
    still see: the mark for the group itself; 0 for a topic of a community they left, whose own
    seqs the community's mark does not measure (README "Who sees what": a member who leaves
    loses the group's messages; its conversation keeps what they had seen)."""
    until: dict[str, int] = {}
    for conv in convs:
        if (group := conversation_group_id(conv)) is None:
            continue
        mark = left.get(conv)
        if mark is not None:
            until[conv] = int(mark)
        elif (parent := topic_parent(group)) is not None and left.get(group_conversation_id(parent)) is not None:
            until[conv] = 0
    return until


def left_mark_fields(convs: Iterable[str]) -> list[str]:
    """The left marks `seen_until` reads for `convs`: each group conversation's, and its
    community's when it is a topic's."""
    fields = [c for c in convs if conversation_group_id(c) is not None]
    parents = (topic_parent(group) for group in group_ids_of(fields))
    return list(dict.fromkeys([*fields, *(group_conversation_id(p) for p in parents if p is not None)]))


class UserState(msgspec.Struct):
    """One user's conversation state as read: each field a hash of `UserStates._state_hashes`."""

    order: dict[str, float]
    deleted: dict[str, str]
    drafts: dict[str, str]
    custom: dict[str, str]
    pinned: dict[str, str]
    marks: dict[str, str]
    groups: dict[str, str]
    options: dict[str, str]
    group_reads: dict[str, str]
    c2c_reads: dict[str, str]
    cleared: dict[str, str]
    left: dict[str, str]


class UserStates:
    """Reads (and the server API's change times of) users' conversation state."""

    def __init__(self, redis: Any, keys: Keys, clock: Clock) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock

    def _state(self, user_id: str, family: str) -> str:
        return self._keys.conversation_state(user_id, family)

    async def user_state(self, user_id: str) -> UserState:
        pipe = self._redis.pipeline(transaction=False)
        self._queue_state(pipe, user_id)
        return self._state_from(list(await pipe.execute()))

    def _state_hashes(self, user_id: str) -> list[str]:
        """The hashes of a user's conversation state, after the order zset and in UserState's
        field order. Each is keyed by conversation ID, but for the named conversation groups
        (_GROUPS_AT, by name) and the receive options (_OPTIONS_AT, by `Keys.receive_option_field`);
        `queue_state_of` also reads the left marks (_LEFT_AT) of the topics' communities."""
        return [
            *(self._state(user_id, family) for family in ("deleted", "draft", "custom-data", "pinned", "marks")),
            self._keys.conversation_groups(user_id),
            self._keys.receive_options(user_id),
            self._keys.group_read_seqs(user_id),
            self._state(user_id, "c2c-read-ms"),
            self._keys.cleared_before(user_id),
            self._state(user_id, "left"),
        ]

    def _queue_state(self, pipe: Any, user_id: str) -> None:
        """The 12 reads of a user's conversation state (`_state_from` turns them into one)."""
        pipe.zrange(self._keys.conversations(user_id), 0, -1, withscores=True)
        for key in self._state_hashes(user_id):
            pipe.hgetall(key)

    def queue_state_of(self, pipe: Any, user_id: str, convs: list[str]) -> Callable[[list[Any]], UserState]:
        """The state of these conversations only, in 12 reads whose cost does not grow with the
        user's other conversations (what announcing a change needs; `user_state` reads it all).
        Returns what builds it from the pipeline's replies (it finds its own among them)."""
        options = [Keys.receive_option_field(c) for c in convs]
        left_fields = left_mark_fields(convs) or convs  # (HMGET takes one field at least)

        def fields_of(at: int) -> list[str]:
            return options if at == _OPTIONS_AT else left_fields if at == _LEFT_AT else convs

        first = len(pipe)
        pipe.zmscore(self._keys.conversations(user_id), convs)
        for at, key in enumerate(self._state_hashes(user_id)):
            if at == _GROUPS_AT:
                pipe.hgetall(key)  # a few named groups, each listing its conversations
            else:
                pipe.hmget(key, fields_of(at))

        def present(fields: list[str], values: list[Any]) -> dict[str, Any]:
            return {k: v for k, v in zip(fields, values, strict=True) if v is not None}

        def build(replies: list[Any]) -> UserState:
            order, *hashes = replies[first : first + 12]
            found = [values if at == _GROUPS_AT else present(fields_of(at), values) for at, values in enumerate(hashes)]
            return self._state_from([present(convs, order), *found])

        return build

    @staticmethod
    def _state_from(raw: list[Any]) -> UserState:
        order, deleted, drafts, custom, pinned, marks, groups, options, group_reads, c2c_reads, cleared, left = raw
        return UserState(
            order=dict(order), deleted=deleted, drafts=drafts, custom=custom, pinned=pinned, marks=marks,
            groups=groups, options=options, group_reads=group_reads, c2c_reads=c2c_reads, cleared=cleared,
            left=left,
        )  # fmt: skip

    async def ordered(self, user_id: str, state: UserState) -> list[tuple[bool, int, str]]:
        """Every live conversation as (pinned, orderKey, ID); a group's order is also moved by the
        group's own activity (large groups are ordered that way only)."""
        convs = list(state.order)
        group_ids = group_ids_of(convs)
        activity = await self._redis.zmscore(self._keys.group_activity(), group_ids) if group_ids else []
        active = {group_conversation_id(g): int((a or 0) * 1000) for g, a in zip(group_ids, activity, strict=True)}
        ordered = [
            (conv in state.pinned, order_key(conv, state, active.get(conv, 0)), conv)
            for conv in convs
            if self.is_live(conv, state, active.get(conv, 0))
        ]
        ordered.sort(reverse=True)
        return ordered

    async def known(self, user_id: str, conversation_id: str, state: UserState) -> None:
        """6004 unless the conversation is in the user's list (not deleted since its last activity)."""
        parse_conversation_id(conversation_id)
        deleted_at = state.deleted.get(conversation_id)
        gone = deleted_at is not None and int(state.order.get(conversation_id, 0)) <= int(deleted_at)
        if conversation_id not in state.order or gone:
            raise IMError(Code.ERR_INVALID_CONVERSATION, f"{conversation_id!r} is not one of your conversations")

    @staticmethod
    def is_live(conv: str, state: UserState, activity_ms: int) -> bool:
        """Whether the conversation is in the user's list: not deleted, or active since."""
        if conv not in state.order:
            return False
        return not (conv in state.deleted and order_key(conv, state, activity_ms) <= int(state.deleted[conv]))

    def queue_touch(self, pipe: Any, user_id: str, convs: Sequence[str]) -> None:
        """Record when these conversations' marks, custom data or groups changed (the server API's
        `Timestamp`)."""
        if convs:
            pipe.hset(self._state(user_id, "marked-at"), mapping=dict.fromkeys(convs, int(self._clock.now())))

    async def touch(self, user_id: str, convs: Sequence[str]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        self.queue_touch(pipe, user_id, convs)
        if len(pipe):
            await pipe.execute()


def receive_opt(state: UserState, conv: str) -> MessageOpt:
    """The user's V2TIM_MessageOpt for the conversation (receiving when never set)."""
    return Keys.receive_option(state.options.get(Keys.receive_option_field(conv)))


def order_key(conv: str, state: UserState, activity_ms: int) -> int:
    """A conversation's orderKey: its own last activity, or its group's if that is later."""
    return max(int(state.order.get(conv, 0)), activity_ms)
