"""Message extensions: setMessageExtensions, getMessageExtensions, deleteMessageExtensions.

Each message sent with isSupportMessageExtension keeps a hash of key → {value, version}. A write
changes the keys it names in one Lua script, so concurrent writers never interleave; a writer that
gives the version it last saw gets 23001 (and the key's current value) if the key changed since,
which is the SDK's "only the first of concurrent writers succeeds". Without a version a write
simply applies. Every party of the conversation hears of changes (onRecvMessageExtensionsChanged,
onRecvMessageExtensionsDeleted); conversations themselves do not change.

With an upstream IM server (gateway.upstream) a write is checked against the mirror's versions,
made upstream, and then stored at the versions the upstream answered, all within the message's
turn (gateway.engine.upstream_turns), so the upstream's report of the same write (its webhook)
finds it stored and changes nothing; a report older than the mirror's version of a key is stale.
The upstream decides whether a message takes extensions (native messages' webhooks do not say).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.groups.store import GroupStore
from gateway.engine.message_core import MessageCore
from gateway.engine.message_ids import parse_msg_id
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import EventBus
from gateway.ids import topic_parent
from gateway.im.events import IMEvent, OnRecvMessageExtensionsChanged, OnRecvMessageExtensionsDeleted
from gateway.im.messages import MessageExtension, MessageExtensionResult, StoredMessage
from gateway.keys import Keys
from gateway.upstream import Upstream, UpstreamExtension, active
from gateway.v4.callbacks import EXTENSION_CLEAR, EXTENSION_DELETE, EXTENSION_SET

PER_CALL_MAX = 20
PER_MESSAGE_MAX = 300
KEY_MAX_BYTES = 100
VALUE_MAX_BYTES = 1024
CONFLICT = int(Code.ERR_EXTENSION_CONFLICT)
NO_SESSION = ""  # a write nobody's device made (the upstream's news): no session is left out

# KEYS[1] the message's extension hash. ARGV[1] the most keys a message may have, ARGV[2] "set" or
# "delete", then per key: key, value, expected version ("" = none). Returns, per key, {code, value,
# version} after the write (or as found, on a conflict); {-1} if the write would pass the key limit.
_WRITE = """
local limit, op = tonumber(ARGV[1]), ARGV[2]
local count = redis.call('HLEN', KEYS[1])
if op == 'set' then
  local adding = 0
  for i = 3, #ARGV, 3 do
    if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then adding = adding + 1 end
  end
  if count + adding > limit then return {-1} end
end
local out = {}
for i = 3, #ARGV, 3 do
  local key, value, expected = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local raw = redis.call('HGET', KEYS[1], key)
  local current = raw and cjson.decode(raw) or {v = '', n = 0}
  if expected ~= '' and tonumber(expected) ~= current.n then
    out[#out + 1] = {23001, current.v, current.n}
  elseif op == 'set' then
    local version = current.n + 1
    redis.call('HSET', KEYS[1], key, cjson.encode({v = value, n = version}))
    out[#out + 1] = {0, value, version}
  else
    redis.call('HDEL', KEYS[1], key)
    out[#out + 1] = {0, '', current.n}
  end
end
return out
"""

# The upstream's versions (gateway.upstream). KEYS[1] the message's extension hash. ARGV[1] "set" or
# "delete", then per key: key, value, the upstream's version of the change (0: none given). A key
# changes only for a version newer than the mirror's (or, with none, a value it does not hold); a
# delete only for a version at least the mirror's. Returns per key the version written or deleted
# (0: unchanged).
_UPSTREAM_WRITE = """
local op, out = ARGV[1], {}
for i = 2, #ARGV, 3 do
  local key, value, version = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local raw = redis.call('HGET', KEYS[1], key)
  local current = raw and cjson.decode(raw)
  local changed = 0
  if op == 'set' then
    if version == 0 and (not current or current.v ~= value) then version = (current and current.n or 0) + 1 end
    if version > 0 and (not current or version > current.n) then
      redis.call('HSET', KEYS[1], key, cjson.encode({v = value, n = version}))
      changed = version
    end
  elseif current and (version == 0 or version >= current.n) then
    redis.call('HDEL', KEYS[1], key)
    changed = math.max(current.n, 1)
  end
  out[#out + 1] = changed
end
return out
"""


def _items(extensions: Sequence[MessageExtension]) -> list[tuple[str, str, int]]:
    """(Key, Value, Seq) of each, as the extension callbacks list them."""
    return [(e.extensionKey, e.extensionValue, e.extensionVersion) for e in extensions]


def _result(e: UpstreamExtension) -> MessageExtensionResult:
    return MessageExtensionResult(
        resultCode=e.code,
        resultInfo=""
        if e.code == 0
        else "the key changed since that version: re-read and retry"
        if e.code == CONFLICT
        else "refused upstream",
        extension=MessageExtension(extensionKey=e.key, extensionValue=e.value, extensionVersion=e.version),
    )


class _Stored(msgspec.Struct):
    v: str
    n: int


_stored_ext_dec = msgspec.json.Decoder(_Stored)


class Extensions:
    """The extensions part of the message manager: it finds messages through the MessageCore."""

    def __init__(
        self,
        core: MessageCore,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        groups: GroupStore,
        callbacks: Callbacks,
        upstream: Upstream | None,
    ) -> None:
        self._core = core
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._groups = groups
        self._callbacks = callbacks
        self._upstream = upstream  # the IM server writes go to first (gateway.upstream); None: none

    async def _extensible(self, user_id: str, msg_id: str) -> StoredMessage:
        stored = await self._core.load_visible(user_id, msg_id)
        if not stored.isSupportMessageExtension and self._upstream is None:
            raise IMError(
                Code.ERR_EXTENSION_NOT_ENABLED, "msgID: the message was not sent with isSupportMessageExtension"
            )
        return stored

    def _extensions_key(self, stored: StoredMessage) -> str:
        return self._keys.message_extensions(self._core.timeline_of(parse_msg_id(stored.msgID)), stored.seq)

    async def get_message_extensions(self, user_id: str, msg_id: str) -> list[MessageExtension]:
        stored = await self._extensible(user_id, msg_id)
        raw = await self._redis.hgetall(self._extensions_key(stored))
        found = [(k, _stored_ext_dec.decode(v)) for k, v in raw.items()]
        return [MessageExtension(extensionKey=k, extensionValue=e.v, extensionVersion=e.n) for k, e in sorted(found)]

    async def set_message_extensions(
        self,
        user_id: str,
        session_id: str,
        msg_id: str,
        extensions: Sequence[MessageExtension],
        versioned: Sequence[bool],
    ) -> list[MessageExtensionResult]:
        """`versioned[i]`: whether extensions[i].extensionVersion is the version the caller saw."""
        if not extensions or len(extensions) > PER_CALL_MAX:
            raise invalid(f"extensions: 1 to {PER_CALL_MAX} per call")
        for e in extensions:
            if not e.extensionKey or len(e.extensionKey.encode()) > KEY_MAX_BYTES:
                raise invalid(f"extensionKey must be 1-{KEY_MAX_BYTES} bytes")
            if len(e.extensionValue.encode()) > VALUE_MAX_BYTES:
                raise invalid(f"extensionValue: at most {VALUE_MAX_BYTES} bytes")
        if len({e.extensionKey for e in extensions}) != len(extensions):
            raise invalid("extensions: each key once per call")
        stored = await self._extensible(user_id, msg_id)
        if self._upstream is not None:
            return await self._set_through(user_id, session_id, stored, extensions, versioned)
        args: list[str | int] = [PER_MESSAGE_MAX, "set"]
        for e, has_version in zip(extensions, versioned, strict=True):
            args += [e.extensionKey, e.extensionValue, str(e.extensionVersion) if has_version else ""]
        results = await self._write(stored, args)
        changed = [r.extension for r in results if r.resultCode == 0]
        if changed:
            event = OnRecvMessageExtensionsChanged(msgID=stored.msgID, extensions=changed)
            await self._tell_parties(user_id, session_id, stored, event)
            await self._callbacks.extensions_changed(stored, EXTENSION_SET, _items(changed))
        return results

    async def delete_message_extensions(
        self, user_id: str, session_id: str, msg_id: str, keys: Sequence[str], *, clearing: bool = False
    ) -> list[MessageExtensionResult]:
        """`clearing`: these are all the message's keys (REST OperateType 3): the app's callback
        says "cleared" rather than naming them."""
        if not keys or len(keys) > PER_CALL_MAX:
            raise invalid(f"keys: 1 to {PER_CALL_MAX} per call")
        stored = await self._extensible(user_id, msg_id)
        if self._upstream is not None:
            return await self._delete_through(user_id, session_id, stored, list(dict.fromkeys(keys)), clearing)
        args: list[str | int] = [PER_MESSAGE_MAX, "delete"]
        for key in dict.fromkeys(keys):
            args += [key, "", ""]
        results = await self._write(stored, args)
        event = OnRecvMessageExtensionsDeleted(
            msgID=stored.msgID, extensionKeys=[r.extension.extensionKey for r in results]
        )
        await self._tell_parties(user_id, session_id, stored, event)
        deleted = [r.extension for r in results if r.resultCode == 0]
        if clearing:
            await self._callbacks.extensions_changed(stored, EXTENSION_CLEAR, [])
        else:
            await self._callbacks.extensions_changed(stored, EXTENSION_DELETE, _items(deleted))
        return results

    async def _write(self, stored: StoredMessage, args: list[str | int]) -> list[MessageExtensionResult]:
        script = self.__dict__.get("_extensions_script")
        if script is None:  # registered once per engine (the Script object caches the SHA)
            script = self.__dict__["_extensions_script"] = self._redis.register_script(_WRITE)
        reply = await script(keys=[self._extensions_key(stored)], args=args)
        if reply and reply[0] == -1:
            raise invalid(f"a message has at most {PER_MESSAGE_MAX} extensions")
        keys = [str(k) for k in args[2::3]]
        results = []
        for key, (code, value, version) in zip(keys, reply, strict=True):
            text = value.decode() if isinstance(value, bytes) else str(value)
            results.append(
                MessageExtensionResult(
                    resultCode=int(code),
                    resultInfo="" if int(code) == 0 else "the key changed since that version: re-read and retry",
                    extension=MessageExtension(extensionKey=key, extensionValue=text, extensionVersion=int(version)),
                )
            )
        return results

    # ---- with an upstream IM server (gateway.upstream) ------------------------------------------
    def _extensions_turn(self, stored: StoredMessage) -> str:
        return f"ext:{self._extensions_key(stored)}"

    async def _set_through(
        self,
        user_id: str,
        session_id: str,
        stored: StoredMessage,
        extensions: Sequence[MessageExtension],
        versioned: Sequence[bool],
    ) -> list[MessageExtensionResult]:
        """The versions are checked against the mirror's (the upstream does not check them for the
        app admin), then the rest is written upstream and stored at the upstream's versions."""
        up = active(self._upstream)
        async with self._groups.turns.turn(self._extensions_turn(stored)):
            current = await self._current_extensions(stored, [e.extensionKey for e in extensions])
            results: dict[str, MessageExtensionResult] = {}
            passing = []
            for e, has_version in zip(extensions, versioned, strict=True):
                value, version = current.get(e.extensionKey, ("", 0))
                if has_version and e.extensionVersion != version:
                    results[e.extensionKey] = _result(UpstreamExtension(e.extensionKey, value, version, CONFLICT))
                else:
                    passing.append(e)
            answered = await self._upstream_set(up, user_id, stored, passing)
            written = await self._store_upstream(stored, "set", [a for a in answered if a.code == 0])
        for a in answered:
            results[a.key] = _result(
                a if a.code or a.version else UpstreamExtension(a.key, a.value, written.get(a.key, 0))
            )
        ordered = [results[e.extensionKey] for e in extensions]
        changed = [r.extension for r in ordered if r.resultCode == 0 and r.extension.extensionKey in written]
        if changed:
            event = OnRecvMessageExtensionsChanged(msgID=stored.msgID, extensions=changed)
            await self._tell_parties(user_id, session_id, stored, event)
            await self._callbacks.extensions_changed(stored, EXTENSION_SET, _items(changed))
        return ordered

    @staticmethod
    async def _upstream_set(
        up: Upstream | None, user_id: str, stored: StoredMessage, passing: Sequence[MessageExtension]
    ) -> list[UpstreamExtension]:
        if up is None:  # the upstream's own news, through the mirror's server: its values as they are
            return [UpstreamExtension(e.extensionKey, e.extensionValue, e.extensionVersion) for e in passing]
        if not passing:
            return []
        return await up.extensions.set_extensions(
            stored, user_id, [(e.extensionKey, e.extensionValue) for e in passing]
        )

    async def _delete_through(
        self, user_id: str, session_id: str, stored: StoredMessage, keys: list[str], clearing: bool
    ) -> list[MessageExtensionResult]:
        up = active(self._upstream)
        async with self._groups.turns.turn(self._extensions_turn(stored)):
            if up is None:
                answered = [UpstreamExtension(k) for k in keys]
            else:
                answered = await up.extensions.delete_extensions(stored, user_id, keys)
            await self._store_upstream(stored, "delete", [a for a in answered if a.code == 0])
        results = [_result(UpstreamExtension(a.key, "", a.version, a.code)) for a in answered]
        deleted = [r.extension for r in results if r.resultCode == 0]
        if deleted:
            event = OnRecvMessageExtensionsDeleted(msgID=stored.msgID, extensionKeys=[e.extensionKey for e in deleted])
            await self._tell_parties(user_id, session_id, stored, event)
            operate = EXTENSION_CLEAR if clearing else EXTENSION_DELETE
            await self._callbacks.extensions_changed(stored, operate, [] if clearing else _items(deleted))
        return results

    async def apply_upstream_extensions(
        self, stored: StoredMessage, changes: Sequence[UpstreamExtension] | None, *, delete: bool
    ) -> None:
        """The upstream's report of a write (a native user's, or the echo of the gateway's own):
        each key at the upstream's version, once; everyone who sees the message hears of what
        changed. `changes` None (a delete): all the message's keys (the upstream's clear)."""
        async with self._groups.turns.turn(self._extensions_turn(stored)):
            if changes is None:
                changes = [UpstreamExtension(str(k)) for k in await self._redis.hkeys(self._extensions_key(stored))]
            written = await self._store_upstream(stored, "delete" if delete else "set", changes)
        if not written:
            return
        event: IMEvent
        if delete:
            event = OnRecvMessageExtensionsDeleted(msgID=stored.msgID, extensionKeys=list(written))
            items = [(k, "", n) for k, n in written.items()]
        else:
            changed = [
                MessageExtension(extensionKey=c.key, extensionValue=c.value, extensionVersion=written[c.key])
                for c in changes
                if c.key in written
            ]
            event = OnRecvMessageExtensionsChanged(msgID=stored.msgID, extensions=changed)
            items = _items(changed)
        await self._tell_parties(stored.sender, NO_SESSION, stored, event)
        await self._callbacks.extensions_changed(stored, EXTENSION_DELETE if delete else EXTENSION_SET, items)

    async def _current_extensions(self, stored: StoredMessage, keys: Sequence[str]) -> dict[str, tuple[str, int]]:
        raw = await self._redis.hmget(self._extensions_key(stored), list(keys))
        found = {k: _stored_ext_dec.decode(v) for k, v in zip(keys, raw, strict=True) if v is not None}
        return {k: (e.v, e.n) for k, e in found.items()}

    async def _store_upstream(
        self, stored: StoredMessage, op: str, changes: Sequence[UpstreamExtension]
    ) -> dict[str, int]:
        """The changes into the mirror at the upstream's versions; the keys changed, with their version."""
        if not changes:
            return {}
        script = self.__dict__.get("_upstream_extensions_script")
        if script is None:
            script = self.__dict__["_upstream_extensions_script"] = self._redis.register_script(_UPSTREAM_WRITE)
        args: list[str | int] = [op]
        for c in changes:
            args += [c.key, c.value, c.version]
        reply = await script(keys=[self._extensions_key(stored)], args=args)
        return {c.key: int(n) for c, n in zip(changes, reply, strict=True) if int(n)}

    async def _tell_parties(self, user_id: str, session_id: str, stored: StoredMessage, event: IMEvent) -> None:
        """To the user's other devices and everyone else who sees the message."""
        await self._bus.publish([user_id], event, except_session=session_id)
        if not stored.groupID:
            other = stored.receiver if stored.sender == user_id else stored.sender
            if other != user_id:
                await self._bus.publish([other], event)
            return
        if stored.targets:
            await self._bus.publish([t for t in {*stored.targets, stored.sender} if t != user_id], event)
            return
        group = await self._groups.info(topic_parent(stored.groupID) or stored.groupID)
        await self._bus.publish_to_group(group.groupID, event, except_user=user_id)
