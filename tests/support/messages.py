"""C2C messages as the tests drive them: the documents of advancedMsgListener, send and history,
and `Device`, an actor listening to advancedMsgListener that creates and sends texts."""

from __future__ import annotations

from typing import Any

from tests.support.actors import CREATE_TEXT, Actor
from tests.support.clients import GraphQLReply, HTTPClient
from tests.support.servers import InProcessGateway

__all__ = ["CREATE_TEXT", "EVENTS", "HISTORY", "MODIFY", "MSG", "SEND", "Device", "device", "send_text"]

MSG = """msgID id createdID sender userID nickName friendRemark status isSelf isRead isPeerRead elemType seq timestamp
  textElem { text } customElem { data desc extension } cloudCustomData localCustomData priority
  isExcludedFromUnreadCount isExcludedFromLastMessage needReadReceipt isSupportMessageExtension
  imageElem { path imageList { type url } } locationElem { desc longitude latitude } faceElem { index data }
  offlinePushInfo { title desc }"""
EVENTS = f"""subscription($since: String) {{ advancedMsgListener(since: $since) {{
  __typename
  ... on RecvNewMessageEvent {{ type cursor message {{ {MSG} }} }}
  ... on RecvC2CReadReceiptEvent {{ type cursor receiptList {{ userID timestamp isPeerRead }} }}
  ... on RecvMessageRevokedEvent {{ type cursor msgID }}
  ... on RecvMessageModifiedEvent {{ type cursor message {{ {MSG} }} }}
}} }}"""
SEND = f"""mutation($id: String!, $to: String, $g: String, $o: Boolean!, $c: String, $l: String, $x: Boolean!) {{
  sendMessage(id: $id, receiver: $to, groupID: $g, onlineUserOnly: $o, cloudCustomData: $c, localCustomData: $l,
              isExcludedFromUnreadCount: $x, offlinePushInfo: {{title: "t", desc: "d"}}) {{ {MSG} }} }}"""
HISTORY = f"""query($u: String!, $n: Int!, $last: String) {{
  getC2CHistoryMessageList(userID: $u, count: $n, lastMsgID: $last) {{ {MSG} }} }}"""
MODIFY = """mutation($m: String!, $t: String!, $c: String) {
  modifyMessage(message: {msgID: $m, textElem: {text: $t}, cloudCustomData: $c}) {
    msgID textElem { text } cloudCustomData } }"""


class Device(Actor):
    async def send_text(self, to: str, text: str, **options: Any) -> dict[str, Any]:
        reply = await self.send(await self.create_text(text), to, **options)
        return dict(reply.ok()["sendMessage"])

    async def send(self, created: str, to: str | None, **options: Any) -> GraphQLReply:
        """sendMessage of a created message; `options` are SEND's variables (g, o, c, l, x)."""
        variables = {"id": created, "to": to, "g": None, "o": False, "c": None, "l": None, "x": False}
        variables.update(options)
        return await self.call(SEND, variables)


async def device(client: HTTPClient, server: InProcessGateway, user: str, platform: str = "web") -> Device:
    """`user` online on `platform`, listening to advancedMsgListener."""
    return await Device.online(client, server.ws_url, user, EVENTS, platform=platform)


async def send_text(client: HTTPClient, token: str, text: str, *, to: str = "", group: str = "") -> dict[str, Any]:
    """Send a text as the user of `token` (to a user or a group); the sent message's msgID."""
    sender = Actor(client, token)
    created = await sender.create_text(text)
    target = f'receiver: "{to}"' if to else f'groupID: "{group}"'
    return dict((await sender.q(f'mutation {{ sendMessage(id: "{created}", {target}) {{ msgID }} }}'))["sendMessage"])
