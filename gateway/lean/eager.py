"""Run a coroutine at once, in the caller's turn, and make it a task only if it has to wait.

A group message to 10,000 local subscribers wakes 10,000 subscriptions (gateway.web.ws_protocols
ListenerOperation). Each wake-up was a task: created, scheduled, stepped by the event loop, for a
drain that nearly always runs to its end without waiting for anything (the event is decoded once
for all, its payload rendered once, the socket write does not block). `start_eagerly` runs the
coroutine's first step right away, as Python 3.12's eager tasks do (asyncio.eager_task_factory;
this project runs on 3.11); only a coroutine that suspends becomes a task, which goes on from where
it stopped.

What it relies on, beyond asyncio's public API: the protocol by which a Task drives a coroutine
(PEP 492's `__await__` and asyncio's Task.__step): the coroutine yields a future (or None, to
be run again soon) and is resumed with `send(None)` once it is done, or `throw(exc)` when the
task is cancelled. The continuation yields exactly what the coroutine yielded, so the task sees
the same objects a task of the coroutine's own would have seen. tests/test_eager.py checks the
cases (finished at once, suspended and resumed, cancelled while suspended, an exception after a
suspension, context variables). On a Python with eager tasks, asyncio.Task(coro, eager_start=True)
replaces this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


def start_eagerly(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T] | None:
    """Run `coro` now until it finishes or first waits: None if it finished (its result and any
    exception are dropped, as for a task nobody awaits; callers handle their own errors), else a
    task running the rest. As with create_task, it runs in a copy of the caller's context."""
    context = contextvars.copy_context()
    try:
        yielded = context.run(coro.send, None)
    except StopIteration:
        return None
    except Exception as exc:
        # a task would have kept it for "never retrieved"; the caller's turn goes on
        asyncio.get_running_loop().call_exception_handler(
            {"message": "eagerly started coroutine failed", "exception": exc}
        )
        return None
    return asyncio.get_running_loop().create_task(_resumed(coro, yielded), name=name, context=context)


@types.coroutine
def _resumed(coro: Coroutine[Any, Any, T], yielded: Any) -> Generator[Any, Any, T]:
    """The rest of a coroutine that yielded `yielded` on its first step, driven by a task."""
    while True:
        try:
            yield yielded  # the task waits on it, then resumes us with send(None), or throws
        except BaseException as exc:  # cancellation, most often: the coroutine gets it where it waits
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
