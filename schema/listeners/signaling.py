"""signalingListener (V2TIMSignalingListener): call invitations and their answers."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.im import events as ev
from gateway.im.events import SIGNALING_LISTENER
from schema.context import IMContext
from schema.listeners.common import EVENT_DOC, EventTypes, stream_events


@strawberry.type(description=f"onReceiveNewInvitation: you are invited (to a call). {EVENT_DOC}")
class ReceiveNewInvitationEvent:
    type: str
    cursor: str
    inviteID: str
    inviter: str
    groupID: str
    inviteeList: list[str]
    data: str


@strawberry.type(description=f"onInviteeAccepted: an invitee accepted. {EVENT_DOC}")
class InviteeAcceptedEvent:
    type: str
    cursor: str
    inviteID: str
    invitee: str
    data: str


@strawberry.type(description=f"onInviteeRejected: an invitee rejected. {EVENT_DOC}")
class InviteeRejectedEvent:
    type: str
    cursor: str
    inviteID: str
    invitee: str
    data: str


@strawberry.type(description=f"onInvitationCancelled: the inviter cancelled. {EVENT_DOC}")
class InvitationCancelledEvent:
    type: str
    cursor: str
    inviteID: str
    inviter: str
    data: str


@strawberry.type(
    description=f"onInvitationTimeout: nobody answered in time; inviteeList names who had not. {EVENT_DOC}"
)
class InvitationTimeoutEvent:
    type: str
    cursor: str
    inviteID: str
    inviteeList: list[str]


@strawberry.type(description=f"onInvitationModified: an open invitation's data changed. {EVENT_DOC}")
class InvitationModifiedEvent:
    type: str
    cursor: str
    inviteID: str
    data: str


SignalingListenerEvent = Annotated[
    ReceiveNewInvitationEvent
    | InviteeAcceptedEvent
    | InviteeRejectedEvent
    | InvitationCancelledEvent
    | InvitationTimeoutEvent
    | InvitationModifiedEvent,
    strawberry.union("SignalingListenerEvent", description="The callbacks of V2TIMSignalingListener."),
]

SIGNALING_TYPES = EventTypes(
    {
        ev.OnReceiveNewInvitation: ReceiveNewInvitationEvent,
        ev.OnInviteeAccepted: InviteeAcceptedEvent,
        ev.OnInviteeRejected: InviteeRejectedEvent,
        ev.OnInvitationCancelled: InvitationCancelledEvent,
        ev.OnInvitationTimeout: InvitationTimeoutEvent,
        ev.OnInvitationModified: InvitationModifiedEvent,
    }
)


@strawberry.type
class SignalingSubscription:
    @strawberry.subscription(
        description="V2TIMSignalingListener's callbacks, on every device of each party, resumable with `since`."
    )
    async def signalingListener(
        self, info: Info[IMContext, None], since: str | None = None
    ) -> AsyncGenerator[SignalingListenerEvent, None]:
        async for event in stream_events(info, SIGNALING_LISTENER, since, SIGNALING_TYPES):
            yield event
