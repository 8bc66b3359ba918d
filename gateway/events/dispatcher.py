"""The read side of the event bus: one dispatcher per process.

It holds ONE pub/sub connection, subscribed to the poke channel of every stream that at least one
local subscriber follows, plus the app's session-ended channel and the poke channels of the work
queues whose consumers it wakes (`on_appended`: the all-member push tasks). A poke marks the stream dirty; a
single reader task reads every dirty stream from the last position it delivered (one pipelined
round trip per batch of streams) and hands the entries to each local subscriber's mailbox. So the
Redis connections in use do not grow with the number of subscriptions: one pub/sub connection and
the shared pool's few.

A poke carries its entry and the ID of the entry before it (gateway.events.bus.APPEND_SCRIPT): when
that previous entry is the feed's position and nothing else waits to be read or is being read, the
entry is delivered in the poke's own turn, without reading the stream (a round trip less from a
send to its delivery). Any other poke (an empty one from an older gateway, one whose previous entry
this process has not delivered, one from another database, one that does not parse, one that comes
while streams wait for a read) marks the stream dirty, to be read from its position with the others,
so a stream's entries reach its mailboxes once and in order, and the streams of one subscription in
the order one read gives them. Pokes are hints: after a pub/sub reconnect every stream is re-read
from its position, and a slow sweep re-reads all of them every SWEEP_SECONDS, so a lost poke delays
an event but never loses it.
The sweep's reads come after any poked stream's, a batch at a time: a process following 10,000
streams spent a sweep's 40 round trips before a poke that came meanwhile was read (a large
group's fan-out delayed by them: bench group-fanout's worst sends).

Following new streams is batched: the streams that subscribers ask for while a batch is being
opened wait for the next one, which subscribes to all their poke channels in one SUBSCRIBE and
reads all their ends in one pipeline. One task (the linker) sends every SUBSCRIBE and UNSUBSCRIBE,
so they reach Redis in the order they were decided, and no lock is held across a round trip: a
subscriber following a stream that is already followed (a large group's) waits for nothing.
A restart's thousands of reconnections cost a few round trips per thousand streams instead of two
each under one process-wide lock (bench reconnect-storm).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from redis.exceptions import RedisError

from gateway.batching import SharedPipelines
from gateway.errors import Code, IMError
from gateway.events import positions
from gateway.events.bus import F_EVENT
from gateway.events.decoded import DecodedEntries
from gateway.events.entries import Resolver
from gateway.events.fanout import Fanout, TakingMailbox
from gateway.events.mailbox import LogEntry, Mailbox
from gateway.im.events import IMEvent, OnConnectFailed, OnConnecting, OnConnectSuccess
from gateway.keys import Keys
from gateway.lean.pubsub import LeanPubSubReader, PubSubMessage
from gateway.metrics import Metrics
from gateway.store import database_of

log = logging.getLogger("imql.events")

READ_BATCH = 500  # entries per stream per read; a busier stream is read again at once
STREAMS_PER_ROUND_TRIP = 256  # XRANGEs pipelined together
SWEEP_SECONDS = 30.0  # the belt-and-braces re-read of every followed stream, however busy the link
RECONNECT_BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)  # seconds between pub/sub reconnect attempts
ACK_TIMEOUT_SECONDS = 5.0  # for Redis to confirm a batch's subscriptions (or the link to come back)
# New streams opened together: one SUBSCRIBE and one pipeline of ends each. Bounded so that a batch's
# confirmations are read well within ACK_TIMEOUT_SECONDS on a busy process.
FOLLOW_BATCH = 1_000
# Subscriptions opening together send their commands in one pipeline (`shared`): at most this many each.
OPENS_PER_PIPELINE = 256


_poke_decoder = msgspec.json.Decoder(dict[str, str])


class _Opening:
    """A batch of new streams being followed: their followers wait for `done`, then read `error`."""

    __slots__ = ("done", "error", "feeds")

    def __init__(self) -> None:
        self.feeds: list[_Feed] = []
        self.done = asyncio.Event()
        self.error: IMError | None = None


class _Acks:
    """The subscribe confirmations a batch still waits for."""

    __slots__ = ("done", "left")

    def __init__(self, left: int) -> None:
        self.left = left
        self.done = asyncio.Event()


@dataclass(eq=False, slots=True)
class _Feed:
    stream: str
    last_id: str = positions.ORIGIN
    readers: set[Mailbox] = field(default_factory=set)
    # the batch opening it (subscribing, reading its end), None once it is followed: only then is it read
    opening: _Opening | None = None
    poked: bool = False  # a poke came while it was opening: read it once it is open


class Dispatcher:
    def __init__(self, redis: Any, keys: Keys, metrics: Metrics, *, resolver: Resolver | None = None) -> None:
        """`resolver` turns reference entries back into events (gateway.events.entries): the
        backend's, when its logs keep events by reference; None resolves none."""
        self._redis = redis
        self._keys = keys
        self._metrics = metrics
        self._feeds: dict[str, _Feed] = {}
        self._dirty: set[str] = set()
        self._reading = False  # the reader task is inside a read: a poke's entry waits for a read too
        self._swept: deque[str] = deque()  # the sweep's streams, read when no poked one waits
        self._dirty_signal = asyncio.Event()
        self._acks: dict[str, _Acks] = {}  # poke channel → the batch waiting for its confirmation
        self._openings: deque[_Opening] = deque()  # batches of new streams, oldest first
        self._to_drop: set[str] = set()  # streams whose last follower left: unsubscribed by the linker
        self._link_work = asyncio.Event()  # something for the linker
        self._stopping = False
        self._pubsub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._session_ended_handlers: list[Callable[[str], None]] = []
        self._wakers: dict[str, list[Callable[[], None]]] = {}  # poke channel → its work queue's consumers
        self._by_session: dict[str, list[Mailbox]] = {}  # lists: a session has a few subscribers
        self._link_up = True
        self._link_listeners: set[Mailbox] = set()
        self._subscribed = False  # whether the pub/sub connection holds our subscriptions
        self._linked = asyncio.Event()  # set while _subscribed
        self._retry_now = asyncio.Event()  # cuts the listener's reconnect back-off short
        self._resolver = resolver
        self._database = f"{database_of(redis)} "  # how pokes written on this database begin (bus.APPEND_SCRIPT)
        self.decoded = DecodedEntries(resolve=self._resolve_shared)  # group entries, once for all local followers
        # the commands of subscriptions opening at the same moment (a restart's reconnections), sent together
        self.shared = SharedPipelines(redis, OPENS_PER_PIPELINE)

    async def resolve(self, viewer: str | None, raws: Sequence[str], *, together: bool = False) -> list[IMEvent | None]:
        """Reference entries' events (`viewer`: the user whose stream they are in; None for a
        group's); None for each one that cannot be resolved. `together`: the reads go in the
        pipeline of the subscriptions opening at this moment (`shared`): a restart's resuming
        subscriptions each replay a message or two of their own, one round trip for many."""
        if self._resolver is None:
            return [None for _ in raws]
        return await self._resolver.resolve(viewer, raws, pipeline=self.shared.pipeline if together else None)

    async def _resolve_shared(self, raws: Sequence[str]) -> list[IMEvent | None]:
        return await self.resolve(None, raws)

    # ---- life cycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Start even when Redis is down (the process then reports not ready and keeps trying)."""
        self._pubsub = self._redis.pubsub()
        try:
            await self._pubsub.subscribe(self._keys.sessions_ended_channel(), *self._wakers)
            self._mark_subscribed(True)
        except (RedisError, OSError) as exc:
            self._metrics.redis_failures.inc()
            self._set_link(False, str(exc))
        self._tasks = [
            asyncio.create_task(self._listen(), name="imql-dispatcher-listen"),
            asyncio.create_task(self._sweep_loop(), name="imql-dispatcher-sweep"),
            asyncio.create_task(self._read_loop(), name="imql-dispatcher-read"),
            asyncio.create_task(self._link_loop(), name="imql-dispatcher-link"),
        ]

    async def stop(self) -> None:
        # the linker finishes the command it is sending (cancelled inside redis-py's pub/sub
        # commands, a sharded one left the stopping task itself marked as cancelled) and stops
        self._stopping = True
        self._link_work.set()
        linker, others = self._tasks[-1:], self._tasks[:-1]
        for task in others:
            task.cancel()
        for task in others:
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await task
        if linker:
            done, _ = await asyncio.wait(linker, timeout=ACK_TIMEOUT_SECONDS)
            if not done:
                linker[0].cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await linker[0]
        self._tasks = []
        stopping = IMError(Code.ERR_SDK_INTERNAL_ERROR, "the gateway is shutting down; reconnect shortly")
        while self._openings:
            self._finish_opening(self._openings.popleft(), stopping)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
        await self.shared.close()
        for mailbox in [m for feed in self._feeds.values() for m in feed.readers]:
            mailbox.end("gateway shutting down")

    @property
    def link_up(self) -> bool:
        return self._link_up

    @property
    def subscriber_count(self) -> int:
        return sum(len(m) for m in self._by_session.values())

    def on_session_ended(self, handler: Callable[[str], None]) -> None:
        self._session_ended_handlers.append(handler)

    def on_appended(self, stream: str, wake: Callable[[], None]) -> None:
        """Call `wake` on each poke of `stream`, a process-wide work queue rather than a subscriber's
        log (gateway.background.StreamConsumer.poll_seconds: its consumer then reads it without
        holding a Redis connection of its own), and each time the pub/sub link is re-established,
        pokes having been missed meanwhile. Before `start`: its channel is subscribed for good."""
        self._wakers.setdefault(Keys.poke_channel(stream), []).append(wake)

    # ---- subscribers -------------------------------------------------------------------------
    def register(self, mailbox: Mailbox) -> None:
        self._by_session.setdefault(mailbox.session_id, []).append(mailbox)
        if mailbox.wants_link_events:
            self._link_listeners.add(mailbox)

    def streaming(self, mailbox: Mailbox) -> None:
        """The subscriber follows all its streams now (counted as live until unregistered)."""
        if not mailbox.streaming and mailbox in self._by_session.get(mailbox.session_id, ()):
            mailbox.streaming = True
            self._metrics.live_subscriptions.inc()

    def unregister(self, mailbox: Mailbox) -> None:
        group = self._by_session.get(mailbox.session_id)
        if group is not None and mailbox in group:
            group.remove(mailbox)
            if not group:
                del self._by_session[mailbox.session_id]
            if mailbox.streaming:
                mailbox.streaming = False
                self._metrics.live_subscriptions.dec()
        self._link_listeners.discard(mailbox)
        for stream in list(mailbox.followed):
            self.unfollow(mailbox, stream)

    async def follow(self, mailbox: Mailbox, stream: str) -> str:
        """Deliver `stream`'s new entries to `mailbox`; returns the stream's end at this moment
        (`follow_many` of one stream)."""
        return (await self.follow_many(mailbox, [stream]))[stream]

    async def follow_many(self, mailbox: Mailbox, streams: Sequence[str]) -> dict[str, str]:
        """Deliver each stream's new entries to `mailbox`; returns each stream's end at this moment.

        Every entry after the returned position reaches the mailbox (a new stream's poke channel is
        subscribed before its end is read), so replaying up to it and then draining the mailbox
        leaves no gap; entries seen twice are dropped by position. Streams already followed cost no
        round trip; new ones join the next batch (_link_loop). Raises IMError 7012 when Redis
        cannot be reached; the streams it did follow stay in `mailbox.followed` (unregister drops them).
        """
        if self._stopping:  # the linker is gone: a new stream would never be opened
            raise IMError(Code.ERR_SDK_INTERNAL_ERROR, "the gateway is shutting down; reconnect shortly")
        if not self._subscribed:
            await self._relink()
        feeds: list[_Feed] = []
        waits: list[_Opening] = []
        for stream in streams:
            feed = self._feeds.get(stream)
            if feed is None:
                feed = self._feeds[stream] = _Feed(stream)
                feed.opening = self._opening_for(feed)
            feed.readers.add(mailbox)
            if stream not in mailbox.followed:
                mailbox.followed.append(stream)
            if feed.opening is not None and feed.opening not in waits:
                waits.append(feed.opening)
            feeds.append(feed)
        for opening in waits:
            await opening.done.wait()  # an Event, not a shared future: a cancelled follower cancels only itself
            if opening.error is not None:
                raise opening.error
        return {feed.stream: feed.last_id for feed in feeds}

    def _opening_for(self, feed: _Feed) -> _Opening:
        """The batch a new stream joins: the newest one not taken by the linker yet, if not full."""
        if not self._openings or len(self._openings[-1].feeds) >= FOLLOW_BATCH:
            self._openings.append(_Opening())
        opening = self._openings[-1]
        opening.feeds.append(feed)
        self._link_work.set()
        return opening

    async def _relink(self) -> None:
        """A subscriber arrived while the pub/sub link is down (Redis restarting, or back but not
        re-linked yet): re-link now instead of at the end of the listener's back-off, which grows
        to 5 s, and wait for it (ACK_TIMEOUT_SECONDS) rather than subscribe on a dead connection."""
        self._retry_now.set()
        try:
            await asyncio.wait_for(self._linked.wait(), timeout=ACK_TIMEOUT_SECONDS)
        except TimeoutError:
            raise IMError(Code.ERR_SDK_INTERNAL_ERROR, "the event bus cannot reach Redis; retry shortly") from None

    def _mark_subscribed(self, subscribed: bool) -> None:
        self._subscribed = subscribed
        if subscribed:
            self._linked.set()
        else:
            self._linked.clear()

    def unfollow(self, mailbox: Mailbox, stream: str) -> None:
        if stream in mailbox.followed:
            mailbox.followed.remove(stream)
        feed = self._feeds.get(stream)
        if feed is None:
            return
        feed.readers.discard(mailbox)
        if not feed.readers and feed.opening is None:
            self._to_drop.add(stream)  # an opening feed left without readers is dropped once open
            self._link_work.set()

    # ---- the linker: every SUBSCRIBE and UNSUBSCRIBE, in order ---------------------------------
    async def _link_loop(self) -> None:
        while not self._stopping:
            await self._link_work.wait()
            self._link_work.clear()
            if self._stopping:
                return
            if self._to_drop:
                await self._drop_unused()
            while self._openings and not self._stopping:
                await self._open_batch(self._openings.popleft())
                if self._to_drop:
                    await self._drop_unused()

    async def _drop_unused(self) -> None:
        """Stop following the streams nobody reads any more (a follower may have come back meanwhile)."""
        channels: list[str] = []
        for stream in self._to_drop:
            feed = self._feeds.get(stream)
            if feed is not None and not feed.readers and feed.opening is None:
                del self._feeds[stream]
                self._dirty.discard(stream)
                channels.append(Keys.poke_channel(stream))
        self._to_drop.clear()
        if channels and self._subscribed:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(*channels)

    async def _open_batch(self, opening: _Opening) -> None:
        """Subscribe to the batch's poke channels (one SUBSCRIBE), wait for Redis to confirm them,
        then read every stream's end (one pipeline). Only then are the feeds read: a poke that came
        meanwhile is kept (_Feed.poked), so the entry it announced is read once the feed is open."""
        feeds = opening.feeds
        channels = [Keys.poke_channel(feed.stream) for feed in feeds]
        acks = _Acks(len(channels))
        for channel in channels:
            self._acks[channel] = acks
        try:
            if not self._subscribed:
                await self._relink()
            await self._pubsub.subscribe(*channels)
            await self._confirmed(acks)
            pipe = self._redis.pipeline(transaction=False)
            for feed in feeds:
                pipe.xrevrange(feed.stream, "+", "-", count=1)
            ends = await pipe.execute()
        except (RedisError, OSError, TimeoutError, IMError) as exc:
            self._metrics.redis_failures.inc()
            log.warning("event bus could not follow %d new streams (%s)", len(feeds), exc or type(exc).__name__)
            for feed in feeds:
                if self._feeds.get(feed.stream) is feed:
                    del self._feeds[feed.stream]  # the next follower subscribes again
            failed = IMError(Code.ERR_SDK_INTERNAL_ERROR, "the event bus cannot reach Redis; retry shortly")
            self._finish_opening(opening, failed)
            if self._subscribed:  # those it did subscribe to, before a later batch subscribes again
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(*channels)
            return
        except asyncio.CancelledError:
            self._finish_opening(opening, IMError(Code.ERR_SDK_INTERNAL_ERROR, "the gateway is shutting down"))
            raise
        finally:
            for channel in channels:
                if self._acks.get(channel) is acks:
                    del self._acks[channel]
        for feed, end in zip(feeds, ends, strict=True):
            feed.last_id = str(end[0][0]) if end else positions.ORIGIN
            feed.opening = None
            if feed.poked:
                feed.poked = False
                self._mark_dirty(feed.stream)
            if not feed.readers:
                self._to_drop.add(feed.stream)  # every follower left while it opened
        self._finish_opening(opening, None)

    @staticmethod
    async def _confirmed(acks: _Acks) -> None:
        """Until Redis has confirmed every channel, as long as confirmations keep coming: on a
        process busy with thousands of handshakes they may be read slowly, but they are read."""
        while True:
            left = acks.left
            try:
                await asyncio.wait_for(acks.done.wait(), timeout=ACK_TIMEOUT_SECONDS)
                return
            except TimeoutError:
                if acks.left == left:
                    raise

    @staticmethod
    def _finish_opening(opening: _Opening, error: IMError | None) -> None:
        opening.error = error
        opening.done.set()

    def end_session(self, session_id: str, reason: str) -> None:
        for mailbox in list(self._by_session.get(session_id, ())):
            mailbox.end(reason)

    # ---- background tasks --------------------------------------------------------------------
    def _mark_dirty(self, stream: str) -> None:
        if stream in self._feeds:
            self._dirty.add(stream)
            self._dirty_signal.set()

    def _push(self, stream: str, poke: str) -> None:
        """A poke that carries its entry: delivered in this turn when nothing can come before it,
        else its stream is read as for an empty poke. Nothing can when the reader task is idle
        (not inside a read) and no stream waits to be read: an entry of another stream that a
        read would find may be older than this one, and a subscription's streams must reach it
        in the log's order (a member's leave after the group's last message to her), which one
        read of all of them keeps (`_hand_out` merges by ID). A group stream with several local
        followers is read too: its entries are resolved ahead once for all (`_prefetch_shared`)."""
        feed = self._feeds.get(stream)
        if feed is None:
            return
        if self._reading or self._dirty or (len(feed.readers) > 1 and self._keys.is_group_events(stream)):
            self._mark_dirty(stream)
            return
        self._hand_out(self._take(feed, poke))

    def _take(self, feed: _Feed, poke: str) -> list[tuple[_Feed, list[LogEntry]]]:
        """The poke's entry, if it follows what the feed has delivered (the entry before it is
        the feed's position) and was written on this database; else nothing, and the feed is
        read from its position (a gap, another database's stream of the same name, a poke that
        does not parse), or left as it is (opening: read once open; delivered already)."""
        if feed.opening is not None:
            feed.poked = True  # its end is not known yet: read once it is (_open_batch)
            return []
        if not poke.startswith(self._database):
            self._mark_dirty(feed.stream)
            return []
        previous, _, rest = poke[len(self._database) :].partition(" ")
        entry_id, _, fields = rest.partition(" ")
        try:
            if not positions.after(entry_id, feed.last_id):
                return []  # delivered already (read with an earlier entry)
            if previous != feed.last_id:
                raise ValueError("an entry between")
            entry = LogEntry(feed.stream, entry_id, _poke_decoder.decode(fields))
        except (ValueError, msgspec.DecodeError):
            self._mark_dirty(feed.stream)
            return []
        return [(feed, [entry])]

    def _sweep(self) -> None:
        """Re-read every followed stream, after whatever is poked meanwhile (a sweep still under
        way starts over: it is the same list)."""
        self._swept = deque(self._feeds)
        if self._swept:
            self._dirty_signal.set()

    def _mark_all_dirty(self) -> None:
        self._dirty.update(self._feeds)
        if self._dirty:
            self._dirty_signal.set()

    def _set_link(self, up: bool, error: str = "") -> None:
        if up == self._link_up:
            return
        self._link_up = up
        event: IMEvent = OnConnectSuccess() if up else OnConnectFailed(code=7012, err=error or "lost the link to Redis")
        for mailbox in list(self._link_listeners):
            if not up:
                mailbox.offer_local(OnConnecting())
            mailbox.offer_local(event)

    async def _listen(self) -> None:
        attempt = 0
        reader: LeanPubSubReader | None = None
        read_by: Any = None  # the PubSub `reader` reads (each reconnection makes a new one)
        while True:
            try:
                if not self._subscribed:
                    await self._resubscribe()
                    if not self._subscribed:
                        raise ConnectionError("cannot subscribe to the event bus channels")
                pubsub = self._pubsub
                if pubsub is not read_by:
                    read_by, reader = pubsub, LeanPubSubReader.of(pubsub)
                message: PubSubMessage | None
                if reader is not None:  # a poke's read, without redis-py's per-read layers (gateway.lean.pubsub)
                    message = await reader.read()
                else:  # (it checks the connection's health itself, at least once a sweep)
                    raw = await pubsub.get_message(ignore_subscribe_messages=False, timeout=SWEEP_SECONDS)
                    message = None if raw is None else (raw.get("type"), raw.get("channel"), raw.get("data"))
                attempt = 0
                self._set_link(True)
                if message is not None:
                    self._handle(*message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._metrics.redis_failures.inc()
                self._set_link(False, str(exc) or type(exc).__name__)
                log.warning("event bus lost its pub/sub link (%s); reconnecting", exc)
                self._mark_subscribed(False)
                self._retry_now.clear()
                backoff = RECONNECT_BACKOFF[min(attempt, len(RECONNECT_BACKOFF) - 1)]
                with contextlib.suppress(TimeoutError):  # a new subscriber wakes it early
                    await asyncio.wait_for(self._retry_now.wait(), timeout=backoff)
                attempt += 1

    async def _sweep_loop(self) -> None:
        """Every SWEEP_SECONDS, however busy the link: the sweep, and a health check of the pub/sub
        connection while the listener reads it leanly (its blocking reads make none: redis-py's
        `check_health` sends a PING when one is due, and the listener reads the pong). A check
        that fails closes the connection, so the listener's read fails and it reconnects. Nothing
        that goes wrong here ends the loop: the sweep is what brings lost pokes back."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self._sweep()
            try:
                await self._check_link()
            except Exception as exc:  # (cancellation, at stop, ends the loop)
                log.warning("event bus pub/sub health check failed (%r)", exc)

    @property
    def _lean_reading(self) -> bool:
        """Whether the listener reads the pub/sub connection leanly (gateway.lean.pubsub)."""
        return self._pubsub is not None and LeanPubSubReader.of(self._pubsub) is not None

    async def _check_link(self) -> None:
        pubsub = self._pubsub
        if not (self._subscribed and self._lean_reading):
            return  # (redis-py's get_message checks the link itself)
        connection = pubsub.connection
        if connection is None or not connection.is_connected:
            return  # closed: the listener's read has failed or is failing, and it reconnects
        try:
            await pubsub.check_health()
        except (RedisError, OSError) as exc:
            if self._pubsub is not pubsub:
                return  # the listener has reconnected meanwhile, on a pub/sub of its own
            log.warning("event bus pub/sub health check failed (%s); reconnecting", exc)
            with contextlib.suppress(RedisError, OSError):
                await connection.disconnect(nowait=True)

    async def _resubscribe(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()
        self._pubsub = self._redis.pubsub()
        channels = [
            self._keys.sessions_ended_channel(),
            *self._wakers,
            *(Keys.poke_channel(s) for s in self._feeds),
        ]
        try:
            await self._pubsub.subscribe(*channels)
        except (RedisError, OSError):
            return  # the listen loop sees the failure again and backs off
        self._mark_subscribed(True)
        for wakes in self._wakers.values():  # their queues may have grown while we were away
            for wake in wakes:
                wake()
        # Sessions may have ended while we were away: cached copies cannot be trusted.
        for handler in self._session_ended_handlers:
            handler("*")
        self._mark_all_dirty()

    def _handle(self, kind: str, channel: Any, data: Any) -> None:
        if not isinstance(channel, str):
            return
        if kind == "subscribe":
            acks = self._acks.pop(channel, None)
            if acks is not None:
                acks.left -= 1
                if not acks.left:
                    acks.done.set()
        elif kind == "message":
            if channel == self._keys.sessions_ended_channel():
                session_id = str(data or "")
                for handler in self._session_ended_handlers:
                    handler(session_id)
            elif channel in self._wakers:
                for wake in self._wakers[channel]:
                    wake()
            elif channel.endswith(":poke"):
                stream = channel[: -len(":poke")]
                if data and isinstance(data, str):
                    self._push(stream, data)
                else:
                    self._mark_dirty(stream)

    async def _read_loop(self) -> None:
        while True:
            await self._dirty_signal.wait()
            self._dirty_signal.clear()
            while self._dirty or self._swept:
                batch = self._next_batch()
                self._reading = True
                try:
                    await self._read(batch)
                except asyncio.CancelledError:
                    raise
                except (RedisError, OSError) as exc:
                    self._metrics.redis_failures.inc()
                    log.warning("event bus read failed (%s); will retry", exc)
                    self._dirty.update(batch)
                    await asyncio.sleep(RECONNECT_BACKOFF[2])
                finally:
                    self._reading = False

    def _next_batch(self) -> list[str]:
        """The next streams to read in one round trip: poked ones first, then the sweep's."""
        dirty = self._dirty
        if dirty:
            if len(dirty) <= STREAMS_PER_ROUND_TRIP:
                batch = list(dirty)
                dirty.clear()
                return batch
            return [dirty.pop() for _ in range(STREAMS_PER_ROUND_TRIP)]
        swept = self._swept
        return [swept.popleft() for _ in range(min(len(swept), STREAMS_PER_ROUND_TRIP))]

    async def _read(self, streams: list[str]) -> None:
        feeds: list[_Feed] = []
        for stream in streams:
            feed = self._feeds.get(stream)
            if feed is None:
                continue
            if feed.opening is not None:
                feed.poked = True  # its end is not known yet: read once it is (_open_batch)
                continue
            feeds.append(feed)
        if not feeds:
            return
        pipe = self._redis.pipeline(transaction=False)
        for feed in feeds:
            pipe.xrange(feed.stream, min=f"({feed.last_id}", max="+", count=READ_BATCH)
        results = await pipe.execute()
        read = [
            (feed, [LogEntry(feed.stream, str(entry_id), fields) for entry_id, fields in rows])
            for feed, rows in zip(feeds, results, strict=True)
            if rows
        ]
        for feed, entries in read:
            if len(entries) == READ_BATCH:
                self._mark_dirty(feed.stream)
        await self._deliver(read)

    async def _deliver(self, read: list[tuple[_Feed, list[LogEntry]]]) -> None:
        """Resolve the shared group entries of `read` ahead, then hand them out."""
        await self._prefetch_shared(read)
        self._hand_out(read)

    def _hand_out(self, read: list[tuple[_Feed, list[LogEntry]]]) -> None:
        """Hand each feed's new entries (in log order, after its position) to its mailboxes, and
        move its position past them."""
        if len(read) == 1:  # one stream read (often a large group's message): its list, as it is, to each reader
            feed, entries = read[0]
            if self._feeds.get(feed.stream) is feed:
                feed.last_id = entries[-1].entry_id
                fanout = self._fanout(feed, entries)
                try:
                    for mailbox in list(feed.readers):  # a copy: handing out may end a subscription
                        self._hand(mailbox, entries, fanout)
                finally:  # its held writes are made whatever happened: their connections wait for them
                    if fanout is not None:
                        fanout.done()
            return
        # Each mailbox gets one list per round trip, in log order across the streams it follows.
        # The common case (one stream per mailbox, e.g. a large group's 10,000 members) shares one
        # list among all its readers instead of copying it.
        outbox: dict[Mailbox, list[LogEntry]] = {}
        merged: set[Mailbox] = set()
        fanouts: dict[int, Fanout] = {}  # by the list of a group's entries, which its unmerged readers share
        for feed, entries in read:
            if self._feeds.get(feed.stream) is not feed:
                continue
            feed.last_id = entries[-1].entry_id
            fanout = self._fanout(feed, entries)
            if fanout is not None:
                fanouts[id(entries)] = fanout
            for mailbox in feed.readers:
                already = outbox.get(mailbox)
                if already is None:
                    outbox[mailbox] = entries
                else:
                    outbox[mailbox] = [*already, *entries]
                    merged.add(mailbox)
        try:
            for mailbox, entries in outbox.items():
                if mailbox in merged:
                    entries.sort(key=lambda e: positions.parse(e.entry_id))
                    self._hand(mailbox, entries, None)
                else:
                    self._hand(mailbox, entries, fanouts.get(id(entries)) if fanouts else None)
        finally:  # as above
            for fanout in fanouts.values():
                fanout.done()

    def _fanout(self, feed: _Feed, entries: list[LogEntry]) -> Fanout | None:
        """A group stream's entries for its many local followers: what is the same for all of them
        is worked out once (gateway.events.fanout), and each idle one takes them in this pass."""
        if len(feed.readers) > 1 and self._keys.is_group_events(feed.stream):
            return Fanout(feed.stream, entries, self.decoded)
        return None

    @staticmethod
    def _hand(mailbox: Mailbox, entries: list[LogEntry], fanout: Fanout | None) -> None:
        """`entries` to one follower: taken in this pass if it takes them (TakingMailbox.take), else
        offered to its mailbox."""
        try:
            if fanout is not None and isinstance(mailbox, TakingMailbox):
                take = mailbox.take
                if take is not None and take(fanout):
                    return
            mailbox.offer(entries)
        except Exception:  # the positions moved: one follower's failure costs the others nothing
            log.exception("event bus could not hand %d entries to a subscriber", len(entries))

    async def _prefetch_shared(self, read: list[tuple[_Feed, list[LogEntry]]]) -> None:
        """Decode (and resolve, one round trip for all) the entries of group streams that several
        local subscribers follow, before handing them out: each follower then finds its event
        ready and drains without waiting (gateway.lean.eager), instead of 10,000 of them waiting
        for the one resolution and each being resumed as a task. A failure is left to the
        followers, which ask again (DecodedEntries keeps no failed resolution)."""
        shared = [
            (entry, str(entry.fields.get(F_EVENT, "")))
            for feed, entries in read
            if len(feed.readers) > 1 and self._keys.is_group_events(feed.stream)
            for entry in entries
        ]
        if not shared:
            return
        try:
            await self.decoded.prefetch(shared)
        except Exception as exc:  # the read loop goes on whatever the resolver raised: followers see it
            log.warning("event bus could not resolve %d group entries ahead (%r)", len(shared), exc)
