"""sdkListener (V2TIMSDKListener): the link state, kicks, sig expiry, own profile, user status."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.events.stream import Delivery
from gateway.im import events as ev
from gateway.im.events import SDK_LISTENER
from schema.context import IMContext
from schema.types import UserFullInfo, UserStatus, gql

EVENT_DOC = "`cursor` resumes the stream right after this event (pass it as `since`)."


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


def to_graphql(delivery: Delivery) -> SDKListenerEvent:
    event, cursor = delivery.event, delivery.cursor
    name = event.__struct_config__.tag
    assert isinstance(name, str)
    match event:
        case ev.OnConnectFailed():
            return ConnectFailedEvent(type=name, cursor=cursor, code=event.code, err=event.err)
        case ev.OnSelfInfoUpdated():
            return SelfInfoUpdatedEvent(type=name, cursor=cursor, info=gql(event.info, UserFullInfo))
        case ev.OnUserStatusChanged():
            return UserStatusChangedEvent(type=name, cursor=cursor, statusList=gql(event.statusList, list[UserStatus]))
        case ev.OnConnecting():
            return ConnectingEvent(type=name, cursor=cursor)
        case ev.OnConnectSuccess():
            return ConnectSuccessEvent(type=name, cursor=cursor)
        case ev.OnKickedOffline():
            return KickedOfflineEvent(type=name, cursor=cursor)
        case ev.OnUserSigExpired():
            return UserSigExpiredEvent(type=name, cursor=cursor)
    raise TypeError(f"{name} is not an sdkListener event")


@strawberry.type
class SDKSubscription:
    @strawberry.subscription(
        description="V2TIMSDKListener's callbacks. Give `since` (an event's cursor) to first receive every "
        "later event, then live ones; an expired cursor gives error 6017."
    )
    async def sdkListener(
        self, info: Info[IMContext, None], since: str | None = None
    ) -> AsyncGenerator[SDKListenerEvent, None]:
        session = await info.context.session()
        async for delivery in session.listen(SDK_LISTENER, since):
            yield to_graphql(delivery)
