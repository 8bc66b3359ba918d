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
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from tests.conftest import SECRET
from tests.support.redis_server import PrivateRedis
from tests.support.servers import GatewayProcess, spawn_gateway
from tests.support.traffic import Cluster, Follower, ReadyProbe, Recorder, Sender, check_consistency

pytestmark = pytest.mark.e2e

REQUEST_TIMEOUT = 1.5  # IMQL_REQUEST_TIMEOUT of the replicas under test
HANG_MARGIN = 5.0  # a request answered later than REQUEST_TIMEOUT + this would be a hang
READY_BOUND = 3.0  # /readyz is bounded at 0.8 s inside; more than this would be a hang
SDKAPPID = 1400000019


@dataclass
class Rig:
    redis: PrivateRedis
    replicas: list[GatewayProcess]
    cluster: Cluster
    recorder: Recorder
    probe: ReadyProbe
    senders: dict[str, Sender]
    followers: dict[str, Follower]
    tokens: dict[str, str]

    async def add_user(self, user: str) -> None:
        token = await self.cluster.login(user)
        self.tokens[user] = token
        self.senders[user] = Sender(self.cluster, user, token)
        follower = Follower(self.cluster, user, token)
        self.followers[user] = follower
        follower.start()
        await asyncio.wait_for(follower.ready.wait(), 20)

    async def warm_up(self) -> None:
        """Each follower is live: a message to it has arrived (so it also holds a cursor)."""
        users = sorted(self.senders)
        for n, user in enumerate(users):
            receiver = users[(n + 1) % len(users)]
            acked = await self.senders[user].send(receiver)
            await self.followers[receiver].wait_for(acked.msg_id)

    async def traffic(self, fault: Callable[[], Awaitable[None]], *, before: float = 1.0, after: float = 1.5) -> None:
        """Everyone keeps sending round-robin while `fault` runs; then each sends once more and
        waits until that last message has arrived, so every follower has caught up."""
        stop = asyncio.Event()
        users = sorted(self.senders)

        async def keep_sending(n: int, user: str) -> None:
            turn = 0
            while not stop.is_set():
                turn += 1
                await self.senders[user].send(users[(n + 1 + turn % (len(users) - 1)) % len(users)])
                await asyncio.sleep(0.02)

        loops = [asyncio.create_task(keep_sending(n, u)) for n, u in enumerate(users)]
        try:
            await asyncio.sleep(before)
            await fault()
            await asyncio.sleep(after)
        finally:
            stop.set()
            await asyncio.gather(*loops)
        for n, user in enumerate(users):
            receiver = users[(n + 1) % len(users)]
            acked = await self.senders[user].send(receiver)
            await self.followers[receiver].wait_for(acked.msg_id)

    async def first_subscription_works(self, user: str) -> None:
        """A user not followed before: a subscription opened now receives the next message."""
        token = await self.cluster.login(user)
        follower = Follower(self.cluster, user, token)
        follower.start()
        try:
            await asyncio.wait_for(follower.ready.wait(), 10)
            sender = sorted(self.senders)[0]
            acked = await self.senders[sender].send(user)
            await follower.wait_for(acked.msg_id, timeout=10)
            self.followers[user], self.tokens[user] = follower, token
        except BaseException:
            await follower.stop()
            raise

    async def check(self) -> dict[str, int]:
        figures = await check_consistency(self.cluster, self.senders, self.followers, self.tokens)
        assert self.recorder.bad_bodies == [], self.recorder.bad_bodies
        assert self.recorder.longest < REQUEST_TIMEOUT + HANG_MARGIN, self.recorder.longest
        assert self.probe.longest < READY_BOUND, self.probe.longest
        for follower in self.followers.values():
            assert follower.errors == [], follower.errors
        return figures


@contextlib.asynccontextmanager
async def rig(tmp_path: object, replicas: int = 1, fsync: str = "everysec") -> AsyncIterator[Rig]:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    redis = PrivateRedis(tmp_path, fsync=fsync)
    redis.start()
    env = {
        "IMQL_REDIS_URL": redis.url,
        "IMQL_SDKAPPID": str(SDKAPPID),
        "IMQL_SECRET_KEY": SECRET,
        "IMQL_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
        "IMQL_RATE_LIMIT": "0",
        "IMQL_DATA_DIR": str(tmp_path / "data"),
    }
    started: list[GatewayProcess] = []
    recorder = Recorder(REQUEST_TIMEOUT)
    cluster: Cluster | None = None
    probe: ReadyProbe | None = None
    built: Rig | None = None
    try:
        for _ in range(replicas):
            started.append(await spawn_gateway(env))
        urls = [r.base_url for r in started]
        cluster = Cluster(urls, SDKAPPID, SECRET, recorder)
        probe = ReadyProbe(list(urls))
        probe.start()
        built = Rig(redis, started, cluster, recorder, probe, {}, {}, {})
        yield built
    finally:
        if built is not None:
            for follower in built.followers.values():
                await follower.stop()
        if probe is not None:
            await probe.stop()
        if cluster is not None:
            await cluster.aclose()
        for process in started:
            process.terminate()
        redis.stop()


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
