"""Tencent failing, end to end: a fault-injecting HTTP proxy (tests/support/fault_proxy.py) between
the gateway and its cloud answers 5xx, answers too late, or answers Tencent's FAIL envelope.

What a gateway user sees is the mapped IM code (7012 for a Tencent that fails or does not answer,
7008 for its frequency limits, Tencent's own code where V2TIM has it), in a GraphQL error, never an
HTTP 500; a send whose outcome was unknown is sent again with the same MsgSeq and MsgRandom and
delivered once (Tencent's de-duplication, which imql's REST server implements); a refused write
leaves the mirror as it was. The client's timeout and back-off are shortened (IMQL_TENCENT_TIMEOUT,
IMQL_TENCENT_RETRY_BACKOFF) so each case takes about a second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from gateway.config import Settings
from gateway.errors import Code
from tests.support.fault_proxy import Fault, FaultProxy, fault_proxy
from tests.support.messages import Device, device
from tests.support.tencent_pair import Pair, running_pair
from tests.tencent.test_backend_e2e import REVOKE, history, text_of

TIMEOUT_SECONDS = 1.0  # one REST attempt (the cloud answers in milliseconds, even on a busy machine)
SEND = "openim/sendmsg"
WITHDRAW = "openim/admin_msgwithdraw"


@dataclass
class Faulty:
    pair: Pair
    proxy: FaultProxy
    alice: Device  # on the gateway
    bob: Device  # native, on the cloud


@pytest.fixture
async def faulty(settings: Settings, redis_url: str) -> AsyncIterator[Faulty]:
    quick = dataclasses.replace(settings, tencent_timeout_seconds=TIMEOUT_SECONDS, tencent_retry_backoff_seconds=0.05)
    async with fault_proxy() as proxy, running_pair(quick, redis_url, api_url_for=proxy.forward_to) as pair:
        bob = await device(pair.at_cloud, pair.cloud, "bob")
        alice = await device(pair.at_gateway, pair.gateway, "alice")
        await alice.q('{ getUsersInfo(userIDList: ["bob"]) { userID } }')  # bob is in the mirror
        yield Faulty(pair, proxy, alice, bob)


@pytest.mark.parametrize(
    "fault",
    [Fault.http(502, reached=True), Fault.late(TIMEOUT_SECONDS + 0.5)],
    ids=["502-after-tencent-took-it", "answer-after-the-timeout"],
)
async def test_a_send_whose_outcome_was_unknown_is_sent_again_and_delivered_once(faulty: Faulty, fault: Fault) -> None:
    alice, bob, proxy = faulty.alice, faulty.bob, faulty.proxy
    proxy.inject(SEND, fault)
    sent = await alice.send_text("bob", "through a bad network")
    attempts = proxy.calls(SEND)
    assert len(attempts) == 2  # the first one reached Tencent, then its answer was lost
    first, second = (a.body for a in attempts)
    assert (second["MsgSeq"], second["MsgRandom"]) == (first["MsgSeq"], first["MsgRandom"])
    heard = (await bob.event())["message"]
    assert text_of(heard) == "through a bad network"
    assert heard["timestamp"] == sent["timestamp"]  # the mirror keeps the first send's answer
    await bob.quiet()  # delivered once
    assert [text_of(m) for m in await history(bob, "alice")] == ["through a bad network"]
    assert [text_of(m) for m in await history(alice, "bob")] == ["through a bad network"]


async def test_tencents_frequency_limit_is_retried_then_7008_and_changes_nothing(faulty: Faulty) -> None:
    alice, bob, proxy = faulty.alice, faulty.bob, faulty.proxy
    proxy.inject(SEND, Fault.tencent(60007), Fault.tencent(60007), Fault.tencent(60007))
    reply = await alice.send(await alice.create_text("too fast"), "bob")
    assert reply.status == 200
    assert reply.codes == [Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT]
    assert "tencent 60007 (openim/sendmsg)" in reply.errors[0]["message"]
    assert len(proxy.calls(SEND)) == 3  # the client's attempts, all refused
    assert await history(alice, "bob") == []
    assert await history(bob, "alice") == []

    proxy.inject(SEND, Fault.tencent(60007))  # once: the retry goes through
    await alice.send_text("bob", "a moment later")
    assert text_of((await bob.event())["message"]) == "a moment later"
    await bob.quiet()
    assert [text_of(m) for m in await history(alice, "bob")] == ["a moment later"]


async def test_a_tencent_that_keeps_failing_is_7012_and_changes_nothing(faulty: Faulty) -> None:
    alice, bob, proxy = faulty.alice, faulty.bob, faulty.proxy
    proxy.inject(SEND, Fault.http(502), Fault.http(503), Fault.http(502))
    reply = await alice.send(await alice.create_text("into the void"), "bob")
    assert reply.status == 200
    assert reply.codes == [Code.ERR_SDK_INTERNAL_ERROR]
    assert "answered HTTP 502" in reply.errors[0]["message"]
    assert len(proxy.calls(SEND)) == 3
    assert await history(alice, "bob") == []
    await bob.quiet()


async def test_a_refusal_no_retry_can_fix_is_sent_once_and_passed_through(faulty: Faulty) -> None:
    alice, bob, proxy = faulty.alice, faulty.bob, faulty.proxy
    sent = await alice.send_text("bob", "keep me")
    await bob.event()
    proxy.inject(WITHDRAW, Fault.tencent(90054, "MsgKey invalid"))
    reply = await alice.call(REVOKE, {"m": sent["msgID"]})
    assert reply.status == 200
    assert reply.codes == [90054]  # V2TIM knows Tencent's code: passed through, with it in desc
    assert "tencent 90054 (openim/admin_msgwithdraw): MsgKey invalid" in reply.errors[0]["message"]
    assert len(proxy.calls(WITHDRAW)) == 1  # not a code a resend fixes
    (mine,) = await history(alice, "bob")
    assert mine["status"] == "V2TIM_MSG_STATUS_SEND_SUCC"  # not recalled in the mirror
    await bob.quiet()  # nor on Tencent: the native side heard nothing
