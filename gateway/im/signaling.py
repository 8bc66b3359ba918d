"""V2TIMSignalingInfo: what a signaling message carries (the seed leaves its field types open;
these are the ones the Tencent SDK uses)."""

from __future__ import annotations

import msgspec

from gateway.im.enums import SignalingActionType

# The Tencent SDK marks its signaling custom messages with businessID 1.
SIGNALING_BUSINESS_ID = 1


class SignalingInfo(msgspec.Struct, kw_only=True):
    inviteID: str
    groupID: str = ""
    inviter: str = ""
    inviteeList: list[str] = []
    data: str = ""
    timeout: int = 0
    actionType: SignalingActionType = SignalingActionType.SIGNALING_ACTION_TYPE_UNKNOWN
    businessID: int = SIGNALING_BUSINESS_ID
