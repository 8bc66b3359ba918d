"""IMSession: what one logged-in user can do, one method per SDK API.

Resolvers call exactly one method here. It validates arguments that are about the caller (IDs,
limits) and hands the work to the backend or the gateway's own services.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.events.delivery import Delivery
from gateway.events.stream import current_cursor
from gateway.ids import check_user_id_list
from gateway.im.enums import LoginStatus
from gateway.im.model import ProfileChanges, UserFullInfo, UserStatus
from gateway.session.conversations import ConversationSession
from gateway.session.friendship import FriendshipSession
from gateway.session.groups import GroupSession
from gateway.session.listening import Listening
from gateway.session.media import MediaSession
from gateway.session.messages import MessageSession
from gateway.session.pool import Session
from gateway.session.push import PushSession
from gateway.session.services import SessionServices
from gateway.session.signaling import SignalingSession


class IMSession(
    FriendshipSession, MessageSession, MediaSession, GroupSession, ConversationSession, SignalingSession, PushSession
):
    def __init__(self, services: SessionServices, session: Session) -> None:
        self._services = services
        self.session = session
        self.user_id = session.user_id
        self.session_id = session.session_id
        backend = services.backend
        self._accounts = backend.accounts
        self._friends = backend.friendship
        self._messages = backend.messages
        self._groups = backend.groups
        self._conversations = backend.conversations
        self._signaling = backend.signaling
        self._push_devices = services.push_devices
        self._media = services.media_store
        self._signer = services.media_signer
        self._clock = services.clock

    # ---- V2TIMManager ------------------------------------------------------------------------
    async def logout(self) -> None:
        await self._services.sessions.logout(self.session)

    def get_login_user(self) -> str:
        return self.user_id

    def get_login_status(self) -> LoginStatus:
        # a session that resolved is logged in; ended ones were refused with 6014/6206/6208
        return LoginStatus.V2TIM_STATUS_LOGINED

    async def get_users_info(self, user_ids: list[str]) -> list[UserFullInfo]:
        return await self._accounts.get_users_info(check_user_id_list(user_ids))

    async def set_self_info(self, changes: ProfileChanges) -> list[UserFullInfo]:
        return [await self._accounts.set_self_info(self.user_id, changes)]

    async def get_user_status(self, user_ids: list[str]) -> list[UserStatus]:
        return await self._services.status.get(check_user_id_list(user_ids))

    async def set_self_status(self, status: str) -> None:
        await self._services.status.set_custom(self.user_id, status)

    async def subscribe_user_status(self, user_ids: list[str]) -> None:
        await self._services.status.subscribe(self.user_id, check_user_id_list(user_ids))

    async def unsubscribe_user_status(self, user_ids: list[str] | None) -> None:
        targets = check_user_id_list(user_ids, allow_empty=True) if user_ids else None
        await self._services.status.unsubscribe(self.user_id, targets)

    # ---- listeners ---------------------------------------------------------------------------
    def listening(self, listener: str, since: str | None) -> Listening:
        """A listener's subscription for this session (replay after `since`, then live), to be
        opened (6017 for a malformed `since`), drained and closed by whoever serves it."""
        return Listening(self._services, self.session, listener, since)

    async def event_cursor(self) -> str:
        """The cursor of this moment in the user's event log (any listener's `since`)."""
        return await current_cursor(self._services.redis, self._services.keys, self.user_id)

    def listen(self, listener: str, since: str | None) -> AsyncIterator[Delivery]:
        """The same, as an async iterator for consumers that await each event."""
        return self.listening(listener, since).events()
