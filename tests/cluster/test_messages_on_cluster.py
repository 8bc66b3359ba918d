"""C2C messages on the cluster: the send's slots written in order, revoke, receipts, the repeated and the finished send.

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.test_messages import (  # noqa: F401 - collected here, on the cluster
    chat,
    test_a_repeated_send_returns_the_first_result,
    test_a_retry_finishes_a_send_whose_claim_outlived_its_write,
    test_read_receipts_and_read_flags,
    test_revoke,
    test_send_reaches_the_receiver_and_the_senders_other_devices,
)
