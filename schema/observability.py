"""Per-operation request counts and latency for /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        metrics = getattr(getattr(context.context, "gateway", None), "metrics", None)
        if metrics is None:
            return
        try:
            kind = context.operation_type.value
        except (RuntimeError, AttributeError, ValueError):
            kind = "invalid"
        name = metrics.operation_label(context.operation_name)
        metrics.requests.labels(name, kind).inc()
        if kind != "subscription":
            metrics.latency.labels(name, kind).observe(time.perf_counter() - started)
