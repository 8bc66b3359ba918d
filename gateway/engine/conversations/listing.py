"""Listing conversations: pages (by filter or IDs), unread totals and unread-count filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from gateway.digits import is_digits
from gateway.engine.conversations.state import PAGE_MAX, UserState, UserStates, list_dec, receive_opt
from gateway.engine.conversations.views import ConversationViews
from gateway.errors import Code, IMError, invalid
from gateway.ids import parse_conversation_id
from gateway.im.conversations import Conversation, ConversationFilter, ConversationPage
from gateway.im.enums import MessageOpt
from gateway.keys import Keys

_filter_enc = msgspec.json.Encoder()
_filter_dec = msgspec.json.Decoder(ConversationFilter)


class ConversationListing:
    """V2TIMConversationManager's reads of the conversation list and its unread totals."""

    def __init__(self, redis: Any, keys: Keys, states: UserStates, views: ConversationViews) -> None:
        self._redis = redis
        self._keys = keys
        self._states = states
        self._views = views

    async def get_conversation_list(self, user_id: str, next_seq: str, count: int) -> ConversationPage:
        return await self.get_conversation_list_by_filter(user_id, ConversationFilter(), next_seq, count)

    async def get_conversation_list_by_filter(
        self, user_id: str, conversation_filter: ConversationFilter, next_seq: str, count: int
    ) -> ConversationPage:
        if not 1 <= count <= PAGE_MAX:
            raise invalid(f"count must be 1-{PAGE_MAX}")
        state = await self._states.user_state(user_id)
        ordered = await self._states.ordered(user_id, state)
        cursor = _parse_cursor(next_seq)
        if cursor is not None:
            ordered = [o for o in ordered if (o[0], o[1], o[2]) < cursor]
        ordered = self._prefilter(ordered, state, conversation_filter)
        page: list[Conversation] = []
        taken = 0
        # filters on unread or @ need the counts and may drop candidates: read ahead in slices
        # until the page fills; otherwise read exactly what is asked
        step = count * 2 if conversation_filter.hasUnreadCount or conversation_filter.hasGroupAtInfo else count
        while ordered and len(page) < count:
            batch, ordered = ordered[:step], ordered[step:]
            views = await self._views.views(user_id, [o[2] for o in batch], state)
            for o, view in zip(batch, views, strict=True):
                taken += 1
                if _matches_counts(view, conversation_filter):
                    page.append(view)
                    last = o
                    if len(page) == count:
                        ordered = batch[batch.index(o) + 1 :] + ordered
                        break
        finished = not ordered
        next_cursor = "" if finished or not page else _cursor(last)
        return ConversationPage(nextSeq=next_cursor, isFinished=finished, conversationList=page)

    def _prefilter(
        self, ordered: list[tuple[bool, int, str]], state: UserState, f: ConversationFilter
    ) -> list[tuple[bool, int, str]]:
        if f.groupName and f.groupName not in state.groups:
            raise IMError(Code.ERR_CONVERSATION_GROUP_NOT_FOUND, f"no conversation group {f.groupName!r}")
        members = set(list_dec.decode(state.groups[f.groupName])) if f.groupName else None
        kept = []
        for o in ordered:
            conv = o[2]
            if f.conversationType and int(parse_conversation_id(conv)[0]) != f.conversationType:
                continue
            if f.markType and not int(state.marks.get(conv, 0)) & f.markType:
                continue
            if members is not None and conv not in members:
                continue
            kept.append(o)
        return kept

    async def get_conversation_list_by_ids(self, user_id: str, conversation_ids: Sequence[str]) -> ConversationPage:
        if len(conversation_ids) > PAGE_MAX:
            raise invalid(f"conversationIDList: at most {PAGE_MAX} IDs")
        state = await self._states.user_state(user_id)
        wanted = [c for c in dict.fromkeys(conversation_ids) if parse_conversation_id(c) and c in state.order]
        return ConversationPage(
            nextSeq="", isFinished=True, conversationList=await self._views.views(user_id, wanted, state)
        )

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        state = await self._states.user_state(user_id)
        await self._states.known(user_id, conversation_id, state)
        return (await self._views.views(user_id, [conversation_id], state))[0]

    async def recent_contacts(self, user_id: str) -> list[tuple[str, int, bool]]:
        """Every conversation in the user's list as (ID, orderKey in ms, pinned), in the list's
        order: what Tencent's server API pages through (`recentcontact/get_list`). No events."""
        state = await self._states.user_state(user_id)
        return [(conv, order, pinned) for pinned, order, conv in await self._states.ordered(user_id, state)]

    async def get_total_unread_message_count(self, user_id: str) -> int:
        return await self.unread_total(user_id)

    async def get_unread_message_count_by_filter(self, user_id: str, conversation_filter: ConversationFilter) -> int:
        return await self.unread_total(user_id, conversation_filter)

    async def unread_total(self, user_id: str, conversation_filter: ConversationFilter | None = None) -> int:
        """The total unread count (of a filter), leaving out conversations not set to RECEIVE."""
        return (await self.unread_totals(user_id, [conversation_filter or ConversationFilter()]))[0]

    async def unread_totals(self, user_id: str, filters: Sequence[ConversationFilter]) -> list[int]:
        """unread_total for several filters from one read of the user's state and one recount: a
        conversationListener recomputes the overall total and every subscribed filter's after each
        conversation event, so this runs once per event per listening device."""
        state = await self._states.user_state(user_id)
        ordered = await self._states.ordered(user_id, state)
        counted_by = [
            [
                o[2]
                for o in self._prefilter(ordered, state, f)
                if receive_opt(state, o[2]) == MessageOpt.V2TIM_RECEIVE_MESSAGE
            ]
            for f in filters
        ]
        unread = await self._views.unread(
            user_id, state, list(dict.fromkeys(c for counted in counted_by for c in counted))
        )
        totals = []
        for f, counted in zip(filters, counted_by, strict=True):
            if f.hasGroupAtInfo:
                views = await self._views.views(user_id, counted, state)
                counted = [v.conversationID for v in views if v.groupAtInfoList]
            totals.append(sum(max(0, unread[c]) for c in counted))
        return totals

    async def subscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None:
        """Kept with its total now: a subscription that first meets the filter at a later change
        reports the change since this moment (not only changes after that one)."""
        [total] = await self.unread_totals(user_id, [f])
        await self._redis.hset(self._keys.unread_filters(user_id), _filter_enc.encode(f), total)

    async def unsubscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None:
        await self._redis.hdel(self._keys.unread_filters(user_id), _filter_enc.encode(f))

    async def subscribed_filters(self, user_id: str) -> dict[ConversationFilter, int]:
        rows = await self._redis.hgetall(self._keys.unread_filters(user_id))
        return {_filter_dec.decode(raw): int(total) for raw, total in rows.items()}


def _matches_counts(view: Conversation, f: ConversationFilter) -> bool:
    if f.hasUnreadCount and view.unreadCount <= 0:
        return False
    return not (f.hasGroupAtInfo and not view.groupAtInfoList)


def _cursor(o: tuple[bool, int, str]) -> str:
    return f"{int(o[0])}:{o[1]}:{o[2]}"


def _parse_cursor(text: str) -> tuple[bool, int, str] | None:
    if not text or text == "0":
        return None
    pinned, _, rest = text.partition(":")
    order, _, conv = rest.partition(":")
    if pinned not in ("0", "1") or not is_digits(order) or not conv:
        raise invalid("nextSeq is not one a conversation page returned")
    return (pinned == "1", int(order), conv)
