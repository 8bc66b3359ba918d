"""Signaling as the tests drive it: signalingListener's document, the signaling messages in
history, and `Device`, an actor listening to signalingListener that can invite."""

from __future__ import annotations

import json
from typing import Any

from tests.support.actors import Actor
from tests.support.clients import HTTPClient

EVENTS = """subscription { signalingListener { __typename
  ... on ReceiveNewInvitationEvent { type inviteID inviter groupID inviteeList data }
  ... on InviteeAcceptedEvent { type inviteID invitee data }
  ... on InviteeRejectedEvent { type inviteID invitee data }
  ... on InvitationCancelledEvent { type inviteID inviter data }
  ... on InvitationTimeoutEvent { type inviteID inviteeList }
  ... on InvitationModifiedEvent { type inviteID data }
} }"""
HISTORY = '{ getC2CHistoryMessageList(userID: "%s", count: 20) { msgID elemType customElem { data } } }'


class Device(Actor):
    async def invite(self, invitee: str, **args: Any) -> str:
        extra = "".join(f", {k}: {json.dumps(v)}" for k, v in args.items())
        return str((await self.q(f'mutation {{ invite(invitee: "{invitee}"{extra}) }}'))["invite"])


async def device(client: HTTPClient, ws_url: str, user: str, platform: str = "web") -> Device:
    """`user` online on `platform`, listening to signalingListener."""
    return await Device.online(client, ws_url, user, EVENTS, platform=platform)
