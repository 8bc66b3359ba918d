"""Group management over the REST API (`group_open_http_svc/*`): lifecycle, info, members, roles,
mutes, owner, lists. Golden requests from FIXTURES.md B22-B26; each write is shown to cause the
groupListener events (and tips messages) of its SDK equivalent, with the admin as operator; bad
input answers Tencent's code and changes nothing."""

from __future__ import annotations

from typing import Any

from tests.rest.conftest import ADMIN, RestClient
from tests.support.clients import HTTPClient
from tests.support.groups import member
from tests.support.servers import InProcessGateway

G = "group_open_http_svc/"


def keys_and_types(value: Any, expected: dict[str, type]) -> None:
    for key, kind in expected.items():
        assert key in value, (key, value)
        assert isinstance(value[key], kind), (key, value[key])


async def make_group(rest: RestClient, owner: str | None, *members: str, **extra: Any) -> str:
    body: dict[str, Any] = {"Type": "Public", "Name": "team", **extra}
    if owner:
        body["Owner_Account"] = owner
    if members:
        body["MemberList"] = [{"Member_Account": m} for m in members]
    return str((await rest.ok(G + "create_group", body))["GroupId"])


async def group_info(rest: RestClient, gid: str, **extra: Any) -> dict[str, Any]:
    answer = await rest.ok(G + "get_group_info", {"GroupIdList": [gid], **extra})
    return dict(answer["GroupInfo"][0])


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_create_group_golden_b22_and_get_group_info_b23(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    leckie = await member(client, server, "leckie")
    bob = await member(client, server, "bob")
    await client.login("peter")
    body = {
        "Owner_Account": "leckie",
        "Type": "Public",
        "GroupId": "MyFirstGroup",
        "Name": "TestGroup",
        "Introduction": "This is group Introduction",
        "Notification": "This is group Notification",
        "FaceUrl": "http://this.is.face.url",
        "MaxMemberCount": 500,
        "ApplyJoinOption": "FreeAccess",
        "AppDefinedData": [
            {"Key": "GroupTestData1", "Value": "xxxxx"},
            {"Key": "GroupTestData2", "Value": "abc\u0000\u0001"},
        ],
        "MemberList": [
            {
                "Member_Account": "bob",
                "Role": "Admin",
                "AppMemberDefinedData": [
                    {"Key": "MemberDefined1", "Value": "MemberData1"},
                    {"Key": "MemberDefined2", "Value": "MemberData2"},
                ],
            },
            {"Member_Account": "peter"},
        ],
    }
    answer = await rest.ok(G + "create_group", body)
    assert list(answer) == ["ActionStatus", "ErrorInfo", "ErrorCode", "GroupId"]
    assert answer["GroupId"] == "MyFirstGroup"
    assert event_types(await leckie.group_events()) == ["onGroupCreated", "onMemberInvited"]
    invited = [e for e in await bob.group_events() if e["type"] == "onMemberInvited"]
    assert invited[0]["opUser"]["userID"] == ADMIN
    assert sorted(m["userID"] for m in invited[0]["memberList"]) == ["bob", "peter"]
    tips = [m for m in await bob.messages() if m["elemType"] == "V2TIM_ELEM_TYPE_GROUP_TIPS"]
    assert tips[-1]["groupTipsElem"]["opMember"]["userID"] == ADMIN

    info = await group_info(rest, "MyFirstGroup")
    keys_and_types(
        info,
        {
            "GroupId": str,
            "ErrorCode": int,
            "ErrorInfo": str,
            "Type": str,
            "Name": str,
            "Appid": int,
            "Introduction": str,
            "Notification": str,
            "FaceUrl": str,
            "Owner_Account": str,
            "CreateTime": int,
            "LastInfoTime": int,
            "LastMsgTime": int,
            "NextMsgSeq": int,
            "MemberNum": int,
            "MaxMemberNum": int,
            "ApplyJoinOption": str,
            "MuteAllMember": str,
            "AppDefinedData": list,
            "MemberList": list,
        },
    )
    assert (info["Type"], info["Owner_Account"], info["MemberNum"], info["MaxMemberNum"]) == (
        "Public",
        "leckie",
        3,
        500,
    )
    assert (info["ApplyJoinOption"], info["MuteAllMember"], info["ErrorCode"]) == ("FreeAccess", "Off", 0)
    assert info["AppDefinedData"] == body["AppDefinedData"]
    members = {m["Member_Account"]: m for m in info["MemberList"]}
    assert {k: m["Role"] for k, m in members.items()} == {"leckie": "Owner", "bob": "Admin", "peter": "Member"}
    keys_and_types(
        members["bob"],
        {"Member_Account": str, "Role": str, "JoinTime": int, "MsgSeq": int, "MsgFlag": str, "MuteUntil": int},
    )
    assert members["bob"]["AppMemberDefinedData"] == body["MemberList"][0]["AppMemberDefinedData"]  # type: ignore[index]
    assert members["bob"]["MsgFlag"] == "AcceptAndNotify"

    # the fixture's request (two unknown IDs): per-group ErrorCode, OK envelope
    answer = await rest.ok(G + "get_group_info", {"GroupIdList": ["@TGS#1NVTZEAE4", "@TGS#1CXTZEAET"]})
    assert [(g["GroupId"], g["ErrorCode"]) for g in answer["GroupInfo"]] == [
        ("@TGS#1NVTZEAE4", 10010),
        ("@TGS#1CXTZEAET", 10010),
    ]
    # filters: only the base fields and member fields asked for
    trimmed = await group_info(
        rest,
        "MyFirstGroup",
        ResponseFilter={
            "GroupBaseInfoFilter": ["Name", "MemberNum"],
            "MemberInfoFilter": ["Role"],
            "AppDefinedDataFilter_Group": ["GroupTestData1"],
        },
    )
    assert set(trimmed) == {"GroupId", "ErrorCode", "ErrorInfo", "Name", "MemberNum", "AppDefinedData", "MemberList"}
    assert trimmed["AppDefinedData"] == [{"Key": "GroupTestData1", "Value": "xxxxx"}]
    assert all(set(m) == {"Member_Account", "Role"} for m in trimmed["MemberList"])

    # the ID is taken now; Community answers Type and HugeGroupFlag
    await rest.fails(G + "create_group", body, 10021)
    community = await rest.ok(G + "create_group", {"Type": "Community", "Name": "c", "Owner_Account": "leckie"})
    assert (community["Type"], community["HugeGroupFlag"]) == ("Community", 0)


async def test_create_group_without_owner(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    mike = await member(client, server, "mike")
    gid = await make_group(rest, None, "mike", Type="Private")
    info = await group_info(rest, gid)
    assert (info["Type"], info["Owner_Account"], info["MemberNum"]) == ("Private", "", 1)
    assert [m["Role"] for m in info["MemberList"]] == ["Member"]
    events = await mike.group_events()
    assert event_types(events) == ["onMemberInvited"]
    assert events[0]["opUser"]["userID"] == ADMIN
    # the admin hands the ownerless group to a member
    await rest.ok(G + "change_group_owner", {"GroupId": gid, "NewOwner_Account": "mike"})
    assert (await group_info(rest, gid))["Owner_Account"] == "mike"
    changed = await mike.group_events()
    assert changed[0]["groupChangeInfoList"][0] == {
        "type": "V2TIM_GROUP_INFO_CHANGE_TYPE_OWNER",
        "value": "mike",
        "boolValue": False,
        "intValue": 0,
    }


async def test_create_group_refusals_change_nothing(rest: RestClient, client: HTTPClient) -> None:
    await client.login("olive")
    create = G + "create_group"
    cases: list[tuple[dict[str, Any], int]] = [
        ({"Name": "x"}, 10004),  # Type missing
        ({"Type": "Secret", "Name": "x"}, 10004),
        ({"Type": "Public"}, 10004),  # Name missing
        ({"Type": "Public", "Name": "x" * 31}, 10004),
        ({"Type": "Public", "Name": 5}, 10004),
        ({"Type": "Public", "Name": "x", "MemberList": [{"Member_Account": f"u{i}"} for i in range(101)]}, 10004),
        ({"Type": "Public", "Name": "x", "Owner_Account": "ghost"}, 10019),
        ({"Type": "Public", "Name": "x", "Owner_Account": "olive", "MemberList": [{"Member_Account": "ghost"}]}, 10019),
        ({"Type": "Public", "Name": "x", "GroupId": "@TGS#mine"}, 10015),
        ({"Type": "Public", "Name": "x", "GroupId": "g" * 49}, 10015),
        (
            {
                "Type": "Public",
                "Name": "x",
                "MaxMemberCount": 1,
                "Owner_Account": "olive",
                "MemberList": [{"Member_Account": "olive2"}],
            },
            10014,
        ),
    ]
    await client.login("olive2")
    for body, code in cases:
        await rest.fails(create, body, code)
    listed = await rest.ok(G + "get_appid_group_list", {})
    assert listed["TotalCount"] == 0
    joined = await rest.ok(G + "get_joined_group_list", {"Member_Account": "olive"})
    assert joined["TotalCount"] == 0


async def test_add_and_delete_members(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    olive = await member(client, server, "olive")
    mike = await member(client, server, "mike")
    nora = await member(client, server, "nora")
    gid = await make_group(rest, "olive")
    await olive.group_events()
    body = {"GroupId": gid, "MemberList": [{"Member_Account": "mike"}, {"Member_Account": "ghost"}]}
    answer = await rest.ok(G + "add_group_member", body)
    assert answer["MemberList"] == [{"Member_Account": "mike", "Result": 1}, {"Member_Account": "ghost", "Result": 0}]
    events = await olive.group_events()
    assert event_types(events) == ["onMemberInvited"]
    assert events[0]["opUser"]["userID"] == ADMIN
    assert [m["userID"] for m in events[0]["memberList"]] == ["mike"]
    assert event_types(await mike.group_events()) == ["onMemberInvited"]
    again = await rest.ok(G + "add_group_member", {"GroupId": gid, "MemberList": [{"Member_Account": "mike"}]})
    assert again["MemberList"] == [{"Member_Account": "mike", "Result": 2}]
    assert await olive.group_events() == []
    # Silence: added without tips or events
    silent = {"GroupId": gid, "Silence": 1, "MemberList": [{"Member_Account": "nora"}]}
    assert (await rest.ok(G + "add_group_member", silent))["MemberList"][0]["Result"] == 1
    assert await olive.group_events() == []
    assert await nora.group_events() == []
    assert (await group_info(rest, gid))["MemberNum"] == 3

    # delete: members and the removed get onMemberKicked with the admin as operator
    await rest.ok(G + "delete_group_member", {"GroupId": gid, "Reason": "kick reason", "MemberToDel_Account": ["mike"]})
    for listener in (olive, mike, nora):
        kicked = await listener.group_events()
        assert event_types(kicked) == ["onMemberKicked"], listener.name
        assert kicked[0]["opUser"]["userID"] == ADMIN
        assert [m["userID"] for m in kicked[0]["memberList"]] == ["mike"]
    tips = [m for m in await olive.messages() if m["elemType"] == "V2TIM_ELEM_TYPE_GROUP_TIPS"]
    assert tips[-1]["groupTipsElem"]["type"] == "V2TIM_GROUP_TIPS_TYPE_KICKED"
    roles = await rest.ok(G + "get_role_in_group", {"GroupId": gid, "User_Account": ["olive", "mike", "nora"]})
    assert roles["UserIdList"] == [
        {"Member_Account": "olive", "Role": "Owner"},
        {"Member_Account": "mike", "Role": "NotMember"},
        {"Member_Account": "nora", "Role": "Member"},
    ]
    # refusals change nothing
    await rest.fails(G + "delete_group_member", {"GroupId": gid, "MemberToDel_Account": ["olive"]}, 10004)
    await rest.fails(G + "delete_group_member", {"GroupId": gid, "MemberToDel_Account": ["u"] * 101}, 10004)
    await rest.fails(G + "delete_group_member", {"GroupId": "nope", "MemberToDel_Account": ["nora"]}, 10010)
    await rest.fails(G + "delete_group_member", {"GroupId": gid}, 10004)
    many = {"GroupId": gid, "MemberList": [{"Member_Account": f"u{i}"} for i in range(301)]}
    await rest.fails(G + "add_group_member", many, 10004)
    await rest.fails(G + "add_group_member", {"GroupId": "nope", "MemberList": [{"Member_Account": "mike"}]}, 10010)
    await rest.fails(G + "add_group_member", {"GroupId": gid, "MemberList": [{"Name": "mike"}]}, 10004)
    assert (await group_info(rest, gid))["MemberNum"] == 2
    assert await olive.group_events() == []


async def test_roles_mutes_and_member_info(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    olive = await member(client, server, "olive")
    bob = await member(client, server, "bob")
    peter = await member(client, server, "peter")
    gid = await make_group(rest, "olive", "bob", "peter")
    for m in (olive, bob, peter):
        await m.group_events()
    modify = G + "modify_group_member_info"
    await rest.ok(modify, {"GroupId": gid, "Member_Account": "bob", "Role": "Admin"})
    granted = await peter.group_events()
    assert event_types(granted) == ["onGrantAdministrator"]
    assert (granted[0]["opUser"]["userID"], granted[0]["memberList"][0]["userID"]) == (ADMIN, "bob")
    await rest.ok(modify, {"GroupId": gid, "Member_Account": "bob", "Role": "Member"})
    assert event_types(await olive.group_events()) == ["onGrantAdministrator", "onRevokeAdministrator"]
    await rest.ok(modify, {"GroupId": gid, "Member_Account": "bob", "MuteTime": 86400})
    muted = await peter.group_events()
    assert event_types(muted[-1:]) == ["onMemberInfoChanged"]
    assert muted[-1]["groupMemberChangeInfoList"] == [{"userID": "bob", "muteTime": 86400}]
    await rest.ok(modify, {"GroupId": gid, "Member_Account": "bob", "MsgFlag": "AcceptNotNotify", "NameCard": "Bobby"})
    await rest.ok(
        modify, {"GroupId": gid, "Member_Account": "bob", "AppMemberDefinedData": [{"Key": "k1", "Value": "v1"}]}
    )
    b25 = {
        "GroupId": gid,
        "MemberInfoFilter": ["Role", "JoinTime", "MsgSeq", "MsgFlag", "LastSendMsgTime", "MuteUntil", "NameCard"],
        "MemberRoleFilter": ["Owner", "Member"],
        "AppDefinedDataFilter_GroupMember": ["k1"],
        "Limit": 100,
        "Offset": 0,
    }
    page = await rest.ok(G + "get_group_member_info", b25)
    assert page["MemberNum"] == 3
    rows = {m["Member_Account"]: m for m in page["MemberList"]}
    assert set(rows) == {"olive", "bob", "peter"}
    bob_row = rows["bob"]
    keys_and_types(
        bob_row, {"Role": str, "JoinTime": int, "MsgSeq": int, "MsgFlag": str, "MuteUntil": int, "NameCard": str}
    )
    assert (bob_row["MsgFlag"], bob_row["NameCard"], bob_row["AppMemberDefinedData"]) == (
        "AcceptNotNotify",
        "Bobby",
        [{"Key": "k1", "Value": "v1"}],
    )
    assert bob_row["MuteUntil"] > 0
    # paging: Limit/Offset, and Next (Community paging) walks join order
    first = await rest.ok(G + "get_group_member_info", {"GroupId": gid, "Limit": 2, "Offset": 0})
    rest_page = await rest.ok(G + "get_group_member_info", {"GroupId": gid, "Limit": 2, "Offset": 2})
    assert [m["Member_Account"] for m in first["MemberList"] + rest_page["MemberList"]] == ["olive", "bob", "peter"]
    by_next = await rest.ok(G + "get_group_member_info", {"GroupId": gid, "Limit": 2, "Next": ""})
    assert by_next["Next"]
    last = await rest.ok(G + "get_group_member_info", {"GroupId": gid, "Limit": 2, "Next": by_next["Next"]})
    assert ([m["Member_Account"] for m in last["MemberList"]], last["Next"]) == (["peter"], "")
    owners = await rest.ok(G + "get_group_member_info", {"GroupId": gid, "MemberRoleFilter": ["Owner"]})
    assert [m["Member_Account"] for m in owners["MemberList"]] == ["olive"]
    specified = await rest.ok(
        G + "get_specified_group_member_info", {"GroupId": gid, "Member_List_Account": ["bob", "ghost"]}
    )
    assert [m["Member_Account"] for m in specified["MemberList"]] == ["bob"]

    # forbid_send_msg (B26) and the muted list
    await rest.ok(G + "forbid_send_msg", {"GroupId": gid, "Members_Account": ["peter"], "MuteTime": 60})
    changed = await olive.group_events()
    assert changed[-1]["groupMemberChangeInfoList"] == [{"userID": "peter", "muteTime": 60}]
    muted_list = await rest.ok(G + "get_group_muted_account", {"GroupId": gid})
    assert [m["Member_Account"] for m in muted_list["MutedAccountList"]] == ["peter", "bob"]
    keys_and_types(muted_list["MutedAccountList"][0], {"Member_Account": str, "MutedUntil": int})
    await rest.ok(G + "forbid_send_msg", {"GroupId": gid, "Members_Account": ["peter", "bob"], "MuteTime": 0})
    assert (await rest.ok(G + "get_group_muted_account", {"GroupId": gid}))["MutedAccountList"] == []
    assert event_types(await olive.group_events()) == ["onMemberInfoChanged"] * 2

    # refusals change nothing
    for body, code in [
        ({"GroupId": gid, "Member_Account": "ghost", "Role": "Admin"}, 10004),
        ({"GroupId": gid, "Member_Account": "bob", "Role": "Owner"}, 10004),
        ({"GroupId": gid, "Member_Account": "olive", "MuteTime": 60}, 10007),
        ({"GroupId": gid, "Member_Account": "bob", "MuteTime": "soon"}, 10004),
        ({"GroupId": gid, "Member_Account": "bob", "NameCard": "n" * 51}, 10004),
        ({"GroupId": "nope", "Member_Account": "bob", "Role": "Admin"}, 10010),
    ]:
        await rest.fails(modify, body, code)
    await rest.fails(G + "forbid_send_msg", {"GroupId": gid, "Members_Account": ["u"] * 501, "MuteTime": 1}, 10004)
    await rest.fails(G + "forbid_send_msg", {"GroupId": gid, "Members_Account": ["bob", "ghost"], "MuteTime": 1}, 10004)
    await rest.fails(G + "forbid_send_msg", {"GroupId": gid, "Members_Account": ["bob", "olive"], "MuteTime": 1}, 10007)
    await rest.fails(G + "get_specified_group_member_info", {"GroupId": gid, "Member_List_Account": ["u"] * 51}, 10004)
    await rest.fails(G + "get_role_in_group", {"GroupId": gid, "User_Account": ["u"] * 501}, 10004)
    await rest.fails(G + "get_group_member_info", {"GroupId": gid, "Limit": 6001}, 10004)
    assert (await rest.ok(G + "get_group_muted_account", {"GroupId": gid}))["MutedAccountList"] == []
    roles = await rest.ok(G + "get_role_in_group", {"GroupId": gid, "User_Account": ["bob"]})
    assert roles["UserIdList"][0]["Role"] == "Member"
    assert await olive.group_events() == []


async def test_base_info_owner_and_destroy(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    olive = await member(client, server, "olive")
    mike = await member(client, server, "mike")
    gid = await make_group(rest, "olive", "mike")
    await olive.group_events()
    await mike.group_events()
    await rest.ok(
        G + "modify_group_base_info",
        {
            "GroupId": gid,
            "Name": "renamed",
            "Notification": "read me",
            "MuteAllMember": "On",
            "ApplyJoinOption": "NeedPermission",
            "MaxMemberNum": 50,
            "AppDefinedData": [{"Key": "topic", "Value": "rust"}],
        },
    )
    changed = await mike.group_events()
    assert event_types(changed) == ["onGroupInfoChanged"]
    kinds = {c["type"]: c for c in changed[0]["groupChangeInfoList"]}
    assert kinds["V2TIM_GROUP_INFO_CHANGE_TYPE_NAME"]["value"] == "renamed"
    assert kinds["V2TIM_GROUP_INFO_CHANGE_TYPE_SHUT_UP_ALL"]["boolValue"] is True
    assert kinds["V2TIM_GROUP_INFO_CHANGE_TYPE_CUSTOM"]["value"] == "rust"
    info = await group_info(rest, gid)
    assert (info["Name"], info["Notification"], info["MuteAllMember"], info["MaxMemberNum"]) == (
        "renamed",
        "read me",
        "On",
        50,
    )
    assert info["ApplyJoinOption"] == "NeedPermission"
    assert info["AppDefinedData"] == [{"Key": "topic", "Value": "rust"}]
    tips = [m for m in await mike.messages() if m["elemType"] == "V2TIM_ELEM_TYPE_GROUP_TIPS"]
    assert tips[-1]["groupTipsElem"]["opMember"]["userID"] == ADMIN
    # a Value of "" deletes a custom key
    await rest.ok(G + "modify_group_base_info", {"GroupId": gid, "AppDefinedData": [{"Key": "topic", "Value": ""}]})
    assert (await group_info(rest, gid))["AppDefinedData"] == []
    await olive.group_events()
    await mike.group_events()
    # refusals change nothing
    await rest.fails(G + "modify_group_base_info", {"GroupId": gid, "Name": "n" * 31}, 10004)
    await rest.fails(G + "modify_group_base_info", {"GroupId": gid, "MuteAllMember": "Maybe"}, 10004)
    await rest.fails(G + "modify_group_base_info", {"GroupId": gid, "MaxMemberNum": 1}, 10004)
    await rest.fails(G + "modify_group_base_info", {"Name": "x"}, 10004)
    await rest.fails(G + "modify_group_base_info", {"GroupId": "nope", "Name": "x"}, 10010)
    assert (await group_info(rest, gid))["Name"] == "renamed"
    assert await mike.group_events() == []

    # change_group_owner
    await rest.fails(G + "change_group_owner", {"GroupId": gid, "NewOwner_Account": "ghost"}, 10004)
    await rest.fails(G + "change_group_owner", {"GroupId": gid}, 10004)
    await rest.ok(G + "change_group_owner", {"GroupId": gid, "NewOwner_Account": "mike"})
    await mike.group_events()
    owner_change = await olive.group_events()
    assert owner_change[0]["groupChangeInfoList"][0]["type"] == "V2TIM_GROUP_INFO_CHANGE_TYPE_OWNER"
    roles = await rest.ok(G + "get_role_in_group", {"GroupId": gid, "User_Account": ["olive", "mike"]})
    assert [r["Role"] for r in roles["UserIdList"]] == ["Member", "Owner"]

    # destroy: members get onGroupDismissed with the admin as opUser
    await rest.fails(G + "destroy_group", {}, 10004)
    await rest.fails(G + "destroy_group", {"GroupId": "nope"}, 10010)
    await rest.ok(G + "destroy_group", {"GroupId": gid})
    for m in (olive, mike):
        dismissed = await m.group_events()
        assert event_types(dismissed) == ["onGroupDismissed"]
        assert dismissed[0]["opUser"]["userID"] == ADMIN
    assert (await group_info(rest, gid))["ErrorCode"] == 10010
    await rest.fails(G + "destroy_group", {"GroupId": gid}, 10010)


async def test_joined_and_app_group_lists(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    await client.login("leckie")
    mike = await member(client, server, "mike")
    public = await make_group(rest, "leckie", "mike")
    work = await make_group(rest, "leckie", Type="Private", Name="d")
    await make_group(rest, "leckie", Type="AVChatRoom", Name="live")
    b24 = {
        "Member_Account": "leckie",
        "WithHugeGroups": 1,
        "WithNoActiveGroups": 1,
        "ResponseFilter": {
            "GroupBaseInfoFilter": [
                "Type",
                "Name",
                "Introduction",
                "Notification",
                "FaceUrl",
                "CreateTime",
                "Owner_Account",
                "LastInfoTime",
                "LastMsgTime",
                "NextMsgSeq",
                "MemberNum",
                "MaxMemberNum",
                "ApplyJoinOption",
                "MuteAllMember",
            ],
            "SelfInfoFilter": ["Role", "JoinTime", "MsgFlag", "MsgSeq"],
        },
    }
    answer = await rest.ok(G + "get_joined_group_list", b24)
    assert answer["TotalCount"] == 3
    (item,) = [g for g in answer["GroupIdList"] if g["GroupId"] == work]
    keys_and_types(
        item,
        {
            "ApplyJoinOption": str,
            "CreateTime": int,
            "FaceUrl": str,
            "GroupId": str,
            "Introduction": str,
            "LastInfoTime": int,
            "LastMsgTime": int,
            "MaxMemberNum": int,
            "MemberNum": int,
            "Name": str,
            "NextMsgSeq": int,
            "Notification": str,
            "Owner_Account": str,
            "SelfInfo": dict,
            "MuteAllMember": str,
            "Type": str,
        },
    )
    assert item["SelfInfo"] == {
        "Role": "Owner",
        "JoinTime": item["SelfInfo"]["JoinTime"],
        "MsgSeq": 0,
        "MsgFlag": "AcceptAndNotify",
    }
    assert (item["Type"], item["ApplyJoinOption"]) == ("Private", "DisableApply")
    plain = await rest.ok(G + "get_joined_group_list", {"Member_Account": "leckie"})
    assert plain["TotalCount"] == 2
    assert sorted(g["GroupId"] for g in plain["GroupIdList"]) == sorted([public, work])
    paged = await rest.ok(G + "get_joined_group_list", {"Member_Account": "leckie", "Limit": 1, "Offset": 1})
    assert paged["GroupIdList"] == plain["GroupIdList"][1:]
    typed = await rest.ok(G + "get_joined_group_list", {"Member_Account": "leckie", "GroupType": "Public"})
    assert typed["GroupIdList"] == [{"GroupId": public}]
    await rest.fails(G + "get_joined_group_list", {"Member_Account": "ghost"}, 10019)
    await rest.fails(G + "get_joined_group_list", {}, 10004)
    await rest.fails(G + "get_joined_group_list", {"Member_Account": "leckie", "Limit": 5001}, 10004)

    every = await rest.ok(G + "get_appid_group_list", {"Limit": 2})
    assert (every["TotalCount"], len(every["GroupIdList"])) == (3, 2)
    more = await rest.ok(G + "get_appid_group_list", {"Limit": 2, "Next": every["Next"]})
    assert (len(more["GroupIdList"]), more["Next"]) == (1, 0)
    ids = {g["GroupId"] for g in every["GroupIdList"] + more["GroupIdList"]}
    assert public in ids
    assert work in ids
    only_public = await rest.ok(G + "get_appid_group_list", {"GroupType": "Public"})
    assert only_public["GroupIdList"] == [{"GroupId": public}]

    online = await rest.ok(G + "get_online_member_num", {"GroupId": public})
    assert online["OnlineMemberNum"] == 1  # mike's WebSocket; leckie has no live session
    await rest.fails(G + "get_online_member_num", {"GroupId": "nope"}, 10010)
    del mike
