"""The Tencent backend's relation chain end to end: a cloud (imql's REST v4 server and callbacks,
standing in for Tencent) and a gateway (IMQL_BACKEND=tencent) on real Redis.

Gateway users (`at_gateway`) and native users (cloud GraphQL users, `at_cloud`) become friends,
request and accept each other, block each other and sort friends into groups, in both directions.
Each gateway write must reach the cloud and the native side's listener; each native action must
reach the gateway user's listener and reads; every user's events must converge with their reads
(tests.test_friendship.User); an echo of the gateway's own call changes nothing; a refusal upstream
leaves the mirror as it was.
"""

from __future__ import annotations

import time
from typing import Any

from gateway.v4 import callbacks as wire
from tests.support.clients import GraphQLReply
from tests.support.friendship import ADD, SET_ALLOW, User, make_user
from tests.support.messages import CREATE_TEXT, SEND
from tests.support.tencent_pair import TOKEN, Pair, eventually

ACCEPT = """mutation($u: String!, $r: V2TIM_FriendAccept!) {
  acceptFriendApplication(userID: $u, responseType: $r) { userID resultCode } }"""
REFUSE = "mutation($u: String!) { refuseFriendApplication(userID: $u) { userID resultCode } }"
DELETE = """mutation($u: [String!]!, $t: V2TIM_FriendAddType!) {
  deleteFromFriendList(userIDList: $u, deleteType: $t) { userID resultCode } }"""
BLOCK = "mutation($u: [String!]!) { addToBlackList(userIDList: $u) { userID resultCode resultInfo } }"
UNBLOCK = "mutation($u: [String!]!) { deleteFromBlackList(userIDList: $u) { userID resultCode } }"
GROUPS = "{ getFriendGroups { name friendIDList } }"
CHECK = """query($u: [String!]!) { checkFriend(userIDList: $u, checkType: V2TIM_FRIEND_TYPE_BOTH) {
  userID resultType } }"""
BOTH = "V2TIM_FRIEND_TYPE_BOTH"
NEED_CONFIRM = "V2TIM_FRIEND_NEED_CONFIRM"
ALLOW_ANY = "V2TIM_FRIEND_ALLOW_ANY"
DENY_ANY = "V2TIM_FRIEND_DENY_ANY"
PENDING = 30539
BLOCKED = 20007  # the receiver has blocked the sender


# ---- helpers ------------------------------------------------------------------------------------
async def native(p: Pair, name: str, allow: str = NEED_CONFIRM) -> User:
    user = await make_user(p.at_cloud, p.cloud, name)
    await user.q(SET_ALLOW, {"a": allow})
    return user


async def gateway_user(p: Pair, name: str, allow: str = NEED_CONFIRM) -> User:
    user = await make_user(p.at_gateway, p.gateway, name)
    await user.q(SET_ALLOW, {"a": allow})
    return user


async def until(user: User, kind: str) -> list[str]:
    """The user's friendship events up to the first `kind` (applied to its model), by type."""
    events = await user.ws.events_until(user.op, kind)
    for event in events:
        user.apply(event)
    return [e["type"] for e in events]


async def add(user: User, target: str, **fields: Any) -> dict[str, Any]:
    variables = {"u": target, "t": BOTH, "r": None, "w": None, "s": None, "g": None, **fields}
    return dict((await user.q(ADD, variables))["addFriend"])


async def send_text(user: User, to: str, text: str) -> GraphQLReply:
    created = (await user.q(CREATE_TEXT, {"t": text}))["createTextMessage"]["id"]
    variables = {"id": created, "to": to, "g": None, "o": False, "c": None, "l": None, "x": False}
    reply: GraphQLReply = await user.call(SEND, variables)
    return reply


async def settled(p: Pair) -> None:
    """Until every callback the cloud has queued so far was delivered to the gateway and handled there
    (each queue's consumer group has read every entry and holds none pending): whatever those
    webhooks publish is in the event log by then. Callbacks are queued before the REST call or the
    mutation that caused them answers."""
    cloud, gateway = p.cloud.gateway, p.gateway.gateway
    sides = ((cloud, cloud.keys.callback_queue()), (gateway, gateway.keys.tencent_inbound_queue()))

    async def done() -> bool:
        for gw, stream in sides:
            if not await gw.redis.exists(stream):
                continue
            added = (await gw.redis.xinfo_stream(stream))["entries-added"]
            groups = await gw.redis.xinfo_groups(stream)
            if not groups or any(int(g["pending"]) or g["entries-read"] != added for g in groups):
                return False
        return True

    await eventually(done)


async def cloud_friends(p: Pair, owner: str) -> dict[str, dict[str, Any]]:
    """The owner's friends on the cloud (Tencent's truth) with their tags."""
    answer = await p.admin("sns/friend_get", {"From_Account": owner, "StartIndex": 0})
    return {i["To_Account"]: {v["Tag"]: v["Value"] for v in i["ValueItem"]} for i in answer.get("UserDataItem", [])}


async def cloud_blocked(p: Pair, owner: str) -> list[str]:
    answer = await p.admin("sns/black_list_get", {"From_Account": owner, "StartIndex": 0, "MaxLimited": 100})
    return [i["To_Account"] for i in answer.get("BlackListItem", [])]


async def cloud_groups(p: Pair, owner: str) -> dict[str, list[str]]:
    body = {"From_Account": owner, "NeedFriend": "Need_Friend_Type_Yes"}
    answer = await p.admin("sns/group_get", body)
    return {g["GroupName"]: sorted(g.get("To_Account", [])) for g in answer.get("ResultItem", [])}


def tencent_calls(p: Pair, endpoint: str) -> float:
    sample = p.gateway.gateway.metrics.registry.get_sample_value("imql_tencent_calls_total", {"endpoint": endpoint})
    return 0.0 if sample is None else sample


# ---- requests ------------------------------------------------------------------------------------
async def test_a_gateway_users_request_waits_for_the_native_user_and_their_acceptance_arrives(pair: Pair) -> None:
    bob = await native(pair, "bob")
    alice = await gateway_user(pair, "alice")
    result = await add(alice, "bob", r="my bob", g="school", w="it's alice", s="web")
    assert result["resultCode"] == PENDING
    assert await until(alice, "onFriendApplicationListAdded") == ["onFriendApplicationListAdded"]
    assert "onFriendApplicationListAdded" in await until(bob, "onFriendApplicationListAdded")
    assert bob.requests["alice"]["addWording"] == "it's alice"  # filed on Tencent, for the native side
    await alice.converged()

    await bob.q(ACCEPT, {"u": "alice", "r": "V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD"})
    seen = await until(alice, "onFriendListAdded")
    if "onFriendApplicationListDeleted" not in seen:  # the request goes once the friendship is made
        seen += await until(alice, "onFriendApplicationListDeleted")
    assert "onFriendApplicationListDeleted" in seen
    await alice.converged()
    assert alice.friends["bob"]["friendRemark"] == "my bob"  # what she asked for, kept by the mirror
    assert alice.friends["bob"]["friendGroup"] == ["school"]
    assert alice.requests == {}
    checked = (await alice.q(CHECK, {"u": ["bob"]}))["checkFriend"]
    assert checked == [{"userID": "bob", "resultType": "V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY"}]


async def test_a_native_request_is_accepted_through_the_gateway_and_its_echo_changes_nothing(pair: Pair) -> None:
    alice = await gateway_user(pair, "alice")
    bob = await native(pair, "bob")
    assert (await add(bob, "alice", r="gateway alice", w="hi from bob", s="android"))["resultCode"] == PENDING
    assert await until(alice, "onFriendApplicationListAdded") == ["onFriendApplicationListAdded"]
    assert alice.requests["bob"]["addWording"] == "hi from bob"
    assert alice.requests["bob"]["type"] == "V2TIM_FRIEND_APPLICATION_COME_IN"
    await alice.converged()

    accepted = (await alice.q(ACCEPT, {"u": "bob", "r": "V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD"}))[
        "acceptFriendApplication"
    ]
    assert accepted["resultCode"] == 0
    # the friendship first, then the request's deletion (a gateway dying between leaves it to accept again)
    assert await until(alice, "onFriendApplicationListDeleted") == [
        "onFriendListAdded",
        "onFriendApplicationListDeleted",
    ]
    # on Tencent: both ways, bob's side with the remark he asked for
    assert (await cloud_friends(pair, "bob"))["alice"]["Tag_SNS_IM_Remark"] == "gateway alice"
    assert "bob" in await cloud_friends(pair, "alice")
    assert "onFriendListAdded" in await until(bob, "onFriendListAdded")
    await bob.drain()  # his request's deletion follows
    await bob.converged()
    assert bob.requests == {}

    await settled(pair)  # the echo of the gateway's own friend_add
    assert await alice.drain() == []
    await alice.converged()


async def test_a_native_refusal_clears_the_gateway_users_request(pair: Pair) -> None:
    bob = await native(pair, "bob")
    alice = await gateway_user(pair, "alice")
    assert (await add(alice, "bob"))["resultCode"] == PENDING
    await until(alice, "onFriendApplicationListAdded")
    await until(bob, "onFriendApplicationListAdded")
    assert (await bob.q(REFUSE, {"u": "alice"}))["refuseFriendApplication"]["resultCode"] == 0
    assert await until(alice, "onFriendApplicationListDeleted") == ["onFriendApplicationListDeleted"]
    await alice.converged()
    assert alice.requests == {}
    assert alice.friends == {}


# ---- friends made at once, and ended --------------------------------------------------------------
async def test_friendships_made_and_ended_on_either_side_reach_the_other(pair: Pair) -> None:
    bob = await native(pair, "bob", ALLOW_ANY)
    alice = await gateway_user(pair, "alice", ALLOW_ANY)
    carol = await native(pair, "carol")

    assert (await add(alice, "bob", r="bobby"))["resultCode"] == 0  # Tencent applied bob's AllowAny
    assert await until(alice, "onFriendListAdded") == ["onFriendListAdded"]
    assert (await cloud_friends(pair, "bob")).keys() == {"alice"}
    assert (await cloud_friends(pair, "alice"))["bob"]["Tag_SNS_IM_Remark"] == "bobby"
    await until(bob, "onFriendListAdded")

    await bob.q(DELETE, {"u": ["alice"], "t": BOTH})  # natively
    assert await until(alice, "onFriendListDeleted") == ["onFriendListDeleted"]
    await alice.converged()
    assert alice.friends == {}

    assert (await add(carol, "alice"))["resultCode"] == 0  # natively, to alice who allows anyone
    await until(carol, "onFriendListAdded")
    assert await until(alice, "onFriendListAdded") == ["onFriendListAdded"]
    await alice.converged()
    assert alice.friends.keys() == {"carol"}

    deleted = (await alice.q(DELETE, {"u": ["carol", "nobody"], "t": BOTH}))["deleteFromFriendList"]
    assert [r["resultCode"] for r in deleted] == [0, 31704]
    assert await until(carol, "onFriendListDeleted") == ["onFriendListDeleted"]
    assert await cloud_friends(pair, "carol") == {}
    await until(alice, "onFriendListDeleted")
    await settled(pair)  # bob's, then the echo of alice's own
    assert await alice.drain() == []
    await alice.converged()


async def test_a_relation_between_users_the_mirror_never_saw_stays_out_of_it(pair: Pair) -> None:
    erin = await native(pair, "erin", ALLOW_ANY)
    frank = await native(pair, "frank")
    await add(frank, "erin")
    await until(erin, "onFriendListAdded")
    await settled(pair)
    gw = pair.gateway.gateway
    assert not await gw.redis.exists(gw.keys.friends("frank"), gw.keys.profile("erin"))


async def test_webhooks_out_of_order_or_stale_change_nothing_tencent_does_not_hold(pair: Pair) -> None:
    """Tencent delivers a batch of callbacks at once: an add may arrive after its delete, an echo
    after a later change. Where an event and the mirror disagree, Tencent's state now decides."""
    alice = await gateway_user(pair, "alice")
    await native(pair, "bob", ALLOW_ANY)
    carol = await native(pair, "carol", ALLOW_ANY)
    await native(pair, "dave")
    await add(alice, "carol")
    await until(alice, "onFriendListAdded")
    await until(carol, "onFriendListAdded")
    await alice.q(BLOCK, {"u": ["dave"]})
    await until(alice, "onBlackListAdd")
    await alice.q('query { getUsersInfo(userIDList: ["bob"]) { userID } }')  # bob is mirrored

    stale: list[dict[str, Any]] = [
        {"CallbackCommand": wire.FRIEND_ADD, "ClientCmd": "friend_add", "PairList": _pairs(("bob", "alice"))},
        {"CallbackCommand": wire.FRIEND_DELETE, "PairList": _pairs(("carol", "alice"), ("alice", "carol"))},
        {"CallbackCommand": wire.BLACKLIST_ADD, "PairList": _pairs(("bob", "alice"))},
        {"CallbackCommand": wire.BLACKLIST_DELETE, "PairList": _pairs(("alice", "dave"))},
    ]
    for body in stale:
        query = wire.query_string(
            pair.gateway.settings.sdkappid,
            body["CallbackCommand"],
            "10.0.0.1",
            "Android",
            token=TOKEN,
            request_time=int(time.time()),
        )
        path = f"{pair.gateway.settings.tencent_callback_path}?{query}"
        answer = await pair.at_gateway.http.post(path, json=body)
        assert answer.json()["ErrorCode"] == 0
    await settled(pair)
    assert await alice.drain() == []
    await alice.converged()
    assert alice.friends.keys() == {"carol"}
    assert alice.blocked == {"dave"}
    assert (await send_text(alice, "bob", "not blocked")).codes == []


def _pairs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"From_Account": a, "To_Account": b, "Initiator_Account": a} for a, b in pairs]


# ---- the blacklist ----------------------------------------------------------------------------------
async def test_blocks_both_ways_stop_c2c_messages_both_ways(pair: Pair) -> None:
    alice = await gateway_user(pair, "alice")
    bob = await native(pair, "bob")
    carol = await native(pair, "carol")

    blocked = (await alice.q(BLOCK, {"u": ["bob"]}))["addToBlackList"]
    assert blocked == [{"userID": "bob", "resultCode": 0, "resultInfo": ""}]
    assert await until(alice, "onBlackListAdd") == ["onBlackListAdd"]
    assert await cloud_blocked(pair, "alice") == ["bob"]
    assert (await send_text(bob, "alice", "let me in")).codes == [BLOCKED]  # Tencent enforces it natively
    await settled(pair)  # the echo
    assert await alice.drain() == []

    await carol.q(BLOCK, {"u": ["alice"]})  # natively
    await settled(pair)
    # REST sends skip Tencent's checks: the gateway's own, on its mirror, refuse it
    assert (await send_text(alice, "carol", "hello?")).codes == [BLOCKED]
    assert (await pair.admin("openim/admin_getroammsg", _roam("alice", "carol"))).get("MsgCnt", 0) == 0

    await alice.q(UNBLOCK, {"u": ["bob"]})
    assert await until(alice, "onBlackListDeleted") == ["onBlackListDeleted"]
    assert await cloud_blocked(pair, "alice") == []
    assert (await send_text(bob, "alice", "thanks")).codes == []
    await carol.q(UNBLOCK, {"u": ["alice"]})
    await settled(pair)
    assert (await send_text(alice, "carol", "hello again")).codes == []
    await alice.converged()


def _roam(a: str, b: str) -> dict[str, Any]:
    return {"Operator_Account": a, "Peer_Account": b, "MaxCnt": 10, "MinTime": 0, "MaxTime": 2**31 - 1}


# ---- friend groups and remarks ----------------------------------------------------------------------
async def test_friend_groups_and_remarks_are_written_to_tencent(pair: Pair) -> None:
    await native(pair, "bob", ALLOW_ANY)
    await native(pair, "carol", ALLOW_ANY)
    alice = await gateway_user(pair, "alice")
    await add(alice, "bob")
    await add(alice, "carol")
    await until(alice, "onFriendListAdded")
    await until(alice, "onFriendListAdded")

    made = await alice.q('mutation { createFriendGroup(groupName: "work", userIDList: ["bob"]) { resultCode } }')
    assert made["createFriendGroup"] == [{"resultCode": 0}]
    assert await cloud_groups(pair, "alice") == {"work": ["bob"]}
    await alice.q('mutation { addFriendsToFriendGroup(groupName: "work", userIDList: ["carol"]) { resultCode } }')
    assert await cloud_groups(pair, "alice") == {"work": ["bob", "carol"]}
    await alice.q('mutation { renameFriendGroup(oldName: "work", newName: "office") }')
    assert await cloud_groups(pair, "alice") == {"office": ["bob", "carol"]}
    await alice.q('mutation { deleteFriendsFromFriendGroup(groupName: "office", userIDList: ["bob"]) { resultCode } }')
    assert await cloud_groups(pair, "alice") == {"office": ["carol"]}
    await alice.q('mutation { setFriendInfo(userID: "bob", friendRemark: "Bob B.") }')
    assert (await cloud_friends(pair, "alice"))["bob"]["Tag_SNS_IM_Remark"] == "Bob B."
    assert (await alice.q(GROUPS))["getFriendGroups"] == [{"name": "office", "friendIDList": ["carol"]}]
    await alice.drain()
    await alice.converged()
    assert alice.friends["bob"]["friendRemark"] == "Bob B."
    assert alice.friends["carol"]["friendGroup"] == ["office"]

    await alice.q('mutation { deleteFriendGroup(groupNameList: ["office"]) }')
    assert await cloud_groups(pair, "alice") == {}
    assert (await cloud_friends(pair, "alice")).keys() == {"bob", "carol"}
    assert (await alice.q(GROUPS))["getFriendGroups"] == []


# ---- the relation chain imported -------------------------------------------------------------------
async def test_a_relation_chain_made_before_the_gateway_is_imported_once(pair: Pair) -> None:
    for name in ("alice", "bob", "carol", "dave"):
        await pair.admin("im_open_login_svc/account_import", {"UserID": name})
    item = {"To_Account": "bob", "Remark": "old friend", "GroupName": ["college"], "AddSource": "AddSource_Type_Web"}
    await pair.admin("sns/friend_import", {"From_Account": "alice", "AddFriendItem": [item]})
    await pair.admin("sns/black_list_add", {"From_Account": "alice", "To_Account": ["carol"]})
    await pair.admin("sns/group_add", {"From_Account": "alice", "GroupName": ["empty"]})
    await pair.admin("sns/black_list_add", {"From_Account": "dave", "To_Account": ["alice"]})

    alice = await make_user(pair.at_gateway, pair.gateway, "alice")  # first login: imported
    friends = (await alice.q("{ getFriendList { userID friendRemark friendGroup } }"))["getFriendList"]
    assert friends == [{"userID": "bob", "friendRemark": "old friend", "friendGroup": ["college"]}]
    assert (await alice.q("{ getBlackList { userID } }"))["getBlackList"] == [{"userID": "carol"}]
    groups = {g["name"]: g["friendIDList"] for g in (await alice.q(GROUPS))["getFriendGroups"]}
    assert groups == {"college": ["bob"], "empty": []}
    assert tencent_calls(pair, "sns/friend_get") == 1

    # dave blocked alice before the gateway knew either: his chain is imported before her first send
    assert (await send_text(alice, "dave", "hi dave")).codes == [BLOCKED]
    alice = await make_user(pair.at_gateway, pair.gateway, "alice")  # a second login imports nothing again
    await alice.q(GROUPS)
    assert tencent_calls(pair, "sns/friend_get") == 2  # alice's, then dave's


# ---- refusals upstream ------------------------------------------------------------------------------
async def test_what_tencent_refuses_changes_nothing_in_the_mirror(pair: Pair) -> None:
    await native(pair, "bob", DENY_ANY)
    await native(pair, "carol")
    alice = await gateway_user(pair, "alice")
    refused = await alice.call(ADD, {"u": "bob", "t": BOTH})
    assert refused.codes == [30516]
    assert "tencent 30516" in refused.errors[0]["message"]  # Tencent's refusal, not the mirror's
    await alice.converged()
    assert alice.requests == {}
    assert alice.friends == {}

    await pair.cloud.stop()  # Tencent unreachable
    assert (await alice.call(BLOCK, {"u": ["carol"]})).codes
    assert (await alice.call(ADD, {"u": "carol", "t": BOTH})).codes
    assert await alice.drain() == []
    await alice.converged()
    assert alice.blocked == set()
    assert alice.requests == {}
