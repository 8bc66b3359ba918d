"""cluster: send-to-receive and group-fanout with `imql serve --workers 2`, on the single Redis of
IMQL_REDIS_URL and on a local Redis Cluster (3 masters + 3 replicas started for the run, as the
test suite's: tests/support/redis_cluster.py), in the same invocation, with the cluster's figures
as ratios to the single Redis's; then send-to-receive on the cluster with IMQL_REDIS_WAIT_REPLICAS=1,
the latency cost of waiting for a replica.

Each variant's figures carry `topology` ("single-redis", "redis-cluster", "redis-cluster-wait-1").
send-to-receive runs the rates of IMQL_BENCH_RATES (default 200,400 msg/s), group-fanout the sizes
of IMQL_BENCH_FANOUT_SIZES (default 1,000 subscribers): a comparison, not the ladders of the
scenarios themselves. Needs redis-server and redis-cli (Debian's redis-server package)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import Bench
from bench.scenarios import group_fanout, send_to_receive
from tests.support.redis_cluster import RedisCluster, cluster_binaries

WORKERS = ["--workers", "2"]
RATES = "200,400"
FANOUT_SIZES = "1000"


def _value(figures: list[dict[str, Any]], figure: str, **where: Any) -> float | None:
    found = [f["value"] for f in figures if f["figure"] == figure and all(f.get(k) == v for k, v in where.items())]
    return float(found[-1]) if found else None


def _ratio(bench: Bench, name: str, mine: float | None, floor: float | None, **extra: Any) -> None:
    if mine is not None and floor:
        bench.emit(name, round(mine / floor, 3), "ratio", **extra)


async def run(bench: Bench) -> None:
    binaries = cluster_binaries()
    if binaries is None:
        raise SystemExit("bench cluster: needs redis-server and redis-cli (apt-get install redis-server)")
    os.environ.setdefault("IMQL_BENCH_RATES", "50" if bench.tiny else RATES)
    os.environ.setdefault("IMQL_BENCH_FANOUT_SIZES", "20" if bench.tiny else FANOUT_SIZES)
    cluster = RedisCluster(*binaries, workdir=Path(tempfile.mkdtemp(prefix="imql-bench-cluster-")))
    cluster.start()
    try:
        # topologies compared with each other: the peer (its own scenarios) is left out
        variants = {
            "single-redis": Bench(bench.scenario, tiny=bench.tiny, gateway_args=WORKERS, with_peer=False),
            "redis-cluster": Bench(bench.scenario, tiny=bench.tiny, redis_url=cluster.url, cluster=True),
            "redis-cluster-wait-1": Bench(
                bench.scenario, tiny=bench.tiny, redis_url=cluster.url, cluster=True, wait_replicas=1
            ),
        }
        for label, variant in variants.items():
            variant.gateway_args = WORKERS
            variant.labels = {"topology": label}
            await send_to_receive.run(variant)
            # WAIT is a send's cost: fan-out is the same. --tiny proves the cluster's fan-out runs
            # (the single Redis's is group-fanout's own), and keeps the test suite's smoke test short.
            if label == "redis-cluster" or (label == "single-redis" and not bench.tiny):
                await group_fanout.run(variant)
    finally:
        cluster.stop()
    single, sharded, waiting = (v.figures for v in variants.values())
    for rate in (int(r) for r in os.environ["IMQL_BENCH_RATES"].split(",")):
        for figure in ("latency_p50", "latency_p99"):
            base = _value(single, figure, rate=rate)
            _ratio(bench, f"ratio_{figure}_cluster_to_single", _value(sharded, figure, rate=rate), base, rate=rate)
            _ratio(
                bench,
                f"ratio_{figure}_wait_to_no_wait",
                _value(waiting, figure, rate=rate),
                _value(sharded, figure, rate=rate),
                rate=rate,
            )
    for size in (int(n) for n in os.environ["IMQL_BENCH_FANOUT_SIZES"].split(",")):
        base = _value(single, "last_ms", subscribers=size)
        _ratio(
            bench,
            "ratio_last_ms_cluster_to_single",
            _value(sharded, "last_ms", subscribers=size),
            base,
            subscribers=size,
        )
