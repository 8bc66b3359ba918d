"""Groups end to end over real HTTP and WebSocket: lifecycle, members, applications, attributes,
counters, topics, tips in history, and the groupListener callbacks."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

from gateway.engine.groups import store as group_store
from gateway.errors import Code
from tests.support.clients import HTTPClient
from tests.support.groups import CREATE, Member, info, member
from tests.support.servers import InProcessGateway


@pytest.fixture
async def trio(client: HTTPClient, server: InProcessGateway) -> tuple[Member, Member, Member]:
    return (
        await member(client, server, "olive"),
        await member(client, server, "mike"),
        await member(client, server, "nora"),
    )


async def test_create_each_type_with_generated_and_custom_ids(trio: tuple[Member, Member, Member]) -> None:
    olive, _, _ = trio
    for kind in ("Work", "Public", "Meeting", "Community", "AVChatRoom"):
        gid = await olive.create(kind, f"{kind} room")
        assert gid.startswith("@TGS#")
        group = (await info(olive, gid))["groupInfo"]
        assert (group["groupType"], group["owner"], group["memberCount"]) == (
            f"V2TIM_GROUP_TYPE_{kind.upper()}",
            "olive",
            1,
        )
        assert [e["type"] for e in await olive.group_events()] == ["onGroupCreated"]
    custom = await olive.create("Public", "custom", id="team-42")
    assert custom == "team-42"
    assert (await olive.call(CREATE, {"t": "V2TIM_GROUP_TYPE_PUBLIC", "n": "dup", "id": "team-42"})).codes == [
        Code.ERR_GROUP_ID_TAKEN
    ]
    joined = (await olive.q("{ getJoinedGroupList { groupID } }"))["getJoinedGroupList"]
    assert len(joined) == 6
    assert (await info(olive, "nope"))["resultCode"] == Code.ERR_GROUP_NOT_FOUND


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"id": "@TGS#mine"}, Code.ERR_GROUP_ID_INVALID),
        ({"id": "x" * 49}, Code.ERR_GROUP_ID_TOO_LONG),
        ({"id": "tab\tid"}, Code.ERR_GROUP_ID_INVALID),
        ({"n": "n" * 31}, Code.ERR_GROUP_NAME_TOO_LONG),
        ({"n": ""}, Code.ERR_GROUP_INVALID_PARAMETERS),
        ({"topics": True}, Code.ERR_GROUP_INVALID_PARAMETERS),
        ({"t": "Party"}, Code.ERR_INVALID_PARAMETERS),
        ({"m": [{"userID": "ghost"}]}, Code.ERR_GROUP_INVALID_PARAMETERS),
        ({"m": [{"userID": "mike", "role": "V2TIM_GROUP_MEMBER_ROLE_OWNER"}]}, Code.ERR_GROUP_INVALID_PARAMETERS),
    ],
)
async def test_create_refusals(trio: tuple[Member, Member, Member], variables: dict[str, Any], code: int) -> None:
    olive, _, _ = trio
    reply = await olive.call(CREATE, {"t": "V2TIM_GROUP_TYPE_PUBLIC", "n": "g", **variables})
    assert reply.codes == [code]
    assert (await olive.q("{ getJoinedGroupList { groupID } }"))["getJoinedGroupList"] == []


async def test_profile_field_limits(trio: tuple[Member, Member, Member]) -> None:
    olive, _, _ = trio
    gid = await olive.create("Public")
    set_info = "mutation($i: GroupInfoInput!) { setGroupInfo(info: $i) }"
    for field, size, code in [
        ("introduction", 241, Code.ERR_GROUP_INTRODUCTION_TOO_LONG),
        ("notification", 301, Code.ERR_GROUP_NOTIFICATION_TOO_LONG),
        ("faceUrl", 101, Code.ERR_GROUP_FACE_URL_TOO_LONG),
        ("groupName", 31, Code.ERR_GROUP_NAME_TOO_LONG),
    ]:
        assert (await olive.call(set_info, {"i": {"groupID": gid, field: "x" * size}})).codes == [code]


async def test_member_cap_at_creation_and_on_join(
    trio: tuple[Member, Member, Member], monkeypatch: pytest.MonkeyPatch
) -> None:
    olive, mike, nora = trio
    from gateway.im.enums import GroupType

    monkeypatch.setitem(group_store.MEMBER_CAPS, GroupType.V2TIM_GROUP_TYPE_MEETING, 2)
    reply = await olive.call(
        CREATE, {"t": "V2TIM_GROUP_TYPE_MEETING", "n": "g", "m": [{"userID": "mike"}, {"userID": "nora"}]}
    )
    assert reply.codes == [Code.ERR_GROUP_MEMBER_COUNT_LIMIT]
    gid = await olive.create("Meeting")
    assert await mike.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    assert (await nora.call(f'mutation {{ joinGroup(groupID: "{gid}") }}')).codes == [Code.ERR_GROUP_FULL]
    monkeypatch.setattr(group_store, "GROUPS_PER_USER_MAX", 1)
    assert (await nora.call(CREATE, {"t": "V2TIM_GROUP_TYPE_MEETING", "n": "a"})).codes == []
    assert (await nora.call(CREATE, {"t": "V2TIM_GROUP_TYPE_MEETING", "n": "b"})).codes == [Code.ERR_GROUP_CAP_REACHED]


async def test_join_rules_by_type(trio: tuple[Member, Member, Member]) -> None:
    olive, mike, _ = trio
    join = 'mutation($g: String!) { joinGroup(groupID: $g, message: "hi") }'
    work = await olive.create("Work")
    assert (await mike.call(join, {"g": work})).codes == [Code.ERR_NO_PERMISSION]
    forbid = await olive.create("Public", a="V2TIM_GROUP_ADD_FORBID")
    assert (await mike.call(join, {"g": forbid})).codes == [Code.ERR_NO_PERMISSION]
    for kind in ("Meeting", "Community", "AVChatRoom"):
        gid = await olive.create(kind)
        assert await mike.q(join, {"g": gid})
        assert (await mike.call(join, {"g": gid})).codes == [Code.ERR_ALREADY_GROUP_MEMBER]
    open_public = await olive.create("Public", a="V2TIM_GROUP_ADD_ANY")
    await olive.group_events()
    await olive.messages()
    assert await mike.q(join, {"g": open_public})
    entered = [e for e in await olive.group_events() if e["groupID"] == open_public]
    assert [(e["type"], e["memberList"]) for e in entered] == [
        ("onMemberEnter", [{"userID": "mike", "nickName": "", "nameCard": ""}])
    ]
    tips = [m for m in await olive.messages() if m["groupID"] == open_public]
    assert tips[0]["groupTipsElem"]["type"] == "V2TIM_GROUP_TIPS_TYPE_JOIN"
    assert tips[0]["groupTipsElem"]["memberCount"] == 2
    assert (await mike.call(join, {"g": "@TGS#nothing"})).codes == [Code.ERR_GROUP_NOT_FOUND]


async def test_join_requests_are_accepted_or_refused_once(trio: tuple[Member, Member, Member]) -> None:
    olive, mike, nora = trio
    gid = await olive.create("Public")  # Public: admin approval by default
    await olive.group_events()
    assert await mike.q(f'mutation {{ joinGroup(groupID: "{gid}", message: "let me in") }}')
    assert await nora.q(f'mutation {{ joinGroup(groupID: "{gid}", message: "me too") }}')
    requests = [e for e in await olive.group_events() if e["type"] == "onReceiveJoinApplication"]
    assert [(e["member"]["userID"], e["opReason"]) for e in requests] == [("mike", "let me in"), ("nora", "me too")]
    listing = await olive.q(
        "{ getGroupApplicationList { unreadCount groupApplicationList { fromUser requestMsg type handleStatus addTime } } }"
    )
    assert listing["getGroupApplicationList"]["unreadCount"] == 2
    # unix milliseconds, as the SDK has it (a 32-bit Int refused every pending application's addTime)
    assert all(a["addTime"] > 2**31 for a in listing["getGroupApplicationList"]["groupApplicationList"])
    assert await olive.q("mutation { setGroupApplicationRead }")
    assert (await olive.q("{ getGroupApplicationList { unreadCount } }"))["getGroupApplicationList"]["unreadCount"] == 0
    accept = 'mutation($g: String!, $u: String!) { acceptGroupApplication(groupID: $g, fromUser: $u, reason: "ok") }'
    refuse = 'mutation($g: String!, $u: String!) { refuseGroupApplication(groupID: $g, fromUser: $u, reason: "no") }'
    assert (await mike.call(accept, {"g": gid, "u": "nora"})).codes == [Code.ERR_NO_PERMISSION]
    assert await olive.q(accept, {"g": gid, "u": "mike"})
    assert await olive.q(refuse, {"g": gid, "u": "nora"})
    assert (await olive.call(accept, {"g": gid, "u": "mike"})).codes == [Code.ERR_GROUP_APPLICATION_HANDLED]
    processed = [e for e in await mike.group_events() if e["type"] == "onApplicationProcessed"]
    assert [(e["opUser"], e["opReason"], e["isAgreeJoin"]) for e in processed] == [({"userID": "olive"}, "ok", True)]
    refused = [e for e in await nora.group_events() if e["type"] == "onApplicationProcessed"]
    assert refused[0]["isAgreeJoin"] is False
    assert (await info(olive, gid))["groupInfo"]["memberCount"] == 2


async def test_invitations_direct_and_approved(trio: tuple[Member, Member, Member]) -> None:
    olive, mike, nora = trio
    work = await olive.create("Work")
    invite = (
        "mutation($g: String!, $u: [String!]!) { inviteUserToGroup(groupID: $g, userList: $u) { memberID result } }"
    )
    results = (await olive.q(invite, {"g": work, "u": ["mike", "ghost", "olive"]}))["inviteUserToGroup"]
    assert [r["result"] for r in results] == [
        "OPERATION_RESULT_SUCC",
        "OPERATION_RESULT_FAIL",
        "OPERATION_RESULT_INVALID",
    ]
    invited = [e for e in await mike.group_events() if e["type"] == "onMemberInvited"]
    assert invited[0]["memberList"][0]["userID"] == "mike"
    # an approval-invitation group: the invitee answers
    guarded = await olive.create("Public", ap="V2TIM_GROUP_ADD_AUTH")
    results = (await olive.q(invite, {"g": guarded, "u": ["nora"]}))["inviteUserToGroup"]
    assert results[0]["result"] == "OPERATION_RESULT_PENDING"
    pending = await nora.q("{ getGroupApplicationList { groupApplicationList { groupID fromUser toUser type } } }")
    assert pending["getGroupApplicationList"]["groupApplicationList"] == [
        {"groupID": guarded, "fromUser": "olive", "toUser": "nora", "type": "V2TIM_GROUP_APPLICATION_GET_TYPE_INVITE"}
    ]
    accept = f'mutation {{ acceptGroupApplication(groupID: "{guarded}", fromUser: "olive", toUser: "nora") }}'
    assert await nora.q(accept)
    assert (await info(olive, guarded))["groupInfo"]["memberCount"] == 2
    community = await olive.create("Community")
    assert (await olive.call(invite, {"g": community, "u": ["mike"]})).codes == [Code.ERR_NO_PERMISSION]


async def test_quit_dismiss_and_their_events(trio: tuple[Member, Member, Member]) -> None:
    olive, mike, nora = trio
    gid = await olive.create("Meeting")
    for m in (mike, nora):
        await m.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    for m in trio:
        await m.group_events()
        await m.messages()
    assert (await olive.call(f'mutation {{ quitGroup(groupID: "{gid}") }}')).codes == [Code.ERR_GROUP_OWNER_CANNOT_QUIT]
    assert await mike.q(f'mutation {{ quitGroup(groupID: "{gid}") }}')
    assert [e["type"] for e in await mike.group_events()] == ["onQuitFromGroup"]
    left = await nora.group_events()
    assert [(e["type"], e["member"]["userID"]) for e in left] == [("onMemberLeave", "mike")]
    assert (await nora.messages())[0]["groupTipsElem"]["type"] == "V2TIM_GROUP_TIPS_TYPE_QUIT"
    assert [e["type"] for e in await olive.group_events()] == ["onMemberLeave"]
    assert (await nora.call(f'mutation {{ dismissGroup(groupID: "{gid}") }}')).codes == [Code.ERR_NO_PERMISSION]
    assert await olive.q(f'mutation {{ dismissGroup(groupID: "{gid}") }}')
    for m in (olive, nora):
        assert [e["type"] for e in await m.group_events()] == ["onGroupDismissed"]
    assert (await info(olive, gid))["resultCode"] == Code.ERR_GROUP_NOT_FOUND
    assert (await nora.q("{ getJoinedGroupList { groupID } }"))["getJoinedGroupList"] == []
    assert (await nora.send(gid, "anyone?")).codes == [Code.ERR_GROUP_NOT_FOUND]


async def test_set_group_info_reports_each_change(trio: tuple[Member, Member, Member]) -> None:
    olive, mike, _ = trio
    gid = await olive.create("Meeting")
    await mike.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    await mike.group_events()
    await mike.messages()
    before = (await info(mike, gid))["groupInfo"]
    change = {"groupID": gid, "groupName": "renamed", "notification": "read me", "isAllMuted": True}
    assert await olive.q("mutation($i: GroupInfoInput!) { setGroupInfo(info: $i) }", {"i": change})
    (event,) = await mike.group_events()
    assert event["type"] == "onGroupInfoChanged"
    kinds = {c["type"]: c for c in event["groupChangeInfoList"]}
    assert kinds["V2TIM_GROUP_INFO_CHANGE_TYPE_NAME"]["value"] == "renamed"
    assert kinds["V2TIM_GROUP_INFO_CHANGE_TYPE_SHUT_UP_ALL"]["boolValue"] is True
    after = (await info(mike, gid))["groupInfo"]
    # convergence: the profile before with the reported changes is the profile after
    applied = {**before, "groupName": "renamed", "notification": "read me", "isAllMuted": True}
    assert after == applied
    (tips,) = await mike.messages()
    assert tips["groupTipsElem"]["type"] == "V2TIM_GROUP_TIPS_TYPE_GROUP_INFO_CHANGE"
    assert (await mike.send(gid, "hello")).codes == [Code.ERR_GROUP_MEMBER_MUTED]  # all muted
    assert (await olive.send(gid, "owners may")).codes == []


async def test_members_roles_mute_kick_transfer(trio: tuple[Member, Member, Member]) -> None:
    olive, mike, nora = trio
    gid = await olive.create("Meeting")
    for m in (mike, nora):
        await m.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    for m in trio:
        await m.group_events()
        await m.messages()
    role = (
        'mutation($u: String!, $r: V2TIM_GroupMemberRole!) { setGroupMemberRole(groupID: "%s", userID: $u, role: $r) }'
        % gid
    )
    assert await olive.q(role, {"u": "mike", "r": "V2TIM_GROUP_MEMBER_ROLE_ADMIN"})
    (granted,) = await nora.group_events()
    assert (granted["type"], granted["memberList"]) == ("onGrantAdministrator", [{"userID": "mike"}])
    for m in (olive, mike):
        assert [e["type"] for e in await m.group_events()] == ["onGrantAdministrator"]
    listing = '{ getGroupMemberList(groupID: "%s", filter: %s) { nextSeq memberInfoList { userID role } } }'
    admins = (await nora.q(listing % (gid, "V2TIM_GROUP_MEMBER_FILTER_ADMIN")))["getGroupMemberList"]
    assert admins["memberInfoList"] == [{"userID": "mike", "role": "V2TIM_GROUP_MEMBER_ROLE_ADMIN"}]
    common = (await nora.q(listing % (gid, "V2TIM_GROUP_MEMBER_FILTER_COMMON")))["getGroupMemberList"]
    assert [m["userID"] for m in common["memberInfoList"]] == ["nora"]
    everyone = (await nora.q(listing % (gid, "V2TIM_GROUP_MEMBER_FILTER_ALL")))["getGroupMemberList"]
    assert [m["userID"] for m in everyone["memberInfoList"]] == ["olive", "mike", "nora"]
    assert everyone["nextSeq"] == 0
    # mute: the admin mutes nora for a minute; she cannot send; unmuting lets her
    mute = 'mutation($s: Int!) { muteGroupMember(groupID: "%s", userID: "nora", seconds: $s) }' % gid
    assert await mike.q(mute, {"s": 60})
    (changed,) = await olive.group_events()
    assert changed["groupMemberChangeInfoList"] == [{"userID": "nora", "muteTime": 60}]
    assert (await nora.send(gid, "let me talk")).codes == [Code.ERR_GROUP_MEMBER_MUTED]
    assert await mike.q(mute, {"s": 0})
    assert (await nora.send(gid, "thanks")).codes == []
    # name card, custom info, search
    card = (
        'mutation { setGroupMemberInfo(groupID: "%s", userID: "nora", nameCard: "N.", customInfo: [{key: "team", value: "red"}]) }'
        % gid
    )
    assert await nora.q(card)
    assert (await nora.call(card.replace('"N."', '"%s"' % ("c" * 51)))).codes == [Code.ERR_GROUP_NAME_CARD_TOO_LONG]
    profile = await olive.q(
        '{ getGroupMembersInfo(groupID: "%s", memberList: ["nora"]) { nameCard customInfo { key value } } }' % gid
    )
    assert profile["getGroupMembersInfo"] == [{"nameCard": "N.", "customInfo": [{"key": "team", "value": "red"}]}]
    found = await olive.q('{ searchGroupMembers(param: {keywordList: ["n."]}) { userID } }')
    assert found["searchGroupMembers"] == [{"userID": "nora"}]
    # kick: the kicked member is told too
    for m in trio:
        await m.group_events()
    kick = 'mutation { kickGroupMember(groupID: "%s", memberList: ["nora"], reason: "bye") { memberID result } }' % gid
    assert (await mike.q(kick))["kickGroupMember"] == [{"memberID": "nora", "result": "OPERATION_RESULT_SUCC"}]
    assert [e["type"] for e in await nora.group_events()] == ["onMemberKicked"]
    assert [e["type"] for e in await olive.group_events()] == ["onMemberKicked"]
    # transfer: mike becomes owner, olive an ordinary member
    assert await olive.q('mutation { transferGroupOwner(groupID: "%s", userID: "mike") }' % gid)
    assert (await info(olive, gid))["groupInfo"]["owner"] == "mike"
    events = await olive.group_events()
    assert events[0]["groupChangeInfoList"] == [
        {"type": "V2TIM_GROUP_INFO_CHANGE_TYPE_OWNER", "value": "mike", "boolValue": False, "intValue": 0}
    ]
    assert await mike.q(role, {"u": "olive", "r": "V2TIM_GROUP_MEMBER_ROLE_ADMIN"})
    assert await mike.q(role, {"u": "olive", "r": "V2TIM_GROUP_MEMBER_ROLE_MEMBER"})
    assert [e["type"] for e in await olive.group_events()] == ["onGrantAdministrator", "onRevokeAdministrator"]
    mark = (
        'mutation { markGroupMemberList(groupID: "%s", memberIDList: ["olive"], markType: 7, enableMark: true) }' % gid
    )
    assert await mike.q(mark)
    marks = await mike.q('{ getGroupMembersInfo(groupID: "%s", memberList: ["olive"]) { markList } }' % gid)
    assert marks["getGroupMembersInfo"] == [{"markList": [7]}]


async def test_member_list_pages(trio: tuple[Member, Member, Member], server: InProcessGateway) -> None:
    olive, _, _ = trio
    gid = await olive.create("Meeting")
    gw = server.gateway
    users = [f"u{i:03d}" for i in range(230)]
    for u in users:
        await gw.backend.accounts.ensure_account(u)
        await gw.backend.groups.join_group(u, gid, "")
    seen: list[str] = []
    next_seq = 0
    for _ in range(10):
        page = (
            await olive.q(
                '{ getGroupMemberList(groupID: "%s", nextSeq: %d) { nextSeq memberInfoList { userID } } }'
                % (gid, next_seq)
            )
        )["getGroupMemberList"]
        seen += [m["userID"] for m in page["memberInfoList"]]
        next_seq = page["nextSeq"]
        if not next_seq:
            break
    assert seen == ["olive", *users]
    assert (await olive.q('{ getGroupOnlineMemberCount(groupID: "%s") }' % gid))["getGroupOnlineMemberCount"] == 1


async def test_attributes_and_counters(trio: tuple[Member, Member, Member]) -> None:
    olive, mike, _ = trio
    gid = await olive.create("Meeting")
    await mike.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    await mike.group_events()
    assert await olive.q(
        'mutation { initGroupAttributes(groupID: "%s", attributes: [{key: "a", value: "1"}, {key: "b", value: "2"}]) }'
        % gid
    )
    assert await mike.q('mutation { setGroupAttributes(groupID: "%s", attributes: [{key: "b", value: "3"}]) }' % gid)
    assert await olive.q('mutation { deleteGroupAttributes(groupID: "%s", keys: ["a"]) }' % gid)
    events = await mike.group_events()
    assert [e["groupAttributeMap"] for e in events] == [
        [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}],
        [{"key": "a", "value": "1"}, {"key": "b", "value": "3"}],
        [{"key": "b", "value": "3"}],
    ]
    assert (await mike.q('{ getGroupAttributes(groupID: "%s") { key value } }' % gid))["getGroupAttributes"] == events[
        -1
    ]["groupAttributeMap"]
    too_many = ", ".join(f'{{key: "k{i}", value: "v"}}' for i in range(17))
    assert (
        await olive.call('mutation { initGroupAttributes(groupID: "%s", attributes: [%s]) }' % (gid, too_many))
    ).codes == [Code.ERR_GROUP_INVALID_PARAMETERS]
    assert (
        await olive.q(
            'mutation { setGroupCounters(groupID: "%s", counters: [{key: "likes", value: 5}]) { key value } }' % gid
        )
    )["setGroupCounters"] == [{"key": "likes", "value": 5}]
    inc = 'mutation { increaseGroupCounter(groupID: "%s", key: "likes", value: 1) { value } }' % gid
    await asyncio.gather(*(m.q(inc) for m in [olive, mike] * 10))  # atomic under concurrent use
    dec = await mike.q('mutation { decreaseGroupCounter(groupID: "%s", key: "likes", value: 3) { key value } }' % gid)
    assert dec["decreaseGroupCounter"] == [{"key": "likes", "value": 22}]
    counters = await mike.q('{ getGroupCounters(groupID: "%s", keys: []) { key value } }' % gid)
    assert counters["getGroupCounters"] == [{"key": "likes", "value": 22}]
    changes = [e for e in await olive.group_events() if e["type"] == "onGroupCounterChanged"]
    assert len(changes) == 22
    assert changes[-1]["newValue"] == 22


async def test_topics(trio: tuple[Member, Member, Member]) -> None:
    olive, mike, _ = trio
    gid = await olive.create("Community", topics=True)
    await mike.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    await mike.group_events()
    topic = (
        await olive.q('mutation { createTopicInCommunity(groupID: "%s", topicInfo: {topicName: "general"}) }' % gid)
    )["createTopicInCommunity"]
    assert topic.startswith(f"{gid}@TOPIC#_")
    assert (
        await mike.call('mutation { createTopicInCommunity(groupID: "%s", topicInfo: {topicName: "x"}) }' % gid)
    ).codes == [Code.ERR_NO_PERMISSION]
    assert await olive.q(
        'mutation { setTopicInfo(groupID: "%s", topicInfo: {topicID: "%s", topicName: "news"}) }' % (gid, topic)
    )
    listed = await mike.q(
        '{ getTopicInfoList(groupID: "%s", topicIDList: []) { errorCode topicInfo { topicID topicName } } }' % gid
    )
    assert listed["getTopicInfoList"] == [{"errorCode": 0, "topicInfo": {"topicID": topic, "topicName": "news"}}]
    communities = (await mike.q("{ getJoinedCommunityList { groupID } }"))["getJoinedCommunityList"]
    assert communities == [{"groupID": gid}]
    # messages go to the topic's own conversation
    await mike.messages()
    assert (await olive.send(topic, "in the topic")).codes == []
    (received,) = await mike.messages()
    assert received["groupID"] == topic
    history = await mike.q('{ getGroupHistoryMessageList(groupID: "%s", count: 10) { textElem { text } } }' % topic)
    assert history["getGroupHistoryMessageList"] == [{"textElem": {"text": "in the topic"}}]
    deleted = await olive.q(
        'mutation { deleteTopicFromCommunity(groupID: "%s", topicIDList: ["%s", "nope"]) { topicID errorCode } }'
        % (gid, topic)
    )
    assert [d["errorCode"] for d in deleted["deleteTopicFromCommunity"]] == [0, Code.ERR_GROUP_NOT_FOUND]
    assert [e["type"] for e in await mike.group_events()] == ["onTopicCreated", "onTopicInfoChanged", "onTopicDeleted"]


REST = "/v4/group_open_http_svc/send_group_system_notification"


async def test_rest_system_notification_reaches_members(
    trio: tuple[Member, Member, Member], client: HTTPClient, clock: Any
) -> None:
    olive, mike, nora = trio
    gid = await olive.create("Meeting")
    for m in (mike, nora):
        await m.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    for m in trio:
        await m.group_events()
    admin_sig = client.sig("administrator")
    query = {"sdkappid": str(client.sdkappid), "identifier": "administrator", "usersig": admin_sig, "random": "1"}
    response = await client.http.post(REST, params=query, json={"GroupId": gid, "Content": "maintenance at 3am"})
    assert response.json() == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
    for m in trio:
        events = await m.group_events()
        assert [(e["type"], e["groupID"], e["customData"]) for e in events] == [
            ("onReceiveRESTCustomData", gid, "maintenance at 3am")
        ]
    only_mike = await client.http.post(
        REST, params=query, json={"GroupId": gid, "ToMembers_Account": ["mike"], "Content": "psst"}
    )
    assert only_mike.json()["ErrorCode"] == 0
    assert len(await mike.group_events()) == 1
    assert await nora.group_events() == []
    # refusals in Tencent's shape: wrong identity, bad sig, no such group, bad body
    member_sig = dict(query, identifier="mike", usersig=client.sig("mike"))
    assert (await client.http.post(REST, params=member_sig, json={"GroupId": gid, "Content": "x"})).json()[
        "ErrorCode"
    ] == 60010  # Tencent's "the identifier must be an app admin"
    forged = dict(query, usersig="forged")
    assert (await client.http.post(REST, params=forged, json={"GroupId": gid, "Content": "x"})).json()[
        "ErrorCode"
    ] == Code.ERR_USERSIG_INVALID
    missing = await client.http.post(REST, params=query, json={"GroupId": "@TGS#none", "Content": "x"})
    assert missing.json() == {
        "ActionStatus": "FAIL",
        "ErrorCode": Code.ERR_GROUP_NOT_FOUND,
        "ErrorInfo": "groupID: no group '@TGS#none'",
    }
    garbage = await client.http.post(REST, params=query, content=b"[1]")
    assert garbage.json()["ErrorCode"] == 60003  # Tencent: the body is not a JSON object


async def test_idle_groups_are_recycled(
    trio: tuple[Member, Member, Member], server: InProcessGateway, clock: Any
) -> None:
    olive, mike, _ = trio
    idle = await olive.create("Meeting", "idle")
    busy = await olive.create("Meeting", "busy")
    await mike.q(f'mutation {{ joinGroup(groupID: "{idle}") }}')
    await mike.group_events()
    await clock.advance(7200)
    assert (await olive.send(busy, "still here")).codes == []
    housekeeping = server.gateway.backend.housekeeping
    assert housekeeping is not None  # the embedded backend has housekeeping
    recycled = await housekeeping.recycle_idle_groups(3600)
    assert recycled == [idle]
    events = [e for e in await mike.group_events() if e["groupID"] == idle]
    assert [e["type"] for e in events] == ["onGroupRecycled"]
    assert (await info(olive, idle))["resultCode"] == Code.ERR_GROUP_NOT_FOUND
    assert (await info(olive, busy))["resultCode"] == 0


class GroupMirror:
    """A group as one member rebuilds it from groupListener events alone."""

    FIELD: ClassVar[dict[str, str]] = {
        "V2TIM_GROUP_INFO_CHANGE_TYPE_NAME": "groupName",
        "V2TIM_GROUP_INFO_CHANGE_TYPE_NOTIFICATION": "notification",
        "V2TIM_GROUP_INFO_CHANGE_TYPE_INTRODUCTION": "introduction",
        "V2TIM_GROUP_INFO_CHANGE_TYPE_FACE_URL": "faceUrl",
        "V2TIM_GROUP_INFO_CHANGE_TYPE_OWNER": "owner",
    }

    def __init__(self, info: dict[str, Any], members: dict[str, str]) -> None:
        self.info = dict(info)
        self.members = dict(members)  # userID → role
        self.attributes: dict[str, str] = {}
        self.counters: dict[str, int] = {}

    def apply(self, e: dict[str, Any]) -> None:
        kind = e["type"]
        if kind in ("onMemberEnter", "onMemberInvited"):
            for m in e["memberList"]:
                self.members[m["userID"]] = "V2TIM_GROUP_MEMBER_ROLE_MEMBER"
        elif kind == "onMemberLeave":
            self.members.pop(e["member"]["userID"], None)
        elif kind == "onMemberKicked":
            for m in e["memberList"]:
                self.members.pop(m["userID"], None)
        elif kind in ("onGrantAdministrator", "onRevokeAdministrator"):
            role = (
                "V2TIM_GROUP_MEMBER_ROLE_ADMIN" if kind == "onGrantAdministrator" else "V2TIM_GROUP_MEMBER_ROLE_MEMBER"
            )
            for m in e["memberList"]:
                self.members[m["userID"]] = role
        elif kind == "onGroupInfoChanged":
            for change in e["groupChangeInfoList"]:
                if change["type"] == "V2TIM_GROUP_INFO_CHANGE_TYPE_SHUT_UP_ALL":
                    self.info["isAllMuted"] = change["boolValue"]
                elif change["type"] == "V2TIM_GROUP_INFO_CHANGE_TYPE_OWNER":
                    old = self.info["owner"]
                    self.info["owner"] = change["value"]
                    self.members[old] = "V2TIM_GROUP_MEMBER_ROLE_MEMBER"
                    self.members[change["value"]] = "V2TIM_GROUP_MEMBER_ROLE_OWNER"
                elif change["type"] in self.FIELD:
                    self.info[self.FIELD[change["type"]]] = change["value"]
        elif kind == "onGroupAttributeChanged":
            self.attributes = {kv["key"]: kv["value"] for kv in e["groupAttributeMap"]}
        elif kind == "onGroupCounterChanged":
            self.counters[e["key"]] = e["newValue"]


async def test_every_group_mutation_converges(trio: tuple[Member, Member, Member]) -> None:
    """Before + the events each mutation emits == the state read after, for every mutation."""
    olive, mike, nora = trio
    gid = await olive.create("Meeting", "conv")
    await olive.group_events()
    members_q = '{ getGroupMemberList(groupID: "%s") { memberInfoList { userID role } } }' % gid
    counters_q = '{ getGroupCounters(groupID: "%s") { key value } }' % gid
    attributes_q = '{ getGroupAttributes(groupID: "%s") { key value } }' % gid

    async def read() -> tuple[dict[str, Any], dict[str, str], dict[str, str], dict[str, int]]:
        group = (await info(olive, gid))["groupInfo"]
        members = {m["userID"]: m["role"] for m in (await olive.q(members_q))["getGroupMemberList"]["memberInfoList"]}
        attributes = {kv["key"]: kv["value"] for kv in (await olive.q(attributes_q))["getGroupAttributes"]}
        counters = {c["key"]: c["value"] for c in (await olive.q(counters_q))["getGroupCounters"]}
        return group, members, attributes, counters

    group, members, _, _ = await read()
    mirror = GroupMirror(group, members)
    steps = [
        (mike, f'mutation {{ joinGroup(groupID: "{gid}") }}'),
        (nora, f'mutation {{ joinGroup(groupID: "{gid}") }}'),
        (
            olive,
            'mutation { setGroupMemberRole(groupID: "%s", userID: "mike", role: V2TIM_GROUP_MEMBER_ROLE_ADMIN) }' % gid,
        ),
        (mike, 'mutation { setGroupInfo(info: {groupID: "%s", groupName: "renamed", introduction: "about"}) }' % gid),
        (olive, 'mutation { setGroupInfo(info: {groupID: "%s", isAllMuted: true, faceUrl: "https://x/f.png"}) }' % gid),
        (mike, 'mutation { muteGroupMember(groupID: "%s", userID: "nora", seconds: 30) }' % gid),
        (nora, 'mutation { setGroupAttributes(groupID: "%s", attributes: [{key: "k", value: "v"}]) }' % gid),
        (mike, 'mutation { increaseGroupCounter(groupID: "%s", key: "c", value: 5) { value } }' % gid),
        (olive, 'mutation { transferGroupOwner(groupID: "%s", userID: "mike") }' % gid),
        (mike, 'mutation { kickGroupMember(groupID: "%s", memberList: ["nora"]) { result } }' % gid),
        (
            mike,
            'mutation { setGroupMemberRole(groupID: "%s", userID: "olive", role: V2TIM_GROUP_MEMBER_ROLE_ADMIN) }'
            % gid,
        ),
        (olive, f'mutation {{ quitGroup(groupID: "{gid}") }}'),
    ]
    for actor, document in steps:
        await actor.q(document)
        for e in await mike.group_events():  # mike stays in the group throughout
            mirror.apply(e)
        await olive.group_events()
        await nora.group_events()
        if actor is olive and "quitGroup" in document:
            members = {
                m["userID"]: m["role"] for m in (await mike.q(members_q))["getGroupMemberList"]["memberInfoList"]
            }
            assert mirror.members == members
            history = await mike.q(
                '{ getGroupHistoryMessageList(groupID: "%s", count: 50) { groupTipsElem { type } } }' % gid
            )
            tips = {m["groupTipsElem"]["type"] for m in history["getGroupHistoryMessageList"] if m["groupTipsElem"]}
            assert tips >= {
                "V2TIM_GROUP_TIPS_TYPE_JOIN",
                "V2TIM_GROUP_TIPS_TYPE_SET_ADMIN",
                "V2TIM_GROUP_TIPS_TYPE_GROUP_INFO_CHANGE",
                "V2TIM_GROUP_TIPS_TYPE_MEMBER_INFO_CHANGE",
                "V2TIM_GROUP_TIPS_TYPE_KICKED",
                "V2TIM_GROUP_TIPS_TYPE_QUIT",
            }
            break
        group, members, attributes, counters = await read()
        for field in ("groupName", "introduction", "faceUrl", "isAllMuted", "owner"):
            assert mirror.info[field] == group[field], (document, field)
        assert mirror.members == members, document
        assert mirror.attributes == attributes, document
        assert mirror.counters == counters, document
