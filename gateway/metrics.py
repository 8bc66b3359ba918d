"""Prometheus metrics, one registry per app instance (no module-level state)."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Latency buckets from 0.5 ms (a cached query) to 10 s (something is wrong).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
# Operation names are client-chosen: past this many distinct ones, the rest count as "other", so a
# client cannot grow the metrics without bound.
MAX_OPERATION_LABELS = 500
# Tencent's REST v4 has ~170 endpoints; imql calls a subset, named in its code.
MAX_TENCENT_ENDPOINT_LABELS = 300


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "imql_graphql_requests", "GraphQL operations executed", ["operation", "kind"], registry=self.registry
        )
        self.latency = Histogram(
            "imql_graphql_request_seconds",
            "Time to execute a GraphQL operation",
            ["operation", "kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "imql_graphql_errors", "GraphQL errors by IM error code", ["code"], registry=self.registry
        )
        self.live_subscriptions = Gauge(
            "imql_live_subscriptions", "Subscriptions currently streaming on this process", registry=self.registry
        )
        self.redis_failures = Counter(
            "imql_redis_failures", "Redis commands or links that failed", registry=self.registry
        )
        self.redis_round_trips = Counter(
            "imql_redis_round_trips",
            "Round trips to Redis (a command, or a whole pipeline, sent and answered)",
            registry=self.registry,
        )
        self.request_timeouts = Counter(
            "imql_request_timeouts",
            "HTTP GraphQL requests answered 504 at IMQL_REQUEST_TIMEOUT (e.g. while Redis stalls)",
            registry=self.registry,
        )
        self.stream_entries_dead_lettered = Counter(
            "imql_stream_entries_dead_lettered",
            "Work-stream entries given up on after StreamConsumer.max_deliveries deliveries, moved to the "
            "stream's dead-letter stream (<stream>:dead-letter), by stream",
            ["stream"],
            registry=self.registry,
        )
        # the erasure of dismissed groups' history (gateway.engine.groups.eraser)
        self.groups_to_erase = Gauge(
            "imql_groups_to_erase",
            "Dismissed groups and deleted topics whose history is not all erased yet (the app-wide erasure "
            "queue), as this process's eraser last read it (each step: every second while it works, every 5 s "
            "otherwise)",
            registry=self.registry,
        )
        self.group_messages_erased = Counter(
            "imql_group_messages_erased",
            "Messages of dismissed groups (and of their topics) and of deleted topics erased by this process, "
            "by the dismissals and topic deletions themselves and by its eraser",
            registry=self.registry,
        )
        self.logins = Counter("imql_logins", "Login attempts by result", ["result"], registry=self.registry)
        self.events_delivered = Counter(
            "imql_events_delivered", "Listener events sent to subscribers", ["listener"], registry=self.registry
        )
        self.rest_calls = Counter(
            "imql_rest_calls",
            "REST v4 calls (/v4/...) by command and answered ErrorCode (0: success)",
            ["command", "code"],
            registry=self.registry,
        )
        self.rest_latency = Histogram(
            "imql_rest_call_seconds",
            "Time to run a REST v4 command",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # the Tencent Cloud backend's REST v4 client (gateway.tencent.client), per endpoint
        self.tencent_calls = Counter(
            "imql_tencent_calls", "Calls to Tencent's REST v4 API by endpoint", ["endpoint"], registry=self.registry
        )
        self.tencent_errors = Counter(
            "imql_tencent_errors",
            "Failed Tencent REST v4 requests (each attempt) by endpoint and cause: Tencent's ErrorCode, or "
            "timeout / network / http_<status> / bad_answer / rate_limited (refused by imql's own limiter)",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self.tencent_retries = Counter(
            "imql_tencent_retries",
            "Tencent REST v4 requests sent again (idempotent calls only)",
            ["endpoint"],
            registry=self.registry,
        )
        self.tencent_latency = Histogram(
            "imql_tencent_call_seconds",
            "Time for a Tencent REST v4 call, rate-limit waits and retries included",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # `imql serve --workers N` runs N processes behind one port, each with its own figures: a
        # scrape reaches one of them, named here (Prometheus sums them when scraping each worker)
        self.worker = Gauge("imql_worker", "The process that answered this scrape", ["pid"], registry=self.registry)
        self.worker.labels(str(os.getpid())).set(1)
        self._operation_names: set[str] = set()
        self._operation_figures: dict[tuple[str | None, str], tuple[Any, Any]] = {}
        self._tencent_endpoints: set[str] = set()

    def tencent_endpoint_label(self, endpoint: str) -> str:
        """Endpoints are named by imql's code, a fixed set; the cap only guards against a bug."""
        if endpoint in self._tencent_endpoints:
            return endpoint
        if len(self._tencent_endpoints) >= MAX_TENCENT_ENDPOINT_LABELS:
            return "other"
        self._tencent_endpoints.add(endpoint)
        return endpoint

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if name in self._operation_names:
            return name
        if len(self._operation_names) >= MAX_OPERATION_LABELS:
            return "other"
        self._operation_names.add(name)
        return name

    def operation_figures(self, name: str | None, kind: str) -> tuple[Any, Any]:
        """The request counter and the latency histogram of an operation (its name, its kind),
        labelled once: `labels()` validates and looks the labels up under a lock on every call
        (~1% of a one-request send's CPU). Kept per name only while names get labels of their
        own; past MAX_OPERATION_LABELS, "other" is looked up each time, so this stays bounded."""
        key = (name, kind)
        found = self._operation_figures.get(key)
        if found is None:
            label = self.operation_label(name)
            found = (self.requests.labels(label, kind), self.latency.labels(label, kind))
            if label != "other" and len(self._operation_figures) < 4 * MAX_OPERATION_LABELS:
                self._operation_figures[key] = found
        return found

    def render(self) -> bytes:
        return generate_latest(self.registry)
