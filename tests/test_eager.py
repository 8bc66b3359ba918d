"""gateway.lean.eager: a coroutine run in the caller's turn, a task only from where it first waits."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from gateway.lean.eager import start_eagerly

where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="caller")


async def test_a_coroutine_that_does_not_wait_runs_to_its_end_in_the_callers_turn() -> None:
    ran: list[str] = []

    async def work() -> None:
        ran.append("done")

    tasks_before = len(asyncio.all_tasks())
    assert start_eagerly(work()) is None
    assert ran == ["done"]  # before the caller's next line, with no task made
    assert len(asyncio.all_tasks()) == tasks_before


async def test_one_that_waits_goes_on_as_a_task_from_where_it_stopped() -> None:
    steps: list[str] = []
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def work() -> str:
        steps.append("first")
        value = await gate
        steps.append(value)
        await asyncio.sleep(0)  # a bare yield too
        steps.append("last")
        return "result"

    task = start_eagerly(work())
    assert task is not None
    assert steps == ["first"]  # the first step ran at once, and only once
    gate.set_result("second")
    assert await task == "result"
    assert steps == ["first", "second", "last"]


async def test_cancelling_the_task_reaches_the_coroutine_where_it_waits() -> None:
    cleaned: list[str] = []

    async def work() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cleaned.append("cancelled where it waited")
            raise

    task = start_eagerly(work())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["cancelled where it waited"]
    assert task.cancelled()


async def test_a_coroutine_that_handles_its_cancellation_goes_on() -> None:
    async def work() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(0)  # still waits after it: the task goes on driving it
            return "handled"
        return "slept"

    task = start_eagerly(work())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    assert await task == "handled"


async def test_an_exception_after_waiting_is_the_tasks() -> None:
    async def work() -> None:
        await asyncio.sleep(0)
        raise ValueError("later")

    task = start_eagerly(work())
    assert task is not None
    with pytest.raises(ValueError, match="later"):
        await task


async def test_an_exception_in_the_first_step_goes_to_the_loops_handler_not_the_caller() -> None:
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:

        async def work() -> None:
            raise ValueError("at once")

        assert start_eagerly(work()) is None
    finally:
        loop.set_exception_handler(None)
    assert [type(r["exception"]) for r in reported] == [ValueError]


async def test_it_runs_in_a_copy_of_the_callers_context_as_a_task_would() -> None:
    seen: list[str] = []
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def work() -> None:
        seen.append(where.get())
        where.set("inside")
        await gate
        seen.append(where.get())  # the task goes on in the same copy

    where.set("caller's value")
    task = start_eagerly(work())
    assert where.get() == "caller's value"  # what it set stayed in its copy
    assert task is not None
    gate.set_result(None)
    await task
    assert seen == ["caller's value", "inside"]
