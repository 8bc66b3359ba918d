"""Conversation groups: a user's named groups of conversations (V2TIM's conversation groups), and
the server API's view of marks, custom data and groups (`recentcontact/get_contact_group`)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

import msgspec

from gateway.engine.conversations.announce import ConversationAnnouncer
from gateway.engine.conversations.state import PER_CALL_MAX, UserState, UserStates, list_dec, list_enc
from gateway.engine.conversations.views import ConversationViews
from gateway.engine.upstream_turns import UpstreamTurns
from gateway.errors import Code, IMError
from gateway.events.bus import EventBus
from gateway.im.conversations import ConversationOperationResult
from gateway.im.events import (
    OnConversationGroupCreated,
    OnConversationGroupDeleted,
    OnConversationGroupNameChanged,
    OnConversationsAddedToGroup,
    OnConversationsDeletedFromGroup,
)
from gateway.keys import Keys
from gateway.upstream import Upstream, active

P = ParamSpec("P")
T = TypeVar("T")

CONVERSATION_GROUPS_MAX = 20  # (51010 beyond)
CONVERSATION_GROUP_NAME_MAX_BYTES = 32  # (51011 beyond)


class ContactMarks(msgspec.Struct, kw_only=True):
    """A user's marks, custom data and conversation groups, as Tencent's server API reads them
    (`recentcontact/get_contact_group`): per conversation, and each group with a numeric ID."""

    marks: dict[str, int]  # conversation -> its mark bits (V2TIM markType values OR-ed)
    custom: dict[str, str]  # conversation -> its customData
    groups: dict[str, list[str]]  # conversation group name -> its conversations
    group_ids: dict[str, int]  # conversation group name -> its ID (stable across renames)
    changed_at: dict[str, int]  # conversation -> when its marks, custom data or groups last changed (s)


def _one_at_a_time(
    change: Callable[Concatenate[ConversationGroups, str, P], Awaitable[T]],
) -> Callable[Concatenate[ConversationGroups, str, P], Awaitable[T]]:
    """A change of a user's conversation groups, in the user's turn (see ConversationGroups)."""

    @functools.wraps(change)
    async def in_turn(self: ConversationGroups, user_id: str, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._turns.turn(f"conversation-groups:{user_id}", always=True):
            return await change(self, user_id, *args, **kwargs)

    return in_turn


class ConversationGroups:
    """V2TIMConversationManager's conversation groups; each change announces the conversations it moved."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        states: UserStates,
        views: ConversationViews,
        announcer: ConversationAnnouncer,
        upstream: Upstream | None = None,
    ) -> None:
        self._upstream = upstream  # the IM server a user's list changes go to first (gateway.upstream)
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._states = states
        self._views = views
        self._announcer = announcer
        # a user's conversation groups are read, changed and written back whole: one change at a
        # time per user (on any replica), where two at once lost one (or passed the 20-group cap)
        self._turns = UpstreamTurns(redis, keys, enabled=upstream is not None)

    def _check_group_name(self, name: str, arg: str = "groupName") -> str:
        if not name or len(name.encode("utf-8")) > CONVERSATION_GROUP_NAME_MAX_BYTES:
            raise IMError(
                Code.ERR_CONVERSATION_GROUP_NAME, f"{arg} must be 1-{CONVERSATION_GROUP_NAME_MAX_BYTES} bytes"
            )
        return name

    @_one_at_a_time
    async def create_conversation_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        self._check_group_name(name)
        state = await self._states.user_state(user_id)
        if name in state.groups:
            raise IMError(Code.ERR_CONVERSATION_GROUP_EXISTS, f"a conversation group {name!r} exists already")
        if len(state.groups) >= CONVERSATION_GROUPS_MAX:
            raise IMError(Code.ERR_CONVERSATION_GROUPS_FULL, f"at most {CONVERSATION_GROUPS_MAX} conversation groups")
        members, results = await self._valid(user_id, conversation_ids, state)
        up = active(self._upstream)
        if up is not None:
            await up.conversations.create_group(user_id, name, members)
        await self._redis.hset(self._keys.conversation_groups(user_id), name, list_enc.encode(members))
        await self._states.touch(user_id, members)
        views = await self._views.views(user_id, members)
        await self._bus.publish([user_id], OnConversationGroupCreated(groupName=name, conversationList=views))
        await self._announcer.announce({user_id: members})
        return results

    async def _valid(
        self, user_id: str, conversation_ids: Sequence[str], state: UserState
    ) -> tuple[list[str], list[ConversationOperationResult]]:
        if len(conversation_ids) > PER_CALL_MAX:
            raise IMError(Code.ERR_CONVERSATION_MARK_PER_CALL, f"conversationIDList: at most {PER_CALL_MAX} per call")
        members, results = [], []
        for conv in dict.fromkeys(conversation_ids):
            try:
                await self._states.known(user_id, conv, state)
            except IMError as exc:
                results.append(
                    ConversationOperationResult(conversationID=conv, resultCode=exc.code, resultInfo=exc.desc)
                )
                continue
            members.append(conv)
            results.append(ConversationOperationResult(conversationID=conv))
        return members, results

    async def get_conversation_group_list(self, user_id: str) -> list[str]:
        return sorted(await self._redis.hkeys(self._keys.conversation_groups(user_id)))

    async def _group(self, user_id: str, name: str) -> list[str]:
        raw = await self._redis.hget(self._keys.conversation_groups(user_id), name)
        if raw is None:
            raise IMError(Code.ERR_CONVERSATION_GROUP_NOT_FOUND, f"no conversation group {name!r}")
        return list_dec.decode(raw)

    @_one_at_a_time
    async def delete_conversation_group(self, user_id: str, name: str) -> None:
        members = await self._group(user_id, name)
        up = active(self._upstream)
        if up is not None:
            await up.conversations.delete_group(user_id, name)
        await self._redis.hdel(self._keys.conversation_groups(user_id), name)
        await self._redis.hdel(self._keys.conversation_state(user_id, "group-ids"), name)
        await self._states.touch(user_id, members)
        await self._bus.publish([user_id], OnConversationGroupDeleted(groupName=name))
        await self._announcer.announce({user_id: members})

    @_one_at_a_time
    async def rename_conversation_group(self, user_id: str, old: str, new: str) -> None:
        members = await self._group(user_id, old)
        self._check_group_name(new, "newName")
        if old == new:
            return
        if await self._redis.hexists(self._keys.conversation_groups(user_id), new):
            raise IMError(Code.ERR_CONVERSATION_GROUP_EXISTS, f"a conversation group {new!r} exists already")
        up = active(self._upstream)
        if up is not None:
            await up.conversations.rename_group(user_id, old, new)
        if not await self._redis.hsetnx(self._keys.conversation_groups(user_id), new, list_enc.encode(members)):
            raise IMError(Code.ERR_CONVERSATION_GROUP_EXISTS, f"a conversation group {new!r} exists already")
        await self._redis.hdel(self._keys.conversation_groups(user_id), old)
        ids = self._keys.conversation_state(user_id, "group-ids")
        if (group_id := await self._redis.hget(ids, old)) is not None:  # the server API's ID stays
            await self._redis.hset(ids, new, group_id)
            await self._redis.hdel(ids, old)
        await self._bus.publish([user_id], OnConversationGroupNameChanged(oldName=old, newName=new))
        await self._announcer.announce({user_id: members})

    @_one_at_a_time
    async def add_conversations_to_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        members = await self._group(user_id, name)
        added, results = await self._valid(user_id, conversation_ids, await self._states.user_state(user_id))
        fresh = [c for c in added if c not in members]
        up = active(self._upstream)
        if up is not None and fresh:
            await up.conversations.change_group(user_id, name, fresh, [])
        await self._redis.hset(self._keys.conversation_groups(user_id), name, list_enc.encode([*members, *fresh]))
        if fresh:
            await self._states.touch(user_id, fresh)
            views = await self._views.views(user_id, fresh)
            await self._bus.publish([user_id], OnConversationsAddedToGroup(groupName=name, conversationList=views))
            await self._announcer.announce({user_id: fresh})
        return results

    @_one_at_a_time
    async def delete_conversations_from_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        members = await self._group(user_id, name)
        gone = [c for c in dict.fromkeys(conversation_ids) if c in members]
        results = [
            ConversationOperationResult(conversationID=c)
            if c in gone
            else ConversationOperationResult(
                conversationID=c, resultCode=Code.ERR_INVALID_CONVERSATION, resultInfo="not in this conversation group"
            )
            for c in dict.fromkeys(conversation_ids)
        ]
        up = active(self._upstream)
        if up is not None and gone:
            await up.conversations.change_group(user_id, name, [], gone)
        await self._redis.hset(
            self._keys.conversation_groups(user_id), name, list_enc.encode([c for c in members if c not in gone])
        )
        if gone:
            await self._states.touch(user_id, gone)
            views = await self._views.views(user_id, gone)
            await self._bus.publish([user_id], OnConversationsDeletedFromGroup(groupName=name, conversationList=views))
            await self._announcer.announce({user_id: gone})
        return results

    async def contact_marks(self, user_id: str) -> ContactMarks:
        """The user's marks, custom data and conversation groups with their IDs. No events."""
        state = await self._states.user_state(user_id)
        groups = {name: list_dec.decode(raw) for name, raw in state.groups.items()}
        changed_at = await self._redis.hgetall(self._keys.conversation_state(user_id, "marked-at"))
        return ContactMarks(
            marks={conv: int(bits) for conv, bits in state.marks.items()},
            custom=dict(state.custom),
            groups=groups,
            group_ids=await self.conversation_group_ids(user_id, sorted(groups)),
            changed_at={conv: int(at) for conv, at in changed_at.items()},
        )

    async def conversation_group_ids(self, user_id: str, names: Sequence[str]) -> dict[str, int]:
        """The numeric IDs Tencent's server API gives conversation groups (1, 2, ... per user),
        given to each name the first time it is asked for; a rename keeps it, a deletion drops it."""
        if not names:
            return {}
        key = self._keys.conversation_state(user_id, "group-ids")
        found = dict(zip(names, await self._redis.hmget(key, list(names)), strict=True))
        for name, known in found.items():
            if known is None:  # HSETNX: of two concurrent first reads, one ID wins
                await self._redis.hsetnx(
                    key, name, await self._redis.incr(self._keys.conversation_state(user_id, "group-id-seq"))
                )
                found[name] = await self._redis.hget(key, name)
        return {name: int(value) for name, value in found.items()}
