"""Group messages: `group_open_http_svc/*` sends, history, recall, modify, system notifications,
read receipts and counters, and group message extensions."""

from __future__ import annotations

from typing import Any

from gateway.engine.rest.context import RestContext
from gateway.engine.rest.registry import Commands
from gateway.v4.fields import Body

group_msg = Commands("group_open_http_svc", invalid_code=10004)

REGISTRIES = (group_msg,)

SYSTEM_NOTIFICATION_MEMBERS_MAX = 500


@group_msg.command("send_group_system_notification")
async def send_group_system_notification(ctx: RestContext, body: Body) -> dict[str, Any]:
    """`{GroupId, ToMembers_Account?: [≤500], Content}`: members (all, or those named) get
    onReceiveRESTCustomData. Not stored, as on Tencent (no history, no unread)."""
    group_id = body.string("GroupId")
    content = body.string("Content", empty=True)
    members = body.strings("ToMembers_Account", None, max_items=SYSTEM_NOTIFICATION_MEMBERS_MAX)
    await ctx.engine.groups.send_group_system_notification(group_id, content, members or None)
    return {}
