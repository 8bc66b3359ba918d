"""`sns/*` over real HTTP: friends, blacklist and friend groups written by the app admin reach the
users' friendshipListener exactly as the SDK equivalents do.

Each user is a `tests.test_friendship.User`: a client-side mirror built only from the events its
subscription receives. `settle` drains every stream and checks each mirror equals what the SDK's
queries return, so every REST write is proven to have produced the right events for the right users,
and a refused call is proven to have produced none and changed nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.engine import friendship as friendship_rules
from gateway.engine.rest import friendship as sns
from tests.rest.conftest import RestClient
from tests.support.clients import HTTPClient
from tests.support.friendship import SET_ALLOW, User, make_user, settle
from tests.support.servers import InProcessGateway

INVALID = 30001
MISSING = 30003
ENVELOPE = {"ActionStatus", "ErrorCode", "ErrorInfo", "ErrorDisplay"}
SOURCE = "AddSource_Type_XXXXXXXX"


def keys_and_types(answer: dict[str, Any], fields: dict[str, type]) -> None:
    """The answer has exactly the envelope and these fields, with Tencent's casing and types."""
    assert set(answer) == ENVELOPE | set(fields), answer
    assert answer["ActionStatus"] == "OK"
    assert answer["ErrorCode"] == 0
    assert answer["ErrorDisplay"] == ""
    for name, kind in fields.items():
        assert isinstance(answer[name], kind), (name, answer[name])


def result_item(account: str, code: int = 0) -> dict[str, Any]:
    return {"To_Account": account, "ResultCode": code}


def results(answer: dict[str, Any], key: str = "ResultItem") -> list[dict[str, Any]]:
    """The per-item results without their (free-text) ResultInfo, after checking its type."""
    for item in answer[key]:
        assert isinstance(item["ResultInfo"], str)
        assert set(item) >= {"To_Account", "ResultCode", "ResultInfo"}
    return [{k: v for k, v in item.items() if k != "ResultInfo"} for item in answer[key]]


def add_body(owner: str, *targets: str, force: int = 0, add_type: str = "Add_Type_Both") -> dict[str, Any]:
    items = [{"To_Account": t, "AddSource": SOURCE} for t in targets]
    return {"From_Account": owner, "AddFriendItem": items, "AddType": add_type, "ForceAddFlags": force}


@pytest.fixture
async def trio(client: HTTPClient, server: InProcessGateway) -> tuple[User, User, User]:
    return (
        await make_user(client, server, "alice"),
        await make_user(client, server, "bob"),
        await make_user(client, server, "carol"),
    )


async def befriend(rest: RestClient, owner: str, *targets: str, add_type: str = "Add_Type_Both") -> None:
    answer = await rest.ok("sns/friend_add", add_body(owner, *targets, force=1, add_type=add_type))
    assert all(item["ResultCode"] == 0 for item in answer["ResultItem"]), answer


# ---- friend_add ----------------------------------------------------------------------------------------
async def test_friend_add_golden_forced(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio  # bob's AllowType is NeedConfirm (every account's default): force ignores it
    body = {
        "From_Account": "alice",
        "AddFriendItem": [
            {
                "To_Account": "bob",
                "Remark": "remark1",
                "GroupName": "Classmates",
                "AddSource": SOURCE,
                "AddWording": "I'm Test1",
            }
        ],
        "AddType": "Add_Type_Both",
        "ForceAddFlags": 1,
    }
    answer = await rest.ok("sns/friend_add", body)
    keys_and_types(answer, {"ResultItem": list})
    assert results(answer) == [result_item("bob")]
    seen = await settle(alice, bob, carol)
    assert seen == {"alice": ["onFriendListAdded"], "bob": ["onFriendListAdded"], "carol": []}
    assert alice.friends["bob"]["friendRemark"] == "remark1"
    assert alice.friends["bob"]["friendGroup"] == ["Classmates"]
    assert set(bob.friends) == {"alice"}


async def test_friend_add_single_reaches_only_the_adder(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, _ = trio
    await befriend(rest, "alice", "bob", add_type="Add_Type_Single")
    assert await settle(alice, bob) == {"alice": ["onFriendListAdded"], "bob": []}


async def test_friend_add_without_force_follows_the_targets_settings(
    rest: RestClient, trio: tuple[User, User, User], client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob, carol = trio
    dave = await make_user(client, server, "dave")
    await carol.q(SET_ALLOW, {"a": "V2TIM_FRIEND_DENY_ANY"})
    await dave.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    answer = await rest.ok("sns/friend_add", add_body("alice", "bob", "carol", "dave", "nobody"))
    assert results(answer) == [
        result_item("bob", 30539),  # NeedConfirm: a pending request, as the SDK makes
        result_item("carol", 30516),
        result_item("dave"),
        result_item("nobody", MISSING),
    ]
    assert answer["Fail_Account"] == ["bob", "carol", "nobody"]
    seen = await settle(alice, bob, carol, dave)
    assert seen == {
        "alice": ["onFriendApplicationListAdded", "onFriendListAdded"],
        "bob": ["onFriendApplicationListAdded"],
        "carol": [],
        "dave": ["onFriendListAdded"],
    }
    assert alice.requests["bob"]["type"] == "V2TIM_FRIEND_APPLICATION_SEND_OUT"
    assert bob.requests["alice"]["type"] == "V2TIM_FRIEND_APPLICATION_COME_IN"
    # ForceAddFlags makes the friendship at once, and the pending request is gone on both sides
    await befriend(rest, "alice", "bob", "carol")
    seen = await settle(alice, bob, carol)
    assert seen["bob"] == ["onFriendListAdded", "onFriendApplicationListDeleted"]
    assert seen["carol"] == ["onFriendListAdded"]
    assert set(alice.friends) == {"bob", "carol", "dave"}
    assert alice.requests == {}


async def test_friend_add_blacklists_refuse_unless_forced(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    await bob.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await carol.q(SET_ALLOW, {"a": "V2TIM_FRIEND_ALLOW_ANY"})
    await rest.ok("sns/black_list_add", {"From_Account": "bob", "To_Account": ["alice"]})
    await rest.ok("sns/black_list_add", {"From_Account": "alice", "To_Account": ["carol"]})
    await settle(alice, bob, carol)
    answer = await rest.ok("sns/friend_add", add_body("alice", "bob", "carol"))
    assert results(answer) == [result_item("bob", 30525), result_item("carol", 30515)]
    assert await settle(alice, bob, carol) == {"alice": [], "bob": [], "carol": []}
    await befriend(rest, "alice", "bob", "carol")
    seen = await settle(alice, bob, carol)
    assert seen == {
        "alice": ["onFriendListAdded", "onFriendListAdded"],
        "bob": ["onFriendListAdded"],
        "carol": ["onFriendListAdded"],
    }


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda b: b.pop("From_Account"), INVALID),
        (lambda b: b.update(From_Account="nobody"), MISSING),
        (lambda b: b.pop("AddFriendItem"), INVALID),
        (lambda b: b.update(AddFriendItem={"To_Account": "bob"}), INVALID),
        (lambda b: b.update(AddFriendItem=[]), INVALID),
        (lambda b: b["AddFriendItem"][1].pop("AddSource"), INVALID),
        (lambda b: b["AddFriendItem"][1].update(AddSource="Android"), INVALID),
        (lambda b: b["AddFriendItem"][1].update(AddSource="AddSource_Type_TooLongKey"), INVALID),
        (lambda b: b["AddFriendItem"][1].update(Remark="r" * 97), INVALID),
        (lambda b: b["AddFriendItem"][1].update(GroupName="g" * 31), INVALID),
        (lambda b: b["AddFriendItem"][1].update(AddWording="w" * 257), INVALID),
        (lambda b: b["AddFriendItem"][1].update(To_Account=7), INVALID),
        (lambda b: b.update(AddType="Both"), INVALID),
        (lambda b: b.update(ForceAddFlags=2), INVALID),
        (lambda b: b.update(AddFriendItem=b["AddFriendItem"] * 51), INVALID),  # 102 items: over 100
    ],
)
async def test_friend_add_bad_input_changes_nothing(
    rest: RestClient, trio: tuple[User, User, User], change: Any, code: int
) -> None:
    alice, bob, carol = trio
    body = add_body("alice", "bob", "carol", force=1)  # the first item is fine: nothing of it may happen either
    change(body)
    await rest.fails("sns/friend_add", body, code)
    assert await settle(alice, bob, carol) == {"alice": [], "bob": [], "carol": []}
    assert alice.friends == {}


# ---- friend_import ---------------------------------------------------------------------------------------
async def test_friend_import_is_one_way_with_the_given_data(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    await bob.q(SET_ALLOW, {"a": "V2TIM_FRIEND_DENY_ANY"})
    await rest.ok("sns/black_list_add", {"From_Account": "bob", "To_Account": ["alice"]})
    await settle(alice, bob)
    body = {
        "From_Account": "alice",
        "AddFriendItem": [
            {
                "To_Account": "bob",
                "Remark": "remark1",
                "RemarkTime": 1420000001,
                "GroupName": ["Friends", "Colleagues"],
                "AddSource": SOURCE,
                "AddWording": "I'm Test1",
                "AddTime": 1420000001,
                "CustomItem": [
                    {"Tag": "Tag_SNS_Custom_Test", "Value": "Test"},
                    {"Tag": "Tag_SNS_Custom_N", "Value": 0},
                ],
            },
            {"To_Account": "nobody", "AddSource": SOURCE},
        ],
    }
    answer = await rest.ok("sns/friend_import", body)
    keys_and_types(answer, {"ResultItem": list, "Fail_Account": list})
    assert results(answer) == [result_item("bob"), result_item("nobody", MISSING)]
    assert answer["Fail_Account"] == ["nobody"]
    seen = await settle(alice, bob, carol)
    assert seen == {"alice": ["onFriendListAdded"], "bob": [], "carol": []}
    info = alice.friends["bob"]
    assert info["friendRemark"] == "remark1"
    assert info["friendGroup"] == ["Friends", "Colleagues"]
    assert {kv["key"]: kv["value"] for kv in info["friendCustomInfo"]} == {"Test": "Test", "N": "0"}
    got = await rest.ok("sns/friend_get", {"From_Account": "alice", "StartIndex": 0})
    values = {item["Tag"]: item["Value"] for item in got["UserDataItem"][0]["ValueItem"]}
    assert values["Tag_SNS_IM_AddTime"] == 1420000001
    assert values["Tag_SNS_IM_AddSource"] == SOURCE
    groups = await rest.ok("sns/group_get", {"From_Account": "alice", "LastSequence": 0})
    assert {g["GroupName"] for g in groups["ResultItem"]} == {"Friends", "Colleagues"}
    # importing again changes nothing
    await rest.ok(
        "sns/friend_import", {"From_Account": "alice", "AddFriendItem": [{"To_Account": "bob", "AddSource": SOURCE}]}
    )
    assert await settle(alice, bob) == {"alice": [], "bob": []}


async def test_friend_import_bad_input_changes_nothing(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    good = {"To_Account": "bob", "AddSource": SOURCE}
    for bad in (
        {"To_Account": "carol", "AddSource": SOURCE, "AddTime": "yesterday"},
        {"To_Account": "carol", "AddSource": SOURCE, "GroupName": "Friends"},
        {"To_Account": "carol", "AddSource": SOURCE, "CustomItem": [{"Tag": "Tag_Profile_Custom_X", "Value": "v"}]},
        {
            "To_Account": "carol",
            "AddSource": SOURCE,
            "CustomItem": [{"Tag": "Tag_SNS_Custom_TooLongKey", "Value": "v"}],
        },
        {"To_Account": "carol", "AddSource": SOURCE, "CustomItem": [{"Tag": "Tag_SNS_Custom_K", "Value": "v" * 501}]},
    ):
        await rest.fails("sns/friend_import", {"From_Account": "alice", "AddFriendItem": [good, bad]}, INVALID)
    await rest.fails("sns/friend_import", {"From_Account": "alice", "AddFriendItem": [good] * 101}, INVALID)
    assert await settle(alice, bob, carol) == {"alice": [], "bob": [], "carol": []}
    assert alice.friends == {}


# ---- friend_update -----------------------------------------------------------------------------------------
async def test_friend_update_changes_remark_groups_and_custom(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    await befriend(rest, "alice", "bob")
    await settle(alice, bob)
    body = {
        "From_Account": "alice",
        "UpdateItem": [
            {
                "To_Account": "bob",
                "SnsItem": [
                    {"Tag": "Tag_SNS_IM_Remark", "Value": "remark1"},
                    {"Tag": "Tag_SNS_IM_Group", "Value": ["group1", "group2"]},
                    {"Tag": "Tag_SNS_Custom_Test", "Value": "test"},
                ],
            },
            {"To_Account": "carol", "SnsItem": [{"Tag": "Tag_SNS_IM_Remark", "Value": "x"}]},
        ],
    }
    answer = await rest.ok("sns/friend_update", body)
    keys_and_types(answer, {"ResultItem": list, "Fail_Account": list})
    assert results(answer) == [result_item("bob"), result_item("carol", 31704)]
    seen = await settle(alice, bob, carol)
    assert seen == {"alice": ["onFriendInfoChanged"], "bob": [], "carol": []}
    assert alice.friends["bob"]["friendRemark"] == "remark1"
    assert alice.friends["bob"]["friendGroup"] == ["group1", "group2"]
    assert alice.friends["bob"]["friendCustomInfo"] == [{"key": "Test", "value": "test"}]
    # the group list is replaced as a whole
    regroup = {"To_Account": "bob", "SnsItem": [{"Tag": "Tag_SNS_IM_Group", "Value": ["group2"]}]}
    await rest.ok("sns/friend_update", {"From_Account": "alice", "UpdateItem": [regroup]})
    await settle(alice, bob)
    assert alice.friends["bob"]["friendGroup"] == ["group2"]


async def test_friend_update_bad_input_changes_nothing(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, _ = trio
    await befriend(rest, "alice", "bob")
    await settle(alice, bob)
    remark = {"Tag": "Tag_SNS_IM_Remark", "Value": "changed"}
    for bad in (
        {"Tag": "Tag_SNS_IM_AddSource", "Value": SOURCE},  # not updatable
        {"Tag": "Tag_SNS_IM_Group", "Value": "group1"},  # not an array
        {"Tag": "Tag_SNS_IM_Remark", "Value": "r" * 97},
        {"Tag": "Tag_SNS_Custom_", "Value": "v"},
        {"Value": "v"},
    ):
        item = {"To_Account": "bob", "SnsItem": [remark, bad]}
        await rest.fails("sns/friend_update", {"From_Account": "alice", "UpdateItem": [item]}, INVALID)
    await rest.fails("sns/friend_update", {"From_Account": "alice", "UpdateItem": [{"To_Account": "bob"}]}, INVALID)
    assert await settle(alice, bob) == {"alice": [], "bob": []}
    assert alice.friends["bob"]["friendRemark"] == ""


# ---- friend_delete, friend_delete_all ----------------------------------------------------------------------------
async def test_friend_delete_single_and_both(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    await befriend(rest, "alice", "bob", "carol")
    await settle(alice, bob, carol)
    body = {"From_Account": "alice", "To_Account": ["bob", "nobody"], "DeleteType": "Delete_Type_Single"}
    answer = await rest.ok("sns/friend_delete", body)
    keys_and_types(answer, {"ResultItem": list, "Fail_Account": list})
    assert results(answer) == [result_item("bob"), result_item("nobody", 31704)]
    assert await settle(alice, bob, carol) == {"alice": ["onFriendListDeleted"], "bob": [], "carol": []}
    assert set(bob.friends) == {"alice"}
    answer = await rest.ok(
        "sns/friend_delete", {"From_Account": "alice", "To_Account": ["carol"], "DeleteType": "Delete_Type_Both"}
    )
    assert "Fail_Account" not in answer
    assert await settle(alice, bob, carol) == {
        "alice": ["onFriendListDeleted"],
        "bob": [],
        "carol": ["onFriendListDeleted"],
    }
    assert alice.friends == {}
    assert carol.friends == {}


async def test_friend_delete_bad_input_changes_nothing(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    await befriend(rest, "alice", "bob")
    await settle(alice, bob)
    await rest.fails("sns/friend_delete", {"From_Account": "alice", "To_Account": ["bob"] * 1001}, INVALID)
    await rest.fails("sns/friend_delete", {"From_Account": "alice", "To_Account": "bob"}, INVALID)
    await rest.fails(
        "sns/friend_delete", {"From_Account": "alice", "To_Account": ["bob"], "DeleteType": "Both"}, INVALID
    )
    await rest.fails("sns/friend_delete", {"From_Account": "nobody", "To_Account": ["bob"]}, MISSING)
    await rest.fails("sns/friend_delete_all", {"From_Account": "alice", "DeleteType": 1}, INVALID)
    await rest.fails("sns/friend_delete_all", {}, INVALID)
    assert await settle(alice, bob, carol) == {"alice": [], "bob": [], "carol": []}
    assert set(alice.friends) == {"bob"}


async def test_friend_delete_all(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    await befriend(rest, "alice", "bob", "carol")
    await settle(alice, bob, carol)
    answer = await rest.ok("sns/friend_delete_all", {"From_Account": "alice"})
    keys_and_types(answer, {})
    assert await settle(alice, bob, carol) == {"alice": ["onFriendListDeleted"], "bob": [], "carol": []}
    await befriend(rest, "alice", "bob", "carol", add_type="Add_Type_Single")
    await settle(alice, bob, carol)
    await rest.ok("sns/friend_delete_all", {"From_Account": "bob", "DeleteType": "Delete_Type_Both"})
    seen = await settle(alice, bob, carol)
    assert seen == {"alice": ["onFriendListDeleted"], "bob": ["onFriendListDeleted"], "carol": []}
    assert set(alice.friends) == {"carol"}
    assert bob.friends == {}


# ---- friend_check -----------------------------------------------------------------------------------------
async def test_friend_check_golden(
    rest: RestClient, trio: tuple[User, User, User], client: HTTPClient, server: InProcessGateway
) -> None:
    await make_user(client, server, "dave")
    await befriend(rest, "alice", "bob")  # both ways
    await befriend(rest, "alice", "carol", add_type="Add_Type_Single")  # carol in alice's list
    await befriend(rest, "dave", "alice", add_type="Add_Type_Single")  # alice in dave's list
    body = {
        "From_Account": "alice",
        "To_Account": ["bob", "carol", "dave", "erin"],
        "CheckType": "CheckResult_Type_Both",
    }
    answer = await rest.ok("sns/friend_check", body)
    keys_and_types(answer, {"InfoItem": list})
    assert [(i["To_Account"], i["Relation"], i["ResultCode"]) for i in answer["InfoItem"]] == [
        ("bob", "CheckResult_Type_BothWay", 0),
        ("carol", "CheckResult_Type_AWithB", 0),
        ("dave", "CheckResult_Type_BWithA", 0),
        ("erin", "CheckResult_Type_NoRelation", 0),
    ]
    assert all(i["ResultInfo"] == "" for i in answer["InfoItem"])
    body["CheckType"] = "CheckResult_Type_Single"
    single = await rest.ok("sns/friend_check", body)
    assert [i["Relation"] for i in single["InfoItem"]] == [
        "CheckResult_Type_AWithB",
        "CheckResult_Type_AWithB",
        "CheckResult_Type_NoRelation",
        "CheckResult_Type_NoRelation",
    ]
    await rest.fails("sns/friend_check", {"From_Account": "alice", "To_Account": ["bob"]}, INVALID)
    await rest.fails("sns/friend_check", {**body, "CheckType": "CheckFriendType_Both"}, INVALID)
    await rest.fails("sns/friend_check", {**body, "To_Account": ["bob"] * 1001}, INVALID)


# ---- friend_get, friend_get_list -------------------------------------------------------------------------------
async def test_friend_get_golden_pages_and_sequences(
    rest: RestClient, trio: tuple[User, User, User], clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, carol = trio
    monkeypatch.setattr(sns, "FRIEND_GET_PAGE", 1)
    add = add_body("alice", "bob", force=1)
    add["AddFriendItem"][0].update(Remark="Remark1", GroupName="Group1")
    await rest.ok("sns/friend_add", add)
    await clock.advance(5)
    await befriend(rest, "alice", "carol")
    update = {"To_Account": "bob", "SnsItem": [{"Tag": "Tag_SNS_Custom_Test", "Value": "CustomData1"}]}
    await rest.ok("sns/friend_update", {"From_Account": "alice", "UpdateItem": [update]})
    first = await rest.ok(
        "sns/friend_get", {"From_Account": "alice", "StartIndex": 0, "StandardSequence": 0, "CustomSequence": 0}
    )
    keys_and_types(
        first,
        {
            "UserDataItem": list,
            "StandardSequence": int,
            "CustomSequence": int,
            "FriendNum": int,
            "CompleteFlag": int,
            "NextStartIndex": int,
        },
    )
    assert (first["FriendNum"], first["CompleteFlag"], first["NextStartIndex"]) == (2, 0, 1)
    assert first["UserDataItem"] == [
        {
            "To_Account": "bob",
            "ValueItem": [
                {"Tag": "Tag_SNS_IM_AddSource", "Value": SOURCE},
                {"Tag": "Tag_SNS_IM_Remark", "Value": "Remark1"},
                {"Tag": "Tag_SNS_IM_Group", "Value": ["Group1"]},
                {"Tag": "Tag_SNS_IM_AddTime", "Value": int(clock.now()) - 5},
                {"Tag": "Tag_SNS_Custom_Test", "Value": "CustomData1"},
            ],
        }
    ]
    second = await rest.ok("sns/friend_get", {"From_Account": "alice", "StartIndex": 1})
    assert [u["To_Account"] for u in second["UserDataItem"]] == ["carol"]
    assert (second["CompleteFlag"], second["NextStartIndex"]) == (1, 0)
    # a part the caller already holds is left out; a change gives that part a new sequence
    held = {"StandardSequence": first["StandardSequence"], "CustomSequence": first["CustomSequence"]}
    same = await rest.ok("sns/friend_get", {"From_Account": "alice", "StartIndex": 0, **held})
    assert same["UserDataItem"] == [{"To_Account": "bob", "ValueItem": []}]
    assert {k: same[k] for k in held} == held
    remark = {"To_Account": "bob", "SnsItem": [{"Tag": "Tag_SNS_IM_Remark", "Value": "new"}]}
    await rest.ok("sns/friend_update", {"From_Account": "alice", "UpdateItem": [remark]})
    changed = await rest.ok("sns/friend_get", {"From_Account": "alice", "StartIndex": 0, **held})
    assert changed["StandardSequence"] != held["StandardSequence"]
    assert changed["CustomSequence"] == held["CustomSequence"]
    assert {"Tag": "Tag_SNS_IM_Remark", "Value": "new"} in changed["UserDataItem"][0]["ValueItem"]
    assert not any(v["Tag"].startswith("Tag_SNS_Custom_") for v in changed["UserDataItem"][0]["ValueItem"])
    await rest.fails("sns/friend_get", {"From_Account": "alice"}, INVALID)
    await rest.fails("sns/friend_get", {"From_Account": "alice", "StartIndex": -1}, INVALID)
    await rest.fails("sns/friend_get", {"From_Account": "nobody", "StartIndex": 0}, MISSING)
    await settle(alice, bob, carol)


async def test_friend_get_list(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    await bob.q('mutation { setSelfInfo(nickName: "nick_2", customInfo: [{key: "Test", value: "cp"}]) { userID } }')
    add = add_body("alice", "bob", force=1)
    add["AddFriendItem"][0].update(Remark="remark_2", GroupName="group1")
    await rest.ok("sns/friend_add", add)
    tags = [
        "Tag_Profile_Custom_Test",
        "Tag_Profile_IM_Image",
        "Tag_Profile_IM_Nick",
        "Tag_Profile_IM_AllowType",
        "Tag_Profile_IM_Location",
        "Tag_SNS_Custom_Test",
        "Tag_SNS_IM_Remark",
        "Tag_SNS_IM_Group",
    ]
    answer = await rest.ok(
        "sns/friend_get_list", {"From_Account": "alice", "To_Account": ["bob", "carol"], "TagList": tags}
    )
    keys_and_types(answer, {"InfoItem": list, "Fail_Account": list})
    bob_item, carol_item = answer["InfoItem"]
    assert bob_item["ResultCode"] == 0
    assert bob_item["ResultInfo"] == ""
    assert bob_item["SnsProfileItem"] == [
        {"Tag": "Tag_Profile_Custom_Test", "Value": "cp"},
        {"Tag": "Tag_Profile_IM_Image", "Value": ""},
        {"Tag": "Tag_Profile_IM_Nick", "Value": "nick_2"},
        {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_NeedConfirm"},
        {"Tag": "Tag_SNS_IM_Remark", "Value": "remark_2"},
        {"Tag": "Tag_SNS_IM_Group", "Value": ["group1"]},
    ]
    assert carol_item["To_Account"] == "carol"
    assert carol_item["ResultCode"] == INVALID
    assert answer["Fail_Account"] == ["carol"]
    base = {"From_Account": "alice", "To_Account": ["bob"], "TagList": tags}
    await rest.fails("sns/friend_get_list", {**base, "To_Account": ["bob"] * 101}, INVALID)
    await rest.fails("sns/friend_get_list", {**base, "TagList": ["Tag_SNS_IM_Nope"]}, INVALID)
    await rest.fails("sns/friend_get_list", {"From_Account": "alice", "To_Account": ["bob"]}, INVALID)
    await settle(alice, bob, carol)


# ---- blacklist -------------------------------------------------------------------------------------------------
async def test_black_list_add_get_check_delete(
    rest: RestClient, trio: tuple[User, User, User], clock: ManualClock
) -> None:
    alice, bob, carol = trio
    await befriend(rest, "alice", "bob")
    await settle(alice, bob)
    answer = await rest.ok("sns/black_list_add", {"From_Account": "alice", "To_Account": ["bob", "nobody", "alice"]})
    keys_and_types(answer, {"ResultItem": list, "Fail_Account": list})
    assert results(answer) == [result_item("bob"), result_item("nobody", MISSING), result_item("alice", INVALID)]
    seen = await settle(alice, bob, carol)
    # blocking ends the friendship both ways, as addToBlackList does
    assert seen == {"alice": ["onFriendListDeleted", "onBlackListAdd"], "bob": ["onFriendListDeleted"], "carol": []}
    assert alice.blocked == {"bob"}
    assert alice.friends == {}
    assert bob.friends == {}
    await clock.advance(3)
    again = await rest.ok("sns/black_list_add", {"From_Account": "alice", "To_Account": ["bob", "carol"]})
    assert results(again) == [result_item("bob", INVALID), result_item("carol")]
    assert await settle(alice, bob, carol) == {"alice": ["onBlackListAdd"], "bob": [], "carol": []}
    await rest.ok("sns/black_list_add", {"From_Account": "carol", "To_Account": ["alice"]})
    await settle(carol)

    page = await rest.ok(
        "sns/black_list_get", {"From_Account": "alice", "StartIndex": 0, "MaxLimited": 1, "LastSequence": 0}
    )
    keys_and_types(page, {"BlackListItem": list, "StartIndex": int, "CurruentSequence": int})
    assert page["BlackListItem"] == [{"To_Account": "bob", "AddBlackTimeStamp": int(clock.now()) - 3}]
    assert page["StartIndex"] == 1
    rest_of = await rest.ok(
        "sns/black_list_get", {"From_Account": "alice", "StartIndex": 1, "MaxLimited": 30, "LastSequence": 0}
    )
    assert [b["To_Account"] for b in rest_of["BlackListItem"]] == ["carol"]
    assert rest_of["StartIndex"] == 0
    assert rest_of["CurruentSequence"] == page["CurruentSequence"]

    check = {"From_Account": "alice", "To_Account": ["bob", "carol", "dave"], "CheckType": "BlackCheckResult_Type_Both"}
    answer = await rest.ok("sns/black_list_check", check)
    keys_and_types(answer, {"BlackListCheckItem": list})
    assert [
        (i["To_Account"], i["Relation"], i["ResultCode"], i["ResultInfo"]) for i in answer["BlackListCheckItem"]
    ] == [
        ("bob", "BlackCheckResult_Type_AWithB", 0, ""),
        ("carol", "BlackCheckResult_Type_BothWay", 0, ""),
        ("dave", "BlackCheckResult_Type_NO", 0, ""),
    ]
    reverse = {"From_Account": "carol", "To_Account": ["alice", "bob"], "CheckType": "BlackCheckResult_Type_Both"}
    relations = [i["Relation"] for i in (await rest.ok("sns/black_list_check", reverse))["BlackListCheckItem"]]
    assert relations == ["BlackCheckResult_Type_BothWay", "BlackCheckResult_Type_NO"]
    single = {"From_Account": "bob", "To_Account": ["alice"], "CheckType": "BlackCheckResult_Type_Single"}
    assert (await rest.ok("sns/black_list_check", single))["BlackListCheckItem"][0][
        "Relation"
    ] == "BlackCheckResult_Type_NO"

    removed = await rest.ok("sns/black_list_delete", {"From_Account": "alice", "To_Account": ["bob", "dave"]})
    keys_and_types(removed, {"ResultItem": list, "Fail_Account": list})
    assert results(removed) == [result_item("bob"), result_item("dave", INVALID)]
    assert await settle(alice, bob, carol) == {"alice": ["onBlackListDeleted"], "bob": [], "carol": []}
    assert alice.blocked == {"carol"}
    after = await rest.ok(
        "sns/black_list_get", {"From_Account": "alice", "StartIndex": 0, "MaxLimited": 30, "LastSequence": 0}
    )
    assert after["CurruentSequence"] != page["CurruentSequence"]


async def test_black_list_golden_get_request(rest: RestClient, trio: tuple[User, User, User]) -> None:
    answer = await rest.ok(
        "sns/black_list_get", {"From_Account": "alice", "StartIndex": 0, "MaxLimited": 30, "LastSequence": 12}
    )
    keys_and_types(answer, {"BlackListItem": list, "StartIndex": int, "CurruentSequence": int})
    assert answer["BlackListItem"] == []
    assert answer["StartIndex"] == 0


async def test_black_list_bad_input_changes_nothing(
    rest: RestClient, trio: tuple[User, User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, carol = trio
    await befriend(rest, "alice", "bob")
    await settle(alice, bob)
    await rest.fails("sns/black_list_add", {"From_Account": "alice", "To_Account": ["bob"] * 1001}, INVALID)
    await rest.fails("sns/black_list_add", {"From_Account": "alice", "To_Account": []}, INVALID)
    await rest.fails("sns/black_list_add", {"From_Account": "alice"}, INVALID)
    await rest.fails("sns/black_list_add", {"From_Account": "nobody", "To_Account": ["bob"]}, MISSING)
    monkeypatch.setattr(friendship_rules, "BLACKLIST_MAX", 1)
    await rest.fails("sns/black_list_add", {"From_Account": "alice", "To_Account": ["bob", "carol"]}, 30013)
    await rest.fails("sns/black_list_delete", {"From_Account": "alice", "To_Account": [""]}, INVALID)
    await rest.fails("sns/black_list_get", {"From_Account": "alice", "StartIndex": 0}, INVALID)
    await rest.fails("sns/black_list_get", {"From_Account": "alice", "StartIndex": 0, "MaxLimited": 0}, INVALID)
    check = {"From_Account": "alice", "To_Account": ["bob"], "CheckType": "CheckResult_Type_Both"}
    await rest.fails("sns/black_list_check", check, INVALID)
    assert await settle(alice, bob, carol) == {"alice": [], "bob": [], "carol": []}
    assert set(alice.friends) == {"bob"}
    assert alice.blocked == set()


# ---- friend groups -------------------------------------------------------------------------------------------
async def test_friend_groups_add_get_delete(rest: RestClient, trio: tuple[User, User, User]) -> None:
    alice, bob, carol = trio
    await befriend(rest, "alice", "bob")
    await settle(alice, bob)
    basic = await rest.ok("sns/group_add", {"From_Account": "alice", "GroupName": ["group1"]})
    keys_and_types(basic, {"CurrentSequence": int})
    assert await settle(alice, bob) == {"alice": [], "bob": []}  # an empty group moves no friend
    body = {"From_Account": "alice", "GroupName": ["group2", "group3"], "To_Account": ["bob", "carol"]}
    answer = await rest.ok("sns/group_add", body)
    keys_and_types(answer, {"ResultItem": list, "Fail_Account": list, "CurrentSequence": int})
    assert results(answer) == [result_item("bob"), result_item("carol", 32216)]
    assert answer["Fail_Account"] == ["carol"]
    assert answer["CurrentSequence"] != basic["CurrentSequence"]
    seen = await settle(alice, bob, carol)
    assert seen == {"alice": ["onFriendInfoChanged", "onFriendInfoChanged"], "bob": [], "carol": []}
    assert alice.friends["bob"]["friendGroup"] == ["group2", "group3"]

    listing = await rest.ok("sns/group_get", {"From_Account": "alice", "LastSequence": 0})
    keys_and_types(listing, {"ResultItem": list, "CurrentSequence": int})
    assert listing["ResultItem"] == [
        {"GroupName": "group1", "FriendNumber": 0},
        {"GroupName": "group2", "FriendNumber": 1},
        {"GroupName": "group3", "FriendNumber": 1},
    ]
    assert listing["CurrentSequence"] == answer["CurrentSequence"]
    full = {"From_Account": "alice", "NeedFriend": "Need_Friend_Type_Yes", "LastSequence": 1, "GroupName": ["group2"]}
    named = await rest.ok("sns/group_get", full)
    assert named["ResultItem"] == [{"GroupName": "group2", "FriendNumber": 1, "To_Account": ["bob"]}]

    deleted = await rest.ok("sns/group_delete", {"From_Account": "alice", "GroupName": ["group2", "group1"]})
    keys_and_types(deleted, {"CurrentSequence": int})
    assert await settle(alice, bob) == {"alice": ["onFriendInfoChanged"], "bob": []}
    assert alice.friends["bob"]["friendGroup"] == ["group3"]
    remaining = await rest.ok("sns/group_get", {"From_Account": "alice", "NeedFriend": "Need_Friend_Type_Yes"})
    assert remaining["ResultItem"] == [{"GroupName": "group3", "FriendNumber": 1, "To_Account": ["bob"]}]
    assert remaining["CurrentSequence"] == deleted["CurrentSequence"]


async def test_friend_groups_bad_input_changes_nothing(
    rest: RestClient, trio: tuple[User, User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, _ = trio
    await befriend(rest, "alice", "bob")
    await rest.ok("sns/group_add", {"From_Account": "alice", "GroupName": ["old"], "To_Account": ["bob"]})
    await settle(alice, bob)
    before = await rest.ok("sns/group_get", {"From_Account": "alice", "NeedFriend": "Need_Friend_Type_Yes"})
    for body in (
        {"From_Account": "alice", "GroupName": ["new", "old"], "To_Account": ["bob"]},  # taken
        {"From_Account": "alice", "GroupName": ["new", "new"]},
        {"From_Account": "alice", "GroupName": ["g" * 31]},
        {"From_Account": "alice", "GroupName": []},
        {"From_Account": "alice", "GroupName": "new"},
        {"From_Account": "alice", "GroupName": ["new"], "To_Account": "bob"},
    ):
        await rest.fails("sns/group_add", body, INVALID)
    monkeypatch.setattr(friendship_rules, "FRIEND_GROUPS_MAX", 2)
    await rest.fails("sns/group_add", {"From_Account": "alice", "GroupName": ["a", "b"]}, 30011)
    await rest.fails("sns/group_delete", {"From_Account": "alice", "GroupName": ["old", "missing"]}, INVALID)
    await rest.fails("sns/group_delete", {"From_Account": "alice"}, INVALID)
    await rest.fails("sns/group_get", {"From_Account": "alice", "NeedFriend": "yes"}, INVALID)
    await rest.fails("sns/group_get", {"From_Account": "nobody"}, MISSING)
    assert await settle(alice, bob) == {"alice": [], "bob": []}
    assert await rest.ok("sns/group_get", {"From_Account": "alice", "NeedFriend": "Need_Friend_Type_Yes"}) == before
