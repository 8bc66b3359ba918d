"""Faults injected under real processes while clients keep sending and reading (issue 19).

Each test runs `imql serve` replicas on a redis-server of its own (free port, AOF on), with
IMQL_REQUEST_TIMEOUT small, and clients that keep sending C2C messages (each retried with its
created id until acknowledged) and following their advancedMsgListener (resumed with `since`
whenever it drops). Then it restarts, stops, stalls or kills something, and afterwards proves:
every acknowledged message is in history exactly once and was delivered to its receiver exactly
once; no request took longer than the deadline (plus a generous margin: the bound proves there is
no hang, not a speed); /readyz answered quickly in every state; a subscription opened after
Redis returns is live."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.traffic import REQUEST_TIMEOUT, rig

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("how", "fsync"),
    [("clean", "everysec"), ("kill-9", "always")],
    ids=["shutdown-aof-everysec", "kill-9-aof-always"],
)
async def test_redis_restarted_under_traffic(tmp_path: object, how: str, fsync: str) -> None:
    """A clean restart (AOF flushed at shutdown) loses nothing; so does Redis killed with -9 when
    it runs `appendfsync always` (with `everysec` the last second of writes may go: docs/reliability.md)."""
    async with rig(tmp_path, fsync=fsync) as r:
        for user in ("alice", "bob"):
            await r.add_user(user)
        await r.warm_up()

        async def restart() -> None:
            if how == "clean":
                r.redis.stop()
            else:
                r.redis.kill()
            await asyncio.sleep(0.5)
            r.redis.start()

        await r.traffic(restart)
        await r.first_subscription_works("carol")
        figures = await r.check()
        assert figures["messages"] > 10
        assert r.probe.statuses() >= {200}


async def test_redis_stopped_for_seconds_under_traffic(tmp_path: object) -> None:
    """While Redis is down, calls fail at once with a code (7012), /readyz says 503, live
    subscriptions stay open; once it is back, sends retried with their created id are stored
    once and every follower gets every message once."""
    async with rig(tmp_path) as r:
        for user in ("alice", "bob"):
            await r.add_user(user)
        await r.warm_up()

        async def down() -> None:
            r.redis.stop()
            await asyncio.sleep(3)
            r.redis.start()

        await r.traffic(down)
        await r.first_subscription_works("carol")
        await r.check()
        assert 503 in r.probe.statuses()
        assert r.recorder.outcomes["200:7012"] > 0, r.recorder.outcomes
        assert not any(k.startswith("500") for k in r.recorder.outcomes), r.recorder.outcomes


async def test_redis_stalled_and_resumed_under_traffic(tmp_path: object) -> None:
    """SIGSTOP for longer than IMQL_REQUEST_TIMEOUT: requests are answered 504 / 7012 at the
    deadline (none hangs), /readyz 503 within its bound; after SIGCONT the sends retried with
    their created id are stored exactly once (also those whose first attempt Redis ran late)."""
    async with rig(tmp_path) as r:
        for user in ("alice", "bob"):
            await r.add_user(user)
        await r.warm_up()

        async def stall() -> None:
            r.redis.stall()
            await asyncio.sleep(REQUEST_TIMEOUT + 2)
            r.redis.resume()

        await r.traffic(stall)
        await r.first_subscription_works("carol")
        await r.check()
        assert 503 in r.probe.statuses()
        assert r.recorder.outcomes["504:7012"] > 0, r.recorder.outcomes


async def test_a_replica_killed_mid_stream(tmp_path: object) -> None:
    """Two replicas; one is killed with -9 while messages flow through both: clients move to the
    other, followers resume with `since` there, and nothing acknowledged is lost or repeated."""
    async with rig(tmp_path, replicas=2) as r:
        for user in ("alice", "bob", "dave"):
            await r.add_user(user)
        await r.warm_up()
        victim = r.replicas[1]

        async def kill() -> None:
            victim.kill()
            r.cluster.drop(victim.base_url)
            r.probe.urls.remove(victim.base_url)

        await r.traffic(kill)
        await r.check()
        assert sum(f.resumes for f in r.followers.values()) >= 1
