"""conversationListener (V2TIMConversationListener): the list, unread totals, conversation groups."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.im import events as ev
from gateway.im.events import CONVERSATION_LISTENER
from schema.context import IMContext
from schema.conversation_types import Conversation, ConversationFilter
from schema.listeners.common import EVENT_DOC, EventTypes, stream_events


@strawberry.type(description=f"onSyncServerStart: the subscription is reading your conversations. {EVENT_DOC}")
class SyncServerStartEvent:
    type: str
    cursor: str


@strawberry.type(description=f"onSyncServerFinish: read; changes follow as events. {EVENT_DOC}")
class SyncServerFinishEvent:
    type: str
    cursor: str


@strawberry.type(description=f"onSyncServerFailed: your conversations could not be read. {EVENT_DOC}")
class SyncServerFailedEvent:
    type: str
    cursor: str


@strawberry.type(description=f"onNewConversation: conversations that appeared in your list. {EVENT_DOC}")
class NewConversationEvent:
    type: str
    cursor: str
    conversationList: list[Conversation]


@strawberry.type(description=f"onConversationChanged: conversations whose fields changed. {EVENT_DOC}")
class ConversationChangedEvent:
    type: str
    cursor: str
    conversationList: list[Conversation]


@strawberry.type(description=f"onTotalUnreadMessageCountChanged: the new total. {EVENT_DOC}")
class TotalUnreadMessageCountChangedEvent:
    type: str
    cursor: str
    totalUnreadCount: int


@strawberry.type(description=f"onUnreadMessageCountChangedByFilter: a subscribed filter's new total. {EVENT_DOC}")
class UnreadMessageCountChangedByFilterEvent:
    type: str
    cursor: str
    filter: ConversationFilter
    totalUnreadCount: int


@strawberry.type(description=f"onConversationGroupCreated. {EVENT_DOC}")
class ConversationGroupCreatedEvent:
    type: str
    cursor: str
    groupName: str
    conversationList: list[Conversation]


@strawberry.type(description=f"onConversationGroupDeleted. {EVENT_DOC}")
class ConversationGroupDeletedEvent:
    type: str
    cursor: str
    groupName: str


@strawberry.type(description=f"onConversationGroupNameChanged. {EVENT_DOC}")
class ConversationGroupNameChangedEvent:
    type: str
    cursor: str
    oldName: str
    newName: str


@strawberry.type(description=f"onConversationsAddedToGroup. {EVENT_DOC}")
class ConversationsAddedToGroupEvent:
    type: str
    cursor: str
    groupName: str
    conversationList: list[Conversation]


@strawberry.type(description=f"onConversationsDeletedFromGroup. {EVENT_DOC}")
class ConversationsDeletedFromGroupEvent:
    type: str
    cursor: str
    groupName: str
    conversationList: list[Conversation]


@strawberry.type(description=f"onConversationDeleted: conversations removed from your list. {EVENT_DOC}")
class ConversationDeletedEvent:
    type: str
    cursor: str
    conversationIDList: list[str]


ConversationListenerEvent = Annotated[
    SyncServerStartEvent
    | SyncServerFinishEvent
    | SyncServerFailedEvent
    | NewConversationEvent
    | ConversationChangedEvent
    | TotalUnreadMessageCountChangedEvent
    | UnreadMessageCountChangedByFilterEvent
    | ConversationGroupCreatedEvent
    | ConversationGroupDeletedEvent
    | ConversationGroupNameChangedEvent
    | ConversationsAddedToGroupEvent
    | ConversationsDeletedFromGroupEvent
    | ConversationDeletedEvent,
    strawberry.union("ConversationListenerEvent", description="The callbacks of V2TIMConversationListener."),
]

CONVERSATION_TYPES = EventTypes(
    {
        ev.OnSyncServerStart: SyncServerStartEvent,
        ev.OnSyncServerFinish: SyncServerFinishEvent,
        ev.OnSyncServerFailed: SyncServerFailedEvent,
        ev.OnNewConversation: NewConversationEvent,
        ev.OnConversationChanged: ConversationChangedEvent,
        ev.OnTotalUnreadMessageCountChanged: TotalUnreadMessageCountChangedEvent,
        ev.OnUnreadMessageCountChangedByFilter: UnreadMessageCountChangedByFilterEvent,
        ev.OnConversationGroupCreated: ConversationGroupCreatedEvent,
        ev.OnConversationGroupDeleted: ConversationGroupDeletedEvent,
        ev.OnConversationGroupNameChanged: ConversationGroupNameChangedEvent,
        ev.OnConversationsAddedToGroup: ConversationsAddedToGroupEvent,
        ev.OnConversationsDeletedFromGroup: ConversationsDeletedFromGroupEvent,
        ev.OnConversationDeleted: ConversationDeletedEvent,
    }
)


@strawberry.type
class ConversationSubscription:
    @strawberry.subscription(
        description="V2TIMConversationListener's callbacks, on every device, resumable with `since`."
    )
    async def conversationListener(
        self, info: Info[IMContext, None], since: str | None = None
    ) -> AsyncGenerator[ConversationListenerEvent, None]:
        async for event in stream_events(info, CONVERSATION_LISTENER, since, CONVERSATION_TYPES):
            yield event
