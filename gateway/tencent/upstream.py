"""The Tencent Cloud backend's writes: `gateway.upstream.Upstream` over REST v4.

The embedded engine, built with this upstream, is the backend's local mirror (docs/tencent-design.md):
it checks the SDK's rules, then calls these methods before its own write, and stores what Tencent
answered. Each method is one REST call (or a few, batched by Tencent's limits), with the user as
`From_Account` so Tencent records the action as theirs. Every message the gateway sends is
recorded as its own (`OwnMessages`), so Tencent's callback about it (OptPlatform RESTAPI) is known
as an echo and not applied to the mirror twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from gateway.im.messages import StoredMessage
from gateway.im.model import ProfileChanges, UserFullInfo
from gateway.tencent.client import TencentRestClient, bad_answer
from gateway.tencent.conversations import TencentConversations
from gateway.tencent.extensions import TencentExtensions
from gateway.tencent.friendship import TencentFriendship
from gateway.tencent.groups import TencentGroups
from gateway.tencent.identity import TencentIds
from gateway.tencent.inbound import MODIFY, READ, RECALL, SEND, OwnMessages, c2c_echo_key, c2c_send_id
from gateway.tencent.receipts import TencentReceipts
from gateway.tencent.send_options import send_options
from gateway.tencent.status import TencentStatus
from gateway.tencent.topics import TencentTopics
from gateway.upstream import AccountsUpstream, MessagesUpstream, UpstreamSent
from gateway.v4.fields import Body
from gateway.v4.msgbody import msgbody_from_content
from gateway.v4.profile import SDK_TAGS, items_from_changes, profile_from_write, read_profile_items

NAME = "tencent"
PORTRAIT_GET_MAX = 100  # To_Account per portrait_get (Tencent's limit)
ACCOUNT_CHECK_MAX = 100  # CheckItem per account_check
# the answer of a successful ping is kept this long: every subscription start asks (sdkListener's
# onConnectSuccess), and one REST call per subscription would spend the app's budget on pings
PING_CACHE_SECONDS = 10.0
PROFILE_INVALID = 40001  # Tencent's code for a profile item it cannot read
SYNC_TO_SENDER = 1  # SyncOtherMachine: also to the sender's devices and history
SYNC_NOT_TO_SENDER = 2
ONLINE_ONLY_LIFETIME = 0  # MsgLifeTime 0: delivered to online users only, never stored
MediaUrl = Callable[[str], str]


class TencentAccounts(AccountsUpstream):
    def __init__(self, client: TencentRestClient) -> None:
        self._client = client

    async def ensure_account(self, user_id: str) -> None:
        # importing an existing account changes nothing on Tencent's side (it answers OK)
        await self._client.call("im_open_login_svc/account_import", {"UserID": user_id}, idempotent=True)

    async def fetch_profiles(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        """portrait_get of the SDK tags; accounts Tencent does not have come back in Fail_Account
        (or with a ResultCode) and are left out."""
        found: list[UserFullInfo] = []
        for start in range(0, len(user_ids), PORTRAIT_GET_MAX):
            batch = list(user_ids[start : start + PORTRAIT_GET_MAX])
            answer = await self._client.call(
                "profile/portrait_get", {"To_Account": batch, "TagList": list(SDK_TAGS)}, idempotent=True
            )
            failed = set(answer.fail_accounts())
            for item in answer.result_items("UserProfileItem"):
                user_id = item.get("To_Account")
                if not isinstance(user_id, str) or user_id in failed or item.get("ResultCode", 0) != 0:
                    continue
                items = [
                    Body(i, PROFILE_INVALID, "ProfileItem.")
                    for i in item.get("ProfileItem") or []
                    if isinstance(i, dict)
                ]
                found.append(profile_from_write(user_id, read_profile_items(items)))
        return found

    async def set_profile(self, user_id: str, changes: ProfileChanges) -> None:
        items = items_from_changes(changes)
        if items:
            await self._client.call(
                "profile/portrait_set", {"From_Account": user_id, "ProfileItem": items}, idempotent=True
            )


class TencentMessages(MessagesUpstream):
    def __init__(self, client: TencentRestClient, own: OwnMessages, ids: TencentIds, media_url: MediaUrl) -> None:
        self._client = client
        self._own = own
        self._ids = ids
        self._media_url = media_url

    async def send_c2c(self, message: StoredMessage, *, online_only: bool, to_sender: bool) -> UpstreamSent:
        body: dict[str, Any] = {
            "SyncOtherMachine": SYNC_TO_SENDER if to_sender else SYNC_NOT_TO_SENDER,
            "From_Account": message.sender,
            "To_Account": message.receiver,
            # the mirror's seq and random: a retried send (same created id) repeats them, and
            # Tencent drops the repeat as a duplicate (MAPPING.md #32)
            "MsgSeq": message.seq,
            "MsgRandom": message.random,
            "MsgBody": msgbody_from_content(message.content, self._media_url),
        }
        if online_only:
            body["MsgLifeTime"] = ONLINE_ONLY_LIFETIME
        body.update(send_options(message, online_only=online_only, receipt_field="IsNeedReadReceipt"))
        # recorded before the call: Tencent's callback about it may arrive before its answer
        sent_id = c2c_send_id(message.seq, message.random)
        await self._own.record_own_message(c2c_echo_key(SEND, message.sender, message.receiver, sent_id))
        answer = await self._client.call("openim/sendmsg", body, idempotent=True)
        msg_key = answer.get("MsgKey")
        msg_time = answer.get("MsgTime")
        if not isinstance(msg_key, str) or not isinstance(msg_time, int):
            raise bad_answer("openim/sendmsg", "no MsgKey or MsgTime")
        # the mirror stores it with the same seq and random, and Tencent's time
        mirror_key = f"{message.seq}_{message.random}_{msg_time}"
        await self._ids.link_c2c(message.sender, message.receiver, message.msgID, mirror_key, msg_key)
        return UpstreamSent(timestamp=msg_time, key=msg_key)

    async def recall_c2c(self, message: StoredMessage, by: str) -> None:
        key = await self._ids.key_of(message)
        # the echo is recorded first: Tencent's callback can arrive before its answer
        await self._own.record_own_message(c2c_echo_key(RECALL, message.sender, message.receiver, key))
        await self._client.call(
            "openim/admin_msgwithdraw",
            {"From_Account": message.sender, "To_Account": message.receiver, "MsgKey": key},
            idempotent=True,
        )

    async def modify_c2c(self, message: StoredMessage, by: str) -> None:
        key = await self._ids.key_of(message)
        body: dict[str, Any] = {
            "From_Account": message.sender,
            "To_Account": message.receiver,
            "MsgKey": key,
            "MsgBody": msgbody_from_content(message.content, self._media_url),
            "CloudCustomData": message.cloudCustomData,
        }
        await self._own.record_own_message(c2c_echo_key(MODIFY, message.sender, message.receiver, key))
        await self._client.call("openim/modify_c2c_msg", body, idempotent=True)

    async def read_c2c(self, reader: str, peer: str, read_time: int) -> None:
        await self._own.record_own_message(c2c_echo_key(READ, reader, peer, ""))
        await self._client.call(
            "openim/admin_set_msg_read",
            {"Report_Account": reader, "Peer_Account": peer, "MsgReadTime": str(read_time)},
            idempotent=True,
        )


class TencentUpstream:
    """`gateway.upstream.Upstream` on one `TencentRestClient` (built by the composition root)."""

    name = NAME

    def __init__(
        self, client: TencentRestClient, own: OwnMessages, ids: TencentIds, status: TencentStatus, media_url: MediaUrl
    ) -> None:
        self.client = client
        self.ids = ids
        self.accounts = TencentAccounts(client)
        self.messages = TencentMessages(client, own, ids, media_url)
        self.conversations = TencentConversations(client)
        self.friendship = TencentFriendship(client)
        self.status = status
        self.groups = TencentGroups(client, own, media_url)
        self.topics = TencentTopics(client, own)
        self.extensions = TencentExtensions(client, ids)
        self.receipts = TencentReceipts(client, ids)
        self._pinged_at = float("-inf")

    async def ping(self) -> None:
        """account_check of the admin: proves the URL, the SDKAppID, the key and the admin."""
        now = time.monotonic()
        if now - self._pinged_at < PING_CACHE_SECONDS:
            return
        await self.client.call(
            "im_open_login_svc/account_check", {"CheckItem": [{"UserID": self.client.admin}]}, idempotent=True
        )
        self._pinged_at = now

    async def close(self) -> None:
        await self.client.aclose()
