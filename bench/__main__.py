"""`python -m bench <scenario> [--tiny]`: run one benchmark scenario (or `all`), JSON lines out.

Each scenario starts `imql serve` on IMQL_REDIS_URL (default redis://127.0.0.1:6379/0) under an
SDKAppID of its own, writes its data through the engine, measures, and removes every key it wrote.
`--tiny` runs it at a size that only proves it works (the test suite's smoke test does this).
Where node is installed, the scenarios with a counterpart run the peer (yoga-chat, bench/peer.py)
beside imql and print `ratio_to_peer`; IMQL_BENCH_PEER=off leaves it out.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from bench import loop
from bench.harness import Bench

SCENARIOS = {
    "query-throughput": "bench.scenarios.query_throughput",
    "send-to-receive": "bench.scenarios.send_to_receive",
    "send-to-receive-callbacks": "bench.scenarios.send_to_receive_callbacks",
    "send-to-receive-tencent": "bench.scenarios.send_to_receive_tencent",
    "c2c-cost": "bench.scenarios.c2c_cost",
    "group-fanout": "bench.scenarios.group_fanout",
    "chatroom-fanout": "bench.scenarios.chatroom_fanout",
    "subscriptions-idle": "bench.scenarios.subscriptions_idle",
    "history-paging": "bench.scenarios.history_paging",
    "conversation-list": "bench.scenarios.conversation_list",
    "reconnect-storm": "bench.scenarios.reconnect_storm",
    "storage-cost": "bench.scenarios.storage_cost",
    "cluster": "bench.scenarios.cluster",
}


async def run_one(name: str, tiny: bool) -> None:
    module = importlib.import_module(SCENARIOS[name])
    bench = Bench(name, tiny=tiny)
    print(f"bench: {name} on {bench.redis_url}, SDKAppID {bench.sdkappid}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    await module.run(bench)
    # on stderr: stdout carries the figures only, the scenario's own last line last
    print(f"bench: {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--tiny", action="store_true", help="a size that only proves the scenario runs")
    args = parser.parse_args()
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    for name in names:
        loop.run(run_one(name, args.tiny))


if __name__ == "__main__":
    main()
