"""A Redis that restarts under a running gateway: the first subscription opened once it is back
goes live at once, without waiting out the event channel's reconnect back-off.

The back-off's longest wait is made 120 s here (it is 5 s in production), so a subscription that
waited it out could not meet the 20 s the test gives it: the outcome does not hang on how fast
a loaded machine runs."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.events import dispatcher
from tests.support.clients import HTTPClient, WSClient
from tests.support.redis_server import PrivateRedis
from tests.support.servers import start_in_process

MESSAGES = "subscription { advancedMsgListener { ... on RecvNewMessageEvent { type message { textElem { text } } } } }"
LONGEST_BACKOFF = 120.0


async def test_the_first_subscription_after_a_redis_restart_is_live_at_once(
    private_redis: PrivateRedis, settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher, "RECONNECT_BACKOFF", (0.1, LONGEST_BACKOFF))
    own = replace(settings, redis_url=private_redis.url)
    running = await start_in_process(own, clock)
    client = HTTPClient(running.base_url, own.sdkappid, own.secret_key, now=clock.now)
    bus = running.gateway.dispatcher
    try:
        alice, bob = await client.login("alice"), await client.login("bob")
        registry = running.gateway.metrics.registry

        def failures() -> float:
            return registry.get_sample_value("imql_redis_failures_total") or 0.0

        seen = failures()
        private_redis.stop()
        # until the bus has failed twice: its second wait is the long one
        for _ in range(400):
            if not bus.link_up and failures() >= seen + 2:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the event bus did not notice that Redis went away")
        private_redis.start()
        ws = await WSClient.connect(running.ws_url, bob)
        op = await ws.subscribe(MESSAGES)
        await asyncio.sleep(0.2)
        created = await client.gql('mutation { createTextMessage(text: "back") { id } }', token=alice)
        cid = created.ok()["createTextMessage"]["id"]
        sent = await client.gql(f'mutation {{ sendMessage(id: "{cid}", receiver: "bob") {{ msgID }} }}', token=alice)
        sent.ok()
        event = await ws.next_event(op, timeout=20)  # far inside the back-off's 120 s
        assert event["type"] == "onRecvNewMessage"
        assert event["message"]["textElem"]["text"] == "back"
        assert bus.link_up
        await ws.close()
    finally:
        await client.aclose()
        await running.stop()
