"""Group attributes (B28), counters (B29) and community topics (B33) over the REST API: golden
shapes, the groupListener events each write causes, and refusals that change nothing."""

from __future__ import annotations

from tests.rest.conftest import RestClient
from tests.rest.test_groups_admin import G, event_types, keys_and_types, make_group
from tests.support.clients import HTTPClient
from tests.support.groups import member
from tests.support.servers import InProcessGateway

ATTR = "group_open_attr_http_svc/get_group_attr"
TOPIC = "million_group_open_http_svc/"


async def test_group_attributes_b28(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    olive = await member(client, server, "olive")
    gid = await make_group(rest, "olive")
    await olive.group_events()
    b28 = {"GroupId": gid, "GroupAttr": [{"key": "attr_key", "value": "attr_val"}, {"key": "attr_key1", "value": "v1"}]}
    await rest.ok(G + "modify_group_attr", b28)
    changed = await olive.group_events()
    assert event_types(changed) == ["onGroupAttributeChanged"]
    assert sorted(a["key"] for a in changed[0]["groupAttributeMap"]) == ["attr_key", "attr_key1"]
    got = await rest.ok(ATTR, {"GroupId": gid})
    assert got["GroupAttrAry"] == [{"key": "attr_key", "value": "attr_val"}, {"key": "attr_key1", "value": "v1"}]
    await rest.ok(G + "modify_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "attr_key2", "value": "v2"}]})
    assert len((await rest.ok(ATTR, {"GroupId": gid}))["GroupAttrAry"]) == 3
    await rest.ok(G + "delete_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "attr_key"}, {"key": "attr_key1"}]})
    assert (await rest.ok(ATTR, {"GroupId": gid}))["GroupAttrAry"] == [{"key": "attr_key2", "value": "v2"}]
    await rest.ok(G + "set_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "only", "value": "one"}]})
    assert (await rest.ok(ATTR, {"GroupId": gid}))["GroupAttrAry"] == [{"key": "only", "value": "one"}]
    assert event_types(await olive.group_events()) == ["onGroupAttributeChanged"] * 3
    # refusals change nothing
    await rest.fails(G + "delete_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "only"}, {"key": "nope"}]}, 10050)
    too_many = [{"key": f"k{i}", "value": "v"} for i in range(17)]
    await rest.fails(G + "modify_group_attr", {"GroupId": gid, "GroupAttr": too_many}, 10004)
    await rest.fails(G + "modify_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "k", "value": "v" * 4097}]}, 10004)
    await rest.fails(G + "modify_group_attr", {"GroupId": gid, "GroupAttr": [{"value": "v"}]}, 10004)
    await rest.fails(G + "modify_group_attr", {"GroupId": "nope", "GroupAttr": [{"key": "k", "value": "v"}]}, 10010)
    await rest.fails(ATTR, {}, 10004)
    assert (await rest.ok(ATTR, {"GroupId": gid}))["GroupAttrAry"] == [{"key": "only", "value": "one"}]
    assert await olive.group_events() == []
    await rest.ok(G + "clear_group_attr", {"GroupId": gid})
    assert (await rest.ok(ATTR, {"GroupId": gid}))["GroupAttrAry"] == []
    cleared = await olive.group_events()
    assert cleared[0]["groupAttributeMap"] == []


async def test_group_counters_b29(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    olive = await member(client, server, "olive")
    gid = await make_group(rest, "olive")
    await olive.group_events()
    b29 = {"GroupId": gid, "GroupCounter": [{"Key": "like", "Value": 5}, {"Key": "unlike", "Value": 1}], "Mode": "Set"}
    answer = await rest.ok(G + "update_group_counter", b29)
    assert answer["GroupCounter"] == [{"Key": "like", "Value": 5}, {"Key": "unlike", "Value": 1}]
    keys_and_types(answer["GroupCounter"][0], {"Key": str, "Value": int})
    events = await olive.group_events()
    assert [(e["type"], e["key"], e["newValue"]) for e in events] == [
        ("onGroupCounterChanged", "like", 5),
        ("onGroupCounterChanged", "unlike", 1),
    ]
    up = {"GroupId": gid, "GroupCounter": [{"Key": "like", "Value": 3}], "Mode": "Increase"}
    assert (await rest.ok(G + "update_group_counter", up))["GroupCounter"] == [{"Key": "like", "Value": 8}]
    down = {"GroupId": gid, "GroupCounter": [{"Key": "like", "Value": 2}], "Mode": "Decrease"}
    assert (await rest.ok(G + "update_group_counter", down))["GroupCounter"] == [{"Key": "like", "Value": 6}]
    got = await rest.ok(G + "get_group_counter", {"GroupId": gid, "GroupCounterKeys": ["like"]})
    assert got["GroupCounter"] == [{"Key": "like", "Value": 6}]
    await olive.group_events()
    await rest.ok(G + "delete_group_counter", {"GroupId": gid, "GroupCounterKeys": ["unlike"]})
    deleted = await olive.group_events()
    assert [(e["key"], e["newValue"]) for e in deleted] == [("unlike", 0)]
    assert (await rest.ok(G + "get_group_counter", {"GroupId": gid}))["GroupCounter"] == [{"Key": "like", "Value": 6}]
    # refusals change nothing
    many = [{"Key": f"k{i}", "Value": 1} for i in range(21)]
    await rest.fails(G + "update_group_counter", {"GroupId": gid, "GroupCounter": many, "Mode": "Set"}, 10004)
    await rest.fails(G + "update_group_counter", {"GroupId": gid, "GroupCounter": [{"Key": "like"}]}, 10004)
    bad_mode = {"GroupId": gid, "GroupCounter": [{"Key": "like", "Value": 1}], "Mode": "Double"}
    await rest.fails(G + "update_group_counter", bad_mode, 10004)
    await rest.fails(G + "update_group_counter", {"GroupId": "nope", "GroupCounter": [{"Key": "a", "Value": 1}]}, 10010)
    await rest.fails(G + "delete_group_counter", {"GroupId": gid}, 10004)
    assert (await rest.ok(G + "get_group_counter", {"GroupId": gid}))["GroupCounter"] == [{"Key": "like", "Value": 6}]
    assert await olive.group_events() == []


async def test_topics_b33(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    olive = await member(client, server, "olive")
    gid = await make_group(rest, "olive", Type="Community", SupportTopic=1)
    await olive.group_events()
    b33 = {
        "GroupId": gid,
        "TopicId": f"{gid}@TOPIC#_TestTopic",
        "TopicName": "TestTopic",
        "From_Account": "olive",
        "CustomString": "This is a custom string",
        "FaceUrl": "http://this.is.face.url",
        "Notification": "This is topic Notification",
        "Introduction": "This is topic Introduction",
    }
    answer = await rest.ok(TOPIC + "create_topic", b33)
    assert answer["TopicId"] == f"{gid}@TOPIC#_TestTopic"
    created = await olive.group_events()
    assert [(e["type"], e["topicID"]) for e in created] == [("onTopicCreated", answer["TopicId"])]
    generated = (await rest.ok(TOPIC + "create_topic", {"GroupId": gid, "TopicName": "second"}))["TopicId"]
    assert generated.startswith(f"{gid}@TOPIC#_")
    await rest.fails(TOPIC + "create_topic", b33, 10021)

    got = await rest.ok(TOPIC + "get_topic", {"GroupId": gid, "From_Account": "olive", "TopicIdList": [b33["TopicId"]]})
    (item,) = got["TopicAndSelfInfo"]
    keys_and_types(item["SelfInfo"], {"ShutUpTime": int, "MsgSeq": int, "MsgFlag": str})
    keys_and_types(
        item["TopicInfo"],
        {
            "TopicName": str,
            "GroupID": str,
            "FaceUrl": str,
            "TopicId": str,
            "NextMsgSeq": int,
            "Notification": str,
            "Introduction": str,
            "LastMsgTime": int,
            "MuteAllMember": str,
            "CustomString": str,
        },
    )
    assert (item["TopicInfo"]["GroupID"], item["TopicInfo"]["CustomString"]) == (gid, "This is a custom string")

    await rest.ok(
        TOPIC + "modify_topic",
        {"GroupId": gid, "TopicId": b33["TopicId"], "TopicName": "renamed", "MuteAllMember": "On"},
    )
    changed = await olive.group_events()
    assert [(e["type"], e["topicInfo"]["topicName"]) for e in changed[-1:]] == [("onTopicInfoChanged", "renamed")]
    every = await rest.ok(TOPIC + "get_topic", {"GroupId": gid})
    names = {t["TopicInfo"]["TopicId"]: t["TopicInfo"] for t in every["TopicAndSelfInfo"]}
    assert (names[b33["TopicId"]]["TopicName"], names[b33["TopicId"]]["MuteAllMember"]) == ("renamed", "On")
    assert names[b33["TopicId"]]["Introduction"] == "This is topic Introduction"

    destroyed = await rest.ok(TOPIC + "destroy_topic", {"GroupId": gid, "TopicIdList": [generated, f"{gid}@TOPIC#_x"]})
    assert [(d["TopicId"], d["ErrorCode"]) for d in destroyed["DestroyResultItem"]] == [
        (generated, 0),
        (f"{gid}@TOPIC#_x", 10010),
    ]
    gone = await olive.group_events()
    assert [(e["type"], e["topicIDList"]) for e in gone] == [("onTopicDeleted", [generated])]
    # refusals change nothing
    plain = await make_group(rest, "olive")
    await rest.fails(TOPIC + "create_topic", {"GroupId": plain, "TopicName": "t"}, 10004)
    await rest.fails(TOPIC + "create_topic", {"GroupId": gid}, 10004)
    await rest.fails(TOPIC + "create_topic", {"GroupId": gid, "TopicName": "t", "From_Account": "ghost"}, 10004)
    await rest.fails(TOPIC + "create_topic", {"GroupId": "nope", "TopicName": "t"}, 10010)
    await rest.fails(TOPIC + "modify_topic", {"GroupId": gid, "TopicId": f"{gid}@TOPIC#_x", "TopicName": "n"}, 10010)
    await rest.fails(TOPIC + "destroy_topic", {"GroupId": gid}, 10004)
    assert len((await rest.ok(TOPIC + "get_topic", {"GroupId": gid}))["TopicAndSelfInfo"]) == 1
    await olive.group_events()  # the plain group's creation
    assert await olive.group_events() == []
