"""Friendship as the tests drive it: friendshipListener's document, the state queries, addFriend,
and `User`, an actor that keeps a client-side copy of its friend list, blacklist and requests built
only from the events it receives; after every mutation it must equal what the queries return."""

from __future__ import annotations

from typing import Any

from tests.support.actors import QUIET_SECONDS, Actor
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway

INFO = "userID friendRemark friendGroup friendCustomInfo { key value } userProfile { userID nickName }"
APP = "userID nickName addWording addSource type"
EVENTS = f"""
subscription($since: String) {{
  friendshipListener(since: $since) {{
    __typename
    ... on FriendApplicationListAddedEvent {{ type cursor applicationList {{ {APP} }} }}
    ... on FriendApplicationListDeletedEvent {{ type cursor userIDList }}
    ... on FriendApplicationListReadEvent {{ type cursor }}
    ... on FriendListAddedEvent {{ type cursor infoList {{ {INFO} }} }}
    ... on FriendListDeletedEvent {{ type cursor userIDList }}
    ... on BlackListAddEvent {{ type cursor infoList {{ {INFO} }} }}
    ... on BlackListDeletedEvent {{ type cursor userIDList }}
    ... on FriendInfoChangedEvent {{ type cursor infoList {{ {INFO} }} }}
  }}
}}"""
STATE = f"""{{
  getFriendList {{ {INFO} }}
  getBlackList {{ userID }}
  getFriendApplicationList {{ unreadCount friendApplicationList {{ {APP} }} }}
}}"""
ADD = """mutation($u: String!, $t: V2TIM_FriendAddType!, $r: String, $w: String, $s: String, $g: String) {
  addFriend(userID: $u, addType: $t, remark: $r, addWording: $w, addSource: $s, friendGroup: $g) {
    userID resultCode resultInfo } }"""
SET_ALLOW = "mutation($a: V2TIM_Allowtype) { setSelfInfo(allowType: $a) { userID } }"


class User(Actor):
    def __init__(
        self, client: HTTPClient, token: str, name: str = "", ws: WSClient | None = None, ops: tuple[str, ...] = ()
    ) -> None:
        super().__init__(client, token, name, ws, ops)
        self.friends: dict[str, dict[str, Any]] = {}
        self.blocked: set[str] = set()
        self.requests: dict[str, dict[str, Any]] = {}

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind in ("onFriendListAdded", "onFriendInfoChanged"):
            for info in event["infoList"]:
                self.friends[info["userID"]] = info
        elif kind == "onFriendListDeleted":
            for uid in event["userIDList"]:
                self.friends.pop(uid, None)
        elif kind == "onBlackListAdd":
            self.blocked.update(i["userID"] for i in event["infoList"])
        elif kind == "onBlackListDeleted":
            self.blocked.difference_update(event["userIDList"])
        elif kind == "onFriendApplicationListAdded":
            for app in event["applicationList"]:
                self.requests[app["userID"]] = app
        elif kind == "onFriendApplicationListDeleted":
            for uid in event["userIDList"]:
                self.requests.pop(uid, None)

    async def drain(
        self, op: str | None = None, *, quiet: float = QUIET_SECONDS, first_within: float | None = None
    ) -> list[dict[str, Any]]:
        """Apply every event that arrives until the stream is quiet."""
        seen = await super().drain(op, quiet=quiet, first_within=first_within)
        for event in seen:
            self.apply(event)
        return seen

    async def converged(self) -> None:
        state = await self.q(STATE)
        assert self.friends == {f["userID"]: f for f in state["getFriendList"]}
        assert self.blocked == {b["userID"] for b in state["getBlackList"]}
        assert self.requests == {a["userID"]: a for a in state["getFriendApplicationList"]["friendApplicationList"]}


async def make_user(client: HTTPClient, server: InProcessGateway, name: str, platform: str = "web") -> User:
    """`name` online, listening to friendshipListener, its mirror caught up with the opening events."""
    user = await User.online(client, server.ws_url, name, EVENTS, platform=platform)
    await user.drain()
    return user


async def settle(*users: User) -> dict[str, list[str]]:
    """Drain every user's events, check convergence, and return the event types each saw."""
    seen = {u.name: [e["type"] for e in await u.drain()] for u in users}
    for u in users:
        await u.converged()
    return seen
