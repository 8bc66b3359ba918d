"""The session pool: login, token resolution with an in-process cache, logout, kicks, expiry.

A session lives in Redis (`Keys.session`, TTL = the UserSig's remaining life), so every replica
honours it. Hot sessions are cached in-process; the cache is told on the app's session-ended
channel when a session ends anywhere, and never trusts an entry longer than `CACHE_TRUST_SECONDS`
in case such a message was lost.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from redis.exceptions import WatchError

from gateway.backend import IMBackend
from gateway.clock import Clock
from gateway.errors import Code, IMError
from gateway.events.bus import EventBus
from gateway.events.dispatcher import Dispatcher
from gateway.ids import check_user_id
from gateway.im.events import OnKickedOffline, OnUserSigExpired
from gateway.keys import Keys
from gateway.metrics import Metrics
from gateway.session.tokens import make_token, new_session_id, parse_token
from gateway.usersig import verify

log = logging.getLogger("imql.sessions")

CACHE_MAX_SESSIONS = 100_000  # ~200 bytes each: 20 MB at most
CACHE_TRUST_SECONDS = 30.0  # re-read a cached session at least this often, whatever pub/sub says
LOGIN_FAILURE_WINDOW_SECONDS = 60
LOGIN_FAILURES_ALLOWED = 10  # per userID per window; then 70050 until the window passes
DEVICES_TTL_SECONDS = 180 * 86400  # as long as the longest UserSig the official libraries mint
EXPIRY_NOTICE_TTL_SECONDS = 86400  # remembers that onUserSigExpired was sent, so it is sent once
PLATFORM_MAX_LENGTH = 32
DEFAULT_PLATFORM = "web"

STATE_ACTIVE = "active"
STATE_KICKED = "kicked"

# Messages on the session-ended channel: "end:<sid>" closes its subscriptions everywhere (logout);
# "evict:<sid>" only drops cached copies (kick and expiry close subscriptions with their event).
END = "end:"
EVICT = "evict:"


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    session_id: str
    platform: str
    expires_at: int
    token: str


def check_platform(platform: str) -> str:
    platform = platform.strip().lower()
    if not platform or len(platform) > PLATFORM_MAX_LENGTH or not all(c.isalnum() or c in "-_" for c in platform):
        raise IMError(Code.ERR_INVALID_PARAMETERS, "platform must be 1-32 letters, digits, '-' or '_'")
    return platform


class SessionPool:
    def __init__(
        self,
        *,
        redis: Any,
        keys: Keys,
        clock: Clock,
        bus: EventBus,
        dispatcher: Dispatcher,
        backend: IMBackend,
        metrics: Metrics,
        sdkappid: int,
        secret_key: str,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._bus = bus
        self._dispatcher = dispatcher
        self._backend = backend
        self._metrics = metrics
        self._sdkappid = sdkappid
        self._secret_key = secret_key
        self._cache: OrderedDict[str, tuple[float, Session]] = OrderedDict()
        dispatcher.on_session_ended(self._on_session_ended)

    # ---- login -------------------------------------------------------------------------------
    async def login(self, user_id: str, user_sig: str, platform: str) -> Session:
        check_user_id(user_id)
        platform = check_platform(platform)
        failures_key = self._keys.login_failures(user_id)
        failures = await self._redis.get(failures_key)
        if failures is not None and int(failures) >= LOGIN_FAILURES_ALLOWED:
            self._metrics.logins.labels("throttled").inc()
            raise IMError(Code.ERR_LOGIN_THROTTLED, f"too many failed logins for {user_id!r}; try again in a minute")
        try:
            sig = verify(
                user_sig, sdkappid=self._sdkappid, secret_key=self._secret_key, user_id=user_id, now=self._clock.now()
            )
        except IMError:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(failures_key)
            pipe.expire(failures_key, LOGIN_FAILURE_WINDOW_SECONDS, nx=True)
            await pipe.execute()
            self._metrics.logins.labels("refused").inc()
            raise
        await self._backend.accounts.ensure_account(user_id)
        session_id = new_session_id()
        session = Session(
            user_id=user_id,
            session_id=session_id,
            platform=platform,
            expires_at=sig.expires_at,
            token=make_token(user_id, sig.expires_at, session_id),
        )
        kicked = await self._store_and_replace(session)
        await self._redis.delete(failures_key)
        if kicked is not None:
            await self._bus.publish([user_id], OnKickedOffline(), session_id=kicked)
            await self._redis.publish(self._keys.sessions_ended_channel(), EVICT + kicked)
        self._metrics.logins.labels("ok").inc()
        return session

    async def _store_and_replace(self, session: Session) -> str | None:
        """Write the session and make it the platform's; returns the session it replaced."""
        devices = self._keys.devices(session.user_id)
        key = self._keys.session(session.user_id, session.session_id)
        ttl = max(1, int(session.expires_at - self._clock.now()))
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(devices)
                    old = await pipe.hget(devices, session.platform)
                    old_key = self._keys.session(session.user_id, old) if old else None
                    old_exists = False
                    if old_key is not None:
                        await pipe.watch(old_key)
                        old_exists = bool(await pipe.exists(old_key))
                    pipe.multi()
                    pipe.hset(
                        key,
                        mapping={
                            "platform": session.platform,
                            "expires_at": session.expires_at,
                            "state": STATE_ACTIVE,
                            "created": int(self._clock.now()),
                        },
                    )
                    pipe.expire(key, ttl)
                    pipe.hset(devices, session.platform, session.session_id)
                    pipe.expire(devices, DEVICES_TTL_SECONDS)
                    if old_key is not None and old_exists:
                        pipe.hset(old_key, "state", STATE_KICKED)
                    await pipe.execute()
                    return str(old) if old and old_exists else None
                except WatchError:
                    continue

    # ---- resolution --------------------------------------------------------------------------
    async def resolve(self, token: str | None) -> Session:
        """The live session behind a token, or IMError 6014 / 6206 / 6208."""
        if not token:
            raise IMError(Code.ERR_SDK_NOT_LOGGED_IN, "not logged in: send 'Authorization: Bearer <token>' from login")
        parsed = parse_token(token)
        if parsed is None:
            raise IMError(Code.ERR_SDK_NOT_LOGGED_IN, "not logged in: the token is not one this gateway issued")
        now = self._clock.now()
        cached = self._cache.get(parsed.session_id)
        if cached is not None and cached[1].token == token and time.monotonic() - cached[0] < CACHE_TRUST_SECONDS:
            self._cache.move_to_end(parsed.session_id)
            session = cached[1]
            if session.expires_at <= now:
                await self.notify_expired(session)
                raise IMError(Code.ERR_USER_SIG_EXPIRED, "the session's userSig expired; log in again")
            return session
        # with the other sessions resolved at this moment (a restart's reconnections): one round trip
        lookup = self._dispatcher.shared.pipeline()
        lookup.hgetall(self._keys.session(parsed.user_id, parsed.session_id))
        (stored,) = await lookup.execute()
        if not stored:
            if parsed.expires_at <= now:
                raise IMError(Code.ERR_USER_SIG_EXPIRED, "the session's userSig expired; log in again")
            raise IMError(Code.ERR_SDK_NOT_LOGGED_IN, "not logged in: the session ended or never existed")
        session = Session(
            user_id=parsed.user_id,
            session_id=parsed.session_id,
            platform=stored.get("platform", DEFAULT_PLATFORM),
            expires_at=int(stored.get("expires_at", parsed.expires_at)),
            token=token,
        )
        if stored.get("state") == STATE_KICKED:
            raise IMError(
                Code.ERR_LOGIN_KICKED_OFF_BY_OTHER, "this session was ended by a newer login on the same platform"
            )
        if session.expires_at <= now:
            await self.notify_expired(session)
            raise IMError(Code.ERR_USER_SIG_EXPIRED, "the session's userSig expired; log in again")
        self._cache[session.session_id] = (time.monotonic(), session)
        if len(self._cache) > CACHE_MAX_SESSIONS:
            self._cache.popitem(last=False)
        return session

    # ---- ending ------------------------------------------------------------------------------
    async def logout(self, session: Session) -> None:
        devices = self._keys.devices(session.user_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(self._keys.session(session.user_id, session.session_id))
        pipe.hget(devices, session.platform)
        _, current = await pipe.execute()
        if current == session.session_id:
            await self._redis.hdel(devices, session.platform)
        self._cache.pop(session.session_id, None)
        await self._redis.publish(self._keys.sessions_ended_channel(), END + session.session_id)

    async def notify_expired(self, session: Session) -> None:
        """Send onUserSigExpired to the session's subscribers, once whichever replica notices."""
        notice = f"{self._keys.session(session.user_id, session.session_id)}:expiry-notified"
        if await self._redis.set(notice, "1", nx=True, ex=EXPIRY_NOTICE_TTL_SECONDS):
            await self._bus.publish([session.user_id], OnUserSigExpired(), session_id=session.session_id)
            await self._redis.publish(self._keys.sessions_ended_channel(), EVICT + session.session_id)

    async def kick_all(self, user_id: str) -> list[str]:
        """End every session of the user (the server API's `kick`): each is marked kicked, so its
        calls get 6208; its subscriptions get onKickedOffline and end; the platforms are freed.
        Returns the platforms whose session was ended."""
        devices = self._keys.devices(user_id)
        by_platform: dict[str, str] = {str(p): str(s) for p, s in (await self._redis.hgetall(devices)).items()}
        if not by_platform:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for sid in by_platform.values():
            pipe.exists(self._keys.session(user_id, sid))
        alive = await pipe.execute()
        ended = {p: sid for (p, sid), live in zip(by_platform.items(), alive, strict=True) if live}
        pipe = self._redis.pipeline(transaction=True)
        for sid in ended.values():
            pipe.hset(self._keys.session(user_id, sid), "state", STATE_KICKED)
        pipe.hdel(devices, *by_platform)
        await pipe.execute()
        for sid in ended.values():
            await self._bus.publish([user_id], OnKickedOffline(), session_id=sid)
            await self._redis.publish(self._keys.sessions_ended_channel(), EVICT + sid)
        return sorted(ended)

    async def platforms(self, user_ids: list[str]) -> list[list[str]]:
        """The platforms on which each user has a live session."""
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hgetall(self._keys.devices(user_id))
        device_maps = [{str(p): str(s) for p, s in d.items()} for d in await pipe.execute()]
        pipe = self._redis.pipeline(transaction=False)
        for user_id, devices in zip(user_ids, device_maps, strict=True):
            for sid in devices.values():
                pipe.exists(self._keys.session(user_id, sid))
        found = iter(await pipe.execute() if any(device_maps) else [])
        return [sorted(p for p in devices if next(found)) for devices in device_maps]

    async def is_logged_in(self, user_ids: list[str]) -> list[bool]:
        """Whether each user has at least one live session on any platform."""
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hvals(self._keys.devices(user_id))
        device_lists = await pipe.execute()
        pipe = self._redis.pipeline(transaction=False)
        for user_id, sids in zip(user_ids, device_lists, strict=True):
            for sid in sids:
                pipe.exists(self._keys.session(user_id, sid))
        found = iter(await pipe.execute() if any(device_lists) else [])
        return [sum(bool(next(found)) for _ in sids) > 0 for sids in device_lists]

    def _on_session_ended(self, message: str) -> None:
        if message == "*":
            self._cache.clear()
            return
        kind, _, session_id = message.partition(":")
        self._cache.pop(session_id, None)
        if kind + ":" == END:
            self._dispatcher.end_session(session_id, "logged out")
