"""Accounts, online status and profiles over the REST API: `im_open_login_svc/*`,
`openim/query_online_status`, `profile/portrait_get|portrait_set`.

Golden tests send FIXTURES.md B15-B17 and check the answer's keys, types and casing; scenario tests
watch real subscriptions (sdkListener, friendshipListener) to prove that a REST write is the SDK
action it stands for; bad input is refused with Tencent's code and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import Code
from tests.rest.conftest import RestClient
from tests.support.actors import Actor, actor
from tests.support.clients import HTTPClient, listen_sdk
from tests.support.servers import InProcessGateway

IMPORT = "im_open_login_svc/account_import"
MULTI_IMPORT = "im_open_login_svc/multiaccount_import"
DELETE = "im_open_login_svc/account_delete"
CHECK = "im_open_login_svc/account_check"
KICK = "im_open_login_svc/kick"
ONLINE = "openim/query_online_status"
GET = "profile/portrait_get"
SET = "profile/portrait_set"
ENVELOPE = {"ActionStatus", "ErrorInfo", "ErrorCode"}
ALL_TAGS = [
    "Tag_Profile_IM_Nick",
    "Tag_Profile_IM_Gender",
    "Tag_Profile_IM_BirthDay",
    "Tag_Profile_IM_Location",
    "Tag_Profile_IM_SelfSignature",
    "Tag_Profile_IM_AllowType",
    "Tag_Profile_IM_Language",
    "Tag_Profile_IM_Image",
    "Tag_Profile_IM_MsgSettings",
    "Tag_Profile_IM_AdminForbidType",
    "Tag_Profile_IM_Level",
    "Tag_Profile_IM_Role",
    "Tag_Profile_Custom_Test",
]
FRIEND_EVENTS = """
subscription {
  friendshipListener {
    __typename
    ... on FriendListAddedEvent { type }
    ... on FriendInfoChangedEvent { type infoList { userID userProfile { userID nickName } } }
  }
}"""
USERS_INFO = "query($u: [String!]!) { getUsersInfo(userIDList: $u) { userID nickName faceUrl } }"


async def check(rest: RestClient, *user_ids: str) -> dict[str, str]:
    answer = await rest.ok(CHECK, {"CheckItem": [{"UserID": u} for u in user_ids]})
    return {item["UserID"]: item["AccountStatus"] for item in answer["ResultItem"]}


async def portrait(rest: RestClient, user_id: str, tags: list[str] = ALL_TAGS) -> dict[str, Any]:
    answer = await rest.ok(GET, {"To_Account": [user_id], "TagList": tags})
    (item,) = answer["UserProfileItem"]
    assert item["ResultCode"] == 0, item
    return {p["Tag"]: p["Value"] for p in item["ProfileItem"]}


async def sdk_device(client: HTTPClient, server: InProcessGateway, user: str, platform: str = "web") -> Actor:
    token = await client.login(user, platform=platform)
    ws, op = await listen_sdk(server.ws_url, token)
    return Actor(client, token, user, ws, (op,))


# ---- golden ---------------------------------------------------------------------------------------
async def test_golden_account_fixtures(rest: RestClient) -> None:
    for body in (
        {"UserID": "test", "Nick": "test", "FaceUrl": "http://www.qq.com"},
        {"UserID": "alice", "Nick": "Alice", "FaceUrl": ""},
    ):
        answer = await rest.ok(IMPORT, body)
        assert set(answer) == ENVELOPE
    await rest.ok(IMPORT, {"UserID": "UserID_1"})
    answer = await rest.ok(CHECK, {"CheckItem": [{"UserID": "UserID_1"}, {"UserID": "UserID_2"}]})
    assert set(answer) == ENVELOPE | {"ResultItem"}
    assert answer["ResultItem"] == [
        {"UserID": "UserID_1", "ResultCode": 0, "ResultInfo": "", "AccountStatus": "Imported"},
        {"UserID": "UserID_2", "ResultCode": 0, "ResultInfo": "", "AccountStatus": "NotImported"},
    ]
    assert set(await rest.ok(KICK, {"UserID": "test"})) == ENVELOPE


async def test_golden_profile_fixtures(rest: RestClient) -> None:
    await rest.ok(MULTI_IMPORT, {"Accounts": ["id", "id1"]})
    answer = await rest.ok(
        SET, {"From_Account": "id", "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "MyNickName"}]}
    )
    assert set(answer) == ENVELOPE | {"ErrorDisplay"}
    assert answer["ErrorDisplay"] == ""
    assert await portrait(rest, "id", ["Tag_Profile_IM_Nick"]) == {"Tag_Profile_IM_Nick": "MyNickName"}
    await rest.ok(
        SET,
        {
            "From_Account": "id1",
            "ProfileItem": [
                {"Tag": "Tag_Profile_IM_Nick", "Value": "NickNameTest1"},
                {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "I'm Test1"},
                {"Tag": "Tag_Profile_Custom_Test", "Value": "Custom Data1"},
            ],
        },
    )
    request = {
        "To_Account": ["id1", "id4"],
        "TagList": [
            "Tag_Profile_IM_Nick",
            "Tag_Profile_IM_AllowType",
            "Tag_Profile_IM_SelfSignature",
            "Tag_Profile_Custom_Test",
        ],
    }
    answer = await rest.ok(GET, request)
    assert set(answer) == ENVELOPE | {"UserProfileItem", "Fail_Account", "ErrorDisplay"}
    first, missing = answer["UserProfileItem"]
    assert first == {
        "To_Account": "id1",
        "ProfileItem": [
            {"Tag": "Tag_Profile_IM_Nick", "Value": "NickNameTest1"},
            {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_NeedConfirm"},
            {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "I'm Test1"},
            {"Tag": "Tag_Profile_Custom_Test", "Value": "Custom Data1"},
        ],
        "ResultCode": 0,
        "ResultInfo": "",
    }
    assert set(missing) == {"To_Account", "ResultCode", "ResultInfo"}
    assert (missing["To_Account"], missing["ResultCode"]) == ("id4", 40003)
    assert isinstance(missing["ResultInfo"], str)
    assert answer["Fail_Account"] == ["id4"]
    # one existing user: no Fail_Account, as in the doc's first sample
    answer = await rest.ok(GET, {"To_Account": ["id1"], "TagList": ["Tag_Profile_IM_Nick"]})
    assert set(answer) == ENVELOPE | {"UserProfileItem", "ErrorDisplay"}


async def test_golden_query_online_status(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    await rest.ok(MULTI_IMPORT, {"Accounts": ["id1", "id2"]})
    device = await sdk_device(client, server, "id1", platform="web")
    answer = await rest.ok(ONLINE, {"IsNeedDetail": 1, "To_Account": ["id1", "id2", "id4"]})
    assert set(answer) == ENVELOPE | {"QueryResult", "ErrorList"}
    assert answer["QueryResult"] == [
        {"To_Account": "id1", "Status": "Online", "Detail": [{"Platform": "Web", "Status": "Online"}]},
        {"To_Account": "id2", "Status": "Offline"},
    ]
    assert answer["ErrorList"] == [{"To_Account": "id4", "ErrorCode": 70107}]
    # without IsNeedDetail: no Detail
    answer = await rest.ok(ONLINE, {"To_Account": ["id1"]})
    assert answer["QueryResult"] == [{"To_Account": "id1", "Status": "Online"}]
    assert answer["ErrorList"] == []
    await device.ws.close()


# ---- accounts -------------------------------------------------------------------------------------
async def test_import_creates_the_account_and_reimport_harms_nothing(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    await rest.ok(IMPORT, {"UserID": "alice", "Nick": "Alice", "FaceUrl": "https://example.com/a.png"})
    assert await check(rest, "alice") == {"alice": "Imported"}
    alice = await sdk_device(client, server, "alice")
    info = await alice.q(USERS_INFO, {"u": ["alice"]})
    assert info["getUsersInfo"] == [{"userID": "alice", "nickName": "Alice", "faceUrl": "https://example.com/a.png"}]
    # importing again with the same values, with none, or with an empty face (Tencent's Python
    # SDK always sends one) changes nothing and tells nobody
    await rest.ok(IMPORT, {"UserID": "alice", "Nick": "Alice", "FaceUrl": ""})
    await rest.ok(IMPORT, {"UserID": "alice"})
    await rest.ok(MULTI_IMPORT, {"Accounts": ["alice"]})
    await alice.quiet()
    assert (await portrait(rest, "alice"))["Tag_Profile_IM_Image"] == "https://example.com/a.png"
    # a new nick is a profile change, as setSelfInfo makes it: the user's devices hear of it
    await rest.ok(IMPORT, {"UserID": "alice", "Nick": "Alicia"})
    event = await alice.event()
    assert event["type"] == "onSelfInfoUpdated"
    assert (event["info"]["nickName"], event["info"]["faceUrl"]) == ("Alicia", "https://example.com/a.png")
    await alice.quiet()
    # the legacy field name
    await rest.ok(IMPORT, {"Identifier": "old-client"})
    assert await check(rest, "old-client") == {"old-client": "Imported"}
    await alice.ws.close()


async def test_multiaccount_import_both_forms_and_fail_accounts(rest: RestClient) -> None:
    answer = await rest.ok(MULTI_IMPORT, {"Accounts": ["a1", "a2", "x" * 33, "bad\u00e9"]})
    assert set(answer) == ENVELOPE | {"FailAccounts"}
    assert answer["FailAccounts"] == ["x" * 33, "bad\u00e9"]
    answer = await rest.ok(
        MULTI_IMPORT,
        {
            "AccountList": [
                {"UserID": "b1", "Nick": "Bee", "FaceUrl": "http://www.qq.com"},
                {"UserID": "b2", "Nick": "n" * 501},
                {"UserID": "b3"},
            ]
        },
    )
    assert answer["FailAccounts"] == ["b2"]
    assert await check(rest, "a1", "a2", "b1", "b2", "b3") == {
        "a1": "Imported",
        "a2": "Imported",
        "b1": "Imported",
        "b2": "NotImported",
        "b3": "Imported",
    }
    assert (await portrait(rest, "b1", ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image"])) == {
        "Tag_Profile_IM_Nick": "Bee",
        "Tag_Profile_IM_Image": "http://www.qq.com",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"Accounts": [f"u{i}" for i in range(101)]},
        {"AccountList": [{"UserID": f"u{i}"} for i in range(101)]},
        {"Accounts": ["u0", 7]},
        {"AccountList": [{"UserID": "u0"}, {"Nick": "no id"}]},
        {"AccountList": [{"UserID": "u0"}, {"UserID": "u1", "Nick": 5}]},
        {},
    ],
)
async def test_multiaccount_import_refusals_import_nothing(rest: RestClient, body: dict[str, Any]) -> None:
    await rest.fails(MULTI_IMPORT, body, 70402)
    assert await check(rest, "u0", "u1") == {"u0": "NotImported", "u1": "NotImported"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"UserID": ""},
        {"UserID": 42},
        {"UserID": "x" * 33},
        {"UserID": "caf\u00e9"},
        {"UserID": "carol", "Nick": "n" * 501},
        {"UserID": "carol", "FaceUrl": 3},
    ],
)
async def test_account_import_refusals_import_nothing(rest: RestClient, body: dict[str, Any]) -> None:
    await rest.fails(IMPORT, body, 70402)
    assert await check(rest, "carol") == {"carol": "NotImported"}


async def test_account_delete_ends_sessions_and_the_account(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    await rest.ok(MULTI_IMPORT, {"Accounts": ["alice", "bob"]})
    await rest.ok(SET, {"From_Account": "alice", "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "Alice"}]})
    alice = await sdk_device(client, server, "alice")
    bob = await sdk_device(client, server, "bob")
    answer = await rest.ok(DELETE, {"DeleteItem": [{"UserID": "alice"}, {"UserID": "nobody"}]})
    assert set(answer) == ENVELOPE | {"ResultItem"}
    assert answer["ResultItem"][0] == {"ResultCode": 0, "ResultInfo": "", "UserID": "alice"}
    assert answer["ResultItem"][1]["UserID"] == "nobody"
    assert answer["ResultItem"][1]["ResultCode"] == 70107
    # alice's subscription is kicked and ends; her token no longer works
    assert (await alice.event())["type"] == "onKickedOffline"
    assert (await alice.ws.next(alice.op))["type"] == "complete"
    assert (await alice.call("{ getLoginUser }")).codes == [Code.ERR_LOGIN_KICKED_OFF_BY_OTHER]
    # the account is gone, for the server API and for other users
    assert await check(rest, "alice", "bob") == {"alice": "NotImported", "bob": "Imported"}
    gone = await rest.ok(GET, {"To_Account": ["alice"], "TagList": ["Tag_Profile_IM_Nick"]})
    assert gone["Fail_Account"] == ["alice"]
    assert (await bob.q(USERS_INFO, {"u": ["alice"]}))["getUsersInfo"] == []
    await bob.quiet()  # bob's sessions are untouched
    # deleting again: the item says so; importing again makes a fresh, empty profile
    again = await rest.ok(DELETE, {"DeleteItem": [{"UserID": "alice"}]})
    assert again["ResultItem"][0]["ResultCode"] == 70107
    await rest.ok(IMPORT, {"UserID": "alice"})
    assert (await portrait(rest, "alice", ["Tag_Profile_IM_Nick"])) == {"Tag_Profile_IM_Nick": ""}
    await alice.ws.close()
    await bob.ws.close()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"DeleteItem": []},
        {"DeleteItem": [{"UserID": "alice"}] + [{"UserID": f"u{i}"} for i in range(100)]},
        {"DeleteItem": [{"UserID": "alice"}, {"UserID": 3}]},
        {"DeleteItem": [{"UserID": "alice"}, "bob"]},
        {"DeleteItem": [{"UserID": "alice"}, {"UserID": "x" * 33}]},
    ],
)
async def test_account_delete_refusals_delete_nothing(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, body: dict[str, Any]
) -> None:
    await rest.ok(IMPORT, {"UserID": "alice"})
    alice = await sdk_device(client, server, "alice")
    await rest.fails(DELETE, body, 70402)
    assert await check(rest, "alice") == {"alice": "Imported"}
    await alice.quiet()
    assert (await alice.q("{ getLoginUser }")) == {"getLoginUser": "alice"}
    await alice.ws.close()


async def test_account_check_refusals(rest: RestClient) -> None:
    await rest.fails(CHECK, {}, 70402)
    await rest.fails(CHECK, {"CheckItem": [{"UserID": f"u{i}"} for i in range(101)]}, 70402)
    await rest.fails(CHECK, {"CheckItem": [{"Identifier": "u"}]}, 70402)


async def test_kick_ends_every_session_of_the_user(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    phone = await sdk_device(client, server, "alice", platform="ios")
    laptop = await sdk_device(client, server, "alice", platform="web")
    bob = await sdk_device(client, server, "bob")
    await rest.ok(KICK, {"UserID": "alice"})
    for device in (phone, laptop):
        assert (await device.event())["type"] == "onKickedOffline"
        assert (await device.ws.next(device.op))["type"] == "complete"
        assert (await device.call("{ getLoginUser }")).codes == [Code.ERR_LOGIN_KICKED_OFF_BY_OTHER]
    await bob.quiet()
    # the account stays; alice may log in again
    assert await check(rest, "alice") == {"alice": "Imported"}
    online = await rest.ok(ONLINE, {"To_Account": ["alice", "bob"]})
    assert [r["Status"] for r in online["QueryResult"]] == ["Offline", "Online"]
    again = await client.login("alice")
    assert (await client.gql("{ getLoginUser }", token=again)).ok() == {"getLoginUser": "alice"}
    for device in (phone, laptop, bob):
        await device.ws.close()


async def test_kick_refusals(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    alice = await sdk_device(client, server, "alice")
    await rest.fails(KICK, {}, 70402)
    await rest.fails(KICK, {"UserID": ["alice"]}, 70402)
    await rest.fails(KICK, {"UserID": "nobody"}, 70107)
    await alice.quiet()
    await alice.ws.close()


# ---- online status ----------------------------------------------------------------------------------
async def test_online_status_follows_sessions_and_subscriptions(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    await client.login("alice", platform="android")  # logged in, nothing live
    phone = await sdk_device(client, server, "bob", platform="ios")
    await client.login("bob", platform="mac")
    answer = await rest.ok(ONLINE, {"To_Account": ["alice", "bob", "bob"], "IsNeedDetail": 1})
    assert answer["QueryResult"] == [
        {"To_Account": "alice", "Status": "PushOnline", "Detail": [{"Platform": "Android", "Status": "PushOnline"}]},
        {
            "To_Account": "bob",
            "Status": "Online",
            "Detail": [{"Platform": "iPhone", "Status": "Online"}, {"Platform": "Mac", "Status": "Online"}],
        },
    ]
    await phone.ws.close()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"To_Account": []},
        {"To_Account": [f"u{i}" for i in range(501)]},
        {"To_Account": "alice"},
        {"To_Account": ["a"], "IsNeedDetail": 2},
    ],
)
async def test_online_status_refusals(rest: RestClient, body: dict[str, Any]) -> None:
    await rest.fails(ONLINE, body, 90009)


# ---- profiles ----------------------------------------------------------------------------------------
async def test_portrait_set_is_set_self_info(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    alice = await sdk_device(client, server, "alice")
    # bob has alice as a friend, so he must hear of her profile change
    bob = await actor(client, server.ws_url, "bob", FRIEND_EVENTS)
    await rest.ok(
        SET,
        {
            "From_Account": "alice",
            "ProfileItem": [{"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_AllowAny"}],
        },
    )
    assert (await alice.event())["type"] == "onSelfInfoUpdated"
    add = 'mutation { addFriend(userID: "alice", addType: V2TIM_FRIEND_TYPE_SINGLE) { resultCode } }'
    assert (await bob.q(add))["addFriend"]["resultCode"] == 0
    assert (await bob.event())["type"] == "onFriendListAdded"
    items: list[dict[str, Any]] = [
        {"Tag": "Tag_Profile_IM_Nick", "Value": "Alice"},
        {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Female"},
        {"Tag": "Tag_Profile_IM_BirthDay", "Value": 19900101},
        {"Tag": "Tag_Profile_IM_Location", "Value": "86-755"},
        {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "hello"},
        {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_DenyAny"},
        {"Tag": "Tag_Profile_IM_Language", "Value": 2},
        {"Tag": "Tag_Profile_IM_Image", "Value": "https://example.com/a.png"},
        {"Tag": "Tag_Profile_IM_MsgSettings", "Value": "1"},
        {"Tag": "Tag_Profile_IM_AdminForbidType", "Value": "AdminForbid_Type_SendOut"},
        {"Tag": "Tag_Profile_IM_Level", "Value": 7},
        {"Tag": "Tag_Profile_IM_Role", "Value": 3},
        {"Tag": "Tag_Profile_Custom_Test", "Value": "Custom Data1"},
    ]
    await rest.ok(SET, {"From_Account": "alice", "ProfileItem": items})
    event = await alice.event()
    assert event["type"] == "onSelfInfoUpdated"
    assert event["info"] == {
        "userID": "alice",
        "nickName": "Alice",
        "faceUrl": "https://example.com/a.png",
        "selfSignature": "hello",
        "gender": "V2TIM_GENDER_FEMALE",
        "allowType": "V2TIM_FRIEND_DENY_ANY",
        "role": 3,
        "level": 7,
        "birthday": 19900101,
        "customInfo": [{"key": "Test", "value": "Custom Data1"}],
    }
    changed = await bob.event()
    assert changed["type"] == "onFriendInfoChanged"
    assert changed["infoList"] == [{"userID": "alice", "userProfile": {"userID": "alice", "nickName": "Alice"}}]
    expected = {item["Tag"]: item["Value"] for item in items} | {"Tag_Profile_IM_MsgSettings": 1}
    assert await portrait(rest, "alice") == expected
    await alice.quiet()
    await bob.quiet()
    # only server-side tags: stored, and the SDK (which has no field for them) hears nothing
    await rest.ok(SET, {"From_Account": "alice", "ProfileItem": [{"Tag": "Tag_Profile_IM_Language", "Value": 5}]})
    assert (await portrait(rest, "alice", ["Tag_Profile_IM_Language"])) == {"Tag_Profile_IM_Language": 5}
    await alice.quiet()
    await bob.quiet()
    await alice.ws.close()
    await bob.ws.close()


async def test_portrait_get_defaults_of_a_new_account(rest: RestClient) -> None:
    await rest.ok(IMPORT, {"UserID": "fresh"})
    assert await portrait(rest, "fresh") == {
        "Tag_Profile_IM_Nick": "",
        "Tag_Profile_IM_Gender": "Gender_Type_Unknown",
        "Tag_Profile_IM_BirthDay": 0,
        "Tag_Profile_IM_Location": "",
        "Tag_Profile_IM_SelfSignature": "",
        "Tag_Profile_IM_AllowType": "AllowType_Type_NeedConfirm",
        "Tag_Profile_IM_Language": 0,
        "Tag_Profile_IM_Image": "",
        "Tag_Profile_IM_MsgSettings": 0,
        "Tag_Profile_IM_AdminForbidType": "AdminForbid_Type_None",
        "Tag_Profile_IM_Level": 0,
        "Tag_Profile_IM_Role": 0,
        "Tag_Profile_Custom_Test": "",
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, 40001),
        ({"To_Account": ["alice"]}, 40001),
        ({"To_Account": ["alice"], "TagList": ["Tag_Profile_IM_Nope"]}, 40001),
        ({"To_Account": ["alice"], "TagList": ["Nick"]}, 40001),
        ({"To_Account": ["alice"], "TagList": ["Tag_Profile_Custom_"]}, 40001),
        ({"To_Account": [f"u{i}" for i in range(101)], "TagList": ["Tag_Profile_IM_Nick"]}, 40001),
        ({"To_Account": "alice", "TagList": ["Tag_Profile_IM_Nick"]}, 40001),
    ],
)
async def test_portrait_get_refusals(rest: RestClient, body: dict[str, Any], code: int) -> None:
    await rest.ok(IMPORT, {"UserID": "alice"})
    await rest.fails(GET, body, code)


def _set(*items: dict[str, Any], user: str = "alice") -> dict[str, Any]:
    return {"From_Account": user, "ProfileItem": list(items)}


NICK = {"Tag": "Tag_Profile_IM_Nick", "Value": "Changed"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, 40001),
        ({"From_Account": "alice"}, 40001),
        ({"From_Account": "alice", "ProfileItem": []}, 40001),
        (_set(NICK, {"Tag": "Tag_Profile_IM_Nope", "Value": "x"}), 40001),
        (_set(NICK, {"Value": "x"}), 40001),
        (_set(NICK, {"Tag": "Tag_Profile_IM_Level"}), 40001),
        (_set(NICK, NICK), 40001),
        (_set(NICK, {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "s" * 501}), 40601),
        (_set(NICK, {"Tag": "Tag_Profile_Custom_Test", "Value": "v" * 501}), 40601),
        (_set(NICK, {"Tag": "Tag_Profile_IM_Location", "Value": "l" * 17}), 40601),
        (_set(NICK, {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Other"}), 40605),
        (_set(NICK, {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_Maybe"}), 40605),
        (_set(NICK, {"Tag": "Tag_Profile_IM_AdminForbidType", "Value": "AdminForbid_Type_All"}), 40605),
        (_set(NICK, {"Tag": "Tag_Profile_IM_Level", "Value": 2**32}), 40605),
        (_set(NICK, {"Tag": "Tag_Profile_IM_BirthDay", "Value": 19901340}), 40605),
        (_set(NICK, {"Tag": "Tag_Profile_Custom_TooLongKey", "Value": "v"}), 40605),
        (_set(NICK, {"Tag": "Tag_Profile_IM_Level", "Value": "high"}), 40610),
        (_set(NICK, {"Tag": "Tag_Profile_IM_SelfSignature", "Value": 5}), 40610),
        (_set(NICK, {"Tag": "Tag_Profile_IM_Language", "Value": True}), 40610),
        (_set(NICK, user="nobody"), 40003),
    ],
)
async def test_portrait_set_refusals_change_nothing(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, body: dict[str, Any], code: int
) -> None:
    await rest.ok(IMPORT, {"UserID": "alice", "Nick": "Before"})
    alice = await sdk_device(client, server, "alice")
    before = await portrait(rest, "alice")
    await rest.fails(SET, body, code)
    assert await portrait(rest, "alice") == before
    assert await check(rest, "nobody") == {"nobody": "NotImported"}
    await alice.quiet()
    await alice.ws.close()


async def test_sdk_listener_sees_no_event_for_a_refused_import(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    token = await client.login("alice")
    ws, op = await listen_sdk(server.ws_url, token)
    await rest.fails(IMPORT, {"UserID": "alice", "Nick": "n" * 501}, 70402)
    await ws.nothing_for(op, 0.3)
    await ws.close()
