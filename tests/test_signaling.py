"""V2TIMSignalingManager and signalingListener end to end: invitations, answers, cancellation,
server-side timeouts (injected clock, and across replicas), the signaling messages in history."""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.message_manager import EmbeddedMessages
from gateway.errors import Code
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway, start_in_process
from tests.support.signaling import HISTORY, Device, device

INFO = "inviteID groupID inviter inviteeList data timeout actionType"


@pytest.fixture
async def call(client: HTTPClient, server: InProcessGateway) -> tuple[Device, Device, Device]:
    """alice (web), bob (web), and bob's phone."""
    alice = await device(client, server.ws_url, "alice")
    bob = await device(client, server.ws_url, "bob")
    bob_phone = await device(client, server.ws_url, "bob", platform="ios")
    return alice, bob, bob_phone


async def test_invite_then_accept_reaches_every_device_and_history(call: tuple[Device, Device, Device]) -> None:
    alice, bob, bob_phone = call
    invite_id = await alice.invite("bob", data='{"call":"video"}', timeout=30)
    for d in (bob, bob_phone):
        assert await d.event() == {
            "__typename": "ReceiveNewInvitationEvent",
            "type": "onReceiveNewInvitation",
            "inviteID": invite_id,
            "inviter": "alice",
            "groupID": "",
            "inviteeList": ["bob"],
            "data": '{"call":"video"}',
        }
    await alice.quiet()  # the inviter is not told of their own invitation
    assert await bob.q(f'mutation {{ accept(inviteID: "{invite_id}", data: "ok") }}')
    accepted = {"__typename": "InviteeAcceptedEvent", "type": "onInviteeAccepted", "inviteID": invite_id}
    assert await alice.event() == {**accepted, "invitee": "bob", "data": "ok"}
    assert await bob_phone.event() == {**accepted, "invitee": "bob", "data": "ok"}  # the answering device is not
    await bob.quiet()
    # answered once: a second answer, a cancel or a timeout find nothing open
    assert (await bob.call(f'mutation {{ accept(inviteID: "{invite_id}") }}')).codes == [8010]
    assert (await alice.call(f'mutation {{ cancel(inviteID: "{invite_id}") }}')).codes == [8010]
    # both steps are custom messages in the conversation, which getSignalingInfo reads back
    history = (await bob.q(HISTORY % "alice"))["getC2CHistoryMessageList"]
    assert [m["elemType"] for m in history] == ["V2TIM_ELEM_TYPE_CUSTOM"] * 2
    infos = [
        (await bob.q(f'{{ getSignalingInfo(msgID: "{m["msgID"]}") {{ {INFO} }} }}'))["getSignalingInfo"]
        for m in history
    ]
    assert [i["actionType"] for i in infos] == ["SIGNALING_ACTION_TYPE_ACCEPT_INVITE", "SIGNALING_ACTION_TYPE_INVITE"]
    assert infos[1] == {
        "inviteID": invite_id,
        "groupID": "",
        "inviter": "alice",
        "inviteeList": ["bob"],
        "data": '{"call":"video"}',
        "timeout": 30,
        "actionType": "SIGNALING_ACTION_TYPE_INVITE",
    }
    assert (infos[0]["data"], infos[0]["inviteeList"]) == ("ok", ["bob"])


async def test_reject_by_message_or_by_invite_id(call: tuple[Device, Device, Device]) -> None:
    alice, bob, bob_phone = call
    first = await alice.invite("bob")
    second = await alice.invite("bob")
    for _ in range(2):
        await bob.event()
        await bob_phone.event()
    # the invitation's message, as the params section documents reject's argument
    invite_message = (await bob.q(HISTORY % "alice"))["getC2CHistoryMessageList"][1]["msgID"]
    assert (
        json.loads((await bob.q(HISTORY % "alice"))["getC2CHistoryMessageList"][1]["customElem"]["data"])["inviteID"]
        == first
    )
    assert (await alice.call(f'mutation {{ reject(inviteID: "{first}") }}')).codes == [8011]  # not an invitee
    assert await bob.q(f'mutation {{ reject(msgID: "{invite_message}", data: "busy") }}')
    assert await alice.event() == {
        "__typename": "InviteeRejectedEvent",
        "type": "onInviteeRejected",
        "inviteID": first,
        "invitee": "bob",
        "data": "busy",
    }
    assert await bob.q(f'mutation {{ reject(inviteID: "{second}") }}')
    assert (await alice.event())["inviteID"] == second
    assert (await bob.call(f'mutation {{ reject(inviteID: "{second}") }}')).codes == [8010]
    assert (await bob.call("mutation { reject }")).codes == [Code.ERR_INVALID_PARAMETERS]
    text = (await bob.q('mutation { createTextMessage(text: "hi") { id } }'))["createTextMessage"]["id"]
    sent = (await bob.q(f'mutation {{ sendMessage(id: "{text}", receiver: "alice") {{ msgID }} }}'))["sendMessage"]
    assert (await bob.call(f'{{ getSignalingInfo(msgID: "{sent["msgID"]}") {{ inviteID }} }}')).codes == [
        Code.ERR_INVALID_PARAMETERS
    ]


async def test_only_the_inviter_cancels(call: tuple[Device, Device, Device], clock: ManualClock) -> None:
    alice, bob, bob_phone = call
    invite_id = await alice.invite("bob", data="ring")
    await bob.event()
    await bob_phone.event()
    assert (await bob.call(f'mutation {{ cancel(inviteID: "{invite_id}") }}')).codes == [8011]
    assert await alice.q(f'mutation {{ cancel(inviteID: "{invite_id}", data: "never mind") }}')
    cancelled = {
        "__typename": "InvitationCancelledEvent",
        "type": "onInvitationCancelled",
        "inviteID": invite_id,
        "inviter": "alice",
        "data": "never mind",
    }
    assert await bob.event() == cancelled
    assert await bob_phone.event() == cancelled
    assert (await bob.call(f'mutation {{ accept(inviteID: "{invite_id}") }}')).codes == [8010]
    assert (await bob.call('mutation { accept(inviteID: "no-such-invitation") }')).codes == [8010]
    await clock.advance(31)  # a cancelled invitation does not time out later
    await alice.quiet()
    await bob.quiet()


async def test_timeout_fires_once_for_the_inviter_and_the_unanswered(
    call: tuple[Device, Device, Device], clock: ManualClock
) -> None:
    alice, bob, bob_phone = call
    invite_id = await alice.invite("bob", timeout=30)
    await bob.event()
    await bob_phone.event()
    await clock.advance(29)
    await bob.quiet()
    await clock.advance(2)
    timeout = {
        "__typename": "InvitationTimeoutEvent",
        "type": "onInvitationTimeout",
        "inviteID": invite_id,
        "inviteeList": ["bob"],
    }
    for d in (alice, bob, bob_phone):
        assert await d.event() == timeout
    await clock.advance(60)
    await alice.quiet()
    await bob.quiet()
    assert (await bob.call(f'mutation {{ accept(inviteID: "{invite_id}") }}')).codes == [8010]
    history = (await alice.q(HISTORY % "bob"))["getC2CHistoryMessageList"]
    actions = [json.loads(m["customElem"]["data"])["actionType"] for m in history]
    assert actions == [5, 1]  # timeout, invite
    # an invitation with no timeout never times out
    await alice.invite("bob", timeout=0)
    await bob.event()
    await clock.advance(3600)
    await bob.quiet()


async def test_group_invitation(
    call: tuple[Device, Device, Device], client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    alice, bob, bob_phone = call
    carol = await device(client, server.ws_url, "carol")
    await client.login("dave")
    gid = (
        await alice.q(
            'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "standup",'
            ' memberListMap: [{userID: "bob"}, {userID: "carol"}]) }'
        )
    )["createGroup"]
    invite = 'mutation($g: String!, $l: [String!]!, $t: Int!) { inviteInGroup(groupID: $g, inviteeList: $l, timeout: $t, data: "meet") }'
    assert (await alice.call(invite, {"g": gid, "l": ["bob", "dave"], "t": 30})).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.call(invite, {"g": gid, "l": ["alice"], "t": 30})).codes == [Code.ERR_INVALID_PARAMETERS]
    invite_id = (await alice.q(invite, {"g": gid, "l": ["bob", "carol"], "t": 30}))["inviteInGroup"]
    received = await carol.event()
    assert (received["inviteID"], received["groupID"], received["inviteeList"]) == (invite_id, gid, ["bob", "carol"])
    await bob.event()
    await bob_phone.event()
    assert await bob.q(f'mutation {{ accept(inviteID: "{invite_id}") }}')
    for d in (alice, carol, bob_phone):  # every party hears of each answer
        assert (await d.event())["type"] == "onInviteeAccepted"
    await clock.advance(31)
    for d in (alice, carol):
        assert await d.event() == {
            "__typename": "InvitationTimeoutEvent",
            "type": "onInvitationTimeout",
            "inviteID": invite_id,
            "inviteeList": ["carol"],
        }
    await bob.quiet()  # bob had answered
    history = (await carol.q(f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: 10) {{ msgID elemType }} }}'))[
        "getGroupHistoryMessageList"
    ]
    customs = [m for m in history if m["elemType"] == "V2TIM_ELEM_TYPE_CUSTOM"]
    info = (await carol.q(f'{{ getSignalingInfo(msgID: "{customs[-1]["msgID"]}") {{ {INFO} }} }}'))["getSignalingInfo"]
    assert (info["actionType"], info["groupID"], info["data"]) == ("SIGNALING_ACTION_TYPE_INVITE", gid, "meet")
    assert len(customs) == 3  # invite, accept, timeout


async def test_online_only_invitations_leave_no_history(call: tuple[Device, Device, Device]) -> None:
    alice, bob, _ = call
    invite_id = await alice.invite("bob", onlineUserOnly=True)
    assert (await bob.event())["inviteID"] == invite_id
    assert await bob.q(f'mutation {{ accept(inviteID: "{invite_id}") }}')
    assert (await bob.q(HISTORY % "alice"))["getC2CHistoryMessageList"] == []


async def test_each_step_goes_out_in_one_request_without_a_created_message(
    call: tuple[Device, Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signaling step's message is sent as sendCustomMessage sends one (content inline): no draft
    written, read, claimed and deleted, four Redis commands fewer per step."""

    async def no_create(*args: object, **kwargs: object) -> None:
        raise AssertionError("a signaling step created a message (the two-step send)")

    monkeypatch.setattr(EmbeddedMessages, "create_message", no_create)
    alice, bob, bob_phone = call
    invite_id = await alice.invite("bob", data="ring")
    assert (await bob.event())["inviteID"] == invite_id
    await bob_phone.event()
    assert await bob.q(f'mutation {{ reject(inviteID: "{invite_id}", data: "busy") }}')
    assert (await alice.event())["type"] == "onInviteeRejected"
    history = (await bob.q(HISTORY % "alice"))["getC2CHistoryMessageList"]
    assert [m["elemType"] for m in history] == ["V2TIM_ELEM_TYPE_CUSTOM"] * 2


async def test_add_invited_signaling_and_modify(
    call: tuple[Device, Device, Device], client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob, bob_phone = call
    carol = await device(client, server.ws_url, "carol")
    invite_id = await alice.invite("bob", data="v1")
    await bob.event()
    await bob_phone.event()
    add = "mutation($i: SignalingInfoInput!) { addInvitedSignaling(info: $i) }"
    assert await bob.q(add, {"i": {"inviteID": invite_id, "data": "forged"}})
    for d in (bob, bob_phone):  # the server's record is delivered, not the caller's copy
        event = await d.event()
        assert (event["type"], event["inviter"], event["data"]) == ("onReceiveNewInvitation", "alice", "v1")
    assert (await bob.call(add, {"i": {"inviteID": invite_id}})).codes == [8012]
    assert (await carol.call(add, {"i": {"inviteID": invite_id}})).codes == [8011]
    assert (await bob.call(add, {"i": {"inviteID": "unknown"}})).codes == [8010]
    assert (await bob.call(add, {"i": None})).codes == [Code.ERR_INVALID_PARAMETERS]
    # modifying: the other parties hear of it, and a later addInvitedSignaling carries the new data
    assert await alice.q(f'mutation {{ modifyInvitation(inviteID: "{invite_id}", data: "v2") }}')
    modified = {"__typename": "InvitationModifiedEvent", "type": "onInvitationModified", "inviteID": invite_id}
    assert await bob.event() == {**modified, "data": "v2"}
    assert (await carol.call(f'mutation {{ modifyInvitation(inviteID: "{invite_id}", data: "x") }}')).codes == [8011]
    await carol.quiet()


async def test_invitation_errors(call: tuple[Device, Device, Device]) -> None:
    alice, bob, _ = call
    assert (await alice.call('mutation { invite(invitee: "alice") }')).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.call('mutation { invite(invitee: "ghost") }')).codes == [Code.ERR_RECEIVER_NOT_FOUND]
    assert (await alice.call('mutation { invite(invitee: "bob", timeout: -1) }')).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.call("mutation { invite }")).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.call('mutation { accept(inviteID: "") }')).codes == [Code.ERR_INVALID_PARAMETERS]
    # a refused invitation (bob blocked alice) leaves nothing behind to ring or time out
    assert await bob.q('mutation { addToBlackList(userIDList: ["alice"]) { resultCode } }')
    assert (await alice.call('mutation { invite(invitee: "bob") }')).codes == [Code.ERR_SENDER_BLOCKED]
    await bob.quiet()


async def test_the_timeout_fires_once_from_a_surviving_replica(
    call: tuple[Device, Device, Device], server: InProcessGateway, settings: Settings, clock: ManualClock
) -> None:
    alice, _, _ = call
    other = await start_in_process(settings, clock)
    try:
        client_b = HTTPClient(other.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
        bob_b = await device(client_b, other.ws_url, "bob", platform="android")
        first = await alice.invite("bob", timeout=30)
        assert (await bob_b.event())["inviteID"] == first
        # both replicas alive: both timers look, one claims
        await clock.advance(31)
        assert (await bob_b.event())["type"] == "onInvitationTimeout"
        await bob_b.quiet()
        # the replica the invitation was made on goes away; the other still times the next one out
        second = await alice.invite("bob", timeout=30)
        assert (await bob_b.event())["inviteID"] == second
        await alice.ws.close()
        await server.stop()
        await clock.advance(31)
        assert await bob_b.event() == {
            "__typename": "InvitationTimeoutEvent",
            "type": "onInvitationTimeout",
            "inviteID": second,
            "inviteeList": ["bob"],
        }
        await bob_b.quiet()
        await bob_b.ws.close()
        await client_b.aclose()
    finally:
        await other.stop()


async def test_concurrent_timers_claim_each_timeout_once(
    call: tuple[Device, Device, Device], server: InProcessGateway, clock: ManualClock
) -> None:
    alice, bob, _ = call
    gw = server.gateway
    housekeeping, timer = gw.backend.housekeeping, gw.invitation_timer
    assert housekeeping is not None  # the embedded backend has housekeeping, and so an invitation timer
    assert timer is not None
    await timer.stop()  # the test plays the timers of three replicas at once
    await alice.invite("bob", timeout=30)
    await alice.invite("bob", timeout=60)
    await bob.event()
    await bob.event()
    await clock.advance(31)
    assert sorted(await asyncio.gather(*(housekeeping.expire_due() for _ in range(3)))) == [0, 0, 1]
    assert (await bob.event())["type"] == "onInvitationTimeout"
    await bob.quiet()
