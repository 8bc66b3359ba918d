"""All-member push (Tencent's `all_member_push/im_push`): one message to every account of the app.

A push is a task, not a send: the REST call checks Tencent's limits (100 a day, more than 1 s
apart, one task per MsgRandom for 7 days), records the task in Redis and answers its TaskId; a
worker on every replica (a consumer group over the app's task stream) walks the app's accounts in
batches and delivers. The task's account cursor is stored after every batch, so a task whose
replica died is claimed by another once idle and resumes where it stopped; only the batch in
flight may be delivered twice.

What each user gets is Tencent's push without roaming: an online-only C2C message from the sender
(the app admin by default). A user who is online hears onRecvNewMessage; it is stored nowhere (no
history, no conversation, no unread), as an online-only send. With MsgLifeTime > 0 the others get
an offline push notification through the engine's push queue; the message itself is not kept for
their next login (Tencent keeps it that long), since imql keeps no offline store apart from history.

Accounts are listed in a sorted set (Keys.accounts) that Profiles keeps on account creation and
deletion; accounts created before it was kept are added by one SCAN of the profile keys, the first
time a task runs.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from gateway.background import StreamConsumer
from gateway.clock import Clock
from gateway.engine.message_core import MessageCore
from gateway.engine.message_ids import c2c_msg_id
from gateway.engine.profiles import Profiles
from gateway.engine.push.planner import PushQueue, pushable
from gateway.errors import IMError
from gateway.events.bus import EventBus
from gateway.im.enums import MessageOpt
from gateway.im.events import OnRecvNewMessage
from gateway.im.messages import Content, OfflinePushInfo, StoredMessage
from gateway.keys import Keys

log = logging.getLogger("imql.all-member-push")

PUSHES_PER_DAY = 100  # Tencent's default quota (90047 past it)
PUSH_INTERVAL_MS = 1000  # two pushes must be more than 1 s apart (90024)
SAME_TASK_SECONDS = 7 * 24 * 3600  # a MsgRandom names one task for 7 days
TASK_TTL_SECONDS = 7 * 24 * 3600  # a task's record is kept this long
TOO_SOON, OVER_QUOTA = 90024, 90047
BATCH = 200  # accounts delivered to per step of a task
SCAN_COUNT = 1000  # profile keys read per SCAN step while listing older accounts
GROUP = "all-member-pushers"
# The worker reads its task stream without blocking, on the request pool: a task's enqueue wakes it
# through the event bus's pub/sub connection (a poke on the stream's channel, which each process's
# dispatcher hands to its worker), so a process holds no Redis connection of its own for it. It
# also reads this often unwoken: tasks enqueued while no process listened, or left by a dead replica.
POLL_SECONDS = 5.0
CLAIM_IDLE_SECONDS = 30  # a task untouched this long (no batch done) was a dead replica's: take it over
ERROR_PAUSE_SECONDS = 1.0

# Tencent's pace and quota, checked and counted at once: 0 accepted, 1 too soon, 2 over the quota
_PACE_AND_QUOTA = """
local now = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if last >= 0 and now - last <= tonumber(ARGV[2]) then return 1 end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return 2 end
redis.call('SET', KEYS[1], now, 'EX', 3600)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 2 * 86400)
return 0
"""

Online = Callable[[list[str]], Awaitable[list[bool]]]  # which of these users have a live session


class PushSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What a task sends, as the REST call gave it."""

    sender: str
    random: int
    content: Content
    offline_push: bool  # MsgLifeTime > 0: the users who are not online get a notification
    offline_push_info: OfflinePushInfo | None = None


class PushTask(msgspec.Struct, frozen=True, kw_only=True):
    task_id: str
    spec: PushSpec
    created: int  # unix s: the time every user's message carries


_task_enc = msgspec.json.Encoder()
_task_dec = msgspec.json.Decoder(PushTask)


class AllMemberPush:
    """The engine's part: tasks (created by REST, run by AllMemberPushWorker) and their delivery."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        profiles: Profiles,
        messages: MessageCore,
        push_queue: PushQueue,
    ) -> None:
        self._redis = redis
        self._profiles = profiles
        self._keys = keys
        self._bus = bus
        self._clock = clock
        self._messages = messages
        self._push_queue = push_queue

    # ---- tasks --------------------------------------------------------------------------------
    async def start_task(self, spec: PushSpec) -> str:
        """The TaskId of the push of `spec`: the earlier task of the same MsgRandom (7 days), or a
        new one, queued for the workers once Tencent's pace and daily quota allow it (90024, 90047)."""
        claim = self._keys.push_random(spec.random)
        task_id = f"{int(self._clock.now())}-{spec.random}-{secrets.token_hex(6)}"
        if not await self._redis.set(claim, task_id, nx=True, ex=SAME_TASK_SECONDS):
            return str(await self._redis.get(claim))
        try:
            await self._take_pace_and_quota()
        except IMError:
            await self._redis.delete(claim)  # refused: the same MsgRandom may be tried again
            raise
        task = PushTask(task_id=task_id, spec=spec, created=int(self._clock.now()))
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._keys.push_task(task_id), mapping={"task": _task_enc.encode(task), "cursor": "", "sent": 0})
        pipe.expire(self._keys.push_task(task_id), TASK_TTL_SECONDS)
        pipe.xadd(self._keys.push_tasks(), {"task": task_id})
        pipe.publish(Keys.poke_channel(self._keys.push_tasks()), b"")  # wakes a worker (POLL_SECONDS)
        await pipe.execute()
        return task_id

    async def _take_pace_and_quota(self) -> None:
        now = self._clock.now()
        day = time.strftime("%Y%m%d", time.gmtime(now))
        keys = [self._keys.push_pace(), self._keys.push_daily(day)]
        args = (int(now * 1000), PUSH_INTERVAL_MS, PUSHES_PER_DAY)
        verdict = int(await self._redis.eval(_PACE_AND_QUOTA, len(keys), *keys, *args))
        if verdict == 1:
            raise IMError(TOO_SOON, "all-member pushes must be more than 1 s apart")
        if verdict == 2:
            raise IMError(OVER_QUOTA, f"the app's {PUSHES_PER_DAY} all-member pushes of the day are used up")

    async def progress(self, task_id: str) -> tuple[str, int, bool]:
        """(the account cursor, users delivered to, finished) of a task."""
        cursor, sent, done = await self._redis.hmget(self._keys.push_task(task_id), ["cursor", "sent", "done"])
        return str(cursor or ""), int(sent or 0), bool(done)

    async def run_task(self, task_id: str, online: Online) -> None:
        """Deliver a task from its stored cursor to its end, a batch at a time (its worker keeps its
        claim on the task fresh meanwhile: gateway.background.StreamConsumer)."""
        raw = await self._redis.hget(self._keys.push_task(task_id), "task")
        if raw is None:
            log.warning("all-member push %s has no record (expired?): dropped", task_id)
            return
        try:
            task = _task_dec.decode(raw)
        except msgspec.DecodeError as exc:
            log.warning("all-member push %s is unreadable: dropped (%s)", task_id, exc)
            return
        await self.index_existing_accounts()
        cursor, _, done = await self.progress(task_id)
        while not done:
            users = await self._redis.zrangebylex(
                self._keys.accounts(), f"({cursor}" if cursor else "-", "+", start=0, num=BATCH
            )
            users = [str(u) for u in users]
            sent = await self._deliver(task, [u for u in users if u != task.spec.sender], online) if users else 0
            done = len(users) < BATCH
            pipe = self._redis.pipeline(transaction=False)
            if users:
                cursor = users[-1]
                pipe.hset(self._keys.push_task(task_id), "cursor", cursor)
            pipe.hincrby(self._keys.push_task(task_id), "sent", sent)
            if done:
                pipe.hset(self._keys.push_task(task_id), "done", 1)
            await pipe.execute()

    async def index_existing_accounts(self) -> None:
        """Once per app: list the accounts created before Keys.accounts was kept (a SCAN of the
        profile keys, SCAN_COUNT keys a step). Accounts created meanwhile are listed by Profiles."""
        if await self._redis.exists(self._keys.accounts_indexed()):
            return
        # scan_iter, not SCAN's cursor: on a Redis Cluster it walks every master's keys in turn
        users: list[str] = []
        async for key in self._redis.scan_iter(match=self._keys.profile_pattern(), count=SCAN_COUNT):
            user = self._keys.user_of_profile(str(key))
            if user is not None:
                users.append(user)
            if len(users) >= SCAN_COUNT:
                await self._redis.zadd(self._keys.accounts(), dict.fromkeys(users, 0))
                users = []
        if users:
            await self._redis.zadd(self._keys.accounts(), dict.fromkeys(users, 0))
        await self._redis.set(self._keys.accounts_indexed(), 1)

    # ---- delivery -----------------------------------------------------------------------------
    async def _deliver(self, task: PushTask, users: list[str], online: Online) -> int:
        """One batch: online users hear the message, the others may get a notification; users
        whose account went, or who receive nothing from the sender, are skipped. How many heard it."""
        spec = task.spec
        field = Keys.c2c_receive_option_field(spec.sender)
        pipe = self._redis.pipeline(transaction=False)
        for user in users:
            pipe.exists(self._keys.profile(user))
            pipe.hget(self._keys.receive_options(user), field)
        replies = await pipe.execute()
        wanted = [
            u
            for u, exists, opt in zip(users, replies[::2], replies[1::2], strict=True)
            if exists and Keys.receive_option(opt) != MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE
        ]
        if not wanted:
            return 0
        live = dict(zip(wanted, await online(wanted), strict=True))
        template = await self._template(task)
        hearing = [u for u in wanted if live[u]]
        away = [u for u in wanted if not live[u]]
        if hearing:
            await self._tell(template, hearing)
        if away and spec.offline_push and pushable(template, False):
            await self._push_queue.message_sent(template, away, False)
        return len(hearing)

    async def _template(self, task: PushTask) -> StoredMessage:
        """The message as every user gets it but for its receiver and ID (the offline notification
        names the task: no message is stored for its receiver to open)."""
        spec = task.spec
        profiles = await self._profiles.get([spec.sender])
        return StoredMessage(
            msgID=task.task_id,
            sender=spec.sender,
            seq=0,
            random=spec.random,
            timestamp=task.created,
            content=spec.content,
            nickName=profiles[0].nickName if profiles else "",
            faceUrl=profiles[0].faceUrl if profiles else "",
            # online-only: never unread, never a conversation's last message
            isExcludedFromUnreadCount=True,
            isExcludedFromLastMessage=True,
            offlinePushInfo=spec.offline_push_info,
        )

    async def _tell(self, template: StoredMessage, users: Sequence[str]) -> None:
        """onRecvNewMessage to each user, as an online-only C2C send tells its receiver: the message
        takes the conversation's next seq (a gap in its history) and is seen as the user sees it."""
        sender = template.sender
        pipe = self._redis.pipeline(transaction=False)
        for user in users:
            pipe.incr(self._keys.timeline_seq(self._keys.c2c_timeline(sender, user)))
        seqs = await pipe.execute()
        messages = [
            msgspec.structs.replace(
                template, msgID=c2c_msg_id(sender, user, int(seq), template.random), receiver=user, seq=int(seq)
            )
            for user, seq in zip(users, seqs, strict=True)
        ]
        pipe = self._redis.pipeline(transaction=False)
        builds = [self._messages.queue_views(pipe, user, [m]) for user, m in zip(users, messages, strict=True)]
        replies = await pipe.execute()
        pipe = self._redis.pipeline(transaction=False)
        for user, build in zip(users, builds, strict=True):
            self._bus.queue_publish(pipe, [user], OnRecvNewMessage(message=build(replies)[0]))
        await self._bus.execute(pipe)


class AllMemberPushWorker(StreamConsumer):
    """Runs the app's all-member push tasks: one consumer of the task stream's group per replica,
    so each task is run by one of them; a task left by a dead replica is taken over after
    CLAIM_IDLE_SECONDS and resumes at its stored cursor."""

    task_name = "imql-all-member-push"
    group = GROUP
    batch = 1  # a task is long: one at a time (kept this replica's while it runs: StreamConsumer)
    poll_seconds = POLL_SECONDS
    claim_idle_seconds = CLAIM_IDLE_SECONDS
    error_pause_seconds = ERROR_PAUSE_SECONDS
    # every takeover after a replica stopped counts as a delivery: a long task cut by a few rolling
    # restarts is not a poison task, so it is given up on later than the other queues' entries
    max_deliveries = 10

    def __init__(self, redis: Any, keys: Keys, pushes: AllMemberPush, online: Online, *, consumer: str) -> None:
        super().__init__(redis, keys.push_tasks(), consumer)
        self._pushes = pushes
        self._online = online

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        for entry_id, fields in entries:
            await self._run_entry(str(entry_id), fields)
            await self._done([entry_id])
        return []

    async def _run_entry(self, entry_id: str, fields: dict[Any, Any]) -> None:
        task_id = fields.get("task") or fields.get(b"task") or b""
        task_id = task_id.decode() if isinstance(task_id, bytes) else str(task_id)
        await self._pushes.run_task(task_id, self._online)
