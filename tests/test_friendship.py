"""V2TIMFriendshipManager and friendshipListener, end to end over real HTTP and WebSocket.

`User` (tests/support/friendship.py) keeps a client-side copy of one user's friend list, blacklist and requests built only from
the events it receives; after every mutation it must equal what the queries return (convergence).
"""

from __future__ import annotations

import pytest

from gateway.engine import friendship as friendship_module
from gateway.errors import Code
from tests.support.clients import HTTPClient
from tests.support.friendship import ADD, SET_ALLOW, User, make_user, settle
from tests.support.servers import InProcessGateway


@pytest.fixture
async def pair(client: HTTPClient, server: InProcessGateway) -> tuple[User, User]:
    return await make_user(client, server, "alice"), await make_user(client, server, "bob")


@pytest.mark.parametrize("add_type", ["V2TIM_FRIEND_TYPE_SINGLE", "V2TIM_FRIEND_TYPE_BOTH"])
async def test_allow_any_adds_at_once(pair: tuple[User, User], add_type: str) -> None:
    alice, bob = pair
    await bob.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    result = (await alice.q(ADD, {"u": "bob", "t": add_type, "r": "Bobby", "w": "hi", "s": "search", "g": "work"}))[
        "addFriend"
    ]
    assert result == {"userID": "bob", "resultCode": 0, "resultInfo": ""}
    seen = await settle(alice, bob)
    assert seen["alice"] == ["onFriendListAdded"]
    assert alice.friends["bob"]["friendRemark"] == "Bobby"
    assert alice.friends["bob"]["friendGroup"] == ["work"]
    both = add_type == "V2TIM_FRIEND_TYPE_BOTH"
    assert seen["bob"] == (["onFriendListAdded"] if both else [])
    check = await alice.q('{ checkFriend(userIDList: ["bob"], checkType: V2TIM_FRIEND_TYPE_BOTH) { resultType } }')
    expected = "V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY" if both else "V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST"
    assert check["checkFriend"][0]["resultType"] == expected
    single = await bob.q('{ checkFriend(userIDList: ["alice"], checkType: V2TIM_FRIEND_TYPE_SINGLE) { resultType } }')
    assert single["checkFriend"][0]["resultType"] == (
        "V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST" if both else "V2TIM_FRIEND_RELATION_TYPE_NONE"
    )


@pytest.mark.parametrize("add_type", ["V2TIM_FRIEND_TYPE_SINGLE", "V2TIM_FRIEND_TYPE_BOTH"])
async def test_deny_any_refuses(pair: tuple[User, User], add_type: str) -> None:
    alice, bob = pair
    await bob.q(SET_ALLOW, {"a": "V2TIM_FRIEND_DENY_ANY"})
    reply = await alice.call(ADD, {"u": "bob", "t": add_type})
    assert reply.codes == [Code.ERR_PEER_DENIES_ALL]
    seen = await settle(alice, bob)
    assert seen == {"alice": [], "bob": []}


@pytest.mark.parametrize(
    ("add_type", "response", "alice_has_bob", "bob_has_alice"),
    [
        ("V2TIM_FRIEND_TYPE_SINGLE", "V2TIM_FRIEND_ACCEPT_AGREE", True, False),
        ("V2TIM_FRIEND_TYPE_BOTH", "V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD", True, True),
    ],
)
async def test_need_confirm_makes_a_request_that_can_be_accepted(
    pair: tuple[User, User], add_type: str, response: str, alice_has_bob: bool, bob_has_alice: bool
) -> None:
    alice, bob = pair  # NEED_CONFIRM is every new account's default
    result = (await alice.q(ADD, {"u": "bob", "t": add_type, "w": "it's alice", "r": "B"}))["addFriend"]
    assert result["resultCode"] == Code.ERR_FRIEND_PENDING_CONFIRM
    seen = await settle(alice, bob)
    assert seen == {"alice": ["onFriendApplicationListAdded"], "bob": ["onFriendApplicationListAdded"]}
    assert alice.requests["bob"]["type"] == "V2TIM_FRIEND_APPLICATION_SEND_OUT"
    assert bob.requests["alice"]["type"] == "V2TIM_FRIEND_APPLICATION_COME_IN"
    assert bob.requests["alice"]["addWording"] == "it's alice"
    listing = await bob.q("{ getFriendApplicationList { unreadCount } }")
    assert listing["getFriendApplicationList"]["unreadCount"] == 1
    assert await bob.q("mutation { setFriendApplicationRead }")
    assert (await settle(bob))["bob"] == ["onFriendApplicationListRead"]
    listing = await bob.q("{ getFriendApplicationList { unreadCount } }")
    assert listing["getFriendApplicationList"]["unreadCount"] == 0
    accept = (
        "mutation($u: String!, $r: V2TIM_FriendAccept!) "
        "{ acceptFriendApplication(userID: $u, responseType: $r) { resultCode } }"
    )
    assert (await bob.q(accept, {"u": "alice", "r": response}))["acceptFriendApplication"]["resultCode"] == 0
    await settle(alice, bob)
    assert ("bob" in alice.friends) is alice_has_bob
    assert ("alice" in bob.friends) is bob_has_alice
    assert alice.friends["bob"]["friendRemark"] == "B"  # the remark asked for when applying
    assert alice.requests == {}
    assert bob.requests == {}
    again = await bob.call(accept, {"u": "alice", "r": response})
    assert again.codes == [Code.ERR_NO_SUCH_FRIEND_APPLICATION]


async def test_refuse_and_delete_requests(
    pair: tuple[User, User], client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = pair
    carol = await make_user(client, server, "carol")
    await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH"})
    await carol.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH"})
    await settle(alice, bob, carol)
    refuse = "mutation($u: String!) { refuseFriendApplication(userID: $u) { userID resultCode } }"
    assert (await bob.q(refuse, {"u": "alice"}))["refuseFriendApplication"]["resultCode"] == 0
    seen = await settle(alice, bob, carol)
    assert seen["alice"] == ["onFriendApplicationListDeleted"]
    assert "alice" not in bob.requests
    assert "carol" in bob.requests
    delete = "mutation($u: String!) { deleteFriendApplication(userID: $u) }"
    assert await bob.q(delete, {"u": "carol"})
    seen = await settle(alice, bob, carol)
    assert seen["bob"] == ["onFriendApplicationListDeleted"]
    assert seen["carol"] == []  # carol still sees her own sent request
    assert "bob" in carol.requests
    for doc in (refuse, delete):
        assert (await bob.call(doc, {"u": "nobody"})).codes == [Code.ERR_NO_SUCH_FRIEND_APPLICATION]


async def test_blacklist_ends_friendship_and_blocks_requests(pair: tuple[User, User]) -> None:
    alice, bob = pair
    for u in (alice, bob):
        await u.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH"})
    await settle(alice, bob)
    block = 'mutation { addToBlackList(userIDList: ["bob", "alice"]) { userID resultCode } }'
    results = (await alice.q(block))["addToBlackList"]
    assert [r["resultCode"] for r in results] == [0, Code.ERR_FRIENDSHIP_INVALID_PARAMETERS]
    seen = await settle(alice, bob)
    assert sorted(seen["alice"]) == ["onBlackListAdd", "onFriendListDeleted"]
    assert seen["bob"] == ["onFriendListDeleted"]
    assert alice.blocked == {"bob"}
    assert alice.friends == {}
    assert bob.friends == {}
    assert (await bob.call(ADD, {"u": "alice", "t": "V2TIM_FRIEND_TYPE_BOTH"})).codes == [Code.ERR_IN_PEER_BLACKLIST]
    assert (await alice.call(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH"})).codes == [
        Code.ERR_PEER_IN_SELF_BLACKLIST
    ]
    unblock = 'mutation { deleteFromBlackList(userIDList: ["bob", "carol"]) { userID resultCode } }'
    assert [r["resultCode"] for r in (await alice.q(unblock))["deleteFromBlackList"]] == [0, 30001]
    assert (await settle(alice, bob))["alice"] == ["onBlackListDeleted"]
    assert (await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH"}))["addFriend"]["resultCode"] == 0


async def test_blacklist_is_capped(pair: tuple[User, User], monkeypatch: pytest.MonkeyPatch) -> None:
    alice, _ = pair
    monkeypatch.setattr(friendship_module, "BLACKLIST_MAX", 2)
    reply = await alice.call('mutation { addToBlackList(userIDList: ["a1", "a2", "a3"]) { userID } }')
    assert reply.codes == [Code.ERR_FRIENDSHIP_INVALID_PARAMETERS]
    assert (await alice.q("{ getBlackList { userID } }"))["getBlackList"] == []


async def test_friend_info_remark_custom_fields_and_profile_changes(pair: tuple[User, User]) -> None:
    alice, bob = pair
    await bob.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_SINGLE"})
    await settle(alice, bob)
    set_info = """mutation($u: String!, $r: String, $c: [KeyValueInput!]) {
      setFriendInfo(userID: $u, friendRemark: $r, friendCustomInfo: $c) }"""
    assert await alice.q(set_info, {"u": "bob", "r": "Robert", "c": [{"key": "met", "value": "2020"}]})
    seen = await settle(alice, bob)
    assert seen == {"alice": ["onFriendInfoChanged"], "bob": []}
    assert alice.friends["bob"]["friendCustomInfo"] == [{"key": "met", "value": "2020"}]
    assert (await alice.call(set_info, {"u": "carol", "r": "x"})).codes == [Code.ERR_NOT_FRIEND]
    assert (await alice.call(set_info, {"u": "bob", "r": "r" * 97})).codes == [Code.ERR_FRIENDSHIP_INVALID_PARAMETERS]
    assert (await alice.call(set_info, {"r": "x"})).codes == [Code.ERR_INVALID_PARAMETERS]
    # bob renames himself: alice, who has him as a friend, hears of it
    await bob.q('mutation { setSelfInfo(nickName: "Bob B.") { userID } }')
    seen = await settle(alice, bob)
    assert seen["alice"] == ["onFriendInfoChanged"]
    assert alice.friends["bob"]["userProfile"]["nickName"] == "Bob B."
    assert alice.friends["bob"]["friendRemark"] == "Robert"
    info = await alice.q(
        '{ getFriendsInfo(userIDList: ["bob", "ghost"]) { resultCode relation friendInfo { userID friendRemark } } }'
    )
    assert info["getFriendsInfo"] == [
        {
            "resultCode": 0,
            "relation": "V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST",
            "friendInfo": {"userID": "bob", "friendRemark": "Robert"},
        },
        {
            "resultCode": Code.ERR_FRIENDSHIP_INVALID_PARAMETERS,
            "relation": "V2TIM_FRIEND_RELATION_TYPE_NONE",
            "friendInfo": {"userID": "ghost", "friendRemark": ""},
        },
    ]


async def test_search_friends(pair: tuple[User, User], client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = pair
    carol = await make_user(client, server, "carol")
    for u in (bob, carol):
        await u.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await carol.q('mutation { setSelfInfo(nickName: "Caroline") { userID } }')
    await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_SINGLE", "r": "old pal"})
    await alice.q(ADD, {"u": "carol", "t": "V2TIM_FRIEND_TYPE_SINGLE"})
    search = """query($k: [String!]!, $n: Boolean!, $i: Boolean!, $r: Boolean!) {
      searchFriends(searchParam: {keywordList: $k, isSearchNickName: $n, isSearchUserID: $i, isSearchRemark: $r}) {
        friendInfo { userID } relation } }"""

    async def found(keywords: list[str], n: bool = True, i: bool = True, r: bool = True) -> list[str]:
        reply = await alice.q(search, {"k": keywords, "n": n, "i": i, "r": r})
        return [x["friendInfo"]["userID"] for x in reply["searchFriends"]]

    assert await found(["CAROL"]) == ["carol"]
    assert await found(["pal"]) == ["bob"]
    assert await found(["pal"], r=False) == []
    assert await found(["line", "bo"]) == ["bob", "carol"]
    assert await found(["x"]) == []
    for bad in ([], ["a"] * 6, [""]):
        reply = await alice.call(search, {"k": bad, "n": True, "i": True, "r": True})
        assert reply.codes == [Code.ERR_FRIENDSHIP_INVALID_PARAMETERS]


async def test_delete_from_friend_list_single_and_both(
    pair: tuple[User, User], client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = pair
    carol = await make_user(client, server, "carol")
    for u in (alice, bob, carol):
        await u.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH"})
    await alice.q(ADD, {"u": "carol", "t": "V2TIM_FRIEND_TYPE_BOTH"})
    await settle(alice, bob, carol)
    delete = """mutation($l: [String!]!, $t: V2TIM_FriendAddType!) {
      deleteFromFriendList(userIDList: $l, deleteType: $t) { userID resultCode } }"""
    single = await alice.q(delete, {"l": ["bob", "nobody"], "t": "V2TIM_FRIEND_TYPE_SINGLE"})
    assert [r["resultCode"] for r in single["deleteFromFriendList"]] == [0, Code.ERR_NOT_FRIEND]
    seen = await settle(alice, bob, carol)
    assert seen == {"alice": ["onFriendListDeleted"], "bob": [], "carol": []}
    assert "alice" in bob.friends
    both = await alice.q(delete, {"l": ["carol"], "t": "V2TIM_FRIEND_TYPE_BOTH"})
    assert both["deleteFromFriendList"][0]["resultCode"] == 0
    seen = await settle(alice, bob, carol)
    assert seen == {"alice": ["onFriendListDeleted"], "bob": [], "carol": ["onFriendListDeleted"]}


async def test_friend_groups(pair: tuple[User, User], client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = pair
    carol = await make_user(client, server, "carol")
    for u in (bob, carol):
        await u.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_SINGLE"})
    await alice.q(ADD, {"u": "carol", "t": "V2TIM_FRIEND_TYPE_SINGLE"})
    await settle(alice)
    create = 'mutation { createFriendGroup(groupName: "team", userIDList: ["bob", "dave"]) { userID resultCode } }'
    assert [r["resultCode"] for r in (await alice.q(create))["createFriendGroup"]] == [0, Code.ERR_NOT_FRIEND]
    assert (await settle(alice))["alice"] == ["onFriendInfoChanged"]
    assert alice.friends["bob"]["friendGroup"] == ["team"]
    assert (await alice.call(create)).codes == [Code.ERR_FRIENDSHIP_INVALID_PARAMETERS]  # exists already
    groups = "{ getFriendGroups { name friendCount friendIDList } }"
    assert (await alice.q(groups))["getFriendGroups"] == [{"name": "team", "friendCount": 1, "friendIDList": ["bob"]}]
    add = 'mutation { addFriendsToFriendGroup(groupName: "team", userIDList: ["carol"]) { resultCode } }'
    assert (await alice.q(add))["addFriendsToFriendGroup"] == [{"resultCode": 0}]
    await settle(alice)
    assert await alice.q('mutation { renameFriendGroup(oldName: "team", newName: "crew") }')
    assert sorted((await settle(alice))["alice"]) == ["onFriendInfoChanged"]
    assert alice.friends["carol"]["friendGroup"] == ["crew"]
    remove = 'mutation { deleteFriendsFromFriendGroup(groupName: "crew", userIDList: ["bob"]) { resultCode } }'
    assert (await alice.q(remove))["deleteFriendsFromFriendGroup"] == [{"resultCode": 0}]
    await settle(alice)
    named = '{ getFriendGroups(groupNameList: ["crew", "nope"]) { name friendIDList } }'
    assert (await alice.q(named))["getFriendGroups"] == [{"name": "crew", "friendIDList": ["carol"]}]
    assert await alice.q('mutation { deleteFriendGroup(groupNameList: ["crew"]) }')
    await settle(alice)
    assert alice.friends["carol"]["friendGroup"] == []
    assert (await alice.q(groups))["getFriendGroups"] == []
    long_name = "n" * 31
    bad = await alice.call(f'mutation {{ createFriendGroup(groupName: "{long_name}", userIDList: []) {{ userID }} }}')
    assert bad.codes == [Code.ERR_FRIENDSHIP_INVALID_PARAMETERS]
    missing = await alice.call('mutation { renameFriendGroup(oldName: "ghost", newName: "x") }')
    assert missing.codes == [Code.ERR_FRIENDSHIP_INVALID_PARAMETERS]


async def test_events_reach_every_device(client: HTTPClient, server: InProcessGateway) -> None:
    phone = await make_user(client, server, "alice", platform="ios")
    laptop = await make_user(client, server, "alice", platform="web")
    bob = await make_user(client, server, "bob")
    await bob.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await phone.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH"})
    for device in (phone, laptop):
        assert [e["type"] for e in await device.drain()] == ["onFriendListAdded"]
        await device.converged()
    assert "bob" in phone.friends
    assert "bob" in laptop.friends


async def test_bad_input(pair: tuple[User, User]) -> None:
    alice, _ = pair
    assert (await alice.call(ADD, {"u": "alice", "t": "V2TIM_FRIEND_TYPE_BOTH"})).codes == [30001]
    assert (await alice.call(ADD, {"u": "ghost", "t": "V2TIM_FRIEND_TYPE_BOTH"})).codes == [30001]
    assert (await alice.call(ADD, {"u": "bad\nid", "t": "V2TIM_FRIEND_TYPE_BOTH"})).codes == [7003]
    assert (await alice.call(ADD, {"t": "V2TIM_FRIEND_TYPE_BOTH"})).codes == [6017]
    assert (await alice.call(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_THREE"})).codes == [6017]
    assert (await alice.call(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH", "w": "w" * 300})).codes == [30001]
    assert (await alice.call("{ getFriendsInfo { resultCode } }")).codes == [6017]
    await alice.converged()


async def test_full_friend_list_refuses_with_30010(pair: tuple[User, User], monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = pair
    monkeypatch.setattr(friendship_module, "FRIENDS_MAX", 0)
    await bob.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    assert (await alice.call(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_SINGLE"})).codes == [Code.ERR_FRIEND_LIST_FULL]
    assert (await settle(alice, bob)) == {"alice": [], "bob": []}


async def test_friend_remark_shows_on_messages(pair: tuple[User, User]) -> None:
    alice, bob = pair
    await bob.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_SINGLE", "r": "Bobby"})
    created = (await bob.q('mutation { createTextMessage(text: "hi") { id } }'))["createTextMessage"]["id"]
    await bob.q(f'mutation {{ sendMessage(id: "{created}", receiver: "alice") {{ msgID }} }}')
    history = await alice.q('{ getC2CHistoryMessageList(userID: "bob", count: 1) { sender friendRemark } }')
    assert history["getC2CHistoryMessageList"] == [{"sender": "bob", "friendRemark": "Bobby"}]
