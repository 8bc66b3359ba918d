"""gateway.metrics: each operation's request counter and latency histogram are labelled once and
count exactly as `labels()` would; client-chosen names past the cap still count as "other"."""

from __future__ import annotations

from typing import Any

import pytest

from gateway import metrics as metrics_module
from gateway.metrics import Metrics


def _count(metrics: Metrics, operation: str, kind: str) -> float:
    value = metrics.registry.get_sample_value("imql_graphql_requests_total", {"operation": operation, "kind": kind})
    return value or 0.0


def test_an_operations_figures_are_labelled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics()
    calls: list[tuple[Any, ...]] = []
    labels = metrics.requests.labels

    def counted(*values: Any) -> Any:
        calls.append(values)
        return labels(*values)

    monkeypatch.setattr(metrics.requests, "labels", counted)
    for _ in range(3):
        requests, latency = metrics.operation_figures("Send", "mutation")
        requests.inc()
        latency.observe(0.001)
    metrics.operation_figures(None, "query")[0].inc()
    assert calls == [("Send", "mutation"), ("anonymous", "query")]
    assert _count(metrics, "Send", "mutation") == 3
    assert _count(metrics, "anonymous", "query") == 1


def test_names_past_the_cap_count_as_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_module, "MAX_OPERATION_LABELS", 2)
    metrics = Metrics()
    for name in ("A", "B", "C", "D", "C", "A"):
        metrics.operation_figures(name, "query")[0].inc()
    assert (_count(metrics, "A", "query"), _count(metrics, "B", "query")) == (2, 1)
    assert _count(metrics, "other", "query") == 3
