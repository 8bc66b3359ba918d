"""Hostile input to the Tencent Cloud backend (gateway/tencent/): defects an adversarial review
found, each kept as a guard. Webhooks are signed as Tencent signs them (FIXTURES.md A4) and posted to the
gateway's route; the end-to-end ones run against the `pair` (tests/support/tencent_pair.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.tencent.webhooks import delivery_identity
from gateway.v4 import callbacks as wire
from tests.support.fault_proxy import Fault, fault_proxy
from tests.support.groups import member
from tests.support.messages import device
from tests.support.tencent_pair import TOKEN as PAIR_TOKEN
from tests.support.tencent_pair import Pair, running_pair
from tests.tencent import fixtures as fx
from tests.tencent.test_backend_e2e import history
from tests.tencent.test_groups_e2e import settled
from tests.tencent.test_webhooks import OK, Hooked, Recorder, _hooked


# ---- a gateway whose webhook events go to a recording handler (tests/tencent/test_webhooks.py's) ----
@pytest.fixture
async def hooked(settings: Settings, clock: ManualClock) -> AsyncIterator[Hooked]:
    running = await _hooked(settings, clock, Recorder())
    yield running
    await running.http.aclose()
    await running.server.stop()


# ---- the pair: callbacks injected as Tencent would send them --------------------------------------
async def inject(pair: Pair, body: dict[str, Any], platform: str = "Android") -> httpx.Response:
    """A callback signed as Tencent signs it (the pair's token, now), posted to the gateway's route."""
    query = wire.query_string(
        pair.gateway.settings.sdkappid,
        body["CallbackCommand"],
        "10.0.0.1",
        platform,
        token=PAIR_TOKEN,
        request_time=int(time.time()),
    )
    async with httpx.AsyncClient(base_url=pair.gateway.base_url, timeout=10) as http:
        return await http.post(f"{pair.gateway.settings.tencent_callback_path}?{query}", content=orjson.dumps(body))


# ---- 1. one bad callback stops every later one ---------------------------------------------------
@pytest.mark.parametrize("msg_seq", [1e300, "99999999999999999999"], ids=["float", "20-digit-string"])
async def test_a_restapi_group_callback_with_an_out_of_range_msgseq_does_not_kill_the_inbound_worker(
    hooked: Hooked, msg_seq: Any
) -> None:
    """A signed Group.CallbackAfterSendMsg (FIXTURES.md C7, where MsgSeq is a small integer) from
    OptPlatform=RESTAPI whose MsgSeq is past 64 bits is a callback with a wrong field type: it must
    be refused, or acknowledged and dropped like any undecodable body (inbound.py's own contract:
    "a callback that cannot be decoded ... is logged and acknowledged"), and it must not stop the
    callbacks after it from reaching their subscribers. Before the fix, the echo check (`group_echo_key`,
    orjson.dumps of an int over 64 bits) raises TypeError outside every try of
    InboundWorker._process_one, StreamConsumer._run catches only Redis/OS errors, and the worker
    task dies: no webhook is handled again until the process restarts."""
    await hooked.sentinel(0)  # the worker runs
    poison = {**fx.C7, "MsgSeq": msg_seq}
    answer = await hooked.post(poison, platform=wire.REST_API)
    assert answer.status_code in (200, 400), answer.text
    await hooked.sentinel(1)  # and still does: a stopped worker never handles it


# ---- 2. a non-ASCII Sign is a 500 ----------------------------------------------------------------
async def test_a_callback_with_a_non_ascii_sign_is_refused_not_a_500(hooked: Hooked) -> None:
    """A forged callback whose Sign is not hex (here "é", percent-encoded) with a fresh RequestTime
    must get the same refusal as any other wrong Sign: HTTP 401 with Tencent's FAIL envelope and
    ErrorCode 60004 (webhooks.py's docstring, MAPPING.md section 5: "use constant-time compares";
    FIXTURES.md A2 for the envelope), never an HTTP 500. Before the fix, hmac.compare_digest raises TypeError
    for a non-ASCII str, which nothing catches, and the request answers 500 with a traceback logged."""
    url = hooked.url(wire.C2C_AFTER_SEND)
    head, _, tail = url.partition("&Sign=")
    forged = f"{head}&Sign={quote('é')}&{tail.split('&', 1)[1]}"
    response = await hooked.http.post(forged, content=orjson.dumps(fx.C2))
    assert response.status_code == 401, response.text
    answer = response.json()
    assert (answer["ActionStatus"], answer["ErrorCode"]) == ("FAIL", 60004)
    await hooked.sentinel(0)
    assert not any(e.command == wire.C2C_AFTER_SEND for e in hooked.handler.events)


# ---- 3. a C2C message without a sender is delivered -----------------------------------------------
async def test_a_c2c_after_send_without_from_account_delivers_nothing(pair: Pair) -> None:
    """C2C.CallbackAfterSendMsg (FIXTURES.md C2) always names its sender, From_Account. A signed
    callback that lacks it is a callback with a missing field: it must change nothing and deliver no
    event (as the group path does: send_group_msg refuses an empty From_Account, and inbound.py
    requires MsgKey the same way). Before the fix, it is decoded with from_account "" and alice, an imql user,
    hears onRecvNewMessage from sender "" (userID "") and the mirror stores it."""
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    bob = await device(pair.at_cloud, pair.cloud, "bob")
    now = int(time.time())
    body = {**fx.C2, "To_Account": "alice", "MsgKey": f"1_2_{now}", "MsgSeq": 1, "MsgRandom": 2, "MsgTime": now}
    del body["From_Account"]
    response = await inject(pair, body)
    assert response.status_code in (200, 400)
    await bob.send_text("alice", "after the bad one")  # a real message: the queue moves on
    await settled(pair)
    heard = [e["message"] for e in await alice.drain(first_within=5) if e["type"] == "onRecvNewMessage"]
    assert [(m["sender"], m["textElem"]["text"]) for m in heard] == [("bob", "after the bad one")]


# ---- 4. a recall that overtakes its send ----------------------------------------------------------
async def test_a_c2c_recall_that_arrives_before_its_send_still_recalls_the_message(pair: Pair) -> None:
    """MAPPING.md section 5: after-callbacks may be retried (duplicates) and their order is not
    documented, "order by MsgTime/MsgSeq, not by arrival". A native user's message recalled at once
    can reach the gateway as C2C.CallbackAfterMsgWithDraw (C4) before its C2C.CallbackAfterSendMsg
    (C2), e.g. when the send's first delivery failed and Tencent's retry comes later. The recalled
    message must not reach the imql receiver as a live, unrecalled message. Before the fix, the recall is
    dropped ("the mirror never had" it) and the send that follows is delivered and kept as a
    normal message, which on Tencent is recalled."""
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    await device(pair.at_cloud, pair.cloud, "bob")
    now = int(time.time())
    ids = {"From_Account": "bob", "To_Account": "alice", "MsgKey": f"7_8_{now}"}
    assert (await inject(pair, {**fx.C4, **ids})).json() == OK
    await settled(pair)
    sent = {**fx.C2, **ids, "MsgSeq": 7, "MsgRandom": 8, "MsgTime": now, "OnlineOnlyFlag": 0}
    assert (await inject(pair, sent)).json() == OK
    await settled(pair)
    events = await alice.drain(first_within=2)
    live = [
        e for e in events if e["type"] == "onRecvNewMessage" and e["message"]["status"] == "V2TIM_MSG_STATUS_SEND_SUCC"
    ]
    revoked = [e for e in events if e["type"] == "onRecvMessageRevoked"]
    assert not live or revoked, events
    kept = [m["status"] for m in await history(alice, "bob")]
    assert "V2TIM_MSG_STATUS_SEND_SUCC" not in kept, kept


async def test_a_send_repeated_after_it_failed_to_apply_its_early_recall_still_recalls_it(pair: Pair) -> None:
    """The early recall's note once went (DEL) before the recall was made: an attempt that mirrored
    the send and then failed on the recall left the message live, and the retry of the same
    callback found it "mirrored already" and stopped. Here that state is made as such an attempt
    leaves it (the send mirrored, the recall's note still there), and the repeat of the send must
    apply the recall."""
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    await device(pair.at_cloud, pair.cloud, "bob")
    now = int(time.time())
    ids = {"From_Account": "bob", "To_Account": "alice", "MsgKey": f"9_10_{now}"}
    sent = {**fx.C2, **ids, "MsgSeq": 9, "MsgRandom": 10, "MsgTime": now, "OnlineOnlyFlag": 0}
    assert (await inject(pair, sent)).json() == OK
    await settled(pair)
    gateway = pair.gateway.gateway
    await gateway.redis.set(gateway.keys.tencent_early_recall("bob", "alice", ids["MsgKey"]), "", ex=60)
    # the same callback handled again (as the worker's retry of a failed attempt handles it): past
    # the route's "delivered again" mark
    identity, _ = delivery_identity(wire.C2C_AFTER_SEND, sent)
    await gateway.redis.delete(gateway.keys.tencent_inbound_seen(hashlib.sha256(identity.encode()).hexdigest()[:32]))
    assert (await inject(pair, sent)).json() == OK
    await settled(pair)
    kept = [m["status"] for m in await history(alice, "bob")]
    assert kept == ["V2TIM_MSG_STATUS_LOCAL_REVOKED"], kept
    assert not await gateway.redis.exists(gateway.keys.tencent_early_recall("bob", "alice", ids["MsgKey"]))


# ---- 5. a create refused half way leaves the group on Tencent --------------------------------------
async def test_a_muted_group_create_that_fails_leaves_no_group_behind(settings: Settings, redis_url: str) -> None:
    """createGroup(isAllMuted: true) is two REST calls on Tencent (create_group takes no
    MuteAllMember, MAPPING.md #9): create_group, then modify_group_base_info. When the second is
    refused (ActionStatus FAIL, here ErrorCode 10007), the mutation answers that GraphQL error, so
    the request was refused and must change nothing (docs/tencent-design.md, writes: "if REST
    refuses, nothing is written"). The group the first call made once stayed: on Tencent, in the
    caller's getJoinedGroupList and the native member's; a client that retried the failed create
    made a second group. It is destroyed now (its members, told of it by Tencent as it was made,
    are told it is gone)."""
    quick = dataclasses.replace(settings, tencent_timeout_seconds=1.0, tencent_retry_backoff_seconds=0.05)
    async with fault_proxy() as proxy, running_pair(quick, redis_url, api_url_for=proxy.forward_to) as pair:
        await member(pair.at_cloud, pair.cloud, "bob")
        alice = await member(pair.at_gateway, pair.gateway, "alice")
        await alice.q('{ getUsersInfo(userIDList: ["bob"]) { userID } }')
        proxy.inject("group_open_http_svc/modify_group_base_info", Fault.tencent(10007, "injected"))
        reply = await alice.call(
            'mutation { createGroup(groupName: "muted", groupType: V2TIM_GROUP_TYPE_WORK, isAllMuted: true,'
            ' memberListMap: [{userID: "bob"}]) }'
        )
        assert reply.codes == [10007]  # refused, with Tencent's code
        await settled(pair)
        on_tencent = await pair.admin("group_open_http_svc/get_joined_group_list", {"Member_Account": "alice"})
        assert on_tencent.get("GroupIdList", []) == []
        assert (await alice.q("{ getJoinedGroupList { groupID } }"))["getJoinedGroupList"] == []
        # Tencent told bob of the group as it made it: it is gone for him too
        bobs = await pair.admin("group_open_http_svc/get_joined_group_list", {"Member_Account": "bob"})
        assert bobs.get("GroupIdList", []) == []


async def test_dismissing_a_group_tencent_no_longer_has_removes_the_mirrors_copy(
    settings: Settings, redis_url: str
) -> None:
    """A dismissal cut after Tencent's destroy_group (or whose webhook was lost) left the group in the
    mirror: dismissing it again was refused with Tencent's 10010 for ever, and the members kept it
    in their joined lists. Tencent is the source of truth: the mirror's copy goes."""
    async with running_pair(settings, redis_url, cloud_callbacks=frozenset()) as pair:
        await member(pair.at_cloud, pair.cloud, "bob")
        alice = await member(pair.at_gateway, pair.gateway, "alice")
        await alice.q('{ getUsersInfo(userIDList: ["bob"]) { userID } }')
        made = await alice.q(
            'mutation { createGroup(groupName: "gone", groupType: V2TIM_GROUP_TYPE_WORK, memberListMap: [{userID: "bob"}]) }'
        )
        gid = made["createGroup"]
        gone = await pair.admin("group_open_http_svc/destroy_group", {"GroupId": gid})
        assert gone["ErrorCode"] == 0, gone
        assert (await alice.call("mutation($g: String!) { dismissGroup(groupID: $g) }", {"g": gid})).codes == []
        assert (await alice.q("{ getJoinedGroupList { groupID } }"))["getJoinedGroupList"] == []
