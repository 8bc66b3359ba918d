"""IMSession: what one logged-in user can do, one method per SDK API.

Resolvers call exactly one method here. It validates arguments that are about the caller (IDs,
limits) and hands the work to the backend or the gateway's own services.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from gateway.errors import IMError
from gateway.events.cursor import Cursor
from gateway.events.stream import Delivery, EventStream
from gateway.ids import check_user_id_list
from gateway.im.enums import LoginStatus
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
from gateway.im.model import ProfileChanges, UserFullInfo, UserStatus
from gateway.session.conversations import ConversationSession, UnreadWatch, changes_unread
from gateway.session.friendship import FriendshipSession
from gateway.session.groups import GroupSession
from gateway.session.media import MediaSession
from gateway.session.messages import MessageSession
from gateway.session.pool import Session
from gateway.session.push import PushSession
from gateway.session.signaling import SignalingSession

if TYPE_CHECKING:
    from gateway.services import Gateway


class IMSession(
    FriendshipSession, MessageSession, MediaSession, GroupSession, ConversationSession, SignalingSession, PushSession
):
    def __init__(self, gateway: Gateway, session: Session) -> None:
        self._gw = gateway
        self.session = session
        self.user_id = session.user_id
        self.session_id = session.session_id
        self._friends = gateway.backend.friendship
        self._messages = gateway.backend.messages
        self._groups = gateway.backend.groups
        self._conversations = gateway.backend.conversations
        self._signaling = gateway.backend.signaling
        self._push_devices = gateway.push_devices
        self._media = gateway.media_store
        self._signer = gateway.media_signer
        self._clock = gateway.clock

    # ---- V2TIMManager ------------------------------------------------------------------------
    async def logout(self) -> None:
        await self._gw.sessions.logout(self.session)

    def get_login_user(self) -> str:
        return self.user_id

    def get_login_status(self) -> LoginStatus:
        # a session that resolved is logged in; ended ones were refused with 6014/6206/6208
        return LoginStatus.V2TIM_STATUS_LOGINED

    async def get_users_info(self, user_ids: list[str]) -> list[UserFullInfo]:
        return await self._gw.backend.accounts.get_users_info(check_user_id_list(user_ids))

    async def set_self_info(self, changes: ProfileChanges) -> list[UserFullInfo]:
        return [await self._gw.backend.accounts.set_self_info(self.user_id, changes)]

    async def get_user_status(self, user_ids: list[str]) -> list[UserStatus]:
        return await self._gw.status.get(check_user_id_list(user_ids))

    async def set_self_status(self, status: str) -> None:
        await self._gw.status.set_custom(self.user_id, status)

    async def subscribe_user_status(self, user_ids: list[str]) -> None:
        await self._gw.status.subscribe(self.user_id, check_user_id_list(user_ids))

    async def unsubscribe_user_status(self, user_ids: list[str] | None) -> None:
        targets = check_user_id_list(user_ids, allow_empty=True) if user_ids else None
        await self._gw.status.unsubscribe(self.user_id, targets)

    # ---- listeners ---------------------------------------------------------------------------
    async def listen(self, listener: str, since: str | None) -> AsyncIterator[Delivery]:
        """A listener's events for this session: replay after `since`, then live.

        While it runs the user counts as online, and the session's sig expiry is watched so that
        onUserSigExpired arrives on time.
        """
        cursor = Cursor.decode(since) if since else None
        gw = self._gw
        watch = UnreadWatch(self._conversations, self.user_id) if listener == CONVERSATION_LISTENER else None
        stream = EventStream(
            redis=gw.redis,
            keys=gw.keys,
            dispatcher=gw.dispatcher,
            user_id=self.user_id,
            session_id=self.session.session_id,
            listener=listener,
            now=gw.clock.now,
            observe=watch.derive if watch is not None else None,
        )
        # the session ID last: offline push tells foreground sessions by it (gateway.push.devices)
        instance = f"{gw.instance_id}:{secrets.token_hex(6)}:{self.session_id}"
        expiry_watch = asyncio.create_task(gw.sessions.watch_expiry(self.session))
        try:
            replay = await stream.open(cursor)
            await gw.presence.enter(self.user_id, instance)
            if listener == SDK_LISTENER:
                # the SDK reports its link to the cloud as it connects; we report ours to the backend
                yield Delivery(OnConnecting(), stream.cursor())
                try:
                    await gw.backend.ping()
                    yield Delivery(OnConnectSuccess(), stream.cursor())
                except IMError as exc:
                    yield Delivery(OnConnectFailed(code=exc.code, err=exc.desc), stream.cursor())
            if watch is not None:
                yield Delivery(OnSyncServerStart(), stream.cursor())
                try:
                    await watch.start()
                    yield Delivery(OnSyncServerFinish(), stream.cursor())
                except (IMError, RedisError, OSError):
                    yield Delivery(OnSyncServerFailed(), stream.cursor())
            async for delivery in stream.events(replay):
                gw.metrics.events_delivered.labels(listener).inc()
                yield delivery
                if watch is not None and changes_unread(delivery.event):
                    for change in await watch.changes():
                        yield Delivery(change, delivery.cursor)
        finally:
            expiry_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await expiry_watch
            stream.close()
            with contextlib.suppress(RedisError, OSError):
                await asyncio.shield(gw.presence.leave(self.user_id, instance))
