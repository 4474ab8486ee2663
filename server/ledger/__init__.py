"""The double-entry ledger: the only way value on a card changes."""
