"""Tencent's webhooks applied to the local mirror: what native SDK users (and the app's own REST
calls) did reaches imql users as the listener events the embedded engine publishes.

Each inbound event becomes the mirror's own server write, made through the mirror's REST v4
server (`gateway.backend.ServerAPI`: the same bodies Tencent's REST takes, with the engine's
server-side semantics: no SDK rule checks, Tencent applied them), inside
`gateway.upstream.from_upstream()` so that nothing goes back up to Tencent. Accounts the mirror
has never seen are fetched from Tencent first (`AccountManager.exists` does that).

An event this build does not mirror yet is logged and acknowledged (`UNMIRRORED`), so a busy app's
queue never stalls on it; docs/tencent.md lists which callbacks are applied.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.backend import AccountManager, ServerAPI
from gateway.tencent.inbound import C2CMessageSent, InboundEvent, PortraitSet
from gateway.upstream import from_upstream
from gateway.v4.profile import CUSTOM_PREFIX, is_sdk_field, tag_value

log = logging.getLogger("imql.tencent")

SYNC_TO_SENDER = 1
ONLINE_ONLY_LIFETIME = 0


class MirrorRefused(RuntimeError):
    """The mirror would not apply an event (e.g. it lacks an account Tencent has)."""


class MirrorHandler:
    """`gateway.tencent.inbound.InboundHandler`: one event at a time, in the queue's order."""

    def __init__(self, mirror: ServerAPI, accounts: AccountManager) -> None:
        self._mirror = mirror
        self._accounts = accounts

    async def handle(self, event: InboundEvent) -> None:
        if isinstance(event, C2CMessageSent):
            await self._c2c_message(event)
        elif isinstance(event, PortraitSet):
            await self._portrait_set(event)
        else:
            log.info("%s is not mirrored by this build; acknowledged", event.command)

    async def _c2c_message(self, event: C2CMessageSent) -> None:
        if not event.delivered or not event.msg_body:
            return  # Tencent refused it (SendMsgResult != 0): nobody received anything
        # both accounts in the mirror (fetched from Tencent if new): the send needs them
        await self._accounts.exists([event.from_account, event.to_account])
        body: dict[str, Any] = {
            "SyncOtherMachine": SYNC_TO_SENDER,
            "From_Account": event.from_account,
            "To_Account": event.to_account,
            "MsgSeq": event.msg_seq,
            "MsgRandom": event.msg_random,
            "MsgBody": list(event.msg_body),
        }
        if event.online_only:
            body["MsgLifeTime"] = ONLINE_ONLY_LIFETIME
        if event.cloud_custom_data:
            body["CloudCustomData"] = event.cloud_custom_data
        await self._apply("openim/sendmsg", body)

    async def _portrait_set(self, event: PortraitSet) -> None:
        """The changed tags the mirror does not hold yet (our own portrait_set comes back as an
        echo with the values the mirror already has: it changes nothing and tells nobody)."""
        user_id = event.from_account
        with from_upstream():
            known = await self._accounts.get_users_info([user_id])
        if not known:
            return  # never seen here: fetched whole when someone first asks for it
        current = known[0]
        changed = [
            {"Tag": tag, "Value": value}
            for tag, value in event.items
            if (is_sdk_field(tag) or tag.startswith(CUSTOM_PREFIX)) and tag_value(tag, current, {}) != value
        ]
        if changed:
            await self._apply("profile/portrait_set", {"From_Account": user_id, "ProfileItem": changed})

    async def _apply(self, command: str, body: dict[str, Any]) -> None:
        """One server write on the mirror; a refusal raises, so the worker tries the event again
        (a bounded number of times: gateway.tencent.inbound.MAX_ATTEMPTS)."""
        with from_upstream():
            answer = await self._mirror.call(command, body)
        if answer.get("ErrorCode", 0) != 0:
            raise MirrorRefused(f"the mirror refused {command}: {answer.get('ErrorCode')} {answer.get('ErrorInfo')}")
