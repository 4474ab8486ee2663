"""Test modes own actions: staff acting for a test consumer, a products test run, wiping test data."""
