"""What a request or an event leaves behind once it is done: nothing that only the cyclic garbage
collector can free, and no per-event growth in what a long-lived subscription keeps.

Both mattered for latency, not only memory: a process that makes cyclic garbage or grows a heap per
event runs full collections over it, which stopped the gateway for 40-150 ms under load (bench
send-to-receive).
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Iterator

import pytest
from graphql import build_schema, parse
from redis.exceptions import RedisError

from gateway.lean.uvicorn_ws import LeanWebSocketProtocol
from gateway.web.app import FULL_COLLECTION_AFTER, YOUNG_COLLECTION_AFTER
from schema.context import IMContext
from schema.execution.executor import SharedEventExecutor
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway

SEND = 'mutation {{ sendMessage(id: "{id}", receiver: "bob") {{ msgID }} }}'
TEXTS = "subscription { advancedMsgListener { ... on RecvNewMessageEvent { message { textElem { text } } } } }"


@pytest.fixture
def cyclic_garbage() -> Iterator[list[object]]:
    """Collects first, then keeps whatever only the cyclic collector would free from here on
    (gc.DEBUG_SAVEALL) in the list it yields, filled by `gc.collect()` in the test."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def requests_and_executors_in(garbage: list[object]) -> list[str]:
    """The request contexts and executors among `garbage`, but for those that only a Redis
    connection's handshake keeps there. Opening a connection, redis-py asks for maintenance
    notices and catches a Redis's refusal; the exception stays in a cycle with its traceback, and
    the traceback's frames (seen on Python 3.12 and 3.13) reach whatever opened the connection:
    a request, with its context. That is once per connection, when the pool opens one (its first
    requests, or a busy moment), not per request or event."""
    kinds = IMContext | SharedEventExecutor
    in_garbage = {id(o) for o in garbage}
    held: set[int] = set()
    reached = [o for o in garbage if isinstance(o, RedisError)]
    while reached:
        o = reached.pop()
        if id(o) not in held:
            held.add(id(o))
            reached.extend(r for r in gc.get_referents(o) if id(r) in in_garbage)
    return [type(o).__name__ for o in garbage if isinstance(o, kinds) and id(o) not in held]


def test_per_event_executions_reuse_the_subscriptions_field_collection() -> None:
    schema = build_schema(
        """
        type Query { ping: String }
        type Subscription { event: Event }
        type Event { id: Int, inner: Inner }
        type Inner { name: String }
        """
    )
    executor = SharedEventExecutor.build(schema, parse("subscription { event { id inner { name } } }"))
    assert isinstance(executor, SharedEventExecutor)
    for i in range(40):
        per_event = executor.build_per_event_executor({"event": {"id": i, "inner": {"name": f"n{i}"}}})
        result = per_event.execute_operation(False)
        assert result.data == {"event": {"id": i, "inner": {"name": f"n{i}"}}}  # type: ignore[union-attr]
    # one entry per object field (event, inner), not two more per event
    assert len(executor._relevant_sub_fields) == 2


async def test_a_started_gateway_collects_young_objects_in_large_passes_and_all_of_them_rarely(
    server: InProcessGateway,
) -> None:
    """The collector's settings of gateway.web.app are in force once the gateway has started
    (its lifespan sets them; the middle generation keeps CPython's default)."""
    young, middle, full = gc.get_threshold()
    assert young == YOUNG_COLLECTION_AFTER
    assert young > 700  # CPython's defaults: 700, 10, 10
    assert middle == 10
    if sys.version_info < (3, 14):  # 3.14's incremental collector has no third generation (always 0)
        assert full == FULL_COLLECTION_AFTER
        assert full > 10


async def test_queries_and_mutations_leave_no_cyclic_garbage(
    client: HTTPClient, server: InProcessGateway, cyclic_garbage: list[object]
) -> None:
    alice = await client.login("alice")
    await client.login("bob")
    for i in range(5):
        created = (await client.gql(f'mutation {{ createTextMessage(text: "t{i}") {{ id }} }}', token=alice)).ok()
        (await client.gql(SEND.format(id=created["createTextMessage"]["id"]), token=alice)).ok()
        (await client.gql("{ getLoginUser }", token=alice)).ok()
    gc.collect()
    assert requests_and_executors_in(cyclic_garbage) == []


async def test_delivering_events_leaves_no_cyclic_garbage(
    client: HTTPClient, server: InProcessGateway, cyclic_garbage: list[object]
) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    ws = await WSClient.connect(server.ws_url, bob)
    op = await ws.subscribe(TEXTS)
    await client.until_live(1)
    for i in range(5):
        created = (await client.gql(f'mutation {{ createTextMessage(text: "e{i}") {{ id }} }}', token=alice)).ok()
        (await client.gql(SEND.format(id=created["createTextMessage"]["id"]), token=alice)).ok()
        event = await ws.next_event(op)
        assert event["message"]["textElem"]["text"] == f"e{i}"
    gc.collect()
    left = requests_and_executors_in(cyclic_garbage)
    await ws.close()
    assert left == []


async def test_a_closed_websocket_connection_leaves_no_cyclic_garbage(
    client: HTTPClient, server: InProcessGateway, cyclic_garbage: list[object]
) -> None:
    """Its protocol offers itself in the scope (SEND_NOW): the reference is dropped when the
    connection is lost, so the protocol is freed by reference counting."""
    bob = await client.login("bob")
    ws = await WSClient.connect(server.ws_url, bob)
    await ws.subscribe(TEXTS)
    await ws.close()
    await asyncio.sleep(0.5)  # the server's side closes, and its tasks end
    gc.collect()
    left = [type(o).__name__ for o in cyclic_garbage if isinstance(o, LeanWebSocketProtocol)]
    assert left == []
