"""FriendshipManager: requests, accepting them, the friend list, deleting, the blacklist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.backend import IMBackend
from gateway.errors import Code
from gateway.im.enums import AllowType, FriendAccept, FriendAddType, FriendRelationType
from gateway.im.events import (
    OnBlackListAdd,
    OnBlackListDeleted,
    OnFriendApplicationListAdded,
    OnFriendApplicationListDeleted,
    OnFriendListAdded,
    OnFriendListDeleted,
)
from gateway.im.model import ProfileChanges
from tests.contract.conftest import Device, refused

pytestmark = pytest.mark.families("friendship")

Listen = Callable[[str], Awaitable[Device]]
BOTH = FriendAddType.V2TIM_FRIEND_TYPE_BOTH
AGREE_AND_ADD = FriendAccept.V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD


async def befriend(backend: IMBackend, a: str, b: str) -> None:
    await backend.friendship.add_friend(a, b, BOTH)
    await backend.friendship.accept_friend_application(b, a, AGREE_AND_ADD)


async def test_a_request_then_accepting_it_makes_friends_both_ways(backend: IMBackend, listen: Listen) -> None:
    alice, bob = await listen("alice"), await listen("bob")
    result = await backend.friendship.add_friend("alice", "bob", BOTH, add_wording="hi, it's alice")
    assert (result.userID, result.resultCode) == ("bob", Code.ERR_FRIEND_PENDING_CONFIRM)
    request = await bob.wait_for(OnFriendApplicationListAdded)
    assert [(a.userID, a.addWording) for a in request.applicationList] == [("alice", "hi, it's alice")]
    assert [a.userID for a in (await alice.wait_for(OnFriendApplicationListAdded)).applicationList] == ["bob"]
    pending = await backend.friendship.get_friend_application_list("bob")
    assert (pending.unreadCount, [a.userID for a in pending.friendApplicationList]) == (1, ["alice"])

    accepted = await backend.friendship.accept_friend_application("bob", "alice", AGREE_AND_ADD)
    assert accepted.resultCode == 0
    assert [i.userID for i in (await alice.wait_for(OnFriendListAdded)).infoList] == ["bob"]
    assert [i.userID for i in (await bob.wait_for(OnFriendListAdded)).infoList] == ["alice"]
    assert (await bob.wait_for(OnFriendApplicationListDeleted)).userIDList == ["alice"]
    assert [f.userID for f in await backend.friendship.get_friend_list("alice")] == ["bob"]
    assert [f.userID for f in await backend.friendship.get_friend_list("bob")] == ["alice"]
    [check] = await backend.friendship.check_friend("alice", ["bob"], BOTH)
    assert check.resultType == FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY
    assert (await backend.friendship.get_friend_application_list("bob")).friendApplicationList == []


async def test_accepting_or_refusing_a_request_never_made_is_refused(backend: IMBackend) -> None:
    friendship = backend.friendship
    assert (
        await refused(friendship.accept_friend_application("bob", "carol", AGREE_AND_ADD))
        == Code.ERR_NO_SUCH_FRIEND_APPLICATION
    )
    assert await refused(friendship.refuse_friend_application("bob", "carol")) == Code.ERR_NO_SUCH_FRIEND_APPLICATION
    assert await refused(friendship.add_friend("alice", "alice", BOTH)) == Code.ERR_FRIENDSHIP_INVALID_PARAMETERS
    assert await refused(friendship.add_friend("alice", "ghost", BOTH)) == Code.ERR_FRIENDSHIP_INVALID_PARAMETERS


async def test_a_user_who_allows_anyone_is_added_at_once(backend: IMBackend, listen: Listen) -> None:
    await backend.accounts.set_self_info("bob", ProfileChanges(allowType=AllowType.V2TIM_FRIEND_ALLOW_ANY))
    bob = await listen("bob")
    result = await backend.friendship.add_friend("alice", "bob", BOTH)
    assert result.resultCode == 0
    assert [i.userID for i in (await bob.wait_for(OnFriendListAdded)).infoList] == ["alice"]
    await backend.accounts.set_self_info("carol", ProfileChanges(allowType=AllowType.V2TIM_FRIEND_DENY_ANY))
    assert await refused(backend.friendship.add_friend("alice", "carol", BOTH)) == Code.ERR_PEER_DENIES_ALL


async def test_delete_tells_both_sides(backend: IMBackend, listen: Listen) -> None:
    await befriend(backend, "alice", "bob")
    alice, bob = await listen("alice"), await listen("bob")
    [result] = await backend.friendship.delete_from_friend_list("alice", ["bob"], BOTH)
    assert result.resultCode == 0
    assert (await alice.wait_for(OnFriendListDeleted)).userIDList == ["bob"]
    assert (await bob.wait_for(OnFriendListDeleted)).userIDList == ["alice"]
    assert await backend.friendship.get_friend_list("alice") == []
    assert await backend.friendship.get_friend_list("bob") == []
    [again] = await backend.friendship.delete_from_friend_list("alice", ["bob"], BOTH)
    assert again.resultCode == Code.ERR_NOT_FRIEND


async def test_blacklist_ends_the_friendship_and_blocks_requests(backend: IMBackend, listen: Listen) -> None:
    await befriend(backend, "alice", "bob")
    alice, bob = await listen("alice"), await listen("bob")
    [result] = await backend.friendship.add_to_black_list("bob", ["alice"])
    assert result.resultCode == 0
    assert [i.userID for i in (await bob.wait_for(OnBlackListAdd)).infoList] == ["alice"]
    assert (await bob.wait_for(OnFriendListDeleted)).userIDList == ["alice"]
    assert (await alice.wait_for(OnFriendListDeleted)).userIDList == ["bob"]
    assert [i.userID for i in await backend.friendship.get_black_list("bob")] == ["alice"]
    assert await backend.friendship.get_friend_list("alice") == []
    assert await refused(backend.friendship.add_friend("alice", "bob", BOTH)) == Code.ERR_IN_PEER_BLACKLIST
    assert await refused(backend.friendship.add_friend("bob", "alice", BOTH)) == Code.ERR_PEER_IN_SELF_BLACKLIST
    [removed] = await backend.friendship.delete_from_black_list("bob", ["alice"])
    assert removed.resultCode == 0
    assert (await bob.wait_for(OnBlackListDeleted)).userIDList == ["alice"]
    assert await backend.friendship.get_black_list("bob") == []
