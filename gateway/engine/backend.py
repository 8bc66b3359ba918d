"""The embedded backend: `IMBackend` on Redis, composed of one part per manager."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from gateway.clock import Clock
from gateway.engine.all_member_push import AllMemberPush
from gateway.engine.announcer import Announcer
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.conversations import Conversations
from gateway.engine.errors import maps_store_errors
from gateway.engine.friendship import Friendship
from gateway.engine.groups.manager import EmbeddedGroups
from gateway.engine.message_events import MessageEvents
from gateway.engine.messages import Messages
from gateway.engine.profiles import Profiles
from gateway.engine.push.planner import PushPlanner, PushQueue
from gateway.engine.retention import MessageRetention
from gateway.engine.signaling import Signaling
from gateway.errors import Code, IMError
from gateway.events.bus import EventBus
from gateway.im.model import ProfileChanges, UserFullInfo
from gateway.keys import Keys


@maps_store_errors
class EmbeddedAccounts:
    """V2TIMManager's accounts: profiles, plus the friends who must hear of a profile change."""

    def __init__(self, profiles: Profiles, friendship: Friendship, clock: Clock) -> None:
        self._profiles = profiles
        self._friendship = friendship
        self._clock = clock

    async def exists(self, user_ids: Sequence[str]) -> list[bool]:
        return await self._profiles.exists(user_ids)

    async def ensure_account(self, user_id: str) -> None:
        await self._profiles.ensure_account(user_id, int(self._clock.now()))

    async def get_users_info(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        return await self._profiles.get(user_ids)

    async def set_self_info(self, user_id: str, changes: ProfileChanges) -> UserFullInfo:
        info = await self._profiles.update(user_id, changes)
        if not changes.is_empty():
            await self._friendship.profile_changed(user_id)
        return info


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
    ) -> None:
        self._redis = redis
        # the app's third-party callbacks, told by every part at its hook points (off: Callbacks())
        self.callbacks = callbacks = callbacks or Callbacks()
        self.profiles = Profiles(redis, keys, bus, callbacks)
        self.friendship = Friendship(redis, keys, bus, self.profiles, clock, callbacks)
        # offline push: the queue is fed by every send; the planner is read by gateway.push's worker
        self.push_queue = PushQueue(redis, keys, enabled=offline_push)
        # messages and groups tell of conversations through it; Conversations serves it when built
        self.announcer = announcer = Announcer()
        self.groups = EmbeddedGroups(redis, keys, bus, clock, self.profiles, self.friendship, announcer, callbacks)
        # the message events its logs keep by reference: the dispatcher resolves them with it
        self.message_events = MessageEvents(redis, keys)
        self.messages = Messages(
            redis,
            keys,
            bus,
            clock,
            self.profiles,
            self.friendship,
            self.groups.store,
            announcer,
            self.push_queue,
            friends_only=friends_only,
            callbacks=callbacks,
            message_events=self.message_events,
        )
        self.conversations = Conversations(redis, keys, bus, clock, self.messages, self.groups.store, announcer)
        self.accounts = EmbeddedAccounts(self.profiles, self.friendship, clock)
        self.signaling = Signaling(redis, keys, bus, clock, self.messages, self.groups.store)
        self.housekeeping = EmbeddedHousekeeping(self.groups, self.signaling, MessageRetention(redis, keys), clock)
        self.push_planner = PushPlanner(redis, keys, self.groups.store, self.profiles, self.conversations)
        # REST im_push: tasks to every account, run by each replica's AllMemberPushWorker
        self.all_member_push = AllMemberPush(redis, keys, bus, clock, self.profiles, self.messages, self.push_queue)

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise IMError(Code.ERR_SDK_INTERNAL_ERROR, f"the IM store does not answer: {exc}") from exc

    async def close(self) -> None:
        return None
