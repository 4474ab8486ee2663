"""Fixtures of the test-mode tests (tests/open_support.py)."""

from tests.open_support import open_api, other_merchant  # noqa: F401
