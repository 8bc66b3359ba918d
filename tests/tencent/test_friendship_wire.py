"""The relation chain on the wire (gateway.tencent.friendship): the sns requests the backend sends
have FIXTURES.md's shapes (B18-B21 and the sns bodies of MAPPING.md section 3.6), and each
documented answer, per-item failures included, becomes the V2TIM result it stands for.
Run against `httpx.MockTransport` (tests.tencent.test_client's scripted Tencent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.errors import IMError
from gateway.im.enums import FriendAddType, FriendRelationType
from gateway.im.model import FriendChanges, FriendCheckResult, FriendOperationResult
from gateway.tencent.friendship import TencentFriendship
from gateway.upstream import FriendAddition, UpstreamFriend
from gateway.v4.sns import add_source_for_rest
from tests.tencent.test_client import OK, Tencent, fail, make

BOTH = FriendAddType.V2TIM_FRIEND_TYPE_BOTH
SINGLE = FriendAddType.V2TIM_FRIEND_TYPE_SINGLE
SNS_OK = {**OK, "ErrorDisplay": ""}
# FIXTURES.md B18's answer: one made, two refused
B18_ANSWER = {
    "ResultItem": [
        {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
        {"To_Account": "id2", "ResultCode": 30006, "ResultInfo": "Err_SNS_FriendAdd_Unpack_Profile_Data_Fail"},
        {"To_Account": "id3", "ResultCode": 30002, "ResultInfo": "Err_SNS_FriendAdd_SdkAppId_Illegal"},
    ],
    "Fail_Account": ["id2", "id3"],
    **SNS_OK,
}
# FIXTURES.md B19, as one page of two
B19_PAGE = {
    "UserDataItem": [
        {
            "To_Account": "id1",
            "ValueItem": [
                {"Tag": "Tag_SNS_IM_AddSource", "Value": "AddSource_Type_Android"},
                {"Tag": "Tag_SNS_IM_Remark", "Value": "Remark1"},
                {"Tag": "Tag_SNS_IM_Group", "Value": ["Group1", "Group2"]},
                {"Tag": "Tag_SNS_IM_AddTime", "Value": 1563867420},
                {"Tag": "Tag_SNS_Custom_Test", "Value": "CustomData1"},
            ],
        }
    ],
    "StandardSequence": 88,
    "CustomSequence": 46,
    "FriendNum": 2,
    "CompleteFlag": 0,
    "NextStartIndex": 1,
    **SNS_OK,
}
LAST_PAGE = {
    "UserDataItem": [{"To_Account": "id2", "ValueItem": [{"Tag": "Tag_SNS_IM_AddTime", "Value": 1563867421}]}],
    "FriendNum": 2,
    "CompleteFlag": 1,
    "NextStartIndex": 0,
    **SNS_OK,
}
# FIXTURES.md B20
B20_ANSWER = {
    "InfoItem": [
        {"To_Account": "id1", "Relation": "CheckResult_Type_BothWay", "ResultCode": 0, "ResultInfo": ""},
        {"To_Account": "id2", "Relation": "CheckResult_Type_AWithB", "ResultCode": 0, "ResultInfo": ""},
        {"To_Account": "id3", "Relation": "CheckResult_Type_BWithA", "ResultCode": 0, "ResultInfo": ""},
        {"To_Account": "id4", "Relation": "CheckResult_Type_NoRelation", "ResultCode": 0, "ResultInfo": ""},
        {
            "To_Account": "id5",
            "Relation": "CheckResult_Type_NoRelation",
            "ResultCode": 30006,
            "ResultInfo": "Err_SNS_FriendCheck_Check_Relation_Exec_Task_Fail",
        },
    ],
    "Fail_Account": ["id5"],
    **SNS_OK,
}
# FIXTURES.md B21 (note CurruentSequence)
B21_ANSWER = {
    "BlackListItem": [
        {"To_Account": "id1", "AddBlackTimeStamp": 1430000001},
        {"To_Account": "id2", "AddBlackTimeStamp": 1430000002},
    ],
    "StartIndex": 0,
    "CurruentSequence": 13,
    **SNS_OK,
}
GROUP_GET_ANSWER = {
    "ResultItem": [{"GroupName": "Group1", "FriendNumber": 1}, {"GroupName": "empty", "FriendNumber": 0}],
    "CurrentSequence": 2,
    **SNS_OK,
}


def endpoint(tencent: Tencent, n: int) -> str:
    return tencent.seen[n].url.path.removeprefix("/v4/")


@pytest.fixture
def scripted() -> Tencent:
    return Tencent(SNS_OK)


@pytest.fixture
async def sns(scripted: Tencent) -> AsyncIterator[TencentFriendship]:
    client = make(scripted)
    yield TencentFriendship(client)
    await client.aclose()


def answering(tencent: Tencent, *replies: Any) -> None:
    tencent.replies = list(replies)


async def test_an_add_is_fixture_b18s_request_and_a_pending_answer_is_30539(
    sns: TencentFriendship, scripted: Tencent
) -> None:
    answering(scripted, {"ResultItem": [{"To_Account": "id1", "ResultCode": 30539, "ResultInfo": ""}], **SNS_OK})
    addition = FriendAddition(
        "id1", remark="remark1", add_wording="I'm Test1", add_source="web", friend_group="Classmates"
    )
    result = await sns.add_friend("id", addition, BOTH, force=False)
    assert result.resultCode == 30539
    assert endpoint(scripted, -1) == "sns/friend_add"
    assert scripted.body() == {
        "From_Account": "id",
        "AddFriendItem": [
            {
                "To_Account": "id1",
                "AddSource": "AddSource_Type_web",
                "Remark": "remark1",
                "GroupName": "Classmates",
                "AddWording": "I'm Test1",
            }
        ],
        "AddType": "Add_Type_Both",
        "ForceAddFlags": 0,
    }


async def test_b18s_per_item_refusals_become_results_with_tencents_code_kept(
    sns: TencentFriendship, scripted: Tencent
) -> None:
    answering(scripted, B18_ANSWER)
    made = await sns.add_friend("id", FriendAddition("id1"), SINGLE, force=True)
    assert made == FriendOperationResult(userID="id1")
    assert scripted.body()["ForceAddFlags"] == 1
    assert scripted.body()["AddType"] == "Add_Type_Single"
    refused = await sns.add_friend("id", FriendAddition("id2"), SINGLE, force=True)
    assert refused.resultCode == 30006
    assert "tencent 30006 (sns/friend_add): Err_SNS_FriendAdd_Unpack_Profile_Data_Fail" in refused.resultInfo


def test_add_sources_become_tencents_keyword_form() -> None:
    assert add_source_for_rest("AddSource_Type_Android") == "AddSource_Type_Android"
    assert add_source_for_rest("search") == "AddSource_Type_search"
    assert add_source_for_rest("") == "AddSource_Type_Unknown"
    assert add_source_for_rest("qr code") == "AddSource_Type_Unknown"
    assert add_source_for_rest("toolongkeyword") == "AddSource_Type_Unknown"


async def test_a_relation_chain_is_read_page_by_page(sns: TencentFriendship, scripted: Tencent) -> None:
    answering(scripted, B19_PAGE, LAST_PAGE, B21_ANSWER, GROUP_GET_ANSWER)
    chain = await sns.fetch_relations("id")
    assert chain is not None
    assert chain.friends == (
        UpstreamFriend(
            user_id="id1",
            remark="Remark1",
            groups=("Group1", "Group2"),
            custom=(("Test", "CustomData1"),),
            add_time=1563867420,
            add_source="AddSource_Type_Android",
        ),
        UpstreamFriend(user_id="id2", add_time=1563867421),
    )
    assert chain.blacklist == (("id1", 1430000001), ("id2", 1430000002))
    assert chain.groups == ("Group1", "empty")
    assert [endpoint(scripted, n) for n in range(4)] == [
        "sns/friend_get",
        "sns/friend_get",
        "sns/black_list_get",
        "sns/group_get",
    ]
    assert scripted.body(0) == {"From_Account": "id", "StartIndex": 0, "StandardSequence": 0, "CustomSequence": 0}
    assert scripted.body(1)["StartIndex"] == 1
    assert scripted.body(2) == {"From_Account": "id", "StartIndex": 0, "MaxLimited": 1000, "LastSequence": 0}
    assert scripted.body(3) == {"From_Account": "id", "LastSequence": 0, "NeedFriend": "Need_Friend_Type_No"}


async def test_the_chain_of_an_account_tencent_does_not_have_is_none(sns: TencentFriendship, scripted: Tencent) -> None:
    answering(scripted, fail(30003, "Err_SNS_Account_Not_Exist"))
    assert await sns.fetch_relations("nobody") is None
    answering(scripted, fail(60008, "timeout"))
    with pytest.raises(IMError):
        await sns.fetch_relations("someone")


async def test_b20_relations_are_v2tim_relations(sns: TencentFriendship, scripted: Tencent) -> None:
    answering(scripted, B20_ANSWER)
    checked = await sns.check_friends("id", ["id1", "id2", "id3", "id4", "id5"], BOTH)
    assert scripted.body() == {
        "From_Account": "id",
        "To_Account": ["id1", "id2", "id3", "id4", "id5"],
        "CheckType": "CheckResult_Type_Both",
    }
    assert [c.resultType for c in checked] == [
        FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_BOTH_WAY,
        FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_MY_FRIEND_LIST,
        FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_IN_OTHER_FRIEND_LIST,
        FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_NONE,
        FriendRelationType.V2TIM_FRIEND_RELATION_TYPE_NONE,
    ]
    assert [c.resultCode for c in checked] == [0, 0, 0, 0, 30006]
    assert isinstance(checked[0], FriendCheckResult)


async def test_blacklist_writes_answer_per_user_and_someone_blocked_already_is_done(
    sns: TencentFriendship, scripted: Tencent
) -> None:
    answering(
        scripted,
        {
            "ResultItem": [
                {"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
                {"To_Account": "id2", "ResultCode": 30001, "ResultInfo": "Err_SNS_BlackListAdd_Already_Exist"},
                {"To_Account": "id3", "ResultCode": 30003, "ResultInfo": "Err_SNS_Account_Not_Exist"},
            ],
            "Fail_Account": ["id2", "id3"],
            **SNS_OK,
        },
    )
    results = await sns.add_to_black_list("id", ["id1", "id2", "id3"])
    assert scripted.body() == {"From_Account": "id", "To_Account": ["id1", "id2", "id3"]}
    assert [r.resultCode for r in results] == [0, 0, 70107]  # an unknown account reads as 70107 (ERRORS.md)
    answering(
        scripted,
        {
            "BlackListCheckItem": [
                {"To_Account": "id1", "Relation": "BlackCheckResult_Type_AWithB", "ResultCode": 0},
                {"To_Account": "id2", "Relation": "BlackCheckResult_Type_BWithA", "ResultCode": 0},
            ],
            **SNS_OK,
        },
    )
    assert await sns.check_black_list("id", ["id1", "id2"]) == [True, False]
    assert scripted.body()["CheckType"] == "BlackCheckResult_Type_Single"


async def test_remarks_and_custom_fields_are_one_friend_update(sns: TencentFriendship, scripted: Tencent) -> None:
    answering(scripted, {"ResultItem": [{"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""}], **SNS_OK})
    await sns.update_friend("id", "id1", FriendChanges(friendRemark="r", friendCustomInfo={"Test": "v"}))
    assert scripted.body() == {
        "From_Account": "id",
        "UpdateItem": [
            {
                "To_Account": "id1",
                "SnsItem": [{"Tag": "Tag_SNS_IM_Remark", "Value": "r"}, {"Tag": "Tag_SNS_Custom_Test", "Value": "v"}],
            }
        ],
    }
    answering(
        scripted, {"ResultItem": [{"To_Account": "id1", "ResultCode": 31704, "ResultInfo": "not friend"}], **SNS_OK}
    )
    with pytest.raises(IMError) as refused:
        await sns.update_friend("id", "id1", FriendChanges(friendRemark="r"))
    assert refused.value.code == 31704


async def test_a_rename_is_a_new_group_then_the_old_one_deleted_and_undone_if_that_fails(
    sns: TencentFriendship, scripted: Tencent
) -> None:
    await sns.rename_friend_group("id", "old", "new", ["id1", "id2"])
    assert [endpoint(scripted, n) for n in range(2)] == ["sns/group_add", "sns/group_delete"]
    assert scripted.body(0) == {"From_Account": "id", "GroupName": ["new"], "To_Account": ["id1", "id2"]}
    assert scripted.body(1) == {"From_Account": "id", "GroupName": ["old"]}

    answering(scripted, SNS_OK, fail(30001, "no such group"), SNS_OK)
    with pytest.raises(IMError):
        await sns.rename_friend_group("id", "old", "new", [])
    assert scripted.body(-3) == {"From_Account": "id", "GroupName": ["new"]}
    assert [endpoint(scripted, n) for n in (-2, -1)] == ["sns/group_delete", "sns/group_delete"]
    assert scripted.body(-1) == {"From_Account": "id", "GroupName": ["new"]}  # the undo


async def test_moving_friends_between_groups_sends_each_friends_whole_list(
    sns: TencentFriendship, scripted: Tencent
) -> None:
    answering(scripted, {"ResultItem": [{"To_Account": "id1", "ResultCode": 0}, {"To_Account": "id2"}], **SNS_OK})
    results = await sns.update_friend_groups("id", {"id1": ["a", "b"], "id2": []})
    assert [r.resultCode for r in results] == [0, 0]
    assert scripted.body()["UpdateItem"] == [
        {"To_Account": "id1", "SnsItem": [{"Tag": "Tag_SNS_IM_Group", "Value": ["a", "b"]}]},
        {"To_Account": "id2", "SnsItem": [{"Tag": "Tag_SNS_IM_Group", "Value": []}]},
    ]


async def test_deletes_are_batched_by_tencents_cap(sns: TencentFriendship, scripted: Tencent) -> None:
    accounts = [f"u{i}" for i in range(1001)]
    results = await sns.delete_friends("id", accounts, BOTH)
    assert len(results) == 1001
    assert [len(scripted.body(n)["To_Account"]) for n in range(2)] == [1000, 1]
    assert scripted.body(0)["DeleteType"] == "Delete_Type_Both"
