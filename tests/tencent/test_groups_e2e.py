"""Groups on the Tencent Cloud backend end to end: the gateway against imql's own REST v4 server and
callbacks standing in for Tencent (the `pair` of tests/tencent/test_backend_e2e.py).

Cloud GraphQL users play native SDK users. What docs/tencent-design.md promises for the groups
family: a gateway user's group writes reach Tencent first and then the mirror (a refusal upstream
leaves the mirror as it was); native users' group changes reach gateway users through webhooks as
the listener events an SDK user gets; groups created natively are imported the first time the
mirror needs them; echoes of the gateway's own writes are never applied twice.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from gateway.errors import Code
from gateway.keys import Keys
from tests.support.groups import CREATE, Member, info, member
from tests.support.tencent_pair import Pair, eventually

CALLBACK_GROUP = "callbackers"  # gateway.engine.callbacks.worker.GROUP: the cloud's callback deliveries
INBOUND_GROUP = "tencent-inbound"  # gateway.tencent.inbound.GROUP: the gateway's webhook handling
MEMBERS = '{ getGroupMemberList(groupID: "%s", filter: V2TIM_GROUP_MEMBER_FILTER_ALL, nextSeq: 0) { memberInfoList { userID role } } }'
JOINED = "{ getJoinedGroupList { groupID groupName owner } }"


async def settled(pair: Pair) -> None:
    """Every callback the cloud has queued was delivered to the gateway and handled there: what an
    echo would have done to the mirror is done, so a test may check it did nothing."""
    keys = Keys(pair.at_cloud.sdkappid)
    streams = (
        (pair.cloud.settings.redis_url, keys.callback_queue(), CALLBACK_GROUP),
        (pair.gateway.settings.redis_url, keys.tencent_inbound_queue(), INBOUND_GROUP),
    )

    async def drained() -> bool:
        for url, stream, group in streams:
            client = aioredis.Redis.from_url(str(url))
            try:
                if await client.exists(stream):
                    groups = {g["name"].decode(): g for g in await client.xinfo_groups(stream)}
                    found = groups.get(group)
                    if found is None or found["pending"] or found["lag"]:
                        return False
            finally:
                await client.aclose()
        return True

    await eventually(drained)


async def both(pair: Pair, gateway_user: str, native_user: str) -> tuple[Member, Member]:
    """A gateway user and a native user, each with groupListener and advancedMsgListener open; each
    knows the other (the mirror has imported the native account)."""
    mine = await member(pair.at_gateway, pair.gateway, gateway_user)
    theirs = await member(pair.at_cloud, pair.cloud, native_user)
    await mine.q('{ getUsersInfo(userIDList: ["%s"]) { userID } }' % native_user)
    return mine, theirs


async def wait_for(m: Member, event_type: str) -> dict[str, Any]:
    """The first groupListener event of `event_type` (earlier ones are passed over)."""
    return (await m.ws.events_until(m.groups_op, event_type))[-1]


async def members_of(m: Member, gid: str) -> dict[str, str]:
    page = (await m.q(MEMBERS % gid))["getGroupMemberList"]["memberInfoList"]
    return {row["userID"]: row["role"] for row in page}


async def on_tencent(pair: Pair, gid: str) -> dict[str, Any]:
    answer = await pair.admin("group_open_http_svc/get_group_info", {"GroupIdList": [gid]})
    group: dict[str, Any] = answer["GroupInfo"][0]
    return group


def tencent_members(group: dict[str, Any]) -> dict[str, str]:
    return {row["Member_Account"]: row["Role"] for row in group.get("MemberList", [])}


# ---- lifecycle and membership written through ----------------------------------------------------
async def test_a_group_created_through_the_gateway_is_tencents_and_a_native_user_joins_it(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    gid = await alice.create("Public", "open house", a="V2TIM_GROUP_ADD_ANY")
    # the ID is the one Tencent assigned, and the group there is alice's
    group = await on_tencent(pair, gid)
    assert group["ErrorCode"] == 0
    assert (group["Owner_Account"], group["Type"], group["Name"]) == ("alice", "Public", "open house")
    assert group["ApplyJoinOption"] == "FreeAccess"
    assert gid.startswith("@TGS#")
    assert (await info(alice, gid))["groupInfo"]["owner"] == "alice"
    assert [e["type"] for e in await alice.group_events()] == ["onGroupCreated"]

    assert await bob.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    entered = await wait_for(alice, "onMemberEnter")  # a native join is an application, not an invitation
    assert [m["userID"] for m in entered["memberList"]] == ["bob"]
    assert await members_of(alice, gid) == {
        "alice": "V2TIM_GROUP_MEMBER_ROLE_OWNER",
        "bob": "V2TIM_GROUP_MEMBER_ROLE_MEMBER",
    }
    await settled(pair)
    assert await alice.group_events() == []  # the creation's echo changed nothing


async def test_membership_changes_made_through_the_gateway_reach_native_members_once(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    carol = await member(pair.at_cloud, pair.cloud, "carol")
    gid = await alice.create("Work", "team", m=[{"userID": "bob"}])
    assert tencent_members(await on_tencent(pair, gid)) == {"alice": "Owner", "bob": "Member"}
    assert (await wait_for(bob, "onMemberInvited"))["groupID"] == gid

    invite = 'mutation { inviteUserToGroup(groupID: "%s", userList: ["carol"]) { memberID result } }' % gid
    assert (await alice.q(invite))["inviteUserToGroup"] == [{"memberID": "carol", "result": "OPERATION_RESULT_SUCC"}]
    assert "carol" in tencent_members(await on_tencent(pair, gid))
    # the native members hear of it from Tencent (the operator is the app admin: REST acted)
    assert [m["userID"] for m in (await wait_for(bob, "onMemberInvited"))["memberList"]] == ["carol"]

    kick = 'mutation { kickGroupMember(groupID: "%s", memberList: ["bob"], reason: "") { result } }' % gid
    assert (await alice.q(kick))["kickGroupMember"] == [{"result": "OPERATION_RESULT_SUCC"}]
    assert (await wait_for(bob, "onMemberKicked"))["groupID"] == gid
    assert set(tencent_members(await on_tencent(pair, gid))) == {"alice", "carol"}

    rename = "mutation($i: GroupInfoInput!) { setGroupInfo(info: $i) }"
    assert await alice.q(rename, {"i": {"groupID": gid, "groupName": "renamed", "notification": "read me"}})
    assert (await on_tencent(pair, gid))["Name"] == "renamed"
    changed = await wait_for(carol, "onGroupInfoChanged")
    assert {c["value"] for c in changed["groupChangeInfoList"]} == {"renamed", "read me"}

    # alice's own listener heard each change once: the echoes were dropped or changed nothing
    # (onGroupCreated comes on her own stream, the rest on the group's: their order may differ)
    await settled(pair)
    assert sorted(e["type"] for e in await alice.group_events()) == [
        "onGroupCreated",
        "onGroupInfoChanged",
        "onMemberInvited",
        "onMemberInvited",
        "onMemberKicked",
    ]
    assert await members_of(alice, gid) == {
        "alice": "V2TIM_GROUP_MEMBER_ROLE_OWNER",
        "carol": "V2TIM_GROUP_MEMBER_ROLE_MEMBER",
    }


async def test_roles_owner_quit_and_dismiss_go_through_tencent(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    dave = await member(pair.at_gateway, pair.gateway, "dave")
    gid = await alice.create("Meeting", "meet", m=[{"userID": "bob"}, {"userID": "dave"}])
    role = 'mutation { setGroupMemberRole(groupID: "%s", userID: "bob", role: V2TIM_GROUP_MEMBER_ROLE_ADMIN) }'
    assert await alice.q(role % gid)
    assert tencent_members(await on_tencent(pair, gid))["bob"] == "Admin"
    assert (await wait_for(dave, "onGrantAdministrator"))["memberList"] == [{"userID": "bob"}]

    assert await dave.q(f'mutation {{ quitGroup(groupID: "{gid}") }}')
    assert "dave" not in tencent_members(await on_tencent(pair, gid))
    assert (await wait_for(bob, "onMemberKicked"))["memberList"][0]["userID"] == "dave"  # REST has no quit
    assert (await wait_for(alice, "onMemberLeave"))["member"]["userID"] == "dave"  # the mirror's own: a quit

    assert await alice.q(f'mutation {{ transferGroupOwner(groupID: "{gid}", userID: "bob") }}')
    assert (await on_tencent(pair, gid))["Owner_Account"] == "bob"
    assert (await info(alice, gid))["groupInfo"]["owner"] == "bob"
    # now alice may not dismiss it: the engine's rule, checked before Tencent is asked
    assert (await alice.call(f'mutation {{ dismissGroup(groupID: "{gid}") }}')).codes == [Code.ERR_NO_PERMISSION]
    assert (await on_tencent(pair, gid))["ErrorCode"] == 0


# ---- native users' changes, through webhooks -----------------------------------------------------
async def test_a_group_created_natively_reaches_its_gateway_members(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    gid = await bob.create("Work", "bobs team", m=[{"userID": "alice"}])
    invited = await wait_for(alice, "onMemberInvited")
    assert (invited["groupID"], invited["opUser"]["userID"]) == (gid, "bob")
    assert [m["userID"] for m in invited["memberList"]] == ["alice"]
    joined = (await alice.q(JOINED))["getJoinedGroupList"]
    assert joined == [{"groupID": gid, "groupName": "bobs team", "owner": "bob"}]
    assert await members_of(alice, gid) == {
        "bob": "V2TIM_GROUP_MEMBER_ROLE_OWNER",
        "alice": "V2TIM_GROUP_MEMBER_ROLE_MEMBER",
    }
    await settled(pair)
    assert await alice.group_events() == []  # the creation's callback after the join's: nothing new


async def test_native_changes_to_a_group_reach_the_gateway_user(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    carol = await member(pair.at_cloud, pair.cloud, "carol")
    gid = await bob.create("Meeting", "natives", m=[{"userID": "alice"}])
    await wait_for(alice, "onMemberInvited")

    assert await carol.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    assert [m["userID"] for m in (await wait_for(alice, "onMemberEnter"))["memberList"]] == ["carol"]

    rename = "mutation($i: GroupInfoInput!) { setGroupInfo(info: $i) }"
    assert await bob.q(rename, {"i": {"groupID": gid, "groupName": "natives 2", "introduction": "hello"}})
    changed = await wait_for(alice, "onGroupInfoChanged")
    assert {c["value"] for c in changed["groupChangeInfoList"]} == {"natives 2", "hello"}
    assert (await info(alice, gid))["groupInfo"]["groupName"] == "natives 2"

    role = 'mutation { setGroupMemberRole(groupID: "%s", userID: "alice", role: V2TIM_GROUP_MEMBER_ROLE_ADMIN) }'
    assert await bob.q(role % gid)
    granted = await wait_for(alice, "onGrantAdministrator")
    assert (granted["opUser"]["userID"], granted["memberList"]) == ("bob", [{"userID": "alice"}])

    assert await carol.q(f'mutation {{ quitGroup(groupID: "{gid}") }}')
    assert (await wait_for(alice, "onMemberLeave"))["member"]["userID"] == "carol"

    assert await bob.q(f'mutation {{ transferGroupOwner(groupID: "{gid}", userID: "alice") }}')
    owner = await wait_for(alice, "onGroupInfoChanged")
    assert owner["groupChangeInfoList"] == [
        {"type": "V2TIM_GROUP_INFO_CHANGE_TYPE_OWNER", "value": "alice", "boolValue": False, "intValue": 0}
    ]
    assert await members_of(alice, gid) == {
        "bob": "V2TIM_GROUP_MEMBER_ROLE_MEMBER",
        "alice": "V2TIM_GROUP_MEMBER_ROLE_OWNER",
    }
    # alice, the owner now, dismisses it through the gateway: gone on Tencent, bob told by Tencent
    assert await alice.q(f'mutation {{ dismissGroup(groupID: "{gid}") }}')
    assert (await on_tencent(pair, gid))["ErrorCode"] == Code.ERR_GROUP_NOT_FOUND
    assert (await wait_for(bob, "onGroupDismissed"))["groupID"] == gid


async def test_a_native_kick_and_dismissal_reach_the_gateway_user(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    dave = await member(pair.at_gateway, pair.gateway, "dave")
    gid = await bob.create("Work", "short lived", m=[{"userID": "alice"}, {"userID": "dave"}])
    await wait_for(alice, "onMemberInvited")
    kick = 'mutation { kickGroupMember(groupID: "%s", memberList: ["dave"], reason: "") { result } }' % gid
    assert (await bob.q(kick))["kickGroupMember"] == [{"result": "OPERATION_RESULT_SUCC"}]
    kicked = await wait_for(dave, "onMemberKicked")  # the one kicked hears it too
    assert (kicked["opUser"]["userID"], kicked["memberList"][0]["userID"]) == ("bob", "dave")
    assert (await wait_for(alice, "onMemberKicked"))["memberList"][0]["userID"] == "dave"
    assert (await dave.q(JOINED))["getJoinedGroupList"] == []

    assert await bob.q(f'mutation {{ dismissGroup(groupID: "{gid}") }}')
    assert (await wait_for(alice, "onGroupDismissed"))["groupID"] == gid

    async def gone() -> bool:  # members are told before the group's keys are removed
        return bool((await info(alice, gid))["resultCode"] == Code.ERR_GROUP_NOT_FOUND)

    await eventually(gone)


async def test_a_group_the_mirror_never_saw_is_imported_when_first_needed(pair: Pair) -> None:
    """Made by the app's servers for accounts the mirror has never seen: its webhooks import the
    group and the accounts."""
    await pair.admin("im_open_login_svc/account_import", {"UserID": "erin"})
    await pair.admin("im_open_login_svc/account_import", {"UserID": "frank"})
    made = await pair.admin(
        "group_open_http_svc/create_group",
        {
            "Owner_Account": "frank",
            "Type": "Public",
            "Name": "made by REST",
            "Introduction": "from the app's servers",
            "ApplyJoinOption": "NeedPermission",
            "MemberList": [{"Member_Account": "erin", "Role": "Admin"}],
        },
    )
    gid = made["GroupId"]
    await settled(pair)  # its webhooks were applied: the group is in the mirror already
    erin = await member(pair.at_gateway, pair.gateway, "erin")
    assert (await erin.q(JOINED))["getJoinedGroupList"] == [
        {"groupID": gid, "groupName": "made by REST", "owner": "frank"}
    ]
    group = (await info(erin, gid))["groupInfo"]
    assert (group["introduction"], group["addOpt"]) == ("from the app's servers", "V2TIM_GROUP_ADD_AUTH")
    assert await members_of(erin, gid) == {
        "frank": "V2TIM_GROUP_MEMBER_ROLE_OWNER",
        "erin": "V2TIM_GROUP_MEMBER_ROLE_ADMIN",
    }


async def forget_in_mirror(pair: Pair, gid: str, members: list[str]) -> None:
    """The mirror as a gateway deployed after the group was made has it: without the group."""
    keys = Keys(pair.at_gateway.sdkappid)
    client = aioredis.Redis.from_url(str(pair.gateway.settings.redis_url))
    try:
        doomed = [k async for k in client.scan_iter(match=keys.group_info(gid).rsplit(":", 1)[0] + ":*", count=10000)]
        await client.delete(*doomed, keys.group_timeline(gid))
        for user in members:
            await client.hdel(keys.user_groups(user), gid)
    finally:
        await client.aclose()


async def test_a_group_the_mirror_lacks_is_imported_by_getjoinedgrouplist_and_getgroupsinfo(pair: Pair) -> None:
    for user in ("gina", "hank"):
        await pair.admin("im_open_login_svc/account_import", {"UserID": user})
    made = await pair.admin(
        "group_open_http_svc/create_group",
        {"Owner_Account": "hank", "Type": "Private", "Name": "old group", "MemberList": [{"Member_Account": "gina"}]},
    )
    gid = made["GroupId"]
    await settled(pair)
    await forget_in_mirror(pair, gid, ["gina", "hank"])
    gina = await member(pair.at_gateway, pair.gateway, "gina")
    assert (await gina.q(JOINED))["getJoinedGroupList"] == [{"groupID": gid, "groupName": "old group", "owner": "hank"}]
    assert set(await members_of(gina, gid)) == {"hank", "gina"}
    await forget_in_mirror(pair, gid, ["gina", "hank"])
    assert (await info(gina, gid))["groupInfo"]["owner"] == "hank"  # getGroupsInfo imports a group it lacks too
    assert await gina.group_events() == []  # an import tells nobody


# ---- refusals upstream ---------------------------------------------------------------------------
async def test_a_create_tencent_refuses_leaves_the_mirror_without_the_group(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    taken = await bob.create("Public", "bobs", id="taken-on-tencent")
    reply = await alice.call(CREATE, {"t": "V2TIM_GROUP_TYPE_PUBLIC", "n": "mine", "id": taken})
    assert reply.codes == [Code.ERR_GROUP_ID_TAKEN]
    assert "tencent" in reply.errors[0]["message"]
    assert (await on_tencent(pair, taken))["Owner_Account"] == "bob"
    assert (await alice.q(JOINED))["getJoinedGroupList"] == []


async def test_a_write_tencent_cannot_take_changes_nothing_in_the_mirror(pair: Pair) -> None:
    alice, _ = await both(pair, "alice", "bob")
    gid = await alice.create("Work", "team", m=[{"userID": "bob"}])
    await pair.cloud.stop()  # Tencent unreachable
    kick = 'mutation { kickGroupMember(groupID: "%s", memberList: ["bob"], reason: "") { result } }' % gid
    reply = await alice.call(kick)
    assert reply.codes
    assert 0 not in reply.codes
    rename = "mutation($i: GroupInfoInput!) { setGroupInfo(info: $i) }"
    assert (await alice.call(rename, {"i": {"groupID": gid, "groupName": "lost"}})).codes
    assert await members_of(alice, gid) == {
        "alice": "V2TIM_GROUP_MEMBER_ROLE_OWNER",
        "bob": "V2TIM_GROUP_MEMBER_ROLE_MEMBER",
    }
    assert (await info(alice, gid))["groupInfo"]["groupName"] == "team"
    assert sorted(e["type"] for e in await alice.group_events()) == ["onGroupCreated", "onMemberInvited"]


# ---- group messages ------------------------------------------------------------------------------
GROUP_HISTORY = """query($g: String!) { getGroupHistoryMessageList(groupID: $g, count: 20) {
  msgID sender seq status elemType textElem { text } cloudCustomData } }"""
MESSAGE_EVENTS = """subscription { advancedMsgListener { __typename
  ... on RecvNewMessageEvent { type message { msgID sender groupID seq elemType textElem { text } } }
  ... on RecvMessageRevokedEvent { type msgID }
  ... on RecvMessageModifiedEvent { type message { msgID textElem { text } cloudCustomData } } } }"""
MODIFY = """mutation($m: String!, $t: String!) { modifyMessage(message: {msgID: $m, textElem: {text: $t}}) {
  msgID textElem { text } } }"""
REVOKE = "mutation($m: String!) { revokeMessage(lastMsgID: $m) }"
REVOKED = "V2TIM_MSG_STATUS_LOCAL_REVOKED"
TEXT = "V2TIM_ELEM_TYPE_TEXT"


async def listening(m: Member) -> str:
    """A second advancedMsgListener on the member's connection, with the revoke and modify events."""
    return await m.ws.subscribe(MESSAGE_EVENTS)


async def next_message_event(m: Member, op: str, event_type: str) -> dict[str, Any]:
    return (await m.ws.events_until(op, event_type))[-1]


async def next_text(m: Member) -> dict[str, Any]:
    """The next text message the member's advancedMsgListener delivers (tips are passed over)."""
    while True:
        message: dict[str, Any] = (await m.ws.events_until(m.msgs_op, "onRecvNewMessage"))[-1]["message"]
        if message["elemType"] == TEXT:
            return message


async def sent(m: Member, gid: str, text: str) -> dict[str, Any]:
    reply: dict[str, Any] = (await m.send(gid, text)).ok()["sendMessage"]
    return reply


async def texts(m: Member, gid: str) -> list[tuple[int, str, str]]:
    """(seq, sender, text) of the group's text messages in the member's history, oldest first."""
    page = (await m.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    return [(x["seq"], x["sender"], x["textElem"]["text"]) for x in reversed(page) if x["textElem"]]


async def tencent_history(pair: Pair, gid: str) -> dict[int, dict[str, Any]]:
    answer = await pair.admin(
        "group_open_http_svc/group_msg_get_simple", {"GroupId": gid, "ReqMsgNumber": 20, "WithRecalledMsg": 1}
    )
    return {m["MsgSeq"]: m for m in answer["RspMsgList"]}


async def test_group_messages_cross_both_ways_live_and_in_history_at_tencents_seqs(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    gid = await alice.create("Work", "chat", m=[{"userID": "bob"}])
    mine = await sent(alice, gid, "from the gateway")
    on_tencent = (await tencent_history(pair, gid))[mine["seq"]]
    assert (on_tencent["From_Account"], on_tencent["MsgBody"][0]["MsgContent"]["Text"]) == ("alice", "from the gateway")
    heard = await next_text(bob)
    # one identity on both sides: Tencent's seq, and so the same msgID
    assert (heard["msgID"], heard["seq"], heard["textElem"]["text"]) == (mine["msgID"], mine["seq"], "from the gateway")

    theirs = await sent(bob, gid, "from the native side")
    got = await next_text(alice)
    assert (got["msgID"], got["sender"], got["isSelf"], got["seq"]) == (theirs["msgID"], "bob", False, theirs["seq"])
    expected = [(mine["seq"], "alice", "from the gateway"), (theirs["seq"], "bob", "from the native side")]
    assert await texts(alice, gid) == expected
    assert await texts(bob, gid) == expected
    await settled(pair)
    assert await texts(alice, gid) == expected  # the echo of alice's send was not stored again
    assert [m for m in await alice.messages() if m["elemType"] == TEXT] == []  # nor told again


async def test_recalls_and_modifications_cross_both_ways(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    alice_op, bob_op = await listening(alice), await listening(bob)
    gid = await alice.create("Work", "edits", m=[{"userID": "bob"}])
    mine = await sent(alice, gid, "typo")
    changed = (await alice.q(MODIFY, {"m": mine["msgID"], "t": "fixed"}))["modifyMessage"]
    assert changed["textElem"]["text"] == "fixed"
    assert (await tencent_history(pair, gid))[mine["seq"]]["MsgBody"][0]["MsgContent"]["Text"] == "fixed"
    modified = (await next_message_event(bob, bob_op, "onRecvMessageModified"))["message"]
    assert (modified["msgID"], modified["textElem"]["text"]) == (mine["msgID"], "fixed")

    assert await alice.q(REVOKE, {"m": mine["msgID"]})
    assert (await tencent_history(pair, gid))[mine["seq"]]["IsPlaceMsg"] == 2  # recalled on Tencent
    assert (await next_message_event(bob, bob_op, "onRecvMessageRevoked"))["msgID"] == mine["msgID"]

    theirs = await sent(bob, gid, "native typo")
    assert (await bob.q(MODIFY, {"m": theirs["msgID"], "t": "native fixed"}))["modifyMessage"]
    heard = (await next_message_event(alice, alice_op, "onRecvMessageModified"))["message"]
    assert (heard["msgID"], heard["textElem"]["text"]) == (theirs["msgID"], "native fixed")
    assert await bob.q(REVOKE, {"m": theirs["msgID"]})
    assert (await next_message_event(alice, alice_op, "onRecvMessageRevoked"))["msgID"] == theirs["msgID"]
    page = (await alice.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    statuses = {x["msgID"]: x["status"] for x in page}
    assert (statuses[mine["msgID"]], statuses[theirs["msgID"]]) == (REVOKED, REVOKED)

    await settled(pair)  # the echoes of alice's modification and recall told her nothing more
    rest = []
    while True:
        try:
            rest.append(await alice.ws.next(alice_op, timeout=0.25))
        except TimeoutError:
            break
    assert [m["payload"]["data"]["advancedMsgListener"]["type"] for m in rest] == []


async def test_a_group_send_tencent_cannot_take_stores_nothing(pair: Pair) -> None:
    alice, _ = await both(pair, "alice", "bob")
    gid = await alice.create("Work", "quiet", m=[{"userID": "bob"}])
    # a topic the group has on neither side: refused before anything is sent or stored
    assert (await alice.send(f"{gid}@TOPIC#_t", "to a topic")).codes == [Code.ERR_GROUP_NOT_FOUND]
    await pair.cloud.stop()  # Tencent unreachable
    reply = await alice.send(gid, "lost in transit")
    assert reply.codes
    assert 0 not in reply.codes
    assert await texts(alice, gid) == []


# ---- attributes and counters ---------------------------------------------------------------------
ATTRIBUTES = '{ getGroupAttributes(groupID: "%s") { key value } }'
COUNTERS = '{ getGroupCounters(groupID: "%s", keys: []) { key value } }'


async def test_attributes_cross_both_ways(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    gid = await alice.create("Meeting", "attrs", m=[{"userID": "bob"}])
    set_all = (
        'mutation { initGroupAttributes(groupID: "%s", attributes: [{key: "a", value: "1"}, {key: "b", value: "2"}]) }'
    )
    assert await alice.q(set_all % gid)
    on_tencent = await pair.admin("group_open_attr_http_svc/get_group_attr", {"GroupId": gid})
    assert {a["key"]: a["value"] for a in on_tencent["GroupAttrAry"]} == {"a": "1", "b": "2"}
    heard = await wait_for(bob, "onGroupAttributeChanged")
    assert heard["groupAttributeMap"] == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]

    assert await bob.q('mutation { setGroupAttributes(groupID: "%s", attributes: [{key: "b", value: "3"}]) }' % gid)
    changed = await wait_for(alice, "onGroupAttributeChanged")
    while changed["groupAttributeMap"] != [{"key": "a", "value": "1"}, {"key": "b", "value": "3"}]:
        changed = await wait_for(alice, "onGroupAttributeChanged")  # her own change came first
    assert (await alice.q(ATTRIBUTES % gid))["getGroupAttributes"] == changed["groupAttributeMap"]
    assert await bob.q('mutation { deleteGroupAttributes(groupID: "%s", keys: ["a"]) }' % gid)
    assert (await wait_for(alice, "onGroupAttributeChanged"))["groupAttributeMap"] == [{"key": "b", "value": "3"}]
    await settled(pair)
    assert await alice.group_events() == []  # her own change's echo told her nothing more


async def test_counters_are_tencents_and_a_read_brings_native_changes(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    gid = await alice.create("Meeting", "counts", m=[{"userID": "bob"}])
    set_likes = 'mutation { setGroupCounters(groupID: "%s", counters: [{key: "likes", value: 5}]) { key value } }'
    assert (await alice.q(set_likes % gid))["setGroupCounters"] == [{"key": "likes", "value": 5}]
    inc = 'mutation { increaseGroupCounter(groupID: "%s", key: "likes", value: 2) { key value } }' % gid
    assert (await alice.q(inc))["increaseGroupCounter"] == [{"key": "likes", "value": 7}]
    on_tencent = await pair.admin("group_open_http_svc/get_group_counter", {"GroupId": gid})
    assert on_tencent["GroupCounter"] == [{"Key": "likes", "Value": 7}]
    # a native change has no webhook: alice's next read asks Tencent and tells her what changed
    assert (await bob.q(inc))["increaseGroupCounter"] == [{"key": "likes", "value": 9}]
    await alice.group_events()
    assert (await alice.q(COUNTERS % gid))["getGroupCounters"] == [{"key": "likes", "value": 9}]
    told = [e for e in await alice.group_events() if e["type"] == "onGroupCounterChanged"]
    assert [(e["key"], e["newValue"]) for e in told] == [("likes", 9)]


async def test_a_seq_tencent_gives_moves_the_mirrors_own_message_out_of_it(pair: Pair) -> None:
    """The mirror's local import takes the timeline's next seq, which Tencent then gives a native
    message: the native message gets its seq, the local one moves on, both stay in history. The
    native message is unread for the gateway user until read."""
    alice, bob = await both(pair, "alice", "bob")
    gid = await alice.create("Work", "seqs", m=[{"userID": "bob"}])
    insert = 'mutation { insertGroupMessageToLocalStorage(data: "note", groupID: "%s", sender: "alice") { msgID seq } }'
    local = (await alice.q(insert % gid))["insertGroupMessageToLocalStorage"]
    theirs = await sent(bob, gid, "native")
    assert theirs["seq"] == local["seq"]  # both after the creation's tips, on each side
    heard = await next_text(alice)
    assert (heard["msgID"], heard["seq"]) == (theirs["msgID"], theirs["seq"])
    page = (await alice.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    by_seq = {x["seq"]: x for x in page}
    assert by_seq[theirs["seq"]]["msgID"] == theirs["msgID"]
    moved = [x for x in page if x["status"] == "V2TIM_MSG_STATUS_LOCAL_IMPORTED"]
    assert len(moved) == 1
    assert moved[0]["seq"] > theirs["seq"]
    unread = '{ getConversation(conversationID: "group_%s") { unreadCount } }' % gid
    assert (await alice.q(unread))["getConversation"]["unreadCount"] == 1
    assert await alice.q(f'mutation {{ markGroupMessageAsRead(groupID: "{gid}") }}')
    assert (await alice.q(unread))["getConversation"]["unreadCount"] == 0


async def test_a_repeated_group_send_is_one_message_on_tencent_and_in_the_mirror(pair: Pair) -> None:
    alice, _ = await both(pair, "alice", "bob")
    gid = await alice.create("Work", "once", m=[{"userID": "bob"}])
    created = (await alice.q('mutation { createTextMessage(text: "only once") { id } }'))["createTextMessage"]["id"]
    send = 'mutation { sendMessage(id: "%s", groupID: "%s") { msgID seq } }' % (created, gid)
    first, again = (await alice.q(send))["sendMessage"], (await alice.q(send))["sendMessage"]
    assert first == again
    on_tencent = [m for m in (await tencent_history(pair, gid)).values() if m["MsgBody"] and not m["IsSystemMsg"]]
    assert [m["MsgSeq"] for m in on_tencent] == [first["seq"]]
    assert await texts(alice, gid) == [(first["seq"], "alice", "only once")]
