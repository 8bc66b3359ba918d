"""Each device's push config (setOfflinePushConfig) and whether its app is in the foreground.

A user is in the foreground while one of their sessions has a live subscription (a presence lease)
and has not said doBackground since; such a user gets no offline push. A device's push config is
used only while its session lasts: logging out (or being replaced) stops its pushes.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.clock import Clock
from gateway.errors import invalid
from gateway.keys import Keys

TOKEN_MAX_BYTES = 1024  # APNs tokens are 64 hex characters, FCM's ~160; vendors' stay well below this


class PushDevice(msgspec.Struct, kw_only=True):
    platform: str
    businessID: int
    token: str
    sessionID: str


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(PushDevice)


def session_of_lease(instance: str) -> str:
    """The session a presence lease belongs to (leases are named <replica>:<random>:<sessionID>)."""
    return instance.rsplit(":", 1)[-1]


class PushDevices:
    def __init__(self, redis: Any, keys: Keys, clock: Clock) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock

    async def set_config(self, user_id: str, session_id: str, platform: str, business_id: int, token: str) -> None:
        if business_id < 0:
            raise invalid("businessID must be 0 or more")
        if not token or len(token.encode("utf-8")) > TOKEN_MAX_BYTES:
            raise invalid(f"token must be 1-{TOKEN_MAX_BYTES} bytes")
        device = PushDevice(platform=platform, businessID=business_id, token=token, sessionID=session_id)
        await self._redis.hset(self._keys.push_devices(user_id), platform, _enc.encode(device))

    async def set_background(self, user_id: str, session_id: str, background: bool) -> None:
        key = self._keys.push_background(user_id)
        if background:
            await self._redis.sadd(key, session_id)
        else:
            await self._redis.srem(key, session_id)

    async def devices(self, user_id: str) -> list[PushDevice]:
        """The user's push configs whose session still lasts."""
        found = [_dec.decode(raw) for raw in (await self._redis.hgetall(self._keys.push_devices(user_id))).values()]
        if not found:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for d in found:
            pipe.exists(self._keys.session(user_id, d.sessionID))
        alive = await pipe.execute()
        return [d for d, live in zip(found, alive, strict=True) if live]

    async def in_foreground(self, user_id: str) -> bool:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._keys.presence(user_id))
        pipe.smembers(self._keys.push_background(user_id))
        leases, background = await pipe.execute()
        now = self._clock.now()
        live = {session_of_lease(instance) for instance, expiry in leases.items() if int(expiry) > now}
        return bool(live - set(background))
