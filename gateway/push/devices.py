"""Each device's push config (setOfflinePushConfig) and whether its app is in the foreground.

A user is in the foreground while one of their sessions has a live subscription (a presence lease)
and has not said doBackground since; such a user gets no offline push. A device's push config is
used only while its session lasts: logging out (or being replaced) stops its pushes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from gateway.clock import Clock
from gateway.errors import invalid
from gateway.keys import Keys

SESSION_ACTIVE = "active"  # gateway.session.pool.STATE_ACTIVE (tests/test_push.py holds them equal)
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

    async def reachable(self, user_ids: Sequence[str]) -> dict[str, list[PushDevice]]:
        """Of these users, those to push to now (no session in the foreground), with the devices
        whose sessions still last: two round trips however many users (a group's members)."""
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hgetall(self._keys.push_devices(user_id))
            pipe.hgetall(self._keys.presence(user_id))
            pipe.smembers(self._keys.push_background(user_id))
        rows = await pipe.execute()
        now = self._clock.now()
        candidates: list[tuple[str, PushDevice]] = []
        for i, user_id in enumerate(user_ids):
            configs, leases, background = rows[3 * i : 3 * i + 3]
            if not configs:
                continue
            live = {session_of_lease(instance) for instance, expiry in leases.items() if int(expiry) > now}
            if live - set(background):
                continue  # in the foreground: the app shows the message itself
            candidates.extend((user_id, _dec.decode(raw)) for raw in configs.values())
        if not candidates:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for user_id, device in candidates:
            pipe.hget(self._keys.session(user_id, device.sessionID), "state")
        found: dict[str, list[PushDevice]] = {}
        for (user_id, device), state in zip(candidates, await pipe.execute(), strict=True):
            # a session replaced by a newer login on its platform (or kicked) is kept, marked, so
            # its calls get 6208: it lasts, but its device is no longer the user's
            if state == SESSION_ACTIVE:
                found.setdefault(user_id, []).append(device)
        return found
