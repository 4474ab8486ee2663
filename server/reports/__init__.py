"""Liability and activity reports computed from the ledger."""
