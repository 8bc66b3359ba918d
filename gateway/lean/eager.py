"""Run a coroutine at once, in the caller's turn, and make it a task only if it has to wait.

A group message to 10,000 local subscribers wakes 10,000 subscriptions (gateway.web.ws_protocols
ListenerOperation). Each wake-up was a task: created, scheduled, stepped by the event loop, for a
drain that nearly always runs to its end without waiting for anything (the event is decoded once
for all, its payload rendered once, the socket write does not block). `start_eagerly` runs the
coroutine's first step right away, as Python 3.12's eager tasks do (asyncio.eager_task_factory);
only a coroutine that suspends becomes a task, which goes on from where it stopped. On Python
3.12 and later it is exactly that: `asyncio.Task(..., eager_start=True)`.

**Whose step it is.** The first step must run as the task that will run the rest, not as the
caller, because asyncio ties some things to `asyncio.current_task()` when they are entered:
`asyncio.timeout` cancels the task that entered it when it expires (redis-py's reads arm one, the
Redis pool arms one while a caller waits for a connection), a TaskGroup or an anyio cancel scope
remembers its host task. Run as the caller (the dispatcher's reader or its pub/sub listener), a
drain whose first step waits for a pool connection and does not get one within 30 s would cancel
the dispatcher instead of itself, and the process's live deliveries would stop with it. So, on
3.11, the task object is made first, ready in every way but not scheduled (`_EagerTask`: asyncio's
own Task in Python, prepared as its __init__ prepares it, minus the call_soon and the registration),
the first step runs with it as the loop's current task, and only a coroutine that suspends becomes
that task's coroutine, waiting where it stopped: whatever its first step armed against "the
current task" now belongs to that task, as with 3.12's eager tasks. A coroutine that finished
leaves an object nobody holds (~0.6 µs to make). The C Task cannot serve: one made but not
initialised crashes the interpreter when asked for its coroutine (`get_coro()`), and initialising
it schedules it. The Python Task drives only the coroutines that waited, which is the slow path.

What it relies on, beyond asyncio's public API (fenced here, on 3.11 only; tests/test_eager.py and
tests/test_upstream_contract.py name it when a Python release changes it):
- the protocol by which a Task drives a coroutine (PEP 492's `__await__` and asyncio's
  Task.__step): the coroutine yields a future whose `_asyncio_future_blocking` is set (or None, to
  be run again soon); the task waits on it (its `_Task__wakeup` as the future's done callback, the
  future as `_fut_waiter`, cancelled at once if `cancel()` was called meanwhile) and resumes the
  coroutine with `send(None)`, or `throw(exc)` when the task is cancelled. `_EagerTask.go_on`
  does with the first step's yield what Task.__step does with any yield;
- asyncio.tasks' `_enter_task` / `_leave_task`, which set the loop's current task (the functions
  every Task calls around each of its steps), `_register_task`, `_task_name_counter`, and the
  Python Task (`_PyTask`): the attributes its __init__ sets, `_cancel_message`, and its
  name-mangled `_Task__step` and `_Task__wakeup`.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from asyncio import tasks as asyncio_tasks
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# the Python Task, whose object can be the current task before it is scheduled (the docstring)
_PyTask: Any = getattr(asyncio_tasks, "_PyTask", None)


def start_eagerly(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T] | None:
    """Run `coro` now until it finishes or first waits: None if it finished (its result and any
    exception are dropped, as for a task nobody awaits; callers handle their own errors), else the
    task running the rest, which was already the current task during the first step. As with
    create_task, it runs in a copy of the caller's context."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    if sys.version_info >= (3, 12):
        task = asyncio.Task(coro, loop=loop, name=name, context=context, eager_start=True)
        if not task.done():
            return task
        if not task.cancelled() and (exc := task.exception()) is not None:
            _report(loop, exc)
        return None
    else:  # (an else, not code after a return: type checkers skip only a branch the version rules out)
        task = _EagerTask(loop, name, context)
        caller = asyncio_tasks.current_task(loop)
        if caller is not None:
            asyncio_tasks._leave_task(loop, caller)
        asyncio_tasks._enter_task(loop, task)
        try:
            yielded = context.run(coro.send, None)
        except (StopIteration, asyncio.CancelledError):
            return None  # done, or cancelled (as a task ends cancelled): nothing for the caller
        except Exception as exc:
            _report(loop, exc)  # a task would have kept it for "never retrieved"; the caller goes on
            return None
        finally:
            asyncio_tasks._leave_task(loop, task)
            if caller is not None:
                asyncio_tasks._enter_task(loop, caller)
        task.go_on(coro, yielded)
        return task


def _report(loop: asyncio.AbstractEventLoop, exc: BaseException) -> None:
    loop.call_exception_handler({"message": "eagerly started coroutine failed", "exception": exc})


if sys.version_info < (3, 12):

    class _EagerTask(_PyTask):  # type: ignore[misc]
        """asyncio's Task (its Python implementation), prepared as Task.__init__ prepares one but not
        yet scheduled: the current task of a first step run in the caller's turn."""

        def __init__(self, loop: asyncio.AbstractEventLoop, name: str | None, context: contextvars.Context) -> None:
            asyncio.futures._PyFuture.__init__(self, loop=loop)  # type: ignore[attr-defined]
            self._name = name
            self._num_cancels_requested = 0
            self._must_cancel = False
            self._fut_waiter = None
            self._coro: Any = None
            self._context = context
            self._log_destroy_pending = False  # nothing to run, nothing lost if it is dropped

        def __repr__(self) -> str:
            if self._coro is None:  # asyncio's repr needs the coroutine, which the first step has not handed over
                return f"<{type(self).__name__} {self._name or ''} in its first step>"
            return super().__repr__()  # type: ignore[no-any-return]

        def go_on(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
            """Become the task of `coro`, whose first step yielded `yielded`: register, then do
            with what it yielded what Task.__step does with a yield: wait on the future (and
            cancel it, if cancel() was called meanwhile: `Semaphore.acquire` and `gather` count
            on a cancelled task's future being cancelled), or step again soon."""
            if self._name is None:
                self._name = f"Task-{asyncio_tasks._task_name_counter()}"  # type: ignore[attr-defined]  # as Task.__init__ names it
            self._coro = coro
            self._log_destroy_pending = True
            asyncio_tasks._register_task(self)
            loop, step, context = self._loop, self._Task__step, self._context
            blocking = getattr(yielded, "_asyncio_future_blocking", None)
            if blocking and asyncio.futures._get_loop(yielded) is loop:  # type: ignore[attr-defined]
                yielded._asyncio_future_blocking = False
                yielded.add_done_callback(self._Task__wakeup, context=context)
                self._fut_waiter = yielded
                if self._must_cancel and yielded.cancel(msg=self._cancel_message):
                    self._must_cancel = False
            elif yielded is None:  # a bare yield: run again in the next iteration
                loop.call_soon(step, context=context)
            else:  # what Task.__step refuses (another loop's future, a bare generator, ...)
                loop.call_soon(step, RuntimeError(f"Task {self!r} got a bad yield: {yielded!r}"), context=context)
