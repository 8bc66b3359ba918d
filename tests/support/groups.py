"""Groups as the tests drive them: groupListener's document, createGroup, and `Member`, an actor
listening to groupListener and advancedMsgListener (group messages and tips) on one socket."""

from __future__ import annotations

from typing import Any

from tests.support.actors import Actor
from tests.support.clients import GraphQLReply, HTTPClient
from tests.support.servers import InProcessGateway

MEMBER = "userID nickName nameCard"
GROUP_EVENTS = f"""subscription {{ groupListener {{
  __typename
  ... on MemberEnterEvent {{ type groupID memberList {{ {MEMBER} }} }}
  ... on MemberLeaveEvent {{ type groupID member {{ {MEMBER} }} }}
  ... on MemberInvitedEvent {{ type groupID opUser {{ userID }} memberList {{ {MEMBER} }} }}
  ... on MemberKickedEvent {{ type groupID opUser {{ userID }} memberList {{ {MEMBER} }} }}
  ... on MemberInfoChangedEvent {{ type groupID groupMemberChangeInfoList {{ userID muteTime }} }}
  ... on GroupCreatedEvent {{ type groupID }}
  ... on GroupDismissedEvent {{ type groupID opUser {{ userID }} }}
  ... on GroupRecycledEvent {{ type groupID opUser {{ userID }} }}
  ... on ReceiveRESTCustomDataEvent {{ type groupID customData }}
  ... on GroupInfoChangedEvent {{ type groupID groupChangeInfoList {{ type value boolValue intValue }} }}
  ... on ReceiveJoinApplicationEvent {{ type groupID member {{ userID }} opReason }}
  ... on ApplicationProcessedEvent {{ type groupID opUser {{ userID }} opReason isAgreeJoin }}
  ... on GrantAdministratorEvent {{ type groupID opUser {{ userID }} memberList {{ userID }} }}
  ... on RevokeAdministratorEvent {{ type groupID opUser {{ userID }} memberList {{ userID }} }}
  ... on QuitFromGroupEvent {{ type groupID }}
  ... on GroupAttributeChangedEvent {{ type groupID groupAttributeMap {{ key value }} }}
  ... on TopicCreatedEvent {{ type groupID topicID }}
  ... on TopicDeletedEvent {{ type groupID topicIDList }}
  ... on TopicInfoChangedEvent {{ type groupID topicInfo {{ topicID topicName }} }}
  ... on GroupCounterChangedEvent {{ type groupID key newValue }}
}} }}"""
MSG_EVENTS = """subscription { advancedMsgListener { __typename
  ... on RecvNewMessage { type message { msgID sender groupID elemType seq isSelf groupAtUserList textElem { text }
      groupTipsElem { groupID type opMember { userID } memberList { userID } memberCount
        groupChangeInfoList { type value } memberChangeInfoList { userID muteTime } } } }
  ... on RecvMessageRevokedEvent { type msgID } } }""".replace("RecvNewMessage {", "RecvNewMessageEvent {")
INFO = "groupID groupType groupName notification introduction faceUrl addOpt approveOpt isAllMuted isSupportTopic owner memberCount"
CREATE = """mutation($t: V2TIM_GroupType!, $id: String, $n: String!, $m: [CreateGroupMemberInfoInput!], $a: V2TIM_GroupAdd,
                     $ap: V2TIM_GroupAdd, $topics: Boolean) {
  createGroup(groupType: $t, groupID: $id, groupName: $n, memberListMap: $m, addOpt: $a, approveOpt: $ap, isSupportTopic: $topics) }"""


class Member(Actor):
    @property
    def groups_op(self) -> str:
        return self.ops[0]

    @property
    def msgs_op(self) -> str:
        return self.ops[1]

    async def group_events(self) -> list[dict[str, Any]]:
        return await self.drain(self.groups_op)

    async def messages(self) -> list[dict[str, Any]]:
        """The new messages that arrived (other advancedMsgListener events are passed over)."""
        return [e["message"] for e in await self.drain(self.msgs_op) if e["type"] == "onRecvNewMessage"]

    async def create(self, group_type: str, name: str = "g", **extra: Any) -> str:
        variables = {"t": f"V2TIM_GROUP_TYPE_{group_type.upper()}", "n": name, **extra}
        return str((await self.q(CREATE, variables))["createGroup"])

    async def send(self, group_id: str, text: str, **options: Any) -> GraphQLReply:
        created = (await self.q(f'mutation {{ createTextMessage(text: "{text}") {{ id }} }}'))["createTextMessage"][
            "id"
        ]
        args = "".join(f", {k}: {v}" for k, v in options.items())
        return await self.call(
            f'mutation {{ sendMessage(id: "{created}", groupID: "{group_id}"{args}) {{ msgID seq isSelf groupID }} }}'
        )


async def member(client: HTTPClient, server: InProcessGateway, name: str) -> Member:
    """`name` online, listening to groupListener and advancedMsgListener."""
    return await Member.online(client, server.ws_url, name, GROUP_EVENTS, MSG_EVENTS)


async def info(m: Member, gid: str) -> dict[str, Any]:
    reply = await m.q(f'{{ getGroupsInfo(groupIDList: ["{gid}"]) {{ resultCode groupInfo {{ {INFO} }} }} }}')
    return dict(reply["getGroupsInfo"][0])
