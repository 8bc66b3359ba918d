"""The offline push part of IMSession: V2TIMOfflinePushManager for the logged-in device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.errors import invalid

if TYPE_CHECKING:
    from gateway.push.devices import PushDevices
    from gateway.session.pool import Session


class PushSession:
    """Mixed into IMSession, which sets these attributes."""

    user_id: str
    session: Session
    _push_devices: PushDevices

    async def set_offline_push_config(self, business_id: int, token: str) -> None:
        await self._push_devices.set_config(
            self.user_id, self.session.session_id, self.session.platform, business_id, token
        )

    async def do_background(self, unread_count: int) -> None:
        # the badge of each push is the user's unread total when it is sent, so the count the app
        # reports here only needs to be sane
        if unread_count < 0:
            raise invalid("unreadCount must be 0 or more")
        await self._push_devices.set_background(self.user_id, self.session.session_id, True)

    async def do_foreground(self, unread_count: int) -> None:
        if unread_count < 0:
            raise invalid("unreadCount must be 0 or more")
        await self._push_devices.set_background(self.user_id, self.session.session_id, False)
