"""Message extensions: setMessageExtensions, getMessageExtensions, deleteMessageExtensions.

Each message sent with isSupportMessageExtension keeps a hash of key → {value, version}. A write
changes the keys it names in one Lua script, so concurrent writers never interleave; a writer that
gives the version it last saw gets 23001 (and the key's current value) if the key changed since,
which is the SDK's "only the first of concurrent writers succeeds". Without a version a write
simply applies. Every party of the conversation hears of changes (onRecvMessageExtensionsChanged,
onRecvMessageExtensionsDeleted); conversations themselves do not change.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from gateway.engine.message_core import MessageCore
from gateway.engine.message_ids import parse_msg_id
from gateway.errors import Code, IMError, invalid
from gateway.ids import topic_parent
from gateway.im.events import IMEvent, OnRecvMessageExtensionsChanged, OnRecvMessageExtensionsDeleted
from gateway.im.messages import MessageExtension, MessageExtensionResult, StoredMessage
from gateway.v4.callbacks import EXTENSION_CLEAR, EXTENSION_DELETE, EXTENSION_SET

PER_CALL_MAX = 20
PER_MESSAGE_MAX = 300
KEY_MAX_BYTES = 100
VALUE_MAX_BYTES = 1024
CONFLICT = int(Code.ERR_EXTENSION_CONFLICT)

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


def _items(extensions: Sequence[MessageExtension]) -> list[tuple[str, str, int]]:
    """(Key, Value, Seq) of each, as the extension callbacks list them."""
    return [(e.extensionKey, e.extensionValue, e.extensionVersion) for e in extensions]


class _Stored(msgspec.Struct):
    v: str
    n: int


_stored_ext_dec = msgspec.json.Decoder(_Stored)


class Extensions(MessageCore):
    async def _extensible(self, user_id: str, msg_id: str) -> StoredMessage:
        stored = await self.load_visible(user_id, msg_id)
        if not stored.isSupportMessageExtension:
            raise IMError(
                Code.ERR_EXTENSION_NOT_ENABLED, "msgID: the message was not sent with isSupportMessageExtension"
            )
        return stored

    def _extensions_key(self, stored: StoredMessage) -> str:
        return self._keys.message_extensions(self._timeline_of(parse_msg_id(stored.msgID)), stored.seq)

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
