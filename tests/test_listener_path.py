"""Listener subscriptions over graphql-transport-ws: no task while idle, released when done, and a
group event rendered once for every subscriber with the same document, each with its own cursor."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from gateway.errors import Code
from gateway.events import bus as bus_module
from gateway.events import mailbox as mailbox_module
from gateway.im.enums import UserStatusType
from gateway.im.events import OnUserStatusChanged
from gateway.im.model import UserStatus
from gateway.keys import Keys
from gateway.web.view import GraphQLView
from gateway.web.ws_protocols import ListenerOperation
from schema.execution.completion import BAIL
from schema.execution.listeners import EventRenderer
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway
from tests.support.sockets import open_connections, record_writes

MESSAGES = "subscription { advancedMsgListener { __typename ... on RecvNewMessageEvent { message { msgID } } } }"
LISTENERS = [
    "subscription { sdkListener { __typename } }",
    "subscription { friendshipListener { __typename } }",
    "subscription { groupListener { __typename } }",
    "subscription { conversationListener { __typename } }",
    "subscription { signalingListener { __typename } }",
]


def _plans(server: InProcessGateway) -> list[Any]:
    """The listener plans the server's schema has made so far."""
    for route in server.app.app.routes:
        view = getattr(route, "endpoint", None)
        if isinstance(view, GraphQLView):
            return list(view._fast_schema.listener_plans._plans.values())
    raise AssertionError("no GraphQL route")


def _renderer(server: InProcessGateway) -> EventRenderer:
    """The server's renderer, which its schema holds."""
    for route in server.app.app.routes:
        view = getattr(route, "endpoint", None)
        if isinstance(view, GraphQLView):
            return view._fast_schema.event_renderer
    raise AssertionError("no GraphQL route")


async def settle(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def meeting_group(client: HTTPClient, name: str) -> tuple[str, str]:
    """olive's token, and the ID of the meeting group `name` she creates."""
    owner = await client.login("olive")
    created = await client.gql(
        f'mutation {{ createGroup(groupType: V2TIM_GROUP_TYPE_MEETING, groupName: "{name}") }}', token=owner
    )
    return owner, str(created.ok()["createGroup"])


async def joined(client: HTTPClient, gid: str, name: str) -> str:
    """The token of user `name`, logged in and joined to the group."""
    token = await client.login(name)
    await client.gql(f'mutation {{ joinGroup(groupID: "{gid}") }}', token=token)
    return token


async def drain(ws: WSClient, op: str, seconds: float = 0.3) -> None:
    try:
        while True:
            await ws.next(op, timeout=seconds)
    except TimeoutError:
        return


async def test_idle_listener_subscriptions_hold_no_task(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    ws = await WSClient.connect(server.ws_url, alice)
    first = await ws.subscribe(MESSAGES)
    await send_text(client, bob, "one", to="alice")
    assert (await ws.next_event(first))["__typename"] == "RecvNewMessageEvent"
    await asyncio.sleep(0.2)
    tasks_with_one = len(asyncio.all_tasks())
    ops = [await ws.subscribe(doc) for doc in LISTENERS]
    await settle(lambda: server.gateway.dispatcher.subscriber_count == 1 + len(LISTENERS))
    for op in ops:
        await drain(ws, op)  # their opening events (connect, sync), then idle
    await send_text(client, bob, "two", to="alice")
    assert (await ws.next_event(first))["__typename"] == "RecvNewMessageEvent"
    await asyncio.sleep(0.2)
    # five more live subscriptions, and not one more task in the process
    assert len(asyncio.all_tasks()) == tasks_with_one
    await ws.close()


async def test_a_completed_or_dropped_listener_subscription_is_released(
    client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    gw = server.gateway
    ws = await WSClient.connect(server.ws_url, alice)
    op = await ws.subscribe(MESSAGES)
    await settle(lambda: gw.dispatcher.subscriber_count == 1)
    assert gw.expiry.watched == 1
    # presence is entered after the replay, a moment after the stream is followed: wait for it
    deadline = asyncio.get_running_loop().time() + 5.0
    while await gw.presence.online(["alice"]) != [True]:
        assert asyncio.get_running_loop().time() < deadline, "alice never counted as online"
        await asyncio.sleep(0.02)
    await ws.stop(op)
    await settle(lambda: gw.dispatcher.subscriber_count == 0)
    await settle(lambda: gw.expiry.watched == 0)
    # a message sent now reaches nobody on this connection, and nothing fails
    await send_text(client, bob, "unheard", to="alice")
    await ws.nothing_for(op, 0.3)
    # a connection that drops with live subscriptions releases them too
    await ws.subscribe(MESSAGES)
    await ws.subscribe(LISTENERS[0])
    await settle(lambda: gw.dispatcher.subscriber_count == 2)
    await ws.close()
    await settle(lambda: gw.dispatcher.subscriber_count == 0)
    await settle(lambda: gw.expiry.watched == 0)
    # the lease is dropped last, with the leases of the moment (gateway.batching): wait for it
    deadline = asyncio.get_running_loop().time() + 5.0
    while await gw.presence.online(["alice"]) != [False]:
        assert asyncio.get_running_loop().time() < deadline, "alice never went offline"
        await asyncio.sleep(0.02)


RESUMING_DOC = """subscription Resume($since: String) { advancedMsgListener(since: $since) { __typename
  ... on RecvNewMessageEvent { cursor message { textElem { text } } } } }"""


async def test_subscribers_resuming_from_their_own_cursors_share_a_group_events_render(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """`since` (each subscriber's own cursor, as after a restart) is no part of what is rendered:
    the group event is rendered once for all of them, and each still gets its own cursor."""
    owner, gid = await meeting_group(client, "resuming")
    members = []
    for name in ("r1", "r2", "r3"):
        token = await joined(client, gid, name)
        cursor = (await client.gql("query { eventCursor }", token=token)).ok()["eventCursor"]
        ws = await WSClient.connect(server.ws_url, token)
        members.append((ws, await ws.subscribe(RESUMING_DOC, {"since": cursor})))
    for ws, op in members:
        await drain(ws, op)  # the join tips of those who joined later
    renderer = _renderer(server)
    before = renderer.renders
    await send_text(client, owner, "once for all", group=gid)
    events = [await ws.next_event(op) for ws, op in members]
    assert renderer.renders - before == 1
    assert [e["message"]["textElem"]["text"] for e in events] == ["once for all"] * 3
    assert len({e["cursor"] for e in events}) == 3
    for ws, _ in members:
        await ws.close()


CURSORS_DOC = """subscription { advancedMsgListener { __typename
  ... on RecvNewMessageEvent { a: cursor message { textElem { text } } b: cursor } } }"""


async def test_a_group_event_is_rendered_once_and_every_cursor_field_is_the_subscribers(
    client: HTTPClient, server: InProcessGateway
) -> None:
    owner, gid = await meeting_group(client, "cursors")
    members = []
    for name in ("m1", "m2", "m3"):
        token = await joined(client, gid, name)
        ws = await WSClient.connect(server.ws_url, token)
        members.append((token, ws, await ws.subscribe(CURSORS_DOC)))
    for _, ws, op in members:
        await drain(ws, op)  # the join tips of those who joined later
    renderer = _renderer(server)
    before = renderer.renders
    # text that looks like a cursor hole must come through as it is
    await send_text(client, owner, "imql-cursor- {a} cursor", group=gid)
    events = [await ws.next_event(op) for _, ws, op in members]
    assert renderer.renders - before == 1
    assert [e["message"]["textElem"]["text"] for e in events] == ["imql-cursor- {a} cursor"] * 3
    assert all(e["a"] == e["b"] and e["a"] for e in events)
    assert len({e["a"] for e in events}) == 3
    # each cursor is its subscriber's own: resuming from it gives exactly what came after
    token, ws, _ = members[1]
    await ws.close()
    await send_text(client, owner, "later", group=gid)
    again = await WSClient.connect(server.ws_url, token)
    op = await again.subscribe(
        "subscription($c: String) { advancedMsgListener(since: $c) { __typename "
        "... on RecvNewMessageEvent { message { textElem { text } } } } }",
        {"c": events[1]["a"]},
    )
    assert (await again.next_event(op))["message"]["textElem"]["text"] == "later"
    await again.nothing_for(op, 0.3)
    for _, other, _ in members:
        await other.close()
    await again.close()


async def test_a_listener_subscription_that_fails_gets_its_error_then_complete(
    client: HTTPClient, server: InProcessGateway
) -> None:
    ws = await WSClient.connect(server.ws_url, "not-a-token")
    op = await ws.subscribe(MESSAGES)
    failed = await ws.next(op)
    assert failed["type"] == "next"
    assert failed["payload"]["data"] is None
    assert failed["payload"]["errors"][0]["extensions"]["code"] == Code.ERR_SDK_NOT_LOGGED_IN
    assert (await ws.next(op))["type"] == "complete"
    # the id is free again, and the connection still serves
    token = await client.login("alice")
    ws2 = await WSClient.connect(server.ws_url, token)
    await ws2.subscribe(MESSAGES)
    await settle(lambda: server.gateway.dispatcher.subscriber_count == 1)
    await ws.close()
    await ws2.close()


STATUS_DOC = """subscription($since: String) { sdkListener(since: $since) { __typename
  ... on UserStatusChangedEvent { cursor statusList { customStatus } } } }"""


async def test_a_listener_subscription_that_falls_behind_ends_with_a_cursor_that_resumes_without_loss(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbox_module, "MAILBOX_CAPACITY", 10)
    gw = server.gateway
    token = await client.login("alice")
    ws = await WSClient.connect(server.ws_url, token)
    op = await ws.subscribe(STATUS_DOC)
    await drain(ws, op)  # connecting, connected
    # 40 events appended with one poke, as an older gateway pokes (empty): the dispatcher reads them
    # in one go, more than the mailbox holds (each with a poke of its own would be delivered one by one)
    stream = gw.keys.user_events("alice")
    pipe = gw.redis.pipeline(transaction=False)
    for n in range(40):
        pipe.xadd(stream, bus_module._event_fields(status_marker(n)))
    pipe.publish(Keys.poke_channel(stream), "")
    await pipe.execute()
    ended = await ws.next(op)
    assert ended["type"] == "next"
    (error,) = ended["payload"]["errors"]
    assert error["extensions"]["code"] == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    assert (await ws.next(op))["type"] == "complete"
    found = re.search(r"since: '([^']+)'", error["message"])
    assert found is not None, error["message"]
    again = await ws.subscribe(STATUS_DOC, {"since": found.group(1)})
    numbers: list[int] = []
    while len(numbers) < 40:
        event = await ws.next_event(again)
        if event["__typename"] == "UserStatusChangedEvent":
            numbers.append(int(event["statusList"][0]["customStatus"]))
    assert numbers == list(range(40))
    await ws.close()


def status_marker(n: int) -> OnUserStatusChanged:
    return OnUserStatusChanged(
        statusList=[UserStatus(userID="bob", statusType=UserStatusType.V2TIM_USER_STATUS_ONLINE, customStatus=str(n))]
    )


async def test_a_group_event_reaches_its_subscribers_without_a_task_each(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """The dispatcher's wake-up drains, renders and writes in its own turn (gateway.lean.eager):
    a group message to many subscribers of one process makes no task per subscriber."""
    owner, gid = await meeting_group(client, "no tasks")
    members = []
    for name in ("t1", "t2", "t3", "t4"):
        token = await joined(client, gid, name)
        ws = await WSClient.connect(server.ws_url, token)
        members.append((ws, await ws.subscribe(CURSORS_DOC)))
    for ws, op in members:
        await drain(ws, op)  # the join tips of those who joined later
    loop = asyncio.get_running_loop()
    made: list[str] = []
    factory = loop.get_task_factory()

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        made.append(getattr(coro, "__qualname__", type(coro).__name__))
        return factory(loop, coro, **kwargs) if factory is not None else asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        await send_text(client, owner, "to all", group=gid)
        events = [await ws.next_event(op) for ws, op in members]
    finally:
        loop.set_task_factory(factory)
    assert [e["message"]["textElem"]["text"] for e in events] == ["to all"] * 4
    assert len({e["a"] for e in events}) == 4
    draining = [name for name in made if "_drain" in name or "_resumed" in name]
    assert draining == []
    for ws, _ in members:
        await ws.close()


MEMBER_DOCS = [
    CURSORS_DOC,
    "subscription { advancedMsgListener { ... on RecvNewMessageEvent { cursor message { msgID isSelf } } } }",
    "subscription { advancedMsgListener { ... on RecvNewMessageEvent { message { sender textElem { text } } } } }",
]


async def test_members_with_their_own_documents_each_get_their_own_payload_and_cursor(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """Deliveries decided for many members at once (EventStream._plain_group_delivery) are each
    member's own: its document, its cursor; not the sender's subscription (its copy comes from
    its other devices' from its own stream), not a member who silenced the group."""
    owner, gid = await meeting_group(client, "own docs")
    tokens = []
    for name in ("d1", "d2", "d3", "quiet"):
        token = await joined(client, gid, name)
        tokens.append(token)
    silenced = await client.gql(
        f'mutation {{ setGroupReceiveMessageOpt(groupID: "{gid}", opt: V2TIM_NOT_RECEIVE_MESSAGE) }}', token=tokens[3]
    )
    silenced.ok()
    subscribed = []
    for token, doc in zip(tokens, [*MEMBER_DOCS, MEMBER_DOCS[1]], strict=True):
        ws = await WSClient.connect(server.ws_url, token)
        subscribed.append((ws, await ws.subscribe(doc)))
    sender = await WSClient.connect(server.ws_url, owner)
    sender_op = await sender.subscribe(MEMBER_DOCS[1])
    for ws, op in [*subscribed, (sender, sender_op)]:
        await drain(ws, op)
    sent = await send_text(client, owner, "each their own", group=gid)
    first, second, third = [await ws.next_event(op) for ws, op in subscribed[:3]]
    assert set(first) == {"__typename", "a", "b", "message"}
    assert first["a"] == first["b"]
    assert first["message"] == {"textElem": {"text": "each their own"}}
    assert set(second) == {"cursor", "message"}
    assert second["message"]["isSelf"] is False
    assert third == {"message": {"sender": "olive", "textElem": {"text": "each their own"}}}
    assert first["a"] != second["cursor"]
    # the sending session's own subscription: not from the group's stream (nor from its own)
    await sender.nothing_for(sender_op, 0.3)
    quiet_ws, quiet_op = subscribed[3]
    await quiet_ws.nothing_for(quiet_op, 0.3)
    # the second member's cursor resumes right after it
    await subscribed[1][0].close()
    await send_text(client, owner, "after", group=gid)
    again = await WSClient.connect(server.ws_url, tokens[1])
    op = await again.subscribe(
        "subscription($c: String) { advancedMsgListener(since: $c) { "
        "... on RecvNewMessageEvent { message { textElem { text } } } } }",
        {"c": second["cursor"]},
    )
    assert (await again.next_event(op))["message"]["textElem"]["text"] == "after"
    await again.nothing_for(op, 0.3)
    assert sent is not None
    for ws, _ in subscribed:
        await ws.close()
    await sender.close()
    await again.close()


async def test_a_member_whose_socket_cannot_take_more_gets_a_groups_events_later_in_order(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """The fast path (ListenerOperation._write_now) writes only to a connection that takes frames
    now: a member whose write buffer is full (uvicorn's `writable` cleared) gets nothing written
    meanwhile, nor holds up the others, and gets every event in order once it drains. Each
    delivery is counted either way."""
    owner, gid = await meeting_group(client, "slow one")
    members = []
    for name in ("slow", "f1", "f2"):
        token = await joined(client, gid, name)
        ws = await WSClient.connect(server.ws_url, token)
        members.append((ws, await ws.subscribe(CURSORS_DOC)))
        if name == "slow":
            [slow] = open_connections()
    for ws, op in members:
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)  # rendered once, kept: the next ones go the fast way
    assert [(await ws.next_event(op))["message"]["textElem"]["text"] for ws, op in members] == ["one"] * 3
    delivered = server.gateway.metrics.events_delivered.labels("advancedMsgListener")
    before = delivered._value.get()

    writes = record_writes(slow)
    slow.writable.clear()
    for text in ("two", "three"):
        await send_text(client, owner, text, group=gid)
    for ws, op in members[1:]:
        assert [(await ws.next_event(op))["message"]["textElem"]["text"] for _ in range(2)] == ["two", "three"]
    assert writes == []
    slow.writable.set()
    ws, op = members[0]
    assert [(await ws.next_event(op))["message"]["textElem"]["text"] for _ in range(2)] == ["two", "three"]
    assert delivered._value.get() - before == 6
    for ws, _ in members:
        await ws.close()


async def test_a_member_whose_fast_delivery_fails_ends_with_an_error_and_the_others_go_on(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path runs in the dispatcher's turn: an error in it (here the render of one member's
    payload) ends that member's subscription with the error, as a drain that raises does, and
    neither stops the dispatcher nor the others' deliveries, now or later."""
    owner, gid = await meeting_group(client, "one fails")
    members = []
    for name in ("broken", "f1", "f2"):
        token = await joined(client, gid, name)
        ws = await WSClient.connect(server.ws_url, token)
        members.append((ws, await ws.subscribe(CURSORS_DOC)))
    for ws, op in members:
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)  # rendered once and kept: the next goes the fast way
    for ws, op in members:
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "one"
    payload_now = EventRenderer.payload_now

    def failing(renderer: EventRenderer, run: Any, delivery: Any) -> bytes | None:
        if run.context.viewer == "broken":
            raise ValueError("a bug in rendering")
        return payload_now(renderer, run, delivery)

    monkeypatch.setattr(EventRenderer, "payload_now", failing)
    await send_text(client, owner, "two", group=gid)
    ws, op = members[0]
    ended = await ws.next(op)
    assert ended["payload"]["errors"]
    assert (await ws.next(op))["type"] == "complete"
    await send_text(client, owner, "three", group=gid)
    for ws, op in members[1:]:
        assert [(await ws.next_event(op))["message"]["textElem"]["text"] for _ in range(2)] == ["two", "three"]
    for ws, _ in members:
        await ws.close()


NO_CURSOR_DOC = "subscription { advancedMsgListener { ... on RecvNewMessageEvent { message { textElem { text } } } } }"


async def test_a_group_event_is_written_by_the_wake_up_with_a_cursor_only_where_the_document_has_one(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group event is rendered once per document (by the first member's drain) and then written
    to each other member in the dispatcher's turn, through the connection's own writer
    (ListenerOperation._write_now), no drain: a document that renders cursors gets its own, which
    resumes right after the event; one that renders none gets the same payload as ever (the fast
    path makes no cursor for it)."""
    owner, gid = await meeting_group(client, "kept")
    members = []
    for name, doc in (("c1", CURSORS_DOC), ("c2", CURSORS_DOC), ("n1", NO_CURSOR_DOC), ("n2", NO_CURSOR_DOC)):
        token = await joined(client, gid, name)
        ws = await WSClient.connect(server.ws_url, token)
        members.append((name, ws, await ws.subscribe(doc), token))
    for _, ws, op, _ in members:
        await drain(ws, op)
    drained: list[str] = []
    original = ListenerOperation._drain

    async def recorded(operation: ListenerOperation, first: list[Any]) -> None:
        drained.append(operation.run.context.viewer[0])  # "c" or "n": the document it renders
        await original(operation, first)

    monkeypatch.setattr(ListenerOperation, "_drain", recorded)
    await send_text(client, owner, "two", group=gid)
    events = {name: await ws.next_event(op) for name, ws, op, _ in members}
    assert sorted(drained) == ["c", "n"]  # the first render of each document; the others, written at once
    for name in ("n1", "n2"):
        assert events[name] == {"message": {"textElem": {"text": "two"}}}
    for name in ("c1", "c2"):
        assert events[name]["message"] == {"textElem": {"text": "two"}}
        assert events[name]["a"] == events[name]["b"] != ""
    assert events["c1"]["a"] != events["c2"]["a"]
    # the cursor written by the fast path (whichever member that was) resumes right after the event
    for _, ws, _, _ in members:
        await ws.close()
    await send_text(client, owner, "three", group=gid)
    for name, _, _, token in members[:2]:
        again = await WSClient.connect(server.ws_url, token)
        op = await again.subscribe(
            "subscription($c: String) { advancedMsgListener(since: $c) { "
            "... on RecvNewMessageEvent { message { textElem { text } } } } }",
            {"c": events[name]["a"]},
        )
        assert (await again.next_event(op))["message"]["textElem"]["text"] == "three"
        await again.nothing_for(op, 0.3)
        await again.close()


ROOT_FIELD_DOCUMENTS = [  # one with a field error: a non-null field of the event's message made null
    "subscription { advancedMsgListener { __typename ... on RecvNewMessageEvent { cursor message { msgID sender "
    "textElem { text } } } } }",
    "subscription { advancedMsgListener { ... on RecvNewMessageEvent { message { sender } } } }",
]


@pytest.mark.parametrize("document", ROOT_FIELD_DOCUMENTS)
async def test_a_listener_event_executes_its_root_field_as_graphql_cores_operation_would(
    document: str, client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each event runs the listener field without graphql-core's operation scaffolding
    (SharedEventExecutor.root_field), or is completed without executing it at all
    (listeners._direct): the same payload as graphql-core's execute_operation gives the same
    event, for a document planned either way, field errors included."""
    from schema.execution import executor as executor_module
    from schema.execution import listeners as listeners_module
    from schema.listeners.common import EventTypes

    if document == ROOT_FIELD_DOCUMENTS[1]:  # the sender made null where the schema says String!
        original_to_graphql = EventTypes.to_graphql

        def senderless(self: Any, delivery: Any) -> Any:
            event = original_to_graphql(self, delivery)
            if hasattr(event, "message"):
                event.message.sender = None
            return event

        monkeypatch.setattr(EventTypes, "to_graphql", senderless)
    ran: list[str] = []
    original = executor_module.SharedEventExecutor._root_field_result

    def counted(self: Any, root: Any) -> Any:
        if root.root_type.name == "Subscription":
            ran.append(root.key)
        return original(self, root)

    monkeypatch.setattr(executor_module.SharedEventExecutor, "_root_field_result", counted)
    direct: list[bool] = []  # the planned document's events: completed directly? (listeners._direct)
    original_direct = listeners_module._direct

    def counted_direct(plan: Any, executor: Any, root: Any) -> Any:
        data = original_direct(plan, executor, root)
        if plan.root is not None:  # (the other document has no root field: never direct)
            direct.append(data is not BAIL)
        return data

    monkeypatch.setattr(listeners_module, "_direct", counted_direct)
    alice, bob = await client.login("alice"), await client.login("bob")
    ws = await WSClient.connect(server.ws_url, alice)
    planned = await ws.subscribe(document)
    await settle(lambda: any(p is not None and p.root is not None for p in _plans(server)))
    monkeypatch.setattr(listeners_module, "root_field_of", lambda *args: None)
    unplanned = await ws.subscribe(document + " ")  # another text: planned now without its root field
    await settle(lambda: len(_plans(server)) == 2)
    await asyncio.sleep(0.3)  # both open
    await send_text(client, bob, "hello", to="alice")
    first, second = await ws.next(planned), await ws.next(unplanned)
    assert first["type"] == second["type"] == "next", (first, second)
    assert first["payload"] == second["payload"]
    if document == ROOT_FIELD_DOCUMENTS[1]:
        # the compiled completion declines the null: the root field executed, its error reported
        assert direct == [False]
        assert ran == ["advancedMsgListener"]
        assert first["payload"]["data"] is None
        assert first["payload"]["errors"][0]["path"] == ["advancedMsgListener", "message", "sender"]
    else:
        assert direct == [True]  # completed without executing the operation
        assert ran == []
        assert first["payload"]["data"]["advancedMsgListener"]["message"]["textElem"]["text"] == "hello"
    await ws.close()
