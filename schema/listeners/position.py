"""eventCursor: where the caller's event log is now, so "load state, then subscribe" has no gap."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.context import IMContext


@strawberry.type
class ListenerQuery:
    @strawberry.field(
        description=(
            "A cursor at the current end of your event log (every listener's). Read it BEFORE loading "
            "state (history, conversation list), then subscribe with `since` set to it: every event "
            "after this moment is delivered, including those that arrive while you load or before the "
            "subscription is open. Events already reflected in the state you loaded may come again: "
            "apply them idempotently (messages by msgID). docs/events.md, 'Subscribing without a gap'."
        )
    )
    async def eventCursor(self, info: Info[IMContext, None]) -> str:
        return await (await info.context.session()).event_cursor()
