"""The embedded backend: `IMBackend` on Redis, composed of one part per manager."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from gateway.clock import Clock
from gateway.engine.profiles import Profiles
from gateway.errors import Code, IMError
from gateway.events.bus import EventBus
from gateway.im.model import ProfileChanges, UserFullInfo
from gateway.keys import Keys


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, *, redis: Any, keys: Keys, bus: EventBus, clock: Clock) -> None:
        self._redis = redis
        self._clock = clock
        self.profiles = Profiles(redis, keys, bus)

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise IMError(Code.ERR_SDK_INTERNAL_ERROR, f"the IM store does not answer: {exc}") from exc

    async def close(self) -> None:
        return None

    # ---- V2TIMManager: accounts and profiles -------------------------------------------------
    async def ensure_account(self, user_id: str) -> None:
        await self.profiles.ensure_account(user_id, int(self._clock.now()))

    async def get_users_info(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        return await self.profiles.get(user_ids)

    async def set_self_info(self, user_id: str, changes: ProfileChanges) -> UserFullInfo:
        return await self.profiles.update(user_id, changes)
