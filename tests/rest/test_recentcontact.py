"""`recentcontact/*` over real HTTP: the FIXTURES.md B11-B14 requests answered in Tencent's shape,
the server conversation list and its two cursors, and every write heard by the user's
conversationListener as the SDK call would be; bad requests answer Tencent's code and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.engine.rest import conversations as recentcontact
from gateway.errors import Code
from tests.rest.conftest import RestClient
from tests.support.clients import HTTPClient
from tests.support.conversations import User, user
from tests.support.servers import InProcessGateway

INVALID, NOT_IMPORTED = 50002, 50001
GET_LIST = "recentcontact/get_list"
DELETE = "recentcontact/delete"
MARK = "recentcontact/mark_contact"
CREATE = "recentcontact/create_contact_group"
GET_GROUPS = "recentcontact/get_contact_group"
SEARCH = "recentcontact/search_contact_group"
UPDATE = "recentcontact/update_contact_group"
DEL_GROUP = "recentcontact/del_contact_group"


def _list_body(who: str, flags: int = 7, **cursor: int) -> dict[str, Any]:
    return {"From_Account": who, "TimeStamp": 0, "StartIndex": 0, "TopTimeStamp": 0, "TopStartIndex": 0} | {
        "AssistFlags": flags,
        **cursor,
    }


def _fits(answer: Any, sample: Any) -> bool:
    """`answer` has every key of `sample` with a value of the same JSON type; each item of a list
    fits one of the sample's items (Tencent's lists mix shapes: C2C and group items)."""
    if isinstance(sample, dict):
        return isinstance(answer, dict) and all(k in answer and _fits(answer[k], v) for k, v in sample.items())
    if isinstance(sample, list):
        return isinstance(answer, list) and all(any(_fits(a, s) for s in sample) for a in answer) if sample else True
    return type(answer) is type(sample)


def _same_shape(answer: Any, sample: Any) -> None:
    assert _fits(answer, sample), (answer, sample)


async def _sessions(rest: RestClient, who: str, flags: int = 7) -> list[tuple[str, int]]:
    answer = await rest.ok(GET_LIST, _list_body(who, flags))
    assert answer["CompleteFlag"] == 1
    return [(s.get("To_Account") or s["GroupId"], s["TopFlag"]) for s in answer["SessionItem"]]


async def _group(owner: User, group_id: str) -> str:
    created = await owner.q(
        f'mutation {{ createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "g", groupID: "{group_id}") }}'
    )
    return str(created["createGroup"])


# ---- get_list ---------------------------------------------------------------------------------------
async def test_get_list_golden(rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: Any) -> None:
    """B11: id1 with C2C and group conversations, one pinned: the documented answer's keys and types."""
    id1 = await user(client, server, "id1")
    for peer in ("id2", "id4"):
        await server.gateway.backend.accounts.ensure_account(peer)
    await id1.send("id2", "a")
    await clock.advance(1)
    gid = await _group(id1, "id3")
    await id1.send(gid, "b", group=True)
    await clock.advance(1)
    await id1.send("id4", "c")
    await id1.q('mutation { pinConversation(conversationID: "c2c_id2", isPinned: true) }')
    answer = await rest.ok(GET_LIST, _list_body("id1"))
    sample = {
        "SessionItem": [
            {"Type": 1, "To_Account": "id2", "MsgTime": 1630997627, "TopFlag": 1},
            {"Type": 2, "GroupId": "id3", "MsgTime": 1630997628, "TopFlag": 1},
        ],
        "CompleteFlag": 1,
        "TimeStamp": 1631012800,
        "StartIndex": 0,
        "TopTimeStamp": 1631012800,
        "TopStartIndex": 0,
        "ErrorDisplay": "",
    }
    _same_shape(answer, sample)
    items = answer["SessionItem"]
    assert [(i["Type"], i.get("To_Account") or i["GroupId"], i["TopFlag"]) for i in items] == [
        (1, "id2", 1),
        (1, "id4", 0),
        (2, "id3", 0),
    ]
    assert set(items[2]) == {"Type", "GroupId", "MsgTime", "TopFlag"}
    assert [i["MsgTime"] for i in items[1:]] == [int(clock.now()), int(clock.now()) - 1]
    assert answer["CompleteFlag"] == 1


async def test_get_list_pages_pinned_and_normal_with_their_own_cursors(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recentcontact, "LIST_PAGE", 2)
    ann = await user(client, server, "ann")
    peers = [f"p{i}" for i in range(6)]
    for i, peer in enumerate(peers):
        await server.gateway.backend.accounts.ensure_account(peer)
        await ann.send(peer, "hi")
        if i % 2:  # pairs of conversations share a second: StartIndex tells them apart
            await clock.advance(1)
    for pinned in ("p1", "p4"):
        await ann.q(f'mutation {{ pinConversation(conversationID: "c2c_{pinned}", isPinned: true) }}')
    cursor = {"TimeStamp": 0, "StartIndex": 0, "TopTimeStamp": 0, "TopStartIndex": 0}
    pages = []
    while True:
        answer = await rest.ok(GET_LIST, {"From_Account": "ann", "AssistFlags": 7, **cursor})
        pages.append([(s["To_Account"], s["TopFlag"]) for s in answer["SessionItem"]])
        cursor = {k: answer[k] for k in cursor}
        if answer["CompleteFlag"]:
            break
        assert len(pages) < 6
    assert pages == [[("p4", 1), ("p1", 1)], [("p5", 0), ("p3", 0)], [("p2", 0), ("p0", 0)]]
    # without bit 2 every pinned conversation comes first, on the first page only
    first = await rest.ok(GET_LIST, _list_body("ann", flags=3))
    assert [s["To_Account"] for s in first["SessionItem"]] == ["p4", "p1", "p5", "p3"]
    second = await rest.ok(GET_LIST, _list_body("ann", 3, TimeStamp=first["TimeStamp"], StartIndex=first["StartIndex"]))
    assert [s["To_Account"] for s in second["SessionItem"]] == ["p2", "p0"]
    # without bit 0 pins do not reorder (TopFlag still says which are pinned)
    monkeypatch.setattr(recentcontact, "LIST_PAGE", 100)
    assert [p for p, _ in await _sessions(rest, "ann", flags=2)] == ["p5", "p4", "p3", "p2", "p1", "p0"]


async def test_get_list_leaves_out_empty_conversations_unless_asked(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: Any
) -> None:
    ann = await user(client, server, "ann")
    await server.gateway.backend.accounts.ensure_account("ben")
    await server.gateway.backend.accounts.ensure_account("cal")
    await ann.send("ben", "1")
    await ann.send("cal", "2")
    assert await ann.q('mutation { clearC2CHistoryMessage(userID: "ben") }')
    assert [p for p, _ in await _sessions(rest, "ann", flags=1)] == ["cal"]
    assert sorted(p for p, _ in await _sessions(rest, "ann", flags=3)) == ["ben", "cal"]


async def test_get_list_refusals(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    await user(client, server, "ann")
    body = _list_body("ann")
    for field in body:
        await rest.fails(GET_LIST, {k: v for k, v in body.items() if k != field}, INVALID)
    await rest.fails(GET_LIST, body | {"TimeStamp": "soon"}, INVALID)
    await rest.fails(GET_LIST, body | {"AssistFlags": 8}, INVALID)
    await rest.fails(GET_LIST, body | {"From_Account": "ghost"}, NOT_IMPORTED)
    await rest.fails(GET_LIST, body | {"From_Account": "x" * 33}, INVALID)


# ---- delete ------------------------------------------------------------------------------------------
async def test_delete_golden_and_events(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    """B12 both forms: deleteConversationList semantics, onConversationDeleted, history cleared."""
    id1 = await user(client, server, "id1")
    await server.gateway.backend.accounts.ensure_account("id2")
    await id1.send("id2", "hello")
    await _group(id1, "id2")
    await id1.send("id2", "to the group", group=True)
    await id1.drain()
    answer = await rest.ok(DELETE, {"From_Account": "id1", "Type": 1, "To_Account": "id2", "ClearRamble": 1})
    _same_shape(answer, {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "ErrorDisplay": ""})
    deleted = [e for e in await id1.drain() if e["type"] == "onConversationDeleted"]
    assert [e["conversationIDList"] for e in deleted] == [["c2c_id2"]]
    history = await id1.q('{ getC2CHistoryMessageList(userID: "id2", count: 10) { msgID } }')
    assert history["getC2CHistoryMessageList"] == []
    await rest.ok(DELETE, {"From_Account": "id1", "Type": 2, "ToGroupid": "id2", "ClearRamble": 0})
    deleted = [e for e in await id1.drain() if e["type"] == "onConversationDeleted"]
    assert [e["conversationIDList"] for e in deleted] == [["group_id2"]]
    assert await _sessions(rest, "id1") == []
    await id1.converged()
    # a conversation not in the list: nothing to do, nothing heard
    await rest.ok(DELETE, {"From_Account": "id1", "Type": 1, "To_Account": "nobody"})
    assert await id1.drain() == []


async def test_delete_refusals_change_nothing(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    ann = await user(client, server, "ann")
    await server.gateway.backend.accounts.ensure_account("ben")
    await ann.send("ben", "hi")
    await _group(ann, "club")
    await ann.drain()
    good = {"From_Account": "ann", "Type": 1, "To_Account": "ben", "ClearRamble": 1}
    await rest.fails(DELETE, {k: v for k, v in good.items() if k != "Type"}, INVALID)
    await rest.fails(DELETE, {k: v for k, v in good.items() if k != "To_Account"}, INVALID)
    await rest.fails(DELETE, good | {"Type": 3}, INVALID)
    await rest.fails(DELETE, good | {"ClearRamble": 2}, INVALID)
    await rest.fails(DELETE, good | {"From_Account": "ghost"}, NOT_IMPORTED)
    # the group form wants Tencent's own spelling, ToGroupid
    await rest.fails(DELETE, {"From_Account": "ann", "Type": 2, "ToGroupId": "club"}, INVALID)
    assert sorted(p for p, _ in await _sessions(rest, "ann", flags=3)) == ["ben", "club"]
    assert await ann.drain() == []


# ---- mark_contact ------------------------------------------------------------------------------------
async def test_mark_contact_golden_and_events(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    """B13: bits 1-3 and a custom mark: markConversation (V2TIM markType 1, 2, 4) and customData."""
    user0 = await user(client, server, "user0")
    await server.gateway.backend.accounts.ensure_account("user1")
    await user0.send("user1", "hi")
    await user0.drain()
    body = {
        "From_Account": "user0",
        "MarkItem": [
            {
                "OptType": 3,
                "ContactItem": {"Type": 1, "To_Account": "user1"},
                "SetMark": [1, 2, 3],
                "CustomMark": "abcd",
            }
        ],
    }
    answer = await rest.ok(MARK, body)
    sample = {
        "ResultItem": [
            {"OptType": 3, "ContactItem": {"Type": 1, "To_Account": "user1"}, "ResultCode": 0, "ResultInfo": ""}
        ],
        "ErrorDisplay": "",
    }
    _same_shape(answer, sample)
    assert answer["ResultItem"] == sample["ResultItem"]
    events = await user0.drain()
    assert [e["type"] for e in events] == ["onConversationChanged", "onConversationChanged"]
    conv = user0.mirror["c2c_user1"]
    assert (conv["markList"], conv["customData"]) == ([1, 2, 4], "abcd")
    # clear bit 2, set an extended bit (33 = markType 1 << 32); an unknown conversation fails alone
    answer = await rest.ok(
        MARK,
        {
            "From_Account": "user0",
            "MarkItem": [
                {"OptType": 1, "ContactItem": {"Type": 1, "To_Account": "user1"}, "SetMark": [33], "ClearMark": [2]},
                {"OptType": 2, "ContactItem": {"Type": 2, "ToGroupId": "nogroup"}, "CustomMark": "x"},
            ],
        },
    )
    assert [r["ResultCode"] for r in answer["ResultItem"]] == [0, Code.ERR_INVALID_CONVERSATION]
    assert answer["ResultItem"][1]["ContactItem"] == {"Type": 2, "ToGroupId": "nogroup"}
    await user0.drain()
    assert user0.mirror["c2c_user1"]["markList"] == [1, 4]
    marks = await rest.ok(SEARCH, {"From_Account": "user0", "ContactItem": [{"Type": 1, "To_Account": "user1"}]})
    assert marks["ContactResultItem"][0]["StandardMark"] == format((1 << 32) | 0b101, "b")
    await user0.converged()


async def test_mark_contact_refusals_change_nothing(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    ann = await user(client, server, "ann")
    await server.gateway.backend.accounts.ensure_account("ben")
    await ann.send("ben", "hi")
    await ann.drain()
    item = {"OptType": 1, "ContactItem": {"Type": 1, "To_Account": "ben"}, "SetMark": [1]}
    await rest.fails(MARK, {"From_Account": "ann", "MarkItem": [item] * 101}, Code.ERR_CONVERSATION_MARK_PER_CALL)
    await rest.fails(MARK, {"From_Account": "ann", "MarkItem": []}, Code.ERR_CONVERSATION_MARK_PER_CALL)
    await rest.fails(MARK, {"From_Account": "ann"}, INVALID)
    for bad in (
        item | {"SetMark": [65]},
        item | {"SetMark": [0]},
        item | {"SetMark": ["1"]},
        {"OptType": 1, "ContactItem": {"Type": 1, "To_Account": "ben"}},  # nothing to set or clear
        item | {"OptType": 4},
        {"OptType": 2, "ContactItem": {"Type": 1, "To_Account": "ben"}, "CustomMark": "x" * 257},
        {"OptType": 2, "ContactItem": {"Type": 1, "To_Account": "ben"}},
    ):
        # a bad item refuses the whole call before any item is applied
        await rest.fails(MARK, {"From_Account": "ann", "MarkItem": [item, bad]}, INVALID)
    await rest.fails(MARK, {"From_Account": "ghost", "MarkItem": [item]}, NOT_IMPORTED)
    assert await ann.drain() == []
    found = await rest.ok(SEARCH, {"From_Account": "ann", "ContactItem": [{"Type": 1, "To_Account": "ben"}]})
    assert found["ContactResultItem"] == []


# ---- conversation groups -----------------------------------------------------------------------------
async def test_contact_group_golden(rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: Any) -> None:
    """B14: create_contact_group, then get_contact_group with marks, a custom mark and groups."""
    user15 = await user(client, server, "user15")
    await server.gateway.backend.accounts.ensure_account("user0")
    await user15.send("user0", "hi")
    gid = await _group(user15, "team-1N3RSUYG2")
    await user15.send(gid, "all", group=True)
    await user15.drain()
    body = {
        "From_Account": "user15",
        "GroupContactItem": [{"GroupName": "test0", "ContactItem": [{"Type": 1, "To_Account": "user0"}]}],
    }
    created = await rest.ok(CREATE, body)
    _same_shape(
        created,
        {
            "GroupResultItem": [
                {
                    "GroupItem": {"GroupName": "test2", "GroupId": 2},
                    "ResultItem": [
                        {"ContactItem": {"Type": 1, "To_Account": "user1"}, "ResultCode": 0, "ResultInfo": ""}
                    ],
                }
            ],
            "ErrorDisplay": "",
        },
    )
    [result] = created["GroupResultItem"]
    assert result["GroupItem"] == {"GroupName": "test0", "GroupId": 1}
    assert result["ResultItem"] == [
        {"ContactItem": {"Type": 1, "To_Account": "user0"}, "ResultCode": 0, "ResultInfo": ""}
    ]
    events = await user15.drain()
    assert [e["type"] for e in events if "Group" in e["type"]] == ["onConversationGroupCreated"]
    assert [c["conversationID"] for c in events[0]["conversationList"]] == ["c2c_user0"]
    await rest.ok(
        CREATE,
        body | {"GroupContactItem": [{"GroupName": "test10", "ContactItem": [{"Type": 1, "To_Account": "user0"}]}]},
    )
    await clock.advance(5)
    await rest.ok(
        MARK,
        {
            "From_Account": "user15",
            "MarkItem": [
                {"OptType": 1, "ContactItem": {"Type": 1, "To_Account": "user0"}, "SetMark": [1, 4]},
                {"OptType": 3, "ContactItem": {"Type": 2, "ToGroupId": gid}, "SetMark": [1], "CustomMark": "abcd"},
            ],
        },
    )
    answer = await rest.ok(GET_GROUPS, {"From_Account": "user15", "StartIndex": 0})
    sample: dict[str, Any] = {
        "ContactItem": [
            {"Type": 1, "To_Account": "teacher4", "StandardMark": "111001", "ContactGroupId": [1, 2], "Timestamp": 1},
            {"Type": 2, "ToGroupId": "@TGS#1N3RSUYG2", "StandardMark": "111001", "CustomMark": "abcd", "Timestamp": 1},
        ],
        "GroupItem": [{"GroupName": "test1x", "GroupId": 1}, {"GroupName": "test10", "GroupId": 2}],
        "CompleteFlag": 1,
        "NextStartIndex": 0,
    }
    _same_shape(answer, sample)
    c2c, group = answer["ContactItem"]
    for got, want in zip(answer["ContactItem"], sample["ContactItem"], strict=True):
        assert set(got) == set(want)
        _same_shape(got, want)
    assert (c2c["To_Account"], c2c["StandardMark"], c2c["ContactGroupId"]) == ("user0", "1001", [1, 2])
    assert (group["ToGroupId"], group["StandardMark"], group["CustomMark"]) == (gid, "1", "abcd")
    assert c2c["Timestamp"] == group["Timestamp"] == int(clock.now())
    assert answer["GroupItem"] == [{"GroupName": "test0", "GroupId": 1}, {"GroupName": "test10", "GroupId": 2}]
    assert (answer["CompleteFlag"], answer["NextStartIndex"]) == (1, 0)


async def test_contact_groups_update_search_delete_and_events(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    ann = await user(client, server, "ann")
    for peer in ("ben", "cal"):
        await server.gateway.backend.accounts.ensure_account(peer)
        await ann.send(peer, "hi")
    await ann.drain()
    ben, cal = {"Type": 1, "To_Account": "ben"}, {"Type": 1, "To_Account": "cal"}
    await rest.ok(CREATE, {"From_Account": "ann", "GroupContactItem": [{"GroupName": "work", "ContactItem": [ben]}]})
    renamed = await rest.ok(
        UPDATE,
        {
            "From_Account": "ann",
            "UpdateType": 1,
            "UpdateGroup": {"UpdateGroupType": 1, "OldGroupName": "work", "NewGroupName": "job"},
        },
    )
    assert renamed["UpdateGroupResult"] == {
        "UpdateGroupType": 1,
        "GroupName": "job",
        "GroupId": 1,
        "OldGroupName": "work",
        "ContactResultItem": [],
    }
    members = {
        "From_Account": "ann",
        "UpdateType": 1,
        "UpdateGroup": {
            "UpdateGroupType": 2,
            "OldGroupName": "job",
            "ContactUpdateItem": [
                {"ContactOptType": 1, "ContactItem": cal},
                {"ContactOptType": 2, "ContactItem": ben},
                {"ContactOptType": 1, "ContactItem": {"Type": 1, "To_Account": "nobody"}},
            ],
        },
    }
    changed = await rest.ok(UPDATE, members)
    _same_shape(
        changed,
        {
            "UpdateType": 1,
            "UpdateGroupResult": {
                "UpdateGroupType": 2,
                "GroupName": "test1",
                "GroupId": 1,
                "OldGroupName": "test1",
                "ContactResultItem": [
                    {
                        "ContactOptType": 1,
                        "ContactItem": {"Type": 1, "To_Account": "user1"},
                        "ResultCode": 0,
                        "ResultInfo": "",
                    }
                ],
            },
        },
    )
    results = changed["UpdateGroupResult"]["ContactResultItem"]
    assert [(r["ContactOptType"], r["ContactItem"]["To_Account"], r["ResultCode"]) for r in results] == [
        (1, "cal", 0),
        (2, "ben", 0),
        (1, "nobody", Code.ERR_INVALID_CONVERSATION),
    ]
    found = await rest.ok(SEARCH, {"From_Account": "ann", "ContactItem": [ben, cal]})
    assert [(c["To_Account"], c["ContactGroupId"]) for c in found["ContactResultItem"]] == [("cal", [1])]
    assert found["GroupItem"] == [{"GroupName": "job", "GroupId": 1}]
    deleted = await rest.ok(DEL_GROUP, {"From_Account": "ann", "GroupName": ["job"]})
    assert deleted["GroupItem"] == [{"GroupName": "job", "GroupId": 1}]
    await rest.fails(DEL_GROUP, {"From_Account": "ann", "GroupName": ["job"]}, Code.ERR_CONVERSATION_GROUP_NOT_FOUND)
    kinds = [e["type"] for e in await ann.drain() if e["type"] != "onConversationChanged"]
    assert kinds == [
        "onConversationGroupCreated",
        "onConversationGroupNameChanged",
        "onConversationsAddedToGroup",
        "onConversationsDeletedFromGroup",
        "onConversationGroupDeleted",
    ]
    await ann.converged()
    # a new group gets a new ID
    again = await rest.ok(
        CREATE, {"From_Account": "ann", "GroupContactItem": [{"GroupName": "job", "ContactItem": [ben]}]}
    )
    assert again["GroupResultItem"][0]["GroupItem"] == {"GroupName": "job", "GroupId": 2}


async def test_contact_group_refusals_change_nothing(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    ann = await user(client, server, "ann")
    await server.gateway.backend.accounts.ensure_account("ben")
    await ann.send("ben", "hi")
    ben = {"Type": 1, "To_Account": "ben"}

    def create(name: str, contacts: list[Any]) -> dict[str, Any]:
        return {"From_Account": "ann", "GroupContactItem": [{"GroupName": name, "ContactItem": contacts}]}

    await rest.ok(CREATE, create("work", [ben]))
    await ann.drain()
    await rest.fails(CREATE, create("work", [ben]), Code.ERR_CONVERSATION_GROUP_EXISTS)
    await rest.fails(CREATE, create("n" * 33, [ben]), Code.ERR_CONVERSATION_GROUP_NAME)
    await rest.fails(CREATE, create("x", []), Code.ERR_CONVERSATION_MARK_PER_CALL)
    await rest.fails(CREATE, create("x", [ben] * 101), Code.ERR_CONVERSATION_MARK_PER_CALL)
    await rest.fails(CREATE, create("x", [{"Type": 2, "To_Account": "ben"}]), INVALID)
    two = {"From_Account": "ann", "GroupContactItem": create("x", [ben])["GroupContactItem"] * 2}
    await rest.fails(CREATE, two, INVALID)
    await rest.fails(CREATE, create("x", [ben]) | {"From_Account": "ghost"}, NOT_IMPORTED)
    rename = {
        "From_Account": "ann",
        "UpdateType": 1,
        "UpdateGroup": {"UpdateGroupType": 1, "OldGroupName": "nope", "NewGroupName": "job"},
    }
    await rest.fails(UPDATE, rename, Code.ERR_CONVERSATION_GROUP_NOT_FOUND)
    await rest.fails(UPDATE, rename | {"UpdateType": 2}, INVALID)
    await rest.fails(UPDATE, {"From_Account": "ann", "UpdateType": 1}, INVALID)
    await rest.fails(DEL_GROUP, {"From_Account": "ann", "GroupName": ["work", "job"]}, INVALID)
    await rest.fails(DEL_GROUP, {"From_Account": "ann", "GroupName": "work"}, INVALID)
    await rest.fails(SEARCH, {"From_Account": "ann", "ContactItem": [ben] * 301}, INVALID)
    await rest.fails(GET_GROUPS, {"From_Account": "ann"}, INVALID)
    for i in range(19):
        await rest.ok(CREATE, create(f"g{i}", [ben]))
    await rest.fails(CREATE, create("one-too-many", [ben]), Code.ERR_CONVERSATION_GROUPS_FULL)
    listing = await rest.ok(GET_GROUPS, {"From_Account": "ann", "StartIndex": 0})
    assert [g["GroupName"] for g in listing["GroupItem"]] == ["work", *(f"g{i}" for i in range(19))]
    assert [g["GroupId"] for g in listing["GroupItem"]] == list(range(1, 21))
    names = {e.get("groupName") for e in await ann.drain() if e["type"] == "onConversationGroupCreated"}
    assert names == {f"g{i}" for i in range(19)}
