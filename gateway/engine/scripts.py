"""Lua scripts queued inside pipelines without an extra round trip.

redis-py's Script objects check `SCRIPT EXISTS` before every pipeline that holds one: a round trip
each time. A PipelinedScript queues a bare EVALSHA instead, and only when Redis answers NOSCRIPT
(a restart, a failover, SCRIPT FLUSH) loads the script and runs the whole pipeline again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from redis.exceptions import NoScriptError


class PipelinedScript:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def queue(self, pipe: Any, keys: list[str], args: list[Any]) -> None:
        pipe.evalsha(self.sha, len(keys), *keys, *args)


async def run_pipeline(redis: Any, build: Callable[[Any], None], scripts: tuple[PipelinedScript, ...]) -> list[Any]:
    """Build a pipeline with `build(pipe)` and run it; if a script was missing, load the scripts
    and run it once more (writes in such a pipeline must be idempotent: these are reads)."""
    for attempt in (1, 2):
        pipe = redis.pipeline(transaction=False)
        build(pipe)
        results = list(await pipe.execute(raise_on_error=False))
        if not any(isinstance(r, NoScriptError) for r in results):
            for r in results:
                if isinstance(r, Exception):
                    raise r
            return results
        if attempt == 1:
            for script in scripts:
                await redis.script_load(script.source)
    raise NoScriptError("scripts could not be loaded")


async def run_script(redis: Any, script: PipelinedScript, keys: list[str], args: list[Any]) -> Any:
    """One script's answer, by its digest (EVALSHA: its source is sent only when Redis lacks it)."""

    def build(pipe: Any) -> None:
        script.queue(pipe, keys, args)

    (answer,) = await run_pipeline(redis, build, (script,))
    return answer


# A timeline's seq raised to ARGV[1] (a seq the upstream gave, or one a deleted topic's timeline
# reached), never lowered. KEYS: the timeline's seq counter.
RAISE_SEQ = PipelinedScript(
    "local c = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end return 0"
)


# A hash field raised to ARGV[2] (a read seq), never lowered; set if absent. KEYS: the hash;
# ARGV: the field, the value. Two reads racing (a read up to a seq and a read of everything)
# leave the higher mark, whichever lands last.
RAISE_FIELD = PipelinedScript(
    "local v = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if not v or tonumber(ARGV[2]) > tonumber(v) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 0"
)
