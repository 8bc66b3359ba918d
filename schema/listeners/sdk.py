"""sdkListener (V2TIMSDKListener): the link state, kicks, sig expiry, own profile, user status."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.im import events as ev
from gateway.im.events import SDK_LISTENER
from schema.context import IMContext
from schema.listeners.common import EVENT_DOC, EventTypes, stream_events
from schema.types import UserFullInfo, UserStatus


@strawberry.type(description=f"onConnecting: the gateway is connecting to its IM backend. {EVENT_DOC}")
class ConnectingEvent:
    type: str
    cursor: str


@strawberry.type(description=f"onConnectSuccess: the gateway's link to its IM backend is up. {EVENT_DOC}")
class ConnectSuccessEvent:
    type: str
    cursor: str


@strawberry.type(description=f"onConnectFailed: the gateway cannot reach its IM backend. {EVENT_DOC}")
class ConnectFailedEvent:
    type: str
    cursor: str
    code: int
    err: str


@strawberry.type(description=f"onKickedOffline: a newer login on the same platform ended this session. {EVENT_DOC}")
class KickedOfflineEvent:
    type: str
    cursor: str


@strawberry.type(description=f"onUserSigExpired: log in again with a fresh UserSig. {EVENT_DOC}")
class UserSigExpiredEvent:
    type: str
    cursor: str


@strawberry.type(description=f"onSelfInfoUpdated: your profile changed (on any of your devices). {EVENT_DOC}")
class SelfInfoUpdatedEvent:
    type: str
    cursor: str
    info: UserFullInfo


@strawberry.type(description=f"onUserStatusChanged: users you follow (or you) changed status. {EVENT_DOC}")
class UserStatusChangedEvent:
    type: str
    cursor: str
    statusList: list[UserStatus]


SDKListenerEvent = Annotated[
    ConnectingEvent
    | ConnectSuccessEvent
    | ConnectFailedEvent
    | KickedOfflineEvent
    | UserSigExpiredEvent
    | SelfInfoUpdatedEvent
    | UserStatusChangedEvent,
    strawberry.union("SDKListenerEvent", description="The callbacks of V2TIMSDKListener."),
]


SDK_TYPES = EventTypes(
    {
        ev.OnConnecting: ConnectingEvent,
        ev.OnConnectSuccess: ConnectSuccessEvent,
        ev.OnConnectFailed: ConnectFailedEvent,
        ev.OnKickedOffline: KickedOfflineEvent,
        ev.OnUserSigExpired: UserSigExpiredEvent,
        ev.OnSelfInfoUpdated: SelfInfoUpdatedEvent,
        ev.OnUserStatusChanged: UserStatusChangedEvent,
    }
)


@strawberry.type
class SDKSubscription:
    @strawberry.subscription(
        description="V2TIMSDKListener's callbacks. Give `since` (an event's cursor) to first receive every "
        "later event, then live ones; an expired cursor gives error 6017."
    )
    async def sdkListener(
        self, info: Info[IMContext, None], since: str | None = None
    ) -> AsyncGenerator[SDKListenerEvent, None]:
        async for event in stream_events(info, SDK_LISTENER, since, SDK_TYPES):
            yield event
