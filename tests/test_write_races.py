"""Races on one gateway: concurrent requests over real HTTP (asyncio.gather), each race run several
times (or over a sweep of small start offsets) so that it fails every run while the defect stands.
Each test names what the docs promise and what the concurrent requests do instead."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.actors import Actor
from tests.support.clients import HTTPClient
from tests.support.messages import HISTORY, device
from tests.support.servers import InProcessGateway

ROUNDS = 5

CREATE = """mutation($t: V2TIM_GroupType!, $n: String!, $m: [CreateGroupMemberInfoInput!], $a: V2TIM_GroupAdd) {
  createGroup(groupType: $t, groupName: $n, memberListMap: $m, addOpt: $a) }"""


async def _users(client: HTTPClient, *names: str) -> list[Actor]:
    return [await Actor.login(client, n) for n in names]


async def _group(owner: Actor, *members: str, kind: str = "PUBLIC", add: str = "V2TIM_GROUP_ADD_ANY") -> str:
    variables: dict[str, Any] = {
        "t": f"V2TIM_GROUP_TYPE_{kind}",
        "n": "g",
        "m": [{"userID": m, "role": "V2TIM_GROUP_MEMBER_ROLE_MEMBER"} for m in members] or None,
        "a": add,
    }
    return str((await owner.q(CREATE, variables))["createGroup"])


async def _after(delay: float, actor: Actor, document: str, variables: dict[str, Any]) -> Any:
    """`actor`'s call of `document`, `delay` seconds from now (a sweep of offsets finds the window)."""
    await asyncio.sleep(delay)
    return await actor.call(document, variables)


async def _members(viewer: Actor, gid: str) -> dict[str, dict[str, Any]]:
    page = await viewer.q(
        "query($g: String!) { getGroupMemberList(groupID: $g) { memberInfoList { userID role nameCard muteUntil } } }",
        {"g": gid},
    )
    return {m["userID"]: m for m in page["getGroupMemberList"]["memberInfoList"]}


# ---- group attributes ------------------------------------------------------------------------------

SET_ATTRS = "mutation($g: String!, $a: [KeyValueInput!]!) { setGroupAttributes(groupID: $g, attributes: $a) }"
GET_ATTRS = "query($g: String!) { getGroupAttributes(groupID: $g) { key value } }"


async def test_concurrent_set_group_attributes_of_different_keys_keep_both(client: HTTPClient) -> None:
    """setGroupAttributes "updates the value if the key exists, otherwise adds it" (CATALOG.md,
    setGroupAttributes); two members setting *different* keys at once must both find their key
    stored (only writers of the *same* key may conflict, and then the loser gets 10056). Before the fix, the
    engine reads the hash, merges in Python and rewrites the whole hash (DEL + HSET), without any
    lock in embedded mode (the upstream turn is a no-op there): the last writer erases the other's key."""
    alice, bob = await _users(client, "alice", "bob")
    gid = await _group(alice, "bob")
    lost = []
    for i in range(ROUNDS):
        a, b = await asyncio.gather(
            alice.call(SET_ATTRS, {"g": gid, "a": [{"key": f"a{i}", "value": "x"}]}),
            bob.call(SET_ATTRS, {"g": gid, "a": [{"key": f"b{i}", "value": "y"}]}),
        )
        a.ok(), b.ok()
        stored = {kv["key"] for kv in (await alice.q(GET_ATTRS, {"g": gid}))["getGroupAttributes"]}
        lost += [k for k in (f"a{i}", f"b{i}") if k not in stored]
    assert lost == [], f"keys set successfully but lost to a concurrent set: {lost}"


# ---- group owner and members -----------------------------------------------------------------------

TRANSFER = "mutation($g: String!, $u: String!) { transferGroupOwner(groupID: $g, userID: $u) }"


async def test_two_concurrent_owner_transfers_leave_one_owner(client: HTTPClient) -> None:
    """A group has one owner (GroupInfo.owner; transferGroupOwner hands the role over). The owner
    sending two transfers at once (to bob and to carol) must end with exactly one member whose role
    is owner, that one being GroupInfo.owner; the other transfer must fail (the caller is no
    longer owner: 10007). Before the fix, both pass the role check on the same snapshot and each writes its
    target as OWNER: two members with the owner role, one of them not the group's owner."""
    alice, bob, _ = await _users(client, "alice", "bob", "carol")
    bad = []
    for i in range(ROUNDS):
        gid = await _group(alice, "bob", "carol")
        replies = await asyncio.gather(
            alice.call(TRANSFER, {"g": gid, "u": "bob"}), alice.call(TRANSFER, {"g": gid, "u": "carol"})
        )
        owners = sorted(
            u for u, m in (await _members(bob, gid)).items() if m["role"] == "V2TIM_GROUP_MEMBER_ROLE_OWNER"
        )
        if len(owners) != 1 or sum(not r.errors for r in replies) != 1:
            bad.append((i, owners, [r.codes for r in replies]))
    assert bad == [], f"(round, members with the owner role, codes of the two transfers): {bad}"


async def test_concurrent_joins_never_exceed_the_member_cap(client: HTTPClient) -> None:
    """A full group refuses joins with 10014 (ERRORS.md: "the group is full"); a cap set over REST
    (create_group MaxMemberCount) is the group's cap. With MaxMemberCount 3 (owner + 2), four users
    joining a free-access group at once: two join, two get 10014, and the group has 3 members.
    Before the fix, each join checks the member count it read before writing (check_cap, then add_members:
    no atomic unit): all four join, 5 members in a group capped at 3."""
    owner, *joiners = await _users(client, "olive", "j1", "j2", "j3", "j4")
    over = []
    for i in range(ROUNDS):
        answer = await client.http.post(
            "/v4/group_open_http_svc/create_group",
            params=_rest_params(client),
            json={
                "Owner_Account": "olive",
                "Type": "Public",
                "Name": f"cap{i}",
                "MaxMemberCount": 3,
                "ApplyJoinOption": "FreeAccess",
            },
        )
        gid = answer.json()["GroupId"]
        replies = await asyncio.gather(
            *(j.call("mutation($g: String!) { joinGroup(groupID: $g) }", {"g": gid}) for j in joiners)
        )
        count = len(await _members(owner, gid))
        codes = sorted(tuple(r.codes) for r in replies)
        if count != 3 or codes != [(), (), (10014,), (10014,)]:
            over.append((i, count, codes))
    assert over == [], f"(round, members (cap 3), codes of the four joins): {over}"


def _rest_params(client: HTTPClient) -> dict[str, str]:
    return {
        "sdkappid": str(client.sdkappid),
        "identifier": "administrator",
        "usersig": client.sig("administrator"),
        "random": "1",
        "contenttype": "json",
    }


ACCEPT_APP = "mutation($g: String!, $f: String!) { acceptGroupApplication(groupID: $g, fromUser: $f) }"
REFUSE_APP = "mutation($g: String!, $f: String!) { refuseGroupApplication(groupID: $g, fromUser: $f) }"


async def test_accept_and_refuse_of_one_join_application_at_once_handle_it_once(client: HTTPClient) -> None:
    """An application is handled once: the second handler gets 10024 ("the application was already
    handled", ERRORS.md). The owner accepting and an admin refusing one application at once must
    leave one outcome: exactly one call succeeds, and the application's recorded result agrees with
    whether the applicant became a member. Before the fix, both calls succeed: the applicant is added by the
    accept while the application reads as refused (or the other way round)."""
    owner, admin, joiner = await _users(client, "olive", "adam", "jay")
    bad = []
    for i in range(ROUNDS):
        gid = await _group(owner, "adam", add="V2TIM_GROUP_ADD_AUTH")
        await owner.q(
            'mutation($g: String!) { setGroupMemberRole(groupID: $g, userID: "adam", role: V2TIM_GROUP_MEMBER_ROLE_ADMIN) }',
            {"g": gid},
        )
        await joiner.q("mutation($g: String!) { joinGroup(groupID: $g) }", {"g": gid})
        replies = await asyncio.gather(
            owner.call(ACCEPT_APP, {"g": gid, "f": "jay"}), admin.call(REFUSE_APP, {"g": gid, "f": "jay"})
        )
        succeeded = [name for name, r in zip(("accept", "refuse"), replies, strict=True) if not r.errors]
        if len(succeeded) != 1:
            joined = "jay" in await _members(owner, gid)
            bad.append((i, succeeded, f"jay a member: {joined}"))
    assert bad == [], f"(round, calls that succeeded, outcome): {bad}"


ROLE = "mutation($g: String!, $u: String!) { setGroupMemberRole(groupID: $g, userID: $u, role: V2TIM_GROUP_MEMBER_ROLE_ADMIN) }"
CARD = "mutation($g: String!, $u: String!, $c: String!) { setGroupMemberInfo(groupID: $g, userID: $u, nameCard: $c) }"


async def test_a_name_card_change_does_not_undo_a_concurrent_role_grant(client: HTTPClient) -> None:
    """setGroupMemberRole (grant admin) by the owner and setGroupMemberInfo (nameCard) by the
    member at once change different fields of one member: both must stick (role and nameCard are
    separate fields of V2TIMGroupMemberFullInfo, CATALOG.md). Before the fix, each reads the whole member
    record and writes it back: a name card write that read the record before the grant puts back
    role MEMBER, while the grant's entry in the group's admin set stays (the admin set and the
    member's role then disagree)."""
    alice, bob = await _users(client, "alice", "bob")
    bad = []

    async def card_after(gid: str, card: str, delay: float) -> Any:
        await asyncio.sleep(delay)
        return await bob.call(CARD, {"g": gid, "u": "bob", "c": card})

    for i in range(80):  # the card changes start 0-6 ms after the grant, in steps
        gid = await _group(alice, "bob")
        cards = [f"card{i}-{k}" for k in range(4)]
        replies = await asyncio.gather(
            alice.call(ROLE, {"g": gid, "u": "bob"}),
            *(card_after(gid, c, k * (i % 20) * 0.0001) for k, c in enumerate(cards)),
        )
        [r.ok() for r in replies]
        row = (await _members(alice, gid))["bob"]
        if row["role"] != "V2TIM_GROUP_MEMBER_ROLE_ADMIN" or row["nameCard"] not in cards:
            bad.append((i, row["role"], row["nameCard"]))
    assert bad == [], f"(round, bob's role, bob's name card) after the grant and the card changes succeeded: {bad}"


SEND_ONE = "mutation($id: String!, $to: String!) { sendMessage(id: $id, receiver: $to) { msgID } }"


async def test_concurrent_sends_of_one_created_message_make_one_message_told_once(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """An SDK resends a send it got no answer for: four sendMessage of one created id at once must
    answer one msgID and tell the receiver once ("a concurrent retry of the same send returns this
    message instead", gateway/engine/messages.py). A repeat once took the first send's claim,
    still under way, for one whose send had died (MessageCore.lost_claim): it wrote and told the
    message again, or answered 7012 "the first send of this id did not complete; create it again"."""
    alice = await Actor.login(client, "alice")
    bob = await device(client, server, "bob")
    bad = []
    for i in range(ROUNDS):
        created = await alice.create_text(f"once {i}")
        replies = await asyncio.gather(*(alice.call(SEND_ONE, {"id": created, "to": "bob"}) for _ in range(4)))
        answered = [r.data["sendMessage"]["msgID"] if not r.errors else r.codes for r in replies]
        told = [e for e in await bob.drain() if e["type"] == "onRecvNewMessage"]
        if len(set(map(str, answered))) != 1 or len(told) != 1:
            bad.append((i, answered, f"bob told {len(told)} times"))
    history = (await bob.q(HISTORY, {"u": "alice", "n": 50}))["getC2CHistoryMessageList"]
    assert bad == [], bad
    assert len(history) == ROUNDS


# ---- conversation groups ---------------------------------------------------------------------------

CREATE_CG = (
    "mutation($n: String!, $c: [String!]) { createConversationGroup(groupName: $n, conversationIDList: $c) {"
    " conversationID resultCode } }"
)
ADD_CG = (
    "mutation($n: String!, $c: [String!]!) { addConversationsToGroup(groupName: $n, conversationIDList: $c) {"
    " conversationID resultCode } }"
)
CONV = "query($c: String!) { getConversation(conversationID: $c) { conversationGroupList } }"


async def _conversations_with(client: HTTPClient, owner: Actor, *peers: str) -> list[str]:
    for peer in peers:
        await Actor.login(client, peer)
        await owner.q(SEND_ONE, {"id": await owner.create_text("hi"), "to": peer})
    return [f"c2c_{p}" for p in peers]


async def test_concurrent_conversation_group_creations_stop_at_20(client: HTTPClient) -> None:
    """A user has at most 20 conversation groups (ERRORS.md: 51006-51011 ... "20 groups"; the
    engine's CONVERSATION_GROUPS_MAX, 51010 beyond). Creating 25 differently named groups at once
    must create 20 and refuse 5 with 51010. Before the fix, each creation counts the groups it read before
    writing: all 25 are made."""
    alice = await Actor.login(client, "alice")
    replies = await asyncio.gather(*(alice.call(CREATE_CG, {"n": f"cg{i}", "c": []}) for i in range(25)))
    listed = (await alice.q("{ getConversationGroupList }"))["getConversationGroupList"]
    refused = [r.codes for r in replies if r.errors]
    assert len(listed) <= 20, f"{len(listed)} conversation groups; refusals: {refused}"


async def test_creating_one_conversation_group_twice_at_once_makes_it_once(client: HTTPClient) -> None:
    """createConversationGroup of a name that exists is refused (51009,
    ERR_CONVERSATION_GROUP_EXISTS in the engine: "a conversation group ... exists already"). Four
    creations of one name at once must leave one succeeding and the others refused. Before the fix, several
    succeed (each checked the names it read before writing; the second HSET overwrites the
    first's conversation list, and onConversationGroupCreated goes out twice)."""
    alice = await Actor.login(client, "alice")

    async def create_after(name: str, delay: float) -> Any:
        await asyncio.sleep(delay)
        return await alice.call(CREATE_CG, {"n": name, "c": []})

    twice = []
    for i in range(40):  # the second creations start 0-4 ms after the first, in steps
        replies = await asyncio.gather(*(create_after(f"same{i}", k * (i % 20) * 0.0001) for k in range(4)))
        if sum(not r.errors for r in replies) > 1:
            twice.append((f"same{i}", sum(not r.errors for r in replies)))
    assert twice == [], f"(name, creations of it that succeeded, of 4 at once): {twice}"


async def test_adding_two_conversations_to_one_group_at_once_keeps_both(client: HTTPClient) -> None:
    """addConversationsToGroup adds to the conversation group (CATALOG.md); two adds of different
    conversations at once must leave both in the group. Before the fix, each reads the group's list, appends
    and writes the whole list back: one add is lost though it answered success."""
    alice = await Actor.login(client, "alice")
    convs = await _conversations_with(client, alice, *(f"p{i}" for i in range(2 * ROUNDS)))
    bad = []
    for i in range(ROUNDS):
        alice_group = f"cg{i}"
        await alice.q(CREATE_CG, {"n": alice_group, "c": []})
        x, y = convs[2 * i], convs[2 * i + 1]
        a, b = await asyncio.gather(
            alice.call(ADD_CG, {"n": alice_group, "c": [x]}), alice.call(ADD_CG, {"n": alice_group, "c": [y]})
        )
        a.ok(), b.ok()
        missing = [
            c
            for c in (x, y)
            if alice_group not in (await alice.q(CONV, {"c": c}))["getConversation"]["conversationGroupList"]
        ]
        if missing:
            bad.append((alice_group, missing))
    assert bad == [], f"(group, conversations added successfully but not in it): {bad}"


# ---- a group dismissed while someone joins it ------------------------------------------------------

CREATE_ID = """mutation($id: String!) { createGroup(groupType: V2TIM_GROUP_TYPE_PUBLIC, groupID: $id, groupName: "g",
  addOpt: V2TIM_GROUP_ADD_ANY) }"""
JOIN = "mutation($g: String!) { joinGroup(groupID: $g) }"
DISMISS = "mutation($g: String!) { dismissGroup(groupID: $g) }"


async def test_a_join_racing_a_dismissal_leaves_no_member_in_a_new_group_of_that_id(client: HTTPClient) -> None:
    """A dismissed group is gone with everything in it (destroy: "remove the group and everything in
    it"); a group created afterwards under the same custom groupID is a new group whose only member
    is its creator. A joinGroup racing the dismissal either joins the old group (and is removed
    with it) or fails with 10010 (ERRORS.md: "the group does not exist or was dismissed"). Before the fix, a
    join that read the group before the dismissal writes its member record after the group's keys
    were deleted: the member record outlives the group, and the next group created under that ID
    starts with that user as a member (memberCount included) though nobody invited them."""
    alice, bob = await _users(client, "alice", "bob")
    leaked = []
    for i in range(60):  # the join starts 0-10 ms after the dismissal, in steps
        gid = f"room-{i}"
        await alice.q(CREATE_ID, {"id": gid})
        await asyncio.gather(alice.call(DISMISS, {"g": gid}), _after((i % 20) * 0.0005, bob, JOIN, {"g": gid}))
        await alice.q(CREATE_ID, {"id": gid})
        if "bob" in await _members(alice, gid):
            leaked.append(gid)
    assert leaked == [], f"new groups that start with bob as a member: {leaked}"


# ---- revoke and modify of one message at once ------------------------------------------------------

REVOKE = "mutation($m: String!) { revokeMessage(lastMsgID: $m) }"
MODIFY_TEXT = """mutation($m: String!, $t: String!) { modifyMessage(message: {msgID: $m, textElem: {text: $t}}) {
  msgID textElem { text } } }"""


async def test_a_revoke_and_a_modification_at_once_are_applied_in_one_order(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """A revoked message cannot be modified (the engine refuses: "a revoked message cannot be
    modified"), and a modification is kept (8006 only for a lost race with another
    modification, ERRORS.md). So when the sender's revokeMessage and modifyMessage of one message
    both succeed, the modification came first: the message ends revoked *with* the new text, and
    its receiver hears onRecvMessageModified before onRecvMessageRevoked. Before the fix, the two are not
    ordered: the revoke writes back the whole message it read before the modification (undoing
    it), or the modification is applied to the already revoked message and told after the revoke."""
    alice = await Actor.login(client, "alice")
    bob = await device(client, server, "bob")
    bad = []
    for i in range(2 * ROUNDS):
        sent = (await alice.q(SEND_ONE, {"id": await alice.create_text(f"old {i}"), "to": "bob"}))["sendMessage"]
        await bob.drain()
        revoked, modified = await asyncio.gather(
            alice.call(REVOKE, {"m": sent["msgID"]}), alice.call(MODIFY_TEXT, {"m": sent["msgID"], "t": f"new {i}"})
        )
        told = [e["type"] for e in await bob.drain()]
        history = (await alice.q(HISTORY, {"u": "bob", "n": 1}))["getC2CHistoryMessageList"][0]
        outcome = (history["status"], history["textElem"]["text"], told)
        # the revoke always stands; the modification either came first (kept, told first) or
        # was refused (a revoked message, 6017; or the race lost, 8006)
        assert revoked.errors == [], revoked.body
        if modified.errors:
            expected = ("V2TIM_MSG_STATUS_LOCAL_REVOKED", f"old {i}", ["onRecvMessageRevoked"])
            ok = modified.codes[0] in (6017, 8006) and outcome == expected
        else:
            expected = ("V2TIM_MSG_STATUS_LOCAL_REVOKED", f"new {i}", ["onRecvMessageModified", "onRecvMessageRevoked"])
            ok = outcome == expected
        if not ok:
            bad.append((i, modified.codes, outcome))
    assert bad == [], f"(round, the modification's codes, (status, text kept, events bob heard)): {bad}"
