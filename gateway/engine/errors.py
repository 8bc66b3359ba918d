"""Library exceptions mapped to IMError at the engine's boundary (httpx's map_httpcore_exceptions).

gateway.backend promises that a backend lets no library exception escape. The engine's managers
talk to Redis on every call, so each facade class is decorated with `maps_store_errors`: a
RedisError (or the OSError of a dead socket) leaving any of its public coroutines becomes
IMError 7012 with a readable desc, the cause kept for the log. Above the engine only IMError is
caught.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.exceptions import RedisError

from gateway.errors import Code, IMError

log = logging.getLogger("imql.engine")

STORE_FAILED = "the IM store did not answer; retry shortly"

C = TypeVar("C", bound=type)


def store_failure(exc: BaseException) -> IMError:
    """The IMError a failed store call becomes (logged once here: the caller sees no internals)."""
    log.warning("IM store call failed: %r", exc)
    error = IMError(Code.ERR_SDK_INTERNAL_ERROR, STORE_FAILED)
    error.__cause__ = exc
    return error


def _mapped(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except (RedisError, OSError) as exc:
            raise store_failure(exc) from exc

    call.__maps_store_errors__ = True  # type: ignore[attr-defined]
    return call


def maps_store_errors(cls: C) -> C:
    """Wrap every public coroutine method of `cls` (its own and inherited) with the mapping."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, name)
        if inspect.iscoroutinefunction(attr) and not getattr(attr, "__maps_store_errors__", False):
            setattr(cls, name, _mapped(attr))
    return cls
