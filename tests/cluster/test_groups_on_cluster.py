"""Groups on the cluster: the group's records, its members' lists and its stream on different shards.

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.test_groups import (  # noqa: F401 - collected here, on the cluster
    test_attributes_and_counters,
    test_join_requests_are_accepted_or_refused_once,
    test_members_roles_mute_kick_transfer,
    test_quit_dismiss_and_their_events,
    trio,
)
