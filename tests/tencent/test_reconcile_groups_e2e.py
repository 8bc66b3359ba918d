"""Group messages whose webhook was lost, read back from Tencent when a gateway user comes online
(gateway/tencent/reconcile_groups.py): the cloud of the pair never sends Group.CallbackAfterSendMsg.

Each lost message reaches the mirror once, at Tencent's MsgSeq, live (onRecvNewMessage) and unread
as the webhook would have brought it; the gateway's own sends, already mirrored, are not applied
again, and coming online again brings nothing twice.
"""

from __future__ import annotations

from gateway.config import Settings
from gateway.v4.callbacks import GROUP_AFTER_SEND, SUPPORTED_COMMANDS
from tests.support.groups import member
from tests.support.tencent_pair import eventually, running_pair
from tests.tencent.test_groups_e2e import TEXT, both, next_text, sent, tencent_history, texts, wait_for

UNREAD = '{ getConversation(conversationID: "group_%s") { unreadCount } }'


async def test_group_messages_whose_webhook_was_lost_are_read_back_once_live_and_unread(
    settings: Settings, redis_url: str
) -> None:
    lost = SUPPORTED_COMMANDS - {GROUP_AFTER_SEND}  # Tencent never tells the gateway of a group message
    async with running_pair(settings, redis_url, cloud_callbacks=lost) as pair:
        alice, bob = await both(pair, "alice", "bob")
        gid = await alice.create("Public", "read back", a="V2TIM_GROUP_ADD_ANY")
        assert await bob.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
        await wait_for(alice, "onMemberEnter")  # membership webhooks still arrive
        await sent(alice, gid, "from the gateway")  # through Tencent, mirrored at once
        await sent(bob, gid, "lost while alice was online")
        await alice.ws.close()
        await sent(bob, gid, "lost while alice was away")
        assert [t for _, _, t in await texts(alice, gid)] == ["from the gateway"]

        alice = await member(pair.at_gateway, pair.gateway, "alice")  # back online: read back
        heard = [await next_text(alice), await next_text(alice)]  # live, oldest first, as the webhooks
        assert [m["textElem"]["text"] for m in heard] == ["lost while alice was online", "lost while alice was away"]
        on_tencent = await tencent_history(pair, gid)
        tencent_texts = [
            (seq, m["From_Account"], m["MsgBody"][0]["MsgContent"]["Text"])
            for seq, m in sorted(on_tencent.items())
            if m["MsgBody"] and m["MsgBody"][0]["MsgType"] == "TIMTextElem"
        ]
        assert [(m["seq"], m["sender"]) for m in heard] == [(seq, who) for seq, who, _ in tencent_texts[1:]]
        assert await texts(alice, gid) == tencent_texts  # at Tencent's seqs, each once
        assert (await alice.q(UNREAD % gid))["getConversation"]["unreadCount"] == 2  # news, as webhooks are

        # again, with the read-back mark gone (a replica that never read this group back): it
        # starts from the mirror's newest message, so nothing is applied twice
        await alice.ws.close()
        redis, keys = pair.gateway.gateway.redis, pair.gateway.gateway.keys
        await redis.hdel(keys.tencent_groups_synced(), gid)
        alice = await member(pair.at_gateway, pair.gateway, "alice")

        async def read_back_again() -> bool:
            newest = await redis.hget(keys.tencent_groups_synced(), gid)
            return newest is not None and int(newest) == max(on_tencent)

        await eventually(read_back_again)
        assert [m for m in await alice.messages() if m["elemType"] == TEXT] == []
        assert await texts(alice, gid) == tencent_texts
        assert (await alice.q(UNREAD % gid))["getConversation"]["unreadCount"] == 2
