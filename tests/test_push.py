"""V2TIMOfflinePushManager end to end: pushes leave the gateway as signed webhook calls to a real
local HTTP receiver, only for users with no app in the foreground, by the SDK's rules; a failing
receiver gets retries, a refusing one does not."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.config import ConfigError, Settings, load_settings
from gateway.engine.push import worker as push_worker
from gateway.errors import Code
from tests.conftest import SECRET
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway

PUSH_SECRET = "webhook-secret-0123456789abcdef"
SEND = """mutation($id: String!, $to: String, $g: String, $o: Boolean!, $p: OfflinePushInfoInput) {
  sendMessage(id: $id, receiver: $to, groupID: $g, onlineUserOnly: $o, offlinePushInfo: $p) { msgID } }"""
WAIT = 10.0


@dataclass
class Receiver:
    url: str = ""
    calls: asyncio.Queue[tuple[dict[str, str], bytes]] = field(default_factory=asyncio.Queue)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200

    async def next(self) -> tuple[dict[str, str], dict[str, Any]]:
        headers, body = await asyncio.wait_for(self.calls.get(), WAIT)
        return headers, json.loads(body)

    async def next_body(self) -> dict[str, Any]:
        return (await self.next())[1]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver()

    async def push(request: Request) -> Response:
        await got.calls.put(({k.lower(): v for k, v in request.headers.items()}, await request.body()))
        return Response(status_code=got.statuses.pop(0) if got.statuses else 200)

    app = Starlette(routes=[Route("/push", push, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the receiver could not start: say why
        await asyncio.sleep(0.01)
    got.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/push"
    yield got
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture
def settings(sdkappid: int, redis_url: str, redis_is_cluster: bool, receiver: Receiver, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        sdkappid=sdkappid,
        secret_key=SECRET,
        redis_url=redis_url,
        redis_cluster=redis_is_cluster,
        rate_limit_per_second=0,
        push_webhook_url=receiver.url,
        push_webhook_secret=PUSH_SECRET,
    )


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push_worker, "RETRY_BACKOFF_SECONDS", (0.05, 0.1, 0.2))


class User:
    def __init__(self, client: HTTPClient, name: str, token: str) -> None:
        self.client, self.name, self.token = client, name, token

    async def q(self, doc: str, variables: dict[str, Any] | None = None) -> Any:
        return (await self.client.gql(doc, variables, token=self.token)).ok()

    async def send(self, to: str, text: str = "hello", *, group: bool = False, **options: Any) -> None:
        created = (await self.q("mutation($t: String!) { createTextMessage(text: $t) { id } }", {"t": text}))[
            "createTextMessage"
        ]["id"]
        await self.send_created(created, to, group=group, **options)

    async def send_created(self, created: str, to: str, *, group: bool = False, **options: Any) -> None:
        variables = {"id": created, "to": None if group else to, "g": to if group else None, "o": False, "p": None}
        variables.update(options)
        await self.q(SEND, variables)


async def user(client: HTTPClient, name: str, *, token: str | None = "", platform: str = "ios") -> User:
    """A logged-in user; with a push token unless token is None."""
    u = User(client, name, await client.login(name, platform=platform))
    if token is not None:
        await u.q(f'mutation {{ setOfflinePushConfig(businessID: 1234, token: "{token or "tok-" + name}") }}')
    return u


async def test_a_push_is_signed_and_says_what_the_message_says(
    client: HTTPClient, server: InProcessGateway, receiver: Receiver
) -> None:
    alice = await user(client, "alice", token=None)
    bob = await user(client, "bob")
    await alice.q('mutation { setSelfInfo(nickName: "Alice") { userID } }')
    await alice.send("bob", "hello bob")
    headers, body = await receiver.next()
    raw = json.dumps(body, separators=(",", ":")).encode()  # the gateway sends compact JSON
    expected = hmac.new(PUSH_SECRET.encode(), headers["x-imql-timestamp"].encode() + b"." + raw, hashlib.sha256)
    assert headers["x-imql-signature"] == "sha256=" + expected.hexdigest()
    assert abs(int(headers["x-imql-timestamp"]) - time.time()) < 60
    assert headers["content-type"] == "application/json"
    device = body["devices"][0]
    assert (body["sdkAppID"], body["toUserID"], len(body["devices"])) == (server.settings.sdkappid, "bob", 1)
    assert (device["platform"], device["businessID"], device["token"]) == ("ios", 1234, "tok-bob")
    content = body["content"]
    assert (content["userID"], content["sender"], content["conversationID"]) == ("bob", "alice", "c2c_alice")
    assert (content["title"], content["desc"], content["badge"]) == ("Alice", "hello bob", 1)
    # offlinePushInfo overrides what the push shows
    push = {"title": "Call", "desc": "Alice is calling", "ext": '{"k":1}', "IOSSound": "ring.caf"}
    await alice.send("bob", "ignored", p=push)
    content = (await receiver.next_body())["content"]
    assert (content["title"], content["desc"], content["ext"], content["badge"]) == (
        "Call",
        "Alice is calling",
        '{"k":1}',
        2,
    )
    assert content["options"]["IOSSound"] == "ring.caf"
    assert bob.name == "bob"


async def test_only_users_with_no_app_in_the_foreground_get_pushes(
    client: HTTPClient, server: InProcessGateway, receiver: Receiver
) -> None:
    alice = await user(client, "alice", token=None)
    bob = await user(client, "bob")
    await user(client, "carol")
    ws = await WSClient.connect(server.ws_url, bob.token)
    await ws.subscribe("subscription { advancedMsgListener { __typename } }")
    await asyncio.sleep(0.1)  # the subscription holds its presence lease
    await alice.send("bob", "while bob looks")
    await alice.send("carol", "marker")  # pushes are handled in order: this one comes first
    assert (await receiver.next_body())["toUserID"] == "carol"
    await bob.q("mutation { doBackground(unreadCount: 1) }")
    await alice.send("bob", "after bob left the app")
    assert (await receiver.next_body())["content"]["desc"] == "after bob left the app"
    await bob.q("mutation { doForeground(unreadCount: 0) }")
    await alice.send("bob", "bob is back")
    await alice.send("carol", "marker 2")
    assert (await receiver.next_body())["content"]["desc"] == "marker 2"
    await ws.close()
    await asyncio.sleep(0.1)  # the closed subscription's lease is gone
    await alice.send("bob", "bob closed the app")
    assert (await receiver.next_body())["content"]["desc"] == "bob closed the app"
    # logging out stops the device's pushes
    await bob.q("mutation { logout }")
    await alice.send("bob", "to a logged-out bob")
    await alice.send("carol", "marker 3")
    assert (await receiver.next_body())["content"]["desc"] == "marker 3"
    assert receiver.calls.empty()


async def test_the_sdk_rules_decide_what_is_pushed(
    client: HTTPClient, server: InProcessGateway, receiver: Receiver
) -> None:
    alice = await user(client, "alice", token=None)
    await user(client, "bob")
    await alice.send("bob", "online only", o=True)
    await alice.send("bob", "no push", p={"disablePush": True})
    silent = await alice.q('mutation { createCustomMessage(data: "{}") { id } }')
    await alice.send_created(silent["createCustomMessage"]["id"], "bob")
    described = await alice.q('mutation { createCustomMessage(data: "{}", desc: "You have a task") { id } }')
    await alice.send_created(described["createCustomMessage"]["id"], "bob")
    assert (await receiver.next_body())["content"]["desc"] == "You have a task"
    # a receive option other than RECEIVE: no pushes from that conversation
    bob = await user(client, "bob", token="tok-bob-2")
    await bob.q('mutation { setC2CReceiveMessageOpt(userIDList: ["alice"], opt: V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE) }')
    await alice.send("bob", "muted")
    await bob.q('mutation { setC2CReceiveMessageOpt(userIDList: ["alice"], opt: V2TIM_RECEIVE_MESSAGE) }')
    await alice.send("bob", "unmuted")
    body = await receiver.next_body()
    assert (body["content"]["desc"], body["devices"][0]["token"]) == ("unmuted", "tok-bob-2")
    assert receiver.calls.empty()


async def test_group_messages_push_to_the_other_members(
    client: HTTPClient, server: InProcessGateway, receiver: Receiver
) -> None:
    alice = await user(client, "alice")
    await user(client, "bob")
    await user(client, "carol")
    gid = (
        await alice.q(
            'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "Ops",'
            ' memberListMap: [{userID: "bob"}, {userID: "carol"}]) }'
        )
    )["createGroup"]
    await alice.send(gid, "deploy at 5", group=True)
    bodies = [await receiver.next_body(), await receiver.next_body()]
    assert sorted(b["toUserID"] for b in bodies) == ["bob", "carol"]  # never the sender
    for b in bodies:
        assert (b["content"]["title"], b["content"]["desc"], b["content"]["conversationID"]) == (
            "Ops",
            "deploy at 5",
            f"group_{gid}",
        )
    await asyncio.sleep(0.3)
    assert receiver.calls.empty()


async def test_a_failing_receiver_gets_retries_a_refusing_one_does_not(
    client: HTTPClient, server: InProcessGateway, receiver: Receiver
) -> None:
    alice = await user(client, "alice", token=None)
    await user(client, "bob")
    receiver.statuses = [503, 502]
    await alice.send("bob", "retry me")
    attempts = [await receiver.next_body() for _ in range(3)]
    assert [a["content"]["desc"] for a in attempts] == ["retry me"] * 3
    receiver.statuses = [400]
    await alice.send("bob", "refused")
    assert (await receiver.next_body())["content"]["desc"] == "refused"
    await alice.send("bob", "next")
    assert (await receiver.next_body())["content"]["desc"] == "next"  # not a retry of "refused"


async def test_push_config_arguments_are_checked(client: HTTPClient, server: InProcessGateway) -> None:
    bob = await user(client, "bob", token=None)
    for doc in (
        'mutation { setOfflinePushConfig(businessID: 1, token: "") }',
        'mutation { setOfflinePushConfig(businessID: -1, token: "t") }',
        "mutation { setOfflinePushConfig(businessID: 1) }",
        "mutation { doBackground(unreadCount: -1) }",
        "mutation { doBackground }",
    ):
        assert (await client.gql(doc, token=bob.token)).codes == [Code.ERR_INVALID_PARAMETERS], doc
    assert (await client.gql("mutation { doForeground }")).codes == [Code.ERR_SDK_NOT_LOGGED_IN]


def test_the_webhook_needs_an_http_url_and_a_secret() -> None:
    with pytest.raises(ConfigError, match="SECRET"):
        load_settings({"IMQL_PUSH_WEBHOOK_URL": "https://push.example.com/hook"})
    with pytest.raises(ConfigError, match="http"):
        load_settings({"IMQL_PUSH_WEBHOOK_URL": "ftp://x", "IMQL_PUSH_WEBHOOK_SECRET": PUSH_SECRET})
    settings = load_settings(
        {"IMQL_PUSH_WEBHOOK_URL": "https://push.example.com/hook", "IMQL_PUSH_WEBHOOK_SECRET": PUSH_SECRET}
    )
    assert (settings.push_webhook_url, settings.push_webhook_secret) == ("https://push.example.com/hook", PUSH_SECRET)


async def test_a_device_replaced_by_a_newer_login_or_kicked_gets_no_more_pushes(
    client: HTTPClient, server: InProcessGateway, receiver: Receiver
) -> None:
    from gateway.push.devices import SESSION_ACTIVE
    from gateway.session.pool import STATE_ACTIVE

    assert SESSION_ACTIVE == STATE_ACTIVE  # the push side reads the state the session side writes
    alice = await user(client, "alice", token=None)
    await user(client, "bob")  # bob's phone registers its token, then bob logs in on another phone
    await client.login("bob", platform="ios")  # same platform: the first phone's session ends (6208)
    await alice.send("bob", "to the replaced phone")
    await user(client, "carol")
    await alice.send("carol", "marker")
    assert (await receiver.next_body())["content"]["desc"] == "marker"
    # a device of a session ended by the REST kick stops too
    dave = await user(client, "dave")
    await alice.send("dave", "before the kick")
    assert (await receiver.next_body())["toUserID"] == "dave"
    await server.gateway.sessions.kick_all("dave")
    await alice.send("dave", "after the kick")
    await alice.send("carol", "marker 2")
    assert (await receiver.next_body())["content"]["desc"] == "marker 2"
    assert receiver.calls.empty()
    assert dave.name == "dave"
