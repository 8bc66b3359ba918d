"""Accounts and profiles (V2TIMUserFullInfo) on Redis, with Tencent's field limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from redis.exceptions import WatchError

from gateway.engine.callbacks.hooks import Callbacks
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import EventBus
from gateway.im.enums import AllowType, Gender
from gateway.im.events import OnSelfInfoUpdated
from gateway.im.model import ProfileChanges, UserFullInfo
from gateway.keys import Keys
from gateway.upstream import Upstream

PROFILE_STRING_MAX_BYTES = 500  # nickName, faceUrl, selfSignature, custom values (40601 beyond)
CUSTOM_KEY_MAX_BYTES = 8  # Tencent's Tag_Profile_Custom_<key> limit
CUSTOM_KEYS_MAX = 20  # custom profile fields an app may define
UINT32_MAX = 2**32 - 1

_custom_encoder = msgspec.json.Encoder()
_custom_decoder = msgspec.json.Decoder(dict[str, str])
_STRING_FIELDS = ("nickName", "faceUrl", "selfSignature")
_INT_FIELDS = ("role", "level", "birthday")
# Tencent profile fields with no V2TIMUserFullInfo field (Location, Language, MsgSettings,
# AdminForbidType): the server API stores and reads them; the SDK never sees them. Their hash
# fields carry a prefix so they can never collide with a UserFullInfo field.
SERVER_FIELD_PREFIX = "server:"


def _check_bytes(value: str, arg: str) -> None:
    if len(value.encode("utf-8")) > PROFILE_STRING_MAX_BYTES:
        raise IMError(Code.ERR_PROFILE_FIELD_TOO_LONG, f"{arg} is over {PROFILE_STRING_MAX_BYTES} bytes")


def _check_birthday(value: int) -> None:
    if value == 0:
        return
    month, day = value // 100 % 100, value % 100
    if not (10000101 <= value <= 99991231 and 1 <= month <= 12 and 1 <= day <= 31):
        raise invalid("birthday must be a date written YYYYMMDD (e.g. 19700101), or 0")


def validate_changes(changes: ProfileChanges) -> None:
    """Every check before any write, so a refused change stores nothing."""
    for name in _STRING_FIELDS:
        value = getattr(changes, name)
        if value is not None:
            _check_bytes(value, "faceURL" if name == "faceUrl" else name)
    for name in _INT_FIELDS:
        value = getattr(changes, name)
        if value is not None and not 0 <= value <= UINT32_MAX:
            raise invalid(f"{name} must be between 0 and {UINT32_MAX}")
    if changes.birthday is not None:
        _check_birthday(changes.birthday)
    validate_custom_info(changes.customInfo or {}, "customInfo")


def validate_custom_info(custom: dict[str, str], arg: str) -> None:
    """Custom fields (profile or friend): short ASCII keys, values within the profile limit."""
    if len(custom) > CUSTOM_KEYS_MAX:
        raise invalid(f"{arg} may hold at most {CUSTOM_KEYS_MAX} keys")
    for key, value in custom.items():
        if not key or len(key.encode("utf-8")) > CUSTOM_KEY_MAX_BYTES:
            raise invalid(f"{arg} key {key!r} must be 1-{CUSTOM_KEY_MAX_BYTES} bytes")
        if not all(c.isascii() and (c.isalnum() or c == "_") for c in key):
            raise invalid(f"{arg} key {key!r} may hold only ASCII letters, digits and '_'")
        _check_bytes(value, f"{arg}[{key!r}]")


def _from_hash(user_id: str, row: dict[str, str]) -> UserFullInfo:
    custom = row.get("customInfo")
    return UserFullInfo(
        userID=user_id,
        nickName=row.get("nickName", ""),
        faceUrl=row.get("faceUrl", ""),
        selfSignature=row.get("selfSignature", ""),
        gender=Gender(int(row.get("gender", 0))),
        allowType=AllowType(int(row.get("allowType", AllowType.V2TIM_FRIEND_NEED_CONFIRM))),
        role=int(row.get("role", 0)),
        level=int(row.get("level", 0)),
        birthday=int(row.get("birthday", 0)),
        customInfo=_custom_decoder.decode(custom) if custom else {},
    )


class Profiles:
    def __init__(self, redis: Any, keys: Keys, bus: EventBus, callbacks: Callbacks | None = None) -> None:
        self._callbacks = callbacks or Callbacks()
        self._redis = redis
        self._keys = keys
        self._bus = bus

    async def ensure_account(self, user_id: str, now: int) -> None:
        """The account, created if new, and listed among the app's accounts (Keys.accounts, what
        an all-member push walks; a separate key, so not in the same transaction)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hsetnx(self._keys.profile(user_id), "created", now)
        pipe.zadd(self._keys.accounts(), {user_id: 0})
        await pipe.execute()

    async def import_profile(self, info: UserFullInfo, now: int) -> None:
        """An account the upstream has and the mirror had not (gateway.upstream): created with its
        profile as the upstream gave it, in one write, telling nobody (nothing changed for anyone)."""
        fields: dict[str, str | int] = {name: getattr(info, name) for name in (*_STRING_FIELDS, *_INT_FIELDS)}
        fields["gender"] = int(info.gender)
        fields["allowType"] = int(info.allowType)
        if info.customInfo:
            fields["customInfo"] = _custom_encoder.encode(info.customInfo).decode("utf-8")
        pipe = self._redis.pipeline(transaction=False)
        pipe.hsetnx(self._keys.profile(info.userID), "created", now)
        pipe.hset(self._keys.profile(info.userID), mapping=fields)
        pipe.zadd(self._keys.accounts(), {info.userID: 0})
        await pipe.execute()

    async def import_from(self, up: Upstream, user_ids: Sequence[str], now: int) -> dict[str, UserFullInfo]:
        """The upstream's profiles of the accounts among `user_ids` (ones the mirror lacks), now
        in the mirror too; accounts the upstream does not have either are left out."""
        if not user_ids:
            return {}
        fetched = {info.userID: info for info in await up.accounts.fetch_profiles(user_ids)}
        for info in fetched.values():
            await self.import_profile(info, now)
        return fetched

    async def delete_account(self, user_id: str) -> bool:
        """Remove the account (its profile, whose existence is the account's existence, and its
        place among the app's accounts); whether it existed. No events: ending the user's sessions
        is the caller's part."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(self._keys.profile(user_id))
        pipe.zrem(self._keys.accounts(), user_id)
        existed, _ = await pipe.execute()
        return bool(existed)

    async def server_fields(self, user_ids: Sequence[str], names: Sequence[str]) -> list[dict[str, str]]:
        """The named server-only fields of each user (absent ones left out)."""
        if not names or not user_ids:
            return [{} for _ in user_ids]
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hmget(self._keys.profile(user_id), [SERVER_FIELD_PREFIX + n for n in names])
        rows = await pipe.execute()
        return [{n: v for n, v in zip(names, row, strict=True) if v is not None} for row in rows]

    async def set_server_fields(self, user_id: str, fields: dict[str, str]) -> bool:
        """Store server-only fields of an existing account; False (nothing written) if it does
        not exist, so a write racing an account_delete cannot bring back half an account."""
        key = self._keys.profile(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if not await pipe.exists(key):
                        return False
                    pipe.multi()
                    pipe.hset(key, mapping={SERVER_FIELD_PREFIX + n: v for n, v in fields.items()})
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    async def exists(self, user_ids: Sequence[str]) -> list[bool]:
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.exists(self._keys.profile(user_id))
        return [bool(n) for n in await pipe.execute()]

    def queue_get(self, pipe: Any, user_id: str) -> Callable[[Any], UserFullInfo | None]:
        """`get` of one user, queued on the caller's pipeline; the returned function reads its
        reply (None for no such user)."""
        pipe.hgetall(self._keys.profile(user_id))
        return lambda row: _from_hash(user_id, row) if row else None

    async def get(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hgetall(self._keys.profile(user_id))
        rows = await pipe.execute()
        return [_from_hash(uid, row) for uid, row in zip(user_ids, rows, strict=True) if row]

    async def update(self, user_id: str, changes: ProfileChanges) -> UserFullInfo:
        validate_changes(changes)
        key = self._keys.profile(user_id)
        fields: dict[str, str | int] = {}
        for name in (*_STRING_FIELDS, *_INT_FIELDS):
            value = getattr(changes, name)
            if value is not None:
                fields[name] = value
        if changes.gender is not None:
            fields["gender"] = int(changes.gender)
        if changes.allowType is not None:
            fields["allowType"] = int(changes.allowType)
        async with self._redis.pipeline(transaction=True) as pipe:
            # customInfo merges key by key, so read-modify-write under WATCH
            while True:
                try:
                    await pipe.watch(key)
                    current = await pipe.hget(key, "customInfo")
                    if changes.customInfo:
                        merged = {**(_custom_decoder.decode(current) if current else {}), **changes.customInfo}
                        if len(merged) > CUSTOM_KEYS_MAX:
                            raise invalid(f"customInfo may hold at most {CUSTOM_KEYS_MAX} keys")
                        fields["customInfo"] = _custom_encoder.encode(merged).decode("utf-8")
                    pipe.multi()
                    if fields:
                        pipe.hset(key, mapping=fields)
                    pipe.hgetall(key)
                    result = await pipe.execute()
                    break
                except WatchError:
                    continue
        info = _from_hash(user_id, result[-1])
        if fields:
            await self._bus.publish([user_id], OnSelfInfoUpdated(info=info))
            await self._callbacks.portrait_set(user_id, changes)
        return info
