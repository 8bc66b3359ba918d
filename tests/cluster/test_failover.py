"""A master dies mid-traffic: its replica is promoted and the gateway carries on, without a restart.

On a cluster of the test's own (it is damaged on purpose), with IMQL_REDIS_WAIT_REPLICAS=1: a sender
sends one message after another as an SDK does (a failed send is retried with the same created id);
the master holding their conversation's timeline is killed (SIGKILL) after a few. Until the cluster
promotes its replica (NODE_TIMEOUT_MS and an election), sends fail with 7012 only, the documented
error; then they succeed again on the same gateway. Every acknowledged message is in the history
read from the promoted replica, and reached the receiver's subscription (docs/scaling.md, Failover).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.errors import IMError
from gateway.im.events import OnRecvNewMessage
from gateway.im.messages import SendOptions
from gateway.lean.cluster import ImqlCluster
from gateway.services import Gateway
from tests.contract.conftest import Device, text
from tests.support.redis_cluster import RedisCluster, cluster_binaries

SENDS = 30
KILL_AFTER = 8
RETRY_PAUSE_SECONDS = 0.2  # an SDK's pause before sending again
MAX_ATTEMPTS = 150  # per message: far more than a failover's few seconds of retries take


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    binaries = cluster_binaries()
    if binaries is None:
        pytest.skip("needs the redis-server and redis-cli binaries to run a local Redis Cluster")
    cluster = RedisCluster(*binaries, replicas_per_master=2, workdir=tmp_path / "cluster")
    cluster.workdir.mkdir()
    cluster.start()
    yield cluster
    cluster.stop()


async def test_the_gateway_carries_on_when_a_master_fails_over_and_loses_no_acknowledged_send(
    own_cluster: RedisCluster, settings: Settings
) -> None:
    own = dataclasses.replace(settings, redis_url=own_cluster.url, redis_cluster=True, redis_wait_replicas=1)
    gw = Gateway.build(own, clock=ManualClock())
    await gw.start()
    try:
        cluster = gw.redis
        assert isinstance(cluster, ImqlCluster)
        for user in ("alice", "bob"):
            await gw.backend.accounts.ensure_account(user)
        bob = Device(gw, "bob", "bob-phone")
        await bob.open()
        node = cluster.get_node_from_key(gw.keys.c2c_timeline("alice", "bob"))
        assert node is not None
        doomed = own_cluster.node_at(int(node.port))
        messages = gw.backend.messages
        acknowledged: list[str] = []
        refusals: set[int] = set()
        for n in range(SENDS):
            if n == KILL_AFTER:
                own_cluster.kill_master(doomed)
            created = None
            for _ in range(MAX_ATTEMPTS):
                try:
                    if created is None:
                        created = await messages.create_message("alice", text(f"m{n}"))
                    sent = await messages.send_c2c_message("alice", "s", created.id, "bob", SendOptions())
                except IMError as exc:
                    refusals.add(exc.code)
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)
                    continue
                acknowledged.append(sent.msgID)
                break
            else:
                raise AssertionError(f"message {n} was never acknowledged; refusals {refusals}")
        assert refusals <= {7012}, refusals
        assert doomed not in own_cluster.masters()
        history = await messages.get_c2c_history_message_list("bob", "alice", 100)
        assert set(acknowledged) <= {m.msgID for m in history}
        for msg_id in acknowledged:
            await bob.wait_for(OnRecvNewMessage, _is_message(msg_id), timeout=20)
        await bob.close()
    finally:
        await gw.close()


def _is_message(msg_id: str) -> Callable[[OnRecvNewMessage], bool]:
    return lambda event: event.message.msgID == msg_id
