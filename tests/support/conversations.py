"""Conversations as the tests drive them: conversationListener's document, the list query, and
`User`, an actor that keeps a copy of its conversation list and unread total built only from the
conversationListener events it receives (`converged` compares it with what the queries say)."""

from __future__ import annotations

from typing import Any

from tests.support.actors import QUIET_SECONDS, Actor
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway

CONV = """conversationID type userID groupID showName faceUrl recvOpt groupType unreadCount draftText isPinned
  orderKey markList customData conversationGroupList lastMessage { msgID textElem { text } } groupAtInfoList { seq atType }"""
EVENTS = f"""subscription {{ conversationListener {{ __typename
  ... on SyncServerStartEvent {{ type }}
  ... on SyncServerFinishEvent {{ type }}
  ... on NewConversationEvent {{ type conversationList {{ {CONV} }} }}
  ... on ConversationChangedEvent {{ type conversationList {{ {CONV} }} }}
  ... on TotalUnreadMessageCountChangedEvent {{ type totalUnreadCount }}
  ... on UnreadMessageCountChangedByFilterEvent {{ type totalUnreadCount filter {{ conversationType markType }} }}
  ... on ConversationGroupCreatedEvent {{ type groupName conversationList {{ conversationID }} }}
  ... on ConversationGroupDeletedEvent {{ type groupName }}
  ... on ConversationGroupNameChangedEvent {{ type oldName newName }}
  ... on ConversationsAddedToGroupEvent {{ type groupName conversationList {{ conversationID }} }}
  ... on ConversationsDeletedFromGroupEvent {{ type groupName conversationList {{ conversationID }} }}
  ... on ConversationDeletedEvent {{ type conversationIDList }}
}} }}"""
LIST = f"query($n: String, $c: Int) {{ getConversationList(nextSeq: $n, count: $c) {{ nextSeq isFinished conversationList {{ {CONV} }} }} }}"


class User(Actor):
    def __init__(
        self, client: HTTPClient, token: str, name: str = "", ws: WSClient | None = None, ops: tuple[str, ...] = ()
    ) -> None:
        super().__init__(client, token, name, ws, ops)
        self.mirror: dict[str, dict[str, Any]] = {}
        self.total: int | None = None

    async def drain(
        self, op: str | None = None, *, quiet: float = QUIET_SECONDS, first_within: float | None = None
    ) -> list[dict[str, Any]]:
        """The events that arrived, applied to the mirror, until a quiet spell."""
        seen = await super().drain(op, quiet=quiet, first_within=first_within)
        for event in seen:
            kind = event["type"]
            if kind in ("onNewConversation", "onConversationChanged"):
                for c in event["conversationList"]:
                    self.mirror[c["conversationID"]] = c
            elif kind == "onConversationDeleted":
                for cid in event["conversationIDList"]:
                    self.mirror.pop(cid, None)
            elif kind == "onTotalUnreadMessageCountChanged":
                self.total = event["totalUnreadCount"]
        return seen

    async def converged(self) -> None:
        """Everything the events said equals what the queries say now."""
        listing = (await self.q(LIST, {"n": None, "c": 100}))["getConversationList"]["conversationList"]
        assert {c["conversationID"]: c for c in listing} == self.mirror
        total = (await self.q("{ getTotalUnreadMessageCount }"))["getTotalUnreadMessageCount"]
        if self.total is not None:
            assert total == self.total

    async def send(self, to: str, text: str, group: bool = False, at: str = "") -> Any:
        if at:
            created = (
                await self.q(f'mutation {{ createTextAtMessage(text: "{text}", atUserList: ["{at}"]) {{ id }} }}')
            )["createTextAtMessage"]["id"]
        else:
            created = (await self.q(f'mutation {{ createTextMessage(text: "{text}") {{ id }} }}'))["createTextMessage"][
                "id"
            ]
        where = f'groupID: "{to}"' if group else f'receiver: "{to}"'
        return (await self.q(f'mutation {{ sendMessage(id: "{created}", {where}) {{ msgID }} }}'))["sendMessage"]


async def user(client: HTTPClient, server: InProcessGateway, name: str) -> User:
    """`name` online, listening to conversationListener, past its opening sync events."""
    u = await User.online(client, server.ws_url, name, EVENTS)
    start = await u.drain(first_within=10.0)  # a loaded machine may take a while to open it
    assert [e["type"] for e in start][:2] == ["onSyncServerStart", "onSyncServerFinish"]
    return u
