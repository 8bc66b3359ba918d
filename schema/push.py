"""V2TIMOfflinePushManager: a device's push token and whether its app is in the background."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.context import IMContext
from schema.types import Long

Ctx = Info[IMContext, None]


@strawberry.type
class PushMutation:
    @strawberry.mutation(
        description="Register this device's push token (businessID: the push certificate's ID in your IM "
        "console). While no app of yours is in the foreground, messages you would be notified of are pushed."
    )
    async def setOfflinePushConfig(self, info: Ctx, businessID: Long, token: str) -> bool:
        await (await info.context.session()).set_offline_push_config(int(businessID), token)
        return True

    @strawberry.mutation(
        description="The app went to the background: this device no longer counts as in the foreground."
    )
    async def doBackground(self, info: Ctx, unreadCount: int) -> bool:
        await (await info.context.session()).do_background(unreadCount)
        return True

    @strawberry.mutation(description="The app came back to the foreground: no pushes while it stays there.")
    async def doForeground(self, info: Ctx, unreadCount: int = 0) -> bool:
        await (await info.context.session()).do_foreground(unreadCount)
        return True
