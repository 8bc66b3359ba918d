"""Offline push on the cluster: the push queue (app-wide) fed by sends whose users live on other shards.

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.test_push import (  # noqa: F401 - collected here, on the cluster
    quick_retries,
    receiver,
    settings,
    test_a_push_is_signed_and_says_what_the_message_says,
    test_group_messages_push_to_the_other_members,
)
