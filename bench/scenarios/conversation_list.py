"""conversation-list: the first page of 100 conversations for a user with 1,000, each with an
unread message: latency over HTTP, and the Redis round trips the gateway made for it (its
imql_redis_round_trips counter on /metrics, read before and after each request)."""

from __future__ import annotations

import re
import time

import httpx

from bench.fixtures import many_c2c_conversations
from bench.harness import Bench, median, percentile

QUERY = """query FirstPage {
  getConversationList(nextSeq: "", count: 100) {
    nextSeq isFinished
    conversationList {
      conversationID showName faceUrl unreadCount orderKey isPinned draftText recvOpt
      lastMessage { msgID timestamp sender textElem { text } }
    }
  }
}"""
ROUND_TRIPS = re.compile(r"^imql_redis_round_trips_total (\S+)$", re.MULTILINE)


async def round_trips(http: httpx.AsyncClient, base: str) -> int:
    match = ROUND_TRIPS.search((await http.get(base + "/metrics")).text)
    if match is None:
        raise RuntimeError("imql_redis_round_trips is missing from /metrics")
    return int(float(match.group(1)))


async def run(bench: Bench) -> None:
    conversations = 150 if bench.tiny else 1_000
    requests = 20 if bench.tiny else 200
    async with bench.running():
        peers = [f"peer{i}" for i in range(conversations)]
        await many_c2c_conversations(bench.engine, "busy", peers)
        token = (await bench.login(["busy"]))[0].token
        server = await bench.start_gateway()
        headers = {"Authorization": f"Bearer {token}"}
        times: list[float] = []
        trips: list[int] = []
        async with httpx.AsyncClient(timeout=30) as http:
            for i in range(requests + 10):
                before = await round_trips(http, server.url)
                started = time.perf_counter()
                reply = await http.post(server.url + "/graphql", json={"query": QUERY}, headers=headers)
                elapsed = time.perf_counter() - started
                after = await round_trips(http, server.url)
                page = reply.json()
                listed = page.get("data", {}) and page["data"]["getConversationList"]["conversationList"]
                if "errors" in page or len(listed) != 100 or any(c["unreadCount"] != 1 for c in listed):
                    raise RuntimeError(f"the page is wrong: {str(page)[:300]}")
                if i >= 10:  # the first requests warm the session cache and connections
                    times.append(elapsed)
                    trips.append(after - before)
        extra = {"conversations": conversations, "page": 100, "requests": len(times)}
        bench.emit("latency_p50", round(median(times) * 1000, 3), "ms", **extra)
        bench.emit("latency_p99", round(percentile(times, 99) * 1000, 3), "ms", **extra)
        # the median: a background task (presence renewal, the invitation timer) may share a window
        bench.emit("redis_round_trips", int(median(trips)), "round trips", min=min(trips), **extra)
