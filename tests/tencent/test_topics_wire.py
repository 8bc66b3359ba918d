"""The Tencent backend's topic calls on the wire (gateway.tencent.topics), against `httpx.MockTransport`.

Each request is held to its documented body (FIXTURES.md B33; Tencent's destroy_topic page
1047/49470), each documented answer is decoded (`TopicAndSelfInfo` with its `GroupID`, per-topic
`DestroyResultItem`), and each write records the echo keys that the callbacks it causes carry
(Tencent's samples, 1047/49464-49466), so the inbound worker drops exactly those echoes (an info
change naming no topic is none: it may be any topic's).
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from gateway.errors import Code, IMError
from gateway.im.groups import TopicInfo
from gateway.tencent.client import TencentRestClient
from gateway.tencent.errors import TencentError
from gateway.tencent.inbound import OwnMessages
from gateway.tencent.topics import TencentTopics, supports_topics
from tests.conftest import SECRET
from tests.tencent.test_groups_wire import APP, Tencent, echo_of, ok

SVC = "million_group_open_http_svc"
GID = "@TGS#_@TGS#cQVLVHIM62CJ"  # B33's community
TOPIC = f"{GID}@TOPIC#_TestTopic"
# B33's get_topic answer, as documented ("ErrorInfo": "ok" and no ErrorCode per item; `GroupID`)
GET_TOPIC: dict[str, Any] = {
    "ErrorInfo": "ok",
    "ActionStatus": "OK",
    "ErrorCode": 0,
    "TopicAndSelfInfo": [
        {
            "ErrorInfo": "ok",
            "SelfInfo": {"ShutUpTime": 0, "MsgSeq": 0, "MsgFlag": "AcceptAndNotify"},
            "TopicInfo": {
                "TopicName": "TestTopicName",
                "GroupID": GID,
                "FaceUrl": "http://this.is.new.face.url",
                "TopicId": f"{GID}@TOPIC#_@TOPIC#cRTE3HIM62C5",
                "NextMsgSeq": 1,
                "Notification": "Notification",
                "Introduction": "Introduction",
                "CreateTime": 1658839448,
                "LastMsgTime": 0,
                "MuteAllMember": "Off",
                "CustomString": "This is a customs string.",
            },
        }
    ],
}


def client_of(tencent: Tencent) -> TencentRestClient:
    return TencentRestClient(sdkappid=APP, secret_key=SECRET, transport=httpx.MockTransport(tencent), max_attempts=1)


def topics_on(tencent: Tencent, own: OwnMessages) -> TencentTopics:
    return TencentTopics(client_of(tencent), own)


def created_callback(topic_id: str) -> dict[str, Any]:
    """Group.CallbackAfterCreateTopic as Tencent's page shows it (1047/49464), for the community."""
    return {
        "CallbackCommand": "Group.CallbackAfterCreateTopic",
        "GroupId": GID,
        "TopicId": topic_id,
        "Operator_Account": "group_root",
        "Owner_Account": "leckie",
        "Type": "Community",
        "Name": "MyFirstTopic",
        "UserDefinedDataList": [{"Key": "UserDefined1", "Value": "hello"}],
    }


INFO_CHANGED = {  # 1047/49466: no TopicId
    "CallbackCommand": "Group.CallbackAfterTopicInfoChanged",
    "GroupId": GID,
    "Type": "Community",
    "Operator_Account": "leckie",
    "Name": "TestTopic",
}


async def test_create_sends_b33_and_records_the_echo_of_the_id_tencent_gave(own: OwnMessages) -> None:
    tencent = Tencent({f"{SVC}/create_topic": ok(TopicId=TOPIC)})
    info = TopicInfo(
        topicID=TOPIC,
        topicName="TestTopic",
        topicFaceUrl="http://this.is.face.url",
        notification="This is topic Notification",
        introduction="This is topic Introduction",
        customString="This is a custom string",
        draftText="mine only",
    )
    assert await topics_on(tencent, own).create_topic(GID, "1400187352", info) == TOPIC
    (body,) = tencent.bodies(f"{SVC}/create_topic")
    assert body == {  # B33's request, field for field (no draft: Tencent has none)
        "GroupId": GID,
        "TopicId": TOPIC,
        "TopicName": "TestTopic",
        "From_Account": "1400187352",
        "CustomString": "This is a custom string",
        "FaceUrl": "http://this.is.face.url",
        "Notification": "This is topic Notification",
        "Introduction": "This is topic Introduction",
    }
    assert await echo_of(own, created_callback(TOPIC))
    assert not await echo_of(own, created_callback(f"{GID}@TOPIC#_other"))


async def test_create_without_an_id_takes_tencents_and_refuses_one_of_another_community(own: OwnMessages) -> None:
    assigned = f"{GID}@TOPIC#_@TOPIC#cRTE3HIM62C5"
    tencent = Tencent({f"{SVC}/create_topic": ok(TopicId=assigned)})
    assert await topics_on(tencent, own).create_topic(GID, "u", TopicInfo(topicID="", topicName="t")) == assigned
    assert "TopicId" not in tencent.bodies(f"{SVC}/create_topic")[0]
    stray = Tencent({f"{SVC}/create_topic": ok(TopicId="@TGS#_other@TOPIC#_x")})
    with pytest.raises(IMError) as caught:
        await topics_on(stray, own).create_topic(GID, "u", TopicInfo(topicID="", topicName="t"))
    assert caught.value.code == Code.ERR_SDK_INTERNAL_ERROR
    assert not await echo_of(own, created_callback("@TGS#_other@TOPIC#_x"))
    # an ID over Tencent's 96 bytes is refused before any call
    silent = Tencent({})
    with pytest.raises(IMError) as too_long:
        await topics_on(silent, own).create_topic(
            GID, "u", TopicInfo(topicID=f"{GID}@TOPIC#_{'x' * 80}", topicName="t")
        )
    assert too_long.value.code == Code.ERR_INVALID_PARAMETERS
    assert silent.seen == []


async def test_topics_not_enabled_is_7013(own: OwnMessages) -> None:
    refused = Tencent(
        {f"{SVC}/create_topic": lambda _: {"ActionStatus": "FAIL", "ErrorCode": 11000, "ErrorInfo": "no"}}
    )
    with pytest.raises(IMError) as caught:
        await topics_on(refused, own).create_topic(GID, "u", TopicInfo(topicID="", topicName="t"))
    assert caught.value.code == Code.ERR_SDK_INTERFACE_NOT_SUPPORT


async def test_destroy_answers_per_topic_and_records_the_destroyed_ones_only(own: OwnMessages) -> None:
    gone, kept, unanswered = TOPIC, f"{GID}@TOPIC#_TestTopic_1", f"{GID}@TOPIC#_TestTopic_2"
    items = [
        {"ErrorCode": 0, "ErrorInfo": "", "TopicId": gone},
        {"ErrorCode": 110003, "ErrorInfo": "no such topic", "TopicId": kept},
    ]
    tencent = Tencent({f"{SVC}/destroy_topic": ok(DestroyResultItem=items)})
    results = await topics_on(tencent, own).destroy_topics(GID, [gone, kept, unanswered])
    assert tencent.bodies(f"{SVC}/destroy_topic") == [{"GroupId": GID, "TopicIdList": [gone, kept, unanswered]}]
    assert [(r.topicID, r.errorCode) for r in results] == [
        (gone, 0),
        (kept, 110003),  # passed through (MAPPING.md section 9)
        (unanswered, Code.ERR_SDK_INTERNAL_ERROR),  # left out of the answer: not known to be destroyed
    ]
    destroyed = {"CallbackCommand": "Group.CallbackAfterTopicDestroyed", "GroupId": GID, "Type": "Community"}
    assert await echo_of(own, destroyed, TopicIdList=[gone])
    assert not await echo_of(own, destroyed, TopicIdList=[gone, kept])


async def test_modify_sends_what_differs_and_records_the_reported_fields_of_its_topic_only(own: OwnMessages) -> None:
    tencent = Tencent({})
    old = TopicInfo(topicID=TOPIC, topicName="old", notification="same", customString="c", draftText="a")
    new = TopicInfo(topicID=TOPIC, topicName="TestTopic", notification="same", isAllMuted=True, draftText="b")
    await topics_on(tencent, own).modify_topic(GID, "leckie", old, new)
    assert tencent.bodies(f"{SVC}/modify_topic") == [
        {
            "GroupId": GID,
            "TopicId": TOPIC,
            "From_Account": "leckie",
            "TopicName": "TestTopic",
            "MuteAllMember": "On",
            "CustomString": "",
        }
    ]
    assert await echo_of(own, INFO_CHANGED, TopicId=TOPIC)
    assert not await echo_of(own, INFO_CHANGED, TopicId=TOPIC, Name="another name")
    assert not await echo_of(own, INFO_CHANGED, TopicId=f"{GID}@TOPIC#_other")  # another topic's change
    # Tencent's sample names no topic: it could be any topic's, so it is never dropped as an echo
    assert not await echo_of(own, INFO_CHANGED)
    # a draft is the mirror's alone: nothing to send
    await topics_on(tencent, own).modify_topic(GID, "leckie", new, msgspec.structs.replace(new, draftText="c"))
    assert len(tencent.bodies(f"{SVC}/modify_topic")) == 1


async def test_get_topic_reads_b33s_answer_and_leaves_out_the_topics_tencent_lacks(own: OwnMessages) -> None:
    missing = {"ErrorCode": 10010, "ErrorInfo": "no topic", "TopicId": f"{GID}@TOPIC#_gone"}
    tencent = Tencent(
        {f"{SVC}/get_topic": lambda _: {**GET_TOPIC, "TopicAndSelfInfo": [*GET_TOPIC["TopicAndSelfInfo"], missing]}}
    )
    (found,) = await topics_on(tencent, own).fetch_topics(GID, "1400187352", None)
    assert tencent.bodies(f"{SVC}/get_topic") == [{"GroupId": GID, "From_Account": "1400187352"}]
    assert found.next_seq == 1
    assert found.info == TopicInfo(
        topicID=f"{GID}@TOPIC#_@TOPIC#cRTE3HIM62C5",
        topicName="TestTopicName",
        topicFaceUrl="http://this.is.new.face.url",
        notification="Notification",
        introduction="Introduction",
        isAllMuted=False,
        customString="This is a customs string.",
    )
    await topics_on(tencent, own).fetch_topics(GID, "", [TOPIC])
    assert tencent.bodies(f"{SVC}/get_topic")[1] == {"GroupId": GID, "TopicIdList": [TOPIC]}


async def test_a_community_has_topics_when_get_topic_answers_for_it() -> None:
    answering = Tencent({f"{SVC}/get_topic": lambda _: GET_TOPIC})
    assert await supports_topics(client_of(answering), GID, "leckie")
    assert answering.bodies(f"{SVC}/get_topic") == [{"GroupId": GID, "From_Account": "leckie"}]
    fail = {"ActionStatus": "FAIL", "ErrorCode": 10007, "ErrorInfo": "not a topic-enabled community"}
    assert not await supports_topics(client_of(Tencent({f"{SVC}/get_topic": lambda _: fail})), GID, "leckie")


@pytest.mark.parametrize("code", [70500, 60008, 60007])
async def test_an_outage_is_no_answer_to_whether_a_community_has_topics(code: int) -> None:
    """Tencent failing inside, its own timeout, a frequency limit: unknown, raised (not "no topics",
    which an import would keep)."""
    down = {"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": "try again"}
    with pytest.raises(TencentError):
        await supports_topics(client_of(Tencent({f"{SVC}/get_topic": lambda _: down})), GID, "leckie")


async def test_a_topic_created_muted_is_muted_by_a_modify_after_the_create(own: OwnMessages) -> None:
    tencent = Tencent({f"{SVC}/create_topic": ok(TopicId=TOPIC)})
    info = TopicInfo(topicID=TOPIC, topicName="t", isAllMuted=True)
    assert await topics_on(tencent, own).create_topic(GID, "leckie", info) == TOPIC
    assert "MuteAllMember" not in tencent.bodies(f"{SVC}/create_topic")[0]  # create_topic takes none (B33)
    assert tencent.bodies(f"{SVC}/modify_topic") == [
        {"GroupId": GID, "TopicId": TOPIC, "From_Account": "leckie", "MuteAllMember": "On"}
    ]
    assert info.isAllMuted
    # the modify refused: the topic exists, not muted, and the mirror is told so (both sides equal)
    refused = {"ActionStatus": "FAIL", "ErrorCode": 10004, "ErrorInfo": "no"}
    failing = Tencent({f"{SVC}/create_topic": ok(TopicId=TOPIC), f"{SVC}/modify_topic": lambda _: refused})
    info = TopicInfo(topicID=TOPIC, topicName="t", isAllMuted=True)
    assert await topics_on(failing, own).create_topic(GID, "leckie", info) == TOPIC
    assert not info.isAllMuted


async def test_echoes_are_recorded_once_the_whole_write_succeeded(own: OwnMessages) -> None:
    """Within `echoes_after` (the engine holds it around Tencent's write and the mirror's)."""
    tencent = Tencent({f"{SVC}/create_topic": ok(TopicId=TOPIC)})
    topics = topics_on(tencent, own)

    async def cut_after_tencent() -> None:
        async with topics.echoes_after():
            await topics.create_topic(GID, "u", TopicInfo(topicID=TOPIC, topicName="t"))
            raise ConnectionError("the mirror's write failed")

    with pytest.raises(ConnectionError):
        await cut_after_tencent()
    assert not await echo_of(own, created_callback(TOPIC))  # its webhook repairs the mirror
    async with topics.echoes_after():
        await topics.create_topic(GID, "u", TopicInfo(topicID=TOPIC, topicName="t"))
        assert not await echo_of(own, created_callback(TOPIC))  # not before the end
    assert await echo_of(own, created_callback(TOPIC))
