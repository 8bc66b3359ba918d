"""Conversations and unread counts on the cluster: both users' lists and the timeline's counts on different shards.

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.test_conversations import (  # noqa: F401 - collected here, on the cluster
    pair,
    test_conversations_appear_with_their_fields_and_unread,
    test_group_conversations_at_info_receive_options_and_totals,
    test_mark_all_read_clears_every_conversation,
)
