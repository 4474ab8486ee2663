"""Points exchange (积分兑换): a merchant's rewards catalogue and exchanges booked in the ledger."""
