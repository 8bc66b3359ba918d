"""Real JavaScript clients against a real gateway: each test runs one Node scenario from
clients/typescript/tests (graphql-ws, Apollo Client's normalized cache, graphql-sse, Apollo's
persisted-queries link, apollo-upload-client), built with the kit's generated documents, and checks
the JSON it prints. Skipped without node and npm (tests/support/node_kit.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.clients import HTTPClient
from tests.support.node_kit import ScenarioResult, ensure_built, run_scenario
from tests.support.servers import InProcessGateway
from tests.test_media import png


@pytest.fixture(scope="session")
def scenarios() -> Path:
    return ensure_built()


async def scenario(
    scenarios: Path,
    name: str,
    server: InProcessGateway,
    client: HTTPClient,
    *users: str,
    env: dict[str, str] | None = None,
) -> ScenarioResult:
    """Runs a scenario with the gateway's URLs and a UserSig for each user (minted on the gateway's clock)."""
    given = {
        "IMQL_HTTP_URL": f"{server.base_url}/graphql",
        "IMQL_WS_URL": server.ws_url,
        "IMQL_USER_SIGS": json.dumps({user: client.sig(user) for user in users}),
    }
    return await run_scenario(scenarios, name, {**given, **(env or {})})


async def test_graphql_ws_receives_resumes_after_a_drop_and_from_a_cursor(
    scenarios: Path, server: InProcessGateway, client: HTTPClient
) -> None:
    result = (await scenario(scenarios, "graphql-ws", server, client, "alice", "bob")).json()
    # m1 live, m2 sent while the connection was down and delivered once after graphql-ws reconnected
    assert result["texts"] == ["m1", "m2"]
    assert result["senders"] == ["bob", "bob"]
    assert len(set(result["messageIDs"])) == 2
    assert all(result["messageIDs"])
    # connections: the first, its reconnect, and a new one once the first two subscriptions ended (lazy)
    assert result["reconnects"] == [False, True, False]
    assert result["cursorAfterM1"] == result["cursors"][0]
    assert result["followErrors"] == 0
    # a new subscription from the last cursor: only what came after it
    assert result["resumedTexts"] == ["m3"]
    # the conversation listener, also followed from eventCursor, saw alice's conversation with bob
    assert "NewConversationEvent" in result["conversationEvents"], result["conversationEvents"]
    assert result["conversationIDs"] == ["c2c_bob"]
    assert result["refusal"] == {"code": 6017, "codeName": "ERR_INVALID_PARAMETERS"}


async def test_apollo_cache_without_type_policies_keeps_messages_apart_and_follows_conversation_events(
    scenarios: Path, server: InProcessGateway, client: HTTPClient
) -> None:
    result = (await scenario(scenarios, "apollo-cache", server, client, "alice", "bob")).json()
    # 4 messages in history are 4 entries, rendered as 4 distinct messages, newest first
    assert result["rendered"] == ["h4", "h3", "h2", "h1"]
    assert len(set(result["historyIDs"])) == 4
    assert result["messagesCachedAfterHistory"] == 4
    # the list's lastMessage is history's h4: the same id, so the same entry
    assert result["messagesCachedWithList"] == 4
    assert result["messagesCachedAtEnd"] == 5
    # the watched list followed bob's message and alice's read from conversationListener events alone
    assert result["snapshots"] == [
        {"unreadCount": 4, "lastText": "h4"},
        {"unreadCount": 5, "lastText": "h5"},
        {"unreadCount": 0, "lastText": "h5"},
    ]
    assert result["eventTypes"].count("ConversationChangedEvent") >= 2
    assert result["fetched"] == ["GetC2CHistoryMessageList", "GetConversationList", "MarkC2CMessageAsRead"]


async def test_graphql_sse_receives_resumes_from_a_cursor_and_reports_a_refusal(
    scenarios: Path, server: InProcessGateway, client: HTTPClient
) -> None:
    result = (await scenario(scenarios, "graphql-sse", server, client, "alice", "bob")).json()
    assert (result["firstTexts"], result["sender"]) == (["s1"], "bob")
    assert result["resumedTexts"] == ["s2"]
    requests = result["requests"]
    assert all(r["method"] == "POST" and r["accept"] == "text/event-stream" and r["authorized"] for r in requests)
    assert [(r["status"], r["type"].split(";")[0]) for r in requests] == [
        (200, "text/event-stream"),
        (200, "text/event-stream"),
        (400, "application/json"),  # the refusal before the stream: asked once, not retried
    ]
    assert result["refusal"] == {"code": 6017, "codeName": "ERR_INVALID_PARAMETERS"}


async def test_apollo_persisted_queries_link_misses_registers_then_hits(
    scenarios: Path, server: InProcessGateway, client: HTTPClient
) -> None:
    result = (await scenario(scenarios, "persisted-queries", server, client, "alice")).json()
    assert result["answers"] == [["alice"], ["alice"], ["alice"]]
    miss, register, hit, hit_get = result["exchanges"]
    assert len({x["hash"] for x in result["exchanges"]}) == 1
    assert miss["hash"]
    assert (miss["method"], miss["sentDocument"], miss["errors"]) == ("POST", False, ["PersistedQueryNotFound"])
    assert (register["sentDocument"], register["errors"], register["userIDs"]) == (True, [], ["alice"])
    assert register["documentSha256"] == register["hash"]
    for later, method in ((hit, "POST"), (hit_get, "GET")):
        assert (later["method"], later["sentDocument"], later["errors"], later["userIDs"]) == (
            method,
            False,
            [],
            ["alice"],
        )
    assert all(x["status"] == 200 for x in result["exchanges"])


async def test_apollo_upload_client_sends_an_image_bob_reads_with_his_urls(
    scenarios: Path, server: InProcessGateway, client: HTTPClient, tmp_path: Path
) -> None:
    image = tmp_path / "red.png"
    image.write_bytes(png(640, 400))
    run = await scenario(scenarios, "upload", server, client, "alice", "bob", env={"IMQL_IMAGE": str(image)})
    result = run.json()
    assert result["requests"] == [{"multipart": True}, {"multipart": False}]  # the upload, then the send
    assert result["senderView"] == ["V2TIM_IMAGE_TYPE_ORIGIN", "V2TIM_IMAGE_TYPE_THUMB", "V2TIM_IMAGE_TYPE_LARGE"]
    assert result["historyMsgID"] == result["sentMsgID"] != ""
    assert result["elemType"] == "V2TIM_ELEM_TYPE_IMAGE"
    origin, thumb, large = result["images"]
    assert (origin["type"], origin["width"], origin["height"], origin["size"]) == (
        "V2TIM_IMAGE_TYPE_ORIGIN",
        640,
        400,
        result["uploadedSize"],
    )
    assert (thumb["type"], large["type"]) == ("V2TIM_IMAGE_TYPE_THUMB", "V2TIM_IMAGE_TYPE_LARGE")
    assert thumb["width"] == 198  # the THUMB rendition is 198 wide (tests/test_media.py)
    assert large["width"] <= 720
    assert {i["signedFor"] for i in result["images"]} == {"bob"}
    assert (result["servedStatus"], result["servedSameBytes"]) == (200, True)


async def test_every_listener_document_follows_from_one_event_cursor(
    scenarios: Path, server: InProcessGateway, client: HTTPClient
) -> None:
    result = (await scenario(scenarios, "listeners", server, client, "alice", "bob")).json()
    assert result["errors"] == []
    heard = result["heard"]
    assert "SelfInfoUpdatedEvent" in heard["sdkListener"]
    assert "FriendApplicationListAddedEvent" in heard["friendshipListener"]
    assert "MemberInvitedEvent" in heard["groupListener"]
    assert "ReceiveNewInvitationEvent" in heard["signalingListener"]
    assert "RecvNewMessageEvent" in heard["advancedMsgListener"]
    assert "NewConversationEvent" in heard["conversationListener"]
    assert result["groupID"]
    assert result["inviteID"]
