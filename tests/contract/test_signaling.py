"""SignalingManager: invite, accept, reject, cancel, time out, and reading an invitation back."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from gateway.backend import IMBackend
from gateway.clock import ManualClock
from gateway.errors import Code
from gateway.im.enums import SignalingActionType
from gateway.im.events import (
    OnInvitationCancelled,
    OnInvitationTimeout,
    OnInviteeAccepted,
    OnInviteeRejected,
    OnReceiveNewInvitation,
    OnRecvNewMessage,
)
from gateway.services import Gateway
from tests.contract.conftest import Device, refused

Listen = Callable[[str], Awaitable[Device]]


async def test_invite_rings_the_invitee_and_can_be_read_back(backend: IMBackend, listen: Listen) -> None:
    bob = await listen("bob")
    invite_id = await backend.signaling.invite("alice", "s-alice", "bob", '{"call":"video"}', 30)
    ring = await bob.wait_for(OnReceiveNewInvitation)
    assert (ring.inviteID, ring.inviter, ring.inviteeList, ring.data) == (
        invite_id,
        "alice",
        ["bob"],
        '{"call":"video"}',
    )
    message = (await bob.wait_for(OnRecvNewMessage)).message  # the invitation travels as a custom message
    info = await backend.signaling.get_signaling_info("bob", message.msgID)
    assert (info.inviteID, info.inviter, info.inviteeList, info.timeout) == (invite_id, "alice", ["bob"], 30)
    assert info.actionType == SignalingActionType.SIGNALING_ACTION_TYPE_INVITE
    assert json.loads(info.data) == {"call": "video"}


async def test_accept_tells_the_inviter_once(backend: IMBackend, listen: Listen) -> None:
    alice = await listen("alice")
    invite_id = await backend.signaling.invite("alice", "s-alice", "bob", "", 30)
    await backend.signaling.accept_invitation("bob", "s-bob", invite_id, "ok")
    accepted = await alice.wait_for(OnInviteeAccepted)
    assert (accepted.inviteID, accepted.invitee, accepted.data) == (invite_id, "bob", "ok")
    # answered: nothing more can be done to it
    again = backend.signaling.reject_invitation("bob", "s-bob", invite_id, "")
    assert await refused(again) == Code.ERR_SDK_SIGNALING_INVALID_INVITE_ID
    cancel = backend.signaling.cancel_invitation("alice", "s-alice", invite_id, "")
    assert await refused(cancel) == Code.ERR_SDK_SIGNALING_INVALID_INVITE_ID


async def test_reject_tells_the_inviter(backend: IMBackend, listen: Listen) -> None:
    alice = await listen("alice")
    invite_id = await backend.signaling.invite("alice", "s-alice", "bob", "", 30)
    assert (
        await refused(backend.signaling.accept_invitation("carol", "s-carol", invite_id, ""))
        == Code.ERR_SDK_SIGNALING_NO_PERMISSION
    )
    await backend.signaling.reject_invitation("bob", "s-bob", invite_id, "busy")
    rejected = await alice.wait_for(OnInviteeRejected)
    assert (rejected.inviteID, rejected.invitee, rejected.data) == (invite_id, "bob", "busy")


async def test_only_the_inviter_cancels(backend: IMBackend, listen: Listen) -> None:
    bob = await listen("bob")
    invite_id = await backend.signaling.invite("alice", "s-alice", "bob", "", 30)
    cancel_by_bob = backend.signaling.cancel_invitation("bob", "s-bob", invite_id, "")
    assert await refused(cancel_by_bob) == Code.ERR_SDK_SIGNALING_NO_PERMISSION
    await backend.signaling.cancel_invitation("alice", "s-alice", invite_id, "never mind")
    cancelled = await bob.wait_for(OnInvitationCancelled)
    assert (cancelled.inviteID, cancelled.inviter, cancelled.data) == (invite_id, "alice", "never mind")
    accept = backend.signaling.accept_invitation("bob", "s-bob", invite_id, "")
    assert await refused(accept) == Code.ERR_SDK_SIGNALING_INVALID_INVITE_ID


async def test_unanswered_invitations_time_out_for_both(gateway: Gateway, listen: Listen) -> None:
    backend = gateway.backend
    alice, bob = await listen("alice"), await listen("bob")
    invite_id = await backend.signaling.invite("alice", "s-alice", "bob", "", 5)
    assert isinstance(gateway.clock, ManualClock)
    await gateway.clock.advance(6)
    if backend.housekeeping is not None:  # a backend keeping its own timers is driven by them
        await backend.housekeeping.expire_due()
    for device in (alice, bob):
        timeout = await device.wait_for(OnInvitationTimeout)
        assert (timeout.inviteID, timeout.inviteeList) == (invite_id, ["bob"])


async def test_refused_invitations(backend: IMBackend) -> None:
    signaling = backend.signaling
    assert await refused(signaling.invite("alice", "s", "alice", "", 30)) == Code.ERR_INVALID_PARAMETERS
    assert await refused(signaling.invite("alice", "s", "ghost", "", 30)) == Code.ERR_RECEIVER_NOT_FOUND
    assert await refused(signaling.accept_invitation("bob", "s", "no-such-invite", "")) == (
        Code.ERR_SDK_SIGNALING_INVALID_INVITE_ID
    )
