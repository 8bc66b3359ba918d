"""A send to a large group on the cluster: the group's 10,000 members are spread over every shard,
the message is stored once in the group's stream (on the group's shard), and members whose slots
live on each of the three shards receive it live.

IMQL_CLUSTER_GROUP_SIZE sets the size; under CI (CI set) it is 2,000 to keep the suite's time."""

from __future__ import annotations

import os

from gateway.im.events import OnRecvNewMessage
from gateway.lean.cluster import ImqlCluster
from gateway.services import Gateway
from tests.contract.conftest import Device, send_group_text
from tests.test_group_messages import _bulk_group, gw  # noqa: F401 - `gw` is this test's fixture

GROUP_SIZE = int(os.environ.get("IMQL_CLUSTER_GROUP_SIZE") or (2_000 if os.environ.get("CI") else 10_000))


async def test_a_send_to_a_large_group_reaches_members_on_every_shard(gw: Gateway) -> None:  # noqa: F811
    cluster = gw.redis
    assert isinstance(cluster, ImqlCluster)
    gid = await _bulk_group(gw, GROUP_SIZE)
    # one subscribed member per shard (by the slot of their own keys), following the group's stream
    # as a join leaves them
    by_shard: dict[str, str] = {}
    for i in range(GROUP_SIZE - 1):
        node = cluster.get_node_from_key(gw.keys.user_events(f"m{i}"))
        assert node is not None
        by_shard.setdefault(node.name, f"m{i}")
        if len(by_shard) == 3:
            break
    sample = sorted(by_shard.values())
    assert len(sample) == 3
    await gw.bus.join_group_stream(sample, gid)
    devices = [Device(gw, member, f"{member}-dev") for member in sample]
    for device in devices:
        await device.open()
    (info,) = await gw.backend.groups.get_groups_info([gid])
    assert info.groupInfo is not None
    assert info.groupInfo.memberCount == GROUP_SIZE
    sent = await send_group_text(gw.backend, "owner", gid, "to everyone")
    for device in devices:
        event = await device.wait_for(OnRecvNewMessage)
        assert event.message.msgID == sent.msgID
        await device.close()
