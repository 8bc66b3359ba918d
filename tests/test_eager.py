"""gateway.lean.eager: a coroutine run in the caller's turn, a task only from where it first waits."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
import warnings
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.config import Settings
from gateway.lean.eager import start_eagerly
from gateway.lean.redis import WaitingConnectionPool

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


async def test_its_first_step_runs_as_the_task_that_runs_the_rest_not_as_the_caller() -> None:
    caller = asyncio.current_task()
    seen: list[asyncio.Task[Any] | None] = []
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def work() -> None:
        seen.append(asyncio.current_task())
        await gate
        seen.append(asyncio.current_task())

    task = start_eagerly(work())
    assert asyncio.current_task() is caller  # the caller is the current task again
    assert task is not None
    gate.set_result(None)
    await task
    assert seen == [task, task]


async def test_one_that_finishes_at_once_never_runs_as_the_caller_either() -> None:
    caller = asyncio.current_task()
    seen: list[asyncio.Task[Any] | None] = []

    async def work() -> None:
        seen.append(asyncio.current_task())

    assert start_eagerly(work()) is None
    assert seen[0] is not None
    assert seen[0] is not caller
    assert asyncio.current_task() is caller


async def test_a_timeout_armed_in_the_first_step_cancels_the_coroutine_not_the_caller() -> None:
    """The hazard the module's docstring names: armed as the caller, the timeout's expiry cancelled
    the caller (the dispatcher's reader) instead of the coroutine, which waited on."""
    outcome: list[str] = []

    async def work() -> None:
        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(60)
        except TimeoutError:
            outcome.append("timed out")

    task = start_eagerly(work())
    assert task is not None
    await asyncio.sleep(0.2)  # the caller is not cancelled while it waits past the deadline
    assert outcome == ["timed out"]
    assert task.done()
    assert not task.cancelled()


async def test_a_pool_wait_that_runs_out_fails_the_drain_and_leaves_the_caller_running(settings: Settings) -> None:
    """The real case: a drain started in the dispatcher's turn waits for a pool connection (every
    one busy) longer than the pool's wait."""
    assert settings.redis_url is not None
    pool = WaitingConnectionPool.from_url(settings.redis_url, max_connections=1, wait_seconds=0.1)
    errors: list[BaseException] = []

    async def drain() -> None:
        try:
            await pool.release(await pool.get_connection())
        except RedisConnectionError as exc:
            errors.append(exc)

    async def dispatcher() -> str:
        task = start_eagerly(drain())
        assert task is not None
        await asyncio.sleep(0.4)
        return "still running"

    try:
        held = await pool.get_connection()
        assert await asyncio.create_task(dispatcher()) == "still running"
        assert [str(e) for e in errors] == ["no Redis connection free within 0.1 s"]
        await pool.release(held)
    finally:
        await pool.disconnect()


async def test_a_cancellation_requested_in_the_first_step_reaches_the_task() -> None:
    """`Task.__init__` forgets what was requested before it: it is requested again."""
    reached: list[str] = []

    async def work() -> None:
        current = asyncio.current_task()
        assert current is not None
        current.cancel()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            reached.append("cancelled")
            raise

    task = start_eagerly(work())
    assert task is not None
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reached == ["cancelled"]


async def test_it_can_be_started_from_a_callback_with_no_current_task() -> None:
    loop = asyncio.get_running_loop()
    started: asyncio.Future[asyncio.Task[Any] | None] = loop.create_future()
    seen: list[asyncio.Task[Any] | None] = []

    async def work() -> None:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0)

    def callback() -> None:
        started.set_result(start_eagerly(work()))
        seen.append(asyncio.current_task())  # none again after it

    loop.call_soon(callback)
    task = await started
    assert task is not None
    await task
    assert seen == [task, None]


async def test_the_caller_is_current_again_after_a_first_step_that_raised() -> None:
    caller = asyncio.current_task()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: None)
    try:

        async def work() -> None:
            raise ValueError("at once")

        assert start_eagerly(work()) is None
    finally:
        loop.set_exception_handler(None)
    assert asyncio.current_task() is caller


async def test_a_task_cancelled_before_it_ever_ran_cancels_the_coroutine_where_it_waits() -> None:
    """As a subscription's stop() cancels a drain that has just become a task: the coroutine's own
    handler and cleanup run, then, not when the coroutine is collected."""
    reached: list[str] = []

    async def work() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            reached.append("cancelled")
            raise
        finally:
            reached.append("cleaned up")

    task = start_eagerly(work())
    assert task is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reached == ["cancelled", "cleaned up"]


async def test_a_first_step_that_yielded_nothing_is_run_again_by_its_task() -> None:
    steps: list[str] = []

    async def work() -> str:
        steps.append("first")
        await asyncio.sleep(0)  # a bare yield: the task runs it again soon
        steps.append("second")
        return "done"

    task = start_eagerly(work())
    assert task is not None
    assert await task == "done"
    assert steps == ["first", "second"]


async def test_the_first_steps_task_answers_what_a_task_is_asked() -> None:
    """Tools ask the current task for its coroutine, stack, name or repr (a C Task made but not
    initialised, tried first, crashed the interpreter on get_coro())."""
    answers: list[Any] = []

    async def work() -> None:
        current = asyncio.current_task()
        assert current is not None
        answers.extend([current.get_coro(), current.get_stack(), current.done(), current.cancelling(), repr(current)])
        await asyncio.sleep(0)

    coro = work()
    task = start_eagerly(coro, name="drain")
    assert task is not None
    await task
    assert answers[2:4] == [False, 0]
    if sys.version_info >= (3, 12):  # asyncio's own eager task: it has its coroutine from the start
        assert answers[0] is coro
        assert answers[1][-1].f_code.co_name == "work"  # (the caller's frames above it: it runs in their turn)
        assert "drain" in answers[4]
    else:  # the first step's _EagerTask is handed its coroutine only if the step waits
        assert answers[:2] == [None, []]
        assert "first step" in answers[4]
    assert task.get_name() == "drain"


async def test_a_drain_stopped_before_its_task_ran_gives_back_no_permit_it_did_not_hold() -> None:
    """A task cancelled while it waits cancels the future it waits on, and asyncio's Semaphore (the
    Redis Cluster client's in-flight limit) counts on it: with the future left pending, a drain
    stopped between its first step and its task's first turn made a permit out of nothing."""
    limit = asyncio.Semaphore(1)
    await limit.acquire()  # the only permit is held

    async def drain() -> None:
        async with limit:
            await asyncio.sleep(0)

    task = start_eagerly(drain())
    assert task is not None
    task.cancel()  # ListenerOperation.stop(), before the loop's next turn
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limit.locked()


async def test_a_cancellation_requested_in_the_first_step_cancels_what_it_then_awaits() -> None:
    finished: list[str] = []

    async def child() -> None:
        await asyncio.sleep(0.05)
        finished.append("child")

    async def work() -> None:
        current = asyncio.current_task()
        assert current is not None
        current.cancel()
        await asyncio.gather(child())

    task = start_eagerly(work())
    assert task is not None
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert finished == []  # gather's child was cancelled with it


async def test_a_first_step_that_raises_cancelled_ends_there_not_in_the_caller() -> None:
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    gone.cancel()

    async def work() -> None:
        await gone

    assert start_eagerly(work()) is None  # the caller (the dispatcher) is not cancelled by it


async def test_the_task_is_the_coroutines_own_and_among_all_tasks() -> None:
    async def drain() -> None:
        await asyncio.sleep(0.01)

    coro = drain()
    task = start_eagerly(coro)
    assert task is not None
    assert task.get_coro() is coro
    assert task in asyncio.all_tasks()  # so a shutdown cancels it
    assert "drain" in repr(task)
    await task


async def test_a_cancellation_handled_before_the_task_ran_lets_it_wait_again() -> None:
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def work() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            assert current is not None
            current.uncancel()
        return await gate

    task = start_eagerly(work())
    assert task is not None
    task.cancel()
    await asyncio.sleep(0)
    gate.set_result("went on")
    assert await asyncio.wait_for(task, 1) == "went on"


async def test_one_that_finishes_at_once_logs_nothing_when_dropped() -> None:
    # what earlier tests of this worker left for the collector (a socket a server dropped) is
    # collected first, with its own warnings: the collection below must see only these tasks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    loop = asyncio.get_running_loop()
    logged: list[str] = []
    loop.set_exception_handler(lambda _, context: logged.append(context["message"]))
    try:

        async def quick() -> None:
            pass

        for _ in range(3):
            assert start_eagerly(quick()) is None
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert logged == []
