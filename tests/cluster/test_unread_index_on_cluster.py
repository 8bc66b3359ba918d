"""The C2C unread index on the cluster: its writes ride in their user's slot (an EVAL in a read's or
the retention's pipeline, a ZADD in the receiver's step of a send), its counts span user and
timeline slots.

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.test_callbacks_more import world  # noqa: F401 - the end-to-end test's fixture
from tests.test_unread_index import (  # noqa: F401 - collected here, on the cluster
    counted,
    test_a_read_up_to_an_earlier_time_leaves_read_messages_read,
    test_a_user_without_an_index_gets_one_built_from_their_conversations,
    test_the_retention_takes_trimmed_conversations_out_of_the_index,
    test_totals_equal_the_recount_across_many_conversations_and_every_change,
    test_unread_msg_num_follows_sends_reads_deletions_and_a_missing_index,
)
