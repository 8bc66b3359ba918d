"""Signaling on the cluster: invitation timeouts claimed once, also across two gateways.

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.test_signaling import (  # noqa: F401 - collected here, on the cluster
    call,
    test_concurrent_timers_claim_each_timeout_once,
    test_the_timeout_fires_once_from_a_surviving_replica,
    test_timeout_fires_once_for_the_inviter_and_the_unanswered,
)
