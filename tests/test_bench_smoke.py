"""Every benchmark scenario runs end to end at a tiny size, so bench/ never rots.

Nothing here is timed: the figures are only checked to be there and to be numbers. The real runs
(`python -m bench all`) and their figures are in the README. Where node is installed, the
scenarios that compare with the peer (yoga-chat, bench/peer.py) run it too, and each compared
figure must come with the peer's line and `ratio_to_peer`; once, with node hidden, the peer must
be skipped with a note.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from bench.__main__ import SCENARIOS
from bench.peer import PEER_NAME, peer_dir
from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent

# send-to-receive's figures, each beside the peer's: imql's two-step send and its one-request send
SEND_TO_RECEIVE = {
    "latency_p50",
    "latency_p99",
    "max_rate_p99_under_50ms",
    "latency_p50_one_request",
    "latency_p99_one_request",
    "max_rate_p99_under_50ms_one_request",
}
# the floor beside them: the peer's send on imql's stack, nothing else (bench/floor_c2c.py)
SEND_TO_RECEIVE_FLOOR = {"floor_latency_p50", "floor_latency_p99", "floor_max_rate_p99_under_50ms"}
# the figures each scenario must print
EXPECTED = {
    "query-throughput": {"req_per_s", "p50", "p99", "ratio_to_graphql_core"},
    "send-to-receive": SEND_TO_RECEIVE | SEND_TO_RECEIVE_FLOOR,
    "send-to-receive-callbacks": {
        "latency_p50",
        "latency_p99",
        "ratio_p50_dead_to_live",
        "ratio_p99_dead_to_live",
        "ratio_p50_live_to_plain",
        "ratio_p99_live_to_plain",
        "ratio_cpu_live_to_plain",
        "cpu_per_message",
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
    "group-fanout": {
        "first_ms",
        "median_ms",
        "last_ms",
        "deliveries_per_s",
        "send_redis_commands",
        "floor_bare_ws_last_ms",
    },
    "chatroom-fanout": {
        "first_ms",
        "median_ms",
        "last_ms",
        "deliveries_per_s",
        "subscribe_time",
        "floor_bare_ws_first_ms",
        "floor_bare_ws_median_ms",
        "floor_bare_ws_last_ms",
        "floor_bare_ws_subscribe_time",
    },
    "subscriptions-idle": {
        "memory_per_subscription",
        "floor_bare_ws_per_connection",
        "floor_bare_ws_subscribe_cpu_ms",
        "redis_connections",
        "subscribe_cpu_ms",
    },
    "history-paging": {"page_p50", "page_p99", "ratio_large_to_small"},
    "conversation-list": {"latency_p50", "redis_round_trips"},
    "c2c-cost": {
        "cpu_per_1000_messages",
        "cpu_per_1000_messages_one_request",
        "redis_commands_per_create",
        "redis_commands_per_send",
        "redis_commands_per_send_one_request",
        "redis_commands_per_message",
        "redis_commands_per_message_one_request",
        "floor_cpu_per_1000_messages",
        "floor_redis_commands_per_send",
    },
    "reconnect-storm": {
        "reconnect_acked_ms",
        "reconnect_all_live_ms",
        "reconnect_caught_up_ms",
        "reconnect_server_cpu_ms",
        "outage_messages_lost",
        "duplicates",
        "subscriptions_refused",
        "subscriptions_silent",
        "storm",
    },
    "storage-cost": {"c2c_bytes_per_message", "group_bytes_per_message", "ratio_group_large_to_small"},
    "cluster": {
        "latency_p50",
        "latency_p99",
        "last_ms",
        "ratio_latency_p99_cluster_to_single",
        "ratio_latency_p99_wait_to_no_wait",
    },
}
# the figures each scenario prints beside the peer's (when the peer runs)
COMPARED = {
    "query-throughput": {"req_per_s", "p50", "p99"},
    "send-to-receive": SEND_TO_RECEIVE,
    "c2c-cost": {
        "cpu_per_1000_messages",
        "cpu_per_1000_messages_one_request",
        "redis_commands_per_send",
        "redis_commands_per_send_one_request",
        "redis_commands_per_message",
        "redis_commands_per_message_one_request",
    },
    "group-fanout": {"first_ms", "median_ms", "last_ms", "deliveries_per_s", "send_redis_commands"},
    "subscriptions-idle": {"memory_per_subscription", "subscribe_cpu_ms", "subscribe_time", "redis_connections"},
    "reconnect-storm": {
        "reconnect_acked_ms",
        "reconnect_all_live_ms",
        "reconnect_server_cpu_ms",
        "outage_messages_lost",
    },
}
NODE = shutil.which("node")
PEER_SOURCE = (peer_dir() / "package-lock.json").is_file()  # ../shared/peers/yoga-chat beside the checkout


def test_every_scenario_is_smoke_tested() -> None:
    assert set(EXPECTED) == set(SCENARIOS)
    assert set(COMPARED) <= set(EXPECTED)


# query-throughput runs twice: with each load generator (wrk when installed; our own always once),
# the second time with node hidden, so the peer is skipped
CASES = [(scenario, "auto") for scenario in sorted(EXPECTED)] + [("query-throughput", "python")]


def check_peer_column(scenario: str, lines: list[dict[str, Any]], stderr: str) -> None:
    """Each compared figure: the peer's line, then imql's with `peer` and `ratio_to_peer` from it."""
    for figure in COMPARED.get(scenario, ()):
        theirs = [line for line in lines if line["figure"] == figure and line.get("server") == PEER_NAME]
        ours = [line for line in lines if line["figure"] == figure and line.get("server") == "imql"]
        assert theirs, (figure, stderr[-2000:])
        assert len(ours) == len(theirs), figure
        for mine, peer in zip(ours, theirs, strict=True):
            assert mine["peer"] == peer["value"]
            if peer["value"]:
                assert mine["ratio_to_peer"] == round(mine["value"] / peer["value"], 3)


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("scenario", "load"), CASES)
def test_scenario_runs_tiny_and_prints_its_figures(scenario: str, load: str) -> None:
    """`load`: query-throughput's load generator; the `python` run hides node (IMQL_BENCH_NODE
    names a path with nothing there), so it shows the peer skipped with a note."""
    env = {**os.environ, "IMQL_REDIS_URL": REDIS_URL, "IMQL_BENCH_LOAD": load}
    hide_node = load == "python"
    if hide_node:
        env["IMQL_BENCH_NODE"] = str(ROOT / "no-such-node")
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
            "floor_bare_ws_first_ms",
            "floor_latency_p50",
            "floor_cpu_per_1000_messages",
            "c2c_bytes_per_message",
            "group_bytes_per_message",
        ):
            assert value > 0, line  # something was measured
    if scenario == "query-throughput":
        assert lines[-1]["figure"] == "ratio_to_graphql_core"
    if scenario in COMPARED and NODE is not None and not hide_node and PEER_SOURCE:
        check_peer_column(scenario, lines, done.stderr)
    elif scenario in COMPARED:
        # node hidden, or a checkout without ../shared beside it (the peer's source): skipped, saying why
        why = "node is not installed" if NODE is None or hide_node else "no peer at"
        assert f"no {PEER_NAME} column: {why}" in done.stderr
        assert not [line for line in lines if line.get("server") == PEER_NAME or "ratio_to_peer" in line]
    by_figure = {(line["figure"], line.get("server")): line for line in lines}
    if scenario == "reconnect-storm":  # a restart loses nothing and repeats nothing with `since`
        assert by_figure["outage_messages_lost", "imql"]["value"] == 0
        assert by_figure["duplicates", "imql"]["value"] == 0
        assert by_figure["subscriptions_refused", "imql"]["value"] == 0
        assert by_figure["subscriptions_silent", "imql"]["value"] == 0
        if (peer_lost := by_figure.get(("outage_messages_lost", PEER_NAME))) is not None:
            assert "has no resume" in done.stderr  # and the output says why the peer loses them
            assert peer_lost["value"] == peer_lost["sent"]
    peer_send = by_figure.get(("redis_commands_per_send", PEER_NAME)) if scenario == "c2c-cost" else None
    if peer_send is not None and peer_send["redis"] == "private":
        # counted exactly on a Redis of the run's own: EXISTS, INCR, MULTI, RPUSH, HINCRBY, EXEC, PUBLISH
        assert peer_send["value"] == 7
    floor_send = by_figure.get(("floor_redis_commands_per_send", "bare-c2c"))
    if floor_send is not None and floor_send["redis"] == "private":
        assert floor_send["value"] == 7, "the floor makes the peer's seven commands"
    # it cleaned up after itself: no key of its apps is left (a side in a process of its own has
    # an app of its own, bench/sides.py), nor of the peer's
    apps = re.findall(r"SDKAppID (\d+)", done.stderr)
    assert apps
    for app in apps:
        assert not redis.Redis.from_url(REDIS_URL).keys(f"imql:{{{app}*")
        assert not redis.Redis.from_url(REDIS_URL).keys(f"ycbench{app}:*")
