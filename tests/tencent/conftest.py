"""Fixtures shared by the Tencent backend's end-to-end tests of each family."""

from tests.tencent.test_backend_e2e import pair  # noqa: F401 (the cloud + gateway fixture, by name)
