"""friendshipListener (V2TIMFriendshipListener): requests, friends, the blacklist, friend info."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.im import events as ev
from gateway.im.events import FRIENDSHIP_LISTENER
from schema.context import IMContext
from schema.friendship import FriendApplication, FriendInfo
from schema.listeners.common import EVENT_DOC, EventTypes, stream_events


@strawberry.type(description=f"onFriendApplicationListAdded: a request you sent or received. {EVENT_DOC}")
class FriendApplicationListAddedEvent:
    type: str
    cursor: str
    applicationList: list[FriendApplication]


@strawberry.type(description=f"onFriendApplicationListDeleted: requests handled or removed. {EVENT_DOC}")
class FriendApplicationListDeletedEvent:
    type: str
    cursor: str
    userIDList: list[str]


@strawberry.type(description=f"onFriendApplicationListRead: requests marked read. {EVENT_DOC}")
class FriendApplicationListReadEvent:
    type: str
    cursor: str


@strawberry.type(description=f"onFriendListAdded: friends added to your list. {EVENT_DOC}")
class FriendListAddedEvent:
    type: str
    cursor: str
    infoList: list[FriendInfo]


@strawberry.type(description=f"onFriendListDeleted: friends removed from your list. {EVENT_DOC}")
class FriendListDeletedEvent:
    type: str
    cursor: str
    userIDList: list[str]


@strawberry.type(description=f"onBlackListAdd: users you blocked. {EVENT_DOC}")
class BlackListAddEvent:
    type: str
    cursor: str
    infoList: list[FriendInfo]


@strawberry.type(description=f"onBlackListDeleted: users you unblocked. {EVENT_DOC}")
class BlackListDeletedEvent:
    type: str
    cursor: str
    userIDList: list[str]


@strawberry.type(description=f"onFriendInfoChanged: remark, groups, custom fields or profile changed. {EVENT_DOC}")
class FriendInfoChangedEvent:
    type: str
    cursor: str
    infoList: list[FriendInfo]


FriendshipListenerEvent = Annotated[
    FriendApplicationListAddedEvent
    | FriendApplicationListDeletedEvent
    | FriendApplicationListReadEvent
    | FriendListAddedEvent
    | FriendListDeletedEvent
    | BlackListAddEvent
    | BlackListDeletedEvent
    | FriendInfoChangedEvent,
    strawberry.union("FriendshipListenerEvent", description="The callbacks of V2TIMFriendshipListener."),
]

FRIENDSHIP_TYPES = EventTypes(
    {
        ev.OnFriendApplicationListAdded: FriendApplicationListAddedEvent,
        ev.OnFriendApplicationListDeleted: FriendApplicationListDeletedEvent,
        ev.OnFriendApplicationListRead: FriendApplicationListReadEvent,
        ev.OnFriendListAdded: FriendListAddedEvent,
        ev.OnFriendListDeleted: FriendListDeletedEvent,
        ev.OnBlackListAdd: BlackListAddEvent,
        ev.OnBlackListDeleted: BlackListDeletedEvent,
        ev.OnFriendInfoChanged: FriendInfoChangedEvent,
    }
)


@strawberry.type
class FriendshipSubscription:
    @strawberry.subscription(
        description="V2TIMFriendshipListener's callbacks, on every device, resumable with `since`."
    )
    async def friendshipListener(
        self, info: Info[IMContext, None], since: str | None = None
    ) -> AsyncGenerator[FriendshipListenerEvent, None]:
        async for event in stream_events(info, FRIENDSHIP_LISTENER, since, FRIENDSHIP_TYPES):
            yield event
