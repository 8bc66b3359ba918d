"""The concrete engine behind a gateway's `IMBackend`, for tests that reach past the protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.backend import IMBackend
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups.eraser import GroupEraser, GroupEraserLoop
from gateway.engine.message_manager import EmbeddedMessages
from gateway.engine.retention import MessageRetention
from gateway.services import Gateway


def embedded(backend: IMBackend) -> EmbeddedBackend:
    """`backend` as the `EmbeddedBackend` it is: its parts (`messages`, `conversations`, `announcer`, ...)
    have engine methods the `IMBackend` protocol does not name."""
    assert isinstance(backend, EmbeddedBackend), backend
    return backend


class HeldSends:
    """A send held at its claim (after its checks, with its seq taken, before it writes) until
    `go_on` is set: the window a racing dismissal or topic deletion falls into. `claimed` is set
    once a send reached it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, messages: EmbeddedMessages) -> None:
        self.claimed, self.go_on = asyncio.Event(), asyncio.Event()
        claim = messages.core.claim

        async def held(*args: Any, **kwargs: Any) -> bool:
            self.claimed.set()
            await self.go_on.wait()
            return await claim(*args, **kwargs)

        monkeypatch.setattr(messages.core, "claim", held)


async def replica_after_one_erase(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, work_per_second: int = 500
) -> GroupEraserLoop:
    """A second replica's eraser loop (an eraser of its own over the gateway's groups), started and
    left running once its first step has erased: the caller stops it, as a replica stops or dies."""
    groups = embedded(gw.backend).groups
    eraser = GroupEraser(groups.store, MessageRetention(gw.redis, groups.store.keys))
    worked = asyncio.Event()
    erase = eraser.erase

    async def noted(*args: Any) -> tuple[bool, int]:
        done = await erase(*args)
        worked.set()
        return done

    monkeypatch.setattr(eraser, "erase", noted)
    replica = GroupEraserLoop(eraser, gw.clock, work_per_second)
    replica.start()
    try:
        async with asyncio.timeout(10):
            await worked.wait()
    except BaseException:
        await replica.stop()
        raise
    return replica
