"""Cashier redemption (核销) and its reversal (冲正)."""
