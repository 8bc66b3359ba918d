"""The Tencent backend's group calls on the wire (gateway.tencent.groups), against `httpx.MockTransport`.

Each request is held to its documented body (FIXTURES.md B3, B7, B10, B22-B26), each documented
answer is decoded (per-member Result, per-group ErrorCode, Offset and Next paging, RecallRetList),
and each write records the echo keys that the callbacks it causes (FIXTURES.md C7, C9-C14) carry,
so the inbound worker drops exactly those echoes. OwnMessages lives on the real Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from gateway.errors import IMError
from gateway.im.enums import ElemType, GroupAdd, GroupMemberRole, GroupType
from gateway.im.groups import CreateGroupMember, GroupInfo, GroupInfoChanges
from gateway.im.messages import Content, StoredMessage, TextElem
from gateway.tencent.client import TencentRestClient
from gateway.tencent.groups import TencentGroups
from gateway.tencent.inbound import OwnMessages, decode_callback
from tests.conftest import SECRET
from tests.tencent import fixtures

APP = 1400000000
OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}
GID = "@TGS#2J4SZEAEL"  # the group of the C-section samples
Answer = Callable[[dict[str, Any]], dict[str, Any]]


def _ok(_: dict[str, Any]) -> dict[str, Any]:
    return OK


class Tencent:
    """Answers each endpoint with its scripted function of the request body; keeps the requests."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.removeprefix("/v4/")
        body = orjson.loads(request.content)
        self.seen.append((endpoint, body))
        answer = self.answers.get(endpoint, _ok)(body)
        return httpx.Response(200, content=orjson.dumps(answer))

    def bodies(self, endpoint: str) -> list[dict[str, Any]]:
        return [body for seen, body in self.seen if seen == endpoint]


def groups_on(tencent: Tencent, own: OwnMessages) -> TencentGroups:
    client = TencentRestClient(sdkappid=APP, secret_key=SECRET, transport=httpx.MockTransport(tencent), max_attempts=1)
    return TencentGroups(client, own, lambda ref: ref)


def ok(**fields: Any) -> Answer:
    return lambda _: {**OK, **fields}


async def echo_of(own: OwnMessages, sample: dict[str, Any], **changes: Any) -> bool:
    """Whether the callback `sample` (with `changes`) would be dropped as the gateway's own echo."""
    event = decode_callback(str(sample["CallbackCommand"]), {**sample, **changes}, platform="RESTAPI")
    assert event is not None
    return await own.all_echoes(event.echo_keys())


async def test_create_group_sends_b22_and_its_echoes_are_known(own: OwnMessages) -> None:
    tencent = Tencent({"group_open_http_svc/create_group": ok(GroupId=GID)})
    up = groups_on(tencent, own)
    info = GroupInfo(
        groupID="",
        groupType=GroupType.V2TIM_GROUP_TYPE_PUBLIC,
        groupName="MyFirstGroup",
        introduction="intro",
        addOpt=GroupAdd.V2TIM_GROUP_ADD_ANY,
        isAllMuted=True,
    )
    members = [
        CreateGroupMember(userID="bob", role=GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN),
        CreateGroupMember(userID="peter"),
    ]
    assert await up.create_group("leckie", info, members) == GID
    assert tencent.bodies("group_open_http_svc/create_group") == [
        {
            "Owner_Account": "leckie",
            "Type": "Public",
            "Name": "MyFirstGroup",
            "Introduction": "intro",
            "ApplyJoinOption": "FreeAccess",
            "MemberList": [{"Member_Account": "bob", "Role": "Admin"}, {"Member_Account": "peter"}],
        }
    ]
    # create_group takes no MuteAllMember: a second call (MAPPING.md #9)
    assert tencent.bodies("group_open_http_svc/modify_group_base_info") == [{"GroupId": GID, "MuteAllMember": "On"}]
    assert await echo_of(own, fixtures.C11)
    assert await echo_of(own, fixtures.C9, NewMemberList=[{"Member_Account": "bob"}, {"Member_Account": "peter"}])
    assert not await echo_of(own, fixtures.C9)  # jared and tommy were not added by the gateway


async def test_a_custom_id_is_sent_and_only_then_is_the_create_retried(own: OwnMessages) -> None:
    tencent = Tencent({"group_open_http_svc/create_group": ok(GroupId="MyFirstGroup")})
    info = GroupInfo(groupID="MyFirstGroup", groupType=GroupType.V2TIM_GROUP_TYPE_WORK, groupName="w")
    assert await groups_on(tencent, own).create_group("leckie", info, []) == "MyFirstGroup"
    (body,) = tencent.bodies("group_open_http_svc/create_group")
    assert body == {"Owner_Account": "leckie", "Type": "Private", "GroupId": "MyFirstGroup", "Name": "w"}


async def test_add_group_member_reads_b26_results(own: OwnMessages) -> None:
    results = [
        {"Member_Account": "jared", "Result": 1},
        {"Member_Account": "tommy", "Result": 2},
        {"Member_Account": "ghost", "Result": 0},
        {"Member_Account": "waiting", "Result": 3},
    ]
    tencent = Tencent({"group_open_http_svc/add_group_member": ok(MemberList=results)})
    members = await groups_on(tencent, own).add_members(GID, ["jared", "tommy", "ghost", "waiting"])
    assert members == {"jared", "tommy"}  # added, or a member already
    assert tencent.bodies("group_open_http_svc/add_group_member") == [
        {
            "GroupId": GID,
            "Silence": 0,
            "MemberList": [{"Member_Account": u} for u in ("jared", "tommy", "ghost", "waiting")],
        }
    ]
    assert await echo_of(own, fixtures.C9)
    assert not await echo_of(own, fixtures.C9, NewMemberList=[{"Member_Account": "ghost"}])


async def test_membership_and_profile_writes_send_b26_bodies_and_know_their_echoes(own: OwnMessages) -> None:
    tencent = Tencent({})
    up = groups_on(tencent, own)
    await up.remove_members(GID, ["jared", "tommy"], "kick reason")
    await up.set_member_info(GID, "bob", role=GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN)
    await up.set_member_info(GID, "bob", name_card="Bobby", custom_info={"k": "v"})
    await up.mute_members(GID, ["peter", "leckie"], 60)
    await up.change_owner(GID, "peter")
    await up.set_group_info(GID, GroupInfoChanges(notification="NewNotification", isAllMuted=False))
    await up.set_group_info(GID, GroupInfoChanges())  # nothing Tencent keeps: no call
    await up.destroy_group(GID)
    assert tencent.seen == [
        (
            "group_open_http_svc/delete_group_member",
            {"GroupId": GID, "MemberToDel_Account": ["jared", "tommy"], "Reason": "kick reason"},
        ),
        ("group_open_http_svc/modify_group_member_info", {"GroupId": GID, "Member_Account": "bob", "Role": "Admin"}),
        (
            "group_open_http_svc/modify_group_member_info",
            {
                "GroupId": GID,
                "Member_Account": "bob",
                "NameCard": "Bobby",
                "AppMemberDefinedData": [{"Key": "k", "Value": "v"}],
            },
        ),
        (
            "group_open_http_svc/forbid_send_msg",
            {"GroupId": GID, "Members_Account": ["peter", "leckie"], "MuteTime": 60},
        ),
        ("group_open_http_svc/change_group_owner", {"GroupId": GID, "NewOwner_Account": "peter"}),
        (
            "group_open_http_svc/modify_group_base_info",
            {"GroupId": GID, "Notification": "NewNotification", "MuteAllMember": "Off"},
        ),
        ("group_open_http_svc/destroy_group", {"GroupId": GID}),
    ]
    for sample in (fixtures.C10, fixtures.C12, fixtures.C13):
        assert await echo_of(own, sample), sample["CallbackCommand"]
    assert await echo_of(own, fixtures.C16, GroupId=GID, NewOwner_Account="peter")
    assert await echo_of(own, fixtures.C15, GroupId=GID, Member_Account="bob", Role="Admin", NameCard="Bobby")
    assert not await echo_of(own, fixtures.C13, Notification="someone else's")


async def test_fetch_groups_reads_b23_and_pages_members_by_offset_and_by_next(own: OwnMessages) -> None:
    public = {
        "GroupId": GID,
        "ErrorCode": 0,
        "Type": "Public",
        "Name": "MyFirstGroup",
        "Introduction": "TestGroup",
        "Notification": "n",
        "FaceUrl": "http://this.is.face.url",
        "Owner_Account": "leckie",
        "CreateTime": 1426976500,
        "LastInfoTime": 1426976501,
        "NextMsgSeq": 1234,
        "MemberNum": 3,
        "MaxMemberNum": 50,
        "ApplyJoinOption": "NeedPermission",
        "MuteAllMember": "On",
        "AppDefinedData": [{"Key": "GroupTestData1", "Value": "xxxx"}],
    }
    community = {**public, "GroupId": "@TGS#_c", "Type": "Community", "MemberNum": 2, "NextMsgSeq": 1}
    missing = {"GroupId": "nope", "ErrorCode": 10010, "ErrorInfo": "no group"}
    rows = [
        {"Member_Account": "leckie", "Role": "Owner", "JoinTime": 1, "MuteUntil": 0, "NameCard": ""},
        {"Member_Account": "bob", "Role": "Admin", "JoinTime": 2, "MuteUntil": 1431069882, "NameCard": "B"},
        {
            "Member_Account": "peter",
            "Role": "Member",
            "JoinTime": 3,
            "AppMemberDefinedData": [{"Key": "MemberDefined1", "Value": "v"}],
        },
    ]

    def members(body: dict[str, Any]) -> dict[str, Any]:
        if body["GroupId"] == GID:  # two pages by Offset
            start = body["Offset"]
            return {**OK, "MemberNum": 3, "MemberList": rows[start : start + 2]}
        page = rows[:1] if body["Next"] == "" else rows[1:2]  # Community: by Next
        return {**OK, "MemberNum": 2, "MemberList": page, "Next": "c1" if body["Next"] == "" else ""}

    tencent = Tencent(
        {
            "group_open_http_svc/get_group_info": ok(GroupInfo=[public, missing, community]),
            "group_open_http_svc/get_group_member_info": members,
        }
    )
    found = await groups_on(tencent, own).fetch_groups([GID, "nope", "@TGS#_c"])
    assert [g.info.groupID for g in found] == [GID, "@TGS#_c"]
    group = found[0]
    assert (group.info.groupType, group.info.addOpt, group.info.isAllMuted) == (
        GroupType.V2TIM_GROUP_TYPE_PUBLIC,
        GroupAdd.V2TIM_GROUP_ADD_AUTH,
        True,
    )
    assert (group.info.owner, group.info.createTime, group.next_seq, group.max_members) == (
        "leckie",
        1426976500,
        1234,
        50,
    )
    assert group.custom_info == {"GroupTestData1": "xxxx"}
    assert [(m.user_id, m.role, m.mute_until, m.name_card) for m in group.members] == [
        ("leckie", GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_OWNER, 0, ""),
        ("bob", GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN, 1431069882, "B"),
        ("peter", GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER, 0, ""),
    ]
    assert group.members[2].custom_info == {"MemberDefined1": "v"}
    assert [m.user_id for m in found[1].members] == ["leckie", "bob"]
    member_requests = tencent.bodies("group_open_http_svc/get_group_member_info")
    assert [(b["GroupId"], b.get("Offset"), b.get("Next")) for b in member_requests] == [
        (GID, 0, None),
        (GID, 2, None),
        ("@TGS#_c", None, ""),
        ("@TGS#_c", None, "c1"),
    ]


async def test_joined_group_ids_pages_b24(own: OwnMessages) -> None:
    def joined(body: dict[str, Any]) -> dict[str, Any]:
        ids = ["g1", "g2", "g3"][body["Offset"] : body["Offset"] + 2]
        return {**OK, "TotalCount": 3, "GroupIdList": [{"GroupId": g} for g in ids]}

    tencent = Tencent({"group_open_http_svc/get_joined_group_list": joined})
    assert await groups_on(tencent, own).joined_group_ids("leckie") == ["g1", "g2", "g3"]
    first = tencent.bodies("group_open_http_svc/get_joined_group_list")[0]
    assert first == {"Member_Account": "leckie", "Limit": 5000, "Offset": 0, "WithNoActiveGroups": 1}


def _message(group_id: str, **fields: Any) -> StoredMessage:
    return StoredMessage(
        msgID="",
        sender="jared",
        groupID=group_id,
        seq=0,
        random=123456,
        timestamp=0,
        content=Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="red packet")),
        **fields,
    )


async def test_send_group_msg_sends_b3_and_knows_its_c7_echo(own: OwnMessages) -> None:
    tencent = Tencent({"group_open_http_svc/send_group_msg": ok(MsgTime=1490686222, MsgSeq=123)})
    up = groups_on(tencent, own)
    message = _message(
        GID, cloudCustomData="your cloud custom data", groupAtUserList=["__kImSDK_MesssageAtALL__", "tommy"]
    )
    sent = await up.send_group_message(message, online_only=True)
    assert (sent.timestamp, sent.key) == (1490686222, "123")
    assert tencent.bodies("group_open_http_svc/send_group_msg") == [
        {
            "GroupId": GID,
            "From_Account": "jared",
            "Random": 123456,
            "MsgBody": fixtures.MSG_BODY,
            "OnlineOnlyFlag": 1,
            "CloudCustomData": "your cloud custom data",
            "GroupAtInfo": [{"GroupAtAllFlag": 1}, {"GroupAtAllFlag": 0, "GroupAt_Account": "tommy"}],
        }
    ]
    assert await echo_of(own, fixtures.C7)
    assert not await echo_of(own, fixtures.C7, MsgSeq=124)


async def test_a_topic_message_names_its_community_and_topic(own: OwnMessages) -> None:
    topic = "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic"
    tencent = Tencent({"group_open_http_svc/send_group_msg": ok(MsgTime=1, MsgSeq=7)})
    await groups_on(tencent, own).send_group_message(_message(topic, targets=["a", "b"]), online_only=False)
    (body,) = tencent.bodies("group_open_http_svc/send_group_msg")
    assert (body["GroupId"], body["TopicId"], body["To_Account"]) == ("@TGS#_@TGS#cQVLVHIM62CJ", topic, ["a", "b"])


async def test_an_answer_without_msgseq_is_an_error_and_records_nothing(own: OwnMessages) -> None:
    tencent = Tencent({"group_open_http_svc/send_group_msg": ok(MsgTime=1490686222)})
    with pytest.raises(IMError):
        await groups_on(tencent, own).send_group_message(_message(GID), online_only=False)
    assert not await echo_of(own, fixtures.C7)


async def test_recall_sends_b7_and_a_per_seq_refusal_is_an_error(own: OwnMessages) -> None:
    topic = "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic"
    tencent = Tencent({"group_open_http_svc/group_msg_recall": ok(RecallRetList=[{"MsgSeq": 130, "RetCode": 0}])})
    up = groups_on(tencent, own)
    await up.recall_group_message(topic, 130)
    assert tencent.bodies("group_open_http_svc/group_msg_recall") == [
        {"GroupId": "@TGS#_@TGS#cQVLVHIM62CJ", "TopicId": topic, "MsgSeqList": [{"MsgSeq": 130}]}
    ]
    assert await echo_of(own, fixtures.C14, GroupId="@TGS#_@TGS#cQVLVHIM62CJ")
    refused = Tencent({"group_open_http_svc/group_msg_recall": ok(RecallRetList=[{"MsgSeq": 100, "RetCode": 10030}])})
    with pytest.raises(IMError) as caught:
        await groups_on(refused, own).recall_group_message(GID, 100)
    assert caught.value.code == 10030


async def test_modify_goes_to_openim_modify_group_msg_as_b10(own: OwnMessages) -> None:
    tencent = Tencent({})
    content = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="hello"))
    await groups_on(tencent, own).modify_group_message(GID, 23, content, "your cloud custom data")
    assert tencent.seen == [
        (
            "openim/modify_group_msg",
            {
                "GroupId": GID,
                "MsgSeq": 23,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}],
                "CloudCustomData": "your cloud custom data",
            },
        )
    ]


async def test_attribute_writes_send_b28_bodies_and_know_their_c17_echoes(own: OwnMessages) -> None:
    tencent = Tencent({})
    up = groups_on(tencent, own)
    await up.set_attributes(GID, {"key1": "value1", "key2": "values"}, replace=True)
    await up.set_attributes(GID, {"key2": "v2"}, replace=False)
    await up.delete_attributes(GID, ["key1"])
    await up.delete_attributes(GID, None)
    items = [{"key": "key1", "value": "value1"}, {"key": "key2", "value": "values"}]
    assert tencent.seen == [
        ("group_open_http_svc/set_group_attr", {"GroupId": GID, "GroupAttr": items}),
        ("group_open_http_svc/modify_group_attr", {"GroupId": GID, "GroupAttr": [{"key": "key2", "value": "v2"}]}),
        ("group_open_http_svc/delete_group_attr", {"GroupId": GID, "GroupAttr": [{"key": "key1"}]}),
        ("group_open_http_svc/clear_group_attr", {"GroupId": GID}),
    ]
    assert await echo_of(own, fixtures.C17)  # "set" of key1 and key2
    assert await echo_of(own, fixtures.C17, OptionType="modify", GroupAttr=[{"key": "key2", "value": "v2"}])
    assert await echo_of(own, fixtures.C17, OptionType="delete", GroupAttr=[{"key": "key1", "value": ""}])
    assert await echo_of(own, fixtures.C17, OptionType="clear", GroupAttr=[])
    assert not await echo_of(own, fixtures.C17, OptionType="modify", GroupAttr=[{"key": "key2", "value": "other"}])


async def test_counters_send_b29_and_only_set_is_retried(own: OwnMessages) -> None:
    answers: list[dict[str, Any]] = [
        {"ActionStatus": "FAIL", "ErrorCode": 60008, "ErrorInfo": "timeout"},
        {**OK, "GroupCounter": [{"Key": "like", "Value": 5}, {"Key": "unlike", "Value": 1}]},
    ]

    def update(_: dict[str, Any]) -> dict[str, Any]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    tencent = Tencent({"group_open_http_svc/update_group_counter": update})
    client = TencentRestClient(
        sdkappid=APP, secret_key=SECRET, transport=httpx.MockTransport(tencent), backoff_seconds=0.0
    )
    up = TencentGroups(client, own, lambda ref: ref)
    assert await up.update_counters(GID, {"like": 5, "unlike": 1}, mode="Set") == {"like": 5, "unlike": 1}
    assert tencent.bodies("group_open_http_svc/update_group_counter")[-1] == {
        "GroupId": GID,
        "GroupCounter": [{"Key": "like", "Value": 5}, {"Key": "unlike", "Value": 1}],
        "Mode": "Set",
    }
    assert len(tencent.seen) == 2  # the Set after Tencent's timeout was sent again
    answers[:] = [{"ActionStatus": "FAIL", "ErrorCode": 60008, "ErrorInfo": "timeout"}, OK]
    with pytest.raises(IMError):  # an Increase whose outcome is unknown is not sent again: it could count twice
        await up.update_counters(GID, {"like": 1}, mode="Increase")
    assert len(tencent.seen) == 3
