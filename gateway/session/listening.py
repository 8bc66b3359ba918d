"""One listener subscription of a session: opened, drained as events arrive, closed.

It is not a task and holds none: whoever serves it calls `drain` when the mailbox says there is
news (the WebSocket transport from a wake-up callback, an awaiting consumer from `events`). So an
idle subscription costs its stream's few fields, not a chain of suspended coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

from redis.exceptions import RedisError

from gateway.errors import IMError
from gateway.events.cursor import Cursor
from gateway.events.delivery import Delivery
from gateway.events.fanout import Fanout, TakingMailbox
from gateway.events.stream import EventStream
from gateway.im.events import (
    CONVERSATION_LISTENER,
    SDK_LISTENER,
    OnConnectFailed,
    OnConnecting,
    OnConnectSuccess,
    OnSyncServerFailed,
    OnSyncServerFinish,
    OnSyncServerStart,
)
from gateway.session.conversations import changes_unread
from gateway.session.pool import Session
from gateway.session.services import SessionServices


class Listening:
    def __init__(self, services: SessionServices, session: Session, listener: str, since: str | None) -> None:
        self._services = services
        self._session = session
        self.listener = listener
        self._since_text = since
        self._watch = (
            services.backend.conversations.observer(session.user_id) if listener == CONVERSATION_LISTENER else None
        )
        self._stream = EventStream(
            redis=services.redis,
            keys=services.keys,
            dispatcher=services.dispatcher,
            user_id=session.user_id,
            session_id=session.session_id,
            listener=listener,
            now=services.clock.now,
            observe=self._watch.derive if self._watch is not None else None,
        )
        # the session ID last: offline push tells foreground sessions by it (gateway.push.devices)
        self._instance = f"{services.instance_id}:{secrets.token_hex(6)}:{session.session_id}"
        self._state = "new"  # → open → closed
        self._delivered = services.metrics.events_delivered.labels(listener)  # looked up once, not per event

    @property
    def mailbox(self) -> TakingMailbox:
        return self._stream.mailbox

    @property
    def finished(self) -> bool:
        return self._stream.finished

    async def open(self) -> list[Delivery]:
        """Start following; the first deliveries (replay after `since`, then the listener's
        opening events). While open, the user counts as online and the session's expiry is watched."""
        gw, stream = self._services, self._stream
        since = Cursor.decode(self._since_text) if self._since_text else None  # 6017 when malformed
        self._state = "open"
        gw.expiry.watch(self._session)
        replay = await stream.open(since)
        await gw.presence.enter(self._session.user_id, self._instance)
        first: list[Delivery] = []
        if self.listener == SDK_LISTENER:
            # the SDK reports its link to the cloud as it connects; we report ours to the backend
            first.append(Delivery(OnConnecting(), stream.cursor()))
            try:
                await gw.backend.ping()
                first.append(Delivery(OnConnectSuccess(), stream.cursor()))
            except IMError as exc:
                first.append(Delivery(OnConnectFailed(code=exc.code, err=exc.desc), stream.cursor()))
        if self._watch is not None:
            first.append(Delivery(OnSyncServerStart(), stream.cursor()))
            try:
                await self._watch.start()
                first.append(Delivery(OnSyncServerFinish(), stream.cursor()))
            except IMError:
                first.append(Delivery(OnSyncServerFailed(), stream.cursor()))
        return first + await self._counted(await stream.replayed(replay))

    async def drain(self) -> list[Delivery]:
        """What arrived since the last drain ([] if nothing did); raises IMError on overflow."""
        return await self._counted(await self._stream.drain())

    def drain_now(self, *, cursors: bool = True) -> list[Delivery]:
        """The plain group events at the head of the mailbox, taken without waiting for anything
        (EventStream.drain_now); the rest stays for `drain`."""
        deliveries = self._stream.drain_now(cursors=cursors)
        if deliveries:
            self._delivered.inc(len(deliveries))  # nothing to add: a watched listener takes none here
        return deliveries

    def take_now(self, fanout: Fanout, *, cursors: bool = True) -> list[Delivery] | None:
        """A group's new entries handed out to all its local followers at once, taken without the
        mailbox when they are plain group events for this member (EventStream.take_plain); None:
        not taken, the mailbox gets them. Counted when the fan-out is over (Fanout.done)."""
        deliveries = self._stream.take_plain(fanout, cursors=cursors)
        if deliveries:
            fanout.count(self._delivered, len(deliveries))
        return deliveries

    async def _counted(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Counts them, and follows each conversation change with the unread totals it moved."""
        if not deliveries:
            return deliveries
        self._delivered.inc(len(deliveries))
        if self._watch is None:
            return deliveries
        out: list[Delivery] = []
        for delivery in deliveries:
            out.append(delivery)
            if changes_unread(delivery.event):
                out.extend(Delivery(change, delivery.cursor) for change in await self._watch.unread_changes())
        return out

    async def close(self) -> None:
        """Stop following and leave presence; safe to call more than once, and after a failed open."""
        if self._state == "closed":
            return
        was_open = self._state == "open"
        self._state = "closed"
        self._stream.close()
        if was_open:
            self._services.expiry.unwatch(self._session)
            with contextlib.suppress(RedisError, OSError):
                await asyncio.shield(self._services.presence.leave(self._session.user_id, self._instance))

    async def events(self) -> AsyncIterator[Delivery]:
        """Open, then every delivery until the stream ends; closes when the consumer stops."""
        try:
            for delivery in await self.open():
                yield delivery
            while True:
                batch = await self.drain()
                for delivery in batch:
                    yield delivery
                if batch:
                    continue
                if self.finished:
                    return
                await self.mailbox.wait()
        finally:
            await self.close()
