"""Friendship on the cluster: each user's side of a relation on its own shard.

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.test_friendship import (  # noqa: F401 - collected here, on the cluster
    pair,
    test_blacklist_ends_friendship_and_blocks_requests,
    test_friend_info_remark_custom_fields_and_profile_changes,
    test_need_confirm_makes_a_request_that_can_be_accepted,
)
