"""Announcing conversations: onNewConversation and onConversationChanged, as each user sees them."""

from __future__ import annotations

from typing import Any

from gateway.engine.conversations.state import UserState, UserStates
from gateway.engine.conversations.views import ConversationViews
from gateway.events.bus import EventBus
from gateway.ids import conversation_topic_id, group_conversation_id, group_ids_of
from gateway.im.conversations import Conversation
from gateway.im.events import OnConversationChanged, OnNewConversation
from gateway.keys import Keys

ANNOUNCE_BATCH = 64  # users whose changed conversations' views are read in the same round trips


class ConversationAnnouncer:
    """Tells users of their conversations that changed or (re)appeared, batched across users."""

    def __init__(self, redis: Any, keys: Keys, bus: EventBus, states: UserStates, views: ConversationViews) -> None:
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._states = states
        self._views = views

    async def announce(self, changed: dict[str, list[str]], *, topics: bool = False) -> None:
        """Tell each user, as they see them, of conversations that changed (one batched
        onConversationChanged) or that appeared or came back after a deletion (onNewConversation).

        A community topic's conversation is in no list, so it is told only with `topics`, and
        only as changed: by a caller that has checked the user is in the community (a read of the
        topic, whose conversation the topic's messages told the user of with its unread count).

        Every user's part of it is batched: one round trip reads the state of the changed
        conversations (not the users' whole lists) and what each was already told, then each
        user's views (two round trips for up to ANNOUNCE_BATCH users), then one round trip writes
        every user's events and marks. A C2C send tells its two users in 4 round trips."""
        changed = {user_id: convs for user_id, convs in changed.items() if convs}
        if not changed:
            return  # nothing to tell (Redis refuses the empty reads below)
        wanted_of: dict[str, list[str]] = {}
        states: dict[str, UserState] = {}
        seen_of: dict[str, set[str]] = {}
        pipe = self._redis.pipeline(transaction=False)
        pending = []
        for user_id, convs in changed.items():
            convs = list(dict.fromkeys(convs))
            state_of = self._states.queue_state_of(pipe, user_id, convs)
            pipe.hmget(self._keys.conversation_state(user_id, "announced"), convs)
            pending.append((user_id, convs, state_of, len(pipe) - 1))
        group_ids = sorted({g for convs in changed.values() for g in group_ids_of(convs)})
        if group_ids:
            pipe.zmscore(self._keys.group_activity(), group_ids)
        if not pending:
            return
        raw = list(await pipe.execute())
        activity = (
            {group_conversation_id(g): int((a or 0) * 1000) for g, a in zip(group_ids, raw[-1], strict=True)}
            if group_ids
            else {}
        )
        for user_id, convs, state_of, announced_at in pending:
            state = states[user_id] = state_of(raw)
            seen_of[user_id] = {c for c, mark in zip(convs, raw[announced_at], strict=True) if mark is not None}
            wanted = [
                c
                for c in convs
                if (topics and conversation_topic_id(c) is not None)
                or self._states.is_live(c, state, activity.get(c, 0))
            ]
            if wanted:
                wanted_of[user_id] = wanted
        if not wanted_of:
            return
        all_views: list[list[Conversation]] = []
        users = list(wanted_of)
        for start in range(0, len(users), ANNOUNCE_BATCH):
            batch = users[start : start + ANNOUNCE_BATCH]
            all_views += await self._views.views_of_users([(u, wanted_of[u], states[u]) for u in batch])
        pipe = self._redis.pipeline(transaction=False)
        for (user_id, wanted), views in zip(wanted_of.items(), all_views, strict=True):
            by_conv = dict(zip(wanted, views, strict=True))
            # (a topic's conversation, told only with `topics`, is never new: it is in no list)
            fresh = [
                c for c in wanted if c not in seen_of[user_id] and not (topics and conversation_topic_id(c) is not None)
            ]
            if fresh:
                pipe.hset(self._keys.conversation_state(user_id, "announced"), mapping=dict.fromkeys(fresh, 1))
                self._bus.queue_publish(
                    pipe, [user_id], OnNewConversation(conversationList=[by_conv[c] for c in fresh])
                )
            rest = [by_conv[c] for c in wanted if c not in fresh]
            if rest:
                self._bus.queue_publish(pipe, [user_id], OnConversationChanged(conversationList=rest))
        await self._bus.execute(pipe)

    async def announce_new(self, appeared: dict[str, list[str]]) -> None:
        """onNewConversation: conversations that (re)appeared in users' lists, e.g. a joined group."""
        for user_id, convs in appeared.items():
            await self._redis.hdel(self._keys.conversation_state(user_id, "announced"), *convs)
        await self.announce(appeared)
