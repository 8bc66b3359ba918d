"""groupListener (V2TIMGroupListener): membership, profile, roles, applications, attributes, topics."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.im import events as ev
from gateway.im.events import GROUP_LISTENER
from schema.context import IMContext
from schema.group_types import GroupChangeInfo, GroupMemberChangeInfo, GroupMemberInfo
from schema.listeners.common import EVENT_DOC, EventTypes, stream_events
from schema.topic_types import TopicInfo
from schema.types import KeyValue


@strawberry.type(description=f"onMemberEnter: users joined the group. {EVENT_DOC}")
class MemberEnterEvent:
    type: str
    cursor: str
    groupID: str
    memberList: list[GroupMemberInfo]


@strawberry.type(description=f"onMemberLeave: a member left the group. {EVENT_DOC}")
class MemberLeaveEvent:
    type: str
    cursor: str
    groupID: str
    member: GroupMemberInfo


@strawberry.type(description=f"onMemberInvited: users were brought into the group. {EVENT_DOC}")
class MemberInvitedEvent:
    type: str
    cursor: str
    groupID: str
    opUser: GroupMemberInfo
    memberList: list[GroupMemberInfo]


@strawberry.type(description=f"onMemberKicked: members were removed (they are told too). {EVENT_DOC}")
class MemberKickedEvent:
    type: str
    cursor: str
    groupID: str
    opUser: GroupMemberInfo
    memberList: list[GroupMemberInfo]


@strawberry.type(description=f"onMemberInfoChanged: members were muted or unmuted. {EVENT_DOC}")
class MemberInfoChangedEvent:
    type: str
    cursor: str
    groupID: str
    groupMemberChangeInfoList: list[GroupMemberChangeInfo]


@strawberry.type(description=f"onGroupCreated: you created a group (on any of your devices). {EVENT_DOC}")
class GroupCreatedEvent:
    type: str
    cursor: str
    groupID: str


@strawberry.type(description=f"onGroupDismissed: the group was dismissed. {EVENT_DOC}")
class GroupDismissedEvent:
    type: str
    cursor: str
    groupID: str
    opUser: GroupMemberInfo


@strawberry.type(description=f"onGroupRecycled: the group was recycled by the system. {EVENT_DOC}")
class GroupRecycledEvent:
    type: str
    cursor: str
    groupID: str
    opUser: GroupMemberInfo


@strawberry.type(description=f"onGroupInfoChanged: the group's profile changed. {EVENT_DOC}")
class GroupInfoChangedEvent:
    type: str
    cursor: str
    groupID: str
    groupChangeInfoList: list[GroupChangeInfo]


@strawberry.type(description=f"onReceiveJoinApplication: a join request (to owner and admins). {EVENT_DOC}")
class ReceiveJoinApplicationEvent:
    type: str
    cursor: str
    groupID: str
    member: GroupMemberInfo
    opReason: str


@strawberry.type(description=f"onApplicationProcessed: your join request was answered. {EVENT_DOC}")
class ApplicationProcessedEvent:
    type: str
    cursor: str
    groupID: str
    opUser: GroupMemberInfo
    opReason: str
    isAgreeJoin: bool


@strawberry.type(description=f"onGrantAdministrator: members were made admins. {EVENT_DOC}")
class GrantAdministratorEvent:
    type: str
    cursor: str
    groupID: str
    opUser: GroupMemberInfo
    memberList: list[GroupMemberInfo]


@strawberry.type(description=f"onRevokeAdministrator: admins became ordinary members. {EVENT_DOC}")
class RevokeAdministratorEvent:
    type: str
    cursor: str
    groupID: str
    opUser: GroupMemberInfo
    memberList: list[GroupMemberInfo]


@strawberry.type(description=f"onQuitFromGroup: you left a group (on any of your devices). {EVENT_DOC}")
class QuitFromGroupEvent:
    type: str
    cursor: str
    groupID: str


@strawberry.type(description=f"onReceiveRESTCustomData: a custom system notice for the group. {EVENT_DOC}")
class ReceiveRESTCustomDataEvent:
    type: str
    cursor: str
    groupID: str
    customData: str


@strawberry.type(description=f"onGroupAttributeChanged: all of the group's attributes now. {EVENT_DOC}")
class GroupAttributeChangedEvent:
    type: str
    cursor: str
    groupID: str
    groupAttributeMap: list[KeyValue]


@strawberry.type(description=f"onTopicCreated: a topic was created. {EVENT_DOC}")
class TopicCreatedEvent:
    type: str
    cursor: str
    groupID: str
    topicID: str


@strawberry.type(description=f"onTopicDeleted: topics were deleted. {EVENT_DOC}")
class TopicDeletedEvent:
    type: str
    cursor: str
    groupID: str
    topicIDList: list[str]


@strawberry.type(description=f"onTopicInfoChanged: a topic's info changed. {EVENT_DOC}")
class TopicInfoChangedEvent:
    type: str
    cursor: str
    groupID: str
    topicInfo: TopicInfo


@strawberry.type(description=f"onGroupCounterChanged: a counter's new value. {EVENT_DOC}")
class GroupCounterChangedEvent:
    type: str
    cursor: str
    groupID: str
    key: str
    newValue: int


GroupListenerEvent = Annotated[
    MemberEnterEvent
    | MemberLeaveEvent
    | MemberInvitedEvent
    | MemberKickedEvent
    | MemberInfoChangedEvent
    | GroupCreatedEvent
    | GroupDismissedEvent
    | GroupRecycledEvent
    | GroupInfoChangedEvent
    | ReceiveJoinApplicationEvent
    | ApplicationProcessedEvent
    | GrantAdministratorEvent
    | RevokeAdministratorEvent
    | QuitFromGroupEvent
    | ReceiveRESTCustomDataEvent
    | GroupAttributeChangedEvent
    | TopicCreatedEvent
    | TopicDeletedEvent
    | TopicInfoChangedEvent
    | GroupCounterChangedEvent,
    strawberry.union("GroupListenerEvent", description="The callbacks of V2TIMGroupListener."),
]


GROUP_TYPES = EventTypes(
    {
        ev.OnMemberEnter: MemberEnterEvent,
        ev.OnMemberLeave: MemberLeaveEvent,
        ev.OnMemberInvited: MemberInvitedEvent,
        ev.OnMemberKicked: MemberKickedEvent,
        ev.OnMemberInfoChanged: MemberInfoChangedEvent,
        ev.OnGroupCreated: GroupCreatedEvent,
        ev.OnGroupDismissed: GroupDismissedEvent,
        ev.OnGroupRecycled: GroupRecycledEvent,
        ev.OnGroupInfoChanged: GroupInfoChangedEvent,
        ev.OnReceiveJoinApplication: ReceiveJoinApplicationEvent,
        ev.OnApplicationProcessed: ApplicationProcessedEvent,
        ev.OnGrantAdministrator: GrantAdministratorEvent,
        ev.OnRevokeAdministrator: RevokeAdministratorEvent,
        ev.OnQuitFromGroup: QuitFromGroupEvent,
        ev.OnReceiveRESTCustomData: ReceiveRESTCustomDataEvent,
        ev.OnGroupAttributeChanged: GroupAttributeChangedEvent,
        ev.OnTopicCreated: TopicCreatedEvent,
        ev.OnTopicDeleted: TopicDeletedEvent,
        ev.OnTopicInfoChanged: TopicInfoChangedEvent,
        ev.OnGroupCounterChanged: GroupCounterChangedEvent,
    }
)


@strawberry.type
class GroupSubscription:
    @strawberry.subscription(description="V2TIMGroupListener's callbacks, resumable with `since`.")
    async def groupListener(
        self, info: Info[IMContext, None], since: str | None = None
    ) -> AsyncGenerator[GroupListenerEvent, None]:
        async for event in stream_events(info, GROUP_LISTENER, since, GROUP_TYPES):
            yield event
