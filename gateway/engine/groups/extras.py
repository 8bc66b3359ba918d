"""Group attributes, counters and community topics."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import msgspec

from gateway.digits import INT32_MAX, INT32_MIN
from gateway.engine.groups.imports import known
from gateway.engine.groups.permissions import Op, require
from gateway.engine.groups.store import COMMUNITY, GroupStore, bad
from gateway.engine.retention import MessageRetention
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.errors import Code, IMError
from gateway.ids import TOPIC_MARK, check_group_id, topic_parent
from gateway.im.events import (
    OnGroupAttributeChanged,
    OnGroupCounterChanged,
    OnTopicCreated,
    OnTopicDeleted,
    OnTopicInfoChanged,
)
from gateway.im.groups import GroupCounter, TopicInfo, TopicInfoResult, TopicOperationResult
from gateway.upstream import Upstream, active

ATTRIBUTE_KEYS_MAX = 16
ATTRIBUTE_KEY_MAX_BYTES = 32
ATTRIBUTE_VALUE_MAX_BYTES = 4 * 1024
ATTRIBUTES_TOTAL_MAX_BYTES = 16 * 1024
COUNTERS_MAX = 20
# A counter's value is a GraphQL Int (GroupCounter.value, onGroupCounterChanged.newValue): a value
# outside 32 bits could be stored but never read back, so no change may leave one there.
COUNTER_VALUE_MIN, COUNTER_VALUE_MAX = INT32_MIN, INT32_MAX
# Adds each ARGV pair's delta (ARGV[3], ARGV[4], ...: name, delta) to its counter in KEYS[1] and
# answers {1, new values...}; if any result would fall outside ARGV[1]..ARGV[2], changes nothing
# and answers {0, that counter's name}. One script: all of a call's changes, or none.
_CHANGE_COUNTERS = PipelinedScript(
    """
local lo, hi = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, out = {}, {1}
for i = 3, #ARGV, 2 do
  local name = ARGV[i]
  local value = (now[name] or tonumber(redis.call('HGET', KEYS[1], name) or '0')) + tonumber(ARGV[i + 1])
  if value < lo or value > hi then return {0, name} end
  now[name] = value
  out[#out + 1] = value
end
for name, value in pairs(now) do redis.call('HSET', KEYS[1], name, value) end
return out
"""
)
COUNTER_KEY_MAX_BYTES = 128
TOPIC_NAME_MAX_BYTES = 150
TOPICS_MAX = 100

_topic_enc = msgspec.json.Encoder()
_topic_dec = msgspec.json.Decoder(TopicInfo)


def _size(attributes: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())


class GroupExtras:
    def __init__(self, store: GroupStore) -> None:
        self.store = store
        self._timelines = MessageRetention(store.redis, store.keys)  # erases a deleted topic's messages

    # ---- attributes -----------------------------------------------------------------------------
    async def _attributes_for(self, user_id: str, group_id: str, app_admin: bool) -> str:
        await known(self.store, group_id)
        group = await self.store.info(group_id)
        await self.store.authorize(Op.ATTRIBUTES, group, user_id, app_admin)
        return self.store.keys.group_attributes(group_id)

    def _check(self, attributes: dict[str, str]) -> None:
        for key, value in attributes.items():
            if not key or len(key.encode()) > ATTRIBUTE_KEY_MAX_BYTES:
                raise bad(f"attributes: key {key!r} must be 1-{ATTRIBUTE_KEY_MAX_BYTES} bytes")
            if len(value.encode()) > ATTRIBUTE_VALUE_MAX_BYTES:
                raise bad(f"attributes[{key!r}] is over {ATTRIBUTE_VALUE_MAX_BYTES} bytes")

    async def _write(
        self, user_id: str, group_id: str, key: str, merged: dict[str, str], change: tuple[str, dict[str, str]]
    ) -> None:
        """Replace the attributes with `merged`; `change` is what the app's callback is told:
        (OptionType, the attributes it names). With an upstream, the same change is made there
        first (set_group_attr, modify_group_attr, delete_group_attr, clear_group_attr)."""
        if len(merged) > ATTRIBUTE_KEYS_MAX:
            raise bad(f"attributes: at most {ATTRIBUTE_KEYS_MAX} keys per group")
        if _size(merged) > ATTRIBUTES_TOTAL_MAX_BYTES:
            raise bad(f"attributes: at most {ATTRIBUTES_TOTAL_MAX_BYTES} bytes in all")
        up = active(self.store.upstream)
        if up is not None:
            option, named = change
            if option in ("set", "modify"):
                await up.groups.set_attributes(group_id, named, replace=option == "set")
            elif option == "clear":
                await up.groups.delete_attributes(group_id, None)
            elif named:
                await up.groups.delete_attributes(group_id, list(named))
        group = await self.store.info(group_id)
        pipe = self.store.redis.pipeline(transaction=True)
        pipe.delete(key)
        if merged:
            pipe.hset(key, mapping=merged)
        await pipe.execute()
        # after the commit: the callback queue is app-wide, another slot on a Redis Cluster
        after = self.store.redis.pipeline(transaction=False)
        self.store.callbacks.queue_attributes_changed(after, group, user_id, *change)
        if len(after):
            await after.execute()
        await self.store.emit(group, OnGroupAttributeChanged(groupID=group_id, groupAttributeMap=merged))

    async def init_group_attributes(
        self, user_id: str, group_id: str, attributes: dict[str, str], *, app_admin: bool = False
    ) -> None:
        key = await self._attributes_for(user_id, group_id, app_admin)
        self._check(attributes)
        async with self.store.changing(group_id):
            await self._write(user_id, group_id, key, dict(attributes), ("set", dict(attributes)))

    async def set_group_attributes(
        self, user_id: str, group_id: str, attributes: dict[str, str], *, app_admin: bool = False
    ) -> None:
        key = await self._attributes_for(user_id, group_id, app_admin)
        self._check(attributes)
        async with self.store.changing(group_id):
            merged = {**await self.store.redis.hgetall(key), **attributes}
            await self._write(user_id, group_id, key, merged, ("modify", dict(attributes)))

    async def delete_group_attributes(
        self, user_id: str, group_id: str, keys: Sequence[str] | None, *, app_admin: bool = False
    ) -> None:
        key = await self._attributes_for(user_id, group_id, app_admin)
        async with self.store.changing(group_id):
            current = await self.store.redis.hgetall(key)
            if keys is None:
                await self._write(user_id, group_id, key, {}, ("clear", {}))
                return
            remaining = {k: v for k, v in current.items() if k not in set(keys)}
            deleted = {k: "" for k in dict.fromkeys(keys) if k in current}
            await self._write(user_id, group_id, key, remaining, ("delete", deleted))

    async def get_group_attributes(
        self, user_id: str, group_id: str, keys: Sequence[str] | None, *, app_admin: bool = False
    ) -> dict[str, str]:
        key = await self._attributes_for(user_id, group_id, app_admin)
        current: dict[str, str] = await self.store.redis.hgetall(key)
        return current if not keys else {k: current[k] for k in keys if k in current}

    # ---- counters -------------------------------------------------------------------------------
    async def _counters_for(self, user_id: str, group_id: str, app_admin: bool) -> str:
        await known(self.store, group_id)
        group = await self.store.info(group_id)
        if group.groupType == COMMUNITY:
            raise bad("Community groups have no counters")
        await self.store.authorize(Op.COUNTERS, group, user_id, app_admin)
        return self.store.keys.group_counters(group_id)

    async def _announce_counters(self, group_id: str, changed: dict[str, int]) -> None:
        group = await self.store.info(group_id)
        for key, value in changed.items():
            await self.store.emit(group, OnGroupCounterChanged(groupID=group_id, key=key, newValue=value))

    async def _check_counter_keys(self, key: str, names: Sequence[str]) -> None:
        for name in names:
            if not name or len(name.encode()) > COUNTER_KEY_MAX_BYTES:
                raise bad(f"counters: key {name!r} must be 1-{COUNTER_KEY_MAX_BYTES} bytes")
        existing = set(await self.store.redis.hkeys(key))
        if len(existing | set(names)) > COUNTERS_MAX:
            raise bad(f"counters: at most {COUNTERS_MAX} per group")

    async def set_group_counters(
        self, user_id: str, group_id: str, counters: dict[str, int], *, app_admin: bool = False
    ) -> list[GroupCounter]:
        key = await self._counters_for(user_id, group_id, app_admin)
        await self._check_counter_keys(key, list(counters))
        for name, value in counters.items():
            _check_counter_value(name, value)
        up = active(self.store.upstream)
        if counters and up is not None:  # set upstream first (update_group_counter Mode Set)
            counters = {**counters, **await up.groups.update_counters(group_id, counters, mode="Set")}
        if counters:
            await self.store.redis.hset(key, mapping=counters)
            await self._announce_counters(group_id, counters)
        return [GroupCounter(key=k, value=v) for k, v in counters.items()]

    async def get_group_counters(
        self, user_id: str, group_id: str, keys: Sequence[str] | None, *, app_admin: bool = False
    ) -> list[GroupCounter]:
        key = await self._counters_for(user_id, group_id, app_admin)
        current = await self.store.redis.hgetall(key)
        up = active(self.store.upstream)
        if up is not None:  # native changes have no webhook: read upstream, and tell what changed
            current = await self._refresh_counters(up, group_id, key, {k: int(v) for k, v in current.items()})
        names = list(keys) if keys else sorted(current)
        return [GroupCounter(key=k, value=int(current[k])) for k in names if k in current]

    async def _refresh_counters(
        self, up: Upstream, group_id: str, key: str, mirrored: dict[str, int]
    ) -> dict[str, int]:
        """The upstream's counters, now the mirror's too; the members hear of each that differed
        (onGroupCounterChanged; a counter gone upstream is told as 0, as a deleted one is)."""
        fresh = await up.groups.fetch_counters(group_id)
        changed = {k: v for k, v in fresh.items() if mirrored.get(k) != v}
        gone = [k for k in mirrored if k not in fresh]
        if changed or gone:
            pipe = self.store.redis.pipeline(transaction=True)
            if changed:
                pipe.hset(key, mapping=changed)
            if gone:
                pipe.hdel(key, *gone)
            await pipe.execute()
            await self._announce_counters(group_id, {**changed, **dict.fromkeys(gone, 0)})
        return dict(fresh)

    async def change_group_counter(
        self, user_id: str, group_id: str, name: str, delta: int, *, app_admin: bool = False
    ) -> list[GroupCounter]:
        """increaseGroupCounter / decreaseGroupCounter: atomic under concurrent use."""
        return await self.change_group_counters(user_id, group_id, [(name, delta)], app_admin=app_admin)

    async def change_group_counters(
        self, user_id: str, group_id: str, deltas: Sequence[tuple[str, int]], *, app_admin: bool = False
    ) -> list[GroupCounter]:
        """Add each delta to its counter (from 0 if new), in order, atomically: all of them or,
        when any result would leave the 32-bit range, none (10004). Answers the new values."""
        key = await self._counters_for(user_id, group_id, app_admin)
        await self._check_counter_keys(key, [name for name, _ in deltas])
        up = active(self.store.upstream)
        changed: list[GroupCounter] = []
        if up is not None:  # atomic upstream; the mirror keeps the values it answers, in its order
            for name, delta in deltas:
                mode = "Increase" if delta >= 0 else "Decrease"
                async with self.store.turns.turn(f"group:{group_id}"):
                    value = (await up.groups.update_counters(group_id, {name: abs(delta)}, mode=mode)).get(name, 0)
                    await self.store.redis.hset(key, name, value)
                changed.append(GroupCounter(key=name, value=value))
        elif deltas:
            args = [arg for name, delta in deltas for arg in (name, delta)]
            done = await run_script(
                self.store.redis, _CHANGE_COUNTERS, [key], [COUNTER_VALUE_MIN, COUNTER_VALUE_MAX, *args]
            )
            if not int(done[0]):
                raise bad(
                    f"counters: {done[1]!r} would leave {COUNTER_VALUE_MIN}..{COUNTER_VALUE_MAX}; nothing was changed"
                )
            changed = [GroupCounter(key=name, value=int(v)) for (name, _), v in zip(deltas, done[1:], strict=True)]
        if changed:
            await self._announce_counters(group_id, {counter.key: counter.value for counter in changed})
        return changed

    async def delete_group_counters(
        self, user_id: str, group_id: str, keys: Sequence[str], *, app_admin: bool = False
    ) -> list[str]:
        """Server REST API only (the SDK has no delete): answers the keys that existed. Each is told
        as onGroupCounterChanged with 0, the value a missing counter reads as when next changed."""
        key = await self._counters_for(user_id, group_id, app_admin)
        existing = set(await self.store.redis.hkeys(key))
        gone = [k for k in dict.fromkeys(keys) if k in existing]
        if gone:
            await self.store.redis.hdel(key, *gone)
            await self._announce_counters(group_id, dict.fromkeys(gone, 0))
        return gone

    # ---- topics ---------------------------------------------------------------------------------
    async def _community(self, user_id: str, group_id: str, *, manage: bool, app_admin: bool = False) -> str:
        group = await self.store.info(group_id)
        if group.groupType != COMMUNITY or not group.isSupportTopic:
            raise bad(f"group {group_id!r} is not a community with topics")
        if app_admin:
            return self.store.keys.group_topics(group_id)
        role = await self.store.role_of(group, user_id)
        if manage:
            require(Op.TOPICS, role, group.groupType)
        elif role is None:
            raise IMError(Code.ERR_NO_PERMISSION, f"you are not a member of {group_id!r}")
        return self.store.keys.group_topics(group_id)

    async def create_topic_in_community(
        self, user_id: str, group_id: str, info: TopicInfo, *, app_admin: bool = False
    ) -> str:
        key = await self._community(user_id, group_id, manage=True, app_admin=app_admin)
        if len(info.topicName.encode()) > TOPIC_NAME_MAX_BYTES or not info.topicName:
            raise bad(f"topicInfo.topicName must be 1-{TOPIC_NAME_MAX_BYTES} bytes")
        topic_id = info.topicID or f"{group_id}{TOPIC_MARK}{secrets.token_hex(6)}"
        # a topic ID is a group ID to every API that takes one: what they refuse is refused here
        check_group_id(topic_id, "topicInfo.topicID")
        if topic_parent(topic_id) != group_id or topic_id == f"{group_id}{TOPIC_MARK}":
            raise bad(f"topicInfo.topicID must be {group_id}{TOPIC_MARK} and a name of its own")
        if await self.store.redis.hlen(key) >= TOPICS_MAX:
            raise bad(f"a community holds at most {TOPICS_MAX} topics")
        info.topicID = topic_id
        if not await self.store.redis.hsetnx(key, topic_id, _topic_enc.encode(info)):
            raise IMError(Code.ERR_GROUP_ID_TAKEN, f"topicID {topic_id!r} is taken")
        await self.store.emit(await self.store.info(group_id), OnTopicCreated(groupID=group_id, topicID=topic_id))
        return topic_id

    async def delete_topic_from_community(
        self, user_id: str, group_id: str, topic_ids: Sequence[str], *, app_admin: bool = False
    ) -> list[TopicOperationResult]:
        key = await self._community(user_id, group_id, manage=True, app_admin=app_admin)
        results, deleted = [], []
        for tid in topic_ids:
            if await self.store.redis.hexists(key, tid):
                # its messages first, the topic last: a cut leaves the topic there to delete again,
                # and its ID is not free for a new topic while the old one's are being erased
                await self._timelines.erase_timeline(self.store.keys.group_timeline(tid))
            if await self.store.redis.hdel(key, tid):
                deleted.append(tid)
                results.append(TopicOperationResult(topicID=tid))
            else:
                results.append(
                    TopicOperationResult(topicID=tid, errorCode=Code.ERR_GROUP_NOT_FOUND, errorMessage="no such topic")
                )
        if deleted:
            await self.store.emit(
                await self.store.info(group_id), OnTopicDeleted(groupID=group_id, topicIDList=deleted)
            )
        return results

    async def set_topic_info(self, user_id: str, group_id: str, info: TopicInfo, *, app_admin: bool = False) -> None:
        key = await self._community(user_id, group_id, manage=True, app_admin=app_admin)
        if not await self.store.redis.hexists(key, info.topicID):
            raise IMError(Code.ERR_GROUP_NOT_FOUND, f"topicInfo.topicID: no topic {info.topicID!r}")
        if not info.topicName or len(info.topicName.encode()) > TOPIC_NAME_MAX_BYTES:
            raise bad(f"topicInfo.topicName must be 1-{TOPIC_NAME_MAX_BYTES} bytes")
        await self.store.redis.hset(key, info.topicID, _topic_enc.encode(info))
        await self.store.emit(await self.store.info(group_id), OnTopicInfoChanged(groupID=group_id, topicInfo=info))

    async def get_topic_info_list(
        self, user_id: str, group_id: str, topic_ids: Sequence[str] | None, *, app_admin: bool = False
    ) -> list[TopicInfoResult]:
        key = await self._community(user_id, group_id, manage=False, app_admin=app_admin)
        stored = await self.store.redis.hgetall(key)
        wanted = list(topic_ids) if topic_ids else sorted(stored)
        return [
            TopicInfoResult(topicInfo=_topic_dec.decode(stored[t]))
            if t in stored
            else TopicInfoResult(errorCode=Code.ERR_GROUP_NOT_FOUND, errorMessage=f"no topic {t!r}")
            for t in wanted
        ]


def _check_counter_value(name: str, value: int) -> None:
    if not COUNTER_VALUE_MIN <= value <= COUNTER_VALUE_MAX:
        raise bad(f"counters: {name!r}'s value must be {COUNTER_VALUE_MIN}..{COUNTER_VALUE_MAX}")
