"""Issuance: channels, batches with dual approval, redemption codes."""
