"""A Redis that restarts under a running gateway: the first subscription opened once it is back
goes live at once, without waiting out the event channel's reconnect back-off."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import free_port, start_in_process

MESSAGES = "subscription { advancedMsgListener { ... on RecvNewMessageEvent { type message { textElem { text } } } } }"


class PrivateRedis:
    """A redis-server of the test's own on a free port, stopped and started at will (AOF on)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs the redis-server binary to restart a Redis of its own")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"],
            stdout=subprocess.DEVNULL,
            cwd=str(self.workdir),
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


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
