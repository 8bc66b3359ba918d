"""Connections per shard stay bounded on a cluster, and live notification is sharded.

A gateway process holds at most CLUSTER_MAX_IN_FLIGHT command connections to any shard (every
command, pipeline and transaction takes a permit; each holds one connection per shard at most)
plus ONE pub/sub connection per shard (gateway.lean.cluster.ShardedPubSub), however many
subscriptions it serves and however many requests run at once. Each stream's poke channel is
subscribed (SSUBSCRIBE) on the master that owns its slot only."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.im.events import OnRecvNewMessage
from gateway.keys import Keys
from gateway.lean.cluster import ImqlCluster
from gateway.services import Gateway
from gateway.store import CLUSTER_MAX_IN_FLIGHT
from tests.contract.conftest import Device, send_text
from tests.support.redis_cluster import ClusterNode, RedisCluster

USERS = 60  # their streams fall on every shard
# a topology refresh may open one connection of its own beside the permits' (gateway.lean.cluster)
BOUND = CLUSTER_MAX_IN_FLIGHT + 1 + 1


def _clients(cluster: RedisCluster, node: ClusterNode) -> int:
    found = re.search(rb"connected_clients:(\d+)", cluster.command(node, b"INFO clients"))
    assert found is not None
    return int(found.group(1))


@pytest.fixture
async def gw(redis_cluster: RedisCluster, settings: Settings) -> AsyncIterator[Gateway]:
    gateway = Gateway.build(dataclasses.replace(settings, redis_cluster=True), clock=ManualClock())
    await gateway.start()
    yield gateway
    await gateway.close()


async def test_connections_per_shard_are_bounded_and_pokes_are_sharded(
    gw: Gateway, redis_cluster: RedisCluster
) -> None:
    masters = redis_cluster.masters()
    before = {m.port: _clients(redis_cluster, m) for m in masters}
    users = [f"user{i}" for i in range(USERS)]
    await asyncio.gather(*(gw.backend.accounts.ensure_account(u) for u in [*users, "sender"]))
    devices = [Device(gw, u, f"{u}-dev") for u in users]
    await asyncio.gather(*(d.open() for d in devices))  # 6 subscriptions each, all at once
    await asyncio.gather(*(send_text(gw.backend, "sender", u, "hello") for u in users))
    for device in devices:
        await device.wait_for(OnRecvNewMessage)
    during = {m.port: _clients(redis_cluster, m) for m in masters}
    for master in masters:
        held = during[master.port] - before[master.port]
        assert 1 <= held <= BOUND, f"{held} connections to {master.address}; at most {BOUND}"
    # each user's poke channel is subscribed on its owner, and nowhere else
    cluster = gw.redis
    assert isinstance(cluster, ImqlCluster)
    for user in users[:5]:
        channel = Keys.poke_channel(gw.keys.user_events(user))
        owner = cluster.get_node_from_key(channel)
        assert owner is not None
        counts = {}
        for master in masters:
            reply = redis_cluster.command(master, b"PUBSUB SHARDNUMSUB " + channel.encode())
            counts[master.port] = int(reply.rsplit(b"\r\n", 1)[-1].lstrip(b":"))
        assert counts == {m.port: int(m.port == int(owner.port)) for m in masters}
    assert gw.dispatcher._pubsub.shard_count == len(masters)
    for device in devices:
        await device.close()
