"""advancedMsgListener (V2TIMAdvancedMsgListener): new, revoked and modified messages, receipts."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.im import events as ev
from gateway.im.events import MESSAGE_LISTENER
from schema.context import IMContext
from schema.listeners.common import EVENT_DOC, EventTypes, stream_events
from schema.message_types import Message, MessageExtension, MessageReceipt


@strawberry.type(description=f"onRecvNewMessage: a message for you (or sent from your other device). {EVENT_DOC}")
class RecvNewMessageEvent:
    type: str
    cursor: str
    message: Message


@strawberry.type(description=f"onRecvMessageReadReceipts: receipts for messages you sent. {EVENT_DOC}")
class RecvMessageReadReceiptsEvent:
    type: str
    cursor: str
    receiptList: list[MessageReceipt]


@strawberry.type(
    description=f"onRecvC2CReadReceipt: the peer read your C2C conversation up to `timestamp`. {EVENT_DOC}"
)
class RecvC2CReadReceiptEvent:
    type: str
    cursor: str
    receiptList: list[MessageReceipt]


@strawberry.type(description=f"onRecvMessageRevoked: a message was revoked. {EVENT_DOC}")
class RecvMessageRevokedEvent:
    type: str
    cursor: str
    msgID: str


@strawberry.type(description=f"onRecvMessageModified: a message was changed by its sender. {EVENT_DOC}")
class RecvMessageModifiedEvent:
    type: str
    cursor: str
    message: Message


@strawberry.type(description=f"onRecvMessageExtensionsChanged: a message's extensions were set. {EVENT_DOC}")
class RecvMessageExtensionsChangedEvent:
    type: str
    cursor: str
    msgID: str
    extensions: list[MessageExtension]


@strawberry.type(description=f"onRecvMessageExtensionsDeleted: a message's extensions were deleted. {EVENT_DOC}")
class RecvMessageExtensionsDeletedEvent:
    type: str
    cursor: str
    msgID: str
    extensionKeys: list[str]


AdvancedMsgListenerEvent = Annotated[
    RecvNewMessageEvent
    | RecvMessageReadReceiptsEvent
    | RecvC2CReadReceiptEvent
    | RecvMessageRevokedEvent
    | RecvMessageModifiedEvent
    | RecvMessageExtensionsChangedEvent
    | RecvMessageExtensionsDeletedEvent,
    strawberry.union("AdvancedMsgListenerEvent", description="The callbacks of V2TIMAdvancedMsgListener."),
]

MESSAGE_TYPES = EventTypes(
    {
        ev.OnRecvNewMessage: RecvNewMessageEvent,
        ev.OnRecvMessageReadReceipts: RecvMessageReadReceiptsEvent,
        ev.OnRecvC2CReadReceipt: RecvC2CReadReceiptEvent,
        ev.OnRecvMessageRevoked: RecvMessageRevokedEvent,
        ev.OnRecvMessageModified: RecvMessageModifiedEvent,
        ev.OnRecvMessageExtensionsChanged: RecvMessageExtensionsChangedEvent,
        ev.OnRecvMessageExtensionsDeleted: RecvMessageExtensionsDeletedEvent,
    }
)


@strawberry.type
class MessageSubscription:
    @strawberry.subscription(
        description="V2TIMAdvancedMsgListener's callbacks, on every device, resumable with `since`."
    )
    async def advancedMsgListener(
        self, info: Info[IMContext, None], since: str | None = None
    ) -> AsyncGenerator[AdvancedMsgListenerEvent, None]:
        async for event in stream_events(info, MESSAGE_LISTENER, since, MESSAGE_TYPES):
            yield event
