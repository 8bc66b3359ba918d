"""The optional fields of a REST v4 send that C2C (`openim/sendmsg`) and group
(`group_open_http_svc/send_group_msg`) messages share, built from one stored message.

Tencent spells the read-receipt flag differently per endpoint (`IsNeedReadReceipt` for C2C,
`NeedReadReceipt` for groups, FIXTURES.md B), so the caller names it.
"""

from __future__ import annotations

from typing import Any

from gateway.im.messages import StoredMessage
from gateway.v4.msgbody import offline_push_to_rest


def send_options(message: StoredMessage, *, online_only: bool, receipt_field: str) -> dict[str, Any]:
    """CloudCustomData, SendMsgControl, the extension and receipt flags and OfflinePushInfo, each
    only when it says something. An online-only message never counts as unread nor becomes the
    last message anyway, so its controls are left out."""
    options: dict[str, Any] = {}
    if message.cloudCustomData:
        options["CloudCustomData"] = message.cloudCustomData
    controls = [
        name
        for name, on in (
            ("NoUnread", message.isExcludedFromUnreadCount),
            ("NoLastMsg", message.isExcludedFromLastMessage),
        )
        if on and not online_only
    ]
    if controls:
        options["SendMsgControl"] = controls
    if message.isSupportMessageExtension:
        options["SupportMessageExtension"] = 1
    if message.needReadReceipt:
        options[receipt_field] = 1
    push = offline_push_to_rest(message.offlinePushInfo)
    if push is not None:
        options["OfflinePushInfo"] = push
    return options
