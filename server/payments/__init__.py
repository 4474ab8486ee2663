"""Payments: WeChat Pay orders, their settlement, and refunds."""
