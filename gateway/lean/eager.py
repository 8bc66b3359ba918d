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
the first step runs with it as the loop's current task, and only a coroutine that suspends gets it
scheduled, as the task that runs the rest: whatever its first step armed against "the current
task" now belongs to that task, as with 3.12's eager tasks. A coroutine that finished leaves an
object nobody holds (~0.6 µs to make). The C Task cannot serve: one made but not initialised
crashes the interpreter when asked for its coroutine (`get_coro()`), and initialising it schedules
it. The Python Task drives only the rest of the coroutines that wait, which is the slow path.

What it relies on, beyond asyncio's public API (fenced here, on 3.11 only; tests/test_eager.py and
tests/test_upstream_contract.py name it when a Python release changes it):
- the protocol by which a Task drives a coroutine (PEP 492's `__await__` and asyncio's Task.__step):
  the coroutine yields a future (or None, to be run again soon) and is resumed with `send(None)`
  once it is done, or `throw(exc)` when the task is cancelled. The continuation (`_Rest`) yields
  exactly what the coroutine yielded, so the task sees the same objects a task of the coroutine's
  own would;
- asyncio.tasks' `_enter_task` / `_leave_task`, which set the loop's current task (the functions
  every Task calls around each of its steps), `_register_task`, `_task_name_counter`, and the Python Task (`_PyTask`):
  the attributes its __init__ sets and its name-mangled step, `_Task__step`.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import sys
from asyncio import tasks as asyncio_tasks
from collections.abc import Coroutine, Generator
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
    task = _EagerTask(loop, name, context)
    caller = asyncio_tasks.current_task(loop)
    if caller is not None:
        asyncio_tasks._leave_task(loop, caller)
    asyncio_tasks._enter_task(loop, task)
    try:
        yielded = context.run(coro.send, None)
    except StopIteration:
        return None
    except Exception as exc:
        _report(loop, exc)  # a task would have kept it for "never retrieved"; the caller goes on
        return None
    finally:
        asyncio_tasks._leave_task(loop, task)
        if caller is not None:
            asyncio_tasks._enter_task(loop, caller)
    task.go_on(_Rest(coro, yielded))
    return task


def _report(loop: asyncio.AbstractEventLoop, exc: BaseException) -> None:
    loop.call_exception_handler({"message": "eagerly started coroutine failed", "exception": exc})


class _Rest(collections.abc.Coroutine[Any, Any, T]):
    """The rest of a coroutine that yielded `yielded` on its first step, as the coroutine a task
    drives: its first `send` hands the task what the coroutine waits on; after that, the task's
    sends and throws go straight to the coroutine. (A generator written for this could not take a
    throw before its first step: a task cancelled before it ever ran would have thrown the
    cancellation at the generator's start, never into the coroutine, whose own handlers and
    cleanup then ran only when it was collected.)"""

    __slots__ = ("_coro", "_yielded")

    def __init__(self, coro: Coroutine[Any, Any, T], yielded: Any) -> None:
        self._coro = coro
        self._yielded: Any = _STARTED if yielded is None else yielded

    def send(self, value: Any) -> Any:
        yielded = self._yielded
        if yielded is not None:
            self._yielded = None
            return None if yielded is _STARTED else yielded  # the task waits on it (None: runs us again)
        return self._coro.send(value)

    def __next__(self) -> Any:  # what a task calls for send(None) (PyIter_Send)
        return self.send(None)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._yielded = None  # a cancellation, most often: the coroutine gets it where it waits
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, T]:
        raise TypeError("driven by its task only")

    def __iter__(self) -> _Rest[T]:
        return self


_STARTED = object()  # the first step yielded None (a bare yield), which a task answers by running us again


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

        def go_on(self, rest: _Rest[Any]) -> None:
            """Schedule the rest, as Task.__init__ schedules a coroutine's first step (a cancel()
            requested meanwhile is kept: the step throws it into the coroutine)."""
            if self._name is None:
                self._name = f"Task-{asyncio_tasks._task_name_counter()}"  # type: ignore[attr-defined]  # as Task.__init__ names it
            self._coro = rest
            self._log_destroy_pending = True
            self._loop.call_soon(self._Task__step, context=self._context)
            asyncio_tasks._register_task(self)
