"""Merged (chat record) messages and reply (quote) messages, end to end over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.engine import merger as merger_module
from gateway.errors import Code
from tests.support.actors import Actor
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway

MERGE = """mutation($m: [String!]!, $t: String, $a: [String!], $c: String!) {
  createMergerMessage(msgIDList: $m, title: $t, abstractList: $a, compatibleText: $c) { id
    messageInfo { elemType mergerElem { title abstractList isLayersOverLimit compatibleText } } } }"""
DOWNLOAD = "query($m: String!) { downloadMergerMessage(msgID: $m) { msgID sender elemType textElem { text } } }"
REPLY = """mutation($id: String!, $to: String, $g: String, $r: MessageInput!) {
  sendReplyMessage(id: $id, receiver: $to, groupID: $g, replyMessage: $r) { msgID cloudCustomData } }"""


class Chatter(Actor):
    async def text(self, text: str) -> str:
        created = await self.q("mutation($t: String!) { createTextMessage(text: $t) { id } }", {"t": text})
        return str(created["createTextMessage"]["id"])

    async def send(self, created: str, to: str = "", group: str = "") -> dict[str, Any]:
        where = f'groupID: "{group}"' if group else f'receiver: "{to}"'
        doc = f'mutation {{ sendMessage(id: "{created}", {where}) {{ msgID elemType mergerElem {{ title isLayersOverLimit }} }} }}'
        return dict((await self.q(doc))["sendMessage"])

    async def merge(self, msg_ids: list[str], title: str = "chat", abstracts: list[str] | None = None) -> Any:
        return await self.call(MERGE, {"m": msg_ids, "t": title, "a": abstracts or [], "c": "[Chat History]"})


@pytest.fixture
async def trio(client: HTTPClient, server: InProcessGateway) -> tuple[Chatter, Chatter, Chatter]:
    return tuple([Chatter(client, await client.login(n)) for n in ("alice", "bob", "carol")])  # type: ignore[return-value]


async def test_a_merged_message_carries_a_copy_of_the_chat(trio: tuple[Chatter, Chatter, Chatter]) -> None:
    alice, bob, carol = trio
    ids = [(await alice.send(await alice.text("lunch?"), to="bob"))["msgID"]]
    ids.append((await bob.send(await bob.text("sure, noon"), to="alice"))["msgID"])
    ids.append((await alice.send(await alice.text("see you"), to="bob"))["msgID"])
    reply = await alice.merge(list(reversed(ids)), "alice and bob", ["alice: lunch?", "bob: sure, noon"])
    created = reply.ok()["createMergerMessage"]
    assert created["messageInfo"]["mergerElem"] == {
        "title": "alice and bob",
        "abstractList": ["alice: lunch?", "bob: sure, noon"],
        "isLayersOverLimit": False,
        "compatibleText": "[Chat History]",
    }
    sent = await alice.send(created["id"], to="carol")
    assert (sent["elemType"], sent["mergerElem"]["title"]) == ("V2TIM_ELEM_TYPE_MERGER", "alice and bob")
    expected = [
        {"msgID": ids[0], "sender": "alice", "elemType": "V2TIM_ELEM_TYPE_TEXT", "textElem": {"text": "lunch?"}},
        {"msgID": ids[1], "sender": "bob", "elemType": "V2TIM_ELEM_TYPE_TEXT", "textElem": {"text": "sure, noon"}},
        {"msgID": ids[2], "sender": "alice", "elemType": "V2TIM_ELEM_TYPE_TEXT", "textElem": {"text": "see you"}},
    ]
    assert (await carol.q(DOWNLOAD, {"m": sent["msgID"]}))["downloadMergerMessage"] == expected  # oldest first
    # a copy: revoking an original leaves the merged message as it was
    assert await alice.q(f'mutation {{ revokeMessage(lastMsgID: "{ids[2]}") }}')
    assert (await carol.q(DOWNLOAD, {"m": sent["msgID"]}))["downloadMergerMessage"] == expected
    # a revoked message cannot be merged any more
    assert (await alice.merge([ids[2]])).codes == [Code.ERR_INVALID_PARAMETERS]


async def test_merger_limits(trio: tuple[Chatter, Chatter, Chatter]) -> None:
    alice, bob, carol = trio
    one = (await alice.send(await alice.text("hi"), to="bob"))["msgID"]
    assert (await alice.merge([])).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.merge([one] * 301)).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.merge([one], abstracts=["a"] * 6)).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.merge([one], abstracts=["x" * 101])).codes == [Code.ERR_INVALID_PARAMETERS]
    no_text = await alice.call("mutation($m: [String!]!) { createMergerMessage(msgIDList: $m) { id } }", {"m": [one]})
    assert no_text.codes == [Code.ERR_INVALID_PARAMETERS]  # compatibleText is required
    assert (await carol.merge([one])).codes == [Code.ERR_INVALID_CONVERSATION]  # not carol's to see
    gid = (
        await alice.q(
            'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "g", memberListMap: [{userID: "bob"}]) }'
        )
    )["createGroup"]
    history = await alice.q(f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: 5) {{ msgID elemType }} }}')
    tips = [m["msgID"] for m in history["getGroupHistoryMessageList"] if m["elemType"] == "V2TIM_ELEM_TYPE_GROUP_TIPS"]
    assert tips
    assert (await alice.merge(tips[:1])).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await bob.call(DOWNLOAD, {"m": one})).codes == [Code.ERR_INVALID_PARAMETERS]  # not a merged message


async def test_nesting_past_the_limit_cannot_be_downloaded(
    trio: tuple[Chatter, Chatter, Chatter], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(merger_module, "MAX_LAYERS", 2)
    alice, bob, _ = trio
    inner = (await alice.send(await alice.text("deep"), to="bob"))["msgID"]
    layer = 0
    while True:
        created = (await alice.merge([inner], f"layer {layer + 1}")).ok()["createMergerMessage"]
        sent = await alice.send(created["id"], to="bob")
        layer += 1
        if sent["mergerElem"]["isLayersOverLimit"]:
            break
        assert (await bob.q(DOWNLOAD, {"m": sent["msgID"]}))["downloadMergerMessage"][0]["msgID"] == inner
        inner = sent["msgID"]
    assert layer == 3  # the third layer is past a limit of 2
    assert sent["mergerElem"]["title"] == ""
    assert (await bob.call(DOWNLOAD, {"m": sent["msgID"]})).codes == [Code.ERR_MERGER_MSG_LAYERS_OVER_LIMIT]


async def test_a_reply_quotes_the_replied_message(trio: tuple[Chatter, Chatter, Chatter]) -> None:
    alice, bob, _ = trio
    await bob.q('mutation { setSelfInfo(nickName: "Bob") { userID } }')
    question = (await bob.send(await bob.text("are we on for noon?"), to="alice"))["msgID"]
    answer = await alice.text("yes")
    sent = (await alice.q(REPLY, {"id": answer, "to": "bob", "r": {"msgID": question}}))["sendReplyMessage"]
    assert json.loads(sent["cloudCustomData"]) == {
        "messageReply": {
            "messageID": question,
            "messageAbstract": "are we on for noon?",
            "messageSender": "Bob",
            "messageType": 1,
            "version": 1,
        }
    }
    history = await bob.q('{ getC2CHistoryMessageList(userID: "alice", count: 1) { msgID cloudCustomData } }')
    assert history["getC2CHistoryMessageList"] == [sent]
    # a reply goes to the replied message's own conversation
    elsewhere = await alice.text("to carol")
    assert (await alice.call(REPLY, {"id": elsewhere, "to": "carol", "r": {"msgID": question}})).codes == [
        Code.ERR_INVALID_PARAMETERS
    ]
    assert (await alice.call(REPLY, {"id": elsewhere, "to": "carol", "r": None})).codes == [Code.ERR_INVALID_PARAMETERS]
