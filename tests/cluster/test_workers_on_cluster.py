"""`imql serve --workers 2` on the cluster: two processes, one port, one user's traffic.

The suite's own test, imported (tests/cluster/conftest.py points it at the cluster)."""

from __future__ import annotations

from tests.test_workers import test_two_workers_serve_one_users_http_and_websocket_traffic  # noqa: F401
