"""A C2C conversation's read mark (`conversation_state(user, "c2c-read-ms")`) is raised by every
read, never lowered: a read never makes messages the user had read unread again.

The reads: markC2CMessageAsRead (and REST admin_set_msg_read, with an earlier MsgReadTime too),
cleanConversationUnreadMessageCount, clearC2CHistoryMessage, deleteConversationList and
markAllMessageAsRead. cleanConversationUnreadMessageCount reads the user's state before it writes:
a read landing in between (another device's, at a later time) stands. The unread index
(gateway.engine.unread_index) moves with the mark, in the same script: the counts it gives (a
callback's UnreadMsgNum) stay equal to the recount.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.conversations import settings as settings_module
from gateway.engine.scripts import run_pipeline
from gateway.engine.unread_index import READ_MARK_AHEAD_MS
from gateway.errors import Code, IMError
from gateway.ids import c2c_conversation_id
from gateway.im.conversations import ConversationFilter
from gateway.im.enums import ConversationType
from gateway.services import Gateway
from tests.contract.conftest import send_text
from tests.support.engine import embedded

C2C_ONLY = ConversationFilter(conversationType=int(ConversationType.V2TIM_C2C))
CONV = c2c_conversation_id("ann")  # bob's conversation with ann


async def pair(gw: Gateway) -> EmbeddedBackend:
    engine = embedded(gw.backend)
    for u in ("ann", "bob"):
        await engine.accounts.ensure_account(u)
    return engine


async def mark(gw: Gateway) -> int:
    """bob's read mark of his conversation with ann (ms)."""
    return int(await gw.redis.hget(gw.keys.conversation_state("bob", "c2c-read-ms"), CONV) or 0)


async def unread(gw: Gateway, engine: EmbeddedBackend) -> int:
    """bob's unread count with ann, after checking that every way of counting it agrees: from the
    read mark, the conversation's own count (none when deleted: then the mark's), the recount of
    the list and the unread index's total."""
    by_mark = await engine.messages.unread_c2c("bob", "ann")
    try:
        listed = (await engine.conversations.get_conversation("bob", CONV)).unreadCount
    except IMError as gone:
        if gone.code != Code.ERR_INVALID_CONVERSATION:
            raise
        listed = by_mark
    recount = await engine.conversations.unread_total("bob", C2C_ONLY)
    indexed = (await engine.messages.core.unread_index.totals(["bob"]))["bob"]
    assert (by_mark, listed, recount, indexed) == (by_mark,) * 4
    return by_mark


def ms(clock: ManualClock) -> int:
    return int(clock.now() * 1000)


def before_clean_writes(monkeypatch: pytest.MonkeyPatch, step: Callable[[], Awaitable[None]]) -> None:
    """`step` runs once between cleanConversationUnreadMessageCount's read of bob's state (and its
    computing of the marks) and its write of them."""
    real = run_pipeline  # what settings.py calls
    done: list[bool] = []

    async def hooked(redis: Any, build: Any, scripts: Any) -> list[Any]:
        if not done:
            done.append(True)
            await step()
        return await real(redis, build, scripts)

    monkeypatch.setattr(settings_module, "run_pipeline", hooked)


# ---- a later read racing clean ---------------------------------------------------------------------
async def test_a_later_read_landing_during_clean_is_not_lowered_by_it(
    gw: Gateway, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """clean (everything, at T) has read bob's state when ann sends again (T+1) and bob's other
    device marks the conversation read (T+2): clean's mark, T, must not take bob's (T+2) back, which
    would make ann's second message unread again."""
    engine = await pair(gw)
    await send_text(engine, "ann", "bob", "first")
    await clock.advance(1)
    assert await unread(gw, engine) == 1
    later: list[int] = []

    async def other_device_reads() -> None:
        await clock.advance(1)
        await send_text(engine, "ann", "bob", "second")
        await clock.advance(1)
        await engine.messages.mark_c2c_message_as_read("bob", "ann")
        later.append(ms(clock))

    before_clean_writes(monkeypatch, other_device_reads)
    await engine.conversations.clean_conversation_unread_message_count("bob", CONV, 0, 0)
    assert later, "the racing read ran"
    assert await mark(gw) == later[0]
    assert await unread(gw, engine) == 0


async def test_a_read_landing_during_a_clean_up_to_an_earlier_time_stands(
    gw: Gateway, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """clean up to a cleanTimestamp (covering the first message only) has read bob's state, unread,
    when his other device reads everything: the conversation stays read."""
    engine = await pair(gw)
    await send_text(engine, "ann", "bob", "first")
    first_at = int(clock.now())
    await clock.advance(10)
    await send_text(engine, "ann", "bob", "second")
    await clock.advance(10)
    assert await unread(gw, engine) == 2
    read_at: list[int] = []

    async def other_device_reads() -> None:
        await engine.messages.mark_c2c_message_as_read("bob", "ann")
        read_at.append(ms(clock))

    before_clean_writes(monkeypatch, other_device_reads)
    await engine.conversations.clean_conversation_unread_message_count("bob", CONV, first_at + 1, 0)
    assert read_at, "the racing read ran"
    assert await mark(gw) == read_at[0]
    assert await unread(gw, engine) == 0


# ---- a read up to an earlier time ------------------------------------------------------------------
async def test_a_read_up_to_an_earlier_time_leaves_read_messages_read(gw: Gateway, clock: ManualClock) -> None:
    """markC2CMessageAsRead with an earlier read_time (REST admin_set_msg_read's MsgReadTime, or a
    mirror's report arriving late) reads nothing more and takes nothing back: the mark and the
    unread index stay where the later read left them."""
    engine = await pair(gw)
    await send_text(engine, "ann", "bob", "early")
    early = int(clock.now())
    await clock.advance(10)
    await send_text(engine, "ann", "bob", "late")
    await clock.advance(10)
    await engine.messages.mark_c2c_message_as_read("bob", "ann")
    read = await mark(gw)
    assert await unread(gw, engine) == 0
    await engine.messages.mark_c2c_message_as_read("bob", "ann", read_time=early)
    assert await mark(gw) == read
    assert CONV not in set(await gw.redis.zrange(gw.keys.c2c_unread_index("bob"), 0, -1))
    assert await unread(gw, engine) == 0
    # as clean up to an earlier cleanTimestamp
    await engine.conversations.clean_conversation_unread_message_count("bob", CONV, early, 0)
    assert await mark(gw) == read
    assert await unread(gw, engine) == 0
    # a later read_time still reads what came since
    await clock.advance(10)
    await send_text(engine, "ann", "bob", "later")
    assert await unread(gw, engine) == 1
    await clock.advance(10)
    await engine.messages.mark_c2c_message_as_read("bob", "ann", read_time=int(clock.now()))
    assert await mark(gw) == int(clock.now()) * 1000 + 999
    assert await unread(gw, engine) == 0


# ---- every read raises the mark, never lowers it ---------------------------------------------------
# (cleanConversationUnreadMessageCount's: in the races above, and in the earlier time's test)
READS: dict[str, Callable[[EmbeddedBackend], Awaitable[None]]] = {
    "markC2CMessageAsRead": lambda e: e.messages.mark_c2c_message_as_read("bob", "ann"),
    "clearC2CHistoryMessage": lambda e: e.messages.clear_c2c_history_message("bob", "ann"),
    "deleteConversationList": lambda e: e.conversations.delete_conversation_list("bob", [CONV], False),
    "markAllMessageAsRead": lambda e: e.messages.mark_all_message_as_read("bob"),
}


@pytest.mark.parametrize("read", list(READS))
async def test_each_read_raises_the_mark_and_never_lowers_it(gw: Gateway, clock: ManualClock, read: str) -> None:
    """A mark ahead of this clock (as an upstream's clock ahead of it leaves one, covering its
    newest message) stays through a read now; a read past it raises it; unread goes to 0."""
    engine = await pair(gw)
    await send_text(engine, "ann", "bob", "one")
    await clock.advance(1)
    assert await unread(gw, engine) == 1
    await READS[read](engine)
    assert await mark(gw) == ms(clock)
    assert await unread(gw, engine) == 0
    ahead = ms(clock) + 60_000
    await gw.redis.hset(gw.keys.conversation_state("bob", "c2c-read-ms"), CONV, ahead)
    await clock.advance(1)
    await send_text(engine, "ann", "bob", "two")  # arrived before the mark: read
    await clock.advance(1)
    await READS[read](engine)
    assert await mark(gw) == ahead
    assert await unread(gw, engine) == 0
    await clock.advance(120)
    await send_text(engine, "ann", "bob", "three")
    await clock.advance(1)
    assert await unread(gw, engine) == 1
    await READS[read](engine)
    assert await mark(gw) == ms(clock)
    assert await unread(gw, engine) == 0


# ---- a mark far ahead of the clock ---------------------------------------------------------------
@pytest.mark.parametrize("how", ["read_time", "cleanTimestamp"])
async def test_a_read_far_in_the_future_is_capped_so_later_messages_still_count(
    gw: Gateway, clock: ManualClock, how: str
) -> None:
    """A read up to year 2106 (REST admin_set_msg_read's MsgReadTime, an SDK cleanTimestamp) sets
    the mark no further than READ_MARK_AHEAD_MS past the clock: marks only move forward, so an
    uncapped one would make every later message read until 2106, with nothing to lower it."""
    engine = await pair(gw)
    await send_text(engine, "ann", "bob", "first")
    far = 4_294_967_295  # the largest MsgReadTime the REST API takes
    if how == "read_time":
        await engine.messages.mark_c2c_message_as_read("bob", "ann", read_time=far)
    else:
        await engine.conversations.clean_conversation_unread_message_count("bob", CONV, far, 0)
    assert await mark(gw) == ms(clock) + READ_MARK_AHEAD_MS
    assert await unread(gw, engine) == 0
    await clock.advance(READ_MARK_AHEAD_MS / 1000 + 1)
    await send_text(engine, "ann", "bob", "after the cap")
    assert await unread(gw, engine) == 1
