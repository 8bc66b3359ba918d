"""Resume with cursors on the cluster, exact across shards: in process (the event bus: a user's
stream and their groups' streams on different shards) and across two `imql serve` replicas on the
cluster, one of them killed.

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.test_event_bus import (  # noqa: F401 - collected here, on the cluster
    test_a_cursor_lists_only_the_groups_that_moved_and_resumes_exactly,
    test_group_event_is_stored_once_and_resumes_exactly,
    test_resume_replays_exactly_the_missed_events_then_goes_live,
    test_slow_subscriber_is_closed_and_can_resume_without_loss,
)
from tests.test_replicas import (  # noqa: F401 - collected here, on the cluster
    replicas,
    test_resume_after_a_disconnect,
    test_resume_after_the_subscribers_replica_is_killed,
    test_sessions_and_events_cross_replicas,
)
