"""Offline push on the Tencent backend (docs/tencent.md, V2TIMOfflinePushManager): only native SDKs
can register device tokens with Tencent's push, so imql users keep imql's own push pipeline
(IMQL_PUSH_WEBHOOK_URL), now fed by Tencent's webhooks: a native user's message to an imql user
with no app in the foreground is pushed by the gateway. Native recipients are Tencent's to push,
from the OfflinePushInfo that imql's sends carry.
"""

from __future__ import annotations

import dataclasses

from gateway.config import Settings
from tests.support.groups import member
from tests.support.messages import device
from tests.support.tencent_pair import running_pair
from tests.tencent.test_groups_e2e import sent
from tests.test_push import PUSH_SECRET, Receiver, receiver, user

__all__ = ["receiver"]  # the push tests' real HTTP receiver, as a fixture here


async def test_native_messages_push_the_away_gateway_user_through_imqls_push_webhook(
    settings: Settings, redis_url: str, receiver: Receiver
) -> None:
    with_push = dataclasses.replace(settings, push_webhook_url=receiver.url, push_webhook_secret=PUSH_SECRET)
    async with running_pair(with_push, redis_url) as pair:
        bob = await device(pair.at_cloud, pair.cloud, "bob")  # native
        carol = await member(pair.at_cloud, pair.cloud, "carol")  # native
        await user(pair.at_gateway, "alice")  # on iOS with a push token, no app in the foreground
        await bob.send_text("alice", "are you there?")
        body = await receiver.next_body()
        assert (body["toUserID"], [d["token"] for d in body["devices"]]) == ("alice", ["tok-alice"])
        content = body["content"]
        assert (content["sender"], content["conversationID"], content["desc"]) == ("bob", "c2c_bob", "are you there?")

        gid = await carol.create("Public", "natives", a="V2TIM_GROUP_ADD_ANY")
        await pair.admin(
            "group_open_http_svc/add_group_member", {"GroupId": gid, "MemberList": [{"Member_Account": "alice"}]}
        )
        await sent(carol, gid, "group news")
        while (body := await receiver.next_body())["content"].get("desc") != "group news":
            pass  # a join tip is not pushed, but wait past anything else queued before
        assert (body["toUserID"], body["content"]["conversationID"]) == ("alice", f"group_{gid}")
        assert receiver.calls.empty()  # one push per message


async def test_a_gateway_users_send_carries_offline_push_info_for_tencent_to_push_natives(
    settings: Settings, redis_url: str, receiver: Receiver
) -> None:
    with_push = dataclasses.replace(settings, push_webhook_url=receiver.url, push_webhook_secret=PUSH_SECRET)
    async with running_pair(with_push, redis_url) as pair:
        bob = await device(pair.at_cloud, pair.cloud, "bob")  # native: Tencent pushes him
        alice = await device(pair.at_gateway, pair.gateway, "alice")
        created = await alice.create_text("ring ring")
        assert (await alice.send(created, "bob")).ok()  # the send document sets offlinePushInfo {t, d}
        heard = (await bob.event())["message"]
        assert heard["offlinePushInfo"] == {"title": "t", "desc": "d"}  # as Tencent received it
        assert receiver.calls.empty()  # the gateway pushes no native user itself
