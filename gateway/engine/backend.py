"""The embedded backend: `IMBackend` on Redis, composed of one part per manager."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import RedisError

from gateway.clock import Clock
from gateway.engine.all_member_push import AllMemberPush
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.conversations.announce import ConversationAnnouncer
from gateway.engine.conversations.manager import Conversations
from gateway.engine.conversations.state import UserStates
from gateway.engine.conversations.views import ConversationViews
from gateway.engine.errors import maps_store_errors
from gateway.engine.friendship import Friendship
from gateway.engine.groups.manager import EmbeddedGroups
from gateway.engine.message_events import MessageEvents
from gateway.engine.message_manager import EmbeddedMessages
from gateway.engine.message_views import MessageViews
from gateway.engine.profiles import Profiles, validate_changes
from gateway.engine.push.planner import PushPlanner, PushQueue
from gateway.engine.retention import MessageRetention
from gateway.engine.signaling import Signaling
from gateway.errors import Code, IMError
from gateway.events.bus import EventBus
from gateway.im.model import ProfileChanges, UserFullInfo
from gateway.keys import Keys
from gateway.upstream import Upstream, active

log = logging.getLogger("imql.engine")


@maps_store_errors
class EmbeddedAccounts:
    """V2TIMManager's accounts: profiles, plus the friends who must hear of a profile change.

    With an upstream (gateway.upstream), accounts are created and profiles changed there first;
    an account the mirror has never seen (created natively upstream) is fetched from there once and
    kept in the mirror, which the upstream's webhooks keep current from then on."""

    def __init__(self, profiles: Profiles, friendship: Friendship, clock: Clock, upstream: Upstream | None) -> None:
        self._profiles = profiles
        self._friendship = friendship
        self._clock = clock
        self._upstream = upstream

    async def exists(self, user_ids: Sequence[str]) -> list[bool]:
        found = await self._profiles.exists(user_ids)
        up = active(self._upstream)
        if up is None or all(found):
            return found
        fetched = await self._import_missing(up, [u for u, there in zip(user_ids, found, strict=True) if not there])
        return [there or u in fetched for u, there in zip(user_ids, found, strict=True)]

    async def ensure_account(self, user_id: str) -> None:
        up = active(self._upstream)
        if up is not None:
            if not (await self._profiles.exists([user_id]))[0]:
                await up.accounts.ensure_account(user_id)
                if not await self._import_missing(up, [user_id]):
                    await self._profiles.ensure_account(user_id, int(self._clock.now()))
            # mirrored (created by us earlier or imported from there): its relation chain too, once
            await self._import_relations(user_id)
            return
        await self._profiles.ensure_account(user_id, int(self._clock.now()))

    async def get_users_info(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        infos = await self._profiles.get(user_ids)
        up = active(self._upstream)
        if up is None or len(infos) == len(set(user_ids)):
            return infos
        have = {info.userID for info in infos}
        fetched = await self._import_missing(up, [u for u in dict.fromkeys(user_ids) if u not in have])
        if not fetched:
            return infos
        by_id = {info.userID: info for info in (*infos, *fetched.values())}
        return [by_id[u] for u in user_ids if u in by_id]

    async def set_self_info(self, user_id: str, changes: ProfileChanges) -> UserFullInfo:
        up = active(self._upstream)
        if up is not None and not changes.is_empty():
            validate_changes(changes)  # the engine's limits first: a refused change goes nowhere
            await up.accounts.set_profile(user_id, changes)
        info = await self._profiles.update(user_id, changes)
        if not changes.is_empty():
            await self._friendship.profile_changed(user_id)
        return info

    async def _import_missing(self, up: Upstream, user_ids: Sequence[str]) -> dict[str, UserFullInfo]:
        return await self._profiles.import_from(up, user_ids, int(self._clock.now()))

    async def _import_relations(self, user_id: str) -> None:
        """At login, so the user's first friendship read is served at once. Not fatal: the mirror
        imports the chain whenever it next needs it (gateway.engine.friendship.ensure_relations)."""
        try:
            await self._friendship.ensure_relations([user_id])
        except IMError as exc:
            log.warning("relation chain of %r not imported at login: %s", user_id, exc.desc)


@maps_store_errors
class EmbeddedHousekeeping:
    """The engine's timers and operator actions (gateway.backend.Housekeeping)."""

    def __init__(self, groups: EmbeddedGroups, signaling: Signaling, retention: MessageRetention, clock: Clock) -> None:
        self._groups = groups
        self._signaling = signaling
        self._retention = retention
        self._clock = clock

    async def recycle_idle_groups(self, idle_seconds: int) -> list[str]:
        return await self._groups.recycle_idle_groups(idle_seconds)

    async def send_group_system_notification(
        self, group_id: str, content: str, to_members: Sequence[str] | None = None
    ) -> None:
        await self._groups.send_group_system_notification(group_id, content, to_members)

    async def expire_due(self) -> int:
        return await self._signaling.expire_due()

    async def presence_changed(self, user_id: str, online: bool) -> None:
        await self._groups.presence_changed(user_id, online)

    async def presence_changed_many(self, changes: Sequence[tuple[str, bool]]) -> None:
        await self._groups.presence_changed_many(changes)

    async def trim_history(self, retention_seconds: float, budget: int) -> bool:
        return await self._retention.step(self._clock.now(), retention_seconds, budget)


class EmbeddedBackend:
    name = "embedded"

    def __init__(
        self,
        *,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        friends_only: bool = False,
        offline_push: bool = False,
        callbacks: Callbacks | None = None,
        upstream: Upstream | None = None,
        on_erased: Callable[[int], None] | None = None,
    ) -> None:
        self._redis = redis
        # the IM server writes go through first (the Tencent backend); None: the engine is the server
        self.upstream = upstream
        self.name = upstream.name if upstream is not None else "embedded"
        # the app's third-party callbacks, told by every part at its hook points (off: Callbacks())
        self.callbacks = callbacks = callbacks or Callbacks()
        self.profiles = Profiles(redis, keys, bus, callbacks)
        self.friendship = Friendship(redis, keys, bus, self.profiles, clock, callbacks, upstream)
        # offline push: the queue is fed by every send; the planner is read by gateway.push's worker
        self.push_queue = PushQueue(redis, keys, enabled=offline_push)
        # what messages and groups tell users of conversations through: built before them, over the
        # views of messages (which tell nobody) and the users' conversation state
        message_views = MessageViews(redis, keys)
        conversation_states = UserStates(redis, keys, clock)
        conversation_views = ConversationViews(redis, keys, conversation_states, message_views)
        self.announcer = announcer = ConversationAnnouncer(redis, keys, bus, conversation_states, conversation_views)
        # `on_erased`: told the messages its group eraser erases (gateway.engine.groups.eraser); the
        # conversation views: a topic's conversation is in no list, its reader's unread count and
        # last message come with getTopicInfoList (V2TIMTopicInfo), read by them
        self.groups = EmbeddedGroups(
            redis,
            keys,
            bus,
            clock,
            self.profiles,
            self.friendship,
            announcer,
            conversation_views,
            callbacks,
            upstream,
            on_erased,
        )
        # the message events its logs keep by reference: the dispatcher resolves them with it
        self.message_events = MessageEvents(redis, keys)
        self.messages = EmbeddedMessages(
            redis,
            keys,
            bus,
            clock,
            self.profiles,
            self.friendship,
            self.groups.store,
            message_views,
            announcer,
            self.push_queue,
            friends_only=friends_only,
            callbacks=callbacks,
            upstream=upstream,
            message_events=self.message_events,
        )
        self.conversations = Conversations(
            redis,
            keys,
            bus,
            clock,
            conversation_states,
            conversation_views,
            announcer,
            self.messages.c2c,
            self.messages.group,
            upstream=upstream,
        )
        self.accounts = EmbeddedAccounts(self.profiles, self.friendship, clock, upstream)
        self.signaling = Signaling(redis, keys, bus, clock, self.messages, self.groups.store)
        self.housekeeping = EmbeddedHousekeeping(self.groups, self.signaling, MessageRetention(redis, keys), clock)
        self.push_planner = PushPlanner(redis, keys, self.groups.store, self.profiles, self.conversations)
        # REST im_push: tasks to every account, run by each replica's AllMemberPushWorker
        self.all_member_push = AllMemberPush(
            redis, keys, bus, clock, self.profiles, self.messages.core, self.push_queue
        )

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise IMError(Code.ERR_SDK_INTERNAL_ERROR, f"the IM store does not answer: {exc}") from exc
        if self.upstream is not None:
            await self.upstream.ping()

    async def close(self) -> None:
        if self.upstream is not None:
            await self.upstream.close()
