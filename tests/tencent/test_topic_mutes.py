"""A member muted in a community's topic on the wire (gateway.tencent.groups `mute_members`), against
`httpx.MockTransport`.

Tencent mutes a member in one topic with `group_open_http_svc/forbid_send_msg` and `TopicId`
(MAPPING.md #75; B26's body otherwise): the community's `GroupId`, the topic's `TopicId`. A topic ID
names its community (`<GroupId>@TOPIC#_...`), so the upstream is handed the topic's ID as the group's
and splits it, as it does for a topic's messages. Tencent's refusals map as everywhere else
(gateway.tencent.errors): topics not enabled (11000) is 7013, the others pass through.
"""

from __future__ import annotations

import pytest

from gateway.errors import Code, IMError
from gateway.tencent.groups import FORBID_MEMBERS_MAX
from gateway.tencent.inbound import OwnMessages
from tests.tencent.test_groups_wire import Tencent, groups_on

FORBID = "group_open_http_svc/forbid_send_msg"
GID = "@TGS#_@TGS#cQVLVHIM62CJ"  # B33's community
TOPIC = f"{GID}@TOPIC#_TestTopic"


async def test_a_topic_mute_names_the_community_and_the_topic(own: OwnMessages) -> None:
    tencent = Tencent({})
    up = groups_on(tencent, own)
    await up.mute_members(TOPIC, ["peter", "leckie"], 60)
    await up.mute_members(TOPIC, ["peter"], 0)  # 0 unmutes
    await up.mute_members(GID, ["peter"], 60)  # the community itself: no TopicId
    assert tencent.seen == [
        (FORBID, {"GroupId": GID, "TopicId": TOPIC, "Members_Account": ["peter", "leckie"], "MuteTime": 60}),
        (FORBID, {"GroupId": GID, "TopicId": TOPIC, "Members_Account": ["peter"], "MuteTime": 0}),
        (FORBID, {"GroupId": GID, "Members_Account": ["peter"], "MuteTime": 60}),
    ]


async def test_a_topic_mute_of_many_members_names_the_topic_in_each_batch(own: OwnMessages) -> None:
    tencent = Tencent({})
    users = [f"u{i}" for i in range(FORBID_MEMBERS_MAX + 1)]
    await groups_on(tencent, own).mute_members(TOPIC, users, 4294967295)  # for good
    assert tencent.bodies(FORBID) == [
        {"GroupId": GID, "TopicId": TOPIC, "Members_Account": users[:FORBID_MEMBERS_MAX], "MuteTime": 4294967295},
        {"GroupId": GID, "TopicId": TOPIC, "Members_Account": users[FORBID_MEMBERS_MAX:], "MuteTime": 4294967295},
    ]


@pytest.mark.parametrize(
    ("tencent_code", "code"),
    [
        (11000, Code.ERR_SDK_INTERFACE_NOT_SUPPORT),  # topics not enabled (not the Ultimate edition)
        (10007, Code.ERR_NO_PERMISSION),
        (10010, Code.ERR_GROUP_NOT_FOUND),
        (110003, 110003),  # a topic error, passed through (MAPPING.md section 9)
    ],
)
async def test_a_refused_topic_mute_raises_tencents_code_mapped(own: OwnMessages, tencent_code: int, code: int) -> None:
    refused = {"ActionStatus": "FAIL", "ErrorCode": tencent_code, "ErrorInfo": "refused"}
    tencent = Tencent({FORBID: lambda _: refused})
    with pytest.raises(IMError) as caught:
        await groups_on(tencent, own).mute_members(TOPIC, ["peter"], 60)
    assert caught.value.code == code
    assert len(tencent.bodies(FORBID)) == 1
