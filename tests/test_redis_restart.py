"""A Redis that restarts under a running gateway: the first subscription opened once it is back
goes live at once, without waiting out the event channel's reconnect back-off."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from gateway.clock import ManualClock
from gateway.config import Settings
from tests.support.clients import HTTPClient, WSClient
from tests.support.redis_server import PrivateRedis
from tests.support.servers import start_in_process

MESSAGES = "subscription { advancedMsgListener { ... on RecvNewMessageEvent { type message { textElem { text } } } } }"


async def test_the_first_subscription_after_a_redis_restart_is_live_at_once(
    private_redis: PrivateRedis, settings: Settings, clock: ManualClock
) -> None:
    own = replace(settings, redis_url=private_redis.url)
    running = await start_in_process(own, clock)
    client = HTTPClient(running.base_url, own.sdkappid, own.secret_key, now=clock.now)
    try:
        alice, bob = await client.login("alice"), await client.login("bob")
        private_redis.stop()
        # down long enough for the event channel's reconnect back-off to reach its longest wait (5 s)
        await asyncio.sleep(4.5)
        private_redis.start()
        began = time.monotonic()
        ws = await WSClient.connect(running.ws_url, bob)
        op = await ws.subscribe(MESSAGES)
        await asyncio.sleep(0.2)
        created = await client.gql('mutation { createTextMessage(text: "back") { id } }', token=alice)
        cid = created.ok()["createTextMessage"]["id"]
        sent = await client.gql(f'mutation {{ sendMessage(id: "{cid}", receiver: "bob") {{ msgID }} }}', token=alice)
        sent.ok()
        event = await ws.next_event(op, timeout=10)
        waited = time.monotonic() - began
        assert event["type"] == "onRecvNewMessage"
        assert event["message"]["textElem"]["text"] == "back"
        # well inside the 5 s the first subscription used to wait before failing with 7012
        assert waited < 4.0
        await ws.close()
    finally:
        await client.aclose()
        await running.stop()
