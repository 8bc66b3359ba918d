"""`openim_msg_ext_http_svc/{set,get}_key_values` on C2C messages and the app-wide mutes
`openconfigsvr/{set,get}nospeaking`, over real HTTP with real listener subscriptions."""

from __future__ import annotations

from gateway.clock import ManualClock
from gateway.errors import Code
from tests.rest.conftest import RestClient
from tests.rest.test_c2c_messages import SEND, golden_send, history
from tests.support.actors import actor
from tests.support.clients import HTTPClient
from tests.support.messages import device
from tests.support.servers import InProcessGateway
from tests.test_extensions import EVENTS as EXTENSION_EVENTS

SET = "openim_msg_ext_http_svc/set_key_values"
GET = "openim_msg_ext_http_svc/get_key_values"


async def test_key_values_are_the_messages_extensions(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    alice = await actor(client, server.ws_url, "alice", EXTENSION_EVENTS)
    bob = await actor(client, server.ws_url, "bob", EXTENSION_EVENTS)
    sent = await rest.ok(SEND, golden_send("alice", "bob", SupportMessageExtension=1))
    plain = await rest.ok(SEND, golden_send("alice", "bob", MsgRandom=3))
    for who in (alice, bob):
        assert [(await who.event())["__typename"] for _ in range(2)] == ["RecvNewMessageEvent"] * 2
        await who.quiet()
    request = {
        "From_Account": "alice",
        "To_Account": "bob",
        "MsgKey": sent["MsgKey"],
        "OperateType": 1,
        "ExtensionList": [
            {"Key": "k1", "Value": "v1", "Seq": 0},
            {"Key": "k2", "Value": "v2", "Seq": 0},
            {"Key": "k3", "Value": "v3", "Seq": 0},
        ],
    }
    answer = await rest.ok(SET, request)
    assert answer["ExtensionList"] == [
        {"ErrorCode": 0, "Extension": {"Key": k, "Value": v, "Seq": 1}}
        for k, v in (("k1", "v1"), ("k2", "v2"), ("k3", "v3"))
    ]
    for who in (alice, bob):
        event = await who.event()
        assert (event["type"], event["msgID"]) == ("onRecvMessageExtensionsChanged", sent["MsgId"])
        assert [e["extensionKey"] for e in event["extensions"]] == ["k1", "k2", "k3"]
    # the admin's write skips the version check (a stale Seq still writes)
    again = await rest.ok(SET, dict(request, ExtensionList=[{"Key": "k3", "Value": "v3b", "Seq": 0}]))
    assert again["ExtensionList"] == [{"ErrorCode": 0, "Extension": {"Key": "k3", "Value": "v3b", "Seq": 2}}]
    got = await rest.ok(GET, {"From_Account": "alice", "To_Account": "bob", "MsgKey": sent["MsgKey"]})
    assert set(got) == {
        "ActionStatus",
        "ErrorInfo",
        "ErrorCode",
        "CompleteFlag",
        "LatestSeq",
        "ClearSeq",
        "ExtensionList",
    }
    assert (got["CompleteFlag"], got["LatestSeq"], got["ClearSeq"]) == (1, 2, 0)
    assert got["ExtensionList"] == [
        {"Key": "k1", "Value": "v1", "Seq": 1},
        {"Key": "k2", "Value": "v2", "Seq": 1},
        {"Key": "k3", "Value": "v3b", "Seq": 2},
    ]
    newer = await rest.ok(GET, {"From_Account": "alice", "To_Account": "bob", "MsgKey": sent["MsgKey"], "StartSeq": 2})
    assert [e["Key"] for e in newer["ExtensionList"]] == ["k3"]
    for who in (alice, bob):  # the second write's events
        assert (await who.event())["extensions"] == [
            {"extensionKey": "k3", "extensionValue": "v3b", "extensionVersion": 2}
        ]
    deleted = await rest.ok(SET, dict(request, OperateType=2, ExtensionList=[{"Key": "k1", "Value": "", "Seq": 0}]))
    assert [r["Extension"]["Key"] for r in deleted["ExtensionList"]] == ["k1"]
    assert (await bob.event())["extensionKeys"] == ["k1"]
    await rest.ok(SET, {k: v for k, v in request.items() if k != "ExtensionList"} | {"OperateType": 3})
    assert sorted((await bob.event())["extensionKeys"]) == ["k2", "k3"]
    got = await rest.ok(GET, {"From_Account": "alice", "To_Account": "bob", "MsgKey": sent["MsgKey"]})
    assert got["ExtensionList"] == []
    # refusals, each changing nothing
    await rest.fails(SET, dict(request, MsgKey=plain["MsgKey"]), Code.ERR_EXTENSION_NOT_ENABLED)
    await rest.fails(SET, dict(request, MsgKey="9_9_9"), 20022)
    await rest.fails(SET, dict(request, MsgKey="oops"), 90054)
    await rest.fails(SET, dict(request, OperateType=4), 90009)
    over = [{"Key": f"k{i}", "Value": "v", "Seq": 0} for i in range(21)]
    await rest.fails(SET, dict(request, ExtensionList=over), 90009)
    await rest.fails(SET, dict(request, ExtensionList=[{"Value": "v"}]), 90009)
    got = await rest.ok(GET, {"From_Account": "alice", "To_Account": "bob", "MsgKey": sent["MsgKey"]})
    assert got["ExtensionList"] == []
    await bob.quiet()


async def test_global_mutes(rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: ManualClock) -> None:
    alice, bob = await device(client, server, "alice"), await device(client, server, "bob")
    never = await rest.ok("openconfigsvr/getnospeaking", {"Get_Account": "alice"})
    assert never == {
        "ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "C2CmsgNospeakingTime": 0, "GroupmsgNospeakingTime": 0
    }  # fmt: skip
    await rest.ok("openconfigsvr/setnospeaking", {"Set_Account": "alice", "C2CmsgNospeakingTime": 3600})
    got = await rest.ok("openconfigsvr/getnospeaking", {"Get_Account": "alice"})
    assert (got["C2CmsgNospeakingTime"], got["GroupmsgNospeakingTime"]) == (3600, 0)
    assert (await alice.send(await alice.create_text("shh"), "bob")).codes == [Code.ERR_SENDER_MUTED]
    await rest.ok(SEND, golden_send("alice", "bob"))  # the admin's sends are not held
    await bob.event()
    await alice.event()
    # a group message is not held by a one-to-one mute, and is by a group one
    gid = (await alice.q('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_MEETING, groupName: "g") }'))[
        "createGroup"
    ]
    group_send = f'mutation($id: String!) {{ sendMessage(id: $id, groupID: "{gid}") {{ msgID }} }}'
    assert (await alice.call(group_send, {"id": await alice.create_text("hi")})).errors == []
    await rest.ok("openconfigsvr/setnospeaking", {"Set_Account": "alice", "GroupmsgNospeakingTime": 4294967295})
    got = await rest.ok("openconfigsvr/getnospeaking", {"Get_Account": "alice"})
    assert (got["C2CmsgNospeakingTime"], got["GroupmsgNospeakingTime"]) == (3600, 4294967295)
    assert (await alice.call(group_send, {"id": await alice.create_text("hi")})).codes == [Code.ERR_GROUP_MEMBER_MUTED]
    # a mute ends by itself, or when lifted
    await clock.advance(3601)
    got = await rest.ok("openconfigsvr/getnospeaking", {"Get_Account": "alice"})
    assert got["C2CmsgNospeakingTime"] == 0
    assert (await alice.send(await alice.create_text("free"), "bob")).errors == []
    await rest.ok("openconfigsvr/setnospeaking", {"Set_Account": "alice", "GroupmsgNospeakingTime": 0})
    assert (await alice.call(group_send, {"id": await alice.create_text("back")})).errors == []
    # refusals change nothing
    await rest.fails("openconfigsvr/setnospeaking", {"Set_Account": "alice"}, 90009)
    await rest.fails("openconfigsvr/setnospeaking", {"Set_Account": "ghost", "C2CmsgNospeakingTime": 5}, 70107)
    await rest.fails("openconfigsvr/setnospeaking", {"Set_Account": "alice", "C2CmsgNospeakingTime": -1}, 90009)
    await rest.fails("openconfigsvr/setnospeaking", {"C2CmsgNospeakingTime": 5}, 90009)
    await rest.fails("openconfigsvr/getnospeaking", {"Get_Account": "ghost"}, 70107)
    got = await rest.ok("openconfigsvr/getnospeaking", {"Get_Account": "alice"})
    assert (got["C2CmsgNospeakingTime"], got["GroupmsgNospeakingTime"]) == (0, 0)
    assert len(await history(bob, "alice")) == 2
