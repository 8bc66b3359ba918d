"""Message retention on the cluster: a pass walks the keys of every primary (a SCAN on a cluster
reads one node's keys only) and trims the timelines it finds there."""

from __future__ import annotations

from gateway.engine.codec import STORED_ENC
from gateway.engine.message_ids import c2c_msg_id
from gateway.im.enums import ElemType
from gateway.im.messages import Content, StoredMessage, TextElem
from tests.support.servers import InProcessGateway

DAY = 86400
TEXT = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="old"))


async def test_a_pass_trims_the_timelines_of_every_primary(server: InProcessGateway) -> None:
    gw = server.gateway
    three_days_ago = int(gw.clock.now()) - 3 * DAY
    timelines = [gw.keys.c2c_timeline("ann", f"peer{n}") for n in range(12)]
    for n, timeline in enumerate(timelines):
        stored = StoredMessage(
            msgID=c2c_msg_id("ann", f"peer{n}", 1, 1),
            sender="ann",
            receiver=f"peer{n}",
            seq=1,
            random=1,
            timestamp=three_days_ago,
            content=TEXT,
        )
        await gw.redis.hset(gw.keys.timeline_messages(timeline), "1", STORED_ENC.encode(stored))
        await gw.redis.set(gw.keys.timeline_seq(timeline), 1)
    nodes = {gw.redis.get_node_from_key(gw.keys.timeline_messages(t)).name for t in timelines}
    assert len(nodes) > 1, "the timelines should spread over several primaries"
    housekeeping = gw.backend.housekeeping
    assert housekeeping is not None
    while await housekeeping.trim_history(DAY, 1_000):
        pass
    for timeline in timelines:
        assert await gw.redis.get(gw.keys.timeline_floor(timeline)) == "1", timeline
        assert not await gw.redis.exists(gw.keys.timeline_messages(timeline)), timeline
