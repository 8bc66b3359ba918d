"""ConversationManager: conversations appear for both users, unread counts, pin, draft, mark, delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.backend import IMBackend
from gateway.errors import Code
from gateway.im.enums import GroupType
from gateway.im.events import (
    OnConversationChanged,
    OnConversationDeleted,
    OnConversationGroupCreated,
    OnNewConversation,
    OnTotalUnreadMessageCountChanged,
)
from tests.contract.conftest import Device, refused, send_group_text, send_text

Listen = Callable[[str], Awaitable[Device]]
STAR = 1  # V2TIM_CONVERSATION_MARK_TYPE_STAR


async def test_a_first_message_makes_a_new_conversation_for_both(backend: IMBackend, listen: Listen) -> None:
    alice, bob = await listen("alice"), await listen("bob")
    await send_text(backend, "alice", "bob", "hi")
    theirs = await bob.wait_for(OnNewConversation)
    assert [(c.conversationID, c.unreadCount) for c in theirs.conversationList] == [("c2c_alice", 1)]
    assert (await bob.wait_for(OnTotalUnreadMessageCountChanged)).totalUnreadCount == 1
    mine = await alice.wait_for(OnNewConversation)
    assert [(c.conversationID, c.unreadCount) for c in mine.conversationList] == [("c2c_bob", 0)]
    page = await backend.conversations.get_conversation_list("bob", "", 10)
    assert [(c.conversationID, c.userID) for c in page.conversationList] == [("c2c_alice", "alice")]
    assert page.isFinished
    # a second message changes it
    bob.clear()
    await send_text(backend, "alice", "bob", "again")
    changed = await bob.wait_for(OnConversationChanged)
    assert [(c.conversationID, c.unreadCount) for c in changed.conversationList] == [("c2c_alice", 2)]
    assert changed.conversationList[0].lastMessage is not None
    assert bob.of(OnNewConversation) == []


async def test_unread_counts_and_reading(backend: IMBackend, listen: Listen) -> None:
    for body in ("1", "2", "3"):
        await send_text(backend, "alice", "bob", body)
    await send_text(backend, "carol", "bob", "4")
    assert await backend.conversations.get_total_unread_message_count("bob") == 4
    assert (await backend.conversations.get_conversation("bob", "c2c_alice")).unreadCount == 3
    assert await backend.conversations.get_total_unread_message_count("alice") == 0
    bob = await listen("bob")
    await backend.messages.mark_c2c_message_as_read("bob", "alice")
    changed = await bob.wait_for(OnConversationChanged)
    assert [(c.conversationID, c.unreadCount) for c in changed.conversationList] == [("c2c_alice", 0)]
    assert (await bob.wait_for(OnTotalUnreadMessageCountChanged)).totalUnreadCount == 1
    assert await backend.conversations.get_total_unread_message_count("bob") == 1
    await backend.conversations.clean_conversation_unread_message_count("bob", "", 0, 0)
    assert await backend.conversations.get_total_unread_message_count("bob") == 0


async def test_pin_draft_and_mark_change_the_conversation(backend: IMBackend, listen: Listen) -> None:
    await send_text(backend, "alice", "bob", "hi")
    bob = await listen("bob")
    await backend.conversations.pin_conversation("bob", "c2c_alice", True)
    pinned = await bob.wait_for(OnConversationChanged, lambda e: e.conversationList[0].isPinned)
    assert pinned.conversationList[0].conversationID == "c2c_alice"
    await backend.conversations.set_conversation_draft("bob", "c2c_alice", "half a thought")
    await bob.wait_for(OnConversationChanged, lambda e: e.conversationList[0].draftText == "half a thought")
    [result] = await backend.conversations.mark_conversation("bob", ["c2c_alice"], True, STAR)
    assert result.resultCode == 0
    await bob.wait_for(OnConversationChanged, lambda e: STAR in e.conversationList[0].markList)
    conv = await backend.conversations.get_conversation("bob", "c2c_alice")
    assert (conv.isPinned, conv.draftText, conv.markList) == (True, "half a thought", [STAR])
    # none of it is the other user's business
    assert not (await backend.conversations.get_conversation("alice", "c2c_bob")).isPinned


async def test_unknown_conversations_are_refused(backend: IMBackend) -> None:
    await send_text(backend, "alice", "bob", "hi")  # bob has one conversation, not these
    conversations = backend.conversations
    assert await refused(conversations.pin_conversation("bob", "c2c_nobody", True)) == Code.ERR_INVALID_CONVERSATION
    assert await refused(conversations.get_conversation("bob", "c2c_nobody")) == Code.ERR_INVALID_CONVERSATION
    assert await refused(conversations.set_conversation_draft("bob", "c2c_x", "d")) == Code.ERR_INVALID_CONVERSATION
    results = await conversations.mark_conversation("bob", ["c2c_alice", "c2c_nobody"], True, STAR)
    assert [(r.conversationID, r.resultCode) for r in results] == [
        ("c2c_alice", 0),
        ("c2c_nobody", Code.ERR_INVALID_CONVERSATION),
    ]
    # only others' or unknown IDs: each refused in its result, nothing changed, no fault
    marked = await conversations.mark_conversation("bob", ["c2c_nobody", "group_nothing"], True, STAR)
    assert [r.resultCode for r in marked] == [Code.ERR_INVALID_CONVERSATION] * 2
    customized = await conversations.set_conversation_custom_data("bob", ["c2c_nobody"], "x")
    assert [r.resultCode for r in customized] == [Code.ERR_INVALID_CONVERSATION]
    assert (await conversations.get_conversation("bob", "c2c_alice")).customData == ""


async def test_delete_removes_it_for_that_user_only(backend: IMBackend, listen: Listen) -> None:
    await send_text(backend, "alice", "bob", "hi")
    bob = await listen("bob")
    await backend.conversations.delete_conversation_list("bob", ["c2c_alice"], False)
    assert (await bob.wait_for(OnConversationDeleted)).conversationIDList == ["c2c_alice"]
    assert (await backend.conversations.get_conversation_list("bob", "", 10)).conversationList == []
    assert await backend.conversations.get_total_unread_message_count("bob") == 0
    alice_list = (await backend.conversations.get_conversation_list("alice", "", 10)).conversationList
    assert [c.conversationID for c in alice_list] == ["c2c_bob"]
    # a new message brings it back, as a new conversation
    await send_text(backend, "alice", "bob", "still there?")
    assert [c.conversationID for c in (await bob.wait_for(OnNewConversation)).conversationList] == ["c2c_alice"]


async def test_conversation_groups(backend: IMBackend, listen: Listen) -> None:
    await send_text(backend, "alice", "bob", "hi")
    bob = await listen("bob")
    [result] = await backend.conversations.create_conversation_group("bob", "work", ["c2c_alice"])
    assert result.resultCode == 0
    created = await bob.wait_for(OnConversationGroupCreated)
    assert (created.groupName, [c.conversationID for c in created.conversationList]) == ("work", ["c2c_alice"])
    assert await backend.conversations.get_conversation_group_list("bob") == ["work"]
    assert (
        await refused(backend.conversations.create_conversation_group("bob", "work", ["c2c_alice"]))
        == Code.ERR_CONVERSATION_GROUP_EXISTS
    )
    assert await refused(backend.conversations.delete_conversation_group("bob", "play")) == (
        Code.ERR_CONVERSATION_GROUP_NOT_FOUND
    )


@pytest.mark.families("groups")
async def test_cleaning_the_unread_count_of_one_kind_leaves_the_other_kind_unread(backend: IMBackend) -> None:
    """cleanConversationUnreadMessageCount("c2c") reads every C2C conversation and no group's;
    "group" then reads the groups."""
    gid = await backend.groups.create_group("alice", GroupType.V2TIM_GROUP_TYPE_MEETING, None, "g")
    await backend.groups.join_group("bob", gid, "")
    await send_text(backend, "alice", "bob", "one")
    await send_text(backend, "carol", "bob", "two")
    await send_group_text(backend, "alice", gid, "three")

    async def unread() -> dict[str, int]:
        page = await backend.conversations.get_conversation_list("bob", "", 10)
        return {c.conversationID: c.unreadCount for c in page.conversationList}

    assert await unread() == {"c2c_alice": 1, "c2c_carol": 1, f"group_{gid}": 1}
    await backend.conversations.clean_conversation_unread_message_count("bob", "c2c", 0, 0)
    assert await unread() == {"c2c_alice": 0, "c2c_carol": 0, f"group_{gid}": 1}
    await backend.conversations.clean_conversation_unread_message_count("bob", "group", 0, 0)
    assert await unread() == {"c2c_alice": 0, "c2c_carol": 0, f"group_{gid}": 0}


@pytest.mark.families("groups")
async def test_a_group_message_changes_the_group_conversation_for_every_member(
    backend: IMBackend, listen: Listen
) -> None:
    gid = await backend.groups.create_group("alice", GroupType.V2TIM_GROUP_TYPE_MEETING, None, "g")
    await backend.groups.join_group("bob", gid, "")
    bob = await listen("bob")
    await send_group_text(backend, "alice", gid, "hello group")
    conv = f"group_{gid}"
    seen = await bob.wait_for(
        OnNewConversation | OnConversationChanged,  # type: ignore[arg-type]  # either: a join may list it first
        lambda e: any(c.conversationID == conv and c.unreadCount == 1 for c in e.conversationList),
    )
    assert seen is not None
    assert (await backend.conversations.get_conversation("bob", conv)).unreadCount == 1
    assert (await backend.conversations.get_conversation("alice", conv)).unreadCount == 0
    await backend.messages.mark_group_message_as_read("bob", gid)
    assert (await backend.conversations.get_conversation("bob", conv)).unreadCount == 0
