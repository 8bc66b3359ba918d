"""AccountManager: exists, get_users_info, set_self_info and the events it causes; a store failure
surfaces as IMError 7012, never as the store's exception."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Awaitable, Callable

import pytest

from gateway.backend import IMBackend
from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.errors import Code, IMError
from gateway.im.enums import FriendAccept, FriendAddType, Gender
from gateway.im.events import OnFriendInfoChanged, OnSelfInfoUpdated
from gateway.im.model import ProfileChanges
from gateway.services import Gateway
from gateway.store import open_redis
from tests.contract.conftest import BACKENDS, Device, refused

Listen = Callable[[str], Awaitable[Device]]


async def test_exists_and_get_users_info_in_the_order_asked(backend: IMBackend) -> None:
    assert await backend.accounts.exists(["bob", "ghost", "alice"]) == [True, False, True]
    infos = await backend.accounts.get_users_info(["carol", "ghost", "alice"])
    assert [i.userID for i in infos] == ["carol", "alice"]  # only those who exist
    await backend.accounts.ensure_account("dave")
    await backend.accounts.ensure_account("dave")  # idempotent
    assert await backend.accounts.exists(["dave"]) == [True]


@pytest.mark.families("friendship")
async def test_set_self_info_tells_the_users_devices_and_friends(backend: IMBackend, listen: Listen) -> None:
    await backend.friendship.add_friend("bob", "alice", FriendAddType.V2TIM_FRIEND_TYPE_SINGLE)
    await backend.friendship.accept_friend_application("alice", "bob", FriendAccept.V2TIM_FRIEND_ACCEPT_AGREE)
    alice, bob = await listen("alice"), await listen("bob")
    changes = ProfileChanges(nickName="Alice", gender=Gender.V2TIM_GENDER_FEMALE, customInfo={"city": "Paris"})
    info = await backend.accounts.set_self_info("alice", changes)
    assert (info.userID, info.nickName, info.gender) == ("alice", "Alice", Gender.V2TIM_GENDER_FEMALE)
    updated = (await alice.wait_for(OnSelfInfoUpdated)).info
    assert (updated.nickName, updated.customInfo) == ("Alice", {"city": "Paris"})
    # bob has alice as a friend: he sees her new profile
    changed = await bob.wait_for(OnFriendInfoChanged)
    assert [(i.userID, i.userProfile.nickName if i.userProfile else None) for i in changed.infoList] == [
        ("alice", "Alice")
    ]
    assert bob.of(OnSelfInfoUpdated) == []
    [stored] = await backend.accounts.get_users_info(["alice"])
    assert (stored.nickName, stored.customInfo) == ("Alice", {"city": "Paris"})
    # customInfo merges key by key
    await backend.accounts.set_self_info("alice", ProfileChanges(customInfo={"pet": "cat"}))
    [merged] = await backend.accounts.get_users_info(["alice"])
    assert merged.customInfo == {"city": "Paris", "pet": "cat"}


async def test_set_self_info_refusals(backend: IMBackend, listen: Listen) -> None:
    alice = await listen("alice")
    too_long = ProfileChanges(nickName="n" * 1000)
    assert await refused(backend.accounts.set_self_info("alice", too_long)) == Code.ERR_PROFILE_FIELD_TOO_LONG
    bad_birthday = ProfileChanges(birthday=19701399)
    assert await refused(backend.accounts.set_self_info("alice", bad_birthday)) == Code.ERR_INVALID_PARAMETERS
    await alice.settle()
    assert alice.of(OnSelfInfoUpdated) == []  # a refused change tells nobody
    [unchanged] = await backend.accounts.get_users_info(["alice"])
    assert unchanged.nickName == ""


def free_port() -> int:
    """A port nobody listens on: bound once to learn a free number, then closed again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("name", BACKENDS)
async def test_a_store_failure_is_an_im_error_7012(name: str, settings: Settings) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    dead = dataclasses.replace(settings, backend=name, redis_url=url)
    gw = Gateway.build(dead, clock=ManualClock(), redis=open_redis(url))
    try:
        with pytest.raises(IMError) as caught:
            await gw.backend.accounts.get_users_info(["x"])
        assert caught.value.code == Code.ERR_SDK_INTERNAL_ERROR
        with pytest.raises(IMError) as again:
            await gw.backend.messages.get_c2c_history_message_list("x", "y", 10)
        assert again.value.code == Code.ERR_SDK_INTERNAL_ERROR
        with pytest.raises(IMError) as ping:
            await gw.backend.ping()
        assert ping.value.code == Code.ERR_SDK_INTERNAL_ERROR
    finally:
        await gw.close()
