"""Friendship (V2TIMFriendshipManager) on Redis: friends, requests, the blacklist, friend groups.

Each user owns their side of every relation (their friend list, their requests, their blacklist,
their friend groups) under their own hash tag; an operation between two users writes each side in
its own step, in an order that a retry completes if the gateway dies between them (docs/scaling.md).
Friend-group membership lives in the friend records, so a group can never list someone who is not
a friend.

Who gets which event (every device of each):
- a request: onFriendApplicationListAdded to the sender and the receiver;
- a friendship made: onFriendListAdded to whoever's list gained someone;
- a request handled or withdrawn: onFriendApplicationListDeleted to each side that lost it;
- a friendship ended: onFriendListDeleted to whoever's list lost someone;
- remark, custom fields, friend groups, or the friend's own profile changed: onFriendInfoChanged.

With an upstream IM server (gateway.upstream: the Tencent backend, whose mirror this is), every
write of a user is checked here first, then made upstream, and written here only as the upstream
answered (a refusal there changes nothing here). The upstream decides what the target's AllowType
makes of a request (0: friends now, 30539: a request waits); requests themselves are the mirror's
own state, since no REST lists or answers them. A user's relation chain (friends, blacklist, friend
groups) is imported from the upstream the first time the mirror needs it (`ensure_relations`: their
login, a read or write of theirs, a message sent to them) and kept current by webhooks from then
on. Relations with others (checkFriend, getFriendsInfo) are asked upstream, which holds every list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec
from redis.exceptions import WatchError

from gateway.clock import Clock
from gateway.engine.callbacks.bodies import friend_item, friend_pairs
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.errors import maps_store_errors
from gateway.engine.profiles import Profiles, validate_custom_info
from gateway.errors import Code, IMError
from gateway.events.bus import EventBus
from gateway.im.enums import AllowType, FriendAccept, FriendAddType, FriendApplicationType, FriendRelationType
from gateway.im.events import (
    OnBlackListAdd,
    OnBlackListDeleted,
    OnFriendApplicationListAdded,
    OnFriendApplicationListDeleted,
    OnFriendApplicationListRead,
    OnFriendInfoChanged,
    OnFriendListAdded,
    OnFriendListDeleted,
)
from gateway.im.model import (
    FriendApplication,
    FriendApplicationResult,
    FriendChanges,
    FriendCheckResult,
    FriendGroup,
    FriendInfo,
    FriendInfoResult,
    FriendOperationResult,
    FriendSearchParam,
    UserFullInfo,
)
from gateway.keys import Keys
from gateway.upstream import FriendAddition, RelationChain, Upstream, active
from gateway.v4.callbacks import BLACKLIST_ADD, BLACKLIST_DELETE, FRIEND_DELETE
from gateway.v4.sns import PENDING

# Tencent's limits for the relation chain.
FRIENDS_MAX = 3_000  # friends per user (30010 beyond)
BLACKLIST_MAX = 1_000  # blocked users per user
FRIEND_GROUPS_MAX = 30  # friend groups per user
FRIEND_GROUP_NAME_MAX_BYTES = 30
REMARK_MAX_BYTES = 96
ADD_WORDING_MAX_BYTES = 256
ADD_SOURCE_MAX_BYTES = 32
APPLICATIONS_SHOWN = 100  # getFriendApplicationList returns at most this many, newest first
SEARCH_KEYWORDS_MAX = 5


class FriendRecord(msgspec.Struct, kw_only=True):
    """One entry of a user's friend list (stored JSON in the friends hash)."""

    remark: str = ""
    groups: list[str] = []
    custom: dict[str, str] = {}
    addTime: int = 0
    addSource: str = ""
    addWording: str = ""


class ApplicationRecord(msgspec.Struct, kw_only=True):
    """One friend request as one side keeps it."""

    type: int  # FriendApplicationType: COME_IN on the receiver's side, SEND_OUT on the sender's
    addTime: int
    addSource: str = ""
    addWording: str = ""
    # what the sender asked for, applied when the request is accepted
    remark: str = ""
    group: str = ""


_enc = msgspec.json.Encoder()
_friend_dec = msgspec.json.Decoder(FriendRecord)
_app_dec = msgspec.json.Decoder(ApplicationRecord)


def decode_friend_record(raw: bytes | str) -> FriendRecord:
    return _friend_dec.decode(raw)


def _bad(desc: str) -> IMError:
    return IMError(Code.ERR_FRIENDSHIP_INVALID_PARAMETERS, desc)


def _check_len(value: str, limit: int, arg: str) -> None:
    if len(value.encode("utf-8")) > limit:
        raise _bad(f"{arg} is over {limit} bytes")


def _check_group_name(name: str, arg: str = "groupName") -> str:
    if not name:
        raise _bad(f"{arg} is empty")
    _check_len(name, FRIEND_GROUP_NAME_MAX_BYTES, arg)
    return name


def _ok(user_id: str) -> FriendOperationResult:
    return FriendOperationResult(userID=user_id)


def _failed(user_id: str, code: int, info: str) -> FriendOperationResult:
    return FriendOperationResult(userID=user_id, resultCode=int(code), resultInfo=info)


@maps_store_errors
class Friendship:
    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        profiles: Profiles,
        clock: Clock,
        callbacks: Callbacks | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        self._callbacks = callbacks or Callbacks()
        self._upstream = upstream
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._profiles = profiles
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock.now())

    # ---- the upstream's relation chains ----------------------------------------------------------
    async def ensure_relations(self, user_ids: Iterable[str]) -> None:
        """With an upstream: each user's relation chain in the mirror, imported once, the first time it
        is needed; webhooks keep it current afterwards. An account the upstream does not know is
        looked for again next time. Without an upstream (or applying the upstream's own news): nothing."""
        up = active(self._upstream)
        if up is None:
            return
        wanted = list(dict.fromkeys(u for u in user_ids if u))
        pipe = self._redis.pipeline(transaction=False)
        for user_id in wanted:
            pipe.exists(self._keys.relations_imported(user_id))
        imported = await pipe.execute()
        for user_id, done in zip(wanted, imported, strict=True):
            if not done:
                chain = await up.friendship.fetch_relations(user_id)
                if chain is not None:
                    await self._import_relations(up, user_id, chain)

    async def _import_relations(self, up: Upstream, user_id: str, chain: RelationChain) -> None:
        """Write the chain as the upstream has it, except entries the mirror already holds (a webhook
        applied since the read is newer). No events: nothing changed for the user; the mirror caught
        up. The friends' and blocked users' accounts come along (their profiles are shown with them)."""
        now = self._now()
        others = list(dict.fromkeys([f.user_id for f in chain.friends] + [u for u, _ in chain.blacklist]))
        present = set(await self._known_accounts(up, others))
        friends = {f.user_id: f for f in chain.friends if f.user_id in present and f.user_id != user_id}
        pipe = self._redis.pipeline(transaction=False)
        for friend in friends.values():
            record = FriendRecord(
                remark=friend.remark,
                groups=list(dict.fromkeys(friend.groups)),
                custom=dict(friend.custom),
                addTime=friend.add_time or now,
                addSource=friend.add_source,
                addWording=friend.add_wording,
            )
            pipe.hsetnx(self._keys.friends(user_id), friend.user_id, _enc.encode(record))
            pipe.sadd(self._keys.friended_by(friend.user_id), user_id)
        for blocked, at in chain.blacklist:
            if blocked in present and blocked != user_id:
                pipe.hsetnx(self._keys.blacklist(user_id), blocked, at or now)
        for name in dict.fromkeys([*chain.groups, *(g for f in friends.values() for g in f.groups)]):
            pipe.hsetnx(self._keys.friend_groups(user_id), name, now)
        pipe.set(self._keys.relations_imported(user_id), now)
        await pipe.execute()

    async def _known_accounts(self, up: Upstream, user_ids: Sequence[str]) -> list[str]:
        """Those of `user_ids` the mirror holds, after importing from the upstream those it lacks."""
        if not user_ids:
            return []
        known = await self._profiles.exists(user_ids)
        missing = [u for u, there in zip(user_ids, known, strict=True) if not there]
        fetched = await self._profiles.import_from(up, missing, self._now()) if missing else {}
        return [u for u, there in zip(user_ids, known, strict=True) if there or u in fetched]

    async def _upstream_for(self, user_id: str, others: Sequence[str] = ()) -> Upstream | None:
        """The upstream a write of `user_id` goes through (None: the engine is the IM server), once
        the mirror holds the user's relation chain and the accounts of `others`."""
        up = active(self._upstream)
        if up is not None:
            await self.ensure_relations([user_id])
            await self._known_accounts(up, [o for o in dict.fromkeys(others) if o != user_id])
        return up

    # ---- reading helpers -----------------------------------------------------------------------
    async def _records(self, user_id: str) -> dict[str, FriendRecord]:
        raw = await self._redis.hgetall(self._keys.friends(user_id))
        return {uid: _friend_dec.decode(value) for uid, value in raw.items()}

    async def _profiles_of(self, user_ids: Iterable[str]) -> dict[str, UserFullInfo]:
        wanted = list(dict.fromkeys(user_ids))
        return {p.userID: p for p in await self._profiles.get(wanted)} if wanted else {}

    async def _infos(self, owner_records: dict[str, FriendRecord], user_ids: Sequence[str]) -> list[FriendInfo]:
        """FriendInfo of `user_ids` as seen by the owner of `owner_records`."""
        profiles = await self._profiles_of(user_ids)
        infos = []
        for uid in user_ids:
            record = owner_records.get(uid) or FriendRecord()
            infos.append(
                FriendInfo(
                    userID=uid,
                    friendRemark=record.remark,
                    friendGroup=list(record.groups),
                    userProfile=profiles.get(uid),
                    friendCustomInfo=dict(record.custom),
                )
            )
        return infos

    async def _relations(self, user_id: str, others: Sequence[str]) -> list[FriendRelationType]:
        pipe = self._redis.pipeline(transaction=False)
        for other in others:
            pipe.hexists(self._keys.friends(user_id), other)
            pipe.hexists(self._keys.friends(other), user_id)
        flags = await pipe.execute()
        result = []
        for i in range(len(others)):
            mine, theirs = flags[2 * i], flags[2 * i + 1]
            if mine and theirs:
                result.append(FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY)
            elif mine:
                result.append(FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST)
            elif theirs:
                result.append(FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_OTHER_FRIEND_LIST)
            else:
                result.append(FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_NONE)
        return result

    async def is_blocked_by(self, user_id: str, other: str) -> bool:
        """Whether `other` has `user_id` on their blacklist."""
        return bool(await self._redis.hexists(self._keys.blacklist(other), user_id))

    def queue_is_blocked_by(self, pipe: Any, user_id: str, other: str) -> None:
        """`is_blocked_by` on the caller's pipeline (its reply is truthy when blocked)."""
        pipe.hexists(self._keys.blacklist(other), user_id)

    async def has_friend(self, user_id: str, other: str) -> bool:
        return bool(await self._redis.hexists(self._keys.friends(user_id), other))

    def queue_has_friend(self, pipe: Any, user_id: str, other: str) -> None:
        pipe.hexists(self._keys.friends(user_id), other)

    # ---- writing helpers -----------------------------------------------------------------------
    async def _link(self, owner: str, friend: str, record: FriendRecord) -> bool:
        """Put `friend` in `owner`'s list; False when it was there already.

        The record is the owner's (their hash tag), the reverse index `friended_by` the friend's: two
        slots on a Redis Cluster, so two steps, not one transaction (docs/scaling.md). The index is
        written on both sides of the record: first, so a gateway dying after the record never leaves
        a friend the index misses (an index entry without a record is skipped by `profile_changed`);
        again after, so an `_unlink` of the same pair running between our steps cannot remove it
        for good. A retry of the operation completes whatever a dead gateway left undone."""
        index = self._keys.friended_by(friend)
        await self._redis.sadd(index, owner)
        added = await self._redis.hsetnx(self._keys.friends(owner), friend, _enc.encode(record))
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(index, owner)
        if added and record.groups:
            pipe.hsetnx(self._keys.friend_groups(owner), record.groups[0], self._now())
        await pipe.execute()
        return bool(added)

    async def _unlink(self, owner: str, friend: str) -> bool:
        """Take `friend` out of `owner`'s list: the record first, then its reverse-index entry,
        which is put back if a concurrent `_link` made the record again meanwhile."""
        removed = await self._redis.hdel(self._keys.friends(owner), friend)
        index = self._keys.friended_by(friend)
        await self._redis.srem(index, owner)
        if await self._redis.hexists(self._keys.friends(owner), friend):
            await self._redis.sadd(index, owner)
        return bool(removed)

    async def _drop_applications(self, a: str, b: str) -> tuple[bool, bool]:
        """Remove any request between a and b, both sides; returns (a lost one, b lost one)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hdel(self._keys.friend_applications(a), b)
        pipe.hdel(self._keys.friend_applications(b), a)
        a_lost, b_lost = await pipe.execute()
        if a_lost:
            await self._bus.publish([a], OnFriendApplicationListDeleted(userIDList=[b]))
        if b_lost:
            await self._bus.publish([b], OnFriendApplicationListDeleted(userIDList=[a]))
        return bool(a_lost), bool(b_lost)

    async def _announce_added(self, owner: str, friends: Sequence[str]) -> None:
        if friends:
            infos = await self._infos(await self._records(owner), friends)
            await self._bus.publish([owner], OnFriendListAdded(infoList=infos))

    async def _rewrite(
        self, owner: str, change: Callable[[dict[str, FriendRecord]], Iterable[str]]
    ) -> tuple[dict[str, FriendRecord], list[str]]:
        """Apply `change` to the whole friend list atomically; it returns the friends it changed."""
        key = self._keys.friends(owner)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hgetall(key)
                    records = {uid: _friend_dec.decode(value) for uid, value in raw.items()}
                    changed = list(dict.fromkeys(change(records)))
                    pipe.multi()
                    for uid in changed:
                        pipe.hset(key, uid, _enc.encode(records[uid]))
                    await pipe.execute()
                    return records, changed
                except WatchError:
                    continue

    async def _announce_changed(self, owner: str, records: dict[str, FriendRecord], changed: Sequence[str]) -> None:
        if changed:
            await self._bus.publish([owner], OnFriendInfoChanged(infoList=await self._infos(records, changed)))

    # ---- friends ---------------------------------------------------------------------------------
    async def get_friend_list(self, user_id: str) -> list[FriendInfo]:
        await self.ensure_relations([user_id])
        records = await self._records(user_id)
        return await self._infos(records, sorted(records))

    async def friend_records(self, user_id: str) -> dict[str, FriendRecord]:
        """The user's friends with their stored records (the REST reads show addTime, addSource and
        addWording, which FriendInfo lacks). No events."""
        return await self._records(user_id)

    async def get_friends_info(self, user_id: str, user_ids: Sequence[str]) -> list[FriendInfoResult]:
        up = await self._upstream_for(user_id, user_ids)
        records = await self._records(user_id)
        if up is None:
            relations = await self._relations(user_id, user_ids)
        else:
            checked = await up.friendship.check_friends(user_id, user_ids, FriendAddType.V2TIM_FRIEND_TYPE_BOTH)
            relations = [c.resultType for c in checked]
        exists = await self._profiles.exists(user_ids)
        infos = await self._infos(records, user_ids)
        results = []
        for info, relation, known in zip(infos, relations, exists, strict=True):
            if not known:
                results.append(
                    FriendInfoResult(
                        resultCode=Code.ERR_FRIENDSHIP_INVALID_PARAMETERS,
                        resultInfo="no such user",
                        relation=relation,
                        friendInfo=FriendInfo(userID=info.userID),
                    )
                )
            else:
                results.append(FriendInfoResult(relation=relation, friendInfo=info))
        return results

    async def set_friend_info(
        self, user_id: str, friend_id: str, changes: FriendChanges, *, groups: Sequence[str] | None = None
    ) -> None:
        """`groups` (REST friend_update's Tag_SNS_IM_Group) replaces the friend's whole friend-group list
        in the same change; groups not defined yet are created, up to FRIEND_GROUPS_MAX."""
        if changes.friendRemark is not None:
            _check_len(changes.friendRemark, REMARK_MAX_BYTES, "friendRemark")
        if changes.friendCustomInfo is not None:
            validate_custom_info(changes.friendCustomInfo, "friendCustomInfo")
        for name in groups or ():
            _check_group_name(name, "friendGroup")
        up = await self._upstream_for(user_id)
        if not await self.has_friend(user_id, friend_id):
            raise IMError(Code.ERR_NOT_FRIEND, f"{friend_id!r} is not in your friend list")
        if up is not None:
            if changes.friendRemark is not None or changes.friendCustomInfo:
                await up.friendship.update_friend(user_id, friend_id, changes)
            if groups is not None:
                _raise_first(await up.friendship.update_friend_groups(user_id, {friend_id: groups}))
        if groups:
            await self._define_groups(user_id, groups)

        def change(records: dict[str, FriendRecord]) -> list[str]:
            record = records.get(friend_id)
            if record is None:
                return []
            if changes.friendRemark is not None:
                record.remark = changes.friendRemark
            if changes.friendCustomInfo is not None:
                record.custom = {**record.custom, **changes.friendCustomInfo}
            if groups is not None:
                record.groups = list(dict.fromkeys(groups))
            return [friend_id]

        records, changed = await self._rewrite(user_id, change)
        if not changed:
            raise IMError(Code.ERR_NOT_FRIEND, f"{friend_id!r} is not in your friend list")
        await self._announce_changed(user_id, records, changed)

    async def search_friends(self, user_id: str, param: FriendSearchParam) -> list[FriendInfoResult]:
        keywords = [k.casefold() for k in param.keywordList]
        if not keywords or len(keywords) > SEARCH_KEYWORDS_MAX or not all(keywords):
            raise _bad(f"searchParam.keywordList needs 1-{SEARCH_KEYWORDS_MAX} non-empty keywords")
        if not (param.isSearchNickName or param.isSearchUserID or param.isSearchRemark):
            raise _bad("searchParam: search at least one of nickname, userID and remark")
        friends = await self.get_friend_list(user_id)

        def matches(info: FriendInfo) -> bool:
            fields = []
            if param.isSearchUserID:
                fields.append(info.userID)
            if param.isSearchNickName and info.userProfile is not None:
                fields.append(info.userProfile.nickName)
            if param.isSearchRemark:
                fields.append(info.friendRemark)
            haystack = [f.casefold() for f in fields if f]
            return any(k in field for k in keywords for field in haystack)

        found = [f for f in friends if matches(f)]
        relations = await self._relations(user_id, [f.userID for f in found])
        return [FriendInfoResult(relation=r, friendInfo=f) for f, r in zip(found, relations, strict=True)]

    async def check_friend(
        self, user_id: str, user_ids: Sequence[str], check_type: FriendAddType
    ) -> list[FriendCheckResult]:
        up = await self._upstream_for(user_id)
        if up is not None:  # the upstream holds the other users' lists, which the mirror may not
            return await up.friendship.check_friends(user_id, user_ids, check_type)
        relations = await self._relations(user_id, user_ids)
        results = []
        for uid, relation in zip(user_ids, relations, strict=True):
            if check_type == FriendAddType.V2TIM_FRIEND_TYPE_SINGLE:
                mine = relation in (
                    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST,
                    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY,
                )
                relation = (
                    FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST
                    if mine
                    else FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_NONE
                )
            results.append(FriendCheckResult(userID=uid, resultType=relation))
        return results

    async def add_friend(
        self,
        user_id: str,
        target: str,
        add_type: FriendAddType,
        *,
        remark: str = "",
        add_wording: str = "",
        add_source: str = "",
        friend_group: str = "",
        force: bool = False,
    ) -> FriendOperationResult:
        """`force` is the app admin's ForceAddFlags (REST friend_add): neither the target's AllowType nor
        either blacklist is consulted, so the friendship is made at once; every other rule holds."""
        if target == user_id:
            raise _bad("userID: you cannot add yourself as a friend")
        _check_len(remark, REMARK_MAX_BYTES, "remark")
        _check_len(add_wording, ADD_WORDING_MAX_BYTES, "addWording")
        _check_len(add_source, ADD_SOURCE_MAX_BYTES, "addSource")
        if friend_group:
            _check_group_name(friend_group, "friendGroup")
        up = await self._upstream_for(user_id, [target])
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(self._keys.profile(target), "created")
        pipe.hget(self._keys.profile(target), "allowType")
        pipe.hexists(self._keys.blacklist(user_id), target)
        pipe.hexists(self._keys.blacklist(target), user_id)
        pipe.hexists(self._keys.friends(user_id), target)
        pipe.hexists(self._keys.friends(target), user_id)
        pipe.hlen(self._keys.friends(user_id))
        created, allow, i_block, they_block, have_them, they_have_me, count = await pipe.execute()
        if created is None:
            raise _bad(f"userID: no user {target!r}")
        if i_block and not force:
            raise IMError(Code.ERR_PEER_IN_SELF_BLACKLIST, f"{target!r} is on your blacklist; remove them first")
        if they_block and not force:
            raise IMError(Code.ERR_IN_PEER_BLACKLIST, f"{target!r} has blocked you")
        both = add_type == FriendAddType.V2TIM_FRIEND_TYPE_BOTH
        if have_them and (they_have_me or not both):
            return _ok(target)  # already as asked: nothing to do
        if not have_them and count >= FRIENDS_MAX:
            raise IMError(Code.ERR_FRIEND_LIST_FULL, f"your friend list is full ({FRIENDS_MAX})")
        allow_type = AllowType(int(allow)) if allow is not None else AllowType.V2TIM_FRIEND_NEED_CONFIRM
        if force:
            allow_type = AllowType.V2TIM_FRIEND_ALLOW_ANY
        if allow_type == AllowType.V2TIM_FRIEND_DENY_ANY and up is None:
            raise IMError(Code.ERR_PEER_DENIES_ALL, f"{target!r} accepts no friend requests")
        item = friend_item(target, remark, friend_group, add_source, add_wording)
        if refused := (await self._callbacks.prev_friend_add(user_id, [item], add_type)).get(target):
            return _failed(target, *refused)  # the app's Sns.CallbackPrevFriendAdd said no
        if up is not None:  # the upstream applies the target's AllowType (which the mirror may hold stale)
            addition = FriendAddition(target, remark, add_wording, add_source, friend_group)
            made = await up.friendship.add_friend(user_id, addition, add_type, force=force)
            if made.resultCode not in (0, PENDING):
                raise IMError(made.resultCode, made.resultInfo)
            allow_type = AllowType.V2TIM_FRIEND_NEED_CONFIRM if made.resultCode else AllowType.V2TIM_FRIEND_ALLOW_ANY
        now = self._now()
        if allow_type == AllowType.V2TIM_FRIEND_ALLOW_ANY:
            mine = FriendRecord(
                remark=remark,
                groups=[friend_group] if friend_group else [],
                addTime=now,
                addSource=add_source,
                addWording=add_wording,
            )
            if await self._link(user_id, target, mine):
                await self._announce_added(user_id, [target])
            if both and await self._link(target, user_id, FriendRecord(addTime=now, addSource=add_source)):
                await self._announce_added(target, [user_id])
            await self._drop_applications(user_id, target)
            await self._callbacks.friends_added(friend_pairs(user_id, target, both), user_id, "friend_add")
            return _ok(target)
        # NEED_CONFIRM: a request on both sides, answered later by the target
        sent = ApplicationRecord(
            type=FriendApplicationType.V2TIM_FRIEND_APPLICATION_SEND_OUT,
            addTime=now,
            addSource=add_source,
            addWording=add_wording,
            remark=remark,
            group=friend_group,
        )
        received = msgspec.structs.replace(sent, type=FriendApplicationType.V2TIM_FRIEND_APPLICATION_COME_IN)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._keys.friend_applications(user_id), target, _enc.encode(sent))
        pipe.hset(self._keys.friend_applications(target), user_id, _enc.encode(received))
        await pipe.execute()
        profiles = await self._profiles_of([user_id, target])
        await self._bus.publish(
            [user_id], OnFriendApplicationListAdded(applicationList=[_application(target, sent, profiles)])
        )
        await self._bus.publish(
            [target], OnFriendApplicationListAdded(applicationList=[_application(user_id, received, profiles)])
        )
        return _failed(target, Code.ERR_FRIEND_PENDING_CONFIRM, "request sent; waiting for the user to accept")

    async def import_friend(self, user_id: str, target: str, record: FriendRecord) -> FriendOperationResult:
        """The app admin's friend_import: put `target` in `user_id`'s list one way, with `record` as given
        (its addTime included), whatever the target's AllowType and either blacklist: an import restores
        relations made elsewhere. Already a friend: nothing changes (result 0). Refuses 30001 for a bad
        field, an unknown target or too many friend groups, 30010 when the list is full.
        onFriendListAdded to the user."""
        if target == user_id:
            raise _bad("userID: you cannot add yourself as a friend")
        _check_len(record.remark, REMARK_MAX_BYTES, "remark")
        _check_len(record.addWording, ADD_WORDING_MAX_BYTES, "addWording")
        _check_len(record.addSource, ADD_SOURCE_MAX_BYTES, "addSource")
        for name in record.groups:
            _check_group_name(name, "friendGroup")
        validate_custom_info(record.custom, "friendCustomInfo")
        pipe = self._redis.pipeline(transaction=False)
        pipe.exists(self._keys.profile(target))
        pipe.hexists(self._keys.friends(user_id), target)
        pipe.hlen(self._keys.friends(user_id))
        known, have_them, count = await pipe.execute()
        if not known:
            raise _bad(f"userID: no user {target!r}")
        if have_them:
            return _ok(target)
        if count >= FRIENDS_MAX:
            raise IMError(Code.ERR_FRIEND_LIST_FULL, f"the friend list is full ({FRIENDS_MAX})")
        if record.groups:
            await self._define_groups(user_id, record.groups)
        if await self._link(user_id, target, record):
            await self._announce_added(user_id, [target])
        return _ok(target)

    async def delete_from_friend_list(
        self, user_id: str, user_ids: Sequence[str], delete_type: FriendAddType
    ) -> list[FriendOperationResult]:
        both = delete_type == FriendAddType.V2TIM_FRIEND_TYPE_BOTH
        up = await self._upstream_for(user_id)
        upstream: dict[str, FriendOperationResult] = {}
        if up is not None:
            upstream = {r.userID: r for r in await up.friendship.delete_friends(user_id, user_ids, delete_type)}
        results, removed_mine = [], []
        for other in user_ids:
            answered = upstream.get(other)
            if answered is not None and answered.resultCode:
                results.append(answered)  # refused upstream: the mirror keeps the friendship
                continue
            mine = await self._unlink(user_id, other)
            theirs = both and await self._unlink(other, user_id)
            if mine:
                removed_mine.append(other)
            if theirs:
                await self._bus.publish([other], OnFriendListDeleted(userIDList=[user_id]))
            done = mine or theirs or answered is not None
            results.append(_ok(other) if done else _failed(other, Code.ERR_NOT_FRIEND, "not a friend"))
        if removed_mine:
            await self._bus.publish([user_id], OnFriendListDeleted(userIDList=removed_mine))
        await self._callbacks.pairs_changed(FRIEND_DELETE, [(user_id, r.userID) for r in results if not r.resultCode])
        return results

    # ---- friend requests -------------------------------------------------------------------------
    async def _application_of(self, user_id: str, other: str) -> ApplicationRecord | None:
        raw = await self._redis.hget(self._keys.friend_applications(user_id), other)
        return _app_dec.decode(raw) if raw else None

    async def get_friend_application_list(self, user_id: str) -> FriendApplicationResult:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._keys.friend_applications(user_id))
        pipe.get(self._keys.friend_applications_read_at(user_id))
        raw, read_at = await pipe.execute()
        records = {uid: _app_dec.decode(value) for uid, value in raw.items()}
        read_time = int(read_at or 0)
        unread = sum(
            1
            for r in records.values()
            if r.type == FriendApplicationType.V2TIM_FRIEND_APPLICATION_COME_IN and r.addTime > read_time
        )
        newest = sorted(records.items(), key=lambda kv: (-kv[1].addTime, kv[0]))[:APPLICATIONS_SHOWN]
        profiles = await self._profiles_of(uid for uid, _ in newest)
        return FriendApplicationResult(
            unreadCount=unread, friendApplicationList=[_application(uid, rec, profiles) for uid, rec in newest]
        )

    async def accept_friend_application(
        self, user_id: str, applicant: str, response: FriendAccept
    ) -> FriendOperationResult:
        request = await self._application_of(user_id, applicant)
        if request is None or request.type != FriendApplicationType.V2TIM_FRIEND_APPLICATION_COME_IN:
            raise IMError(Code.ERR_NO_SUCH_FRIEND_APPLICATION, f"no friend request from {applicant!r}")
        up = await self._upstream_for(user_id, [applicant])
        if await self._redis.hlen(self._keys.friends(applicant)) >= FRIENDS_MAX:
            raise IMError(Code.ERR_FRIEND_LIST_FULL, f"{applicant!r}'s friend list is full")
        both = response == FriendAccept.V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD
        action = "Response_Action_AgreeAndAdd" if both else "Response_Action_Agree"
        if refused := await self._callbacks.prev_friend_response(user_id, applicant, action):
            return _failed(applicant, *refused)  # the app's Sns.CallbackPrevFriendResponse said no
        if up is not None:
            # no REST answers a request: the applicant adds the user, forced (MAPPING.md #130), with
            # what they asked for (remark, group), one way (AGREE) or both (AGREE_AND_ADD)
            addition = FriendAddition(user_id, request.remark, request.addWording, request.addSource, request.group)
            kind = FriendAddType.V2TIM_FRIEND_TYPE_BOTH if both else FriendAddType.V2TIM_FRIEND_TYPE_SINGLE
            made = await up.friendship.add_friend(applicant, addition, kind, force=True)
            if made.resultCode:
                raise IMError(made.resultCode, made.resultInfo)
        now = self._now()
        theirs = FriendRecord(
            remark=request.remark,
            groups=[request.group] if request.group else [],
            addTime=now,
            addSource=request.addSource,
            addWording=request.addWording,
        )
        if await self._link(applicant, user_id, theirs):
            await self._announce_added(applicant, [user_id])
        if response == FriendAccept.V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD and await self._link(
            user_id, applicant, FriendRecord(addTime=now, addSource=request.addSource)
        ):
            await self._announce_added(user_id, [applicant])
        # the request goes once the friendship is made: a gateway dying before leaves it to accept again
        await self._drop_applications(user_id, applicant)
        await self._callbacks.friends_added(friend_pairs(applicant, user_id, both), applicant, "friend_response")
        return _ok(applicant)

    async def refuse_friend_application(self, user_id: str, applicant: str) -> FriendOperationResult:
        request = await self._application_of(user_id, applicant)
        if request is None or request.type != FriendApplicationType.V2TIM_FRIEND_APPLICATION_COME_IN:
            raise IMError(Code.ERR_NO_SUCH_FRIEND_APPLICATION, f"no friend request from {applicant!r}")
        if refused := await self._callbacks.prev_friend_response(user_id, applicant, "Response_Action_Reject"):
            return _failed(applicant, *refused)
        await self._drop_applications(user_id, applicant)
        return _ok(applicant)

    async def delete_friend_application(self, user_id: str, other: str) -> None:
        """Remove a request from my list only (the other side keeps theirs)."""
        if not await self._redis.hdel(self._keys.friend_applications(user_id), other):
            raise IMError(Code.ERR_NO_SUCH_FRIEND_APPLICATION, f"no friend request with {other!r}")
        await self._bus.publish([user_id], OnFriendApplicationListDeleted(userIDList=[other]))

    async def set_friend_application_read(self, user_id: str) -> None:
        await self._redis.set(self._keys.friend_applications_read_at(user_id), self._now())
        await self._bus.publish([user_id], OnFriendApplicationListRead())

    # ---- blacklist ---------------------------------------------------------------------------------
    async def add_to_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]:
        others = [u for u in dict.fromkeys(user_ids) if u != user_id]
        up = await self._upstream_for(user_id, others)
        key = self._keys.blacklist(user_id)
        current = set(await self._redis.hkeys(key))
        fresh = [u for u in user_ids if u not in current and u != user_id]
        if len(current) + len(fresh) > BLACKLIST_MAX:
            raise _bad(f"userIDList: a blacklist holds at most {BLACKLIST_MAX} users")
        refused = _refused(await up.friendship.add_to_black_list(user_id, others)) if up and others else {}
        results, added, unfriended = [], [], []
        now = self._now()
        for other in user_ids:
            if other == user_id:
                results.append(_failed(other, Code.ERR_FRIENDSHIP_INVALID_PARAMETERS, "you cannot block yourself"))
                continue
            if other in refused:
                results.append(refused[other])  # refused upstream: not blocked here either
                continue
            if await self._redis.hsetnx(key, other, now):
                added.append(other)
            # blocking ends the friendship both ways and any pending request
            if await self._unlink(user_id, other):
                unfriended.append(other)
            if await self._unlink(other, user_id):
                await self._bus.publish([other], OnFriendListDeleted(userIDList=[user_id]))
            await self._drop_applications(user_id, other)
            results.append(_ok(other))
        if unfriended:
            await self._bus.publish([user_id], OnFriendListDeleted(userIDList=unfriended))
        if added:
            await self._bus.publish([user_id], OnBlackListAdd(infoList=await self._infos({}, added)))
        await self._callbacks.pairs_changed(BLACKLIST_ADD, [(user_id, u) for u in added])
        return results

    async def delete_from_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]:
        up = await self._upstream_for(user_id)
        refused = _refused(await up.friendship.delete_from_black_list(user_id, user_ids)) if up and user_ids else {}
        results, removed = [], []
        for other in user_ids:
            if other in refused:
                results.append(refused[other])
            elif await self._redis.hdel(self._keys.blacklist(user_id), other):
                removed.append(other)
                results.append(_ok(other))
            else:
                results.append(_failed(other, Code.ERR_FRIENDSHIP_INVALID_PARAMETERS, "not on your blacklist"))
        if removed:
            await self._bus.publish([user_id], OnBlackListDeleted(userIDList=removed))
        await self._callbacks.pairs_changed(BLACKLIST_DELETE, [(user_id, u) for u in removed])
        return results

    async def get_black_list(self, user_id: str) -> list[FriendInfo]:
        await self.ensure_relations([user_id])
        blocked = await self._redis.hgetall(self._keys.blacklist(user_id))
        ordered = sorted(blocked, key=lambda uid: (int(blocked[uid]), uid))
        return await self._infos({}, ordered)

    async def black_list_entries(self, user_id: str) -> list[tuple[str, int]]:
        """The blocked users with when each was blocked (unix s), oldest first. No events."""
        blocked = await self._redis.hgetall(self._keys.blacklist(user_id))
        return sorted(((uid, int(at)) for uid, at in blocked.items()), key=lambda entry: (entry[1], entry[0]))

    # ---- friend groups -------------------------------------------------------------------------------
    async def _define_groups(self, user_id: str, names: Sequence[str]) -> None:
        """Make sure these friend groups exist (friend records may only name defined groups)."""
        key = self._keys.friend_groups(user_id)
        existing = set(await self._redis.hkeys(key))
        fresh = [name for name in dict.fromkeys(names) if name not in existing]
        if len(existing) + len(fresh) > FRIEND_GROUPS_MAX:
            raise _bad(f"friendGroup: at most {FRIEND_GROUPS_MAX} friend groups")
        now = self._now()
        for name in fresh:
            await self._redis.hsetnx(key, name, now)

    async def create_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]:
        _check_group_name(name)
        up = await self._upstream_for(user_id)
        key = self._keys.friend_groups(user_id)
        if await self._redis.hlen(key) >= FRIEND_GROUPS_MAX:
            raise _bad(f"groupName: at most {FRIEND_GROUPS_MAX} friend groups")
        if up is not None:
            if await self._redis.hexists(key, name):
                raise _bad(f"groupName: a friend group {name!r} exists already")
            await up.friendship.create_friend_group(user_id, name, list(dict.fromkeys(user_ids)))
        if not await self._redis.hsetnx(key, name, self._now()):
            raise _bad(f"groupName: a friend group {name!r} exists already")
        return await self._add_to_group(user_id, name, user_ids)

    async def _add_to_group(self, user_id: str, name: str, user_ids: Sequence[str]) -> list[FriendOperationResult]:
        def change(records: dict[str, FriendRecord]) -> list[str]:
            changed = []
            for uid in user_ids:
                record = records.get(uid)
                if record is not None and name not in record.groups:
                    record.groups = [*record.groups, name]
                    changed.append(uid)
            return changed

        records, changed = await self._rewrite(user_id, change)
        await self._announce_changed(user_id, records, changed)
        return [_ok(uid) if uid in records else _failed(uid, Code.ERR_NOT_FRIEND, "not a friend") for uid in user_ids]

    async def get_friend_groups(self, user_id: str, names: Sequence[str] | None) -> list[FriendGroup]:
        await self.ensure_relations([user_id])
        existing = await self._redis.hgetall(self._keys.friend_groups(user_id))
        wanted = [n for n in names if n in existing] if names else sorted(existing, key=lambda n: (existing[n], n))
        records = await self._records(user_id)
        groups = []
        for name in dict.fromkeys(wanted):
            members = sorted(uid for uid, r in records.items() if name in r.groups)
            groups.append(FriendGroup(name=name, friendCount=len(members), friendIDList=members))
        return groups

    async def delete_friend_group(self, user_id: str, names: Sequence[str]) -> None:
        gone = set(names)
        up = await self._upstream_for(user_id)
        if up is not None:
            existing = await self._redis.hkeys(self._keys.friend_groups(user_id))
            defined = [name for name in dict.fromkeys(names) if name in existing]
            if defined:  # Tencent refuses a name that is no group; the SDK ignores it
                await up.friendship.delete_friend_groups(user_id, defined)
        await self._redis.hdel(self._keys.friend_groups(user_id), *gone)

        def change(records: dict[str, FriendRecord]) -> list[str]:
            changed = []
            for uid, record in records.items():
                if gone & set(record.groups):
                    record.groups = [g for g in record.groups if g not in gone]
                    changed.append(uid)
            return changed

        records, changed = await self._rewrite(user_id, change)
        await self._announce_changed(user_id, records, changed)

    async def rename_friend_group(self, user_id: str, old: str, new: str) -> None:
        _check_group_name(new, "newName")
        up = await self._upstream_for(user_id)
        key = self._keys.friend_groups(user_id)
        created = await self._redis.hget(key, old)
        if created is None:
            raise _bad(f"oldName: no friend group {old!r}")
        if old == new:
            return
        if up is not None:
            if await self._redis.hexists(key, new):
                raise _bad(f"newName: a friend group {new!r} exists already")
            members = sorted(uid for uid, r in (await self._records(user_id)).items() if old in r.groups)
            await up.friendship.rename_friend_group(user_id, old, new, members)
        if not await self._redis.hsetnx(key, new, created):
            raise _bad(f"newName: a friend group {new!r} exists already")
        await self._redis.hdel(key, old)

        def change(records: dict[str, FriendRecord]) -> list[str]:
            changed = []
            for uid, record in records.items():
                if old in record.groups:
                    record.groups = [new if g == old else g for g in record.groups]
                    changed.append(uid)
            return changed

        records, changed = await self._rewrite(user_id, change)
        await self._announce_changed(user_id, records, changed)

    async def add_friends_to_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]:
        up = await self._upstream_for(user_id)
        if not await self._redis.hexists(self._keys.friend_groups(user_id), name):
            raise _bad(f"groupName: no friend group {name!r}")
        refused = await self._regroup_upstream(
            up, user_id, user_ids, lambda groups: [*groups, name] if name not in groups else None
        )
        results = await self._add_to_group(user_id, name, [u for u in user_ids if u not in refused])
        return _merged(user_ids, results, refused)

    async def delete_friends_from_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]:
        up = await self._upstream_for(user_id)
        if not await self._redis.hexists(self._keys.friend_groups(user_id), name):
            raise _bad(f"groupName: no friend group {name!r}")
        refused = await self._regroup_upstream(
            up, user_id, user_ids, lambda groups: [g for g in groups if g != name] if name in groups else None
        )
        kept = [u for u in user_ids if u not in refused]

        def change(records: dict[str, FriendRecord]) -> list[str]:
            changed = []
            for uid in kept:
                record = records.get(uid)
                if record is not None and name in record.groups:
                    record.groups = [g for g in record.groups if g != name]
                    changed.append(uid)
            return changed

        records, changed = await self._rewrite(user_id, change)
        await self._announce_changed(user_id, records, changed)
        results = [_ok(uid) if uid in records else _failed(uid, Code.ERR_NOT_FRIEND, "not a friend") for uid in kept]
        return _merged(user_ids, results, refused)

    async def _regroup_upstream(
        self,
        up: Upstream | None,
        user_id: str,
        user_ids: Sequence[str],
        regroup: Callable[[list[str]], list[str] | None],
    ) -> dict[str, FriendOperationResult]:
        """Upstream first: each friend's whole new list of groups (`regroup` of the current one; None
        when it stays), as friend_update sets it. The friends it refused, with its results."""
        if up is None:
            return {}
        records = await self._records(user_id)
        lists = {}
        for uid in dict.fromkeys(user_ids):
            record = records.get(uid)
            new = regroup(list(record.groups)) if record is not None else None
            if new is not None:
                lists[uid] = new
        return _refused(await up.friendship.update_friend_groups(user_id, lists)) if lists else {}

    # ---- profile changes -------------------------------------------------------------------------
    async def profile_changed(self, user_id: str) -> None:
        """Tell everyone who has `user_id` as a friend that their friend's profile changed."""
        holders = sorted(await self._redis.smembers(self._keys.friended_by(user_id)))
        if not holders:
            return
        pipe = self._redis.pipeline(transaction=False)
        for holder in holders:
            pipe.hget(self._keys.friends(holder), user_id)
        raws = await pipe.execute()
        profile = (await self._profiles_of([user_id])).get(user_id)
        for holder, raw in zip(holders, raws, strict=True):
            if raw is None:
                continue
            record = _friend_dec.decode(raw)
            info = FriendInfo(
                userID=user_id,
                friendRemark=record.remark,
                friendGroup=list(record.groups),
                userProfile=profile,
                friendCustomInfo=dict(record.custom),
            )
            await self._bus.publish([holder], OnFriendInfoChanged(infoList=[info]))


def _refused(results: Iterable[FriendOperationResult]) -> dict[str, FriendOperationResult]:
    """The upstream's failed results, by user."""
    return {r.userID: r for r in results if r.resultCode}


def _raise_first(results: Iterable[FriendOperationResult]) -> None:
    for result in results:
        if result.resultCode:
            raise IMError(result.resultCode, result.resultInfo)


def _merged(
    user_ids: Sequence[str], results: Sequence[FriendOperationResult], refused: dict[str, FriendOperationResult]
) -> list[FriendOperationResult]:
    """One result per user in `user_ids`' order: the upstream's refusal, or the mirror's result."""
    done = iter(results)
    return [refused[uid] if uid in refused else next(done) for uid in user_ids]


def _application(other: str, record: ApplicationRecord, profiles: dict[str, UserFullInfo]) -> FriendApplication:
    profile = profiles.get(other)
    return FriendApplication(
        userID=other,
        nickName=profile.nickName if profile else "",
        faceUrl=profile.faceUrl if profile else "",
        addTime=record.addTime,
        addSource=record.addSource,
        addWording=record.addWording,
        type=FriendApplicationType(record.type),
    )
