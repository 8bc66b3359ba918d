"""Property: walking C2C history pages in either direction yields every visible message exactly once,
in the documented order (older pages newest first, newer pages oldest first)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.im.enums import ElemType, GetType
from gateway.im.messages import Content, SendOptions, TextElem
from gateway.services import Gateway


@pytest.fixture
async def gw(settings: Settings) -> AsyncIterator[Gateway]:
    gateway = Gateway.build(settings, clock=ManualClock())
    await gateway.start()
    await gateway.backend.accounts.ensure_account("alice")
    await gateway.backend.accounts.ensure_account("bob")
    yield gateway
    await gateway.close()


async def _conversation(gw: Gateway, size: int, deleted: set[int], seed: int) -> list[str]:
    """`size` messages between alice and bob; bob deletes those whose index is in `deleted`."""
    engine = gw.backend.messages
    rng = random.Random(seed)
    ids = []
    for n in range(size):
        sender, receiver = ("alice", "bob") if rng.random() < 0.5 else ("bob", "alice")
        created = await engine.create_message(
            sender, Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=str(n)))
        )
        sent = await engine.send_c2c_message(sender, "s", created.id, receiver, SendOptions())
        ids.append(sent.msgID)
    for n in deleted:
        if n < size:
            await engine.delete_message_from_local_storage("bob", ids[n])
    return [msg_id for n, msg_id in enumerate(ids) if n not in deleted]


async def _walk(gw: Gateway, page: int, get_type: GetType) -> list[str]:
    seen: list[str] = []
    last: str | None = None
    for _ in range(1000):
        batch = await gw.backend.messages.get_c2c_history_message_list(
            "bob", "alice", page, get_type=get_type, last_msg_id=last
        )
        seen.extend(m.msgID for m in batch)
        if len(batch) < page:
            return seen
        last = batch[-1].msgID
    raise AssertionError("paging did not end")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.integers(min_value=0, max_value=60),
    page=st.integers(min_value=1, max_value=25),
    deleted=st.sets(st.integers(min_value=0, max_value=59), max_size=20),
    seed=st.integers(min_value=0, max_value=10_000),
)
async def test_pages_cover_every_message_once_in_order(
    gw: Gateway, size: int, page: int, deleted: set[int], seed: int
) -> None:
    timeline = gw.keys.c2c_timeline("alice", "bob")
    stale = [gw.keys.timeline_seq(timeline), gw.keys.timeline_messages(timeline)]
    stale.append(gw.keys.hidden_messages("bob", "c2c_alice"))
    await gw.redis.delete(*stale)
    visible = await _conversation(gw, size, deleted, seed)
    assert await _walk(gw, page, GetType.V2TIM_GET_CLOUD_OLDER_MSG) == list(reversed(visible))
    assert await _walk(gw, page, GetType.V2TIM_GET_CLOUD_NEWER_MSG) == visible


async def test_a_page_costs_the_same_round_trips_for_a_million_messages(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis.asyncio.client as redis_client

    engine = gw.backend.messages
    for n in range(30):
        created = await engine.create_message(
            "alice", Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=str(n)))
        )
        await engine.send_c2c_message("alice", "s", created.id, "bob", SendOptions())
    # a second conversation made to look a million messages long: its seq counter is at 1,000,000 and
    # the newest 30 messages are stored where a real million-message timeline keeps them
    await gw.backend.accounts.ensure_account("carol")
    small = gw.keys.c2c_timeline("alice", "bob")
    big = gw.keys.c2c_timeline("carol", "bob")
    bodies = await gw.redis.hgetall(gw.keys.timeline_messages(small))
    await gw.redis.set(gw.keys.timeline_seq(big), 1_000_000)
    from gateway.engine.codec import STORED_DEC, STORED_ENC
    from gateway.engine.message_ids import c2c_msg_id

    for seq_text, raw in bodies.items():
        stored = STORED_DEC.decode(raw)
        seq = 1_000_000 - 30 + int(seq_text)
        stored.seq, stored.sender, stored.receiver = seq, "carol", "bob"
        stored.msgID = c2c_msg_id("carol", "bob", seq, stored.random)
        await gw.redis.hset(gw.keys.timeline_messages(big), str(seq), STORED_ENC.encode(stored))

    trips = 0
    original_execute = redis_client.Pipeline.execute
    original_command = type(gw.redis).execute_command

    async def counted_execute(self: object, *args: object, **kwargs: object) -> object:
        nonlocal trips
        trips += 1
        return await original_execute(self, *args, **kwargs)  # type: ignore[arg-type]

    async def counted_command(self: object, *args: object, **kwargs: object) -> object:
        nonlocal trips
        trips += 1
        return await original_command(self, *args, **kwargs)

    monkeypatch.setattr(redis_client.Pipeline, "execute", counted_execute)
    monkeypatch.setattr(type(gw.redis), "execute_command", counted_command)
    costs = {}
    for peer in ("alice", "carol"):
        trips = 0
        page = await engine.get_c2c_history_message_list("bob", peer, 20)
        assert len(page) == 20
        costs[peer] = trips
    assert costs["alice"] == costs["carol"]
    assert costs["alice"] <= 4
