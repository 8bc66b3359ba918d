"""MessageManager: C2C create and send, history on both sides, revoke, read state, refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.backend import IMBackend
from gateway.errors import Code
from gateway.im.enums import MsgStatus
from gateway.im.events import OnRecvC2CReadReceipt, OnRecvMessageModified, OnRecvMessageRevoked, OnRecvNewMessage
from gateway.im.messages import SendOptions
from tests.contract.conftest import Device, refused, send_text, text, texts

Listen = Callable[[str], Awaitable[Device]]


async def test_send_reaches_the_receiver_and_the_senders_other_devices(backend: IMBackend, listen: Listen) -> None:
    bob = await listen("bob")
    alice_phone = await listen("alice")
    created = await backend.messages.create_message("alice", text("hello bob"))
    sent = await backend.messages.send_c2c_message("alice", "s-send", created.id, "bob", SendOptions())
    assert (sent.sender, sent.userID, sent.isSelf, sent.status) == (
        "alice",
        "bob",
        True,
        MsgStatus.V2TIM_MSG_STATUS_SEND_SUCC,
    )
    received = (await bob.wait_for(OnRecvNewMessage)).message
    assert (received.msgID, received.sender, received.userID, received.isSelf) == (sent.msgID, "alice", "alice", False)
    assert texts([received]) == ["hello bob"]
    synced = (await alice_phone.wait_for(OnRecvNewMessage)).message
    assert (synced.msgID, synced.isSelf) == (sent.msgID, True)


async def test_history_on_both_sides_newest_first(backend: IMBackend) -> None:
    for body in ("one", "two"):
        await send_text(backend, "alice", "bob", body)
    await send_text(backend, "bob", "alice", "three")
    theirs = await backend.messages.get_c2c_history_message_list("bob", "alice", 10)
    mine = await backend.messages.get_c2c_history_message_list("alice", "bob", 10)
    assert texts(theirs) == texts(mine) == ["three", "two", "one"]
    assert [m.isSelf for m in mine] == [False, True, True]
    assert [m.isSelf for m in theirs] == [True, False, False]
    assert [m.msgID for m in theirs] == [m.msgID for m in mine]
    assert texts(await backend.messages.get_c2c_history_message_list("alice", "bob", 1)) == ["three"]


async def test_revoke_tells_the_receiver_and_the_senders_other_devices(backend: IMBackend, listen: Listen) -> None:
    sent = await send_text(backend, "alice", "bob", "oops")
    bob = await listen("bob")
    alice_phone = await listen("alice")
    assert await refused(backend.messages.revoke_message("bob", "s-bob", sent.msgID)) == Code.ERR_NO_PERMISSION
    await backend.messages.revoke_message("alice", "s-send", sent.msgID)
    for device in (bob, alice_phone):
        assert (await device.wait_for(OnRecvMessageRevoked)).msgID == sent.msgID
    [stored] = await backend.messages.get_c2c_history_message_list("bob", "alice", 1)
    assert stored.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED


async def test_mark_as_read_sends_a_receipt_and_sets_the_flags(backend: IMBackend, listen: Listen) -> None:
    await send_text(backend, "alice", "bob", "read me")
    [unread] = await backend.messages.get_c2c_history_message_list("bob", "alice", 1)
    assert unread.isRead is False
    alice = await listen("alice")
    await backend.messages.mark_c2c_message_as_read("bob", "alice")
    receipt = await alice.wait_for(OnRecvC2CReadReceipt)
    assert [r.userID for r in receipt.receiptList] == ["bob"]
    [read] = await backend.messages.get_c2c_history_message_list("bob", "alice", 1)
    assert read.isRead is True
    [mine] = await backend.messages.get_c2c_history_message_list("alice", "bob", 1)
    assert mine.isPeerRead is True


@pytest.mark.families("friendship")
async def test_refusals(backend: IMBackend, listen: Listen) -> None:
    bob = await listen("bob")
    created = await backend.messages.create_message("alice", text("x"))
    send = backend.messages.send_c2c_message
    assert await refused(send("alice", "s", created.id, "ghost", SendOptions())) == Code.ERR_RECEIVER_NOT_FOUND
    assert await refused(send("alice", "s", "no-such-created", "bob", SendOptions())) == Code.ERR_INVALID_PARAMETERS
    big = await backend.messages.create_message("alice", text("x" * (12 * 1024 + 1)))
    assert await refused(send("alice", "s", big.id, "bob", SendOptions())) == Code.ERR_MSG_BODY_TOO_LARGE
    await backend.friendship.add_to_black_list("bob", ["alice"])
    assert await refused(send("alice", "s", created.id, "bob", SendOptions())) == Code.ERR_SENDER_BLOCKED
    await bob.settle()
    assert bob.of(OnRecvNewMessage) == []  # nothing refused was delivered
    assert await backend.messages.get_c2c_history_message_list("bob", "alice", 10) == []
    # the one who blocks may still write
    await send_text(backend, "bob", "alice", "you can't answer")
    assert texts(await backend.messages.get_c2c_history_message_list("alice", "bob", 10)) == ["you can't answer"]


@pytest.mark.families("friendship")
async def test_a_refused_send_leaves_its_created_message_sendable(backend: IMBackend) -> None:
    """A refused send (here twice) leaves its created message as it was: the same id sends once
    the block is lifted, and once only."""
    created = await backend.messages.create_message("alice", text("later"))
    send = backend.messages.send_c2c_message
    await backend.friendship.add_to_black_list("bob", ["alice"])
    for _ in range(2):
        assert await refused(send("alice", "s", created.id, "bob", SendOptions())) == Code.ERR_SENDER_BLOCKED
    await backend.friendship.delete_from_black_list("bob", ["alice"])
    sent = await send("alice", "s", created.id, "bob", SendOptions())
    again = await send("alice", "s", created.id, "bob", SendOptions())
    assert again.msgID == sent.msgID
    assert texts(await backend.messages.get_c2c_history_message_list("bob", "alice", 10)) == ["later"]


async def test_a_repeated_send_returns_the_first_message(backend: IMBackend) -> None:
    created = await backend.messages.create_message("alice", text("once"))
    first = await backend.messages.send_c2c_message("alice", "s", created.id, "bob", SendOptions())
    again = await backend.messages.send_c2c_message("alice", "s", created.id, "bob", SendOptions())
    assert again.msgID == first.msgID
    assert len(await backend.messages.get_c2c_history_message_list("bob", "alice", 10)) == 1


async def test_modify_tells_the_receiver_and_only_the_sender_may(backend: IMBackend, listen: Listen) -> None:
    sent = await send_text(backend, "alice", "bob", "helo")
    bob = await listen("bob")
    changed = await backend.messages.modify_message("alice", "s-send", sent.msgID, text("hello"), "edited")
    assert (texts([changed]), changed.cloudCustomData) == (["hello"], "edited")
    modified = (await bob.wait_for(OnRecvMessageModified)).message
    assert (modified.msgID, texts([modified])) == (sent.msgID, ["hello"])
    hijack = backend.messages.modify_message("bob", "s-bob", sent.msgID, text("hijack"), None)
    assert await refused(hijack) == Code.ERR_NO_PERMISSION
    [stored] = await backend.messages.get_c2c_history_message_list("bob", "alice", 1)
    assert texts([stored]) == ["hello"]
