"""The signaling part of IMSession: V2TIMSignalingManager for the logged-in user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.errors import invalid
from gateway.ids import check_group_id, check_user_id, check_user_id_list
from gateway.im.messages import OfflinePushInfo
from gateway.im.signaling import SignalingInfo

if TYPE_CHECKING:
    from gateway.backend import SignalingManager

INVITE_ID_MAX = 128  # the SDK's inviteIDs are UUIDs; anything longer is not one of ours


def check_invite_id(invite_id: str) -> str:
    if not invite_id or len(invite_id) > INVITE_ID_MAX:
        raise invalid(f"inviteID must be 1-{INVITE_ID_MAX} characters")
    return invite_id


class SignalingSession:
    """Mixed into IMSession, which sets these attributes."""

    user_id: str
    session_id: str
    _signaling: SignalingManager

    async def invite(
        self, invitee: str, data: str, timeout_seconds: int, online_user_only: bool, push: OfflinePushInfo | None
    ) -> str:
        return await self._signaling.invite(
            self.user_id,
            self.session_id,
            check_user_id(invitee, "invitee"),
            data,
            timeout_seconds,
            online_user_only=online_user_only,
            offline_push_info=push,
        )

    async def invite_in_group(
        self, group_id: str, invitees: list[str], data: str, timeout_seconds: int, online_user_only: bool
    ) -> str:
        return await self._signaling.invite_in_group(
            self.user_id,
            self.session_id,
            check_group_id(group_id),
            check_user_id_list(invitees, "inviteeList"),
            data,
            timeout_seconds,
            online_user_only=online_user_only,
        )

    async def cancel_invitation(self, invite_id: str, data: str) -> None:
        await self._signaling.cancel_invitation(self.user_id, self.session_id, check_invite_id(invite_id), data)

    async def accept_invitation(self, invite_id: str, data: str) -> None:
        await self._signaling.accept_invitation(self.user_id, self.session_id, check_invite_id(invite_id), data)

    async def reject_invitation(self, invite_id: str, data: str) -> None:
        await self._signaling.reject_invitation(self.user_id, self.session_id, check_invite_id(invite_id), data)

    async def modify_invitation(self, invite_id: str, data: str) -> None:
        await self._signaling.modify_invitation(self.user_id, self.session_id, check_invite_id(invite_id), data)

    async def add_invited_signaling(self, invite_id: str) -> None:
        await self._signaling.add_invited_signaling(self.user_id, check_invite_id(invite_id))

    async def get_signaling_info(self, msg_id: str) -> SignalingInfo:
        return await self._signaling.get_signaling_info(self.user_id, msg_id)

    async def invite_id_of(self, msg_id: str) -> str:
        """reject's documented argument is the invitation's message: its inviteID."""
        return (await self.get_signaling_info(msg_id)).inviteID
