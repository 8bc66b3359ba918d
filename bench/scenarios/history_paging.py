"""history-paging: getHistoryMessageList pages of 20, in a conversation of 1,000,000 messages and
in one of 100. Pages start at random points of each conversation (a user scrolling back from
anywhere), one request at a time, so the figure is the server's time per page, not queueing."""

from __future__ import annotations

import random
import time

import httpx

from bench.fixtures import c2c_conversation_of
from bench.harness import Bench, median, percentile
from gateway.engine.codec import STORED_DEC

PAGE = 20
QUERY = """query Page($peer: String!, $last: String) {
  getHistoryMessageList(getType: V2TIM_GET_CLOUD_OLDER_MSG, userID: $peer, count: 20, lastMsgID: $last) {
    msgID seq timestamp textElem { text }
  }
}"""


async def _msg_id_at(bench: Bench, a: str, b: str, seq: int) -> str:
    """The ID of the message at `seq` (IDs carry a random part, so read it back)."""
    keys = bench.engine.keys
    raw = await bench.engine.redis.hget(keys.timeline_messages(keys.c2c_timeline(a, b)), str(seq))
    return STORED_DEC.decode(raw).msgID


async def _time_pages(
    bench: Bench, http: httpx.AsyncClient, url: str, token: str, peer: str, size: int, owner: str, pages: int
) -> list[float]:
    rng = random.Random(size)
    starts = [rng.randrange(PAGE + 1, size + 1) for _ in range(pages)]
    ids = [await _msg_id_at(bench, owner, peer, s) for s in starts]
    timings: list[float] = []
    for last in [None, *ids]:
        started = time.perf_counter()
        reply = await http.post(
            url,
            json={"query": QUERY, "variables": {"peer": peer, "last": last}},
            headers={"Authorization": f"Bearer {token}"},
        )
        timings.append(time.perf_counter() - started)
        body = reply.json()
        if "errors" in body or len(body["data"]["getHistoryMessageList"]) != PAGE:
            raise RuntimeError(f"a page went wrong: {str(body)[:300]}")
    return timings[1:] if len(timings) > 1 else timings


async def run(bench: Bench) -> None:
    big = 2_000 if bench.tiny else 1_000_000
    small = 100
    pages = 20 if bench.tiny else 300
    async with bench.running():
        started = time.perf_counter()
        await c2c_conversation_of(bench.engine, "reader", "bigpeer", big)
        await c2c_conversation_of(bench.engine, "reader", "smallpeer", small)
        bench.emit("setup_time", round(time.perf_counter() - started, 1), "s", messages=big + small)
        token = (await bench.login(["reader"]))[0].token
        server = await bench.start_gateway()
        url = server.url + "/graphql"
        async with httpx.AsyncClient(timeout=30) as http:
            # warm both paths (connections, caches) before timing; then alternate so noise is shared
            await _time_pages(bench, http, url, token, "smallpeer", small, "reader", 20)
            await _time_pages(bench, http, url, token, "bigpeer", big, "reader", 20)
            big_times: list[float] = []
            small_times: list[float] = []
            for _ in range(3):
                big_times += await _time_pages(bench, http, url, token, "bigpeer", big, "reader", pages // 3)
                small_times += await _time_pages(bench, http, url, token, "smallpeer", small, "reader", pages // 3)
        for name, size, times in (("large", big, big_times), ("small", small, small_times)):
            extra = {"conversation": name, "messages": size, "pages": len(times)}
            bench.emit("page_p50", round(median(times) * 1000, 3), "ms", **extra)
            bench.emit("page_p99", round(percentile(times, 99) * 1000, 3), "ms", **extra)
        bench.emit("ratio_large_to_small", round(median(big_times) / median(small_times), 3))
