"""All-member push (REST im_push) on the cluster: the account index and the task queue on the app's
shard, the accounts' keys on every shard (an account made before the index is found by a walk of
every master's keys).

The suite's own tests, imported with their fixtures (tests/cluster/conftest.py points them at the
cluster)."""

from __future__ import annotations

from tests.rest.conftest import rest  # noqa: F401 - a fixture of the tests below
from tests.rest.test_rest_more import (  # noqa: F401 - collected here, on the cluster
    settings,
    test_im_push_golden_and_delivery,
    test_im_push_reaches_accounts_created_before_the_index,
)
