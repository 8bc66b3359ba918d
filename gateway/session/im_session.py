"""IMSession: what one logged-in user can do, one method per SDK API.

Resolvers call exactly one method here. It validates arguments that are about the caller (IDs,
limits) and hands the work to the backend or the gateway's own services.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gateway.events.stream import Delivery
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
    def listening(self, listener: str, since: str | None) -> Listening:
        """A listener's subscription for this session (replay after `since`, then live), to be
        opened (6017 for a malformed `since`), drained and closed by whoever serves it."""
        return Listening(self._gw, self.session, listener, since)

    def listen(self, listener: str, since: str | None) -> AsyncIterator[Delivery]:
        """The same, as an async iterator for consumers that await each event."""
        return self.listening(listener, since).events()
