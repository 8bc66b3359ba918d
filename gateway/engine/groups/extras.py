"""Group attributes, counters and community topics.

With an upstream IM server (gateway.upstream), topic writes go there first (`TopicsUpstream`) inside
the community's turn, and the mirror keeps each topic under the ID the upstream gave; the topics the
mirror lacks (made natively, or before the upstream's topics were served) are imported when first
needed, telling nobody, as groups are (gateway.engine.groups.imports)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

import msgspec

from gateway.digits import INT32_MAX, INT32_MIN
from gateway.engine.groups.eraser import GroupEraser
from gateway.engine.groups.imports import known
from gateway.engine.groups.permissions import Op, require
from gateway.engine.groups.store import CLOSED_FIELD, COMMUNITY, GroupStore, bad
from gateway.engine.groups.topic_erasure import (
    ERASED_TOPIC_FIELD,
    ERASING_TOPIC_FIELD,
    TOPIC_ENTRY,
    commit_topic_deletion,
    finish_topic_deletion,
)
from gateway.engine.retention import MessageRetention
from gateway.engine.scripts import RAISE_SEQ, PipelinedScript, run_script
from gateway.errors import Code, IMError
from gateway.ids import TOPIC_MARK, check_group_id, topic_parent
from gateway.im.events import (
    OnGroupAttributeChanged,
    OnGroupCounterChanged,
    OnTopicCreated,
    OnTopicDeleted,
    OnTopicInfoChanged,
)
from gateway.im.groups import GroupCounter, GroupInfo, TopicInfo, TopicInfoResult, TopicOperationResult
from gateway.keys import Keys
from gateway.upstream import Upstream, UpstreamTopic, active

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
# info-hash field: the community's topics were read from the upstream once (gateway.upstream)
TOPICS_SYNCED_FIELD = "topicsSynced"
# HSET of a group's info hash only while it exists (its existence is the group's): a dismissal
# between a check and the write must not leave a one-field group behind
_MARK_LIVE_GROUP = PipelinedScript(
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return -1"
)
# A topic written into the community's topics hash (KEYS[2]) only while the community is open: its
# info hash (KEYS[1], same slot) exists and is not closed for a dismissal, which would otherwise leave
# the hash behind for a new group under the same ID; and only under an ID no deleted topic's erasure
# holds (its mark in the community's deleted topics, KEYS[3], gateway.engine.groups.topic_erasure):
# that erasure's forgetting and bound are the old topic's, and would take a new one's users' state
# and messages with them. ARGV: the topic's ID, its TopicInfo, 1 to write only a topic the hash
# lacks (HSETNX), the erasure's mark field. Answers 1 written, 0 there already, -1 the community is
# gone, -2 the ID is still being erased.
_WRITE_TOPIC_IF_OPEN = PipelinedScript(
    f"""
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 1 then return -1 end
if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 1 then return -2 end
if ARGV[3] == '1' then return redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""
)
_TOPIC_COMMUNITY_GONE = -1
_TOPIC_BEING_ERASED = -2
# info-hash field: until when (unix s) the upstream's "no topics" for a community the mirror holds as
# one without them stands before it is asked again (`has_topics`)
NO_TOPICS_UNTIL_FIELD = "noTopicsUntil"
NO_TOPICS_RECHECK_SECONDS = 60

_topic_enc = msgspec.json.Encoder()
_topic_dec = msgspec.json.Decoder(TopicInfo)


def _echoes_after(up: Upstream | None) -> AbstractAsyncContextManager[None]:
    """Held in the community's turn around an upstream topic write and the mirror's
    (`TopicsUpstream.echoes_after`); nothing to hold without an upstream."""
    return up.topics.echoes_after() if up is not None else contextlib.nullcontext()


async def has_topics(store: GroupStore, group: GroupInfo) -> bool:
    """Whether the community has topics. The mirror's isSupportTopic=0 is not taken as final with
    an upstream that can be asked: communities imported before the upstream's answer was read (or
    while it could not be) hold 0 whatever they are. So the upstream is asked (as the owner, a
    member) at the point of need, even for a write the upstream reported (a read changes nothing
    there); a "yes" is stored (isSupportTopic=1, for good), a "no" stands NO_TOPICS_RECHECK_SECONDS
    (an info-hash field, going with the group) so that calls naming topics of a community that has
    none do not each cost a call; an outage raises (unknown, not "no")."""
    if group.groupType != COMMUNITY:
        return False
    if group.isSupportTopic:
        return True
    up = store.upstream  # not `active`: a read, asked even while applying the upstream's own write
    if up is None:
        return False
    info_key = store.keys.group_info(group.groupID)
    until = await store.redis.hget(info_key, NO_TOPICS_UNTIL_FIELD)
    now = store.now()
    if until is not None and now < int(until):
        return False
    if await up.topics.supports_topics(group.groupID, group.owner):
        await run_script(store.redis, _MARK_LIVE_GROUP, [info_key], ["isSupportTopic", "1"])
        group.isSupportTopic = True
        return True
    await run_script(
        store.redis, _MARK_LIVE_GROUP, [info_key], [NO_TOPICS_UNTIL_FIELD, now + NO_TOPICS_RECHECK_SECONDS]
    )
    return False


async def _write_topic(store: GroupStore, group_id: str, info: TopicInfo, *, only_new: bool) -> bool:
    """The topic written into the community's topics hash (`only_new`: unless it has one under that
    ID: whether it was written), or 10010 when the community is gone or closed for its dismissal,
    or 10021 while a deleted topic of that ID is still being erased."""
    keys = [
        store.keys.group_info(group_id),
        store.keys.group_topics(group_id),
        store.keys.group_deleted_topics(group_id),
    ]
    args = [info.topicID, _topic_enc.encode(info), "1" if only_new else "0", ERASING_TOPIC_FIELD + info.topicID]
    done = int(await run_script(store.redis, _WRITE_TOPIC_IF_OPEN, keys, args))
    if done == _TOPIC_COMMUNITY_GONE:
        raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {group_id!r}")
    if done == _TOPIC_BEING_ERASED:
        raise IMError(
            Code.ERR_GROUP_ID_TAKEN,
            f"topicID {info.topicID!r} is a deleted topic's whose history is still being erased; retry shortly",
        )
    return bool(int(done))


def _size(attributes: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())


class GroupExtras:
    def __init__(self, store: GroupStore, eraser: GroupEraser) -> None:
        self.store = store
        # a deleted topic's history: a mirror's erased here, the engine's by the shared group eraser
        # (this replica's loop woken, the deletion's own part counted with the loop's)
        self._timelines = MessageRetention(store.redis, store.keys)
        self._eraser = eraser

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
        """The community's topics hash, once the caller may act on it (`manage`: create, delete,
        change topics; else read them). With an upstream, a community the mirror lacks is imported
        first (as for any group an SDK call names)."""
        await known(self.store, group_id)
        group = await self.store.info(group_id)
        if not await has_topics(self.store, group):
            raise bad(f"group {group_id!r} is not a community with topics")
        if not app_admin:
            role = await self.store.role_of(group, user_id)
            if manage:
                require(Op.TOPICS, role, group.groupType)
            elif role is None:
                raise IMError(Code.ERR_NO_PERMISSION, f"you are not a member of {group_id!r}")
        return self.store.keys.group_topics(group_id)

    async def _topics_known(self, user_id: str, group_id: str, app_admin: bool) -> Upstream | None:
        """With an upstream (its answer), the first time the community's topics are needed those it
        has are imported. Called once the request was checked: a refused one costs it nothing."""
        up = active(self.store.upstream)
        if up is not None:
            await _sync_topics(self.store, up, group_id, "" if app_admin else user_id)
        return up

    def _news(self) -> bool:
        """Whether this write applies the upstream's own report (a webhook) to the mirror."""
        return self.store.upstream is not None and active(self.store.upstream) is None

    async def create_topic_in_community(
        self, user_id: str, group_id: str, info: TopicInfo, *, app_admin: bool = False
    ) -> str:
        """With an upstream the topic is created there first, under the ID it answers (assigned
        when none was given), and the mirror keeps it under that ID; a refusal there changes
        nothing. The community's turn holds both, so the upstream's echo of the creation waits for
        the mirror's write and then finds the topic there (and tells nobody again)."""
        key = await self._community(user_id, group_id, manage=True, app_admin=app_admin)
        if len(info.topicName.encode()) > TOPIC_NAME_MAX_BYTES or not info.topicName:
            raise bad(f"topicInfo.topicName must be 1-{TOPIC_NAME_MAX_BYTES} bytes")
        up = active(self.store.upstream)
        if info.topicID or up is None:  # the upstream names a topic when none is given
            info.topicID = info.topicID or f"{group_id}{TOPIC_MARK}{secrets.token_hex(6)}"
            _check_topic_id(group_id, info.topicID)
        await self._topics_known(user_id, group_id, app_admin)  # the cap and a taken ID count them
        async with self.store.changing(group_id):
            # taken before full: the upstream's report of a topic made meanwhile is one it has
            if info.topicID and await self.store.redis.hexists(key, info.topicID):
                raise IMError(Code.ERR_GROUP_ID_TAKEN, f"topicID {info.topicID!r} is taken")
            if await self.store.redis.hlen(key) >= TOPICS_MAX:
                raise bad(f"a community holds at most {TOPICS_MAX} topics")
            # checked again in the turn: a dismissal (holding the same turn) may have closed the
            # community since `_community` read it; the write checks once more, in one step
            await self.store.info(group_id)
            if up is None:
                record = await self._raise_to_deleted(group_id, info.topicID)
                try:
                    written = await _write_topic(self.store, group_id, info, only_new=True)
                except IMError as refused:
                    if refused.code == Code.ERR_GROUP_ID_TAKEN:
                        # a deleted topic's erasure holds the ID: due now should its entry have been
                        # lost (a deletion stalled past its hold, then cut), as for a closed group's
                        await self._eraser.queue_if_missing(TOPIC_ENTRY + info.topicID)
                    raise
                if not written:
                    raise IMError(Code.ERR_GROUP_ID_TAKEN, f"topicID {info.topicID!r} is taken")
                if record is not None:
                    # the counter raised, the record has served: an ID made again keeps no field
                    await self.store.redis.hdel(self.store.keys.group_deleted_topics(group_id), record)
            else:
                async with _echoes_after(up):
                    info.topicID = await up.topics.create_topic(group_id, user_id, info)
                    # the upstream has it now: anything the mirror kept under that ID was stale
                    await _write_topic(self.store, group_id, info, only_new=False)
        await self.store.emit(await self.store.info(group_id), OnTopicCreated(groupID=group_id, topicID=info.topicID))
        return info.topicID

    async def _raise_to_deleted(self, group_id: str, topic_id: str) -> str | None:
        """A topic about to be made under the ID of a deleted one whose erasure is done: the new
        timeline's seq counter raised to the deleted one's last (its record's value; the erasure
        deleted the counter), before the topic exists for anything to take a seq from it. Members'
        read marks and the like may still name the old seqs, and the new messages must not be
        hidden under them. Answers the record's field, for the caller to remove once the topic is
        written (a cut before leaves it, and the next creation raises again, harmlessly), or None."""
        field = ERASED_TOPIC_FIELD + topic_id
        last = await self.store.redis.hget(self.store.keys.group_deleted_topics(group_id), field)
        if last is None:
            return None
        seq_key = Keys.timeline_seq(self.store.keys.group_timeline(topic_id))
        # a record of an earlier build is valued as the mark was ("<seq>/forgotten"), its counter kept
        await run_script(self.store.redis, RAISE_SEQ, [seq_key], [int(last.split("/", 1)[0])])
        return field

    async def delete_topic_from_community(
        self, user_id: str, group_id: str, topic_ids: Sequence[str], *, app_admin: bool = False
    ) -> list[TopicOperationResult]:
        """With an upstream each topic is destroyed there first, and its result is the upstream's.
        The mirror drops the topics the upstream no longer has: those destroyed now, and those it
        refused because it had not got them (asked again with `fetch_topics`); the others stay."""
        key = await self._community(user_id, group_id, manage=True, app_admin=app_admin)
        up = await self._topics_known(user_id, group_id, app_admin)
        results: list[TopicOperationResult] = []
        deleted: list[str] = []
        try:
            async with self.store.changing(group_id), _echoes_after(up):
                upstream_results: dict[str, TopicOperationResult] = {}
                gone: set[str] | None = None  # None: no upstream, the mirror's own topics decide
                if up is not None and topic_ids:
                    upstream_results = {r.topicID: r for r in await up.topics.destroy_topics(group_id, topic_ids)}
                    refused = [t for t, r in upstream_results.items() if r.errorCode]
                    viewer = "" if app_admin else user_id
                    kept = (
                        {t.info.topicID for t in await up.topics.fetch_topics(group_id, viewer, refused)}
                        if refused
                        else set()
                    )
                    gone = {t for t in upstream_results if t not in kept}
                for tid in topic_ids:
                    erased = (gone is None or tid in gone) and await self._erase_topic(group_id, key, tid, deleted)
                    if tid in upstream_results:
                        results.append(upstream_results[tid])
                    elif erased:
                        results.append(TopicOperationResult(topicID=tid))
                    else:
                        results.append(
                            TopicOperationResult(
                                topicID=tid, errorCode=Code.ERR_GROUP_NOT_FOUND, errorMessage="no such topic"
                            )
                        )
        finally:
            # told of those deleted even when a later one failed (or the request's deadline cut it):
            # their deletions are committed, and the members must not keep them
            if deleted:
                await self.store.emit(
                    await self.store.info(group_id), OnTopicDeleted(groupID=group_id, topicIDList=deleted)
                )
        return results

    async def _erase_topic(self, group_id: str, key: str, topic_id: str, deleted: list[str]) -> bool:
        """Whether the topic was in the mirror (and is gone now: added to `deleted` as soon as its
        deletion commits, so that it is told even if what follows fails or is cut). Without an
        upstream, its history is erased up to a budget here and the rest by the group erasers, the
        topic gone at once (gateway.engine.groups.topic_erasure): a long one no longer holds the
        request and the community's turn. On a mirror, whose messages keep the upstream's seqs (a
        topic made again there starts them over, into the same timeline), all of it here, before the
        topic goes."""
        if self.store.upstream is None:
            held = await commit_topic_deletion(self._eraser, group_id, topic_id)
            if held is None:
                return False
            deleted.append(topic_id)
            # raises no error (a cancellation aside): what fails is the erasers' to finish
            await finish_topic_deletion(self._eraser, group_id, topic_id, held)
            return True
        if await self.store.redis.hexists(key, topic_id):
            # its messages first, the topic last: a cut leaves the topic there to delete again,
            # and its ID is not free for a new topic while the old one's are being erased
            await self._timelines.erase_timeline(self.store.keys.group_timeline(topic_id))
        # its members' mutes (gateway.engine.groups.topic_mutes) go with it, in one step: a topic
        # made again under the ID starts with none
        pipe = self.store.redis.pipeline(transaction=True)
        pipe.hdel(key, topic_id)
        pipe.delete(self.store.keys.group_topic_mutes(group_id, topic_id))
        if not (await pipe.execute())[0]:
            return False
        deleted.append(topic_id)
        return True

    async def set_topic_info(self, user_id: str, group_id: str, info: TopicInfo, *, app_admin: bool = False) -> None:
        """With an upstream the fields it keeps are changed there first (draftText stays the
        mirror's). The upstream's own report of a change (a webhook, an echo of the gateway's)
        changes nothing and tells nobody when the mirror has the topic so already."""
        key = await self._community(user_id, group_id, manage=True, app_admin=app_admin)
        if not info.topicName or len(info.topicName.encode()) > TOPIC_NAME_MAX_BYTES:
            raise bad(f"topicInfo.topicName must be 1-{TOPIC_NAME_MAX_BYTES} bytes")
        up = await self._topics_known(user_id, group_id, app_admin)
        if up is not None:  # a topic the upstream has and the mirror has never seen: imported first
            await know_topics(self.store, group_id, [info.topicID], "" if app_admin else user_id)
        async with self.store.changing(group_id):
            raw = await self.store.redis.hget(key, info.topicID)
            if raw is None:
                raise IMError(Code.ERR_GROUP_NOT_FOUND, f"topicInfo.topicID: no topic {info.topicID!r}")
            current = _topic_dec.decode(raw)
            if self._news():
                info.draftText = current.draftText  # the upstream keeps no draft
                if info == current:
                    return
            async with _echoes_after(up):
                if up is not None:
                    await up.topics.modify_topic(group_id, user_id, current, info)
                await self.store.redis.hset(key, info.topicID, _topic_enc.encode(info))
        await self.store.emit(await self.store.info(group_id), OnTopicInfoChanged(groupID=group_id, topicInfo=info))

    async def get_topic_info_list(
        self, user_id: str, group_id: str, topic_ids: Sequence[str] | None, *, app_admin: bool = False
    ) -> list[TopicInfoResult]:
        """Read from the mirror; with an upstream, topics named here that the mirror lacks are
        imported from it first (e.g. created natively while their webhook was lost)."""
        key = await self._community(user_id, group_id, manage=False, app_admin=app_admin)
        if await self._topics_known(user_id, group_id, app_admin) is not None and topic_ids:
            await know_topics(self.store, group_id, topic_ids, "" if app_admin else user_id)
        stored = await self.store.redis.hgetall(key)
        wanted = list(topic_ids) if topic_ids else sorted(stored)
        return [
            TopicInfoResult(topicInfo=_topic_dec.decode(stored[t]))
            if t in stored
            else TopicInfoResult(errorCode=Code.ERR_GROUP_NOT_FOUND, errorMessage=f"no topic {t!r}")
            for t in wanted
        ]

    async def know_topics(self, group_id: str, topic_ids: Sequence[str], viewer: str = "") -> list[str]:
        """`GroupManager.know_topics`: see the module function."""
        return await know_topics(self.store, group_id, topic_ids, viewer)


def _check_topic_id(group_id: str, topic_id: str) -> None:
    # a topic ID is a group ID to every API that takes one: what they refuse is refused here
    check_group_id(topic_id, "topicInfo.topicID")
    if topic_parent(topic_id) != group_id or topic_id == f"{group_id}{TOPIC_MARK}":
        raise bad(f"topicInfo.topicID must be {group_id}{TOPIC_MARK} and a name of its own")


# ---- topics the mirror has never seen, imported from the upstream (gateway.upstream) -------------
async def _sync_topics(store: GroupStore, up: Upstream, group_id: str, viewer: str) -> None:
    """The first time the mirror needs a community's topics, those the upstream has and the mirror
    lacks are imported (made natively, or before this build served topics), once: the community's
    info hash keeps the mark, and goes (mark included) when the community does."""
    info_key = store.keys.group_info(group_id)
    if await store.redis.hexists(info_key, TOPICS_SYNCED_FIELD):
        return
    await _import_topics(store, group_id, await up.topics.fetch_topics(group_id, viewer, None))
    await run_script(store.redis, _MARK_LIVE_GROUP, [info_key], [TOPICS_SYNCED_FIELD, "1"])


async def know_topics(store: GroupStore, group_id: str, topic_ids: Sequence[str], viewer: str = "") -> list[str]:
    """With an upstream: those of `topic_ids` (of a topic-enabled community the mirror has) that the
    mirror lacks are imported from it, telling nobody. Answers those the mirror has now (without an
    upstream, those it had). `viewer`: a member the upstream reads them as ("": the app admin).
    What an SDK call naming a topic, and a webhook about one, do first."""
    key = store.keys.group_topics(group_id)
    wanted = list(dict.fromkeys(topic_ids))
    there = dict(zip(wanted, await store.redis.hmget(key, wanted), strict=True)) if wanted else {}
    missing = [t for t in wanted if there[t] is None and topic_parent(t) == group_id]
    up = active(store.upstream)
    if missing and up is not None:
        (group,) = await store.infos([group_id])
        if group is not None and await has_topics(store, group):
            await _import_topics(store, group_id, await up.topics.fetch_topics(group_id, viewer, missing))
            found = await store.redis.hmget(key, missing)
            there.update(zip(missing, found, strict=True))
    return [t for t in wanted if there[t] is not None]


async def known_topic(store: GroupStore, group_id: str, viewer: str) -> None:
    """With an upstream: the group named by an SDK call is in the mirror (a topic: its community,
    and the topic), imported if new; what a send to a group or topic does first. Nothing without
    an upstream or for the upstream's own writes. A topic is imported only for a member of its
    community (`viewer` "": the app admin): a stranger's call is refused (10007), here or by the
    caller's own membership check next, and must not make the upstream be asked as that stranger."""
    await known(store, group_id)
    parent = topic_parent(group_id)
    if parent is None or active(store.upstream) is None:
        return
    if viewer and await store.member(parent, viewer) is None:
        # Not imported for a stranger, so the caller, which looks the topic up before it checks
        # membership, would answer 10010 for a topic only the upstream has: refused here instead, as
        # the caller refuses a non-member (10007), asking nobody and writing nothing. A community
        # that does not exist stays 10010. A topic the mirror has is left to the caller, whose own
        # check answers the stranger the same (and lets an app admin's REST send through).
        await store.info(parent)
        if not await store.redis.hexists(store.keys.group_topics(parent), group_id):
            raise IMError(Code.ERR_NO_PERMISSION, f"you are not a member of {parent!r}")
        return
    await know_topics(store, parent, [group_id], viewer)


async def _import_topics(store: GroupStore, group_id: str, topics: Sequence[UpstreamTopic]) -> list[str]:
    """Write into the mirror the topics it lacks, telling nobody: nothing changed for anyone, the
    mirror only learnt of them. Each new topic's seq continues from the upstream's, so its later
    messages keep the upstream's seqs (its earlier history is not copied)."""
    written = []
    for topic in topics:
        topic_id = topic.info.topicID
        if topic_parent(topic_id) != group_id:
            continue  # not a topic of this community: no timeline of the mirror could hold it
        # only into an open community: one being dismissed must not keep a topics hash behind
        try:
            new = await _write_topic(store, group_id, topic.info, only_new=True)
        except IMError as gone:
            if gone.code != Code.ERR_GROUP_NOT_FOUND:
                raise
            break  # dismissed meanwhile: nothing of it is to be kept
        if new:
            seq_key = store.keys.timeline_seq(store.keys.group_timeline(topic_id))
            await run_script(store.redis, RAISE_SEQ, [seq_key], [topic.next_seq - 1])
            written.append(topic_id)
    return written


def _check_counter_value(name: str, value: int) -> None:
    if not COUNTER_VALUE_MIN <= value <= COUNTER_VALUE_MAX:
        raise bad(f"counters: {name!r}'s value must be {COUNTER_VALUE_MIN}..{COUNTER_VALUE_MAX}")
