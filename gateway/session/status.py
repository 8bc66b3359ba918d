"""User status (getUserStatus, setSelfStatus, subscribeUserStatus) and onUserStatusChanged.

statusType: ONLINE while the user has a live subscription (Presence); OFFLINE while logged in
without one; UNLOGINED for an account with no live session; UNKNOWN for no such account.
A change reaches every user who subscribed to it, and, for a custom-status change, the user's own
devices too (the SDK's multi-device rule).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.errors import invalid
from gateway.events.bus import EventBus
from gateway.im.enums import UserStatusType
from gateway.im.events import OnUserStatusChanged
from gateway.im.model import UserStatus
from gateway.keys import Keys
from gateway.session.presence import Presence
from gateway.upstream import StatusUpstream

CUSTOM_STATUS_MAX_BYTES = 100  # Tencent's limit for a custom status
STATUS_SUBSCRIPTIONS_MAX = 200  # users one user may follow the status of (Tencent's limit)

LoggedIn = Callable[[list[str]], Awaitable[list[bool]]]
Exists = Callable[[Sequence[str]], Awaitable[list[bool]]]


class StatusService:
    def __init__(
        self,
        *,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        presence: Presence,
        logged_in: LoggedIn,
        exists: Exists,
        upstream: StatusUpstream | None = None,
    ) -> None:
        """`upstream`: where native users' status comes from (the Tencent backend), merged with
        imql's own: online here or there is online."""
        self._upstream = upstream
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._presence = presence
        self._logged_in = logged_in
        self._exists = exists
        presence.on_changes(self._presence_changed)

    async def get(self, user_ids: list[str]) -> list[UserStatus]:
        online = await self._presence.online(user_ids)
        logged_in = await self._logged_in(user_ids)
        exists = await self._exists(user_ids)
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.get(self._keys.custom_status(user_id))
        customs = await pipe.execute()
        remote: dict[str, UserStatusType | None] = {}
        away = [u for u, on in zip(user_ids, online, strict=True) if not on]
        if self._upstream is not None and away:
            remote = dict(zip(away, await self._upstream.statuses(away), strict=True))
        result = []
        for user_id, on, logged, known, custom in zip(user_ids, online, logged_in, exists, customs, strict=True):
            there = remote.get(user_id)
            if on or there == UserStatusType.V2TIM_USER_STATUS_ONLINE:
                kind = UserStatusType.V2TIM_USER_STATUS_ONLINE
            elif logged or there == UserStatusType.V2TIM_USER_STATUS_OFFLINE:
                kind = UserStatusType.V2TIM_USER_STATUS_OFFLINE
            elif known or there == UserStatusType.V2TIM_USER_STATUS_UNLOGINED:
                kind = UserStatusType.V2TIM_USER_STATUS_UNLOGINED
            else:
                kind = UserStatusType.V2TIM_USER_STATUS_UNKNOWN
            result.append(UserStatus(userID=user_id, statusType=kind, customStatus=custom or ""))
        return result

    async def set_custom(self, user_id: str, status: str) -> None:
        if len(status.encode("utf-8")) > CUSTOM_STATUS_MAX_BYTES:
            raise invalid(f"status is over {CUSTOM_STATUS_MAX_BYTES} bytes")
        key = self._keys.custom_status(user_id)
        if status:
            await self._redis.set(key, status)
        else:
            await self._redis.delete(key)
        await self._broadcast(user_id, include_self=True)

    async def subscribe(self, user_id: str, targets: list[str]) -> None:
        watching = self._keys.status_watching(user_id)
        current = await self._redis.smembers(watching)
        if len(current | set(targets)) > STATUS_SUBSCRIPTIONS_MAX:
            raise invalid(f"userIDList: one user may subscribe to at most {STATUS_SUBSCRIPTIONS_MAX} users' status")
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(watching, *targets)
        for target in targets:
            pipe.sadd(self._keys.status_watchers(target), user_id)
        await pipe.execute()

    async def unsubscribe(self, user_id: str, targets: list[str] | None) -> None:
        watching = self._keys.status_watching(user_id)
        if targets is None:
            targets = list(await self._redis.smembers(watching))
        if not targets:
            return
        pipe = self._redis.pipeline(transaction=False)
        pipe.srem(watching, *targets)
        for target in targets:
            pipe.srem(self._keys.status_watchers(target), user_id)
        await pipe.execute()

    async def _presence_changed(self, user_ids: list[str]) -> None:
        """Users came online or went offline: the watchers of each hear it. The watchers of all of
        them are read in one round trip (most users have none)."""
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.scard(self._keys.status_watchers(user_id))
        for user_id, watchers in zip(user_ids, await pipe.execute(), strict=True):
            if watchers:
                await self._broadcast(user_id, include_self=False)

    async def changed_upstream(self, user_id: str) -> None:
        """The user's status changed upstream (a native device came or went): their watchers hear it."""
        await self._broadcast(user_id, include_self=False)

    async def _broadcast(self, user_id: str, *, include_self: bool) -> None:
        watchers = set(await self._redis.smembers(self._keys.status_watchers(user_id)))
        if include_self:
            watchers.add(user_id)
        if not watchers:
            return
        (status,) = await self.get([user_id])
        await self._bus.publish(sorted(watchers), OnUserStatusChanged(statusList=[status]))
