"""Which of a user's C2C conversations may hold unread messages: what a user's total one-to-one
unread (a callback's UnreadMsgNum, Tencent's field) is counted from, for a whole batch of users in
two round trips, instead of recounting every conversation each user has.

The index (`Keys.c2c_unread_index`, a sorted set in the user's slot) maps a conversation to the
newest arrival (ms) of a message there that counts as unread for the user (the score of that
message in its timeline's countable set, `Keys.timeline_countable_for`); its member BUILT says it
covers the user's data from before it existed. What keeps it right:

    every conversation holding a countable message past the user's read mark, whose send wrote its
    index entry, is in the index with a score at or above that message's arrival.

So a conversation whose score is at or below its read mark holds nothing unread, and may leave the
index at any time (PRUNE, atomic in the user's slot); the index is a superset, counted exactly as
`Conversations.unread_totals` counts (live conversations set to RECEIVE, ZCOUNT past the read mark).

Writes, each in its user's slot and in a pipeline the write already makes (single-slot, so Redis
Cluster runs them as they are; a C2C send's is in the receiver's step of its ordered write):
- a C2C message that counts as unread for its receiver: ZADD GT (`queue_arrival`), after the
  countable entry and before the send's callback is queued (whose UnreadMsgNum must see it);
- a read (mark read, clean unread, clear history, delete the conversation): `queue_read`, which
  writes the read mark itself, raised and never lowered (a read never makes read messages unread
  again: a read racing a later one, a REST read up to an earlier time, a mirror's late report),
  and in the same script takes the conversation out when the mark covers its score;
- retention: `queue_trimmed` drops a conversation whose newest entry was among the messages
  trimmed (their `timestamp`/`ms` is the arrival the send scored them with; a mirror's messages
  carry the upstream's time, so there only the clocks' skew at the retention's edge may drop a
  conversation a few ms early, whose messages the next pass trims anyway);
- deleting a message for oneself or a recall only lowers counts: nothing to do.

Counting (`totals`): one pipeline of a script per user in their slot (the candidates with their read
marks; the read ones leave the index), then one of the counts past those marks: on a single Redis a
script per user summing its candidates' ZCOUNTs, on a Redis Cluster (each countable set in its own
conversation's slot) a ZCOUNT per candidate. A user whose index is missing (data from before it,
or written around the engine) has it built first: the C2C conversations of their list whose newest
countable message is past their read mark, merged into whatever sends added meanwhile (ZADD GT),
then BUILT. No migration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gateway.clock import Clock
from gateway.engine.scripts import PipelinedScript, run_pipeline
from gateway.ids import c2c_conversation_id, conversation_peer_id
from gateway.im.messages import StoredMessage
from gateway.keys import Keys
from gateway.lean.cluster import ImqlCluster

BUILT = "built"  # the index's mark that it covers the user's older data (never a conversation ID)
# Countable-set key names remembered (a count asks for the same users' conversations again and
# again, and building one costs as much as its ZCOUNT's round trip share); forgotten all at once past this
KEY_CACHE_MAX = 50_000

# Reads: each conversation's read mark raised to its new mark (never lowered: a mark below the
# stored one leaves it, and the index, as they are), and the conversation out of the index when
# the mark now covers its score. One script: the mark and the index never disagree in between.
# KEYS: index, read marks (c2c-read-ms); ARGV: conversation, new mark (ms), ...
_READ = """
for i = 1, #ARGV, 2 do
  local conv, mark = ARGV[i], tonumber(ARGV[i + 1])
  local old = tonumber(redis.call('HGET', KEYS[2], conv) or '0')
  if mark > old then
    redis.call('HSET', KEYS[2], conv, ARGV[i + 1])
  else
    mark = old
  end
  local score = redis.call('ZSCORE', KEYS[1], conv)
  if score and tonumber(score) <= mark then redis.call('ZREM', KEYS[1], conv) end
end
"""

# KEYS: index; ARGV: conversation, the newest arrival trimmed there, ...
_TRIMMED = """
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[i + 1]) then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
"""

# One user's candidates: [conversation, read mark, ...] of those still unread by their score, live
# in the user's list (not deleted since their last message) and set to RECEIVE; the read ones
# leave the index. nil: the index is not built.
# KEYS: index, read marks, receive options, conversation list, deleted marks.
_CANDIDATES = PipelinedScript(
    """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return false end
local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local found = {}
for i = 1, #rows, 2 do
  local conv = rows[i]
  if string.sub(conv, 1, 4) == 'c2c_' then
    local mark = redis.call('HGET', KEYS[2], conv) or '0'
    if tonumber(rows[i + 1]) <= tonumber(mark) then
      redis.call('ZREM', KEYS[1], conv)
    else
      local order = redis.call('ZSCORE', KEYS[4], conv)
      local deleted = redis.call('HGET', KEYS[5], conv)
      local opt = redis.call('HGET', KEYS[3], 'c2c:' .. string.sub(conv, 5))
      if order and (not deleted or tonumber(order) > tonumber(deleted)) and (not opt or tonumber(opt) == 0) then
        found[#found + 1] = conv
        found[#found + 1] = mark
      end
    end
  end
end
return found
"""
)


# One user's candidates counted at once, on a single Redis: KEYS their countable sets, ARGV their
# read marks. (On a Redis Cluster each set is in its conversation's own slot: a ZCOUNT each.)
_SUM = PipelinedScript(
    """
local total = 0
for i = 1, #KEYS do
  total = total + redis.call('ZCOUNT', KEYS[i], '(' .. ARGV[i], '+inf')
end
return total
"""
)


# How far ahead of this process's clock a read mark may be set. Marks only move forward, so one set
# in the far future (a REST MsgReadTime or an SDK cleanTimestamp of year 2106, an imported message
# stamped so, a replica's clock gone wrong) would count every later message read until the clock
# caught up, with nothing to lower it. An upstream's newest message may be stamped a little ahead
# of this clock (gateway.engine.messages.upstream_read_ms): ten minutes of skew is kept.
READ_MARK_AHEAD_MS = 600_000


class UnreadIndex:
    def __init__(self, redis: Any, keys: Keys, clock: Clock | None = None) -> None:
        """`clock`: the process's, which caps the read marks written (READ_MARK_AHEAD_MS); None
        (a process that only counts) writes none."""
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._countable_keys: dict[tuple[str, str], str] = {}
        self._slot_by_slot = isinstance(redis, ImqlCluster)  # a script may name keys of one slot only

    def _read_marks(self, user_id: str) -> str:
        return self._keys.conversation_state(user_id, "c2c-read-ms")

    # ---- writes ---------------------------------------------------------------------------------
    def queue_arrival(self, pipe: Any, receiver: str, sender: str, arrival_ms: int) -> None:
        """A C2C message from `sender` that counts as unread for `receiver`, scored `arrival_ms`."""
        pipe.zadd(self._keys.c2c_unread_index(receiver), {c2c_conversation_id(sender): arrival_ms}, gt=True)

    def queue_read(self, pipe: Any, user_id: str, marks: Mapping[str, int]) -> None:
        """Reads (peer → read mark, ms): each mark written, raised and never lowered, and the index
        kept with it (one script in the user's slot; idempotent, so a pipeline may run it again);
        a mark more than READ_MARK_AHEAD_MS ahead of the clock is written at that bound."""
        if marks:
            if self._clock is None:
                raise RuntimeError("UnreadIndex: read marks are written with a clock (READ_MARK_AHEAD_MS)")
            cap = int(self._clock.now() * 1000) + READ_MARK_AHEAD_MS
            args = [v for peer, mark in marks.items() for v in (c2c_conversation_id(peer), min(int(mark), cap))]
            keys = [self._keys.c2c_unread_index(user_id), self._read_marks(user_id)]
            pipe.eval(_READ, len(keys), *keys, *args)

    async def read(self, user_id: str, marks: Mapping[str, int]) -> None:
        """`queue_read` on its own (a write that makes no pipeline)."""
        pipe = self._redis.pipeline(transaction=False)
        self.queue_read(pipe, user_id, marks)
        if len(pipe):
            await pipe.execute()

    def queue_trimmed(self, pipe: Any, messages: Iterable[StoredMessage]) -> None:
        """C2C messages the retention deletes: conversations whose newest unread entry went with them."""
        newest: dict[str, dict[str, int]] = {}
        for m in messages:
            if not m.groupID and m.receiver and m.receiver != m.sender:
                arrived = m.timestamp * 1000 + m.ms
                of_receiver = newest.setdefault(m.receiver, {})
                conv = c2c_conversation_id(m.sender)
                of_receiver[conv] = max(arrived, of_receiver.get(conv, 0))
        for receiver, convs in newest.items():
            args = [v for conv, upto in convs.items() for v in (conv, upto)]
            pipe.eval(_TRIMMED, 1, self._keys.c2c_unread_index(receiver), *args)

    # ---- counting -------------------------------------------------------------------------------
    async def totals(self, user_ids: Sequence[str]) -> dict[str, int]:
        """Each user's total one-to-one unread (receive-only conversations, as the SDK's total):
        two round trips for all of them, two more (once) for users whose index is not built yet."""
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        candidates = await self._candidates(users)
        unbuilt = [u for u in users if candidates[u] is None]
        if unbuilt:
            await self._build(unbuilt)
            candidates.update(await self._candidates(unbuilt))
        asks = {u: pairs for u in users if (pairs := _pairs(candidates[u] or []))}
        totals = dict.fromkeys(users, 0)
        if not asks:
            return totals
        if self._slot_by_slot:
            pipe = self._redis.pipeline(transaction=False)
            for user_id, pairs in asks.items():
                for conv, mark in pairs:
                    pipe.zcount(self._countable(user_id, conv), f"({mark}", "+inf")
            counts = iter(await pipe.execute())
            for user_id, pairs in asks.items():
                totals[user_id] = sum(int(next(counts)) for _ in pairs)
            return totals

        def build(pipe: Any) -> None:
            for user_id, pairs in asks.items():
                _SUM.queue(pipe, [self._countable(user_id, conv) for conv, _ in pairs], [mark for _, mark in pairs])

        for user_id, total in zip(asks, await run_pipeline(self._redis, build, (_SUM,)), strict=True):
            totals[user_id] = int(total)
        return totals

    def _countable(self, user_id: str, conv: str) -> str:
        key = self._countable_keys.get((user_id, conv))
        if key is None:
            peer = conversation_peer_id(conv)
            assert peer is not None
            key = self._keys.timeline_countable_for(self._keys.c2c_timeline(user_id, peer), user_id)
            if len(self._countable_keys) >= KEY_CACHE_MAX:
                self._countable_keys.clear()
            self._countable_keys[(user_id, conv)] = key
        return key

    async def _candidates(self, users: Sequence[str]) -> dict[str, list[Any] | None]:
        def build(pipe: Any) -> None:
            for user_id in users:
                keys = [
                    self._keys.c2c_unread_index(user_id),
                    self._read_marks(user_id),
                    self._keys.receive_options(user_id),
                    self._keys.conversations(user_id),
                    self._keys.conversation_state(user_id, "deleted"),
                ]
                _CANDIDATES.queue(pipe, keys, [BUILT])

        return dict(zip(users, await run_pipeline(self._redis, build, (_CANDIDATES,)), strict=True))

    async def _build(self, users: Sequence[str]) -> None:
        """The index of users who have none: their C2C conversations whose newest countable message
        is past their read mark, merged into what sends wrote meanwhile; then BUILT."""
        pipe = self._redis.pipeline(transaction=False)
        for user_id in users:
            pipe.zrange(self._keys.conversations(user_id), 0, -1)
            pipe.hgetall(self._read_marks(user_id))
        replies = list(await pipe.execute())
        asks: list[tuple[str, str, int]] = []
        for i, user_id in enumerate(users):
            convs, marks = replies[2 * i], replies[2 * i + 1]
            asks += [(user_id, c, int(marks.get(c, 0))) for c in convs if conversation_peer_id(c) is not None]
        newest: list[Any] = []
        if asks:
            pipe = self._redis.pipeline(transaction=False)
            for user_id, conv, _ in asks:
                pipe.zrange(self._countable(user_id, conv), -1, -1, withscores=True)
            newest = list(await pipe.execute())
        entries: dict[str, dict[str, float]] = {u: {BUILT: 0} for u in users}
        for (user_id, conv, mark), top in zip(asks, newest, strict=True):
            if top and top[0][1] > mark:
                entries[user_id][conv] = top[0][1]
        pipe = self._redis.pipeline(transaction=False)
        for user_id, mapping in entries.items():
            pipe.zadd(self._keys.c2c_unread_index(user_id), mapping, gt=True)
        await pipe.execute()


def _pairs(flat: Sequence[Any]) -> list[tuple[str, str]]:
    return [(str(flat[i]), str(flat[i + 1])) for i in range(0, len(flat), 2)]
