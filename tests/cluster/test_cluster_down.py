"""The whole cluster out of reach: the gateway answers 7012 and its event bus waits, then carries on.

redis-py reports a cluster it cannot read the topology of (no node it knows answers, or the nodes
that answer do not cover every slot, as in the seconds of a failover) as RedisClusterException,
which is not a RedisError. gateway.lean.cluster turns it into ClusterUnavailableError, a
connection error: before it did, the event bus's relink loop died of it for good (no live event
on that gateway until a restart; tests/cluster/test_failover.py met it 1 time in ~8 under load),
and a request answered an unexpected fault instead of the documented 7012."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from redis.exceptions import RedisError

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.errors import IMError
from gateway.im.events import OnRecvNewMessage
from gateway.lean.cluster import ClusterUnavailableError
from gateway.services import Gateway
from gateway.store import close_redis, open_cluster
from tests.contract.conftest import Device, send_text
from tests.support.redis_cluster import RedisCluster, cluster_binaries
from tests.support.servers import free_port


async def test_a_cluster_no_node_of_which_answers_is_a_connection_error() -> None:
    client = open_cluster(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        with pytest.raises(ClusterUnavailableError) as raised:
            await client.get("k")
        assert isinstance(raised.value, RedisError)  # what every caller of the store handles
        with pytest.raises(ClusterUnavailableError):
            await client.refresh_topology()
        pipe = client.pipeline()
        pipe.get("k")
        with pytest.raises(ClusterUnavailableError):
            await pipe.execute()
    finally:
        await close_redis(client)


async def test_an_api_call_on_a_cluster_out_of_reach_answers_7012(settings: Settings) -> None:
    own = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_cluster=True)
    gw = Gateway.build(own, clock=ManualClock())
    try:
        with pytest.raises(IMError) as refused:
            await gw.backend.accounts.ensure_account("alice")
        assert refused.value.code == 7012
    finally:
        await gw.close()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    binaries = cluster_binaries()
    if binaries is None:
        pytest.skip("needs the redis-server and redis-cli binaries to run a local Redis Cluster")
    cluster = RedisCluster(*binaries, workdir=tmp_path / "cluster")
    cluster.workdir.mkdir()
    cluster.start()
    yield cluster
    cluster.stop()


async def test_the_event_bus_carries_on_after_every_node_was_down(
    own_cluster: RedisCluster, settings: Settings
) -> None:
    own = dataclasses.replace(settings, redis_url=own_cluster.url, redis_cluster=True)
    gw = Gateway.build(own, clock=ManualClock())
    await gw.start()
    try:
        await gw.backend.accounts.ensure_account("bob")
        first = Device(gw, "bob", "bob-phone")
        await first.open()  # the bus now holds a pub/sub link to the shard of bob's stream
        nodes = list(own_cluster.nodes)
        for node in nodes:
            own_cluster.kill_master(node)  # every node, masters and replicas
        await _wait_until(lambda: not gw.dispatcher.link_up, "the bus never saw its link go")
        for node in nodes:
            own_cluster.restart(node)
        own_cluster.wait_healthy()
        # without persistence the cluster came back empty: a new account, a new device
        for user in ("alice", "carol"):
            await _retry_7012(functools.partial(gw.backend.accounts.ensure_account, user))
        second = Device(gw, "carol", "carol-phone")
        await _retry_7012(second.open)
        await send_text(gw.backend, "alice", "carol", "after the outage")
        await second.wait_for(OnRecvNewMessage, timeout=20)  # only a living bus delivers it
        assert gw.dispatcher.link_up
        await second.close()
    finally:
        await gw.close()


async def _wait_until(condition: Callable[[], bool], failure: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(failure)
        await asyncio.sleep(0.05)


async def _retry_7012(call: Callable[[], Awaitable[object]], attempts: int = 100) -> None:
    """As a client does while the gateway answers 7012 (its Redis clients reconnecting)."""
    for _ in range(attempts - 1):
        try:
            await call()
            return
        except IMError as exc:
            if exc.code != 7012:
                raise
            await asyncio.sleep(0.2)
    await call()
