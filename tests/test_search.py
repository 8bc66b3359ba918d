"""searchLocalMessages / searchCloudMessages end to end: keywords (AND / OR), senders, types, time
range, one conversation or all (with the SDK's messageCount / messageList rule), paging, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.errors import Code
from tests.support.actors import Actor
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway

SEARCH = """query($p: MessageSearchParam!) { searchLocalMessages(searchParam: $p) { totalCount
  messageSearchResultItems { conversationID messageCount messageList { sender textElem { text } customElem { desc } } } } }"""


class Chatter(Actor):
    async def send(self, to: str, text: str = "", *, group: bool = False, custom_desc: str = "") -> None:
        if custom_desc:
            doc, variables = (
                'mutation($d: String) { createCustomMessage(data: "{}", desc: $d) { id } }',
                {"d": custom_desc},
            )
        else:
            doc, variables = "mutation($t: String!) { createTextMessage(text: $t) { id } }", {"t": text}
        created = next(iter((await self.q(doc, variables)).values()))["id"]
        where = f'groupID: "{to}"' if group else f'receiver: "{to}"'
        await self.q(f'mutation {{ sendMessage(id: "{created}", {where}) {{ msgID }} }}')

    async def search(self, **param: Any) -> Any:
        return (await self.q(SEARCH, {"p": param}))["searchLocalMessages"]


def texts(item: dict[str, Any]) -> list[str]:
    return [m["textElem"]["text"] if m["textElem"] else m["customElem"]["desc"] for m in item["messageList"]]


@pytest.fixture
async def chats(client: HTTPClient, server: InProcessGateway, clock: ManualClock) -> tuple[Chatter, str]:
    alice, bob, carol = [Chatter(client, await client.login(n)) for n in ("alice", "bob", "carol")]
    await alice.send("bob", "Lunch at noon?")
    await clock.advance(3600)  # an hour later
    await bob.send("alice", "noon works, see you at the cafe")
    await alice.send("bob", "bring the report")
    await bob.send("alice", custom_desc="Report ready")
    await carol.send("alice", "the report is late")
    await alice.send("carol", "lunch tomorrow?")
    gid = (
        await bob.q(
            'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "g", memberListMap: [{userID: "alice"}]) }'
        )
    )["createGroup"]
    await bob.send(gid, "group lunch plan", group=True)
    return alice, gid


async def test_one_conversation_with_or_and_and(chats: tuple[Chatter, str]) -> None:
    alice, _ = chats
    found = await alice.search(keywordList=["noon"], conversationID="c2c_bob")
    assert found["totalCount"] == 2
    (item,) = found["messageSearchResultItems"]
    assert (item["conversationID"], item["messageCount"]) == ("c2c_bob", 2)
    assert texts(item) == ["noon works, see you at the cafe", "Lunch at noon?"]  # newest first
    both = await alice.search(
        keywordList=["LUNCH", "noon"], type="V2TIM_KEYWORD_LIST_MATCH_TYPE_AND", conversationID="c2c_bob"
    )
    assert texts(both["messageSearchResultItems"][0]) == ["Lunch at noon?"]  # case-insensitive
    assert (await alice.search(keywordList=["nothing like this"], conversationID="c2c_bob")) == {
        "totalCount": 0,
        "messageSearchResultItems": [],
    }


async def test_all_conversations_count_several_matches_and_show_a_single_one(chats: tuple[Chatter, str]) -> None:
    alice, gid = chats
    found = await alice.search(keywordList=["report"])
    items = {i["conversationID"]: i for i in found["messageSearchResultItems"]}
    assert found["totalCount"] == 2
    assert (items["c2c_bob"]["messageCount"], items["c2c_bob"]["messageList"]) == (2, [])  # text and custom desc
    assert (items["c2c_carol"]["messageCount"], texts(items["c2c_carol"])) == (1, ["the report is late"])
    lunch = await alice.search(keywordList=["lunch"])
    assert {i["conversationID"] for i in lunch["messageSearchResultItems"]} == {"c2c_bob", "c2c_carol", f"group_{gid}"}
    # paging over conversations
    first = await alice.search(keywordList=["lunch"], pageSize=2, pageIndex=0)
    second = await alice.search(keywordList=["lunch"], pageSize=2, pageIndex=1)
    assert (first["totalCount"], len(first["messageSearchResultItems"]), len(second["messageSearchResultItems"])) == (
        3,
        2,
        1,
    )


async def test_senders_types_and_time_range(chats: tuple[Chatter, str], clock: ManualClock) -> None:
    alice, gid = chats
    by_bob = await alice.search(userIDList=["bob"])
    assert {i["conversationID"]: i["messageCount"] for i in by_bob["messageSearchResultItems"]} == {
        "c2c_bob": 2,
        f"group_{gid}": 1,
    }
    custom = await alice.search(messageTypeList=["V2TIM_ELEM_TYPE_CUSTOM"], conversationID="c2c_bob")
    assert texts(custom["messageSearchResultItems"][0]) == ["Report ready"]
    page = await alice.search(userIDList=["alice"], conversationID="c2c_bob", pageSize=1, pageIndex=1)
    assert (page["totalCount"], texts(page["messageSearchResultItems"][0])) == (2, ["Lunch at noon?"])
    # only what was sent more than half an hour ago: the first message
    early = await alice.search(keywordList=["noon"], searchTimePosition=int(clock.now()) - 1800)
    assert [texts(i) for i in early["messageSearchResultItems"]] == [["Lunch at noon?"]]
    # within the last 10 minutes: the later one only
    recent = await alice.search(keywordList=["noon"], conversationID="c2c_bob", searchTimePeriod=600)
    assert texts(recent["messageSearchResultItems"][0]) == ["noon works, see you at the cafe"]
    # cleared history is not found
    await alice.q('mutation { clearC2CHistoryMessage(userID: "bob") }')
    assert (await alice.search(keywordList=["noon"]))["totalCount"] == 0


async def test_search_refusals(chats: tuple[Chatter, str], client: HTTPClient) -> None:
    alice, gid = chats
    bad = [
        ({}, Code.ERR_INVALID_PARAMETERS),  # nothing to search by
        ({"keywordList": list("abcdef")}, Code.ERR_INVALID_PARAMETERS),
        ({"keywordList": ["x"], "messageTypeList": ["V2TIM_ELEM_TYPE_FACE"]}, Code.ERR_INVALID_PARAMETERS),
        ({"userIDList": ["a", "b", "c", "d", "e", "f"]}, Code.ERR_INVALID_PARAMETERS),
        ({"keywordList": ["x"], "pageSize": 101}, Code.ERR_INVALID_PARAMETERS),
        ({"keywordList": ["x"], "conversationID": "nope"}, Code.ERR_INVALID_CONVERSATION),
    ]
    for param, code in bad:
        assert (await alice.call(SEARCH, {"p": param})).codes == [code], param
    dave = Chatter(client, await client.login("dave"))
    outsider = await dave.call(SEARCH, {"p": {"keywordList": ["lunch"], "conversationID": f"group_{gid}"}})
    assert outsider.codes == [Code.ERR_NO_PERMISSION]
