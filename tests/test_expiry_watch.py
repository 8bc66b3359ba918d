"""The one expiry timer of a process: each watched session is told once at its own expiry, an
earlier deadline added later is not missed, and a session nobody watches any more is not told."""

from __future__ import annotations

import asyncio

from gateway.clock import ManualClock
from gateway.session.expiry import ExpiryWatch
from gateway.session.pool import Session


def session(sid: str, expires_at: float) -> Session:
    return Session(user_id=f"u-{sid}", session_id=sid, platform="web", expires_at=int(expires_at), token=sid)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_each_watched_session_is_told_once_at_its_own_expiry() -> None:
    clock = ManualClock(start=1_000_000.0)
    told: list[str] = []

    async def notify(s: Session) -> None:
        told.append(s.session_id)

    watch = ExpiryWatch(clock, notify)
    watch.start()
    try:
        late, gone = session("late", clock.now() + 100), session("gone", clock.now() + 30)
        watch.watch(late)
        watch.watch(gone)
        watch.watch(gone)  # two subscriptions of one session
        await settle()
        early = session("early", clock.now() + 10)
        watch.watch(early)  # earlier than the deadline the loop is sleeping towards
        await settle()
        await clock.advance(11)
        await settle()
        assert told == ["early"]
        watch.unwatch(gone)
        assert watch.watched == 2  # still one subscription of `gone` open
        watch.unwatch(gone)
        assert watch.watched == 1
        await clock.advance(30)
        await settle()
        assert told == ["early"]  # nobody watches `gone` any more
        await clock.advance(60)
        await settle()
        assert told == ["early", "late"]
        assert watch.watched == 0
    finally:
        await watch.stop()
