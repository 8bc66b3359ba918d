"""The echo of the app admin's group send without From_Account, applied to the mirror: the message is
stored once.

The gateway sends the app admin's own message (the REST send of an admin, no member) to Tencent
without From_Account (gateway.tencent.groups `send_group_message`). Tencent documents such a send as
the admin's ("The app admin sends ordinary group messages, and the sender is the app admin", D 34959,
B3's request without From_Account): the admin calling, the `identifier` of the call, which
Group.CallbackAfterSendMsg names as its From_Account. The echo is dropped when the gateway recorded
the send as its own first; when not (the echo came first, or the record was lost), the mirror
applies it as a message of Tencent's, which must then be the gateway's own message (same seq,
Random and sender: gateway.engine.group_messages `_make_room` leaves it alone), neither a second
copy nor a non-member's send refused (10007) until the webhook's entry is given up.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway.im.messages import StoredMessage
from gateway.tencent.groups import TencentGroups
from gateway.tencent.inbound import GroupMessageSent
from gateway.tencent.mirror_group_messages import message_sent
from gateway.upstream import UpstreamSent
from gateway.v4.callbacks import GROUP_AFTER_SEND
from tests.support.tencent_pair import Pair
from tests.tencent.test_group_early_recall import mirror_of
from tests.tencent.test_groups_e2e import settled
from tests.tencent.test_topics import community, create_topic, texts

RANDOM = 7  # the body's; the mirror sends its own (kept with the created message), which Tencent echoes
TEXT = "from the app"


def admin_of(pair: Pair) -> str:
    """The admin identifier the gateway calls Tencent as (and sends the app's own messages as)."""
    up = mirror_of(pair).upstream
    assert up is not None
    assert isinstance(up.groups, TencentGroups)
    return up.groups._client.admin


def echo(pair: Pair, gid: str, topic: str, seq: int, random: int) -> GroupMessageSent:
    """Tencent's Group.CallbackAfterSendMsg of the admin's send: From_Account the admin calling."""
    return GroupMessageSent(
        command=GROUP_AFTER_SEND,
        group_id=gid,
        group_type="Community",
        from_account=admin_of(pair),
        random=random,
        msg_body=({"MsgType": "TIMTextElem", "MsgContent": {"Text": TEXT}},),
        msg_seq=seq,
        msg_time=int(time.time()),
        topic_id=topic,
    )


async def admin_send(pair: Pair, gid: str, topic: str) -> dict[str, Any]:
    """The app admin's REST send (no From_Account) on the mirror: to Tencent first, then stored."""
    body = {"MsgType": "TIMTextElem", "MsgContent": {"Text": TEXT}}
    where = {"GroupId": gid, "TopicId": topic} if topic else {"GroupId": gid}
    sent = await mirror_of(pair).server.call(
        "group_open_http_svc/send_group_msg", {**where, "Random": RANDOM, "MsgBody": [body]}
    )
    assert sent["ErrorCode"] == 0, sent
    return sent


@pytest.mark.parametrize("in_topic", [False, True], ids=["community", "topic"])
@pytest.mark.parametrize("order", ["echo-after-the-send", "echo-before-the-store"])
async def test_the_echo_of_an_admins_send_is_stored_once(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, order: str, in_topic: bool
) -> None:
    alice, _, dave, gid = await community(pair)
    topic = await create_topic(alice, gid, "news") if in_topic else ""
    timeline = topic or gid
    # on Tencent the admin identifier is an account of the app, which the echo names
    imported = await pair.admin("im_open_login_svc/account_import", {"UserID": admin_of(pair)})
    assert imported["ErrorCode"] == 0, imported
    await settled(pair)
    # the send as Tencent took it (its Random is the mirror's own, kept with the created message),
    # and, echo first, its echo applied once Tencent took it, before the gateway stores it (the
    # webhook overtaking the send's own write): the mirror has it first, the send finds it there
    up = mirror_of(pair).upstream
    assert up is not None
    real = up.groups.send_group_message
    taken: list[GroupMessageSent] = []

    async def sent_to_tencent(message: StoredMessage, *, online_only: bool) -> UpstreamSent:
        sent = await real(message, online_only=online_only)
        taken.append(echo(pair, gid, topic, int(sent.key), message.random))
        if order == "echo-before-the-store":
            await message_sent(mirror_of(pair), taken[0])
        return sent

    monkeypatch.setattr(up.groups, "send_group_message", sent_to_tencent)
    sent = await admin_send(pair, gid, topic)
    monkeypatch.undo()
    if order == "echo-after-the-send":  # its record as the gateway's own lost, say
        await message_sent(mirror_of(pair), taken[0])
    await settled(pair)
    assert await texts(dave, timeline) == [(sent["MsgSeq"], admin_of(pair), TEXT)]
    where = {"GroupId": gid, "TopicId": topic} if topic else {"GroupId": gid}
    on_tencent = await pair.admin("group_open_http_svc/group_msg_get_simple", {**where, "ReqMsgNumber": 20})
    texts_there = [
        (m["From_Account"], b["MsgContent"]["Text"])
        for m in on_tencent["RspMsgList"]
        for b in m["MsgBody"]
        if b["MsgType"] == "TIMTextElem"
    ]
    assert texts_there == [(admin_of(pair), TEXT)]  # on Tencent too, sent as the admin calling
