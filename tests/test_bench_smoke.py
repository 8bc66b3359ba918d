"""Every benchmark scenario runs end to end at a tiny size, so bench/ never rots.

Nothing here is timed: the figures are only checked to be there and to be numbers. The real runs
(`python -m bench all`) and their figures are in the README.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from bench.__main__ import SCENARIOS
from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent

# the figures each scenario must print
EXPECTED = {
    "query-throughput": {"req_per_s", "p50", "p99", "ratio_to_graphql_core"},
    "send-to-receive": {"latency_p50", "latency_p99", "max_rate_p99_under_50ms"},
    "send-to-receive-callbacks": {
        "latency_p50",
        "latency_p99",
        "ratio_p50_dead_to_live",
        "ratio_p99_dead_to_live",
        "ratio_p50_live_to_plain",
        "ratio_p99_live_to_plain",
        "callbacks_undelivered",
    },
    "send-to-receive-tencent": {
        "latency_p50",
        "latency_p99",
        "lost",
        "cpu_per_message",
        "ratio_p50_to_embedded",
        "ratio_p99_to_embedded",
    },
    "group-fanout": {"first_ms", "median_ms", "last_ms", "deliveries_per_s", "send_redis_commands"},
    "subscriptions-idle": {"memory_per_subscription", "floor_bare_ws_per_connection", "redis_connections"},
    "history-paging": {"page_p50", "page_p99", "ratio_large_to_small"},
    "conversation-list": {"latency_p50", "redis_round_trips"},
    "storage-cost": {"c2c_bytes_per_message", "group_bytes_per_message", "ratio_group_large_to_small"},
    "cluster": {
        "latency_p50",
        "latency_p99",
        "last_ms",
        "ratio_latency_p99_cluster_to_single",
        "ratio_latency_p99_wait_to_no_wait",
    },
}


def test_every_scenario_is_smoke_tested() -> None:
    assert set(EXPECTED) == set(SCENARIOS)


CASES = [(scenario, "auto") for scenario in sorted(EXPECTED)] + [("query-throughput", "python")]


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("scenario", "load"), CASES)
def test_scenario_runs_tiny_and_prints_its_figures(scenario: str, load: str) -> None:
    """`load`: query-throughput's load generator (wrk when installed; our own always once)."""
    env = {**os.environ, "IMQL_REDIS_URL": REDIS_URL, "IMQL_BENCH_LOAD": load}
    done = subprocess.run(
        [sys.executable, "-m", "bench", scenario, "--tiny"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert lines, done.stderr[-3000:]
    assert all(line["scenario"] == scenario for line in lines)
    figures = {line["figure"] for line in lines}
    assert EXPECTED[scenario] <= figures
    for line in lines:
        value = line["value"]
        assert isinstance(value, int | float)
        assert math.isfinite(value)
        if line["figure"] in (
            "req_per_s",
            "deliveries_per_s",
            "latency_p50",
            "page_p50",
            "first_ms",
            "c2c_bytes_per_message",
            "group_bytes_per_message",
        ):
            assert value > 0, line  # something was measured
    if scenario == "query-throughput":
        assert lines[-1]["figure"] == "ratio_to_graphql_core"
    # it cleaned up after itself: no key of its app is left
    app = re.search(r"SDKAppID (\d+)", done.stderr)
    assert app is not None
    assert not redis.Redis.from_url(REDIS_URL).keys(f"imql:{{{app.group(1)}*")
